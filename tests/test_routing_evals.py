"""Routing accuracy on the bundled pack's evals and on the corpus evals, and the eval command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUNDLED, ROOT
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing.evals import EvalError, load_evals, run_evals

BUNDLED_EVALS = BUNDLED / "neural-architectures" / "evals.yaml"
CORPUS_EVALS = ROOT / "tests" / "evals" / "corpus.yaml"
# Written blind (from the packs, without the router's output or the fitted evals): they measure
# how routing generalises to questions nobody tuned it on.
BUNDLED_HELDOUT = ROOT / "tests" / "evals" / "bundled-heldout.yaml"
CORPUS_HELDOUT = ROOT / "tests" / "evals" / "corpus-heldout.yaml"
# The last set written blind, after the held-out ones had been looked at while tuning.
CORPUS_TEST = ROOT / "tests" / "evals" / "corpus-test.yaml"


def test_the_bundled_pack_routes_at_least_90_percent_of_its_evals_right() -> None:
    evals = load_evals(BUNDLED_EVALS)
    assert len(evals.cases) >= 60
    report = run_evals(Router(load_source(BUNDLED)), evals)
    assert report.top1 >= 0.9, report.misrouted
    assert report.abstention_precision is not None and report.abstention_precision >= 0.75
    assert report.abstention_recall is not None and report.abstention_recall >= 0.6
    assert report.redirect_accuracy is not None and report.redirect_accuracy >= 0.8
    assert report.passed


@pytest.mark.corpus
def test_the_corpus_evals_cover_many_packs_and_hold_their_measured_floor(
        skillpacks: Path) -> None:
    evals = load_evals(CORPUS_EVALS)
    packs = {case.expect.split("/")[0] for case in evals.cases if case.expect != "clarify"}
    assert len(evals.cases) >= 60 and len(packs) >= 25
    report = run_evals(Router(load_source(skillpacks)), evals)
    # Measured 73.3% top-1 and 86% top-3 when this floor was set; the target is 85% top-1.
    assert report.top1 >= 0.7 and report.top3 >= 0.83


def test_the_bundled_held_out_evals_hold_their_measured_floor() -> None:
    evals = load_evals(BUNDLED_HELDOUT)
    assert len(evals.cases) >= 40
    report = run_evals(Router(load_source(BUNDLED)), evals)
    # Measured 86.7% top-1 and 95.6% top-3 when this floor was set; the target is 90% top-1.
    assert report.top1 >= 0.82 and report.top3 >= 0.93


@pytest.mark.corpus
def test_the_corpus_held_out_evals_hold_their_measured_floor(skillpacks: Path) -> None:
    evals = load_evals(CORPUS_HELDOUT)
    packs = {case.expect.split("/")[0] for case in evals.cases if case.expect != "clarify"}
    assert len(evals.cases) >= 60 and len(packs) >= 30
    report = run_evals(Router(load_source(skillpacks)), evals)
    # Measured 64.3% top-1 and 91.4% top-3 when this floor was set; the target is 85% top-1.
    assert report.top1 >= 0.61 and report.top3 >= 0.88


@pytest.mark.corpus
def test_the_blind_corpus_test_set_holds_its_measured_floor(skillpacks: Path) -> None:
    evals = load_evals(CORPUS_TEST)
    packs = {case.expect.split("/")[0] for case in evals.cases if case.expect != "clarify"}
    assert len(evals.cases) >= 60 and len(packs) >= 35
    report = run_evals(Router(load_source(skillpacks)), evals)
    # Measured 75% top-1 and 86.7% top-3 when this floor was set; the target is 85% top-1.
    assert report.top1 >= 0.71 and report.top3 >= 0.83


def test_eval_command_reports_accuracy_abstention_and_confusion_as_json(tmp_path: Path) -> None:
    evals = tmp_path / "evals.yaml"
    evals.write_text("threshold: {top1: 0.5}\ncases:\n"
                     "  - query: \"which CNN for 5k X-ray images?\"\n"
                     "    expect: cnn-families-and-selection.md\n"
                     "  - query: \"help me\"\n    expect: clarify\n"
                     "  - query: \"GCN or GAT for citation graphs\"\n"
                     "    expect: sequence-models-comparison.md\n")
    result = subprocess.run([sys.executable, "-m", "skillsrv", "eval", str(evals), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)[str(evals)]
    assert report["cases"] == 3 and report["top1"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["abstention_precision"] == 1.0 and report["abstention_recall"] == 1.0
    assert report["confusion"] == {"sequence-models-comparison.md": {
        "neural-architectures/using-neural-architectures/graph-neural-networks-basics.md": 1}}
    assert report["misrouted"][0]["source"].endswith("evals.yaml:7")


def test_an_evals_file_below_its_threshold_fails_the_eval_command(tmp_path: Path) -> None:
    evals = tmp_path / "evals.yaml"
    evals.write_text("threshold: {top1: 1.0}\ncases:\n  - query: \"GCN for molecules\"\n"
                     "    expect: normalization-techniques.md\n")
    result = subprocess.run([sys.executable, "-m", "skillsrv", "eval", str(evals)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "FAIL" in result.stdout
    assert "expected normalization-techniques.md" in result.stdout


def test_a_malformed_evals_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    evals = tmp_path / "evals.yaml"
    evals.write_text("cases:\n  - query: \"x\"\n  - expect: clarify\n")
    with pytest.raises(EvalError, match=r"evals\.yaml:2: case 1: expect"):
        load_evals(evals)
