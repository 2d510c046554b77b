"""Fitting the reranker's weights on eval files, and measuring how well they generalise.

The model is linear in the features of `rerank`, with a softmax over each query's head
(listwise cross-entropy) and an L2 penalty on standardised weights. Nine features and a few
hundred queries make it a small convex problem: Newton's method solves it in a few iterations
without numerical libraries. Leave-one-file-out cross-validation fits on all eval files but one
and scores the one left out; since each file was written by a different author, that is the
closest estimate of accuracy on questions nobody has seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skillsrv.routing.evals import EvalFile, expect_matches, route_label
from skillsrv.routing.rerank import FEATURES
from skillsrv.routing.router import Router

L2 = 0.03


@dataclass(frozen=True)
class Example:
    file: str
    rows: list[list[float]]  # one feature row per head candidate, in lexical order
    target: int | None  # the position of the right answer in the head, None if absent


def collect(router: Router, evals: EvalFile) -> list[Example]:
    """The head of every case that expects a document (clarify cases have no right row)."""
    examples = []
    for case in evals.cases:
        if case.expect == "clarify":
            continue
        head, rows = router.head(case.query, hide_examples_from=evals.origin)
        target = next((position for position, entry in enumerate(head)
                       if expect_matches(router, case.expect, _label(router, entry.index))), None)
        examples.append(Example(evals.path, rows, target))
    return examples


def _label(router: Router, index: int) -> str:
    candidate = router.index.candidates[index]
    if candidate.redirect is not None:
        return f"redirect:{candidate.redirect}"
    return route_label(candidate.pack, candidate.skill, candidate.sheet)


def fit(examples: list[Example], l2: float = L2, iterations: int = 50) -> dict[str, float]:
    """Weights (for the raw features) that minimise the mean cross-entropy of the right
    answer plus `l2` times the squared norm of the standardised weights."""
    usable = [(ex.rows, ex.target) for ex in examples if ex.target is not None and ex.rows]
    width = len(FEATURES)
    if not usable:
        return dict.fromkeys(FEATURES, 0.0)
    flat = [row for rows, _ in usable for row in rows]
    mean = [sum(row[f] for row in flat) / len(flat) for f in range(width)]
    spread = [math.sqrt(sum((row[f] - mean[f]) ** 2 for row in flat) / len(flat)) or 1.0
              for f in range(width)]
    data = [([[(row[f] - mean[f]) / spread[f] for f in range(width)] for row in rows], target)
            for rows, target in usable]
    weights = [0.0] * width
    loss = _loss(data, weights, l2)
    for _ in range(iterations):
        gradient, hessian = _derivatives(data, weights, l2)
        step = _solve(hessian, gradient)
        scale = 1.0
        while True:  # damped Newton: halve the step until the loss goes down
            trial = [w - scale * s for w, s in zip(weights, step, strict=True)]
            trial_loss = _loss(data, trial, l2)
            if trial_loss <= loss or scale < 1e-4:
                break
            scale /= 2
        weights, improvement, loss = trial, loss - trial_loss, trial_loss
        if improvement < 1e-10:
            break
    return {name: weights[f] / spread[f] for f, name in enumerate(FEATURES)}


def _softmax(rows: list[list[float]], weights: list[float]) -> list[float]:
    logits = [sum(w * x for w, x in zip(weights, row, strict=True)) for row in rows]
    peak = max(logits)
    exps = [math.exp(logit - peak) for logit in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _loss(data: list[tuple[list[list[float]], int]], weights: list[float], l2: float) -> float:
    total = 0.0
    for rows, target in data:
        total -= math.log(max(_softmax(rows, weights)[target], 1e-300))
    return total / len(data) + l2 * sum(w * w for w in weights)


def _derivatives(data: list[tuple[list[list[float]], int]], weights: list[float],
                 l2: float) -> tuple[list[float], list[list[float]]]:
    width = len(weights)
    gradient = [2 * l2 * w for w in weights]
    hessian = [[2 * l2 if i == j else 0.0 for j in range(width)] for i in range(width)]
    share = 1 / len(data)
    for rows, target in data:
        probabilities = _softmax(rows, weights)
        expected = [sum(p * row[f] for p, row in zip(probabilities, rows, strict=True))
                    for f in range(width)]
        for f in range(width):
            gradient[f] += share * (expected[f] - rows[target][f])
        for p, row in zip(probabilities, rows, strict=True):
            if p < 1e-12:
                continue
            centred = [x - e for x, e in zip(row, expected, strict=True)]
            for i in range(width):
                factor = share * p * centred[i]
                if factor:
                    hessian_row = hessian[i]
                    for j in range(width):
                        hessian_row[j] += factor * centred[j]
    return gradient, hessian


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the Hessian is small and positive definite
    thanks to the L2 term)."""
    size = len(vector)
    rows = [[*matrix[i], vector[i]] for i in range(size)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        lead = rows[column][column] or 1e-12
        for r in range(column + 1, size):
            factor = rows[r][column] / lead
            if factor:
                for c in range(column, size + 1):
                    rows[r][c] -= factor * rows[column][c]
    solution = [0.0] * size
    for r in range(size - 1, -1, -1):
        known = sum(rows[r][c] * solution[c] for c in range(r + 1, size))
        solution[r] = (rows[r][size] - known) / (rows[r][r] or 1e-12)
    return solution


def accuracy(examples: list[Example], weights: dict[str, float]) -> float:
    """Share of the examples whose right answer the weights put first (absent ones count as
    wrong)."""
    if not examples:
        return 0.0
    vector = [weights[name] for name in FEATURES]
    right = 0
    for example in examples:
        if example.target is None or not example.rows:
            continue
        logits = [sum(w * x for w, x in zip(vector, row, strict=True)) for row in example.rows]
        best = max(range(len(logits)), key=lambda i: (logits[i], -i))
        right += best == example.target
    return right / len(examples)


def cross_validate(examples: list[Example], l2: float = L2) -> dict[str, float]:
    """Leave-one-file-out accuracy for each file."""
    files = sorted({example.file for example in examples})
    result = {}
    for held_out in files:
        weights = fit([e for e in examples if e.file != held_out], l2)
        result[held_out] = accuracy([e for e in examples if e.file == held_out], weights)
    return result


def report(examples: list[Example], l2: float = L2) -> tuple[dict[str, float], list[str]]:
    """Weights fitted on all the examples, and lines saying how well weights fitted without
    each file did on it, ending with the weights as a Python literal for `rerank.WEIGHTS`."""
    found = sum(example.target is not None for example in examples)
    lines = [f"reranker: {len(examples)} cases, right answer in the head for {found}"]
    held_out = cross_validate(examples, l2)
    lines += [f"  left out {path}: top-1 {value:.1%} (fitted on the other files)"
              for path, value in held_out.items()]
    if held_out:
        lines.append(f"  mean {sum(held_out.values()) / len(held_out):.1%}")
    weights = fit(examples, l2)
    lines.append("  weights (fitted on all files): WEIGHTS = {" + ", ".join(
        f'"{name}": {weights[name]:.4g}' for name in FEATURES) + "}")
    return weights, lines
