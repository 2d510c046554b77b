"""manifest.yaml: which pack sources to load, which plugins run, and the limits that apply.

Validated with pydantic; an unknown key or a bad value is an error naming the key, its line
and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillsrv import yamlio
from skillsrv.errors import SkillsrvError
from skillsrv.paths import DEFAULT_MANIFEST


class ManifestError(SkillsrvError):
    """manifest.yaml is missing, not YAML, or has a bad key or value."""

    exit_code = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginSettings(_Strict):
    disabled: list[str] = Field(default_factory=list, description="plugin names not to load")


class Limits(_Strict):
    max_file_bytes: Annotated[int, Field(gt=0, le=64 * 1024 * 1024)] = 1024 * 1024
    max_query_chars: Annotated[int, Field(gt=0, le=1_000_000)] = 10_000


class VerificationSettings(_Strict):
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    memory_mb: Annotated[int, Field(ge=256)] = 8192
    cpu_time_s: Annotated[int, Field(gt=0)] = 600
    workers: Annotated[int, Field(ge=1, le=16)] = 1


class Manifest(_Strict):
    packs: list[str] = Field(default_factory=lambda: ["skills"],
                             description="pack sources, relative to manifest.yaml")
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    limits: Limits = Field(default_factory=Limits)
    verification: VerificationSettings = Field(default_factory=VerificationSettings)
    base_dir: Path = Field(default=Path("."), exclude=True)

    def pack_paths(self) -> list[Path]:
        return [(self.base_dir / os.path.expanduser(p)) for p in self.packs]


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the YAML node at `loc` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == key), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and validate a manifest; with no path, the project's manifest.yaml (or defaults)."""
    explicit = path is not None or "SKILLSRV_MANIFEST" in os.environ
    path = Path(path or os.environ.get("SKILLSRV_MANIFEST") or DEFAULT_MANIFEST)
    if not path.is_file():
        if explicit:
            raise ManifestError(f"{path}: manifest not found",
                                hint="pass an existing manifest.yaml or leave it out")
        return Manifest(base_dir=path.parent)
    text = path.read_text(encoding="utf-8")
    try:
        node = yamlio.compose(text)
        data: Any = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ManifestError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
                            hint="fix the YAML syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManifestError(f"{path}:1: the manifest must be a mapping of keys to values",
                            hint="start with 'packs:'")
    try:
        return Manifest.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            loc = tuple(item["loc"])
            key = ".".join(str(part) for part in loc)
            line = _line_of(node, loc)
            if item["type"] == "extra_forbidden":
                allowed = _allowed_keys(loc[:-1])
                problems.append(f"{path}:{line}: unknown key '{key}'; allowed here: {allowed}")
            else:
                problems.append(f"{path}:{line}: '{key}': {item['msg']} "
                                f"(got {item.get('input')!r})")
        raise ManifestError("\n".join(problems)) from None


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = Manifest
    for key in loc:
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return ", ".join(name for name in model.model_fields if name != "base_dir")
