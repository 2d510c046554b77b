"""What a clarifying question is about, and which of skillsrv's own questions apply.

The typed slots (modality, dataset size, compute, latency...) are the facts that decide a
neural-network architecture. They fit packs about building and training models; a pack about
novel writing or release processes asks its own questions, and "what GPU will you train on?"
is noise there. So slots are read into a pack's questions, and skillsrv's generic questions
offered, only for packs about models (`about_models`): judged from how densely the pack's own
words (name, description, keywords, its routers' text) use model-building vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache

from skillsrv.packs.model import Pack

MAX_QUESTIONS = 5
# Slot order for generic questions: how much each answer changes an architecture choice.
SLOT_PRIORITY = ("modality", "task", "dataset_size", "compute", "latency", "deployment",
                 "sequence_length", "input_size", "interpretability")
# What a question asks about, first match wins. Worded narrowly: "How long does a release
# take?" is not about sequence length, nor "How much time do you have?" about data size.
SLOT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("modality", r"type of data|what data|modalit|kind of data|data type|"
                 r"what are you working"),
    ("dataset_size", r"dataset|data size|data volume|labell?ed|\bsamples\b|\bexamples\b|"
                     r"how (much|many) (\w+ )?(data|examples|samples|images|rows|records|"
                     r"documents|tokens|labels|sequences)\b|"
                     r"how large is (your|the) (data|corpus|graph)"),
    ("sequence_length", r"sequence length|context length|sequences?\b|"
                        r"how long (are|is) (the|your) (inputs?|texts?|documents?|series)"),
    ("latency", r"latency|real[- ]?time|how fast|\bspeed\b|\bfps\b"),
    ("deployment", r"deploy|\btarget\b|\bedge\b|where will [\w ]{0,12}run|run on|production"),
    ("compute", r"compute|\bgpus?\b|vram|memory|hardware|(compute|memory|gpu|training) budget"),
    ("interpretability", r"interpretab|explainab|\bexplained\b"),
    ("input_size", r"resolution|image size|input size"),
    ("task", r"task|goal|use case|what do you want|problem|classification or"),
)
DEFAULT_WHY = {
    "modality": "the data type decides the architecture family",
    "task": "classification, detection, generation and forecasting need different heads "
            "and families",
    "dataset_size": "data size decides capacity: small data favours simpler or pretrained "
                    "models",
    "compute": "the memory and compute budget bounds model size",
    "latency": "a latency budget rules out large or iterative models",
    "deployment": "edge and mobile targets need compact architectures",
    "sequence_length": "sequence length decides between recurrent, convolutional and "
                       "attention models",
    "input_size": "input resolution drives activation memory and the stem design",
    "interpretability": "interpretability needs can favour simpler models",
}
PACK_WHY = "the pack asks this before it advises"  # a pack's question with no why of its own
GENERIC_QUESTION = {
    "modality": "What kind of data are you working with (images, text, time series, "
                "tabular, graphs, audio, several)?",
    "task": "What should the model do: classify, detect, segment, generate, forecast or "
            "regress?",
    "dataset_size": "How many labelled examples do you have?",
    "compute": "What hardware will you train and run it on (GPU memory, CPU only, edge "
               "device)?",
    "latency": "Is there a latency budget at inference time (e.g. real-time, < 50 ms)?",
}
# When nothing else can be asked: the packs say nothing that applies yet.
OPEN_QUESTION = "What are you working on, and what should the answer help you do?"
OPEN_WHY = "the question does not yet say which guide applies"
SCOPE_WHY = "no loaded guide mentions any of its words"
OFF_SUBJECT_WHY = "the loaded guides share only passing words with it"
# Below this confidence the best route of a clarify decision leads nothing (a vague "can you
# make this better?"): its pack's questions would be a guess.
NO_LEAD = 0.05
# A route is offered in "which is closest" with at least this share of the best's confidence.
CLOSE_SHARE = 0.3
WHICH_WHY = "the words fit these guides about equally: naming one decides where the answer lives"
LEAD_WHY = "the words lean to this guide, but not clearly enough to answer from it"

_SLOT_REGEXES = tuple((slot, re.compile(pattern)) for slot, pattern in SLOT_PATTERNS)


@lru_cache(maxsize=8192)
def slot_of(question: str) -> str:
    """The slot a question asks about, or "other"."""
    lower = question.lower()
    return next((slot for slot, pattern in _SLOT_REGEXES if pattern.search(lower)), "other")


@lru_cache(maxsize=4096)
def slots_asked(ask: str) -> frozenset[str]:
    """Every slot a red flag's "what to ask" text asks about."""
    lower = ask.lower()
    return frozenset(slot for slot, pattern in _SLOT_REGEXES if pattern.search(lower))


# Words of building and training models. Not "model", "layer" or "architecture": threat
# models, data models and software architecture are everywhere in other packs.
_MODEL_WORDS = re.compile(
    r"\b(neural|training|datasets?|gpus?|inference|pytorch|embeddings?|transformers?|"
    r"fine-?tun\w*|epochs?|gradients?|llms?|machine learning|deep learning|"
    r"reinforcement learning|cnns?|rnns?|lstms?|optimi[sz]ers?|hyperparameters?)\b",
    re.IGNORECASE)
# Model-building words per 1,000 words of a pack's own text. Over the 46-pack corpus the packs
# about models score 27 to 78 and all others 15 or less (security, which covers LLM threats).
MODEL_WORDS_PER_1000 = 20.0


def about_models(pack: Pack) -> bool:
    """Is this pack about building or training models (so slots and skillsrv's generic
    questions apply to it)?"""
    text = " ".join([pack.name.replace("-", " "), pack.description, " ".join(pack.keywords),
                     *(f"{skill.description} {skill.document.body}" for skill in pack.skills
                       if skill.is_router or len(pack.skills) == 1)])
    words = len(text.split())
    return bool(words) and len(_MODEL_WORDS.findall(text)) * 1000 / words >= \
        MODEL_WORDS_PER_1000


# A query's own words of building models: here "model" and "network" count, since the query
# is asked of packs about models and matched none of their words.
_QUERY_MODEL_WORDS = re.compile(
    rf"{_MODEL_WORDS.pattern}|\b(models?|architectures?|networks?|nets?|classif\w*|"
    r"predict\w*|regression|ai|ml)\b", re.IGNORECASE)


def asks_about_models(query: str) -> bool:
    """Does the query use words of building models ("help me pick a model")?"""
    return bool(_QUERY_MODEL_WORDS.search(query))


def which_of(choices: list[str]) -> str:
    """"Which is closest to what you need: A, B or C?" """
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    return f"Which is closest to what you need: {listed}?"


def lead_question(choice: str) -> str:
    """"Is this about A, or something else?": one guide leads a clarify decision, alone."""
    return f"Is this about {choice}, or something else?"
