"""A `Situation` from a free-text request: the routing slots first, then scaffold details.

The routing layer's slots (`skillsrv.routing.slots`) say what every route needs: modality,
task, data size, input size, budget, latency, target. Sizing a model needs a few more details
they do not carry (vocabulary, feature count, channels, forecast horizon, graph-level versus
node-level tasks, what a generative model is for); `_details` reads those, and fills a slot
the routing parser left empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from skillsrv.scaffold.sizing import Situation

_NUMBER = r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|b|thousand|million|billion)?"
_SCALE = {"k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6, "b": 10**9,
          "billion": 10**9}
_UNITS = {
    "images": "images", "image": "images", "pictures": "images", "photos": "images",
    "scans": "images", "faces": "images", "frames": "images", "rows": "rows",
    "records": "rows", "samples": "samples", "examples": "samples", "sequences": "sequences",
    "series": "sequences", "windows": "sequences", "clips": "sequences",
    "recordings": "sequences", "utterances": "sequences", "graphs": "graphs",
    "molecules": "graphs", "tokens": "tokens", "documents": "documents", "sentences": "documents",
    "reviews": "documents", "pairs": "pairs", "nodes": "nodes", "patients": "rows",
    "customers": "rows", "transactions": "rows",
}
# "8k images", "3,000 tabular rows", "300 grayscale MRI scans", "2M 224x224 images"
_DATASET = re.compile(_NUMBER + r"\s+(?:[a-z0-9×-]+\s+){0,2}?(" + "|".join(_UNITS) + r")\b")

_MODALITIES: tuple[tuple[str, str], ...] = (
    ("multimodal", r"image[- ]?(?:and|\+|&)[- ]?text|text[- ]?(?:and|\+|&)[- ]?image|"
                   r"image[- ]text|caption|vision[- ]language|multi-?modal"),
    ("graph", r"graph|molecul|citation|social network|\bnodes?\b"),
    ("time-series", r"time[- ]?series|sensor|forecast|stock|sales|\becg\b|\beeg\b|"
                    r"accelerometer|energy|demand"),
    ("audio", r"audio|speech|sound|spectrogram|acoustic"),
    ("image", r"image|photo|picture|x-?ray|\bscans?\b|\bmri\b|\bct\b|pixel|faces?\b|"
              r"satellite|camera|video"),
    ("text", r"\btext|sentence|document|review|tweet|language model|\bllm|corpus|tokens?\b|"
             r"chatbot|\bnlp\b|\bgpt"),
    ("tabular", r"tabular|\brows?\b|columns?|\bcsv\b|spreadsheet|\bfeatures\b"),
    ("sequence", r"sequence"),
)
_TASKS: tuple[tuple[str, str], ...] = (
    ("segmentation", r"segment|pixel[- ]wise|\bmasks?\b"),
    ("language-modeling", r"language model|next[- ]token|\bllm\b|pre-?train|\bgpt"),
    ("generation", r"generat|synthesi|sample new|create new|\bgan\b|diffusion"),
    ("forecasting", r"forecast|predict the next|ahead|horizon"),
    ("graph-classification", r"graph classification|classify (?:the )?(?:molecules|graphs)|"
                             r"per graph|molecul|propert(?:y|ies) prediction"),
    ("node-classification", r"node classification|classify (?:the )?nodes|citation"),
    ("embedding", r"retriev|search|similarity|embedding"),
    ("regression", r"regress|predict (?:the )?(?:price|value|amount|number)|estimate"),
    ("classification", r"classif|categori|recogni|diagnos|detect whether|\blabels?\b|"
                       r"sentiment|spam"),
)


def _number(text: str, suffix: str | None) -> int:
    value = float(text.replace(",", ""))
    return int(value * _SCALE.get((suffix or "").lower(), 1))


def _first(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, flags=re.IGNORECASE)


def situation_from_query(query: str, known: Mapping[str, Any] | None = None) -> Situation:
    """The routing slots of `query` (or `known`, when the caller already routed it), with the
    scaffold details added where the slots say nothing."""
    if known is None:
        from skillsrv.routing.slots import extract_slots

        known = extract_slots(query).known()
    routed = situation_from_slots(known)
    details = _details(query)
    update: dict[str, Any] = {}
    for field, value in details.model_dump(exclude_defaults=True).items():
        current = getattr(routed, field)
        refines = field == "task" and current in ("classification", None) and \
            value in ("graph-classification", "node-classification", "embedding")
        if current in (None, False) or refines:
            update[field] = value
    return routed.model_copy(update=update)


def _details(query: str) -> Situation:
    """Fill a Situation from keywords and numbers in `query` (scaffold-specific reading)."""
    text = query.lower()
    slots: dict[str, Any] = {}
    for modality, pattern in _MODALITIES:
        if _first(pattern, text):
            slots["modality"] = modality
            break
    for task, pattern in _TASKS:
        if _first(pattern, text):
            slots["task"] = task
            break
    if slots.get("modality") == "graph" and slots.get("task") == "classification":
        slots["task"] = "node-classification"
    dataset = _DATASET.search(text)
    if dataset:
        slots["dataset_size"] = _number(dataset.group(1), dataset.group(2))
        slots["dataset_unit"] = _UNITS[dataset.group(3)]
    if (match := _first(r"(\d+)\s*[x×]\s*(\d+)", text)) or (match := _first(r"(\d+)\s*px", text)):
        slots["image_size"] = max(int(group) for group in match.groups() if group)
    if match := _first(r"(\d+)\s*(?:classes|categories|labels|species|kinds|types)", text):
        slots["num_classes"] = int(match.group(1))
    elif _first(r"\bbinary\b|yes/no|spam or not|fraud", text):
        slots["num_classes"] = 2
    for pattern in (r"(\d+)[- ]?(?:time[- ]?)?steps?\b(?! ahead)",
                    r"(?:length|context|window)\s*(?:of\s*)?(\d+)",
                    r"(\d+)[- ]tokens?\s+(?:long|sequences?|context|windows?|inputs?)"):
        if match := _first(pattern, text):
            slots["seq_len"] = int(match.group(1))
            break
    if match := _first(r"vocab(?:ulary)?\s*(?:size\s*)?(?:of\s*)?" + _NUMBER, text):
        slots["vocab_size"] = _number(match.group(1), match.group(2))
    if match := _first(r"(\d+)\s*(?:numeric\s+|input\s+)?(?:features|columns|variables|sensors)",
                       text):
        slots["num_features"] = int(match.group(1))
    if _first(r"grayscale|greyscale|x-?ray|\bmri\b|\bct\b|mnist", text):
        slots["in_channels"] = 1
    elif match := _first(r"(\d+)[- ]channel", text):
        slots["in_channels"] = int(match.group(1))
    if match := _first(r"(\d+(?:\.\d+)?)\s*(tb|gb|gib|mb|mib)\b", text):
        power = {"tb": 4, "gb": 3, "gib": 3, "mb": 2, "mib": 2}[match.group(2)]
        slots["memory_budget_bytes"] = int(float(match.group(1)) * 1024**power)
    if match := _first(r"(\d+(?:\.\d+)?)\s*ms\b", text):
        slots["latency_ms"] = float(match.group(1))
    if _first(r"real[- ]?time|streaming|low[- ]latency", text):
        slots["realtime"] = True
    if _first(r"jetson|raspberry|mobile|phone|\bedge\b|embedded|microcontroller|on-device|"
              r"\bcoral\b|android|\bios\b", text):
        slots["edge"] = True
    if match := (_first(r"(\d+)\s*(?:steps?|days?|hours?|weeks?)\s+ahead", text)
                 or _first(r"(?:horizon|next)\s*(?:of\s*)?(\d+)", text)):
        slots["horizon"] = int(match.group(1))
    if _first(r"attention|edge weights|importance|neighbou?rs? matter|weighted edges", text):
        slots["edge_importance"] = True
    if _first(r"latent|interpolat|anomal|compress|representation", text):
        slots["generative_goal"] = "latent"
    elif _first(r"fast sampling|real[- ]?time generation|one step|single pass", text):
        slots["generative_goal"] = "speed"
    elif _first(r"high[- ]quality|photo-?realistic|realistic|state of the art", text):
        slots["generative_goal"] = "quality"
    return Situation(**slots)


_MODALITY_WORDS = {"images": "image", "image": "image", "vision": "image", "text": "text",
                   "nlp": "text", "language": "text", "time series": "time-series",
                   "time-series": "time-series", "timeseries": "time-series",
                   "sequence": "sequence", "sequences": "sequence", "audio": "audio",
                   "speech": "audio", "tabular": "tabular", "graph": "graph", "graphs": "graph",
                   "multimodal": "multimodal"}
_TASK_WORDS = {"classify": "classification", "classification": "classification",
               "segment": "segmentation", "segmentation": "segmentation",
               "forecast": "forecasting", "forecasting": "forecasting",
               "generate": "generation", "generation": "generation",
               "regression": "regression", "language-modeling": "language-modeling",
               "language modeling": "language-modeling"}


def situation_from_slots(known: Mapping[str, Any]) -> Situation:
    """Map the routing layer's `Slots.known()` dictionary onto a Situation (best effort)."""
    slots: dict[str, Any] = {}
    modality = str(known.get("modality") or "").lower()
    if modality in _MODALITY_WORDS:
        slots["modality"] = _MODALITY_WORDS[modality]
    task = str(known.get("task") or "").lower()
    if task in _TASK_WORDS:
        slots["task"] = _TASK_WORDS[task]
    dataset = known.get("dataset_size")
    if isinstance(dataset, Mapping) and isinstance(dataset.get("value"), int):
        slots["dataset_size"] = dataset["value"]
        slots["dataset_unit"] = dataset.get("unit")
    size = re.search(r"(\d+)", str(known.get("input_size") or ""))
    if size:
        slots["image_size"] = int(size.group(1))
    if isinstance(known.get("sequence_length"), int):
        slots["seq_len"] = known["sequence_length"]
    if isinstance(known.get("num_classes"), int):
        slots["num_classes"] = known["num_classes"]
    memory = known.get("memory_budget")
    if isinstance(memory, Mapping) and isinstance(memory.get("bytes"), int):
        slots["memory_budget_bytes"] = memory["bytes"]
    latency = known.get("latency")
    if isinstance(latency, Mapping):
        if isinstance(latency.get("ms"), int | float):
            slots["latency_ms"] = float(latency["ms"])
            slots["realtime"] = latency["ms"] <= 100
        elif "offline" not in str(latency.get("text", "")):
            slots["realtime"] = True  # "real-time" without a number
    deployment = str(known.get("deployment") or "").lower()
    if any(word in deployment for word in ("edge", "mobile", "jetson", "embedded", "phone")):
        slots["edge"] = True
    return Situation(**slots)
