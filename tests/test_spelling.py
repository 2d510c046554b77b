"""Misspelt query words are read as the packs' words; real words and jargon are left alone."""

from __future__ import annotations

import pytest

from conftest import BUNDLED
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing.spelling import Speller, edits, english_words
from skillsrv.routing.text import stem

ENGLISH = {"transformer": 50, "images": 90, "tabular": 5, "convolutional": 9, "properly": 80,
           "chance": 70, "layers": 40, "layer": 60}


def read(idf: dict[str, float], word: str,
         english: dict[str, int] | None = None) -> tuple[str, str | None] | None:
    return Speller(idf, lambda: ENGLISH if english is None else english).correct(word, stem(word))


def test_a_word_one_letter_off_a_pack_term_is_read_as_that_term_and_the_word_meant() -> None:
    idf = {"transformer": 1.0, "image": 2.0, "tabular": 3.0, "cnn": 1.5}
    assert read(idf, "tranformer") == ("transformer", "transformer")  # a letter left out
    assert read(idf, "tabluar") == ("tabular", "tabular")  # two swapped
    assert read(idf, "imges") == ("image", "images")
    assert read(idf, "convolutonal") == ("cnn", "convolutional")  # through the synonym table


def test_terms_the_packs_have_english_words_and_short_words_are_left_alone() -> None:
    idf = {"property": 1.0, "chang": 1.0, "transformer": 1.0, "cat": 1.0}
    assert read(idf, "transformer") is None  # a pack's own term
    assert read(idf, "properly") is None  # English, though one letter off "property"
    assert read(idf, "chance") is None
    assert read(idf, "cart") is None  # too short to guess from
    assert read(idf, "xk2231b") is None  # not a word at all
    assert read({"property": 1.0}, "propertu", english={}) is None  # no word list: no guesses


def test_the_commonest_neighbour_wins_and_the_first_letter_is_kept() -> None:
    # "payerz" is the commonest, but changes the first letter; "layered" is two edits off.
    assert read({"layer": 2.0, "layered": 1.0, "payerz": 0.1}, "layerz") == ("layer", "layer")
    assert read({"layer": 2.0, "layerx": 1.0}, "layerz")[0] == "layerx"  # type: ignore[index]
    assert all(edit[0] == "w" for edit in edits("word"))


def test_warming_up_reads_the_word_list_once_before_any_word_needs_it() -> None:
    reads: list[int] = []

    def english() -> dict[str, int]:
        reads.append(1)
        return ENGLISH

    speller = Speller({"transformer": 1.0}, english)
    assert reads == []  # a speller costs nothing until a word might need correcting
    speller.warm_up()
    assert reads == [1]


def test_the_word_list_knows_english_and_not_typos() -> None:
    words = english_words()
    assert "properly" in words and "robot" in words
    assert "tranformer" not in words and "sequnces" not in words


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_source(BUNDLED))


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


def test_slots_are_read_from_the_words_meant(router: Router) -> None:
    decision = router.route("which archtecture for 5k imges of skin lesions?")
    assert decision.known["modality"] == "image"
    assert decision.known["dataset_size"] == {"value": 5000, "unit": "images", "text": "5k images"}
    assert any("read 'imges' as 'images'" in w.message for w in decision.warnings)
