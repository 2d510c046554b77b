"""What a query already says: modality, task, data size, input size, budget, latency, target.

Regular expressions over the user's words, with units ("8k images", "2M rows", "24GB GPU",
"< 50 ms"). Each slot left empty is a question routing may need to ask.
"""

from __future__ import annotations

import re

from skillsrv.routing.models import DatasetSize, Latency, MemoryBudget, Slots


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (split at "|" outside groups and classes)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    position = 0
    while position < len(pattern):
        char = pattern[position]
        step = 1
        if char == "\\":
            step = 2
        elif char == "[":
            step = pattern.index("]", position + 2) - position + 1
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            position += 1
            continue
        current.append(pattern[position:position + step])
        position += step
    parts.append("".join(current))
    return parts


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    r"""`pattern`, compiled so the engine can skip ahead: when every alternative starts with a
    literal, it only tries the positions holding one of those first letters. A leading `\b`
    hides the letter, so `\bword` becomes the equivalent `w(?<=\bw)ord` (the same trick
    as in text.PHRASES). Scanning a query went from 10-27 to 1-5 microseconds a pattern."""
    rewritten = []
    for alternative in _alternatives(pattern):
        if re.match(r"\\b[a-z0-9]", alternative):
            letter = alternative[2]
            alternative = f"{letter}(?<=\\b{letter}){alternative[3:]}"
        rewritten.append(alternative)
    return re.compile("|".join(rewritten), flags)


_MODALITIES: tuple[tuple[str, str], ...] = (
    ("multimodal", r"multi-?modal|vision[- ]language|image[s]? (and|\+|with) (text|caption)s?|"
                   r"text (and|\+) images?|captions? (and|\+) images?|clip\b|llava|"
                   r"(audio|video) (and|\+) text|two[- ]tower"),
    ("graph", r"\bgraphs?\b|molecul|social network|knowledge graph|\bnodes?\b|\bedges?\b|"
              r"citation network|gnn|\bgcn\b|\bgat\b|link prediction|adjacency"),
    ("time-series", r"time[- ]?series|forecast|sensor|telemetry|stock|sales (data|history)|"
                    r"\beeg\b|\becg\b|signals?\b|accelerometer|sequential data|demand"),
    ("audio", r"\baudio\b|speech|spectrogram|sound|\bvoice\b|music|waveform"),
    ("video", r"\bvideos?\b|\bclips?\b|frames per"),
    ("image", r"\bimages?\b|\bphotos?\b|\bpictures?\b|\bpics\b|x-?rays?|radiograph|\bmri\b|"
              r"\bct scans?\b|"
              r"scans\b|pixels?|satellite|camera|vision\b|\bcnn\b|resnet|\bvit\b|"
              r"segmentation mask|medical imaging|microscopy|\bfaces?\b|dermoscop|histolog"),
    ("text", r"\btexts?\b|sentences?|documents?|\btokens?\b|\bnlp\b|language model|tweets?|"
             r"\breviews?\b|\bemails?\b|chatbot|translation|corpus|\bwords?\b|\bllm\b|\bbert\b|"
             r"\bgpt\b|summari[sz]"),
    ("tabular", r"tabular|\bcsv\b|spreadsheet|\brows?\b|columns?|features? (table|vector)|"
                r"structured data|\bexcel\b|database table|\bsql\b|churn|credit|"
                # "300k policies with 60 features": a count of features is a table's width
                r"\d+ (numeric(al)? |categorical |input )?(features|variables)\b"),
)

_TASKS: tuple[tuple[str, str], ...] = (
    ("segmentation", r"segment"),
    ("detection", r"\bdetect|bounding box|object detection|yolo"),
    ("generation", r"\bgenerat|synthes|\bgan\b|diffusion|\bvae\b|text-to-image|sample new"),
    ("forecasting", r"forecast|predict\w* (the )?(next|future)|horizon"),
    ("language-modeling", r"language model|next[- ]token|autoregressive|\bllm\b"),
    ("node-classification", r"node classification|classify (the )?nodes"),
    ("link-prediction", r"link prediction|predict (links|edges)"),
    ("anomaly-detection", r"anomal|outlier|fraud"),
    ("recommendation", r"recommend"),
    ("regression", r"regress|predict\w* (a |the )?(\w+ )?(prices?|values?|numbers?|amounts?|"
                   r"costs?)\b|continuous target"),
    ("classification", r"classif|categori[sz]|label(l)?ed as|which class|sentiment|"
                       r"diagnos|recogni[sz]|\d+ classes"),
    ("embedding", r"embedding|retrieval|similarity search"),
)

