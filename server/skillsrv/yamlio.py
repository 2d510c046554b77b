"""Safe YAML loading, with libyaml's C parser when PyYAML was built with it (several times
faster than the pure-Python one: blueprints and frontmatter are parsed on every start-up)."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)


def compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=SafeLoader)
