"""The array views behind a route's sums (routing.lookup): the same numbers as the index's
postings and section masks give when summed by hand, from a fresh index and a cached one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import BUNDLED
from skillsrv.forking import wait_detached
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing.index import RoutingIndex
from skillsrv.routing.lookup import SECTION_B, Lookup, section_index
from skillsrv.routing.rerank import head_of

QUERIES = [
    "I have 5,000 chest X-rays; which network should I start with?",
    "my transformer's loss goes to NaN after a few epochs",
    "forecast hourly electricity demand from two years of readings",
    "graph neural network for molecules, 24GB GPU",
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_source(BUNDLED))


def _by_hand(index: RoutingIndex, terms: frozenset[str],
             groups: tuple[str, ...] | None = None) -> dict[int, float]:
    """Each posting weighed by its term's IDF (the index stores them without it)."""
    totals: dict[int, float] = {}
    for group in groups or tuple(index.postings):
        for term in terms:
            for candidate, value in index.postings[group].get(term, {}).items():
                totals[candidate] = totals.get(candidate, 0.0) + value * index.term_weight(term)
    return totals


def _cover_by_hand(index: RoutingIndex, candidate_index: int,
                   weighted: list[tuple[str, float]]) -> float:
    candidate = index.candidates[candidate_index]
    mass: dict[int, float] = {}
    for word, weight in weighted:
        mask = candidate.sections.get(word, 0)
        for section in range(mask.bit_length()):
            # A router's sections about other documents cover nothing.
            if mask >> section & 1 and not candidate.routing_sections >> section & 1:
                mass[section] = mass.get(section, 0.0) + weight
    average = index.average_section_length
    return max((value / (1 - SECTION_B + SECTION_B * candidate.section_lengths[section] / average)
                for section, value in mass.items()), default=0.0)


@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_the_postings_summed_by_hand(router: Router, query: str) -> None:
    terms, _ = router._terms(query)
    scores = router.index.score(terms)  # scores the body postings the sums need, too
    expected = _by_hand(router.index, terms)
    assert expected, "the query matches nothing: not a test"
    assert set(np.flatnonzero(scores).tolist()) == set(expected)
    for candidate, value in expected.items():
        assert math.isclose(scores[candidate], value, rel_tol=1e-12)
    some = sorted(expected)[:5]
    for group in ("body", "pack"):
        by_hand = _by_hand(router.index, terms, (group,))
        assert router.index.score_of(terms, some, (group,)) == pytest.approx(
            [by_hand.get(i, 0.0) for i in some], rel=1e-12)


def test_summary_scores_are_the_summary_postings_summed(router: Router) -> None:
    terms, _ = router._terms(QUERIES[0])
    words = frozenset(term for term in terms if "_" not in term)
    everyone = list(range(len(router.index.candidates)))
    expected = [math.fsum(router.index.summary_postings.get(term, {}).get(i, 0.0)
                          for term in words) for i in everyone]
    assert any(expected)
    assert router.index.summary_score(words, everyone) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("query", QUERIES)
def test_section_cover_is_the_same_from_masks_and_from_the_section_index(
        router: Router, query: str) -> None:
    index = router.index
    terms, _ = router._terms(query)
    weighted = [(term, index.idf.get(term, 0.0)) for term in terms if "_" not in term]
    everyone = list(range(len(index.candidates)))
    expected = [_cover_by_hand(index, i, weighted) for i in everyone]
    assert any(expected)
    body_lists = {word: [i for i, c in enumerate(index.candidates) if word in c.sections]
                  for word, _ in weighted}
    from_masks = Lookup(index.candidates, index.postings, tuple(index.postings),
                        index.average_section_length, body_lists.__getitem__, None,
                        index.term_weight)
    from_index = Lookup(index.candidates, index.postings, tuple(index.postings),
                        index.average_section_length, lambda word: [],
                        section_index(index.candidates), index.term_weight)
    for lookup in (from_masks, from_index):
        assert lookup.section_cover(everyone, weighted) == pytest.approx(expected, rel=1e-12)


def test_the_head_is_the_best_matched_candidates_with_ties_in_candidate_order() -> None:
    scores = np.array([0.0, 2.0, 5.0, 2.0, 0.0, 7.0, 2.0])
    assert head_of(scores) == [5, 2, 1, 3, 6]
    assert head_of(scores, depth=3) == [5, 2, 1]
    assert head_of(np.zeros(4)) == []


def test_a_cached_index_brings_its_section_index_and_routes_as_the_fresh_one(
        cache_folder: object) -> None:
    catalog = load_source(BUNDLED)
    fresh = Router(catalog)
    assert "section_words" not in fresh.index.__dict__
    wait_detached()  # the forked child that writes the cache file
    cached = Router(catalog)
    assert "section_words" in cached.index.__dict__
    for query in QUERIES:
        assert cached.route(query) == fresh.route(query)


def test_a_fresh_index_finds_which_bodies_hold_a_term_as_queries_ask(
        cache_folder: object) -> None:
    index = Router(load_source(BUNDLED)).index
    having = {term: [i for i, counts in enumerate(index._body_counts) if term in counts]
              for term in ("image", "transformer", "lstm", "nosuchterm", "image_classify")}
    assert having["image"] and having["transformer"] and not having["nosuchterm"]
    assert {term: index._body_list(term) for term in having} == having
    assert "nosuchterm" not in index._body_lists  # an unknown term is not kept
    index._all_body_lists()
    assert {term: index._body_lists.get(term, []) for term in having} == having


SCORES_DIGEST = """
import hashlib, sys
from skillsrv.packs import load_source
from skillsrv.routing import Router
router = Router(load_source(sys.argv[1]))
digest = hashlib.sha256()
for query in sys.argv[2:]:
    ranked, rows = router.head(query)
    digest.update(repr(([r.lexical for r in ranked], rows)).encode())
    digest.update(router.route(query).model_dump_json().encode())
print(digest.hexdigest())
"""


def test_scores_and_features_are_the_same_to_the_bit_whatever_the_hash_seed() -> None:
    """Sets of strings iterate in an order that changes with the process's hash seed; sums
    taken in that order differ in their last bits, and ties then break differently."""
    import os
    import subprocess
    import sys

    digests = set()
    for seed in ("0", "1", "2"):
        done = subprocess.run([sys.executable, "-c", SCORES_DIGEST, str(BUNDLED), *QUERIES],
                              capture_output=True, text=True, check=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_the_memos_start_afresh_past_their_bound_and_the_sums_stay_right(
        router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    from skillsrv.routing import lookup as lookup_code

    monkeypatch.setattr(lookup_code, "MAX_MEMO", 3)
    index = router.index
    fresh = Lookup(index.candidates, index.postings, tuple(index.postings),
                   index.average_section_length, lambda word: [],
                   section_index(index.candidates), index.term_weight)
    for query in QUERIES:
        terms, _ = router._terms(query)
        index.score(terms)  # the body postings the sums need
        assert np.array_equal(fresh.scores(terms), index.score(terms))
        assert len(fresh._terms) <= 3