_MODALITY_PATTERNS = [(name, _compile(pattern)) for name, pattern in _MODALITIES]
_TASK_PATTERNS = [(name, _compile(pattern)) for name, pattern in _TASKS]

_UNIT_WORDS = (r"images?|photos?|pictures?|pics|scans?|x-?rays?|radiographs?|samples?|"
               r"examples?|rows?|"
               r"records?|sequences?|series|sentences?|documents?|docs|tokens?|graphs?|nodes?|molecules?|"
               r"clips?|videos?|hours?|patients?|users?|transactions?|data ?points?|"
               r"instances?|labels?|labell?ed|observations?|items?|reviews?|texts?|pairs?|"
               r"frames?|recordings?|utterances?|customers?|slices?|tiles?|patches|crops?|"
               r"volumes?|tweets?|posts?|messages?|comments?|articles?|emails?|tickets?|"
               r"conversations?|dialogues?")  # not "questions": "I have 3 questions"
# Not the digits ending a name ("resnet50") or an exponent ("3e-4").
# The check on what comes before stands after the first digit, so the engine can still skip
# ahead to digits (an assertion first made the pattern try every position: +0.1 ms a query).
_NUMBER = (r"(\d(?<![a-z0-9.^-]\d)(?:\d{0,2}(?:,\d{3})+(?!\d)|\d{0,2}(?:_\d{3})+(?!\d)|"
           # "50 000 images", but not "3,000 224x224 photos" (one separator throughout)
           r"\d{0,2}(?: \d{3})+(?![\d.,x×])|\d*(?:\.\d+)?))\s*"
           r"(k|m|b|hundred|thousand|million|billion)?\+?")
# A rate or a measure between a number and a unit word makes the number that measure: "30fps
# video" is not 30 videos, nor "8GB of images" 8 images.
_MEASURE = r"(?:fps|hz|khz|mhz|ms|gb|gib|mb|mib|tb|kb|px|%|bits?|bytes?)\b"
# "30-second clips", "a 10-page report": the length of each, said before the unit.
_PER_ITEM = r"(?:second|sec|minute|min|hour|hr|day|page|word|line)s?\b"
_EACH = r"\d+(?:\.\d+)?-" + _PER_ITEM
_DATASET = re.compile(
    # "a 500-row table", "a 300-node graph": the count joined to its unit by a hyphen.
    _NUMBER + r"(?![\d.]*-" + _PER_ITEM + ")"
    r"\s*-?\s*(?:labell?ed\s+|training\s+|annotated\s+|unlabell?ed\s+|total\s+)?"
    # Words between a number and its unit, but not another number ("3e-4 on 5k images").
    r"(?:(?:" + _EACH + r"|\d{2,5}[x×]\d{2,5}(?:[x×]\d{1,4})?|(?!" + _MEASURE +
    r"|\d)[a-z0-9×-]+)\s+){0,2}?"
    r"(" + _UNIT_WORDS + r")\b", re.IGNORECASE)
_DATASET_SIZE_PHRASE = re.compile(r"(?:dataset|data set|training set)\s+(?:of|with|has|is)\s+"
                                  r"(?:about\s+|around\s+|~)?" + _NUMBER, re.IGNORECASE)
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000,
                "b": 1_000_000_000, "billion": 1_000_000_000, "hundred": 100}
# Numbers spelt out before a multiplier ("two thousand images", "a million rows") are written
# as figures before the patterns read the query.
_SMALL = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELT_VALUES = {"a": 1, "half a": 0.5, "half an": 0.5, "a couple": 2, "a couple of": 2,
                 **{word: n for n, word in enumerate(_SMALL, 1)},
                 **{word: 10 * n for n, word in enumerate(_TENS, 2)}}
