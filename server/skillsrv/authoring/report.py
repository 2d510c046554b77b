"""Rendering lint results: text for people, JSON for machines, progress on a terminal.

Text lists every problem as `file:line: severity code message`, files in order with a blank
line between them, then a summary with counts per code. Colour is used only when the stream
is a terminal and NO_COLOR is unset; progress goes to stderr, and only when it is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from itertools import groupby
from typing import IO, Any

from skillsrv.authoring.lint import LintResult
from skillsrv.diagnostics import Diagnostic, Severity

COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def use_colour(stream: IO[str]) -> bool:
    return not os.environ.get("NO_COLOR") and bool(getattr(stream, "isatty", lambda: False)())


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_diagnostic(diagnostic: Diagnostic, colour: bool = False) -> str:
    where = f"{diagnostic.path}:{diagnostic.line}" if diagnostic.line else diagnostic.path
    severity = _paint(diagnostic.severity.value, COLOURS[diagnostic.severity], colour)
    return f"{_paint(where, '1', colour)}: {severity} {diagnostic.code} {diagnostic.message}"


def summary_line(result: LintResult) -> str:
    return (f"{_plural(len(result.packs), 'pack')}, {_plural(result.files, 'file')}: "
            f"{_plural(result.errors, 'error')}, {_plural(result.warnings, 'warning')}, "
            f"{_plural(result.infos, 'info')} ({result.seconds:.1f} s)")


def render_text(result: LintResult, colour: bool = False) -> str:
    lines: list[str] = []
    for _path, group in groupby(result.diagnostics, key=lambda d: d.path):
        if lines:
            lines.append("")
        lines.extend(format_diagnostic(d, colour) for d in group)
    if lines:
        lines.append("")
    summary = summary_line(result)
    if result.errors:
        summary = _paint(summary, "1;31", colour)
    elif not result.warnings:
        summary = _paint(summary, "32", colour)
    lines.append(summary)
    codes = result.by_code()
    if codes:
        lines.append("  " + ", ".join(f"{code} {count}" for code, count in codes.items()))
    return "\n".join(lines)


def render_json(result: LintResult, strict: bool = False) -> dict[str, Any]:
    return {
        "path": result.path,
        "ok": result.exit_code(strict) == 0,
        "strict": strict,
        "packs": result.packs,
        "summary": {"packs": len(result.packs), "files": result.files, "errors": result.errors,
                    "warnings": result.warnings, "infos": result.infos,
                    "by_code": result.by_code(), "seconds": round(result.seconds, 3)},
        "diagnostics": [d.model_dump(mode="json") for d in result.diagnostics],
    }


def progress_printer(stream: IO[str] | None = None) -> Callable[[str], None] | None:
    """A progress callback that rewrites one stderr line, or None when stderr is not a TTY."""
    out = stream or sys.stderr
    if not getattr(out, "isatty", lambda: False)():
        return None

    def show(message: str) -> None:
        out.write(f"\r\033[K{message}…")
        out.flush()

    return show


def clear_progress(stream: IO[str] | None = None) -> None:
    out = stream or sys.stderr
    if getattr(out, "isatty", lambda: False)():
        out.write("\r\033[K")
        out.flush()
