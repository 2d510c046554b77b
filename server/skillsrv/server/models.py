"""Results of the catalogue tools (`list_packs`, `read_sheet`); routing results live in
`skillsrv.routing.models`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SkillSummary(BaseModel):
    name: str
    description: str
    router: bool = Field(description="routes questions to sheets; has a prompt of the pack's name")
    uri: str = Field(description="resource URI of its SKILL.md")
    sheets: list[str] = Field(description="sheet file names, for read_sheet")


class PackSummary(BaseModel):
    name: str
    description: str
    version: str | None = None
    skills: list[SkillSummary]


class Problem(BaseModel):
    where: str = Field(description="file:line")
    severity: str
    code: str
    message: str


class ReloadError(BaseModel):
    message: str
    at: str = Field(description="when the reload was tried (UTC, ISO 8601)")
    problems: list[Problem] = Field(default_factory=list)


class PacksResult(BaseModel):
    packs: list[PackSummary]
    warnings: list[Problem] = Field(description="load problems (the first 50)")
    warnings_total: int
    reload_error: ReloadError | None = Field(
        default=None, description="the last edit failed to load; the previous version is served")
    loaded_at: str = Field(description="when the served version was loaded (UTC, ISO 8601)")


class SheetPage(BaseModel):
    pack: str
    skill: str
    sheet: str = Field(description="file name within the skill folder")
    title: str | None = None
    uri: str
    offset: int
    total_chars: int
    text: str
    next_offset: int | None = Field(description="offset of the next page; null at the end")
    note: str
    sheets: list[str] = Field(default_factory=list,
                              description="the skill's sheets (when reading SKILL.md)")