_SPELT = re.compile(r"\b(half an?|a couple(?: of)?|a|" + "|".join([*_SMALL, *_TENS]) +
                    r")(?:[- ](" + "|".join(_SMALL[:9]) +
                    r"))?\s+(hundred|thousand|million|billion)\b", re.IGNORECASE)


# "1e6 rows", "10^5 samples": powers of ten written out.
_E_DIGIT = re.compile(r"\de\d")
_POWER = re.compile(r"\b(\d+(?:\.\d+)?)e(\d{1,2})\b|\b10\^(\d{1,2})\b", re.IGNORECASE)


def _figures(text: str) -> str:
    def figure(found: re.Match[str]) -> str:
        value = _SPELT_VALUES[" ".join(found.group(1).lower().split())] + \
            (_SPELT_VALUES[found.group(2).lower()] if found.group(2) else 0)
        return f"{value:g} {found.group(3)}"

    def power(found: re.Match[str]) -> str:
        value = float(found.group(1)) * 10 ** int(found.group(2)) if found.group(1) else \
            10 ** int(found.group(3))
        return f"{value:.0f}"
    lower = text.lower()
    # Literal tests first: most queries have neither, and the patterns scan every position.
    if any(word in lower for word in ("hundred", "thousand", "million", "billion")):
        text = _SPELT.sub(figure, text)
    if "^" in text or _E_DIGIT.search(lower):
        text = _POWER.sub(power, text)
    return text

_INPUT_SIZE = re.compile(r"\b(\d{2,5})\s*[x×]\s*(\d{2,5})(?:\s*[x×]\s*(\d{1,4}))?\b")
_SEQ_LEN = re.compile(
    r"(?:sequence|context|seq|window)s?\s*(?:length|len|size)?\s*(?:of|is|=|:)?\s*"
    r"(?:about\s+|around\s+|up to\s+|~\s*)?(\d[\d,]*)\s*(k)?|"
    r"(\d[\d,]*)\s*(k)?[- ](?:token|step|timestep|time step|sample)s?"
    r"(?:[- ]long)?\s*(?:sequence|context|window|input)s?|"
    # "200-token reviews", "a 96-step window": the length of each example, not their number.
    r"(\d[\d,]*)\s*(k|m)?-(?:token|step|timestep|time-step)s?\b", re.IGNORECASE)
_CLASSES = re.compile(r"(\d{1,6})\s+(?:classes|categories|labels|species|types|classes?)\b",
                      re.IGNORECASE)

_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(gb|gib|g|mb|mib|tb)\b(?:\s*(?:of\s+)?(?:v?ram|gpu|"
                     r"memory|card))?", re.IGNORECASE)
_GPU_NAMES: tuple[tuple[str, str, int | None], ...] = (
    (r"\bh100\b", "H100 80GB GPU", 80), (r"\ba100\b", "A100 GPU", 40), (r"\bh200\b",
                                                                        "H200 GPU", 141),
    (r"\b4090\b", "RTX 4090 24GB GPU", 24), (r"\b3090\b", "RTX 3090 24GB GPU", 24),
    (r"\bt4\b", "T4 16GB GPU", 16), (r"\bv100\b", "V100 GPU", 16), (r"\bl4\b", "L4 24GB GPU", 24),
    (r"\b3060\b", "RTX 3060 12GB GPU", 12), (r"\bcolab\b", "Colab GPU (T4 16GB)", 16),
)
_COMPUTE = (
    ("cpu only", r"cpu[- ]only|only (a |have a )?cpu|no gpu|without (a )?gpu|on (a )?cpu\b|"
                 r"laptop"),
    ("edge device", r"jetson|raspberry|microcontroller|\bmcu\b|edge (device|tpu)|coral|"
                    r"arduino|esp32"),
    ("mobile", r"\bphones?\b|mobile|android|ios\b|iphone|smartphone"),
    ("multi-gpu", r"\d+\s*x?\s*(?:gpus|a100s|h100s)|\d+\s*[x×]\s*(?:[ahlv]100|h200|l4|4090|3090)\b|"
                  r"(?:two|three|four|six|eight|sixteen) (?:\w+ )?gpus|multi[- ]gpu|cluster"),
    ("gpu", r"\bgpu\b|\bcuda\b"),
)
_GPU_PATTERNS = [(_compile(pattern), name, size) for pattern, name, size in _GPU_NAMES]
_COMPUTE_PATTERNS = [(name, _compile(pattern)) for name, pattern in _COMPUTE]
_LATENCY_MS = re.compile(r"(?:<|under|below|within|less than|at most|max(?:imum)?|budget of|"
                         r"in)\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?)\b",
                         re.IGNORECASE)
_FPS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:fps|frames per second)", re.IGNORECASE)
_REALTIME = _compile(r"real[- ]?time|low[- ]latency|latency[- ]critical|instant|live "
                     r"(video|stream|feed)|on the fly|streaming", re.IGNORECASE)
