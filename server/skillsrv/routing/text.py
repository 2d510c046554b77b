"""Turning text into comparable terms: lowercase words, light stemming, ML synonyms.

Users write "pics", "convnet", "time-series" and "ts forecasting"; packs write "images",
"CNN" and "time series". A small stemmer and a table of domain synonyms bring both to the
same terms, so routing matches meaning rather than spelling.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[+#][a-z0-9]*)?")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves im ive id dont doesnt
isnt wont cant also use using used want wanting need needs needed get got go going like make
making really something thing things lot lots kind sort way ways one ones much many well
please help hi hello thanks thank anyone someone would could should might may must shall
let lets us via etc eg ie vs versus per e g i e
""".split())

# Domain synonyms: each variant maps to one canonical term.
SYNONYMS: dict[str, str] = {
    "pic": "image", "pics": "image", "picture": "image", "photo": "image", "photograph": "image",
    "img": "image", "imagery": "image", "xray": "image", "x-ray": "image", "scan": "image",
    "convnet": "cnn", "convolutional": "cnn", "conv": "cnn", "convolution": "cnn",
    "timeseries": "timeseries", "ts": "timeseries", "forecast": "forecasting",
    "forecasts": "forecasting", "forecasted": "forecasting", "predicting": "predict",
    "llms": "llm", "gpt": "gpt", "transformers": "transformer", "attn": "attention",
    "rnns": "rnn", "lstms": "lstm", "grus": "gru", "gnns": "gnn", "gans": "gan", "vaes": "vae",
    "molecule": "molecular", "molecules": "molecular", "chemistry": "molecular",
    "normalisation": "normalization", "normalise": "normalization", "normalize": "normalization",
    "norm": "normalization",
    "optimiser": "optimizer", "optimisers": "optimizer", "optimizers": "optimizer",
    "tabular": "tabular", "spreadsheet": "tabular", "csv": "tabular",
    "classifier": "classify", "classification": "classify", "classifying": "classify",
    "categorize": "classify", "categorise": "classify",
    "segmentation": "segment", "segmenting": "segment", "generation": "generate",
    "generative": "generate", "generating": "generate", "synthesize": "generate",
    "synthesise": "generate", "synthetic": "generate", "synthesis": "generate",
    "diffusion": "diffusion", "ddpm": "diffusion", "detection": "detect", "detector": "detect",
    "multimodal": "multimodal", "multi-modal": "multimodal", "crossmodal": "multimodal",
    "vision-language": "multimodal", "deploy": "deploy", "deployment": "deploy",
    "deploying": "deploy", "serving": "serve", "inference": "inference",
    "realtime": "realtime", "latency": "latency", "embedded": "edge", "jetson": "edge",
    "mobile": "edge", "phone": "edge", "smartphone": "edge", "microcontroller": "edge",
    "raspberry": "edge", "on-device": "edge", "shortcut": "skip", "shortcuts": "skip",
    # Shorthand practitioners write for the words packs spell out.
    "params": "parameter", "param": "parameter", "parameters": "parameter",
    "hyperparams": "hyperparameter", "hyperparam": "hyperparameter",
    "hyperparameters": "hyperparameter",
}

