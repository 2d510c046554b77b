"""`skillsrv packs`: what the configured sources contain, and what is wrong with them."""

from __future__ import annotations

import argparse
from typing import Any

from skillsrv.cli.common import add_pack_options, catalog_from, print_json, warning_dict
from skillsrv.packs import Catalog


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("packs", help="list loaded packs, skills, sheets and warnings",
                                   description="Load the pack sources and print their map.")
    add_pack_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def catalog_json(catalog: Catalog) -> dict[str, Any]:
    return {
        "packs": [{
            "name": pack.name, "source": pack.source, "kind": pack.kind.value,
            "description": pack.description, "version": pack.version,
            "keywords": pack.keywords,
            "skills": [{
                "name": skill.name, "description": skill.description, "path": skill.path,
                "router": skill.is_router,
                "sheets": [sheet.file_name for sheet in skill.sheets],
                "orphans": [orphan.file_name for orphan in skill.orphans],
                "blueprints": skill.blueprints,
                "extracted": _counts(skill.documents()),
            } for skill in pack.skills],
        } for pack in catalog.packs],
        "warnings": [warning_dict(d) for d in catalog.all_diagnostics()],
    }


def _counts(documents: list[Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for document in documents:
        for key, value in document.extracted.counts().items():
            total[key] = total.get(key, 0) + value
    return total


def run(args: argparse.Namespace) -> int:
    catalog = catalog_from(args, report_errors=False)  # listed with the other warnings
    if args.json:
        print_json(catalog_json(catalog))
        return 0
    print(render(catalog))
    return 0


def render(catalog: Catalog) -> str:
    lines: list[str] = []
    for pack in catalog.packs:
        skills = len(pack.skills)
        sheets = sum(len(skill.sheets) for skill in pack.skills)
        lines.append(f"{pack.name}  ({pack.kind.value}; {skills} skill{'s' * (skills != 1)}, "
                     f"{sheets} sheet{'s' * (sheets != 1)})  {pack.source}")
        for skill in pack.skills:
            lines.append(f"  {skill.name}{'  [router]' if skill.is_router else ''}")
            if skill.description:
                lines.append(f"    {_clip(skill.description, 96)}")
            counts = {k: v for k, v in _counts(skill.documents()).items() if v}
            if counts:
                lines.append("    extracted: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                          for k, v in counts.items()))
            for sheet in skill.sheets:
                title = f"  {sheet.title}" if sheet.title else ""
                lines.append(f"    - {sheet.file_name}{title}")
            for orphan in skill.orphans:
                lines.append(f"    ? {orphan.file_name}  (orphan: not linked from SKILL.md)")
            if skill.blueprints:
                lines.append(f"    blueprints: {len(skill.blueprints)}")
    diagnostics = catalog.all_diagnostics()
    packs = len(catalog.packs)
    lines.append("")
    lines.append(f"{packs} pack{'s' * (packs != 1)}, "
                 f"{sum(len(p.skills) for p in catalog.packs)} skills, "
                 f"{len(diagnostics)} warning{'s' * (len(diagnostics) != 1)}")
    for diagnostic in diagnostics:
        lines.append(f"  {diagnostic.format()}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