_BATCH = _compile(r"\boffline\b|overnight|batch (job|processing|inference)|nightly",
                  re.IGNORECASE)
_DEPLOY = (
    ("edge", r"jetson|raspberry|microcontroller|\bmcu\b|edge|embedded|drone|robot|on[- ]device"),
    ("mobile", r"\bphones?\b|mobile|android|\bios\b|iphone|smartphone|app\b"),
    ("browser", r"browser|web ?assembly|wasm|javascript|chrome extension|client[- ]side|"
                r"tensorflow\.?js|\btfjs\b|onnx ?runtime web"),
    ("cloud", r"cloud|server|\baws\b|gcp|azure|kubernetes|api endpoint|data ?cent"),
    ("offline batch", r"offline|batch (job|processing)|nightly"),
)
_DEPLOY_PATTERNS = [(name, _compile(pattern)) for name, pattern in _DEPLOY]
_INTERPRET = _compile(r"interpretab\w*|explainab\w*|explain (the|its|why)|regulat\w*|audit\w*|"
                      r"clinic\w*|\bfda\b|complian\w*|transparen\w*|why the model|shap\b|"
                      r"saliency",
                      re.IGNORECASE)


_HARDWARE_NODE = re.compile(
    r"(?:\d+\s*[x×]\s*)?(?:gpus?|[ahlv]100s?|h200s?|compute|worker|server|training|cluster|"
    r"kubernetes|k8s)\s+nodes?\b|\b\d+[- ]nodes?\s+(?:\w+\s+)?cluster\b", re.IGNORECASE)


_NEGATED_BEFORE = re.compile(r"\b(no|not|don'?t|doesn'?t|without|never|nor)\b"
                             r"(?!.*(?:[.,;]|\bbut\b)).*$", re.IGNORECASE)
_NEGATED_AFTER = re.compile(r"\s*(is |are )?(not|n't|isn'?t)\s+(needed|required|important|"
                            r"necessary|a concern|an issue|a priority)|\s*(is |are )?"
                            r"(unnecessary|irrelevant|optional)\b", re.IGNORECASE)


def _number(value: str, multiplier: str | None) -> int:
    number = float(value.replace(",", "").replace("_", "").replace(" ", ""))
    return int(number * _MULTIPLIERS.get((multiplier or "").lower(), 1))


def _unit(word: str) -> str:
    word = word.lower().replace(" ", "")
    for canonical, pattern in (("images", r"image|photo|picture|pic|scan|x-?ray|radiograph|frame"),
                               ("rows", r"row|record(?!ing)|transaction|customer"),
                               ("tokens", r"token"), ("sequences", r"sequence|series|recording"),
                               ("documents", r"sentence|document|doc|text|review"),
                               ("graphs", r"graph|molecule"), ("nodes", r"node"),
                               ("images", r"slice|tile|patch|crop|volume"),
                               ("documents", r"tweet|post|message|comment|article|email|"
                                             r"ticket|conversation|dialogue"),
                               ("videos", r"video"), ("clips", r"clip"),  # audio or video
                               ("hours", r"hour")):
        if re.match(pattern, word):
            return canonical
    return "samples"


