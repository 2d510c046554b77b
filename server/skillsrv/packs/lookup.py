"""Finding a pack, skill or sheet by name, with near-miss suggestions when it is not there."""

from __future__ import annotations

import difflib

from skillsrv.errors import NotFoundError
from skillsrv.packs.model import Catalog, Document, Pack, Skill


def near(word: str, choices: list[str], limit: int = 3) -> list[str]:
    return difflib.get_close_matches(word, choices, n=limit, cutoff=0.5)


def _missing(kind: str, name: str, choices: list[str], where: str = "") -> NotFoundError:
    suggestions = near(name, choices)
    hint = (f"did you mean {', '.join(suggestions)}?" if suggestions
            else f"available: {', '.join(choices[:12]) or 'none'}")
    return NotFoundError(f"no {kind} '{name}'{where}", hint=hint)


def find_pack(catalog: Catalog, name: str) -> Pack:
    pack = catalog.find_pack(name)
    if pack is None:
        raise _missing("pack", name, [p.name for p in catalog.packs])
    return pack


def find_skill(pack: Pack, name: str) -> Skill:
    skill = pack.find_skill(name)
    if skill is None:
        raise _missing("skill", name, [s.name for s in pack.skills], f" in pack '{pack.name}'")
    return skill


def find_document(catalog: Catalog, spec: str) -> tuple[Pack, Skill, Document]:
    """Resolve `PACK/SKILL[/SHEET]` (a pack with one skill also accepts `PACK/SHEET`)."""
    parts = [part for part in spec.strip("/").split("/") if part]
    if not parts:
        raise NotFoundError("empty name", hint="use PACK/SKILL or PACK/SKILL/SHEET")
    pack = find_pack(catalog, parts[0])
    if len(parts) == 1:
        if len(pack.skills) == 1:
            return pack, pack.skills[0], pack.skills[0].document
        raise NotFoundError(f"pack '{pack.name}' has {len(pack.skills)} skills; name one",
                            hint=", ".join(s.name for s in pack.skills))
    skill = pack.find_skill(parts[1])
    rest = "/".join(parts[2:])
    if skill is None and len(pack.skills) == 1:
        skill, rest = pack.skills[0], "/".join(parts[1:])
    if skill is None:
        raise find_skill_error(pack, parts[1])
    if not rest or rest == "SKILL.md":
        return pack, skill, skill.document
    document = skill.find_sheet(rest)
    if document is None:
        names = [d.file_name for d in [*skill.sheets, *skill.orphans]]
        raise _missing("sheet", rest, names, f" in {pack.name}/{skill.name}")
    return pack, skill, document


def find_skill_error(pack: Pack, name: str) -> NotFoundError:
    return _missing("skill", name, [s.name for s in pack.skills], f" in pack '{pack.name}'")
