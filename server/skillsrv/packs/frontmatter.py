"""YAML frontmatter, parsed the way clients are expected to: strictly first, then leniently.

Real packs write values such as `description: Use when X: do Y` that strict YAML rejects
("mapping values are not allowed here"). The repair pass quotes top-level plain scalars that
contain `: ` or ` #` and tries again; the caller gets a warning saying the file needs quoting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from skillsrv import yamlio
from skillsrv.diagnostics import Diagnostic, warning

_TOP_LEVEL_SCALAR = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)\s*:\s+(?P<value>\S.*?)\s*$")
_QUOTED_OR_FLOW = ('"', "'", "[", "{", "|", ">", "&", "*", "!")


@dataclass
class Frontmatter:
    """The frontmatter block of a markdown file, and where the body starts."""

    data: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    present: bool = False
    lenient: bool = False  # loaded only after the repair pass
    body: str = ""
    body_line: int = 1  # 1-based line of the body's first line in the file
    key_lines: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def split_frontmatter(text: str) -> tuple[str | None, str, int]:
    """Return (frontmatter text or None, body, 1-based line where the body starts)."""
    if not text.startswith("---"):
        return None, text, 1
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None, text, 1
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    return None, text, 1


def _key_lines(raw: str) -> dict[str, int]:
    """Line (in the file) of each top-level key; the frontmatter starts on line 2."""
    found: dict[str, int] = {}
    for offset, line in enumerate(raw.split("\n")):
        match = re.match(r"^([A-Za-z_][\w.-]*)\s*:", line)
        if match and match.group(1) not in found:
            found[match.group(1)] = offset + 2
    return found


def repair(raw: str) -> str:
    """Quote top-level plain scalars that strict YAML would misread."""
    out = []
    for line in raw.split("\n"):
        match = _TOP_LEVEL_SCALAR.match(line)
        if match:
            value = match.group("value")
            needs_quotes = ": " in value or " #" in value or value.endswith(":")
            if needs_quotes and not value.startswith(_QUOTED_OR_FLOW):
                escaped = value.replace("\\", "\\\\").replace('"', '\\"')
                line = f'{match.group("key")}: "{escaped}"'
        out.append(line)
    return "\n".join(out)


def _yaml_error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 2 if mark is not None else None


def parse_frontmatter(text: str, path: str) -> Frontmatter:
    """Parse a file's frontmatter. Never raises: problems become diagnostics."""
    raw, body, body_line = split_frontmatter(text)
    result = Frontmatter(body=body, body_line=body_line)
    if raw is None:
        if text.startswith("---\n") or text.startswith("---\r\n"):
            result.diagnostics.append(
                warning(path, 1, "frontmatter-unclosed",
                        "frontmatter opens with '---' but never closes; add a closing '---' "
                        "line after the YAML")
            )
        return result
    result.present = True
    result.raw = raw
    result.key_lines = _key_lines(raw)
    try:
        data = yamlio.safe_load(raw)
    except yaml.YAMLError as strict_error:
        try:
            data = yamlio.safe_load(repair(raw))
        except yaml.YAMLError:
            result.diagnostics.append(
                warning(path, _yaml_error_line(strict_error), "frontmatter-invalid",
                        f"frontmatter is not valid YAML ({_short(strict_error)}); fix the YAML "
                        "so name and description can be read")
            )
            return result
        result.lenient = True
        result.diagnostics.append(
            warning(path, _yaml_error_line(strict_error), "frontmatter-lenient",
                    "frontmatter loads only after quoting values that contain ': '; "
                    "wrap those values in double quotes")
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        result.diagnostics.append(
            warning(path, 2, "frontmatter-not-mapping",
                    "frontmatter must be a YAML mapping of keys to values (name: ..., "
                    "description: ...)")
        )
        return result
    result.data = {str(key): value for key, value in data.items()}
    return result


def _short(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem) if problem else str(exc).split("\n")[0]
