"""Render a blueprint's module with a chosen configuration baked in.

The config dataclass defaults are rewritten in place (AST-located edits of the default
expressions, so nothing else in the file moves) and the module docstring gains a short
"Configuration" section. The handed-back file is self-contained: `build_model(Config())` builds
exactly the model that was chosen.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from skillsrv.scaffold.blueprint import Blueprint, Value, config_fields

MAX_LINE = 100


def literal(value: Value) -> str:
    """Python source for a config value."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _offsets(source: str) -> list[int]:
    """Character offset of the start of every line (1-based line numbers index it)."""
    starts = [0, 0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _docstring_lines(values: Mapping[str, Value], title: str | None) -> list[str]:
    lines = ["", title or "Configuration (skillsrv scaffold):"]
    current = "   "
    for key, value in values.items():
        item = f" {key}={literal(value)}"
        if len(current) + len(item) + 1 > MAX_LINE - 4 and current.strip():
            lines.append(current.rstrip(","))
            current = "   "
        current += item + ","
    lines.append(current.rstrip(","))
    return [line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') for line in lines]


def render(blueprint: Blueprint, values: Mapping[str, Value], *,
           title: str | None = None) -> str:
    """The blueprint's code with `values` as the config defaults and noted in the docstring."""
    source = blueprint.code
    tree = ast.parse(source)
    starts = _offsets(source)
    edits: list[tuple[int, int, str]] = []  # (start offset, end offset, replacement)
    fields = config_fields(tree, blueprint.config_class) or {}
    for key, node in fields.items():
        if key not in values or node.value is None:
            continue
        value = node.value
        if value.end_lineno is None or value.end_col_offset is None:
            continue
        start = starts[value.lineno] + _char_col(source, starts, value.lineno, value.col_offset)
        end = starts[value.end_lineno] + _char_col(source, starts, value.end_lineno,
                                                    value.end_col_offset)
        edits.append((start, end, literal(values[key])))
    docstring = tree.body[0] if tree.body else None
    if (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
            and isinstance(docstring.value.value, str) and docstring.end_lineno is not None
            and docstring.end_col_offset is not None):
        end = starts[docstring.end_lineno] + _char_col(source, starts, docstring.end_lineno,
                                                        docstring.end_col_offset)
        quotes = source[end - 3 : end]
        if quotes in ('"""', "'''"):
            body_end = end - 3
            stripped = source[:body_end].rstrip()
            own_line = source[len(stripped):body_end].count("\n") > 0
            added = "\n".join(_docstring_lines(values, title))
            replacement = "\n" + added + ("\n" if own_line else "")
            edits.append((len(stripped), body_end, replacement))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _char_col(source: str, starts: list[int], line: int, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; convert to a character offset within the line."""
    text = source[starts[line] : starts[line + 1] if line + 1 < len(starts) else None]
    return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
