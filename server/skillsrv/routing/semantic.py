"""Meaning beside words: static word embeddings compare a query with the head's candidates.

BM25 matches words; a user who writes "my agent loops forever collecting the same bonus" means
what a sheet calls reward hacking, with no word in common. WordLlama's token embeddings (the
input embeddings of a large language model, distilled for similarity; 32k tokens x 256 values,
shipped inside its wheel) average into a vector per text, in microseconds and without torch.
Three similarities per head candidate feed the reranker: with its summary (title,
description, opening paragraphs), with its best-matching routing phrase (route-table rows and
symptoms that point at it), and with its best-matching body section; two more compare the
query with the example questions that name the candidate (`routing.examples`).

Candidates are embedded lazily, the first time one reaches a query's head, and kept for the
life of the index: a marketplace has 15k sections, and embedding them all would cost seconds
that most of them never repay.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillsrv.routing import body as body_code
from skillsrv.routing import examples as example_code

if TYPE_CHECKING:
    from skillsrv.packs.model import Catalog, Document, Skill
    from skillsrv.routing.adapter import QueryAdapter
    from skillsrv.routing.index import Candidate

log = logging.getLogger("skillsrv.routing")

# The similarities to the head's documents, then to the example questions naming them.
FEATURES = ("meaning_summary", "meaning_route", "meaning_section", *example_code.FEATURES)
_ROUTING_KINDS = frozenset({"route-row", "symptom", "wrong-route", "use-when"})
SECTION_CHARS = 1500  # of each section: its opening says what it is about
MIN_SECTION_CHARS = 40  # shorter sections are headings with a line, not topics
SUMMARY_CHARS = 2000
EMBED_BATCH = 64  # candidates per tokenizer batch when embedding a whole catalog
WEIGHTS_FILE = "l2_supercat_256.safetensors"
TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"


def _package_folder() -> Path:
    """Where the wordllama wheel put its files, found without importing the package (its
    `__init__` imports requests and pydantic models we do not need: 0.1 s)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordllama is not installed (pip install wordllama)")
    return Path(next(iter(spec.submodule_search_locations)))


def _memory_mapped(numpy: Any, path: Path, name: str) -> Any:
    """One tensor of a safetensors file, memory-mapped: rows are read as queries use them.
    (The safetensors library reads the whole 16 MB file, a tenth of a second at start-up; the
    format is an 8-byte header length, a JSON header, then the raw little-endian data.)"""
    with path.open("rb") as file:
        size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(size))
    entry = header[name]
    dtypes = {"F16": numpy.float16, "F32": numpy.float32}
    if entry.get("dtype") not in dtypes:
        raise ValueError(f"{path}: {name} is {entry.get('dtype')}, not F16 or F32")
    begin, _ = entry["data_offsets"]
    return numpy.memmap(path, dtype=numpy.dtype(dtypes[entry["dtype"]]).newbyteorder("<"),
                        mode="r", offset=8 + size + begin, shape=tuple(entry["shape"]))


