"""Turning `--set key=value` strings into a checked configuration for one blueprint.

Values are parsed by the parameter's declared type, checked against its choices and range, and
the blueprint's frontmatter constraints are evaluated safely (see `expr`). Every problem is a
`UsageError` that names the parameter and says which values would work.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from skillsrv.errors import UsageError
from skillsrv.scaffold import expr
from skillsrv.scaffold.blueprint import (
    Blueprint,
    Parameter,
    Value,
    check_constraints,
    value_problem,
)

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_MAX_SUGGESTIONS = 12
_SEARCH_LIMIT = 4096


def parse_value(key: str, spec: Parameter, raw: str) -> Value:
    """Parse the text of one override by the parameter's type."""
    text = raw.strip()
    try:
        if spec.type == "int":
            return int(text.replace("_", ""))
        if spec.type == "float":
            return float(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"{key}={raw!r}: {key} takes an {spec.type}" if spec.type == "int"
                         else f"{key}={raw!r}: {key} takes a number",
                         hint=_allowed(spec)) from None
    if spec.type == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise UsageError(f"{key}={raw!r}: {key} takes true or false")
    return text


def _allowed(spec: Parameter) -> str:
    if spec.choices is not None:
        return "allowed: " + ", ".join(map(str, spec.choices))
    bounds = []
    if spec.min is not None:
        bounds.append(f">= {_fmt(spec.min)}")
    if spec.max is not None:
        bounds.append(f"<= {_fmt(spec.max)}")
    if not bounds:
        return f"allowed: any {spec.type}"
    return f"allowed: {spec.type} " + " and ".join(bounds)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_value(key: str, spec: Parameter, value: Any) -> Value:
    """Validate one typed value (ints are accepted for floats)."""
    if spec.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    problem = value_problem(spec, value)
    if problem:
        hint = _allowed(spec)
        if spec.choices is not None and isinstance(value, str):
            near = difflib.get_close_matches(value, [str(c) for c in spec.choices], n=3)
            if near:
                hint += f"; did you mean {', '.join(near)}?"
        elif spec.choices is not None and isinstance(value, int | float):
            numeric = [c for c in spec.choices if isinstance(c, int | float)]
            if numeric:
                closest = min(numeric, key=lambda c: abs(c - value))
                hint += f"; nearest: {closest}"
        raise UsageError(f"{key}={value!r}: {key} {problem}", hint=hint)
    return value


def unknown_key(blueprint: Blueprint, key: str) -> UsageError:
    near = difflib.get_close_matches(key, list(blueprint.parameters), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    hint += "parameters: " + ", ".join(blueprint.parameters)
    return UsageError(f"unknown parameter '{key}' for blueprint {blueprint.name}", hint=hint)


def _working_values(blueprint: Blueprint, key: str, values: dict[str, Value]) -> list[Value]:
    """Values of `key` that satisfy every constraint with the other values held fixed."""
    spec = blueprint.parameters[key]
    if spec.choices is not None:
        candidates: list[Any] = list(spec.choices)
    elif spec.type == "bool":
        candidates = [False, True]
    elif spec.type == "int":
        low = int(spec.min) if spec.min is not None else 1
        high = int(spec.max) if spec.max is not None else low + _SEARCH_LIMIT
        candidates = list(range(max(low, 0), min(high, low + _SEARCH_LIMIT) + 1))
    else:
        return []
    found = []
    for candidate in candidates:
        trial = {**values, key: candidate}
        if not blueprint_constraint_failures(blueprint, trial):
            found.append(candidate)
            if len(found) >= _MAX_SUGGESTIONS:
                break
    return found


def blueprint_constraint_failures(blueprint: Blueprint,
                                  values: Mapping[str, Value]) -> list[str]:
    """Texts of the blueprint constraints that `values` violate."""
    return [text for _index, text in check_constraints(blueprint, dict(values))]


def resolve(blueprint: Blueprint, alias_params: Mapping[str, Value] | None = None,
            overrides: Mapping[str, str] | None = None,
            typed: Mapping[str, Any] | None = None) -> dict[str, Value]:
    """Defaults, then alias params, then typed values (from sizing), then string overrides."""
    values: dict[str, Value] = blueprint.defaults()
    changed: list[str] = []
    sources: tuple[Mapping[str, Any], ...] = (alias_params or {}, typed or {}, overrides or {})
    for index, source in enumerate(sources):
        for key, raw in source.items():
            spec = blueprint.parameters.get(key)
            if spec is None:
                raise unknown_key(blueprint, key)
            value = parse_value(key, spec, str(raw)) if index == 2 else raw
            values[key] = check_value(key, spec, value)
            if key not in changed:
                changed.append(key)
    failures = blueprint_constraint_failures(blueprint, values)
    if failures:
        text = failures[0]
        involved = expr.names(expr.parse(text))
        # blame a parameter the user changed, preferring the last one named in the constraint
        blamed = next((k for k in reversed(involved) if k in changed), involved[-1])
        current = ", ".join(f"{k}={values[k]!r}" for k in involved)
        working = _working_values(blueprint, blamed, values)
        hint = (f"with the other values as they are, {blamed} could be "
                + ", ".join(map(str, working))) if working else (
                    f"change {' or '.join(involved)}")
        raise UsageError(f"{blamed}={values[blamed]!r} is not allowed: constraint "
                         f"'{text}' fails with {current}", hint=hint)
    return values
