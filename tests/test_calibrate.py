"""Threshold calibration: the best top-1 over the eval files, but not bought with the vague
questions that must be sent back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from skillsrv.routing import Thresholds, evals
from skillsrv.routing.evals import EvalCase, EvalFile, EvalReport


def _report(top1: float, recall: float) -> EvalReport:
    return EvalReport(cases=10, top1=top1, top3=top1, abstention_precision=1.0,
                      abstention_recall=recall, redirect_accuracy=None, threshold_top1=0.0,
                      passed=True, confusion={}, misrouted=[])


def _file() -> EvalFile:
    cases = [EvalCase(query=f"q{n}", expect="pack/skill/sheet.md") for n in range(8)]
    return EvalFile(path="evals.yaml", cases=[*cases, EvalCase(query="hmm?", expect="clarify"),
                                               EvalCase(query="help", expect="clarify")])


def test_calibration_keeps_asking_on_vague_questions_instead_of_trading_them_for_top1(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A weaker min_score routes more answerable questions, and half the vague ones too.
    def fake_run(router: Any, _: EvalFile) -> EvalReport:
        weak = router.thresholds.min_score < 4.0
        return _report(0.95, 0.5) if weak else _report(0.9, 1.0)

    monkeypatch.setattr(evals, "run_evals", fake_run)
    router = SimpleNamespace(thresholds=Thresholds(min_score=6.0))
    chosen, top1 = evals.calibrate([(router, [_file()])])  # type: ignore[list-item]
    assert chosen.min_score >= 4.0 and top1 == 0.9
    assert router.thresholds == Thresholds(min_score=6.0)  # the router is left as it was


def test_above_the_recall_floor_calibration_takes_the_best_top1(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(router: Any, _: EvalFile) -> EvalReport:
        weak = router.thresholds.min_score < 4.0
        return _report(0.95, 0.9) if weak else _report(0.9, 1.0)

    monkeypatch.setattr(evals, "run_evals", fake_run)
    router = SimpleNamespace(thresholds=Thresholds(min_score=6.0))
    chosen, top1 = evals.calibrate([(router, [_file()])])  # type: ignore[list-item]
    assert chosen.min_score < 4.0 and top1 == 0.95
