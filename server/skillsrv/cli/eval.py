"""`skillsrv eval [EVALS]`: routing accuracy of packs on their evals files."""

from __future__ import annotations

import argparse
from pathlib import Path

from skillsrv.cli.common import add_pack_options, print_json
from skillsrv.cli.route import make_router
from skillsrv.errors import UsageError
from skillsrv.routing import Router
from skillsrv.routing.evals import (
    EvalFile,
    EvalReport,
    calibrate,
    find_pack_evals,
    load_evals,
    run_evals,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("eval", help="measure routing accuracy on evals files",
                                   description="Run routing evals (default: each loaded pack's "
                                               "evals.yaml).")
    parser.add_argument("evals", nargs="*", type=Path, help="evals files")
    add_pack_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--fit", action="store_true",
                        help="fit the reranker's weights on these evals, print them with their "
                             "leave-one-file-out accuracy, and report with them")
    parser.add_argument("--calibrate", action="store_true",
                        help="grid-search the abstention thresholds on these evals")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    router = make_router(args)
    paths = args.evals or find_pack_evals(router)
    if not paths:
        raise UsageError("no evals files given and no loaded pack ships an evals.yaml")
    files = [load_evals(path) for path in paths]
    if args.fit:
        _fit(router, files)
    if args.calibrate:
        thresholds, accuracy = calibrate([(router, files)])
        router.thresholds = thresholds
        print(f"best thresholds: {thresholds} (mean top-1 {accuracy:.1%})")
    reports = {f.path: run_evals(router, f) for f in files}
    if args.json:
        print_json({path: report.model_dump(mode="json") for path, report in reports.items()})
    else:
        for path, report in reports.items():
            print(render(path, report))
    return 0 if all(report.passed for report in reports.values()) else 1


def _fit(router: Router, files: list[EvalFile]) -> None:
    from skillsrv.routing import fit  # numpy arrays: only a fit needs them loaded up front

    router.weights, lines = fit.report([example for evals in files
                                        for example in fit.collect(router, evals)])
    print("\n".join(lines))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render(path: str, report: EvalReport) -> str:
    lines = [f"{path}: {report.cases} cases",
             f"  top-1 {_pct(report.top1)} (threshold {_pct(report.threshold_top1)}: "
             f"{'pass' if report.passed else 'FAIL'})   top-3 {_pct(report.top3)}",
             f"  abstention precision {_pct(report.abstention_precision)}  recall "
             f"{_pct(report.abstention_recall)}   redirects {_pct(report.redirect_accuracy)}"]
    if report.confusion:
        lines.append("  confusion (expected -> got: count):")
        for expected, got in report.confusion.items():
            lines.append(f"    {expected} -> " + ", ".join(f"{g}: {n}" for g, n in got.items()))
    for case in report.misrouted:
        lines.append(f"  miss {case.source}: {case.query!r}\n       expected {case.expect}, "
                     f"got {case.got}; top-3 {', '.join(case.top3)}")
    return "\n".join(lines)
