"""The per-query hot loops of routing, over numpy arrays instead of Python dicts.

A query's lexical score sums a few dozen postings lists over 600 candidates, and the reranker
asks how much of the query each head candidate's best body section holds. Walking dicts and
bitmasks in Python for both was half of a route's time. Here each term's postings (all field
groups merged) and each word's body sections (over every candidate) become arrays the first
time a query uses them, so a query's sums are one `bincount` each.

The arrays are derived from the index. Only the sections of every word are also written to
the index's cache file (`section_index`): decoding them from bitmasks word by word is most of
what a fresh index's first queries cost. Memos hold only terms the index has, so they are
bounded by its vocabulary, and start afresh past `MAX_MEMO` entries (a long-lived server
need not hold arrays for every term it was ever asked about).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from skillsrv.routing.index import Candidate

Postings = dict[str, dict[str, dict[int, float]]]  # field group -> term -> candidate -> value
_NONE = (np.zeros(0, dtype=np.intp), np.zeros(0))
MAX_MEMO = 100_000  # arrays kept per memo (a few hundred bytes each)
SECTION_B = 0.3  # length normalisation of a section's coverage (0: none, 1: full)


class Lookup:
    """Array views of one routing index's postings and section masks, made term by term."""

    def __init__(self, candidates: list[Candidate], postings: Postings, groups: tuple[str, ...],
                 average_section_length: float, body_list: Callable[[str], Sequence[int]],
                 sections: SectionIndex | None, term_weight: Callable[[str], float]) -> None:
        self._groups = groups  # what a score sums by default
        # The groups whose postings are weighed by their term's IDF (`term_weight`) as they
        # are read: the index scores them before it knows the IDFs. The others (summaries)
        # are whole.
        self._weighted = frozenset(groups)
        self._term_weight = term_weight
        self._postings = postings
        self._candidates = candidates
        self._size = len(candidates)
        self._terms: dict[tuple[tuple[str, ...], str], tuple[Any, Any]] = {}
        self._words: dict[str, Any] = {}
        self._body_list = body_list  # the candidates whose body has a term
        self._section_index = sections
        self._lock = threading.Lock()
        counts = [len(candidate.section_lengths) for candidate in candidates]
        # Each candidate's first section in the numbering of all sections (and the total).
        self._section_starts: list[int] = [0, *itertools.accumulate(counts)]
        lengths = np.fromiter((n for candidate in candidates for n in candidate.section_lengths),
                              dtype=np.float64, count=self._section_starts[-1])
        # A section's coverage is divided by this: a mild penalty for long sections.
        self._section_norms = 1 - SECTION_B + SECTION_B * lengths / average_section_length
        for candidate, start in zip(candidates, self._section_starts, strict=False):
            # A router's sections about other documents cover nothing.
            self._section_norms[_numbers(candidate.routing_sections, start)] = np.inf

    def use_section_index(self, sections: SectionIndex) -> None:
        """Find each word's sections in `sections` from now on (an index completed in the
        background made it): the same numbers, without decoding masks."""
        self._section_index = sections

    def scores(self, query_terms: frozenset[str], groups: tuple[str, ...] | None = None) -> Any:
        """Each candidate's summed postings for the terms, from some field groups (default:
        those the lookup was made with). 0.0 where no term matches; postings are
        positive, so a candidate matched exactly when its score is above 0. The body postings
        of the terms must have been scored."""
        groups = groups or self._groups
        # In sorted order: the same sums, to the last bit, whatever order the set yields its
        # terms in (it varies from process to process with the string hash seed).
        parts = [self._term(groups, term) for term in sorted(query_terms)]
        if not parts:
            return np.zeros(self._size)
        ids = np.concatenate([found[0] for found in parts])
        values = np.concatenate([found[1] for found in parts])
        return np.bincount(ids, weights=values, minlength=self._size)

    def section_cover(self, head: list[int], weighted: list[tuple[str, float]]) -> list[float]:
        """For each head candidate, the weight of the words its best body section holds,
        divided by that section's length penalty (0.0 without sections or words)."""
        found = [(self._sections(word), weight) for word, weight in weighted]
        found = [(sections, weight) for sections, weight in found if len(sections)]
        if not found:
            return [0.0] * len(head)
        ids = np.concatenate([sections for sections, _ in found])
        weights = np.repeat([weight for _, weight in found], [len(s) for s, _ in found])
        mass = np.bincount(ids, weights=weights, minlength=len(self._section_norms))
        covered = mass / self._section_norms
        starts = self._section_starts
        return [float(covered[starts[i]:starts[i + 1]].max()) if starts[i + 1] > starts[i]
                else 0.0 for i in head]

    def _term(self, groups: tuple[str, ...], term: str) -> tuple[Any, Any]:
        found = self._terms.get((groups, term))
        if found is None:
            lists = [(postings[term], group in self._weighted) for group, postings
                     in zip(groups, map(self._postings.__getitem__, groups), strict=True)
                     if term in postings]
            if not lists:  # most of a query's word pairs
                return _NONE
            values = np.fromiter((v for entries, _ in lists for v in entries.values()),
                                 dtype=np.float64)
            weight = self._term_weight(term)
            if all(weighted for _, weighted in lists):
                values *= weight
            elif any(weighted for _, weighted in lists):
                values *= np.repeat([weight if weighted else 1.0 for _, weighted in lists],
                                    [len(entries) for entries, _ in lists])
            found = (np.fromiter((i for entries, _ in lists for i in entries), dtype=np.intp),
                     values)
            with self._lock:
                if len(self._terms) >= MAX_MEMO:
                    self._terms.clear()
                self._terms[groups, term] = found
        return found

    def _sections(self, word: str) -> Any:
        """The global numbers (candidate's first section + position) of every body section
        that holds `word`: from the section index a cached index brings, else decoded from the
        masks of the candidates whose body has the word."""
        if self._section_index is not None:
            ids, spans = self._section_index
            span = spans.get(word)
            return ids[span[0]:span[1]] if span else _NONE[0]
        found = self._words.get(word)
        if found is None:
            candidates = self._candidates
            starts = self._section_starts
            numbers: list[int] = []
            for index in self._body_list(word):
                numbers.extend(_numbers(candidates[index].sections.get(word, 0), starts[index]))
            if not numbers:
                return _NONE[0]
            found = np.array(numbers, dtype=np.intp)
            with self._lock:
                if len(self._words) >= MAX_MEMO:
                    self._words.clear()
                self._words[word] = found
        return found


# Every body section that holds each word, for the index's cache file: the global section
# numbers of all words in one array, and each word's span of it. (Decoding the candidates'
# masks word by word is most of a fresh index's first queries.)
SectionIndex = tuple[Any, dict[str, tuple[int, int]]]


def section_index(candidates: list[Candidate]) -> SectionIndex:
    by_word: dict[str, list[int]] = {}
    start = 0
    for candidate in candidates:
        for word, mask in candidate.sections.items():
            found = by_word.get(word)
            if found is None:
                found = by_word[word] = []
            found.extend(_numbers(mask, start))
        start += len(candidate.section_lengths)
    spans: dict[str, tuple[int, int]] = {}
    flat: list[int] = []
    for word, found in by_word.items():
        spans[word] = (len(flat), len(flat) + len(found))
        flat.extend(found)
    return np.array(flat, dtype=np.int32), spans


def _numbers(mask: int, start: int) -> list[int]:
    """The global numbers of the sections a candidate's bitmask holds (its first is `start`)."""
    numbers = []
    while mask:
        low = mask & -mask
        numbers.append(start + low.bit_length() - 1)
        mask ^= low
    return numbers
