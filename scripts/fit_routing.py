"""Fit the reranker's weights and the abstention thresholds on every eval file the repository
holds, each routed over the packs it was written for, and print what to paste into
`server/skillsrv/routing/rerank.py` (WEIGHTS) and `router.py` (Thresholds).

Run: .venv/bin/python scripts/fit_routing.py [CORPUS]   (default ../shared/corpora/skillpacks)

Leave-one-file-out accuracy comes first: each file was written by a different author, so it is
the best estimate of accuracy on questions nobody has seen. The in-sample figures after it are
optimistic by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path

from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing import fit as fitting
from skillsrv.routing.evals import calibrate, load_evals, run_evals

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "skills"
BUNDLED_EVALS = [BUNDLED / "neural-architectures" / "evals.yaml",
                 *(ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                   for name in ("heldout", "dev", "blind"))]
CORPUS_EVALS = [ROOT / "tests" / "evals" / f"{name}.yaml" for name in
                ("corpus", "corpus-heldout", "corpus-test", "corpus-dev", "corpus-blind")]


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora" / \
        "skillpacks"
    runs = [(Router(load_source(BUNDLED)), [load_evals(p) for p in BUNDLED_EVALS])]
    if corpus.is_dir():
        runs.append((Router(load_source(corpus)), [load_evals(p) for p in CORPUS_EVALS]))
    else:
        print(f"{corpus} not found: fitting on the bundled pack's evals only")
    examples = [example for router, files in runs for evals in files
                for example in fitting.collect(router, evals)]
    weights, lines = fitting.report(examples)
    print("\n".join(lines))
    for router, _ in runs:
        router.weights = weights
    thresholds, accuracy = calibrate(runs)
    print(f"thresholds: {thresholds} (mean top-1 {accuracy:.1%}, in sample)")
    for router, files in runs:
        router.thresholds = thresholds
        for evals in files:
            report = run_evals(router, evals)
            print(f"  {Path(evals.path).name}: top-1 {report.top1:.1%} top-3 {report.top3:.1%} "
                  f"abstention P/R {report.abstention_precision} / {report.abstention_recall}")


if __name__ == "__main__":
    main()