def extract_slots(query: str) -> Slots:
    text = _figures(" ".join(query.split()))
    lower = text.lower()
    slots = Slots()
    # "an 8xH100 node" or "four GPU nodes" is hardware, not a graph.
    data_words = _HARDWARE_NODE.sub(" ", lower) if "node" in lower else lower
    slots.modality = next((name for name, pattern in _MODALITY_PATTERNS
                           if pattern.search(data_words)), None)
    slots.task = next((name for name, pattern in _TASK_PATTERNS if pattern.search(lower)), None)

    # Numbers that are an input shape ("224x224") or a sequence length are not data sizes.
    taken = [m.span() for m in (_INPUT_SIZE.search(text), _SEQ_LEN.search(text),
                                _FPS.search(text),
                                _HARDWARE_NODE.search(text) if "node" in lower else None) if m]
    for size in _DATASET.finditer(text):
        start = size.start(1)
        if any(low <= start < high for low, high in taken):
            continue
        value = _number(size.group(1), size.group(2))
        if value >= 2:
            slots.dataset_size = DatasetSize(value=value, unit=_unit(size.group(3)),
                                             text=size.group(0).strip())
            break
    if slots.dataset_size is None:
        phrase = _DATASET_SIZE_PHRASE.search(text)
        if phrase:
            slots.dataset_size = DatasetSize(value=_number(phrase.group(1), phrase.group(2)),
                                             unit="samples", text=phrase.group(0).strip())

    shape = _INPUT_SIZE.search(text)
    if shape:
        slots.input_size = shape.group(0).replace("×", "x").replace(" ", "")
    seq = _SEQ_LEN.search(text)
    if seq:
        digits, kilo = next((seq.group(n), seq.group(n + 1)) for n in (1, 3, 5)
                            if seq.group(n))
        slots.sequence_length = _number(digits, kilo)
    classes = _CLASSES.search(text)
    if classes:
        slots.num_classes = int(classes.group(1))

    memory = _MEMORY.search(text)
    if memory:
        amount = float(memory.group(1))
        unit = memory.group(2).lower()
        scale = {"gb": 2**30, "gib": 2**30, "g": 2**30, "mb": 2**20, "mib": 2**20,
                 "tb": 2**40}[unit]
        slots.memory_budget = MemoryBudget(bytes=int(amount * scale), text=memory.group(0).strip())
    for pattern, name, gigabytes in _GPU_PATTERNS:
        if pattern.search(lower):
            slots.compute = name
            if slots.memory_budget is None and gigabytes:
                slots.memory_budget = MemoryBudget(bytes=gigabytes * 2**30, text=name)
            break
    if slots.compute is None:
        slots.compute = next((name for name, pattern in _COMPUTE_PATTERNS
                              if pattern.search(lower)), None)

    latency = _LATENCY_MS.search(text)
    fps = _FPS.search(text)
    if latency:
        amount = float(latency.group(1))
        unit = latency.group(2).lower()
        slots.latency = Latency(ms=amount if unit.startswith("m") else amount * 1000,
                                text=latency.group(0).strip())
    elif fps:
        slots.latency = Latency(ms=round(1000 / float(fps.group(1)), 1), text=fps.group(0))
    elif _REALTIME.search(text):
        slots.latency = Latency(ms=None, text=_REALTIME.search(text).group(0))  # type: ignore[union-attr]
    elif _BATCH.search(text):
        slots.latency = Latency(ms=None, text="offline / batch")
    slots.deployment = next((name for name, pattern in _DEPLOY_PATTERNS
                             if pattern.search(lower)), None)
    interpret = _INTERPRET.search(text)
    if interpret:
        # "no explainability needed", "interpretability is not a concern": said, and not wanted.
        before = text[max(0, interpret.start() - 22):interpret.start()]
        after = text[interpret.end():interpret.end() + 30]
        slots.interpretability = "not needed" if _NEGATED_BEFORE.search(before) or \
            _NEGATED_AFTER.match(after) else interpret.group(0)
    return slots
