"""Example questions: labelled queries that say, in users' words, which document answers them.

Packs name techniques; users describe situations. The best evidence that a new question
belongs to a sheet is often an earlier question about that sheet: across the corpus's eval
files, each written by another writer, the nearest question from the other files names the
right sheet 87% of the time. Two sources feed a catalog's bank:

- a pack's own `evals.yaml` (its cases are example questions as much as tests), and
- banks shipped beside this file (`examples/*.npz`), written by `scripts/build_examples.py`
  from the eval and training files the repository holds for the corpus, with their vectors.

Each example carries the digest of the evals file it came from: an eval run hides that file's
own examples, so `skillsrv eval` never scores a question against itself. Two features per head
candidate (`FEATURES`) feed the reranker: the similarity of the query to the candidate's
closest example and the mean of its two closest, each less the head's best; a candidate with
no examples gets the mean of those that have some, so a partly covered pack is not punished
for its gaps.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillsrv.routing.labels import label_matches, route_label
from skillsrv.routing.shipped import ShippedFiles

if TYPE_CHECKING:
    from skillsrv.packs.model import Catalog
    from skillsrv.routing.index import Candidate


log = logging.getLogger("skillsrv.routing")

FOLDER = Path(__file__).with_name("examples")
EVALS_FILE = "evals.yaml"
FEATURES = ("example_best", "example_two")
SHOWN_SIMILARITY = 0.55  # an example this close to the query is shown as evidence


def origin_of(text: str) -> str:
    """The digest that identifies an evals file's content (what an eval run hides)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Example:
    query: str
    expect: str  # as an evals file names the answer (may be shortened)
    source: str  # file:line
    origin: str  # origin_of(the evals file)


def from_evals_file(path: Path, shown_as: str) -> list[Example]:
    """The cases of an evals file that name a document (not `clarify`), or none with a
    warning when the file cannot be read: a broken evals file costs its examples only."""
    from skillsrv.routing.evals import EvalError, load_evals  # evals imports the router

    try:
        evals = load_evals(path)
    except EvalError as exc:
        log.warning("%s; routing goes on without its example questions", exc)
        return []
    return [Example(case.query, case.expect, f"{shown_as}:{case.line}", evals.origin)
            for case in evals.cases if case.expect != "clarify"]


def save(path: Path, examples: list[Example], vectors: Any) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez_compressed(file, queries=np.array([e.query for e in examples]),
                            expects=np.array([e.expect for e in examples]),
                            sources=np.array([e.source for e in examples]),
                            origins=np.array([e.origin for e in examples]),
                            vectors=np.asarray(vectors, np.float16))


