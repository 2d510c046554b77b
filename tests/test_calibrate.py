"""Threshold calibration: the best top-1 over the eval files, but not bought with the vague
questions that must be sent back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from conftest import BUNDLED
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


@pytest.mark.parametrize(("weak_recall", "weak_chosen"), [
    (0.5, False),  # a weaker min_score routes half the vague questions: not worth its top-1
    (0.9, True),  # it still sends back 90% of them: above the floor, the best top-1 wins
])
def test_calibration_takes_the_best_top1_only_while_vague_questions_are_still_sent_back(
        monkeypatch: pytest.MonkeyPatch, weak_recall: float, weak_chosen: bool) -> None:
    # A weaker min_score routes more answerable questions, and some vague ones too.
    def fake_run(router: Any, _: EvalFile) -> EvalReport:
        weak = router.thresholds.min_score < 4.0
        return _report(0.95, weak_recall) if weak else _report(0.9, 1.0)

    monkeypatch.setattr(evals, "run_evals", fake_run)
    router = SimpleNamespace(thresholds=Thresholds(min_score=6.0))
    chosen, top1 = evals.calibrate([(router, [_file()])])  # type: ignore[list-item]
    assert (chosen.min_score < 4.0) == weak_chosen and top1 == (0.95 if weak_chosen else 0.9)
    assert router.thresholds == Thresholds(min_score=6.0)  # the router is left as it was


def test_calibrating_in_forked_workers_chooses_what_calibrating_in_process_does(
        tmp_path: Path) -> None:
    """`skillsrv eval --calibrate` scores a threshold's values in forked workers; with one
    worker allowed it scores them here, one by one. Both choose the same thresholds."""
    cases = yaml.safe_load((BUNDLED / "neural-architectures" / "evals.yaml").read_text())["cases"]
    vague = [case for case in cases if case["expect"] == "clarify"]
    picked = [*cases[:14], *vague[:4]]
    assert len(vague) >= 4
    path = tmp_path / "evals.yaml"
    path.write_text(yaml.safe_dump({"cases": picked}))
    chosen = []
    for workers in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "skillsrv", "eval", "--only", "--pack-path", str(BUNDLED),
             "--calibrate", str(path)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "SKILLSRV_LOAD_WORKERS": workers})
        assert result.returncode in (0, 1), result.stderr
        chosen.append(next(line for line in result.stdout.splitlines()
                           if line.startswith("best thresholds: ")))
    assert chosen[0] == chosen[1]
    assert "min_score=" in chosen[0]
