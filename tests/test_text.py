"""Turning text into routing terms: the same meaning gives the same terms, in queries and in
long pack bodies alike."""

from __future__ import annotations

import pytest

from skillsrv.routing import text as text_code
from skillsrv.routing.text import term_counts, terms


def test_oom_and_out_of_memory_are_one_term_but_room_and_zoom_are_not() -> None:
    for text in ("OOM on the 4090", "out of memory on the 4090", "out-of-memory (oom)"):
        assert "outofmemory" in terms(text)
    assert "outofmemory" not in terms("room to zoom in; bloom filters")


def test_a_long_body_counts_phrases_and_repeated_pairs_like_a_query_would() -> None:
    body = "Time series forecasting. " * 2 + "We hit OOM twice: oom again, then room."
    counts = term_counts(body)
    assert counts["timeseries"] == 2 and counts["outofmemory"] == 2
    assert counts["sery_forecasting"] == 2  # a pair the text repeats ...
    assert "hit_twic" not in counts  # ... and not one it says once
    assert set(terms("time-series forecasting")) <= set(counts)


@pytest.mark.parametrize("text", [
    "Use C++ or C# (or F#) here", "## Heading\n\n# comment then x+1 and a+b+c", "++x, #tag",
    "naïve café → straße, İstanbul", "tabs\tand\u00a0spaces", "1e-3+5 and 16x16", "", "#", "+"])
def test_long_texts_split_into_the_same_words_as_the_word_pattern_finds(text: str) -> None:
    from skillsrv.routing import text as text_code

    lower = text.lower().replace("'", "")
    assert text_code._words(lower) == text_code._WORD.findall(lower)


@pytest.mark.parametrize(("british", "american"), [
    ("optimise", "optimize"), ("quantisation", "quantization"), ("analysed", "analyzed"),
    ("behaviour", "behavior"), ("neighbours", "neighbors"), ("normalising", "normalizing"),
    ("labourer", "laborer")])
def test_british_and_american_spellings_are_one_term(british: str, american: str) -> None:
    assert terms(british) == terms(american)


def test_words_that_only_end_like_british_spellings_still_meet_their_own_forms() -> None:
    for one, other in (("exercise", "exercises"), ("detour", "detours"), ("noise", "noises"),
                       ("raise", "raised"), ("hour", "hours"), ("supervised", "supervise")):
        assert terms(one) == terms(other)
    assert terms("four hours") == ["four", "hour"]  # short words are left alone


def test_a_named_norm_keeps_its_name_beside_the_family() -> None:
    assert terms("RMSNorm or LayerNorm?") == ["rmsnorm", "normalization", "layernorm",
                                             "normalization"]
    assert "batchnorm" in terms("batch norm") and "normalization" in terms("BatchNorm")
    assert set(terms("instance norm")) == set(terms("InstanceNorm")) == {"instancenorm",
                                                                         "normalization"}


@pytest.mark.parametrize(("short", "spelt_out"), [
    ("24M params", "24M parameters"), ("which hyperparams", "which hyperparameters"),
    ("SE blocks in a ResNet", "squeeze-excitation block in a ResNet"),
    ("no paired examples", "unpaired examples")])
def test_practitioners_shorthand_meets_the_words_packs_spell_out(short: str,
                                                                spelt_out: str) -> None:
    assert set(terms(short)) & set(terms(spelt_out)) - {"resnet", "exampl"}


def test_a_phrase_is_looked_for_only_where_all_its_literal_words_are() -> None:
    from skillsrv.routing.text import _required_words

    assert _required_words(r"x[\s-]+rays?") == ("x", "ray")
    assert _required_words(r"fine[\s-]+tun(e|ed|ing)") == ("fine", "tun")
    assert _required_words(r"graph[\s-]+neural[\s-]+net(work)?s?") == ("graph", "neural", "net")
    assert _required_words(r"se(?<=\bse)[\s-]+(?:blocks?|modules?)\b") == ("se",)


def test_a_bodys_sections_read_as_each_section_would_alone() -> None:
    """Phrases are found per section, but looked for only in documents that hold them: a
    phrase split over two sections ("time" / "series") counts in neither."""
    from skillsrv.routing import body, text

    doc = ("# Fine-tuning\nWe fine-tune on x rays, then fine tuned again, for a long time\n"
           "## Series of losses\nA data loader, OOM twice.\n"
           "## Layer norm\nLayer-normalization and RMSNorm; out of memory.\n")
    cuts = [0, 2, 4]
    lower = doc.lower().replace("'", "")
    sections = body.split_sections(lower, cuts)
    expected = [text.term_sequence(section) for section in body.split_sections(doc, cuts)]
    assert text.section_sequences(sections, lower) == expected
    assert "timeseries" not in {term for seq, found in expected for term in (*seq, *found)}
    assert expected[0][1].count("finetun") == 3 and "image" in expected[0][1]


def _normalized_by_every_phrase(found: str) -> str:
    """`normalize` as it reads, without the literal tests that skip phrases."""
    found = found.lower().replace("’", "'").replace("'", "")
    for pattern, replacement in text_code.PHRASES:
        found = pattern.sub(replacement, found)
    return found


# Texts where phrases meet, chain ("layer norm" -> "layernorm" -> its family) or nearly match.
_PHRASE_TEXTS = [
    "Layer norm vs Batch-Norm in a ViT (vision transformer) fine-tuned on X-rays",
    "real time time-series forecasts on-device; OOM / out of memory; RMSNorm or groupnorm?",
    "SE blocks, se-attention, skip connections, a data loader, learning-rate warm-up",
    "graph neural networks and recurrent neural nets for molecules, mixture of experts",
    "retrieval augmented generation with state space models, unpaired images",
    "bloom filters, boomerang, rooms, xray-free runtime series, exercise", "", "’’",
]


def test_skipping_phrases_whose_literals_are_absent_changes_no_normalized_text() -> None:
    for found in _PHRASE_TEXTS:
        assert text_code.normalize(found) == _normalized_by_every_phrase(found), found


def test_the_terms_of_many_headings_at_once_are_each_headings_terms() -> None:
    assert text_code.terms_of_each(_PHRASE_TEXTS) == [terms(found) for found in _PHRASE_TEXTS]
    assert text_code.terms_of_each(["layer norm"]) == [terms("layer norm")]
    assert "normalization" in text_code.terms_of_each(["Batch", "layer norm"])[1]


def test_phrases_found_from_a_documents_words_are_those_found_in_its_text() -> None:
    for found in _PHRASE_TEXTS:
        lower = found.lower().replace("'", "")
        words = [text_code._words(line) for line in lower.split(", ")]
        assert text_code.phrases_in(lower, words) == text_code.phrases_in(lower)
    assert text_code.phrases_in("x rays", [["x", "rays"]])  # a literal inside a word
    assert not text_code.phrases_in("xrays", [["xrays"]])  # literals, but no phrase
    # A phrase that starts with a whole word needs that word, not the letters inside another.
    for lower in ("use se blocks", "a se-module", "the oom killer", "c+se block", "x#oom",
                  "these blocks", "boom"):
        words = [text_code._words(lower)]
        assert text_code.phrases_in(lower, words) == text_code.phrases_in(lower), lower


def test_every_phrase_has_a_literal_to_look_for() -> None:
    assert all(words for words in text_code._PHRASE_WORDS)