def read(path: Path) -> tuple[list[Example], Any]:
    """One shipped bank: its examples and their vectors (ValueError, OSError, KeyError or
    BadZipFile when the file is not one)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as found:
        columns = [found[name].tolist() for name in ("queries", "expects", "sources", "origins")]
        vectors = found["vectors"].astype(np.float32)
    if not all(len(column) == len(vectors) for column in columns) or vectors.ndim != 2:
        raise ValueError(f"{len(vectors)} vectors for {len(columns[0])} examples")
    return [Example(*map(str, row)) for row in zip(*columns, strict=True)], vectors


_files: ShippedFiles[tuple[list[Example], Any]] = ShippedFiles(
    read, "an example bank", "Rebuild it with scripts/build_examples.py")


def shipped(folder: Path = FOLDER) -> list[tuple[list[Example], Any]]:
    """Every bank in `folder`, read once per process."""
    return _files.load(folder)


def candidate_label(candidate: Candidate) -> str:
    if candidate.redirect is not None:
        return f"redirect:{candidate.redirect}"
    return route_label(candidate.pack, candidate.skill, candidate.sheet)


def resolve(catalog: Catalog, candidates: list[Candidate],
            expects: Iterable[str]) -> dict[str, int]:
    """The candidate each expectation names: the exact label when one has it, else the
    first candidate a shortened form matches. Expectations naming nothing loaded are left
    out (a bank for forty packs serves a catalog of three)."""
    labels = [candidate_label(candidate) for candidate in candidates]
    exact = {label: position for position, label in reversed(list(enumerate(labels)))}
    found: dict[str, int] = {}
    for expect in set(expects):
        if expect in exact:
            found[expect] = exact[expect]
            continue
        # A shortened name ("cnn.md", a skill, a pack) or a redirect to a loaded pack.
        match = next((position for position, label in enumerate(labels)
                      if label_matches(catalog, expect, label)), None)
        if match is not None:
            found[expect] = match
    return found


class ExampleBank:
    """The example questions of one routing index, by the candidate they name."""

    def __init__(self, catalog: Catalog, candidates: list[Candidate]) -> None:
        # Read on first use: building an index (and starting a server) costs nothing here.
        self._catalog = catalog
        self._candidates = candidates
        self._lock = threading.Lock()
        self._loaded: tuple[list[Example], list[tuple[Example, Any]], dict[str, int]] | None \
            = None
        self._ready: tuple[list[Example], Any, Any, Any] | None = None

    def _load(self) -> tuple[list[Example], list[tuple[Example, Any]], dict[str, int]]:
        """The packs' own examples (to embed), the shipped ones with their vectors, and the
        candidate each expectation names; examples naming nothing loaded are dropped."""
        with self._lock:
            if self._loaded is None:
                pack_examples: list[Example] = []
                for pack in self._catalog.packs:
                    path = Path(pack.source) / EVALS_FILE
                    if pack.skills and path.is_file():
                        pack_examples += from_evals_file(path, f"{pack.name}/{EVALS_FILE}")
                banks = shipped()
                every = pack_examples + [e for examples, _ in banks for e in examples]
                targets = resolve(self._catalog, self._candidates, (e.expect for e in every))
                self._loaded = ([e for e in pack_examples if e.expect in targets],
                                [(e, vectors[row]) for examples, vectors in banks
                                 for row, e in enumerate(examples) if e.expect in targets],
                                targets)
            return self._loaded

    def warm_up(self, model: Any) -> None:
        """Read and stack the example questions now rather than on the first query."""
        self._arrays(model)

    def _arrays(self, model: Any) -> tuple[list[Example], Any, Any, Any]:
        """The examples, their vectors (one row each), each candidate's rows and each row's
        origin, built on first use."""
        if self._ready is not None:
            return self._ready
        np = model.numpy
        own, shipped_examples, targets = self._load()
        with self._lock:
            if self._ready is None:
                dimensions = model.table.shape[1]
                # Vectors made by another embedding model (a bank built for another wordllama
                # release) are made again.
                fitting = [(e, v) for e, v in shipped_examples if v.shape == (dimensions,)]
                pending = own + [e for e, v in shipped_examples if v.shape != (dimensions,)]
                examples = [e for e, _ in fitting] + pending
                rows = [vector for _, vector in fitting]
                if pending:
                    rows.extend(model.embed([e.query for e in pending]))
                vectors = np.asarray(rows, np.float32).reshape(len(rows), dimensions)
                origins = np.asarray([e.origin for e in examples])
                rows_of: dict[int, list[int]] = {}
                for row, example in enumerate(examples):
                    rows_of.setdefault(targets[example.expect], []).append(row)
                self._ready = (examples, vectors,
                               {c: np.asarray(rows) for c, rows in rows_of.items()}, origins)
        return self._ready

    def features(self, model: Any, query: Any, head: list[int],
                 hidden: str | None = None) -> list[list[float]]:
        """For each head candidate: its closest example's similarity to the query and the mean
        of its two closest, each less the head's best (examples from `hidden` left out)."""
        np = model.numpy
        _, vectors, rows_of, origins = self._arrays(model)
        # Only the head's examples: a few dozen rows of thousands.
        rows = [self._rows(rows_of, origins, candidate, hidden) for candidate in head]
        counts = [len(mine) for mine in rows]
        if not any(counts):
            return [[0.0, 0.0] for _ in head]
        similarity: list[float] = (vectors[np.concatenate(rows).astype(np.int64)] @ query
                                   ).tolist()
        values: list[tuple[float, float] | None] = []
        start = 0
        for count in counts:
            mine = sorted(similarity[start:start + count], reverse=True)
            start += count
            values.append((mine[0], sum(mine[:2]) / len(mine[:2])) if mine else None)
        covered = [value for value in values if value is not None]
        filler = tuple(sum(column) / len(covered) for column in zip(*covered, strict=True))
        best = tuple(max(column) for column in zip(*covered, strict=True))
        return [[v - b for v, b in zip(value or filler, best, strict=True)] for value in values]

    def closest(self, model: Any, query: Any, candidate: int,
                hidden: str | None = None) -> tuple[Example, float] | None:
        """The candidate's example most like the query, and how alike (cosine)."""
        examples, vectors, rows_of, origins = self._arrays(model)
        rows = self._rows(rows_of, origins, candidate, hidden)
        if not len(rows):
            return None
        similarity = vectors[rows] @ query
        best = int(similarity.argmax())
        return examples[int(rows[best])], float(similarity[best])

    def has_examples(self, model: Any, candidate: int, hidden: str | None = None) -> bool:
        """Whether any example names the candidate (those from the file `hidden` aside)."""
        _, _, rows_of, origins = self._arrays(model)
        return len(self._rows(rows_of, origins, candidate, hidden)) > 0

    @staticmethod
    def _rows(rows_of: dict[int, Any], origins: Any, candidate: int, hidden: str | None) -> Any:
        """The rows of the candidate's examples, less those from the file `hidden`."""
        rows = rows_of.get(candidate)
        if rows is None:
            return []
        return rows if hidden is None else rows[origins[rows] != hidden]
