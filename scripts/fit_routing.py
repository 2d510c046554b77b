"""Fit the reranker's weights and the abstention thresholds on every eval file the repository
holds, each routed over the packs it was written for, and print what to paste into
`server/skillsrv/routing/rerank.py` (WEIGHTS) and `router.py` (DEFAULT_THRESHOLDS).

Run: .venv/bin/python scripts/fit_routing.py [CORPUS [REGIME...]]   (default corpus
../shared/corpora/skillpacks; regimes ONE_PACK, MANY_PACKS, default both; the corpus's
adapted regime is fitted by `scripts/fit_adapter.py`)

Each regime is fitted on its own files: one pack loaded (the bundled pack's evals) and many
(the corpus's evals, read without the query adapter). Leave-one-file-out accuracy comes
first: each file was written by a different author, so it is the best estimate of accuracy on
questions nobody has seen. The in-sample figures after it are optimistic by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path

from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing import fit as fitting
from skillsrv.routing.evals import calibrate, load_evals, run_evals
from skillsrv.routing.rerank import MANY_PACKS, ONE_PACK

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "skills"
BUNDLED_EVALS = [BUNDLED / "neural-architectures" / "evals.yaml",
                 *(ROOT / "tests" / "evals" / f"bundled-{name}.yaml"
                   for name in ("heldout", "dev", "blind", "final", "fresh", "fresh2", "fresh3",
                                "fresh4", "fresh5", "fresh6", "fresh7", "fresh8"))]
# The corpus's eval files, and the training files written for the adapted regime. (The
# newest blind files are not here: they measure what fitting on these carries over.)
CORPUS_EVALS = [*(ROOT / "tests" / "evals" / f"{name}.yaml" for name in
                  ("corpus", "corpus-heldout", "corpus-test", "corpus-dev", "corpus-blind",
                   "corpus-final", "corpus-fresh", "corpus-fresh3", "corpus-fresh4",
                   "corpus-fresh5", "corpus-fresh6")),
                *sorted((ROOT / "tests" / "evals" / "corpus-train").glob("*.yaml"))]


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora" / \
        "skillpacks"
    # Many packs without the query adapter (any catalog but the corpus). The corpus with its
    # adapter is fitted by `scripts/fit_adapter.py`, on routes read by adapters fitted without
    # the questions routed.
    regimes = {ONE_PACK: (BUNDLED, BUNDLED_EVALS, True),
               MANY_PACKS: (corpus, CORPUS_EVALS, False)}
    only = sys.argv[2:]  # regimes to fit, by constant name (ONE_PACK, MANY_PACKS)
    for name, (source, paths, adapt) in regimes.items():
        constant = name.upper().replace(" ", "_")
        if only and constant not in only:
            continue
        if not source.is_dir():
            print(f"{source} not found: {name} is not fitted")
            continue
        router = Router(load_source(source), adapt=adapt)
        assert router.regime == name, f"{source} is not a {name} catalog"
        files = [load_evals(path) for path in paths]
        print(f"== {name}: {source}")
        weights, lines = fitting.report([example for evals in files
                                         for example in fitting.collect(router, evals)])
        print("\n".join(lines).replace("WEIGHTS = ", f"WEIGHTS[{constant}] = "))
        router.weights = weights
        thresholds, accuracy = calibrate([(router, files)])
        print(f"thresholds: {thresholds} (mean top-1 {accuracy:.1%}, in sample)")
        router.thresholds = thresholds
        for evals in files:
            report = run_evals(router, evals)
            print(f"  {Path(evals.path).name}: top-1 {report.top1:.1%} top-3 {report.top3:.1%} "
                  f"abstention P/R {report.abstention_precision} / {report.abstention_recall}")


if __name__ == "__main__":
    main()
