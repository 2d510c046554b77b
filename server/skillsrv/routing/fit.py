"""Fitting the reranker's weights on eval files, and measuring how well they generalise.

The model is linear in the features of `rerank`, with a softmax over each query's head
(listwise cross-entropy) and an L2 penalty on standardised weights. A few features and a few
thousand queries make it a small convex problem: Newton's method, on numpy arrays, solves it
in a few iterations. Leave-one-file-out cross-validation fits on all eval files but one and
scores the one left out; since each file was written by a different author, that is the
closest estimate of accuracy on questions nobody has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
    # Heads as one cases x longest-head x features array; `real` marks the rows that exist.
    longest = max(len(rows) for rows, _ in usable)
    features = np.zeros((len(usable), longest, width))
    real = np.zeros((len(usable), longest), dtype=bool)
    for number, (rows, _) in enumerate(usable):
        features[number, :len(rows)] = rows
        real[number, :len(rows)] = True
    target = np.array([position for _, position in usable])
    flat = features[real]
    mean = flat.mean(axis=0)
    spread = flat.std(axis=0)
    spread[spread == 0] = 1.0
    data = _Heads(np.where(real[..., None], (features - mean) / spread, 0.0), real, target, l2)
    weights = np.zeros(width)
    loss = data.loss(weights)
    for _ in range(iterations):
        gradient, hessian = data.derivatives(weights)
        step = np.linalg.solve(hessian, gradient)  # positive definite thanks to the L2 term
        scale = 1.0
        while True:  # damped Newton: halve the step until the loss goes down
            trial = weights - scale * step
            trial_loss = data.loss(trial)
            if trial_loss <= loss or scale < 1e-4:
                break
            scale /= 2
        weights, improvement, loss = trial, loss - trial_loss, trial_loss
        if improvement < 1e-10:
            break
    return {name: float(weights[f] / spread[f]) for f, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class _Heads:
    """Standardised heads (cases x rows x features, padding rows zero), which rows are real,
    each case's right row, and the L2 factor: the listwise loss and its derivatives."""

    features: Any
    real: Any
    target: Any
    l2: float

    def probabilities(self, weights: Any) -> Any:
        logits = np.where(self.real, self.features @ weights, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        exps = np.exp(logits)
        return exps / exps.sum(axis=1, keepdims=True)

    def loss(self, weights: Any) -> float:
        right = self.probabilities(weights)[np.arange(len(self.target)), self.target]
        return float(-np.log(np.maximum(right, 1e-300)).mean() + self.l2 * weights @ weights)

    def derivatives(self, weights: Any) -> tuple[Any, Any]:
        probabilities = self.probabilities(weights)
        expected = np.einsum("nh,nhf->nf", probabilities, self.features)
        right = self.features[np.arange(len(self.target)), self.target]
        gradient = 2 * self.l2 * weights + (expected - right).mean(axis=0)
        centred = self.features - expected[:, None, :]
        hessian = np.einsum("nh,nhi,nhj->ij", probabilities, centred, centred,
                            optimize=True) / len(self.target)
        return gradient, hessian + 2 * self.l2 * np.eye(len(weights))


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
