"""Fit the off-subject thresholds (`Thresholds.subject_score`, `subject_similarity`) of each
regime, and print what to paste into `router.DEFAULT_THRESHOLDS`.

Run: .venv/bin/python scripts/fit_subject.py [CORPUS]   (default ../shared/corpora/skillpacks)

A question the packs' words touch only in passing ("How long do I roast a 6 kg turkey?" over
the 46-pack corpus) still gets a best route, and the reranker's probability is relative to
the other candidates, so it can be sure of a sheet on differential equations. What tells such
a question apart is absolute: how strongly its words match (the best lexical score) and how
close it is to any example question of the top routes. Below both thresholds the decision is
`clarify`. Every file the other thresholds are fitted on is routed once, with the
thresholds off, together with tests/evals/offtopic.yaml (questions outside every pack); each
case's lexical score and closest example are recorded, and the pair of thresholds is chosen
on those records (the gate only turns a route into a clarify, so the records say exactly what
each pair would score). The choice maximises mean top-1 over the files, the off-topic file
counting as one file, as `calibrate` does. tests/evals/offtopic-blind.yaml is never read here.
Both inputs depend on the example bank and the reranker: run this after
`scripts/build_examples.py`, `fit_routing.py` and `fit_adapter.py`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing.evals import EvalFile, _label, expect_matches, load_evals
from skillsrv.routing.rerank import ADAPTED, MANY_PACKS, ONE_PACK
from skillsrv.routing.router import DEFAULT_THRESHOLDS, Example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_routing import BUNDLED, BUNDLED_EVALS, CORPUS_EVALS

ROOT = Path(__file__).resolve().parents[1]
OFF_TOPIC = ROOT / "tests" / "evals" / "offtopic.yaml"
SCORES = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0]
SIMILARITIES = [0.0, 0.25, 0.3, 0.325, 0.35, 0.375, 0.4, 0.45]


@dataclass(frozen=True)
class Case:
    file: int
    expect_clarify: bool
    correct: bool  # as routed with the gate off
    routed: bool  # the decision was `route` or `redirect` (clarify stays clarify)
    lexical: float | None  # None: the gate is not consulted (a rule decided, nothing matched)
    similarity: float | None  # None: no example questions to tell by

    def gated(self, subject_score: float, subject_similarity: float) -> bool:
        """Would these thresholds turn this case's route (or redirect) into a clarify?"""
        return self.routed and self.lexical is not None and self.similarity is not None \
            and self.lexical < subject_score and self.similarity < subject_similarity

    def right(self, subject_score: float, subject_similarity: float) -> bool:
        gated = self.gated(subject_score, subject_similarity)
        return self.expect_clarify if gated else self.correct


def record(router: Router, files: list[EvalFile]) -> list[Case]:
    """Route every case with the gate off, keeping what the gate would have been asked."""
    seen: list[tuple[float, float | None]] = []

    def off_subject(lexical: float, closest: list[tuple[Example, float] | None]) -> bool:
        found = [pair[1] for pair in closest if pair is not None]
        # None where the gate cannot judge: the best route has no example questions.
        seen.append((lexical, max(found) if closest and closest[0] is not None else None))
        return False

    router._off_subject = off_subject  # type: ignore[method-assign]
    cases = []
    for number, evals in enumerate(files):
        for case in evals.cases:
            seen.clear()
            decision = router.route(case.query, hide_examples_from=evals.origin)
            label = _label(decision)
            lexical, similarity = seen[0] if seen else (None, None)
            cases.append(Case(number, case.expect == "clarify",
                              expect_matches(router, case.expect, label),
                              decision.decision.value in ("route", "redirect"), lexical,
                              similarity))
    del router._off_subject
    return cases


def score(cases: list[Case], files: int, subject_score: float,
          subject_similarity: float) -> tuple[float, list[float]]:
    """Mean top-1 over the files, and each file's, with this pair of thresholds."""
    right = [0] * files
    total = [0] * files
    for case in cases:
        right[case.file] += case.right(subject_score, subject_similarity)
        total[case.file] += 1
    each = [r / t for r, t in zip(right, total, strict=True)]
    return sum(each) / files, each


def fit(name: str, router: Router, paths: list[Path]) -> None:
    files = [load_evals(path) for path in [*paths, OFF_TOPIC]]
    cases = record(router, files)
    off = len(files) - 1
    before, each_before = score(cases, len(files), 0.0, 0.0)
    results = sorted(((score(cases, len(files), s, m), s, m)
                      for s in SCORES for m in SIMILARITIES),
                     key=lambda item: (-item[0][0], item[1], item[2]))
    (best, each), subject_score, subject_similarity = results[0]
    in_scope = [c for c in cases if c.file != off]
    lost = sum(c.correct and not c.expect_clarify and c.gated(subject_score, subject_similarity)
               for c in in_scope)
    print(f"== {name}: mean top-1 {before:.2%} -> {best:.2%}; off-topic "
          f"{each_before[off]:.1%} -> {each[off]:.1%}; in-scope pooled "
          f"{_pooled(in_scope, 0.0, 0.0):.2%} -> "
          f"{_pooled(in_scope, subject_score, subject_similarity):.2%} "
          f"({lost} right routes turned into questions)")
    print(f"   subject_score={subject_score}, subject_similarity={subject_similarity}")
    for (mean, _), s, m in results[1:6]:
        print(f"   next: {s} / {m}: {mean:.2%}")
    fitted = replace(DEFAULT_THRESHOLDS[name], subject_score=subject_score,
                     subject_similarity=subject_similarity)
    print(f"   {fitted}")


def _pooled(cases: list[Case], subject_score: float, subject_similarity: float) -> float:
    return sum(case.right(subject_score, subject_similarity) for case in cases) / len(cases)


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora" / \
        "skillpacks"
    fit(ONE_PACK, Router(load_source(BUNDLED)), BUNDLED_EVALS)
    if not corpus.is_dir():
        print(f"{corpus} not found: the corpus's regimes are not fitted")
        return
    catalog = load_source(corpus)
    fit(MANY_PACKS, Router(catalog, adapt=False), CORPUS_EVALS)
    adapted = Router(catalog)
    assert adapted.regime == ADAPTED, f"{corpus} has no query adapter"
    fit(ADAPTED, adapted, CORPUS_EVALS)


if __name__ == "__main__":
    main()
