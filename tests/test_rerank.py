"""Reranking the head of the lexical ranking: the features it reads, the model fitted on evals,
and the command that fits it."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_tree
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing import fit as fitting
from skillsrv.routing.evals import load_evals
from skillsrv.routing.rerank import FEATURES, question_part

ROUTER = """---
name: using-perf
description: "Use when Python code is slow or uses too much memory"
---
# Performance router

- [profiling.md](profiling.md): finding where time and memory go
- [tuning.md](tuning.md): making hot code faster
"""

PROFILING = """# Profiling

## Finding memory leaks

Take heap snapshots while the process runs and compare them: whatever keeps growing between
snapshots is the leak.

## CPU time

cProfile and py-spy show which functions take the time.
"""

# The same words, scattered over sections that are each about something else.
TUNING = """# Tuning

## Vectorise

Replace Python loops with array operations; the process runs faster.

## Caching

Memoise pure functions; watch memory while the cache keeps growing.

## Heaps and queues

heapq gives a priority queue; snapshots of queue sizes help capacity planning.

## Leaks of abstraction

Know what your library does underneath.
"""

FILES = {"using-perf/SKILL.md": ROUTER, "using-perf/profiling.md": PROFILING,
         "using-perf/tuning.md": TUNING}


@pytest.fixture
def router(tmp_path: Path) -> Router:
    return Router(load_source(write_tree(tmp_path / "perf", FILES)))


def _row(router: Router, query: str, sheet: str) -> dict[str, float]:
    head, rows = router.head(query)
    for entry, row in zip(head, rows, strict=True):
        if router.index.candidates[entry.index].sheet == sheet:
            return dict(zip(FEATURES, row, strict=True))
    raise AssertionError(f"{sheet} is not in the head")


def test_a_section_that_holds_the_whole_question_outscores_the_same_words_scattered(
        router: Router) -> None:
    query = "memory keeps growing while the process runs: how do I find the leak in heap snapshots"
    assert _row(router, query, "profiling.md")["section"] == 1.0
    assert _row(router, query, "tuning.md")["section"] < 0.7


def test_the_question_part_is_the_last_sentence_that_asks() -> None:
    text = "We run a nightly job. It got slow last week? Not sure. Where does the time go? Thanks."
    assert question_part(text) == " Where does the time go?"
    # Without a question mark the whole message is the ask: its last sentence is often a detail.
    text = "60-layer plain conv stack, loss barely moves. lr sweeps haven't helped"
    assert question_part(text) == text
    assert question_part("one line") == "one line"


def test_routes_carry_probabilities_best_first(router: Router) -> None:
    decision = router.route("how do I find a memory leak with heap snapshots in my process")
    assert decision.routes[0].sheet == "profiling.md"
    confidences = [route.confidence for route in decision.routes]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0 + 1e-6


def _example(file: str, rows: list[list[float]], target: int) -> fitting.Example:
    return fitting.Example(file, rows, target)


def test_fitting_finds_the_feature_that_marks_the_right_answer() -> None:
    width = len(FEATURES)
    marker = FEATURES.index("section")
    examples = []
    for n in range(40):
        rows = [[(n * 7 + i * 3) % 5 / 5 for _ in range(width)] for i in range(6)]
        target = n % 6
        for i, row in enumerate(rows):
            row[marker] = 1.0 if i == target else 0.2
        examples.append(_example(f"file-{n % 4}", rows, target))
    weights = fitting.fit(examples)
    assert max(weights, key=lambda name: abs(weights[name])) == "section"
    assert weights["section"] > 0
    assert fitting.accuracy(examples, weights) == 1.0
    held_out = fitting.cross_validate(examples)
    assert sorted(held_out) == ["file-0", "file-1", "file-2", "file-3"]
    assert all(accuracy == 1.0 for accuracy in held_out.values())


def _objective(examples: list[fitting.Example], weights: dict[str, float]) -> float:
    """The fit's objective, written out plainly: mean cross-entropy of the right row plus L2
    on the weights scaled by each feature's spread over all rows."""
    rows = [row for example in examples for row in example.rows]
    total = 0.0
    for example in examples:
        assert example.target is not None
        logits = [sum(weights[name] * row[f] for f, name in enumerate(FEATURES))
                  for row in example.rows]
        peak = max(logits)
        total += peak + math.log(sum(math.exp(v - peak) for v in logits)) - \
            logits[example.target]
    penalty = 0.0
    for f, name in enumerate(FEATURES):
        mean = sum(row[f] for row in rows) / len(rows)
        spread = math.sqrt(sum((row[f] - mean) ** 2 for row in rows) / len(rows)) or 1.0
        penalty += (weights[name] * spread) ** 2
    return total / len(examples) + fitting.L2 * penalty


def test_the_fitted_weights_minimise_the_objective() -> None:
    """Heads of uneven length with noisy features: no step along any weight lowers the
    objective."""
    examples = []
    for n in range(60):
        size = 3 + n % 5
        rows = [[math.sin(n * 1.7 + i * 2.3 + f * 0.9) for f in range(len(FEATURES))]
                for i in range(size)]
        examples.append(_example(f"file-{n % 3}", rows, (n * 5) % size))
    weights = fitting.fit(examples)
    best = _objective(examples, weights)
    for name in FEATURES:
        for step in (-1e-3, 1e-3):
            assert _objective(examples, {**weights, name: weights[name] + step}) >= best - 1e-12


def test_a_case_whose_answer_is_not_in_the_head_counts_as_wrong_and_is_not_fitted() -> None:
    rows = [[1.0] * len(FEATURES), [0.0] * len(FEATURES)]
    examples = [_example("a", rows, 0), fitting.Example("a", rows, None)]
    assert fitting.accuracy(examples, fitting.fit(examples)) == 0.5


def test_eval_fit_prints_held_out_accuracy_and_weights_and_reports_with_them(
        tmp_path: Path) -> None:
    source = write_tree(tmp_path / "perf", FILES)
    for name, query in (("a", "memory leak heap snapshots"), ("b", "make hot loops faster")):
        (tmp_path / f"{name}.yaml").write_text(
            f'cases:\n  - query: "{query}"\n    expect: '
            f'{"profiling.md" if name == "a" else "tuning.md"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "skillsrv", "eval", "--only", "--pack-path", str(source),
         "--fit", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "reranker: 2 cases" in result.stdout
    assert result.stdout.count("left out") == 2
    assert "WEIGHTS = {" in result.stdout and '"section":' in result.stdout
    assert "a.yaml: 1 cases" in result.stdout


def test_collect_finds_the_expected_sheet_in_the_head(router: Router, tmp_path: Path) -> None:
    path = tmp_path / "evals.yaml"
    path.write_text('cases:\n  - query: "memory leak heap snapshots"\n'
                    '    expect: profiling.md\n  - query: "hmm"\n    expect: clarify\n')
    examples = fitting.collect(router, load_evals(path))
    assert len(examples) == 1  # clarify cases have no right answer to rank
    head, _ = router.head("memory leak heap snapshots")
    target = examples[0].target
    assert target is not None
    assert router.index.candidates[head[target].index].sheet == "profiling.md"
