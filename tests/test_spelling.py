"""Misspelt query words are read as the packs' words; real words and jargon are left alone."""

from __future__ import annotations

import pytest

from conftest import BUNDLED
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing.spelling import Speller, edits, is_english
from skillsrv.routing.text import stem


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_source(BUNDLED))


def corrected(speller: Speller, word: str) -> str | None:
    return speller.correct(word, stem(word))


def test_a_word_one_letter_off_a_pack_term_is_read_as_that_term() -> None:
    speller = Speller({"transformer": 1.0, "image": 2.0, "tabular": 3.0, "cnn": 1.5})
    assert corrected(speller, "tranformer") == "transformer"  # a letter left out
    assert corrected(speller, "tabluar") == "tabular"  # two swapped
    assert corrected(speller, "imges") == "image"
    assert corrected(speller, "convolutonal") == "cnn"  # through the synonym table


def test_terms_the_packs_have_english_words_and_short_words_are_left_alone() -> None:
    speller = Speller({"property": 1.0, "change": 1.0, "transformer": 1.0, "cat": 1.0})
    assert corrected(speller, "transformer") is None  # a pack's own term
    assert corrected(speller, "properly") is None  # English, though one letter off
    assert corrected(speller, "chance") is None
    assert corrected(speller, "cart") is None  # too short to guess from
    assert corrected(speller, "xk2231b") is None  # not a word at all


def test_the_most_common_of_several_neighbours_wins_and_the_first_letter_is_kept() -> None:
    speller = Speller({"layers": 2.0, "layered": 1.0, "payerz": 0.1},
                      is_word=lambda word: False)
    # "payerz" is the most common, but changes the first letter; "layered" is two edits off.
    assert corrected(speller, "layerz") == "layers"
    assert Speller({"layers": 2.0, "layerx": 1.0}, is_word=lambda word: False).correct(
        "layerz", "layerz") == "layerx"  # lower IDF: more documents have it
    assert all(edit[0] == "w" for edit in edits("word"))


def test_the_word_list_knows_english_and_not_typos() -> None:
    assert is_english("properly") and is_english("robot")
    assert not is_english("tranformer") and not is_english("sequnces")


@pytest.mark.parametrize(("typed", "clean"), [
    ("which tranformer for long sequnces of text?", "which transformer for long sequences of text?"),
    ("my convolutonal net for imges overfits", "my convolutional net for images overfits"),
    ("graph neual network for molecuels", "graph neural network for molecules"),
])
def test_a_query_with_typos_routes_like_the_clean_one_and_says_what_it_read(
        router: Router, typed: str, clean: str) -> None:
    decision = router.route(typed)
    assert decision.routes[0].sheet == router.route(clean).routes[0].sheet
    notes = [w.message for w in decision.warnings if w.kind == "input"]
    assert notes and all(note.startswith("read '") for note in notes)
    assert not [w for w in router.route(clean).warnings if w.kind == "input"]
