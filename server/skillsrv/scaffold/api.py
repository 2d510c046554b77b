"""The scaffold entry points: by blueprint or alias name, or from a described situation."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from skillsrv.errors import NotFoundError
from skillsrv.scaffold.blueprint import Blueprint, Value
from skillsrv.scaffold.choose import choose
from skillsrv.scaffold.render import literal, render
from skillsrv.scaffold.sizing import Situation, estimate_params
from skillsrv.scaffold.values import resolve


class ScaffoldResult(BaseModel):
    """What `skillsrv scaffold` hands back; `verification` is filled in by a verifier plugin."""

    blueprint: str
    config: dict[str, Value]
    code: str
    rationale: list[str] = Field(default_factory=list)
    verification: dict[str, Any] | None = None


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def find_blueprint(arch: str, blueprints: Sequence[Blueprint]) -> tuple[Blueprint, str | None]:
    """The blueprint named `arch`, or owning the alias `arch` (then also the alias)."""
    names: dict[str, tuple[Blueprint, str | None]] = {}
    for blueprint in blueprints:
        names[blueprint.name] = (blueprint, None)
        for alias in blueprint.aliases:
            names.setdefault(alias, (blueprint, alias))
    if arch in names:
        return names[arch]
    squashed = {_squash(name): found for name, found in names.items()}
    if _squash(arch) in squashed:
        return squashed[_squash(arch)]
    near = difflib.get_close_matches(arch.lower(), list(names), n=5, cutoff=0.5)
    hint = (f"did you mean {', '.join(near)}? " if near else "") + (
        "blueprints: " + ", ".join(sorted(b.name for b in blueprints)))
    raise NotFoundError(f"no blueprint or alias named {arch!r}", hint=hint)


def _cite(text: str, blueprint: Blueprint) -> str:
    return f"{text} (see {blueprint.sheet})"


def _settings(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={literal(value)}" for key, value in values.items())


def scaffold(arch: str, overrides: Mapping[str, str], blueprints: Sequence[Blueprint]
             ) -> ScaffoldResult:
    """Render blueprint or alias `arch` with `--set` style string overrides applied last."""
    blueprint, alias = find_blueprint(arch, blueprints)
    alias_spec = blueprint.aliases[alias] if alias else None
    values = resolve(blueprint, alias_spec.params if alias_spec else None, overrides)
    rationale = [_cite(f"{blueprint.name}: {blueprint.summary}", blueprint)]
    if alias_spec is not None:
        line = f"{alias} is blueprint {blueprint.name} with {_settings(alias_spec.params)}"
        if alias_spec.reference:
            line += f" ({alias_spec.reference})"
        if alias_spec.reference_params:
            line += f"; reference: {alias_spec.reference_params:,} parameters"
        rationale.append(_cite(line, blueprint))
        changed = [key for key in overrides
                   if values[key] != {**blueprint.defaults(), **alias_spec.params}[key]]
        if changed and alias_spec.reference_params:
            rationale.append(_cite(f"{', '.join(changed)} overridden: the model no longer "
                                   f"matches {alias} exactly", blueprint))
    if overrides:
        rationale.append(_cite(f"set by you: {_settings({k: values[k] for k in overrides})}",
                               blueprint))
    return _result(blueprint, values, rationale, alias or blueprint.name)


def scaffold_situation(situation: Situation, blueprints: Sequence[Blueprint],
                       overrides: Mapping[str, str] | None = None) -> ScaffoldResult:
    """Choose and size a blueprint for `situation`, then apply `--set` overrides."""
    choice = choose(situation, blueprints)
    blueprint, _alias = find_blueprint(choice.blueprint, blueprints)
    values = resolve(blueprint, None, overrides, typed=choice.values)
    rationale = list(choice.rationale)
    if overrides:
        rationale.append(_cite(f"set by you: {_settings({k: values[k] for k in overrides})}",
                               blueprint))
    return _result(blueprint, values, rationale, blueprint.name)


def _result(blueprint: Blueprint, values: dict[str, Value], rationale: list[str],
            label: str) -> ScaffoldResult:
    params = estimate_params(blueprint.name, values)
    title = f"Configuration chosen by skillsrv scaffold ({label}"
    title += f", {params:,} parameters):" if params is not None else "):"
    code = render(blueprint, values, title=title)
    return ScaffoldResult(blueprint=blueprint.name, config=values, code=code,
                          rationale=rationale)
