"""Checks on routing tables and lists: shape, targets, duplicates, conflicts and triggers.

Tables are read from the raw lines (`authoring.tables`) and classified with the extractor's
own column-name matchers, so lint sees a route table exactly when routing uses one.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skillsrv.authoring.context import LintContext, info
from skillsrv.authoring.tables import RawTable
from skillsrv.diagnostics import Diagnostic, error, warning
from skillsrv.packs import Document, Pack, Skill
from skillsrv.packs.extract import (
    is_alternative_header,
    is_ask_header,
    is_correct_header,
    is_pattern_header,
    is_red_flag_heading,
    is_secondary_header,
    is_target_header,
    is_when_not_header,
    is_why_header,
    is_wrong_header,
)
from skillsrv.packs.markdown import plain
from skillsrv.packs.model import DocKind, Ref, RefKind
from skillsrv.packs.refs import BACKTICK, BOLD, LINK, PACK_PATH, PACK_WORD, SLUG
from skillsrv.routing.index import resolve_pack

TYPO_CUTOFF = 0.8  # difflib ratio above which a bare word is taken for a misspelt sheet name


@dataclass
class TableRoles:
    """What each column of a routing table does."""

    kind: str  # "route" or "wrong-route"
    targets: list[int]  # columns that say where to go (target and secondary; wrong, correct)
    triggers: list[int]  # columns that say when (situation, symptom)
    typo_targets: list[int] = field(default_factory=list)  # where a bare misspelt name counts


def _column(header: list[str], test: Callable[[str], bool], skip: set[int]) -> int | None:
    return next((i for i, name in enumerate(header) if i not in skip and test(name)), None)


def _has_ref(cell: str) -> bool:
    return bool(LINK.search(cell)) or any(m.group(1).strip().endswith(".md")
                                          for m in BACKTICK.finditer(cell))


def classify(table: RawTable) -> TableRoles | None:
    """Route and wrong-route tables with their column roles; None for any other table."""
    header = [plain(cell).lower() for cell in table.header.cells]
    width = len(header)
    if width < 2:
        return None
    wrong = _column(header, is_wrong_header, set())
    correct = _column(header, is_correct_header, {wrong} if wrong is not None else set())
    if wrong is not None and correct is not None:
        why = _column(header, is_why_header, {wrong, correct})
        symptom = next((i for i in range(width) if i not in (wrong, correct, why)), None)
        return TableRoles("wrong-route", [wrong, correct],
                          [symptom] if symptom is not None else [], typo_targets=[correct])
    ask = _column(header, is_ask_header, {0})
    if ask is not None and (is_red_flag_heading(table.heading) or is_pattern_header(header[0])
                            or width >= 3):
        return None
    when_not = _column(header, is_when_not_header, set())
    if when_not is not None and _column(header, is_alternative_header, {when_not, 0}) is not None:
        return None
    named = [i for i in range(1, width) if is_target_header(header[i])]
    primary = [i for i in named if not is_secondary_header(header[i])]
    if primary:
        target = primary[0]
    else:
        counts = {i: sum(_has_ref(row.cells[i]) for row in table.rows if i < len(row.cells))
                  for i in range(1, width)}
        best = max(counts, key=lambda i: (counts[i], -i))
        if not counts[best]:
            return None
        target = best
    secondary = [i for i in named if i != target and is_secondary_header(header[i])]
    why = _column(header, is_why_header, {target, *secondary})
    triggers = [i for i in range(width) if i != target and i not in secondary and i != why]
    if not triggers:
        return None
    return TableRoles("route", [target, *secondary], triggers,
                      typo_targets=[target] if primary else [])


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


# -- ragged tables ---------------------------------------------------------------------------


def check_ragged_tables(ctx: LintContext) -> Iterator[Diagnostic]:
    """Rows with a different cell count than the header (renderers pad or drop cells)."""
    for pack, _skill, doc in ctx.documents():
        for table in ctx.tables(pack, doc):
            width = len(table.header.cells)
            for row in table.rows:
                count = len(row.cells)
                if count == width:
                    continue
                path = ctx.show(pack, doc.path)
                if count == 1 and "|" not in row.cells[0]:
                    yield warning(path, row.line, "ragged-table",
                                  f"this line has no '|' but continues the table of line "
                                  f"{table.line} as a 1-cell row; put a blank line between the "
                                  "table and the text")
                elif count > width:
                    yield warning(path, row.line, "ragged-table",
                                  f"row has {count} cells but the header (line {table.line}) "
                                  f"has {width}; renderers drop the last {count - width}. Escape "
                                  "'|' inside cells as '\\|', or add the missing header column")
                else:
                    yield warning(path, row.line, "ragged-table",
                                  f"row has {count} cells but the header (line {table.line}) "
                                  f"has {width}; renderers pad it with empty cells. Fill in the "
                                  "missing cells")


# -- route targets ---------------------------------------------------------------------------


@dataclass
class _Where:
    """The document a target cell is in, and how to look names up from there."""

    ctx: LintContext
    pack: Pack
    skill: Skill
    doc: Document

    @property
    def doc_dir(self) -> Path:
        return Path(self.pack.source) / self.skill.path / posixpath.dirname(self.doc.file_name)

    def file_names(self) -> set[str]:
        return {"SKILL.md", *(d.file_name for d in [*self.skill.sheets, *self.skill.orphans])}

    def has_sheet(self, name: str) -> bool:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.doc.file_name), name))
        names = self.file_names()
        return (joined in names or name in names
                or any(posixpath.basename(n) == name for n in names)
                or (self.doc_dir / name).is_file())

    def own(self, name: str) -> bool:
        """A name that means this pack or one of its skills or sheets."""
        return (name == self.pack.name or self.pack.find_skill(name) is not None
                or self.skill.find_sheet(name) is not None)


def _path_ref(match: re.Match[str]) -> tuple[str, str | None]:
    first, second, third = match.group(1), match.group(2), match.group(3)
    if third:  # faction/pack/skill
        return second, third
    if second.startswith("using-"):  # pack/using-pack
        return first, second
    return second, None  # faction/pack


def _pack_refs(cell: str) -> list[tuple[str, str | None]]:
    """Explicit references to packs: **bold slugs**, faction/pack/skill paths, "X pack"."""
    found: list[tuple[str, str | None]] = []

    def add(ref: tuple[str, str | None]) -> None:
        if ref not in found:
            found.append(ref)

    for match in BACKTICK.finditer(cell):
        path = PACK_PATH.fullmatch(match.group(1).strip().lstrip("/"))
        if path:
            add(_path_ref(path))
    for match in BOLD.finditer(cell):
        word = (match.group(1) or match.group(2)).strip().strip(":,.;").lstrip("/")
        path = PACK_PATH.fullmatch(word)
        if path:
            add(_path_ref(path))
        elif SLUG.match(word):
            add((word, None))
    stripped = LINK.sub(" ", BACKTICK.sub(" ", cell))
    for match in PACK_PATH.finditer(stripped):
        add(_path_ref(match))
    for match in PACK_WORD.finditer(stripped):
        add((match.group(1).lower(), None))
    return found


def _resolves(where: _Where, cell: str) -> bool:
    """Does the cell name at least one target that exists (the column really routes)?"""
    for match in LINK.finditer(cell):
        target = match.group(2).split("#", 1)[0]
        if target and "://" not in target and os.path.exists(where.doc_dir / target):
            return True
    if any(where.has_sheet(m.group(1).strip()) for m in BACKTICK.finditer(cell)):
        return True
    return any(where.own(name) or resolve_pack(where.ctx.catalog, name) is not None
               for name, _skill in _pack_refs(cell))


def _target_problems(where: _Where, cell: str, line: int, *, live: bool,
                     typo: bool) -> Iterator[Diagnostic]:
    """Problems of one target cell. Links are always checked. A `name.md` in backticks is only
    reported in a live column (where most cells resolve) and when nothing in its cell resolves:
    elsewhere such names are usually files the sheet tells the reader to write, not routes."""
    ctx, pack = where.ctx, where.pack
    path = ctx.show(pack, where.doc.path)
    referenced = False
    for match in LINK.finditer(cell):
        target = match.group(2).split("#", 1)[0]
        if not target or "://" in target or target.startswith("mailto:"):
            continue
        referenced = True
        if target.endswith(".md") and where.doc.kind is not DocKind.ORPHAN:
            continue  # the loader reports broken .md links of SKILL.md and its sheets
        if not os.path.exists(where.doc_dir / target):
            yield error(path, line, "route-target-missing",
                        f"routes to {target}, which does not exist; fix the link or add the "
                        "file")
    named = [m.group(1).strip() for m in BACKTICK.finditer(cell)]
    named = [name for name in named if name.endswith(".md") and " " not in name]
    referenced = referenced or bool(named)
    if live and named and not _resolves(where, cell):
        for name in named:
            yield error(path, line, "route-target-missing",
                        f"routes to `{name}`, which is not a file of skill '{where.skill.name}' "
                        "(other rows of this column route to real sheets); fix the name or add "
                        "the sheet")
    for name, skill in _pack_refs(cell):
        referenced = True
        if skill is None and where.own(name):
            continue
        target = resolve_pack(ctx.catalog, name)
        if target is None:
            if not where.own(name):
                yield info(path, line, "pack-not-loaded",
                           f"routes to pack '{name}', which is not among the packs linted with "
                           "it; fine if it is installed separately (lint them together to "
                           "check the name)")
        elif skill is not None and not (target.find_skill(skill)
                                        or target.find_skill(f"using-{skill}")):
            yield error(path, line, "route-target-missing",
                        f"routes to skill '{skill}' of pack '{target.name}', which has no such "
                        f"skill (it has {', '.join(s.name for s in target.skills)}); fix the "
                        "name")
    if typo and not referenced:
        yield from _typo(where, cell, path, line)


def _typo(where: _Where, cell: str, path: str, line: int) -> Iterator[Diagnostic]:
    stems = {posixpath.basename(n).removesuffix(".md"): n for n in where.file_names()
             if n != "SKILL.md"}
    words = [w for w in re.split(r"[\s,;()*_\[\]]+", plain(cell).lower()) if w]
    for word in words:
        named = "-" in word or word.endswith(".md") or len(words) == 1  # prose is not a name
        word = word.strip(".:").removesuffix(".md")
        if not named or word in stems or where.own(word):
            continue
        near = difflib.get_close_matches(word, list(stems), n=1, cutoff=TYPO_CUTOFF)
        if near:
            yield warning(path, line, "route-target-typo",
                          f"'{word}' is not a sheet of skill '{where.skill.name}'; did you mean "
                          f"[{stems[near[0]]}]({stems[near[0]]})? Write the target as a link")


def check_route_targets(ctx: LintContext) -> Iterator[Diagnostic]:
    """Route-table and wrong-route cells that name sheets, skills or packs that do not exist."""
    for pack, skill, doc in ctx.documents():
        where = _Where(ctx, pack, skill, doc)
        for table in ctx.tables(pack, doc):
            roles = classify(table)
            if roles is None:
                continue
            for column in roles.targets:
                cells = [(row.line, _cell(row.cells, column)) for row in table.rows]
                filled = [cell for _line, cell in cells if cell]
                live = 2 * sum(_resolves(where, cell) for cell in filled) >= len(filled) > 0
                for line, cell in cells:
                    if cell:
                        yield from _target_problems(where, cell, line, live=live,
                                                    typo=column in roles.typo_targets)


# -- triggers, duplicates and conflicts ------------------------------------------------------


def check_route_triggers(ctx: LintContext) -> Iterator[Diagnostic]:
    """Route rows that say where to go but not when: the router can never choose them."""
    for pack, _skill, doc in ctx.documents():
        for table in ctx.tables(pack, doc):
            roles = classify(table)
            if roles is None:
                continue
            for row in table.rows:
                has_target = any(_cell(row.cells, i) for i in roles.targets)
                if has_target and not any(plain(_cell(row.cells, i)) for i in roles.triggers):
                    what = "symptom" if roles.kind == "wrong-route" else "situation or trigger"
                    yield warning(ctx.show(pack, doc.path), row.line, "route-no-trigger",
                                  f"this {roles.kind} row has a target but no {what} text; "
                                  "say when the route applies, or delete the row")


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[\"“”'`*_.,:;!?()]", " ", text.lower()).split())


def _target_key(ref: Ref) -> tuple[str, str, str | None]:
    return (ref.kind.value, ref.name, ref.skill)


def _label(ref: Ref) -> str:
    if ref.kind is RefKind.PACK:
        return f"pack {ref.name}" + (f"/{ref.skill}" if ref.skill else "")
    return ref.name


def check_route_duplicates(ctx: LintContext) -> Iterator[Diagnostic]:
    """The same trigger routed twice within a skill: to one target (duplicate) or to two
    different targets (conflict: the router must guess)."""
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            routes: dict[str, tuple[Ref, str, int]] = {}
            phrases: dict[str, tuple[Ref, str, int]] = {}
            for doc in skill.documents():
                for route in doc.extracted.routes:
                    if not route.primary:
                        continue
                    yield from _compare(ctx, pack, routes, _normal(route.trigger), route.target,
                                        route.source.path, route.source.line, "trigger",
                                        report_duplicates=True)
                for symptoms in doc.extracted.symptoms:
                    for phrase in symptoms.phrases:
                        yield from _compare(ctx, pack, phrases, _normal(phrase),
                                            symptoms.target, symptoms.source.path,
                                            symptoms.source.line, "symptom phrase",
                                            report_duplicates=False)


def _compare(ctx: LintContext, pack: Pack, seen: dict[str, tuple[Ref, str, int]], key: str,
             target: Ref, path: str, line: int, what: str, *,
             report_duplicates: bool) -> Iterator[Diagnostic]:
    if not key:
        return
    if key not in seen:
        seen[key] = (target, path, line)
        return
    first, first_path, first_line = seen[key]
    if (first_path, first_line) == (path, line):
        return
    where = f"{ctx.show(pack, first_path)}:{first_line}"
    if _target_key(first) != _target_key(target):
        yield warning(ctx.show(pack, path), line, "route-conflict",
                      f"{what} '{key[:80]}' routes to {_label(target)} here but to "
                      f"{_label(first)} at {where}; make the two distinct or pick one target")
    elif report_duplicates:
        yield warning(ctx.show(pack, path), line, "route-duplicate",
                      f"{what} '{key[:80]}' already routes to {_label(target)} at {where}; "
                      "delete one of the rows")


# -- sheets nothing routes to ----------------------------------------------------------------


def check_unrouted_sheets(ctx: LintContext) -> Iterator[Diagnostic]:
    """Sheets of a router that no route row, symptom list or wrong-route row sends anything
    to: routing can find them only by their own words, which users rarely share."""
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            if not skill.is_router:
                continue
            routed: set[str] = set()
            for doc in skill.documents():
                items = doc.extracted
                refs = [route.target for route in items.routes]
                refs += [symptoms.target for symptoms in items.symptoms]
                refs += [rule.correct_ref for rule in items.wrong_routes if rule.correct_ref]
                routed |= {ref.name for ref in refs if ref.kind is RefKind.SHEET}
            router = skill.document
            for sheet in skill.sheets:
                if sheet.file_name in routed:
                    continue
                line = _first_mention(router, sheet.file_name)
                yield warning(ctx.show(pack, router.path), line,
                              "sheet-unrouted",
                              f"nothing in this router says when to read {sheet.file_name}: add "
                              "a route-table row, a symptom list, or a '- [sheet](...) - when' "
                              "line under a 'Routes to' list")


def _first_mention(doc: Document, name: str) -> int | None:
    for number, line in enumerate(doc.body.split("\n")):
        if name in line:
            return doc.body_line + number
    return None
