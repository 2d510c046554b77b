"""Extracting what a router or sheet says: routes, symptoms, questions, red flags, wrong routes,
recency rows, use-when lists and cross-pack references.

Wording differs from pack to pack, so tables are recognised by loose column-name patterns
("Route To", "Sheet", "Load", "Primary Skill"... ; "Wrong Route"/"Correct Route"; "What to
Ask"), and lists by their intro line or heading ("Symptoms triggering this route",
"Clarifying questions", "Use when", "Do not use for").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from skillsrv.packs.markdown import Heading, ListBlock, MarkdownDoc, Paragraph, Table, plain
from skillsrv.packs.model import (
    ClarifyingQuestion,
    CrossRef,
    Extracted,
    RecencyRow,
    RedFlag,
    Ref,
    RefKind,
    Route,
    Source,
    SymptomList,
    UsageItem,
    WrongRoute,
)
from skillsrv.packs.refs import RefContext, find_refs


def _matcher(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda text: bool(compiled.search(text))


is_target_header = _matcher(r"route|sheet|skill|\bload|go to|\bsee\b|reference|\bread\b|"
                            r"\bpack\b|primary|destination")
is_secondary_header = _matcher(r"secondary|also|alternative|related|then|next")
is_why_header = _matcher(r"\bwhy\b|reason|rationale|priority|notes?\b|because|key consideration")
is_wrong_header = _matcher(r"\bwrong\b|incorrect|mistaken|\bnot\b.*route")
is_correct_header = _matcher(r"correct|\bright\b|instead|should")
is_ask_header = _matcher(r"\bask\b|to ask|question")
is_pattern_header = _matcher(r"pattern|flag|signal|phrase|trigger|symptom|sign|if")
is_when_not_header = _matcher(r"when not|avoid|don.?t use|not when|not for|not to use")
is_alternative_header = _matcher(r"alternative|instead|better|use rather|prefer")
is_trend_header = _matcher(r"trend|hype|popular|fashion|architecture|technique|tool")

is_symptom_intro = _matcher(r"symptom|trigger|signal|keyword|phrases?|user (says|asks|mentions)"
                            r"|when you see|indicators?|sounds like|examples? of quer")
is_question_intro = _matcher(r"clarif|ask first|ask\b|questions? to ask|questions\b|before "
                             r"routing")
is_do_not_intro = _matcher(r"(do not|don.?t|never) use|not for\b|when not to|not use (this|it)"
                           r"|avoid (using|when)|skip this|wrong (skill|pack)")
is_use_intro = _matcher(r"use (this|it|the skill)?\s*(skill\s*)?(when|for|if)|when to use|load "
                        r"(this|when)|use when|applies when|activate when")
is_red_flag_heading = _matcher(r"red.?flag|stop and (ask|clarify)|warning signs")
is_wrong_route_heading = _matcher(r"routing mistake|wrong route|misrout|common mistake")
is_recency_heading = _matcher(r"recency|trend|hype")
is_question_heading = _matcher(r"clarif|ask first|questions to ask|before routing")
is_route_to_line = re.compile(r"(route to|go to|load|see|→|->)", re.IGNORECASE)

# A markdown link or a sheet name in a code span: what is left of a link-list item is its
# description.
_LINK_LABEL = re.compile(r"\[[^\]]*\]\([^)]*\)|`[^`]*\.md`")
_QUOTED = re.compile(r"[\"“]([^\"”]{3,})[\"”]")
_ARROW = re.compile(r"→|->|=>")
_ROUTING_HEADING = re.compile(r"rout|where to go|which (sheet|skill)|decision", re.IGNORECASE)
_QUOTED_QUESTION = re.compile(r"[\"“]([^\"”]+\?)[\"”]\s*(.*)$")


def extract(doc: MarkdownDoc, path: str, ctx: RefContext) -> Extracted:
    out = Extracted()
    for table in doc.tables:
        _extract_table(table, path, ctx, out)
    section_targets = _section_targets(doc, ctx)
    catalog: list[Route] = []
    for block in doc.lists:
        _extract_list(block, path, ctx, section_targets, out, catalog)
    for paragraph in doc.paragraphs:
        _inline_symptoms(paragraph, path, section_targets, out)
    _catalog_routes(out, catalog)
    _extract_cross_refs(doc, path, ctx, out)
    return out


def _catalog_routes(out: Extracted, catalog: list[Route]) -> None:
    """A plain list of sheets with a few words each ("- `testing.md` - Behavioural testing")
    routes only to the sheets nothing else in the router routes to: where tables or symptom
    lists exist, such a list is a table of contents that repeats them."""
    routed = {(route.target.kind, route.target.name) for route in out.routes}
    routed |= {(symptoms.target.kind, symptoms.target.name) for symptoms in out.symptoms}
    out.routes.extend(route for route in catalog
                      if (route.target.kind, route.target.name) not in routed)


def _inline_symptoms(paragraph: Paragraph, path: str, targets: dict[int, Ref],
                     out: Extracted) -> None:
    """In a section that routes to one place, `**Symptoms**: "Model too slow", "reduce model
    size"`: the quoted phrases are its symptoms, as if they were a list. (`**When to use**:
    ...` lines as routes were measured too: 0.7 points worse, left out.)"""
    label, colon, rest = plain(paragraph.text.split("\n")[0]).partition(":")
    target = _target_for(paragraph.heading, targets)
    if not colon or len(label) > 40 or target is None:
        return
    heading = paragraph.heading.text if paragraph.heading else ""
    source = Source(path=path, line=paragraph.line)
    if is_symptom_intro(label):
        phrases = [phrase.strip() for phrase in _QUOTED.findall(rest)]
        if phrases:
            out.symptoms.append(SymptomList(target=target, phrases=phrases, heading=heading,
                                            source=source))


# -- tables --------------------------------------------------------------------------------


def _column(header: list[str], test: Callable[[str], bool], *, skip: set[int]) -> int | None:
    for index, name in enumerate(header):
        if index not in skip and test(name):
            return index
    return None


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""


def _extract_table(table: Table, path: str, ctx: RefContext, out: Extracted) -> None:
    header = [plain(cell).lower() for cell in table.header]
    if len(header) < 2:
        return
    heading = table.heading.text if table.heading else ""
    wrong = _column(header, is_wrong_header, skip=set())
    correct = _column(header, is_correct_header, skip={wrong} if wrong is not None else set())
    if wrong is not None and correct is not None:
        _wrong_routes(table, header, wrong, correct, path, ctx, out)
        return
    ask = _column(header, is_ask_header, skip={0})
    if ask is not None and (is_red_flag_heading(heading) or is_pattern_header(header[0])
                            or (len(header) >= 3 and asks_the_user(heading, table.intro,
                                                                  header[ask]))):
        _red_flags(table, header, ask, path, ctx, out)
        return
    when_not = _column(header, is_when_not_header, skip=set())
    alternative = _column(header, is_alternative_header, skip={when_not or 0, 0})
    if when_not is not None and alternative is not None:
        for row in table.rows:
            out.recency.append(RecencyRow(
                trend=plain(row.cells[0]), when_not=plain(_cell(row.cells, when_not)),
                alternative=plain(_cell(row.cells, alternative)),
                source=Source(path=path, line=row.line)))
        return
    if is_do_not_intro(heading) or is_do_not_intro(table.intro):
        # "When Not to Use a Transformer": | Situation | Better choice |
        for row in table.rows:
            situation = plain(row.cells[0]) if row.cells else ""
            if situation:
                out.do_not_use.append(UsageItem(
                    text=situation, alternative=plain(_cell(row.cells, 1)) or None,
                    label=heading if is_do_not_intro(heading) else plain(table.intro),
                    source=Source(path=path, line=row.line)))
    _routes(table, header, path, ctx, out)


def _wrong_routes(table: Table, header: list[str], wrong: int, correct: int, path: str,
                  ctx: RefContext, out: Extracted) -> None:
    why = _column(header, is_why_header, skip={wrong, correct})
    symptom = next((i for i in range(len(header)) if i not in (wrong, correct, why)), 0)
    for row in table.rows:
        wrong_text, correct_text = _cell(row.cells, wrong), _cell(row.cells, correct)
        wrong_refs = find_refs(wrong_text, ctx, target_column=True)
        correct_refs = find_refs(correct_text, ctx, target_column=True)
        out.wrong_routes.append(WrongRoute(
            symptom=plain(_cell(row.cells, symptom)).strip("\"“”"),
            wrong=plain(wrong_text), wrong_ref=wrong_refs[0] if wrong_refs else None,
            correct=plain(correct_text), correct_ref=correct_refs[0] if correct_refs else None,
            why=plain(_cell(row.cells, why)), source=Source(path=path, line=row.line)))


def asks_the_user(*texts: str) -> bool:
    """A table with a question column is one of questions to put to the user when its heading,
    its intro or that column says so ("Before recommending, ask:", "Clarify constraints",
    "| Ask clarifying |"). Without that, it is a checklist or a framework for the reader
    ("| Factor | Questions | Score |", "| Probe | Question it answers |"): taken as questions
    to ask, it sent routable queries to `clarify` (12 of 1,206 fitted corpus cases)."""
    return any(map(_says_ask, texts))


_says_ask = _matcher(r"clarif|\bask\b|before (routing|recommending)")


def _red_flags(table: Table, header: list[str], ask: int, path: str, ctx: RefContext,
               out: Extracted) -> None:
    why = _column(header, is_why_header, skip={0, ask})
    for row in table.rows:
        question = plain(_cell(row.cells, ask))
        if not question:
            continue
        out.red_flags.append(RedFlag(
            pattern=plain(row.cells[0]).strip("\"“”"), why=plain(_cell(row.cells, why)),
            ask=question.strip("\"“”"), source=Source(path=path, line=row.line)))


def _routes(table: Table, header: list[str], path: str, ctx: RefContext,
            out: Extracted) -> None:
    """Rows whose target column names a sheet, a skill or a pack become routes."""
    width = len(header)
    named_target = [i > 0 and is_target_header(header[i]) for i in range(width)]
    refs = [[find_refs(_cell(row.cells, i), ctx, target_column=named_target[i])
             for i in range(width)] for row in table.rows]
    with_refs = [sum(1 for row_refs in refs if row_refs[i]) for i in range(width)]
    if not any(with_refs[1:]) and not with_refs[0]:
        return
    candidates = [i for i in range(width) if with_refs[i]]
    # A column that links documents beats one whose "refs" are bare words read as pack names
    # (| [code-blocks.md](...) | When to Load: copy-to-clipboard, ... |).
    with_docs = [sum(1 for row_refs in refs if any(ref.kind is not RefKind.PACK
                                                    for ref in row_refs[i]))
                 for i in range(width)]
    if any(with_docs):
        candidates = [i for i in candidates if with_docs[i]]
    named = [i for i in candidates if named_target[i] and not is_secondary_header(header[i])]
    target = named[0] if named else max(candidates, key=lambda i: (with_refs[i], -i))
    secondary = [i for i in candidates if i != target and i > 0 and is_secondary_header(header[i])]
    why_col = _column(header, is_why_header, skip={target})
    trigger_cols = [i for i in range(width) if i != target and i not in secondary and i != why_col]
    if not trigger_cols:
        return
    heading = table.heading.text if table.heading else ""
    for row, row_refs in zip(table.rows, refs, strict=True):
        trigger = " ".join(plain(_cell(row.cells, i)) for i in trigger_cols).strip()
        if not trigger:
            continue
        why = plain(_cell(row.cells, why_col))
        source = Source(path=path, line=row.line)
        for position, ref in enumerate(row_refs[target]):
            out.routes.append(Route(trigger=trigger, target=ref, why=why, heading=heading,
                                    primary=position == 0, source=source))
        for column in secondary:
            for ref in row_refs[column]:
                out.routes.append(Route(trigger=trigger, target=ref, why=why, heading=heading,
                                        primary=False, source=source))


# -- lists ---------------------------------------------------------------------------------


def _section_targets(doc: MarkdownDoc, ctx: RefContext) -> dict[int, Ref]:
    """The one place each section routes to, keyed by heading line.

    A "**Route to:** [x.md](x.md)" line wins; else a link in the heading; else the section's
    only referenced sheet.
    """
    targets: dict[int, Ref] = {}
    seen: dict[int, list[Ref]] = {}
    for heading in doc.headings:
        refs = find_refs(heading.text, ctx)
        if refs:
            targets[heading.line] = refs[0]
    for paragraph in doc.paragraphs:
        if paragraph.heading is None:
            continue
        refs = find_refs(paragraph.text, ctx)
        if not refs:
            continue
        if is_route_to_line.search(paragraph.text.split("\n")[0][:80]):
            targets.setdefault(paragraph.heading.line, refs[0])
        seen.setdefault(paragraph.heading.line, []).extend(refs)
    for line, refs in seen.items():
        unique = {(ref.kind, ref.name) for ref in refs}
        if line not in targets and len(unique) == 1:
            targets[line] = refs[0]
    return targets


def _target_for(heading: Heading | None, targets: dict[int, Ref]) -> Ref | None:
    return targets.get(heading.line) if heading else None


def _extract_list(block: ListBlock, path: str, ctx: RefContext, targets: dict[int, Ref],
                  out: Extracted, catalog: list[Route]) -> None:
    intro = plain(block.intro.split("\n")[-1]) if block.intro else ""
    heading = block.heading.text if block.heading else ""
    source = Source(path=path, line=block.line)
    if intro and is_symptom_intro(intro):
        target = _target_for(block.heading, targets)
        if target is not None:
            phrases = [plain(item.text).strip("\"“”'") for item in block.items]
            out.symptoms.append(SymptomList(target=target, phrases=[p for p in phrases if p],
                                            heading=heading, source=source))
        return
    if (intro and is_question_intro(intro) and not is_symptom_intro(intro)) or (
            not intro and is_question_heading(heading)):
        target = _target_for(block.heading, targets) if intro else None
        for item in block.items:
            question = _question(item.text)
            if question is not None:
                text, hint = question
                out.questions.append(ClarifyingQuestion(
                    question=text, hint=hint, target=target,
                    source=Source(path=path, line=item.line)))
        return
    label = intro or heading
    if label and is_do_not_intro(label):
        out.do_not_use.extend(UsageItem(text=plain(item.text), label=label, source=Source(
            path=path, line=item.line)) for item in block.items)
    elif label and is_use_intro(label):
        out.use_when.extend(UsageItem(text=plain(item.text), source=Source(
            path=path, line=item.line)) for item in block.items)
    elif path.endswith("SKILL.md"):
        routing = bool(is_route_to_line.search(intro[:80]) or _ROUTING_HEADING.search(heading))
        _link_routes(block, path, ctx, heading, out, catalog, routing)


def _link_routes(block: ListBlock, path: str, ctx: RefContext, heading: str,
                 out: Extracted, catalog: list[Route], routing: bool) -> None:
    """A router's list items that link one sheet with words about it: "- [serving.md](...) -
    FastAPI, TorchServe, batching", "- "What is information architecture?" → [ux.md](...)".
    Many routers route this way instead of with tables."""
    for item in block.items:
        listed = routing or bool(_ARROW.search(item.text))
        refs = [ref for ref in find_refs(item.text, ctx)
                if (ref.kind is RefKind.SHEET and ref.name in ctx.sheet_names)
                or (ref.kind is RefKind.SKILL and ref.name in ctx.skill_names)]
        if len({(ref.kind, ref.name) for ref in refs}) != 1:
            continue  # a list of several sheets says which to read, not when
        words = _LINK_LABEL.sub(" ", item.text)
        trigger = plain(words).strip(" -—–:→=>()[]*\"“”'")
        if len(trigger.split()) < 2:
            continue
        route = Route(trigger=trigger, target=refs[0], heading=heading,
                      source=Source(path=path, line=item.line))
        (out.routes if listed else catalog).append(route)


def _question(text: str) -> tuple[str, str] | None:
    """A list item as a clarifying question: `"Dataset size?" (< 10k → CNN)` or `Ask X?`."""
    flat = " ".join(text.split())
    quoted = _QUOTED_QUESTION.search(flat)
    if quoted:
        return plain(quoted.group(1)), plain(quoted.group(2)).strip(" -—–:()")
    cleaned = plain(flat)
    if "?" in cleaned:
        question, _, rest = cleaned.partition("?")
        return question.strip(" -*") + "?", rest.strip(" -—–:()")
    return None


# -- cross-pack references -----------------------------------------------------------------


def _extract_cross_refs(doc: MarkdownDoc, path: str, ctx: RefContext, out: Extracted) -> None:
    """Other packs a document points at (from paragraphs and list items; tables are routes)."""
    seen: set[tuple[str, str | None]] = set()

    def add(text: str, line: int) -> None:
        for ref in find_refs(text, ctx):
            if ref.kind is RefKind.PACK and (ref.name, ref.skill) not in seen:
                seen.add((ref.name, ref.skill))
                out.cross_refs.append(CrossRef(pack=ref.name, skill=ref.skill,
                                               text=plain(text)[:200],
                                               source=Source(path=path, line=line)))

    for paragraph in doc.paragraphs:
        add(paragraph.text, paragraph.line)
    for block in doc.lists:
        for item in block.items:
            add(item.text, item.line)
    for route in out.routes:
        target = route.target
        if target.kind is RefKind.PACK and (target.name, target.skill) not in seen:
            seen.add((target.name, target.skill))
            out.cross_refs.append(CrossRef(pack=target.name, skill=target.skill,
                                           text=route.trigger[:200], source=route.source))
