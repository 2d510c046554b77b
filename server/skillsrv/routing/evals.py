"""Routing evals for pack authors: query -> expected sheet, `clarify`, or `redirect:<pack>`.

An evals file is YAML:

    threshold: {top1: 0.9}
    cases:
      - query: "I have 5,000 chest X-rays; which network should I start with?"
        expect: cnn-families-and-selection.md    # or PACK/SKILL/SHEET, a skill name,
                                                 # clarify, or redirect:training-optimization
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from skillsrv import yamlio
from skillsrv.errors import SkillsrvError
from skillsrv.forking import map_forked
from skillsrv.routing import examples
from skillsrv.routing.examples import origin_of
from skillsrv.routing.labels import label_matches, route_label
from skillsrv.routing.models import Decision, RouteDecision
from skillsrv.routing.router import Router, Thresholds

EVALS_FILE = examples.EVALS_FILE


class EvalError(SkillsrvError):
    exit_code = 2


class EvalCase(BaseModel):
    query: str
    expect: str
    line: int | None = None


class EvalFile(BaseModel):
    path: str
    origin: str = ""  # digest of the file's text: routing hides the file's own examples
    threshold_top1: float = 0.0
    cases: list[EvalCase] = Field(default_factory=list)


class CaseResult(BaseModel):
    query: str
    expect: str
    got: str
    top3: list[str]
    correct: bool
    correct_top3: bool
    source: str


class EvalReport(BaseModel):
    cases: int
    top1: float
    top3: float
    abstention_precision: float | None
    abstention_recall: float | None
    redirect_accuracy: float | None
    threshold_top1: float
    passed: bool
    confusion: dict[str, dict[str, int]]
    misrouted: list[CaseResult]


def load_evals(path: Path) -> EvalFile:
    try:
        content = path.read_bytes()
        text = content.decode("utf-8").replace("\r\n", "\n")
        node = yamlio.compose(text)
        data = yamlio.safe_load(text)
    except OSError as exc:
        raise EvalError(f"{path}: cannot read the evals file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        where = content[:exc.start].count(b"\n") + 1
        raise EvalError(f"{path}:{where}: the evals file is not UTF-8 text",
                        hint="save it as UTF-8 YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise EvalError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML",
                        hint="fix the YAML syntax") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalError(f"{path}:1: an evals file needs a 'cases' list",
                        hint="cases: [{query: ..., expect: ...}]")
    lines = []
    case_nodes = next((v for k, v in node.value if k.value == "cases"), None) if node else None
    if isinstance(case_nodes, yaml.SequenceNode):
        lines = [item.start_mark.line + 1 for item in case_nodes.value]
    cases = []
    for position, raw in enumerate(data["cases"]):
        line = lines[position] if position < len(lines) else None
        try:
            case = EvalCase.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise EvalError(f"{path}:{line}: case {position + 1}: "
                            f"{'.'.join(map(str, first['loc']))} {first['msg']}",
                            hint="each case needs a 'query' and an 'expect'") from None
        case.line = line
        cases.append(case)
    threshold = data.get("threshold") or {}
    top1 = threshold.get("top1", 0.0) if isinstance(threshold, dict) else 0.0
    return EvalFile(path=str(path), origin=origin_of(text), threshold_top1=float(top1),
                    cases=cases)


def _label(decision: RouteDecision) -> str:
    """What the decision answers: clarify, redirect:PACK, or PACK/SKILL[/SHEET]."""
    if decision.decision is Decision.CLARIFY:
        return "clarify"
    if decision.decision is Decision.REDIRECT and decision.redirect:
        return f"redirect:{decision.redirect.pack}"
    return _route_label(decision, 0)


def _route_label(decision: RouteDecision, position: int) -> str:
    if position >= len(decision.routes):
        return "-"
    route = decision.routes[position]
    return route_label(route.pack, route.skill, route.sheet)


def expect_matches(router: Router, expect: str, label: str) -> bool:
    """Does a decision label satisfy an expectation (which may be shortened)?"""
    return label_matches(router.catalog, expect, label)


def run_evals(router: Router, evals: EvalFile) -> EvalReport:
    results: list[CaseResult] = []
    for case in evals.cases:
        # The file's own cases are not example questions for themselves.
        decision = router.route(case.query, hide_examples_from=evals.origin)
        label = _label(decision)
        top3 = [_route_label(decision, i) for i in range(3)]
        correct = expect_matches(router, case.expect, label)
        # Top-3 asks whether the right sheet was among the candidates shown, whatever the
        # decision; clarify and redirect expectations count as in top-1.
        correct_top3 = correct or (case.expect != "clarify"
                                   and not case.expect.startswith("redirect:")
                                   and any(expect_matches(router, case.expect, t) for t in top3))
        results.append(CaseResult(query=case.query, expect=case.expect, got=label, top3=top3,
                                  correct=correct, correct_top3=correct_top3,
                                  source=f"{evals.path}:{case.line}"))
    return _report(results, evals.threshold_top1)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _report(results: list[CaseResult], threshold: float) -> EvalReport:
    total = len(results)
    top1 = sum(r.correct for r in results)
    top3 = sum(r.correct_top3 for r in results)
    said_clarify = [r for r in results if r.got == "clarify"]
    want_clarify = [r for r in results if r.expect == "clarify"]
    redirects = [r for r in results if r.expect.startswith("redirect:")]
    confusion: dict[str, Counter[str]] = {}
    for result in results:
        if not result.correct:
            confusion.setdefault(result.expect, Counter())[result.got] += 1
    accuracy = top1 / total if total else 0.0
    return EvalReport(
        cases=total, top1=round(accuracy, 4), top3=round(top3 / total, 4) if total else 0.0,
        abstention_precision=_ratio(sum(r.expect == "clarify" for r in said_clarify),
                                    len(said_clarify)),
        abstention_recall=_ratio(sum(r.got == "clarify" for r in want_clarify),
                                 len(want_clarify)),
        redirect_accuracy=_ratio(sum(r.correct for r in redirects), len(redirects)),
        threshold_top1=threshold, passed=accuracy >= threshold,
        confusion={k: dict(v) for k, v in sorted(confusion.items())},
        misrouted=[r for r in results if not r.correct])


# Vague questions the thresholds must still send back (pooled over the files): the best mean
# top-1 alone trades them for answerable ones (on the corpus's fitted files, min_score 3.0
# instead of 4.0 routes 17 points more of its vague questions for 0.6 points of top-1).
MIN_ABSTENTION_RECALL = 0.8


def calibrate(runs: list[tuple[Router, list[EvalFile]]]) -> tuple[Thresholds, float]:
    """Search the thresholds for the best mean top-1 over the eval files, each run with its
    router (e.g. the bundled pack's evals on the bundled pack, the corpus's on the corpus),
    among those that still ask first on `MIN_ABSTENTION_RECALL` of the vague questions (or
    on as many as any can). Coordinate descent over a grid per threshold, twice round: a
    full grid would route every case a few hundred times. The values of one threshold are
    scored in forked workers (each routes every case once per value)."""
    global _calibrating
    routers = [router for router, _ in runs]
    original = routers[0].thresholds
    grid = {"min_score": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0],
            # Never 0: two routes the model cannot tell apart are a question, not a coin toss.
            "min_margin": [0.005, 0.01, 0.02, 0.05, 0.1, 0.15],
            "sure_probability": [1.01, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6],
            "rule_coverage": [0.5, 0.6, 0.7, 0.8, 0.9]}
    # Each file with its router and its number of vague questions.
    _calibrating = [(router, evals, sum(case.expect == "clarify" for case in evals.cases))
                    for router, files in runs for evals in files]
    best = original
    try:
        best_score = _score(best)
        for _ in range(2):
            for name, values in grid.items():
                # Every trial differs from `best` in this threshold alone, and `best` changes
                # only in it while its values are compared: scoring them all first, in any
                # order, chooses as scoring them one by one would.
                trials = [replace(best, **{name: value}) for value in values]
                scores = map_forked(_score, trials, minimum=2)
                for trial, trial_score in zip(trials, scores, strict=True):
                    if trial_score > (best_score[0], best_score[1] + 1e-9):
                        best, best_score = trial, trial_score
    finally:
        _calibrating = []
        for router in routers:
            router.thresholds = original
    return best, best_score[1]


# The eval files being calibrated on (router, file, vague questions), for `_score`: a module
# global, so forked workers find it without pickling routers.
_calibrating: list[tuple[Router, EvalFile, int]] = []


def _score(thresholds: Thresholds) -> tuple[float, float]:
    """(abstention recall up to the floor, mean top-1) of the files being calibrated on with
    `thresholds`: compared in that order."""
    for router, _, _ in _calibrating:
        router.thresholds = thresholds
    wanted = sum(vague for _, _, vague in _calibrating)
    top1 = asked = 0.0
    for router, evals, vague in _calibrating:
        report = run_evals(router, evals)
        top1 += report.top1
        asked += (report.abstention_recall or 0.0) * vague
    recall = asked / wanted if wanted else 1.0
    return min(recall, MIN_ABSTENTION_RECALL), top1 / len(_calibrating)


def find_pack_evals(router: Router) -> list[Path]:
    """The evals.yaml shipped at the root of each loaded pack."""
    found = []
    for pack in router.catalog.packs:
        path = Path(pack.source) / EVALS_FILE
        if path.is_file() and path not in found:
            found.append(path)
    return found
