"""The typed model of a loaded skill pack: packs, skills, documents and what they say.

Every extracted item keeps its source (file relative to the pack root, and line), so a
routing decision can cite exactly which table row or list item it came from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from skillsrv.diagnostics import Diagnostic


class Source(BaseModel):
    path: str  # relative to the pack root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class RefKind(StrEnum):
    SHEET = "sheet"  # a markdown file of the same skill
    SKILL = "skill"  # another skill of the same pack
    PACK = "pack"  # another pack (resolved against the loaded catalog later)


class Ref(BaseModel):
    """A reference to where an answer lives: a sheet, a skill, or another pack."""

    kind: RefKind
    name: str  # sheet file name, skill name, or pack name as written (slug)
    skill: str | None = None  # for pack refs written as faction/pack/skill


class Route(BaseModel):
    """A table row that sends a situation somewhere ("| Images | [cnn.md](cnn.md) | why |")."""

    trigger: str
    target: Ref
    why: str = ""
    primary: bool = True  # False for secondary/"also consider" targets in the same row
    heading: str = ""
    source: Source


class SymptomList(BaseModel):
    """Phrases that should send a query to one target ("Symptoms triggering this route")."""

    target: Ref
    phrases: list[str]
    heading: str = ""
    source: Source


class ClarifyingQuestion(BaseModel):
    question: str
    hint: str = ""  # the parenthetical that says how the answer changes the route
    target: Ref | None = None  # set when the question belongs to one route
    source: Source


class RedFlag(BaseModel):
    pattern: str
    why: str = ""
    ask: str
    source: Source


class WrongRoute(BaseModel):
    symptom: str
    wrong: str
    wrong_ref: Ref | None = None
    correct: str
    correct_ref: Ref | None = None
    why: str = ""
    source: Source


class RecencyRow(BaseModel):
    trend: str
    when_not: str
    alternative: str
    source: Source


class UsageItem(BaseModel):
    text: str
    source: Source
    alternative: str | None = None  # a "when not to use" table's better choice
    label: str = ""  # the heading or intro line it sits under ("When Not to Use a VAE")


class CrossRef(BaseModel):
    pack: str
    skill: str | None = None
    text: str
    source: Source


class Extracted(BaseModel):
    routes: list[Route] = Field(default_factory=list)
    symptoms: list[SymptomList] = Field(default_factory=list)
    questions: list[ClarifyingQuestion] = Field(default_factory=list)
    red_flags: list[RedFlag] = Field(default_factory=list)
    wrong_routes: list[WrongRoute] = Field(default_factory=list)
    recency: list[RecencyRow] = Field(default_factory=list)
    use_when: list[UsageItem] = Field(default_factory=list)
    do_not_use: list[UsageItem] = Field(default_factory=list)
    cross_refs: list[CrossRef] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in type(self).model_fields}


class HeadingInfo(BaseModel):
    level: int
    text: str
    line: int


class DocKind(StrEnum):
    SKILL = "skill"  # a SKILL.md
    SHEET = "sheet"  # linked from its SKILL.md
    ORPHAN = "orphan"  # a sibling markdown file nothing links to


class Document(BaseModel):
    """One markdown file of a skill."""

    path: str  # relative to the pack root
    file_name: str  # relative to the skill folder (e.g. "cnn.md" or "reference/x.md")
    kind: DocKind
    title: str | None = None
    frontmatter: dict[str, Any] = Field(default_factory=dict)
    frontmatter_raw: str = ""
    lenient_yaml: bool = False
    description: str = ""
    headings: list[HeadingInfo] = Field(default_factory=list)
    body: str = Field(default="", repr=False)
    body_line: int = 1
    size: int = 0
    sha256: str = ""  # of the file's text as loaded (UTF-8, BOM and CRLF normalised)
    extracted: Extracted = Field(default_factory=Extracted)


class Skill(BaseModel):
    name: str
    description: str = ""
    path: str  # the skill folder, relative to the pack root ("." for a one-skill pack)
    document: Document
    sheets: list[Document] = Field(default_factory=list)
    orphans: list[Document] = Field(default_factory=list)
    blueprints: list[str] = Field(default_factory=list)  # paths of blueprint files

    @property
    def is_router(self) -> bool:
        """A router sends queries elsewhere: it links sheets or has route tables."""
        return bool(self.sheets) or bool(self.document.extracted.routes)

    def documents(self) -> list[Document]:
        return [self.document, *self.sheets, *self.orphans]

    def description_of(self, doc: Document) -> str:
        """What `doc` says it is for: its own description, or the skill's for its SKILL.md."""
        return doc.description or (self.description if doc is self.document else "")

    def find_sheet(self, name: str) -> Document | None:
        for doc in [*self.sheets, *self.orphans]:
            if doc.file_name == name or doc.file_name.removesuffix(".md") == name:
                return doc
        return None


class PackKind(StrEnum):
    PLUGIN = "plugin"
    MARKETPLACE_PLUGIN = "marketplace-plugin"
    SKILL_FOLDER = "skill-folder"
    SKILL = "skill"


class Pack(BaseModel):
    name: str
    kind: PackKind
    source: str  # absolute path of the pack root
    description: str = ""
    version: str | None = None
    keywords: list[str] = Field(default_factory=list)
    category: str | None = None
    marketplace: str | None = None
    skills: list[Skill] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)

    def find_skill(self, name: str) -> Skill | None:
        return next((skill for skill in self.skills if skill.name == name), None)

    @property
    def router(self) -> Skill | None:
        """The skill that routes to the others' sheets, if the pack has one."""
        return next((skill for skill in self.skills if skill.is_router), None)


class Catalog(BaseModel):
    """Everything loaded from the configured sources, and every problem found on the way."""

    packs: list[Pack] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)

    def find_pack(self, name: str) -> Pack | None:
        return next((pack for pack in self.packs if pack.name == name), None)

    def all_diagnostics(self) -> list[Diagnostic]:
        return [*self.diagnostics, *(d for pack in self.packs for d in pack.diagnostics)]
