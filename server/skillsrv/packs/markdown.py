"""Markdown blocks with source lines: headings, tables, lists and paragraphs (markdown-it-py).

Only block-level parsing runs (the inline rules are disabled): the extractor needs cell and
item text, links and emphasis are found in that text directly, and skipping the inline pass
halves the parse time of a large pack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@dataclass
class Heading:
    level: int
    text: str
    line: int


@dataclass
class TableRow:
    cells: list[str]
    line: int


@dataclass
class Table:
    header: list[str]
    rows: list[TableRow]
    line: int
    heading: Heading | None
    intro: str


@dataclass
class ListItem:
    text: str
    line: int
    depth: int


@dataclass
class ListBlock:
    items: list[ListItem]
    line: int
    heading: Heading | None
    intro: str


@dataclass
class Paragraph:
    text: str
    line: int
    heading: Heading | None


@dataclass
class MarkdownDoc:
    headings: list[Heading] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    lists: list[ListBlock] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        for heading in self.headings:
            if heading.level == 1:
                return heading.text
        return self.headings[0].text if self.headings else None


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.disable(["inline", "text_join"])
    return md


_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_LEADING_MARKS = re.compile(r"^[^\w\"“'(\[<>]+")


def plain(text: str) -> str:
    """Markdown inline text as readable plain text: links become their labels."""
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _HTML_TAG.sub("", text)
    text = _EMPHASIS.sub("", text)
    return _LEADING_MARKS.sub("", " ".join(text.split()))


def parse_markdown(body: str, first_line: int = 1) -> MarkdownDoc:
    """Parse a markdown body; `first_line` is the file line of the body's first line."""
    tokens = _parser().parse(body)
    doc = MarkdownDoc()
    offset = first_line  # token.map rows are 0-based within the body
    heading: Heading | None = None
    last_paragraph: Paragraph | None = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        line = (token.map[0] if token.map else 0) + offset
        if token.type == "heading_open":
            heading = Heading(int(token.tag[1]), plain(tokens[index + 1].content), line)
            doc.headings.append(heading)
            last_paragraph = None
            index += 3
            continue
        if token.type == "paragraph_open" and token.level == 0:
            last_paragraph = Paragraph(tokens[index + 1].content, line, heading)
            doc.paragraphs.append(last_paragraph)
            index += 3
            continue
        if token.type == "table_open":
            index, table = _read_table(tokens, index, offset, heading, last_paragraph)
            doc.tables.append(table)
            continue
        if token.type in ("bullet_list_open", "ordered_list_open") and token.level == 0:
            index, blocks = _read_list(tokens, index, offset, heading, last_paragraph)
            doc.lists.extend(blocks)
            last_paragraph = None
            continue
        index += 1
    return doc


def _read_table(
    tokens: list[Token], index: int, offset: int, heading: Heading | None,
    intro: Paragraph | None,
) -> tuple[int, Table]:
    start = tokens[index]
    header: list[str] = []
    rows: list[TableRow] = []
    current: list[str] | None = None
    current_line = 0
    in_head = False
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            current = []
            current_line = (token.map[0] if token.map else 0) + offset
        elif token.type == "inline" and current is not None:
            current.append(token.content.strip())
        elif token.type == "tr_close" and current is not None:
            if in_head:
                header = current
            else:
                rows.append(TableRow(current, current_line))
            current = None
        index += 1
    line = (start.map[0] if start.map else 0) + offset
    return index + 1, Table(header, rows, line, heading, intro.text if intro else "")


def _read_list(
    tokens: list[Token], index: int, offset: int, heading: Heading | None,
    intro: Paragraph | None,
) -> tuple[int, list[ListBlock]]:
    """Read a top-level list; a nested list becomes its own block introduced by its parent item."""
    first = tokens[index].map
    root = ListBlock([], (first[0] if first else 0) + offset, heading, intro.text if intro else "")
    blocks = [root]
    stack: list[ListBlock] = []
    last_item_text = ""
    depth = -1
    item_open = False
    while index < len(tokens):
        token = tokens[index]
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
            if depth == 0:
                stack.append(root)
            else:
                nested = ListBlock([], (token.map[0] if token.map else 0) + offset, heading,
                                   last_item_text)
                blocks.append(nested)
                stack.append(nested)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            stack.pop()
            depth -= 1
            if depth < 0:
                return index + 1, [block for block in blocks if block.items]
        elif token.type == "list_item_open":
            item_open = True
        elif token.type == "inline" and item_open and stack:
            line = (token.map[0] if token.map else 0) + offset
            last_item_text = token.content.strip()
            stack[-1].items.append(ListItem(last_item_text, line, depth))
            item_open = False  # later paragraphs of the same item are not new items
        index += 1
    return index, [block for block in blocks if block.items]
