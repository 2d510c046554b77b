"""What routing keeps of a document's body: term counts, which section each word is in, and the
opening paragraphs.

A question is usually answered by one section of a sheet, not by words scattered over the whole
of it: keeping, for each word, the set of sections it occurs in lets the reranker ask how much of
the query one section covers. The opening paragraphs say what the sheet is about in its own
words; most sheets in the wild have no frontmatter description, and this is the next best thing.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from skillsrv.packs.model import Document
from skillsrv.routing import text

INTRO_PARAGRAPHS = 2
INTRO_CHARS = 600
# Lines that open something other than prose: headings, tables, lists, quotes, code, HTML.
_NOT_PROSE = re.compile(r"\s*(#|\||[-*+] |\d+[.)] |>|```|~~~|<|!\[|---|\*\*\*)")
# Sections that send readers elsewhere (a link, "Route to"): in a router they are about the
# documents they name, so they say nothing about what the router itself answers.
_ROUTE_TO = re.compile(r"\broute to\b")


@dataclass(frozen=True, slots=True)
class BodyProfile:
    counts: Counter[str]  # terms and repeated neighbouring pairs of the whole body
    sections: dict[str, int]  # single-word term -> bitmask of the sections it occurs in
    section_lengths: tuple[int, ...]  # terms per section
    intro: str  # the opening prose paragraphs
    length: int = 0  # the sum of `counts`, which the index's length normalisation needs
    routing_sections: int = 0  # bitmask of the sections with a link or "route to"


def heading_lines(doc: Document) -> list[int]:
    """The body line (0-based) of each of `doc`'s headings, as `split_sections` takes them."""
    return [heading.line - doc.body_line for heading in doc.headings]


def section_starts(body: str, heading_lines: list[int]) -> list[int]:
    """The body line (0-based) where each of `split_sections`' sections starts."""
    count = body.count("\n") + 1
    return [0, *sorted({line for line in heading_lines if 0 < line < count})]


def split_sections(body: str, heading_lines: list[int]) -> list[str]:
    """The body cut at its headings (0-based body line numbers, from the markdown parser, so a
    `#` comment inside a code block does not start a section)."""
    lines = body.split("\n")
    bounds = [*section_starts(body, heading_lines), len(lines)]
    return ["\n".join(lines[start:end]) for start, end in itertools.pairwise(bounds)]


def intro(body: str) -> str:
    """The first prose paragraphs, skipping headings, tables, lists and code."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_code = False
    for line in body.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
            current = _flush(current, paragraphs)
            continue
        if in_code or not stripped or _NOT_PROSE.match(line):
            current = _flush(current, paragraphs)
            if len(paragraphs) >= INTRO_PARAGRAPHS:
                break
            continue
        current.append(stripped)
    _flush(current, paragraphs)
    return " ".join(paragraphs[:INTRO_PARAGRAPHS])[:INTRO_CHARS]


def _flush(current: list[str], paragraphs: list[str]) -> list[str]:
    if current:
        paragraphs.append(" ".join(current))
    return []


def heading_terms(headings: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    """The terms of each heading, with neighbouring pairs, as the index weighs them."""
    return tuple(tuple(text.with_bigrams(found)) for found in text.terms_of_each(list(headings)))


def profile(body: str, heading_lines: list[int]) -> BodyProfile:
    masks: dict[str, int] = {}
    lengths = []
    routing = 0
    # Lowering keeps every line, so the lowered body's sections are the lowered sections.
    lower = body.lower().replace("'", "")
    sections = split_sections(lower, heading_lines)
    sequences = text.section_sequences(sections, lower)
    # Counted over all sections at once: an update per section was a twentieth of the work.
    counts = Counter(itertools.chain.from_iterable(
        part for found in sequences for part in found))
    pairs = Counter(itertools.chain.from_iterable(
        itertools.pairwise(sequence) for sequence, _ in sequences))
    for number, (section, (sequence, phrase_terms)) in enumerate(
            zip(sections, sequences, strict=True)):
        bit = 1 << number
        # Literal tests first (sections are lowered): searching alone took 0.7 s over the
        # corpus on a loaded machine, 0.05 s this way.
        if "](" in section or ("route to" in section and _ROUTE_TO.search(section)):
            routing |= bit
        for term in {*sequence, *phrase_terms}:
            masks[term] = masks.get(term, 0) | bit
        lengths.append(len(sequence))
    text.add_repeated_pairs(counts, pairs)
    return BodyProfile(counts, masks, tuple(lengths), intro(body), sum(counts.values()), routing)
