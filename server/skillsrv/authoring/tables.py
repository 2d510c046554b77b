"""GFM tables read from the raw markdown lines, cell counts as written.

markdown-it pads short rows and drops extra cells, so a ragged row is invisible after parsing;
this scanner splits each row line itself, the way markdown-it's table rule does (unescaped
`|` separates cells; one leading and one trailing pipe are optional), and keeps every row's
cell list as written. It is a line scan, not a parse: a corpus of 500 files takes milliseconds,
where parsing it again with markdown-it takes seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DELIMITER = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")
_QUOTE = re.compile(r"^(\s{0,3}>\s?)+")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_HEADING = re.compile(r"^#{1,6}(\s+|$)(.*?)\s*#*\s*$")
# Lines that end a table body (markdown-it uses the blockquote terminators).
_TERMINATOR = re.compile(r"^(>|#{1,6}(\s|$)|`{3,}|~{3,}|[-*+]\s|\d{1,9}[.)]\s|"
                         r"(\*\s*){3,}$|(-\s*){3,}$|(_\s*){3,}$|<[A-Za-z!/?])")


@dataclass
class RawRow:
    cells: list[str]  # stripped, escaped pipes unescaped; as many as the line has
    line: int


@dataclass
class RawTable:
    header: RawRow
    delimiter_cells: int
    rows: list[RawRow]
    heading: str  # the text of the closest heading above, "" if none

    @property
    def line(self) -> int:
        return self.header.line


def split_row(line: str) -> list[str]:
    """Cells of one table line, as markdown-it's `escapedSplit` splits them."""
    text = line.strip()
    if "\\" not in text:  # no escapes: a plain split is the same, and much faster
        cells = text.split("|")
        if cells and cells[0] == "":
            cells.pop(0)
        if cells and cells[-1] == "":
            cells.pop()
        return [cell.strip() for cell in cells]
    cells = []
    current: list[str] = []
    escaped = False
    for char in text:
        if char == "|" and not escaped:
            cells.append("".join(current))
            current = []
        elif char == "|":
            current[-1] = "|"  # `\|` is a literal pipe
        else:
            current.append(char)
        escaped = char == "\\"
    cells.append("".join(current))
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return [cell.strip() for cell in cells]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_delimiter(line: str) -> bool:
    text = line.strip()
    if not text or text[0] not in "|-:" or (text[0] == "-" and text[1:2].isspace()):
        return False
    return bool(_DELIMITER.match(text))


def scan_tables(body: str, first_line: int = 1) -> list[RawTable]:
    """Every table of a markdown body; `first_line` is the file line of the body's first line."""
    if "|" not in body:
        return []
    lines = [(_QUOTE.sub("", line) if line.lstrip().startswith(">") else line)
             for line in body.split("\n")]  # tables in block quotes count too
    tables: list[RawTable] = []
    fence: str | None = None
    heading = ""
    index = 0
    count = len(lines)
    while index < count:
        line = lines[index]
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        first = stripped[:1]
        index += 1
        if fence is not None:  # inside a fenced code block: only its closing fence matters
            if indent < 4 and stripped.startswith(fence) and not stripped.rstrip().strip(
                    fence[0]):
                fence = None
            continue
        if indent >= 4 or not first:
            continue
        if first in "`~":
            opener = _FENCE.match(stripped)
            if opener:
                fence = opener.group(1)
                continue
        elif first == "#":
            match = _HEADING.match(stripped.rstrip())
            if match:
                heading = match.group(2)
            continue
        elif first == "<" and stripped.startswith("<!--"):
            index -= 1
            while index < count and "-->" not in lines[index]:
                index += 1  # an HTML comment block holds no tables
            index += 1
            continue
        if "|" not in stripped or index >= count or not _is_delimiter(lines[index]) or \
                _indent(lines[index]) >= 4:
            continue
        header = split_row(line)
        delimiter = split_row(lines[index])
        if not header or len(header) != len(delimiter):
            continue
        rows: list[RawRow] = []
        cursor = index + 1
        while cursor < count:
            row = lines[cursor]
            text = row.strip()
            if not text or _indent(row) >= 4 or _TERMINATOR.match(text):
                break
            rows.append(RawRow(split_row(row), first_line + cursor))
            cursor += 1
        tables.append(RawTable(RawRow(header, first_line + index - 1), len(delimiter), rows,
                               heading))
        index = cursor
    return tables
