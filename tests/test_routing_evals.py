"""Routing accuracy on the bundled pack's evals and on the corpus evals, and the eval command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUNDLED, ROOT, SKILLPACKS
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
# Written blind by four writers (corpus) and one (bundled) for fitting the reranker (dev), to
# score it once (blind, then fitted on), and to score the finished router once (final).
CORPUS_DEV, CORPUS_BLIND, CORPUS_FINAL = (ROOT / "tests" / "evals" / f"corpus-{name}.yaml"
                                          for name in ("dev", "blind", "final"))
BUNDLED_DEV, BUNDLED_BLIND, BUNDLED_FINAL = (ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                                             for name in ("dev", "blind", "final"))
# A second round, written after the fitting regimes (see each file's header).
CORPUS_FRESH = ROOT / "tests" / "evals" / "corpus-fresh.yaml"
BUNDLED_FRESH, BUNDLED_FRESH2 = (ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                                 for name in ("fresh", "fresh2"))
# A third round, read after scoring: fitted on since the meaning features (see below).
CORPUS_FRESH3 = ROOT / "tests" / "evals" / "corpus-fresh3.yaml"
BUNDLED_FRESH3, BUNDLED_FRESH4, BUNDLED_FRESH5, BUNDLED_FRESH6, BUNDLED_FRESH7, BUNDLED_FRESH8 = (
    ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
    for name in ("fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8"))
# The fourth round: scored once before and once after the meaning features; never read,
# fitted on since the training files (the sixth round too).
CORPUS_FRESH4 = ROOT / "tests" / "evals" / "corpus-fresh4.yaml"
BUNDLED_FRESH9, BUNDLED_FRESH10 = (ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                                   for name in ("fresh9", "fresh10"))
# The fifth round, scored once on the finished code and on two earlier commits; never read.
CORPUS_FRESH5 = ROOT / "tests" / "evals" / "corpus-fresh5.yaml"
CORPUS_FRESH6 = ROOT / "tests" / "evals" / "corpus-fresh6.yaml"
# The seventh round, scored before and after fitting on the training files; never read.
CORPUS_FRESH7 = ROOT / "tests" / "evals" / "corpus-fresh7.yaml"
CORPUS_FRESH8 = ROOT / "tests" / "evals" / "corpus-fresh8.yaml"
# The ninth round (three documents per pack by hash), routed once at 148605d; never read.
CORPUS_FRESH9 = ROOT / "tests" / "evals" / "corpus-fresh9.yaml"
# Written to another brief: less central sheets, points deep in them, chat-style messages.
CORPUS_DEEP = ROOT / "tests" / "evals" / "corpus-deep.yaml"
# A third brief: requests to get something done or decided, some with a misconception.
CORPUS_ASK = ROOT / "tests" / "evals" / "corpus-ask.yaml"
# A fourth brief: askers from outside each pack's specialism, in their own field's words.
# Routed three times, summary figures only: 70.2% before, 72.4% with the third training round
# in the example bank, 73.9% after the refit on it; never read.
CORPUS_WHO = ROOT / "tests" / "evals" / "corpus-who.yaml"
# A mixed brief (specialists, outsiders, pasted errors, terse queries, follow-ups), three
# documents per pack by hash: routed once at 7c9cdf4 (90.6%), summary figures only; never read.
CORPUS_MIX = ROOT / "tests" / "evals" / "corpus-mix.yaml"
# Written to fit on (five questions per corpus sheet, in three rounds): in-sample figures.
CORPUS_TRAIN = sorted((ROOT / "tests" / "evals" / "corpus-train").glob("*.yaml"))
BUNDLED_FRESH11, BUNDLED_FRESH12 = (ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                                    for name in ("fresh11", "fresh12"))
# Questions outside every pack (cooking, taxes, a dog's training), each expecting clarify:
# offtopic.yaml fits the off-subject thresholds (scripts/fit_subject.py); offtopic-blind.yaml,
# by another writer, was routed once, after. (file, catalog, measured, floor) top-1: over the
# corpus 59.2% and 58% before the thresholds; over the bundled pack 88.3% and 82%.
OFFTOPIC, OFFTOPIC_BLIND = (ROOT / "tests" / "evals" / f"{name}.yaml"
                            for name in ("offtopic", "offtopic-blind"))
OFFTOPIC_FLOORS = [(OFFTOPIC, "corpus", 0.75, 0.71), (OFFTOPIC_BLIND, "corpus", 0.66, 0.62),
                   (OFFTOPIC, "bundled", 0.925, 0.89), (OFFTOPIC_BLIND, "bundled", 0.91, 0.87)]


def test_the_bundled_pack_routes_at_least_90_percent_of_its_evals_right() -> None:
    evals = load_evals(BUNDLED_EVALS)
    assert len(evals.cases) >= 60
    report = run_evals(Router(load_source(BUNDLED)), evals)
    assert report.top1 >= 0.9, report.misrouted
    assert report.abstention_precision is not None and report.abstention_precision >= 0.75
    assert report.abstention_recall is not None and report.abstention_recall >= 0.6
    assert report.redirect_accuracy is not None and report.redirect_accuracy >= 0.8
    assert report.passed


# (file, top-1 and top-3 last measured, floor top-1, floor top-3). The targets are 90%
# (bundled) and 85% (corpus) top-1. Every file but evals.yaml was written blind. corpus-fresh7,
# -fresh8, -fresh9, -deep, -ask, -who, -mix and bundled-fresh9 to -fresh12 are never fitted
# on; all the others have been used to fit the reranker and the thresholds
# (scripts/fit_routing.py lists them), and the corpus's ones the query adapter and the example
# bank too: their figures are in-sample, though an eval run hides each file's own examples.
CORPUS_FLOORS = [
    (CORPUS_EVALS, 0.901, 0.962, 0.88, 0.91),
    (CORPUS_HELDOUT, 0.986, 0.986, 0.93, 0.95),
    (CORPUS_TEST, 0.9, 0.967, 0.84, 0.93),
    (CORPUS_DEV, 0.957, 0.989, 0.91, 0.95),
    (CORPUS_BLIND, 0.957, 0.978, 0.92, 0.94),
    (CORPUS_FINAL, 0.91, 0.948, 0.87, 0.91),
    (CORPUS_FRESH, 0.881, 0.978, 0.88, 0.94),
    (CORPUS_FRESH3, 0.91, 0.97, 0.86, 0.93),
    (CORPUS_FRESH4, 0.895, 0.948, 0.85, 0.91),
    (CORPUS_FRESH5, 0.933, 0.985, 0.87, 0.94),
    (CORPUS_FRESH6, 0.97, 0.993, 0.91, 0.95),
    (CORPUS_FRESH7, 0.91, 0.955, 0.88, 0.91),
    (CORPUS_FRESH8, 0.895, 0.963, 0.85, 0.91),
    (CORPUS_FRESH9, 0.917, 0.979, 0.87, 0.94),
    (CORPUS_DEEP, 0.828, 0.955, 0.8, 0.91),
    (CORPUS_ASK, 0.895, 0.955, 0.84, 0.9),
    (CORPUS_WHO, 0.769, 0.888, 0.7, 0.84),
    (CORPUS_MIX, 0.935, 0.986, 0.86, 0.94),
]
# The training files together (85.2% when the floor was set: the adapter has seen them, but
# each file's own example questions are hidden, and with them half its answers' examples;
# 86.8% with the fourth round in, 89.5% on that round before the adapter was refitted on it;
# 86.4% and 91.3% after; 87.0% and 91.3% with the adapter trained twice as long; 86.6% with
# the fifth round in, which scored 84.6% before it was fitted on and 87.1% after).
TRAIN_FLOOR = 0.81
BUNDLED_FLOORS = [
    (BUNDLED_HELDOUT, 0.978, 1.0, 0.93, 0.96),
    (BUNDLED_DEV, 0.972, 1.0, 0.93, 0.96),
    (BUNDLED_BLIND, 0.911, 0.956, 0.87, 0.91),
    (BUNDLED_FINAL, 0.96, 1.0, 0.92, 0.96),
    (BUNDLED_FRESH, 0.98, 1.0, 0.94, 0.96),
    (BUNDLED_FRESH2, 0.983, 1.0, 0.94, 0.96),
    (BUNDLED_FRESH3, 1.0, 1.0, 0.96, 0.96),
    (BUNDLED_FRESH4, 0.933, 0.95, 0.89, 0.91),
    (BUNDLED_FRESH5, 0.95, 0.967, 0.91, 0.92),
    (BUNDLED_FRESH6, 0.983, 1.0, 0.94, 0.96),
    (BUNDLED_FRESH7, 0.917, 0.983, 0.87, 0.94),
    (BUNDLED_FRESH8, 0.917, 0.967, 0.87, 0.92),
    (BUNDLED_FRESH9, 0.967, 0.983, 0.92, 0.94),
    (BUNDLED_FRESH10, 0.967, 0.983, 0.92, 0.94),
    (BUNDLED_FRESH11, 0.967, 0.983, 0.92, 0.94),
    (BUNDLED_FRESH12, 0.95, 0.967, 0.91, 0.92),
]


@pytest.fixture(scope="module")
def corpus_router() -> Router:
    if not (SKILLPACKS / ".claude-plugin" / "marketplace.json").is_file():
        pytest.skip("../shared/corpora/skillpacks is not present")
    return Router(load_source(SKILLPACKS))


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "top1", "top3", "floor1", "floor3"), CORPUS_FLOORS,
                         ids=lambda value: value.name if isinstance(value, Path) else "")
def test_each_corpus_evals_file_spans_many_packs_and_holds_its_measured_floor(
        corpus_router: Router, path: Path, top1: float, top3: float, floor1: float,
        floor3: float) -> None:
    evals = load_evals(path)
    packs = {case.expect.split("/")[0] for case in evals.cases if case.expect != "clarify"}
    assert len(evals.cases) >= 60 and len(packs) >= 25
    report = run_evals(corpus_router, evals)
    assert report.top1 >= floor1 and report.top3 >= floor3, (report.top1, report.top3)


@pytest.mark.corpus
def test_the_corpus_evals_files_send_back_most_of_their_vague_questions(
        corpus_router: Router) -> None:
    # Thresholds are calibrated to keep 80% of the fitted files' vague questions asked first
    # (routing.evals.MIN_ABSTENTION_RECALL); pooled over these files it was 85.7% (54 of 63)
    # when this floor was set, 87.0% (60 of 69) with corpus-mix.
    wanted = asked = 0
    for path, *_ in CORPUS_FLOORS:
        evals = load_evals(path)
        vague = sum(case.expect == "clarify" for case in evals.cases)
        report = run_evals(corpus_router, evals)
        wanted += vague
        asked += round((report.abstention_recall or 0.0) * vague)
    assert asked / wanted >= 0.82, (asked, wanted)


@pytest.mark.corpus
def test_the_corpus_training_files_cover_nearly_every_sheet_and_hold_their_in_sample_floor(
        corpus_router: Router) -> None:
    files = [load_evals(path) for path in CORPUS_TRAIN]
    cases = [case for evals in files for case in evals.cases]
    answered = {case.expect for case in cases if case.expect != "clarify"}
    assert len(cases) >= 1000 and len(answered) >= 500  # 539 routers and sheets in the corpus
    top1 = sum(run_evals(corpus_router, evals).top1 * len(evals.cases)
               for evals in files) / len(cases)
    assert top1 >= TRAIN_FLOOR, top1


@pytest.mark.parametrize(("path", "catalog", "top1", "floor"), OFFTOPIC_FLOORS,
                         ids=lambda value: value.name if isinstance(value, Path) else str(value))
def test_questions_outside_every_pack_are_mostly_asked_about_not_routed(
        path: Path, catalog: str, top1: float, floor: float) -> None:
    if catalog == "corpus" and not (SKILLPACKS / ".claude-plugin" / "marketplace.json").is_file():
        pytest.skip("../shared/corpora/skillpacks is not present")
    evals = load_evals(path)
    assert len(evals.cases) >= 100 and {case.expect for case in evals.cases} == {"clarify"}
    router = Router(load_source(SKILLPACKS if catalog == "corpus" else BUNDLED))
    report = run_evals(router, evals)
    assert report.top1 >= floor, report.top1


@pytest.mark.parametrize(("path", "top1", "top3", "floor1", "floor3"), BUNDLED_FLOORS,
                         ids=lambda value: value.name if isinstance(value, Path) else "")
def test_each_blind_bundled_evals_file_holds_its_measured_floor(
        path: Path, top1: float, top3: float, floor1: float, floor3: float) -> None:
    evals = load_evals(path)
    assert len(evals.cases) >= 35
    report = run_evals(Router(load_source(BUNDLED)), evals)
    assert report.top1 >= floor1 and report.top3 >= floor3, (report.top1, report.top3)


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