class _Model:
    """WordLlama's tokenizer and embedding table, read from its package on first use."""

    _lock = threading.Lock()
    _loaded: _Model | None = None

    def __init__(self) -> None:
        # This process forks (cache writers, profiling workers): a tokenizer thread pool
        # alive across a fork can deadlock the child, and HF tokenizers warns on stderr when it
        # detects one. The texts embedded here are short; one thread is enough.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import numpy
        from tokenizers import Tokenizer

        root = _package_folder()
        self.numpy = numpy
        self.table = _memory_mapped(numpy, root / "weights" / WEIGHTS_FILE, "embedding.weight")
        tokenizer = Tokenizer.from_file(str(root / "tokenizers" / TOKENIZER_FILE))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer

    _failure: str | None = None

    @classmethod
    def get(cls) -> _Model | None:
        """The model, or None (said once in the log) when it cannot be loaded: routing goes
        on by words alone rather than failing."""
        if cls._loaded is not None:  # every query asks: no lock once loaded
            return cls._loaded
        with cls._lock:
            if cls._loaded is None and cls._failure is None:
                try:
                    cls._loaded = cls()
                except (ImportError, OSError, ValueError, KeyError) as exc:
                    cls._failure = f"{type(exc).__name__}: {exc}"
                    log.warning("routing without embeddings: the wordllama model did not load "
                                "(%s); reinstall skillsrv's dependencies to restore it",
                                cls._failure)
            return cls._loaded

    def embed(self, texts: list[str]) -> Any:
        """One unit-length row per text (zeros for a text with no tokens)."""
        np = self.numpy
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts,
                                                                  add_special_tokens=False)):
            if encoding.ids:
                out[row] = self.table[encoding.ids].mean(axis=0, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def embed_one(self, text: str) -> Any:
        """`embed([text])[0]` without the batch machinery (a query is embedded on every call)."""
        np = self.numpy
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(self.table.shape[1], dtype=np.float32)
        vector = self.table.take(ids, axis=0).astype(np.float32).sum(axis=0)
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm else vector


# Texts embedded by this process, by digest: an index rebuilt after an edit (a hot reload)
# embeds only what changed. Bounded: 512 bytes a text.
_REMEMBERED: OrderedDict[bytes, Any] = OrderedDict()
_REMEMBERED_LOCK = threading.Lock()
MAX_REMEMBERED = 100_000


def _embed_remembered(model: _Model, texts: list[str]) -> Any:
    """Half-precision embeddings of `texts`, reusing those this process made before."""
    np = model.numpy
    keys = [hashlib.blake2b(text.encode(), digest_size=16).digest() for text in texts]
    with _REMEMBERED_LOCK:
        known = {key: _REMEMBERED[key] for key in keys if key in _REMEMBERED}
    fresh = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
    if fresh:
        made = model.embed(list(fresh.values())).astype(np.float16)
        known.update(zip(fresh, made, strict=True))
    with _REMEMBERED_LOCK:
        for key in keys:
            _REMEMBERED[key] = known[key]
            _REMEMBERED.move_to_end(key)
        while len(_REMEMBERED) > MAX_REMEMBERED:
            _REMEMBERED.popitem(last=False)
    return np.stack([known[key] for key in keys])


class Meaning:
    """Per-candidate embeddings for one routing index, computed as candidates are needed and
    kept in the index's `meaning_vectors` (so a cached index brings them along)."""

    def __init__(self, catalog: Catalog, candidates: list[Candidate],
                 store: dict[int, tuple[Any, int]], adapter: QueryAdapter | None = None,
                 bank: example_code.ExampleBank | None = None) -> None:
        self._candidates = candidates
        self.adapter = adapter  # moves the query's vector (routing.adapter); None: as embedded
        self.bank = bank  # example questions (routing.examples); None: none
        self._last: tuple[str, Any] | None = None  # the last text embedded, and its vector
        self._documents: dict[tuple[str, str, str | None], tuple[Skill, Document]] = {
            (pack.name, skill.name, None if doc is skill.document else doc.file_name): (skill, doc)
            for pack in catalog.packs for skill in pack.skills for doc in skill.documents()}
        # Per candidate: its summary, routing phrases and sections as the rows of one half-
        # precision matrix (half the cache file), and how many routing phrases there are.
        self._stored = store
        self._ready: dict[int, tuple[Any, int, int]] = {}  # the same in float32, for products
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the embedding model and the example questions now rather than on the first
        query (a third of a second, where a query takes milliseconds)."""
        model = _Model.get()
        if model is not None and self.bank is not None:
            self.bank.warm_up(model)

    def embed_all(self) -> int:
        """Embed every candidate not embedded yet (for the index's cache file, or a server
        completing its index in the background); how many that was."""
        model = _Model.get()
        if model is None:
            return 0
        pending = [index for index in range(len(self._candidates))
                   if index not in self._stored]
        for start in range(0, len(pending), EMBED_BATCH):
            self._embed(model, pending[start:start + EMBED_BATCH])
        return len(pending)

    def features(self, text: str, head: list[int],
                 hide_examples_from: str | None = None) -> list[list[float]]:
        """For each head candidate: its similarity to the query's meaning by summary, best
        routing phrase and best section, then to its example questions (those from the evals
        file `hide_examples_from` left out), each less the head's best (so 0 is the best)."""
        if not head:
            return []
        model = _Model.get()
        if model is None:  # every candidate alike: the words decide
            return [[0.0] * len(FEATURES) for _ in head]
        np = model.numpy
        plain = self._embedded(model, text)
        query = self.adapter.apply(plain) if self.adapter is not None else plain
        matrices: list[Any] = []
        starts: list[int] = []
        lengths: list[int] = []
        offset = 0
        for matrix, routes, sections in self._matrices(model, head):
            matrices.append(matrix)
            starts.extend((offset, offset + 1, offset + 1 + routes))
            lengths.extend((1, routes, sections))
            offset += len(matrix)
        # One product for the whole head, then the best row of each part of each candidate.
        # reduceat needs every start inside the array (a last part may be empty): one more
        # row, below any cosine, which the last part's maximum then never takes.
        similarity = np.concatenate([*matrices, np.zeros((1, query.shape[0]), np.float32)]) \
            @ query
        similarity[-1] = -np.inf
        best = np.maximum.reduceat(similarity, starts)
        best[np.asarray(lengths) == 0] = 0.0
        best = best.reshape(len(head), 3)
        rows: list[list[float]] = (best - best.max(axis=0)).tolist()
        # Question to question, the query as written: the adapter moves it towards documents.
        examples = self.bank.features(model, plain, head, hide_examples_from) \
            if self.bank is not None else [[0.0] * len(example_code.FEATURES)] * len(head)
        return [row + extra for row, extra in zip(rows, examples, strict=True)]

    def closest_examples(self, text: str, candidates: list[int],
                         hide_examples_from: str | None = None
                         ) -> list[tuple[example_code.Example, float] | None]:
        """Each candidate's example question most like `text`, and the cosine."""
        model = _Model.get()
        if model is None or self.bank is None:
            return [None] * len(candidates)
        query = self._embedded(model, text)
        return [self.bank.closest(model, query, candidate, hide_examples_from)
                for candidate in candidates]

    def _embedded(self, model: _Model, text: str) -> Any:
        """`text`'s vector, kept for the next call: a query is embedded for its features and
        again for its evidence."""
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        vector = model.embed_one(text)
        self._last = (text, vector)  # one assignment: threads see the old pair or the new
        return vector

    def _matrices(self, model: _Model, head: list[int]) -> list[tuple[Any, int, int]]:
        missing = [index for index in head if index not in self._ready]
        if missing:
            self._embed(model, [index for index in missing if index not in self._stored])
            np = model.numpy
            with self._lock:
                for index in missing:
                    matrix, routes = self._stored[index]
                    self._ready[index] = (np.asarray(matrix, dtype=np.float32), routes,
                                          len(matrix) - 1 - routes)
        return [self._ready[index] for index in head]

    def _embed(self, model: _Model, indexes: list[int]) -> None:
        if not indexes:
            return
        texts: list[str] = []
        spans: list[tuple[int, int, int, int]] = []
        for index in indexes:
            summary, routes, sections = self._texts(self._candidates[index])
            spans.append((index, len(texts), len(routes), 1 + len(routes) + len(sections)))
            texts.extend((summary, *routes, *sections))
        vectors = _embed_remembered(model, texts)
        with self._lock:
            for index, start, phrases, count in spans:
                self._stored[index] = (vectors[start:start + count], phrases)

    def _texts(self, candidate: Candidate) -> tuple[str, list[str], list[str]]:
        routes = [item.text for item in candidate.evidence if item.kind in _ROUTING_KINDS]
        found = self._documents.get(candidate.key)
        if found is None:  # a redirect to a pack that is not loaded: what is said about it
            return " ".join(routes)[:SUMMARY_CHARS] or candidate.pack, routes, []
        skill, doc = found
        summary = f"{doc.title or ''}. {skill.description_of(doc)} {body_code.intro(doc.body)}"
        # A router's sections that send readers elsewhere are about the documents they name
        # (the index marks them from the body profile).
        sections = [section[:SECTION_CHARS] for number, section in enumerate(
            body_code.split_sections(doc.body, body_code.heading_lines(doc)))
            if len(section.strip()) > MIN_SECTION_CHARS
            and not candidate.routing_sections >> number & 1]
        return summary[:SUMMARY_CHARS], routes, sections
