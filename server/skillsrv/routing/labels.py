"""Route labels (PACK/SKILL/SHEET) and the shortened forms eval files and example questions
use to name them ("cnn-families.md", a skill name, "redirect:PACK")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skillsrv.packs.model import Catalog


def route_label(pack: str, skill: str, sheet: str | None) -> str:
    """PACK/SKILL/SHEET, or PACK/SKILL when the skill's own SKILL.md is the answer."""
    return "/".join(part for part in (pack, skill, sheet) if part)


def label_matches(catalog: Catalog, expect: str, label: str) -> bool:
    """Does a decision label satisfy an expectation (which may be shortened)?"""
    if expect == "clarify" or label in ("clarify", "-"):
        return expect == label
    if expect.startswith("redirect:"):
        wanted = expect.split(":", 1)[1]
        if label.startswith("redirect:"):
            return label.split(":", 1)[1] == wanted
        from skillsrv.routing.index import resolve_pack  # the index embeds examples' labels

        # When the named pack is loaded, routing into it is the right answer.
        pack = resolve_pack(catalog, wanted)
        return pack is not None and label.split("/", 1)[0] == pack.name
    if label.startswith("redirect:"):
        return False
    expected = expect.strip("/").split("/")
    got = label.split("/")
    if len(expected) == 1 and not expected[0].endswith(".md"):
        return (len(got) == 2 and got[1] == expected[0]) or got[0] == expected[0]
    return got[-len(expected):] == expected
