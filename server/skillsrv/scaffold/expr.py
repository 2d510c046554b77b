"""Small, safe expressions over config values: constraints and documented output shapes.

Blueprints are pack content, so their checks are never executed as Python. A constraint such as
`n_embd % n_head == 0` or an output such as `(B, block_size, vocab_size)` is parsed with `ast` and
evaluated by walking a whitelist of nodes: names, numbers, strings, arithmetic, comparisons,
`and`/`or`/`not`, `x if c else y` and tuple literals. No calls, attributes or subscripts.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

_MAX_EXPONENT = 64
_MAX_TEXT = 500

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.UAdd, ast.BinOp, ast.Compare, ast.IfExp, ast.Name, ast.Load, ast.Constant,
            ast.Tuple, ast.List, *_BINARY, *_COMPARE)


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated; the message says why."""


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> ast.expr:
    """Parse `text` as a whitelisted expression, or raise ExprError."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("expected a non-empty expression string")
    if len(text) > _MAX_TEXT:
        raise ExprError(f"expression longer than {_MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"not a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"'{type(node).__name__}' is not allowed; use names, numbers, "
                            "strings, arithmetic, comparisons, and/or/not")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str):
            raise ExprError(f"constant {node.value!r} is not allowed")
    return tree.body


def names(tree: ast.expr) -> list[str]:
    """The variable names an expression reads, in order of first use."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in found:
            found.append(node.id)
    return found


def evaluate(tree: ast.expr, env: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression with the values in `env`, or raise ExprError."""
    if isinstance(tree, ast.Constant):
        return tree.value
    if isinstance(tree, ast.Name):
        if tree.id not in env:
            raise ExprError(f"unknown name '{tree.id}'")
        return env[tree.id]
    if isinstance(tree, ast.Tuple | ast.List):
        return tuple(evaluate(item, env) for item in tree.elts)
    if isinstance(tree, ast.BoolOp):
        is_and = isinstance(tree.op, ast.And)
        result: Any = is_and
        for value in tree.values:
            result = evaluate(value, env)
            if bool(result) != is_and:
                return result
        return result
    if isinstance(tree, ast.UnaryOp):
        operand = evaluate(tree.operand, env)
        if isinstance(tree.op, ast.Not):
            return not operand
        return -operand if isinstance(tree.op, ast.USub) else +operand
    if isinstance(tree, ast.IfExp):
        return evaluate(tree.body if evaluate(tree.test, env) else tree.orelse, env)
    if isinstance(tree, ast.BinOp):
        left, right = evaluate(tree.left, env), evaluate(tree.right, env)
        if isinstance(tree.op, ast.Pow) and (not isinstance(right, int)
                                             or not 0 <= right <= _MAX_EXPONENT):
            raise ExprError(f"exponent must be an integer from 0 to {_MAX_EXPONENT}")
        if isinstance(left, str | tuple) or isinstance(right, str | tuple):
            raise ExprError("arithmetic works on numbers only")
        try:
            return _BINARY[type(tree.op)](left, right)
        except (ArithmeticError, TypeError) as exc:
            raise ExprError(str(exc)) from None
    if isinstance(tree, ast.Compare):
        left = evaluate(tree.left, env)
        for op, comparator in zip(tree.ops, tree.comparators, strict=True):
            right = evaluate(comparator, env)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExprError(str(exc)) from None
            left = right
        return True
    raise ExprError(f"'{type(tree).__name__}' is not allowed")


def parse_shapes(text: str) -> list[list[ast.expr]]:
    """Parse a documented output: `(B, K)` is one tensor, `(B, C, H, W), (B, Z)` several."""
    tree = parse(text)
    if not isinstance(tree, ast.Tuple):
        raise ExprError("write shapes as parenthesised tuples such as (B, num_classes)")
    if tree.elts and all(isinstance(item, ast.Tuple) for item in tree.elts):
        return [list(item.elts) for item in tree.elts if isinstance(item, ast.Tuple)]
    return [list(tree.elts)]


def evaluate_shapes(shapes: list[list[ast.expr]], env: Mapping[str, Any]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for shape in shapes:
        dims = []
        for dim in shape:
            value = evaluate(dim, env)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExprError(f"dimension {ast.unparse(dim)} is {value!r}, not an integer")
            dims.append(value)
        out.append(tuple(dims))
    return out