# Multi-word phrases that mean one thing; replaced before splitting into words.
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement) for pattern, replacement in (
        (r"time[\s-]+series", " timeseries "),
        (r"real[\s-]+time", " realtime "),
        (r"data[\s-]?loaders?", " dataloader data loading "),
        (r"fine[\s-]+tun(e|ed|ing)", " finetune "),
        (r"x[\s-]+rays?", " image "),
        (r"vision[\s-]+transformers?", " vit "),
        (r"graph[\s-]+neural[\s-]+net(work)?s?", " gnn "),
        (r"convolutional[\s-]+neural[\s-]+net(work)?s?", " cnn "),
        (r"recurrent[\s-]+neural[\s-]+net(work)?s?", " rnn "),
        (r"neural[\s-]+net(work)?s?", " network "),
        (r"state[\s-]+space[\s-]+models?", " ssm "),
        (r"mixture[\s-]+of[\s-]+experts", " moe "),
        (r"batch[\s-]+norm(alization|alisation)?", " batchnorm "),
        (r"layer[\s-]+norm(alization|alisation)?", " layernorm "),
        (r"instance[\s-]+norm(alization|alisation)?", " instancenorm "),
        (r"group[\s-]+norm(alization|alisation)?", " groupnorm "),
        # Named norms keep their names beside the family: "RMSNorm or LayerNorm?" is about
        # those two, not about normalization in general ("layer norm" became "layernorm"
        # above, and gets the family here).
        (r"batchnorm", " batchnorm normalization "),
        (r"layernorm", " layernorm normalization "),
        (r"groupnorm", " groupnorm normalization "),
        (r"rmsnorm", " rmsnorm normalization "),
        (r"instancenorm", " instancenorm normalization "),
        (r"skip[\s-]+connections?", " residual skip "),
        (r"se(?<=\bse)[\s-]+(?:blocks?|modules?|layers?|attention)\b",
         " squeeze excitation block "),
        (r"unpaired", " unpaired paired "),  # "without pairs" is the same thing
        (r"on[\s-]+device", " edge "),
        (r"learning[\s-]+rate", " learningrate learning rate "),
        (r"retrieval[\s-]+augmented[\s-]+generation", " rag retrieval generate "),
        # Each pattern starts with a literal so the regex engine can scan for it: a leading
        # alternation or \b made this one phrase cost 0.4 s over the corpus.
        (r"out[\s-]+of[\s-]+memory", " outofmemory memory "),
        (r"oom\b(?<=\boom)", " outofmemory memory "),
    ))


def _required_words(pattern: str) -> tuple[str, ...]:
    """The literal letter runs every match of `pattern` contains: what is left once groups,
    classes, escapes and optional letters are taken out ("x[\\s-]+rays?" -> "x", "ray")."""
    while True:
        inner = re.sub(r"\([^()]*\)", " ", pattern)
        if inner == pattern:
            break
        pattern = inner
    for optional in (r"\[[^\]]*\]", r"\\.", r"[a-z][?*]"):
        pattern = re.sub(optional, " ", pattern)
    return tuple(re.findall(r"[a-z]+", pattern))


# The literals each phrase needs: `in` finds them ten times faster than the pattern's scan, and
# most long texts have only a few of the phrases.
_PHRASE_WORDS = tuple(_required_words(pattern.pattern) for pattern, _ in PHRASES)
# Patterns that start with a whole word ("se(?<=\bse)[\s-]+...", "oom\b(?<=\boom)"): a
# document has them only if that word is one of its words, not merely inside one ("se" is in
# every document, "se" blocks in few).
_WHOLE_FIRST = tuple(bool(re.match(r"([a-z]+)(\(\?<=\\b\1\)(\\b|\[\\s-\])|\\b\(\?<=\\b\1\))",
                                   pattern.pattern)) for pattern, _ in PHRASES)
_PHRASE_LITERALS = tuple(zip(_PHRASE_WORDS, PHRASES, strict=True))
_CANONICAL = frozenset(SYNONYMS.values())
_VOWELS = frozenset("aeiouy")
# British spellings meet American ones before stemming: optimise/optimize, analyse/analyze,
# behaviour/behavior. Applied to queries and packs alike, so a word that merely ends like that
# ("exercise", "detour") maps the same way on both sides and loses nothing.
_BRITISH = re.compile(r"(?<=[a-z]{3})(?:(is|ys)(e|ed|es|ing|er|ers|ation|ations)|"
                      r"(our)(s|ed|ing|er|ers|ite|ites|able)?)$")


