"""What routing and clarifying return: small typed results an assistant can act on."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Decision(StrEnum):
    ROUTE = "route"  # the answer lives in `routes[0]`
    CLARIFY = "clarify"  # the query says too little; ask `questions` first
    REDIRECT = "redirect"  # it belongs to a pack that is not loaded


class Evidence(BaseModel):
    """Why a candidate scored: which phrase, table row or heading matched, and where."""

    kind: Literal["route-row", "symptom", "wrong-route", "title", "heading", "description",
                  "keyword", "body", "use-when", "red-flag", "example"]
    text: str
    source: str  # file:line, relative to the pack root, prefixed by the pack name


class RouteCandidate(BaseModel):
    pack: str
    skill: str
    sheet: str | None = Field(description="sheet file name; null when SKILL.md is the answer")
    score: float = Field(description="how strongly the words matched (BM25F; comparable "
                                     "across queries, weak below about 5)")
    confidence: float = Field(ge=0, le=1, description="probability that this is the answer, "
                              "lowered when the words matched weakly")
    evidence: list[Evidence] = Field(default_factory=list)


class Redirect(BaseModel):
    pack: str
    reason: str
    source: str | None = None


class Question(BaseModel):
    slot: str = Field(description="what it asks about: a slot of `known` (modality, task, "
                                  "dataset_size...), \"route\" (which of the close guides, or "
                                  "whether the one leading guide, is meant) or \"other\"")
    question: str
    why: str
    source: str = Field(description="file:line of the pack text it comes from, or "
                                    "\"skillsrv\" for skillsrv's own")


class Warning(BaseModel):
    kind: Literal["recency", "when-not", "red-flag", "input", "scope"]
    message: str
    source: str | None = None


class DatasetSize(BaseModel):
    value: int
    unit: str  # images, rows, samples, tokens, sequences, graphs, nodes, ...
    text: str


class MemoryBudget(BaseModel):
    bytes: int
    text: str


class Latency(BaseModel):
    ms: float | None = None  # None for "real-time" without a number
    text: str


class Slots(BaseModel):
    """What the query already says. Missing slots are what clarifying questions ask about."""

    modality: str | None = None
    task: str | None = None
    dataset_size: DatasetSize | None = None
    input_size: str | None = None
    sequence_length: int | None = None
    num_classes: int | None = None
    compute: str | None = None
    memory_budget: MemoryBudget | None = None
    latency: Latency | None = None
    deployment: str | None = None
    interpretability: str | None = None

    def known(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class RouteDecision(BaseModel):
    decision: Decision
    routes: list[RouteCandidate] = Field(default_factory=list)
    redirect: Redirect | None = None
    questions: list[Question] = Field(default_factory=list)
    known: dict[str, object] = Field(default_factory=dict)
    warnings: list[Warning] = Field(default_factory=list)


class ClarifyResult(BaseModel):
    known: dict[str, object] = Field(default_factory=dict)
    questions: list[Question] = Field(default_factory=list)
