"""The raw table scanner behind the ragged-table and route checks agrees with markdown-it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit

from skillsrv.authoring.tables import scan_tables, split_row

CELL = st.text(alphabet="ab |\\`-:", max_size=8)


def markdown_it_cells(line: str) -> list[str]:
    cells = escapedSplit(line.strip())
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return [cell.strip() for cell in cells]


@given(st.lists(CELL, max_size=6), st.booleans(), st.booleans())
def test_a_row_splits_into_the_same_cells_as_markdown_it(cells: list[str], lead: bool,
                                                         trail: bool) -> None:
    line = ("| " if lead else "") + " | ".join(cells) + (" |" if trail else "")
    assert split_row(line) == markdown_it_cells(line)


@settings(max_examples=60)
@given(st.integers(1, 4), st.lists(st.lists(st.sampled_from(["x", "y z", "`q`", "\\|"]),
                                            min_size=1, max_size=6), max_size=5))
def test_tables_and_their_rows_are_found_where_markdown_it_finds_them(
        width: int, rows: list[list[str]]) -> None:
    header = "| " + " | ".join(f"h{i}" for i in range(width)) + " |"
    lines = ["# Title", "", header, "|" + "---|" * width,
             *("| " + " | ".join(row) + " |" for row in rows), "", "after"]
    body = "\n".join(lines)
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    rows_seen = [t for t in tokens if t.type == "tr_open"]
    [table] = scan_tables(body, first_line=10)
    assert table.line == 12 and table.heading == "Title"
    assert len(table.rows) + 1 == len(rows_seen)
    assert [r.line for r in table.rows] == [(t.map or [0])[0] + 10 for t in rows_seen[1:]]
    assert [len(r.cells) for r in table.rows] == [len(split_row(line)) for line in lines[4:-2]]


def test_tables_in_code_fences_and_html_comments_are_not_tables() -> None:
    body = ("```md\n| a | b |\n|---|---|\n```\n<!--\n| c | d |\n|---|---|\n-->\n"
            "> | e | f |\n> |---|---|\n> | 1 | 2 |\n")
    [table] = scan_tables(body)
    assert table.header.cells == ["e", "f"] and table.rows[0].cells == ["1", "2"]


def test_a_header_and_delimiter_of_different_widths_is_no_table() -> None:
    assert scan_tables("| a | b |\n|---|\n| 1 | 2 |\n") == []
