"""Top-1 accuracy when users mistype: the eval files with typos put in, speller on and off.

Run: .venv/bin/python scripts/typo_eval.py [CORPUS]   (default ../shared/corpora/skillpacks)

Each word of five letters or more gets, with the given probability, one random edit (a letter
deleted, swapped with the next, replaced or inserted, anywhere in the word); the same seed gives
the same typos. The bundled files run on the bundled pack, the corpus files on the corpus.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

from skillsrv.packs import load_source, load_sources
from skillsrv.routing import Router, spelling
from skillsrv.routing.evals import EvalFile, load_evals, run_evals

ROOT = Path(__file__).resolve().parents[1]
RATES = (0.0, 0.15, 0.3)
SEEDS = (0, 7)


def mistype(word: str, rng: random.Random) -> str:
    at = rng.randrange(len(word))
    kind = rng.choice("dsri")
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "d":
        return word[:at] + word[at + 1:]
    if kind == "s" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == "r":
        return word[:at] + letter + word[at + 1:]
    return word[:at] + letter + word[at:]


def with_typos(evals: EvalFile, rate: float, rng: random.Random) -> EvalFile:
    def change(match: re.Match[str]) -> str:
        return mistype(match.group(0), rng) if rng.random() < rate else match.group(0)

    cases = [case.model_copy(update={"query": re.sub(r"[A-Za-z]{5,}", change, case.query)})
             for case in evals.cases]
    return evals.model_copy(update={"cases": cases})


def accuracy(router: Router, files: list[Path], rate: float, seed: int) -> float:
    rng = random.Random(seed)
    right = total = 0
    for path in files:
        report = run_evals(router, with_typos(load_evals(path), rate, rng))
        right += round(report.top1 * report.cases)
        total += report.cases
    return right / total


def compare(name: str, router: Router, files: list[Path]) -> None:
    correct = spelling.Speller.correct
    for rate in RATES:
        on = [accuracy(router, files, rate, seed) for seed in SEEDS]
        spelling.Speller.correct = lambda self, word, term: None
        try:
            off = [accuracy(router, files, rate, seed) for seed in SEEDS]
        finally:
            spelling.Speller.correct = correct
        print(f"{name}: typo rate {rate:.2f}, seeds {SEEDS}: speller on "
              f"{', '.join(f'{a:.1%}' for a in on)}; off {', '.join(f'{a:.1%}' for a in off)}")


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/corpora/skillpacks"
    evals = ROOT / "tests" / "evals"
    bundled = [ROOT / "skills/neural-architectures/evals.yaml",
               *sorted(evals.glob("bundled-*.yaml"))]
    compare("bundled", Router(load_source(ROOT / "skills")), bundled)
    if corpus.exists():
        compare("corpus", Router(load_sources([corpus])), sorted(evals.glob("corpus*.yaml")))


if __name__ == "__main__":
    main()
