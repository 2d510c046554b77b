"""Write the corpus's bank of example questions (routing.examples) from the eval and training
files the repository holds for it: `server/skillsrv/routing/examples/skillpacks.npz`.

Run: .venv/bin/python scripts/build_examples.py [CORPUS]   (default ../shared/corpora/skillpacks)

Each case's expectation is stored as the full label of the document it names in the corpus
(so the bank serves any catalog holding those packs), with its file:line and the digest of its
file: `skillsrv eval` of one of these files hides that file's own examples. Clarify cases and
expectations that name nothing in the corpus are left out. The newest blind files are not
among the inputs: they measure what the bank carries over. Run this before
`scripts/fit_routing.py` and `scripts/fit_adapter.py`, whose features read the bank.
"""

from __future__ import annotations

import sys
from pathlib import Path

from skillsrv.packs import load_source
from skillsrv.routing import examples, semantic
from skillsrv.routing.index import RoutingIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_routing import CORPUS_EVALS, ROOT

OUT = examples.FOLDER / "skillpacks.npz"


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora" / \
        "skillpacks"
    catalog = load_source(corpus)
    index = RoutingIndex(catalog)
    labels = [examples.candidate_label(candidate) for candidate in index.candidates]
    found: list[examples.Example] = []
    skipped = 0
    for path in CORPUS_EVALS:
        shown = path.relative_to(ROOT).as_posix()
        cases = examples.from_evals_file(path, shown)
        targets = examples.resolve(catalog, index.candidates, (case.expect for case in cases))
        for case in cases:
            if case.expect not in targets:
                skipped += 1
                continue
            found.append(examples.Example(case.query, labels[targets[case.expect]],
                                          case.source, case.origin))
    model = semantic._Model.get()
    assert model is not None, "the wordllama model did not load"
    examples.save(OUT, found, model.embed([example.query for example in found]))
    print(f"wrote {OUT}: {len(found)} examples from {len(CORPUS_EVALS)} files, "
          f"{len({e.expect for e in found})} documents named ({skipped} naming nothing left out)")


if __name__ == "__main__":
    main()