def _american(word: str) -> str:
    # Most words have none of the three: testing for them is far cheaper than the pattern's
    # scan, which starts at every position (a quarter of stemming a corpus's words).
    if "is" not in word and "ys" not in word and "our" not in word:
        return word
    found = _BRITISH.search(word)
    if found is None:
        return word
    if found.group(3):
        return f"{word[:found.start()]}or{found.group(4) or ''}"
    return f"{word[:found.start()]}{found.group(1)[0]}z{found.group(2)}"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stemmer that maps plural and verb forms of a word to one term.

    "images", "image" and "imaging" all become "imag"; "routes", "routing" -> "rout".
    Synonyms are applied before and after, so "photos" and "pictures" meet "image".
    """
    word = SYNONYMS.get(word, word)
    if len(word) <= 3 or word in _CANONICAL:
        return word
    word = _american(word)
    word = SYNONYMS.get(word, word)
    base = word
    if base.endswith("ies") and len(base) > 4:
        base = base[:-3] + "y"
    elif base.endswith(("sses", "ches", "shes")) or (base.endswith("es") and base[-3] in "sxz"):
        base = base[:-2]
    elif base.endswith("s") and not base.endswith(("ss", "us", "is")):
        base = base[:-1]
    for suffix in ("ations", "ation", "ing", "ed"):
        if base.endswith(suffix) and len(base) - len(suffix) >= 3:
            stripped = base[: -len(suffix)]
            doubled = len(stripped) >= 2 and stripped[-1] == stripped[-2]
            if doubled and (stripped[-1] not in _VOWELS | {"l", "s", "z"}
                            or (stripped[-1] == "l" and len(stripped) > 5)):
                stripped = stripped[:-1]  # running -> run, modelling -> model
            if any(ch in _VOWELS for ch in stripped):
                base = stripped
            break
    base = SYNONYMS.get(base, base)
    if base in _CANONICAL:
        return base
    if base + "e" in _CANONICAL:  # imaging -> image
        return base + "e"
    if base.endswith("e") and len(base) > 4:
        base = base[:-1]
    return SYNONYMS.get(base, base)


def _lowered(text: str) -> str:
    """Lowercase, without apostrophes (typographic or not): "don’t" and "dont" meet."""
    return text.lower().replace("’", "'").replace("'", "")


def normalize(text: str) -> str:
    text = _lowered(text)
    # A phrase whose first literal is not in the text (as earlier phrases left it) cannot
    # match: testing for it is several times cheaper than the pattern's scan.
    for words, (pattern, replacement) in _PHRASE_LITERALS:
        if words[0] in text:
            text = pattern.sub(replacement, text)
    return text


def terms(text: str) -> list[str]:
    """Content terms of `text`, stemmed, in order (duplicates kept)."""
    return [term for _, term in word_terms(text)]


def word_terms(text: str) -> list[tuple[str, str]]:
    """Each content word of `text` (lowercase) with its term, in order."""
    found = ((word, _TERMS[word]) for word in _WORD.findall(normalize(text)))
    return [(word, term) for word, term in found if term]


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
# ASCII bytes: letters and digits stay, everything else (non-ASCII arrives as "?") is a space.
_SPACES = bytes(byte if chr(byte) in _WORD_CHARS else 32 for byte in range(256))


class _Terms(dict[str, str]):
    """Each word's term ("" for a word that has none), computed on first sight: looking a word
    up with `map(terms.__getitem__, words)` stays in C for every word seen before, several
    times faster than a call per word through `lru_cache`."""

    LIMIT = 262_144  # distinct words kept; past it the table starts afresh (code blocks
    # bring endless one-off tokens)

    def __missing__(self, word: str) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        # Bare numbers ("5,000", "224") say little about where an answer lives; slots keep them.
        term = "" if word in STOPWORDS or len(word) < 2 or word.isdigit() else stem(word)
        self[word] = term
        return term


_TERMS = _Terms()


def _words(lower: str) -> list[str]:
    """`_WORD.findall(lower)`, twice as fast. Where no "+" or "#" follows a letter or
    digit ("c++", "c#"), words are the runs of letters and digits, split out by bytes.translate;
    otherwise the regular expression reads the text."""
    for mark in "+#":
        position = lower.find(mark)
        while position >= 0:
            if position and lower[position - 1] in _WORD_CHARS:
                return _WORD.findall(lower)
            position = lower.find(mark, position + 1)
    return lower.encode("ascii", "replace").translate(_SPACES).decode("ascii").split()


def with_bigrams(found: list[str]) -> list[str]:
    """Terms plus each pair of neighbouring terms ("loss_nan"): a match on a pair is
    stronger evidence than the two words anywhere in a document."""
    return [*found, *(f"{a}_{b}" for a, b in itertools.pairwise(found))]


def term_sequence(text: str) -> tuple[list[str], list[str]]:
    """The terms of a long text in order, and the terms its multi-word phrases add, fast: each
    distinct word is stemmed once (cached); phrases are found in one pass per phrase."""
    lower = text.lower().replace("'", "")
    return _sequence_of(lower), _phrase_terms(lower, phrases_in(lower))


def _sequence_of(lower: str) -> list[str]:
    return list(filter(None, map(_TERMS.__getitem__, _words(lower))))


Phrases = tuple[tuple[re.Pattern[str], str], ...]


def _phrase_terms(lower: str, phrases: Phrases) -> list[str]:
    """The terms the multi-word phrases found in `lower` add, one set per occurrence."""
    found_terms: list[str] = []
    for pattern, replacement in phrases:
        found = len(pattern.findall(lower))
        if found:
            found_terms.extend(stem(term) for term in replacement.split() for _ in range(found))
    return found_terms


def phrases_in(lower: str, section_words: list[list[str]] | None = None) -> Phrases:
    """The phrases that can match somewhere in `lower` (a whole lowered document): its
    sections need look for those only. (One pattern at a time keeps the literal-prefix scan;
    the literal test first is ten times faster still.) With the words of its sections, the
    literals are looked for among its distinct words instead of in the whole text: a quarter
    as much to scan for each phrase, the same answer (a literal's letters are one word's)."""
    if section_words is None:
        contains = lower.__contains__
        whole = contains
    else:
        distinct = set().union(*section_words)
        joined = " ".join(distinct)

        def contains(literal: str) -> bool:
            return literal in distinct or literal in joined

        # A word after "+" or "#" ("c+se") is inside a word of its own: then look in words.
        whole = contains if "+" in joined or "#" in joined else distinct.__contains__
    return tuple(phrase for words, first, phrase in zip(_PHRASE_WORDS, _WHOLE_FIRST, PHRASES,
                                                        strict=True)
                 if (whole if first else contains)(words[0]) and all(map(contains, words[1:]))
                 and phrase[0].search(lower))


def section_sequences(lower_sections: list[str], lower_whole: str) -> list[tuple[list[str],
                                                                                list[str]]]:
    """`term_sequence` of each section of one document, given lowered (and apostrophe-free)
    sections and the whole lowered document: phrases are looked for only in the sections of
    a document that has them somewhere."""
    words = [_words(lower) for lower in lower_sections]
    phrases = phrases_in(lower_whole, words)
    term_of = _TERMS.__getitem__
    return [(list(filter(None, map(term_of, found))),
             _phrase_terms(lower, phrases) if phrases else [])
            for lower, found in zip(lower_sections, words, strict=True)]


def terms_of_each(texts: list[str]) -> list[list[str]]:
    """`terms` of each of many short texts (a document's headings), faster: each is
    normalized with only the phrases whose literals occur among them all (or in what an
    earlier phrase puts in: "layer norm" becomes "layernorm", which has a phrase of its own).
    The same terms, since a phrase without its literals changes nothing."""
    lowered = [_lowered(item) for item in texts]
    available = " ".join(lowered)
    phrases = []
    for words, phrase in zip(_PHRASE_WORDS, PHRASES, strict=True):
        if all(map(available.__contains__, words)):
            phrases.append(phrase)
            available += phrase[1]
    found = []
    for item in lowered:
        for pattern, replacement in phrases:
            item = pattern.sub(replacement, item)
        found.append([term for term in map(_TERMS.__getitem__, _WORD.findall(item)) if term])
    return found


def term_counts(text: str) -> Counter[str]:
    """Term counts of a long text, with the neighbouring pairs it repeats."""
    sequence, phrase_terms = term_sequence(text)
    counts: Counter[str] = Counter(sequence)
    counts.update(phrase_terms)
    add_repeated_pairs(counts, Counter(itertools.pairwise(sequence)))
    return counts


def add_repeated_pairs(counts: Counter[str], pairs: Counter[tuple[str, str]]) -> None:
    """Count the neighbouring pairs a text repeats: only those are topical; the long tail of
    one-off pairs is noise (and would triple the index)."""
    counts.update({f"{a}_{b}": n for (a, b), n in pairs.items() if n >= 2})


@lru_cache(maxsize=8192)
def term_set(text: str) -> frozenset[str]:
    """The terms of a short static text (a flag's question, a trend row), computed once."""
    return frozenset(terms(text))
