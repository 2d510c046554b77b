"""Fit the query adapter for the corpus's packs (routing.adapter) on the corpus's eval files,
and write it to `server/skillsrv/routing/adapters/skillpacks.npz`; print the reranker's weights
and the abstention thresholds for the "many packs, adapted" regime, to paste into
`rerank.WEIGHTS[ADAPTED]` and `router.DEFAULT_THRESHOLDS[ADAPTED]`.

Run: .venv/bin/python scripts/fit_adapter.py [CORPUS]   (default ../shared/corpora/skillpacks)

The adapter is `q + up @ (down.T @ q)` of rank 32, fitted jointly with a linear reranker by
the same listwise loss as the reranker (Adam, torch: this is an offline script; routing itself
never imports torch). The eval files are dealt into four folds, and each fold is routed with
an adapter fitted on the others: each file has another writer, so this estimates accuracy on
questions nobody has seen. The reranker's weights and the thresholds are then fitted on those
out-of-fold routes (stacking), not on routes read by an adapter that has seen the questions.
Example questions (routing.examples) are read as eval runs read them, with each case's own
file hidden; run `scripts/build_examples.py` first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from skillsrv.packs import load_source
from skillsrv.routing import Router, adapter, rerank, semantic
from skillsrv.routing import fit as fitting
from skillsrv.routing.evals import EvalFile, calibrate, expect_matches, load_evals

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_routing import CORPUS_EVALS  # the same files the reranker is fitted on

RANK = 32
L2_ADAPTER = 0.0003
L2_WEIGHTS = 0.03
STEPS = 300
HEAD = 20
FOLDS = 4
# The feature rows' layout (rerank.FEATURES): lexical features, the three meaning features
# the adapter moves, then the example-question features (routing.examples), which it does not.
LEXICAL, MEANING, EXAMPLE = 9, 3, 2
MEANING_SCALE = 10.0  # meaning differences are hundredths; scaled near the others' spread
OUT = Path(__file__).resolve().parents[1] / "server" / "skillsrv" / "routing" / "adapters" / \
    "skillpacks.npz"


class Data:
    """Every eval case's head as tensors: the lexical features, and the rows (summary, routing
    phrases, sections) of every head candidate's embeddings with the segment each belongs to."""

    def __init__(self, router: Router, paths: list[Path]) -> None:
        model = semantic._Model.get()
        assert model is not None, "the wordllama model did not load"
        files: list[str] = []
        heads: list[list[int]] = []  # per case: its head's candidates (the index's numbers)
        texts: list[str] = []  # per case: the query as routing embeds it
        queries: list[np.ndarray] = []
        base: list[np.ndarray] = []
        targets: list[int] = []
        # Each document's rows (summary, routing phrases, sections) are stored once and read
        # by index: a document sits in the heads of hundreds of cases, and projecting its rows
        # once per step instead of once per head is what keeps a fit within minutes.
        documents: dict[int, int] = {}  # document index -> its first row in `matrices`
        matrices: list[np.ndarray] = []
        stored = 0
        rows: list[np.ndarray] = []  # per (case, candidate, row): the row in `matrices`
        owners: list[np.ndarray] = []
        segments: list[np.ndarray] = []
        lengths = []  # head size per case (a head may be shorter than HEAD)
        for path in paths:
            evals = load_evals(path)
            for case in evals.cases:
                if case.expect == "clarify":
                    continue
                # As eval runs read them: the file's own example questions hidden.
                head, features = router.head(case.query, hide_examples_from=evals.origin)
                indexes = [entry.index for entry in head]
                number = len(files)
                files.append(path.name)
                target = next((p for p, i in enumerate(indexes) if expect_matches(
                    router, case.expect, fitting._label(router, i))), -1)
                targets.append(target)
                _, _, text, _, _ = router._read(case.query)
                heads.append(indexes)
                texts.append(text)
                queries.append(model.embed_one(text))
                padded = np.zeros((HEAD, LEXICAL + EXAMPLE), np.float32)
                found = np.asarray(features, np.float32)
                padded[:len(features), :LEXICAL] = found[:, :LEXICAL]
                padded[:len(features), LEXICAL:] = found[:, LEXICAL + MEANING:]
                base.append(padded)
                lengths.append(len(features))
                for place, (index, (matrix, routes, sections)) in enumerate(zip(
                        indexes, router.meaning._matrices(model, indexes), strict=True)):
                    if index not in documents:
                        documents[index] = stored
                        matrices.append(np.asarray(matrix, np.float32))
                        stored += len(matrix)
                    parts = np.array([0] + [1] * routes + [2] * sections)
                    rows.append(documents[index] + np.arange(len(matrix)))
                    owners.append(np.full(len(matrix), number))
                    segments.append((number * HEAD + place) * 3 + parts)
        self.files = files
        self.heads = heads
        self.texts = texts
        self.count = len(files)
        self.queries = torch.tensor(np.stack(queries))
        self.target = torch.tensor(targets)
        self.mask = torch.zeros(self.count, HEAD, dtype=torch.bool)
        for number, length in enumerate(lengths):
            self.mask[number, :length] = True
        lexical = torch.tensor(np.stack(base))
        flat = lexical[self.mask]
        self.base = (lexical - flat.mean(0)) / flat.std(0).clamp_min(1e-6)
        self.matrices = torch.tensor(np.concatenate(matrices))
        self.rows = torch.tensor(np.concatenate(rows))
        self.owner = torch.tensor(np.concatenate(owners))
        self.segment = torch.tensor(np.concatenate(segments))
        # Each (case, row) pair the heads hold, as one index into a cases x stored-rows matrix.
        self.pair = self.owner * len(self.matrices) + self.rows
        # The unadapted cosine of each row, once: every query against every stored row, read
        # at those pairs.
        self.plain = torch.take(self.queries @ self.matrices.T, self.pair)

    def meaning(self, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        """Cases x HEAD x 3: the meaning features as `Meaning.features` computes them with the
        adapted query (0 past a head's end)."""
        moved = self.queries @ down
        adapted = self.queries + moved @ up.T
        projected = self.matrices @ up  # each stored row once, not once per head it is in
        # Every case against every stored row as one product, then read at the pairs the
        # heads hold: gathering rank-wide rows per pair instead made each step's backward
        # pass scatter millions of rows (1.7 s of a 2.4 s step on 2 cores).
        shifted = torch.take(moved @ projected.T, self.pair)
        similarity = (self.plain + shifted) / adapted.norm(dim=1)[self.owner]
        best = torch.full((self.count * HEAD * 3,), -1e9).scatter_reduce(
            0, self.segment, similarity, "amax", include_self=True)
        best = torch.where(best < -1e8, torch.zeros_like(best), best).view(self.count, HEAD, 3)
        best = torch.where(self.mask[..., None], best, torch.full_like(best, -1e9))
        return torch.where(self.mask[..., None], best - best.max(1, keepdim=True).values,
                           torch.zeros_like(best))

    def logits(self, up: torch.Tensor, down: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """As `rerank` scores each head, with the adapted query's meaning features (and the
        lexical ones standardized)."""
        logits = torch.cat([self.base[..., :LEXICAL], self.meaning(up, down) * MEANING_SCALE,
                            self.base[..., LEXICAL:]], 2) @ weights
        return torch.where(self.mask, logits, torch.full_like(logits, -1e9))


def train(data: Data, chosen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    dimensions = data.queries.shape[1]
    up = (torch.randn(dimensions, RANK) * 0.01).requires_grad_(True)
    down = (torch.randn(dimensions, RANK) * 0.01).requires_grad_(True)
    weights = torch.zeros(LEXICAL + MEANING + EXAMPLE, requires_grad=True)
    optimiser = torch.optim.Adam([weights, up, down], lr=0.05)
    usable = chosen[data.target[chosen] >= 0]
    for _ in range(STEPS):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(data.logits(up, down, weights)[usable],
                                                 data.target[usable])
        loss = loss + L2_WEIGHTS * (weights ** 2).mean() + \
            L2_ADAPTER * ((up ** 2).sum() + (down ** 2).sum())
        loss.backward()
        optimiser.step()
    return up.detach(), down.detach(), weights.detach()


def answer_has_examples(router: Router, evals: EvalFile) -> list[bool]:
    """For each case that expects a document (as `fitting.collect` takes them): whether an
    example question from another file names its answer."""
    model = semantic._Model.get()
    assert model is not None and router.meaning.bank is not None
    found = []
    for case in evals.cases:
        if case.expect == "clarify":
            continue
        head, _ = router.head(case.query, hide_examples_from=evals.origin)
        answer = next((entry.index for entry in head if expect_matches(
            router, case.expect, fitting._label(router, entry.index))), None)
        found.append(answer is not None and
                     router.meaning.bank.has_examples(model, answer, evals.origin))
    return found


def folds(paths: list[Path]) -> list[list[Path]]:
    """The eval files dealt into FOLDS groups, round robin: each fold mixes writers and rounds,
    and fitting FOLDS + 1 adapters (not one per file) keeps the script within minutes."""
    return [paths[start::FOLDS] for start in range(FOLDS)]


def accuracy(data: Data, chosen: torch.Tensor, found: tuple[torch.Tensor, ...]) -> float:
    with torch.no_grad():
        best = data.logits(*found).argmax(1)
    return float((best[chosen] == data.target[chosen]).float().mean())


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / \
        "shared" / "corpora" / "skillpacks"
    torch.set_num_threads(2)
    assert len(rerank.FEATURES) == LEXICAL + MEANING + EXAMPLE, "the feature layout changed"
    router = Router(load_source(corpus), adapt=False)
    data = Data(router, CORPUS_EVALS)
    everyone = torch.arange(data.count)
    print(f"adapter: {data.count} cases from {len(CORPUS_EVALS)} files")
    packs = [pack.name for pack in router.catalog.packs if pack.skills]
    held_out = []
    # Each fold's files routed with an adapter fitted without them: the thresholds are
    # calibrated on those decisions. (Calibrated on an adapter that has seen every file, they
    # come out too low: such an adapter is surer of these questions than of new ones.)
    runs = []
    out_of_fold: list[fitting.Example] = []  # each case's head, read by its fold's adapter
    covered: list[bool] = []  # whether each case's answer has examples from other files
    for number, paths in enumerate(folds(CORPUS_EVALS)):
        names = {path.name for path in paths}
        inside = torch.tensor([i for i, f in enumerate(data.files) if f in names])
        outside = torch.tensor([i for i, f in enumerate(data.files) if f not in names])
        fold = train(data, outside)
        held_out.append(accuracy(data, inside, fold))
        print(f"  fold {number} ({len(paths)} files, {len(inside)} cases) left out: top-1 in "
              f"the head {held_out[-1]:.1%} (fitted on the other folds)")
        routed = Router(router.catalog)
        routed.meaning.adapter = adapter.QueryAdapter(f"fold-{number}", frozenset(packs),
                                                      fold[0].numpy(), fold[1].numpy())
        files = [load_evals(path) for path in paths]
        runs.append((routed, files))
        out_of_fold += [example for evals in files for example in fitting.collect(routed, evals)]
        covered += [flag for evals in files for flag in answer_has_examples(router, evals)]
    print(f"  mean {sum(held_out) / len(held_out):.1%}")
    # The reranker's weights for the adapted regime are fitted on those out-of-fold heads too:
    # on heads read by the adapter fitted on them, the meaning features are near perfect
    # (98% top-1) and weights fitted there trust them far more than new questions warrant.
    print("the shipped WEIGHTS[ADAPTED] on the out-of-fold heads: top-1 "
          f"{fitting.accuracy(out_of_fold, rerank.WEIGHTS[rerank.ADAPTED]):.1%}")
    # Every document of the corpus has example questions (two training questions each), but an
    # eval run hides a file's own: a training file's cases often lose every example of their
    # answer, which never happens to a new question. Fitted with those cases, the weights learn
    # to distrust examples; they are fitted on the cases whose answer keeps some.
    stacked = [example for example, kept in zip(out_of_fold, covered, strict=True) if kept]
    print(f"stacking on the {len(stacked)} cases whose answer has examples in other files")
    weights, lines = fitting.report(stacked)
    print("\n".join(lines).replace("WEIGHTS = ", "WEIGHTS[ADAPTED] = "))
    for routed, _ in runs:
        routed.weights = weights
    thresholds, top1 = calibrate(runs)
    print(f"thresholds for ADAPTED, calibrated out of fold: {thresholds} (mean top-1 {top1:.1%})")
    up, down, _ = train(data, everyone)
    adapter.save(OUT, packs, up.numpy(), down.numpy())
    print(f"wrote {OUT} ({len(packs)} packs, rank {RANK})")


if __name__ == "__main__":
    main()
