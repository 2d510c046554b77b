"""Routing decisions on a small pack written to disk: routes with evidence, wrong-route rules,
redirects, recency warnings, clarifying questions, and bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import BUNDLED, write_tree
from skillsrv.packs import Catalog, load_source, load_sources
from skillsrv.routing import QueryError, Router
from skillsrv.routing.router import most_shared_bit

ROUTER = """---
name: using-vision
description: "Use when choosing a vision or sequence architecture for a new problem"
---
# Vision router

## Route by data

| Data | Route To | Why |
|---|---|---|
| Photos, medical scans, satellite images | [cnn.md](cnn.md) | spatial structure |
| Sensor time series and forecasting | [sequences.md](sequences.md) | temporal order |

### Images

**Symptoms triggering this route:**
- "classify pictures"
- "tumour scans"

**Route to:** [cnn.md](cnn.md)

**Clarifying questions:**
- "How many labelled images do you have?" (under 10k: pretrained CNN; over 1M: ViT)
- "Does it have to run on a device?" (edge: mobile CNN)

## Red Flags

| Pattern | Why Clarify | What to Ask |
|---|---|---|
| "Best model for my data" | best depends on constraints | "What data, how much, and what hardware?" |

## Common Routing Mistakes

| Symptom | Wrong Route | Correct Route | Why |
|---|---|---|---|
| "loss explodes to NaN during training" | [cnn.md](cnn.md) | **training-optimization** | training dynamics, not architecture |
| "Vision transformer versus ResNet for scans" | [sequences.md](sequences.md) | [cnn.md](cnn.md) | a comparison of image models |

## Recency Bias

| Trendy Architecture | When NOT to Use | Better Alternative |
|---|---|---|
| Vision Transformers (ViT) | Small datasets (< 10k images) | A pretrained ResNet |
"""

FILES = {
    "using-vision/SKILL.md": ROUTER,
    "using-vision/cnn.md": "---\nname: cnn\ndescription: \"Use when picking a convolutional "
                           "network for images\"\n---\n# Convolutional networks\n\n## ResNet "
                           "depths\n\nResidual blocks, pooling, pretrained weights.\n",
    "using-vision/sequences.md": "# Sequence models\n\n## LSTM and TCN\n\nRecurrent and "
                                 "temporal convolution models for ordered data: sensor "
                                 "streams, time series windows.\n",
}


@pytest.fixture
def router(tmp_path: Path) -> Router:
    return Router(load_source(write_tree(tmp_path / "vision", FILES)))


def test_a_clear_query_routes_to_the_sheet_with_evidence_and_sources(router: Router) -> None:
    decision = router.route("I want to classify pictures of birds from my camera traps")
    assert decision.decision.value == "route"
    best = decision.routes[0]
    assert (best.pack, best.skill, best.sheet) == ("vision", "using-vision", "cnn.md")
    assert 0 < best.confidence <= 1 and best.score > decision.routes[1].score
    symptom = next(e for e in best.evidence if e.kind == "symptom")
    assert symptom.text == "classify pictures"
    assert symptom.source.startswith("vision/using-vision/SKILL.md:")


def test_routes_come_best_first_and_are_deterministic(router: Router) -> None:
    first = router.route("forecasting sensor time series for a factory")
    again = router.route("forecasting sensor time series for a factory")
    assert first == again
    assert first.routes[0].sheet == "sequences.md"
    assert [r.score for r in first.routes] == sorted((r.score for r in first.routes),
                                                     reverse=True)


def test_a_wrong_route_rule_wins_over_the_sheet_that_looks_right(router: Router) -> None:
    decision = router.route("vision transformer versus resnet for my scans?")
    assert decision.decision.value == "route"
    assert decision.routes[0].sheet == "cnn.md"
    assert decision.routes[0].evidence[0].kind == "wrong-route"


def test_a_query_sharing_only_some_words_of_a_wrong_route_symptom_is_not_overridden(
        router: Router) -> None:
    # "Vision transformer versus ResNet for scans": this query has "ResNet" and "scans" but
    # is about sensor time series, so the rule must not force it onto cnn.md.
    decision = router.route("a ResNet over sensor time series windows, scanned at 50 Hz")
    assert decision.routes[0].sheet == "sequences.md"


def test_a_wrong_route_symptom_whose_words_are_scattered_over_a_long_story_does_not_fire(
        router: Router) -> None:
    # Every word of "Vision transformer versus ResNet for scans" is here, but in different
    # sentences about other things: the question is about forecasting sensor readings.
    story = ("Last year a colleague tried a vision transformer on another team's problem. "
             "Ours is forecasting: sensor time series from pumps, hourly readings, temporal "
             "order matters, windows of a week, years of history. Someone suggested reusing "
             "the ResNet from the scans project. Which sequence model fits?")
    decision = router.route(story)
    assert decision.routes[0].sheet == "sequences.md"
    assert all(e.kind != "wrong-route" for e in decision.routes[0].evidence)
    # The same words said together are the symptom, and the rule still wins.
    said = router.route("a vision transformer or a ResNet for these scans, and why?")
    assert said.routes[0].sheet == "cnn.md"
    assert said.routes[0].evidence[0].kind == "wrong-route"


def test_a_wrong_route_to_a_pack_that_is_not_loaded_is_a_redirect(router: Router) -> None:
    decision = router.route("my loss explodes to NaN after two epochs of training")
    assert decision.decision.value == "redirect"
    assert decision.redirect is not None
    assert decision.redirect.pack == "training-optimization"
    assert "training dynamics" in decision.redirect.reason
    assert decision.redirect.source is not None and "SKILL.md:" in decision.redirect.source


def test_a_wrong_route_to_a_loaded_pack_routes_into_that_pack(tmp_path: Path) -> None:
    write_tree(tmp_path / "vision", FILES)
    write_tree(tmp_path / "training-optimization", {
        "using-training-optimization/SKILL.md": "---\nname: using-training-optimization\n"
        "description: \"Use when training diverges\"\n---\n# Training\n\n| Symptom | Route To |"
        "\n|---|---|\n| loss is NaN | [nan.md](nan.md) |\n",
        "using-training-optimization/nan.md": "# NaN losses\n\nGradient clipping.\n"})
    catalog = load_sources([tmp_path / "vision", tmp_path / "training-optimization"])
    decision = Router(catalog).route("my loss explodes to NaN after two epochs of training")
    assert decision.decision.value == "route"
    assert decision.routes[0].pack == "training-optimization"


def test_a_vague_query_asks_first_instead_of_guessing(router: Router) -> None:
    decision = router.route("what is the best model for my data?")
    assert decision.decision.value == "clarify"
    asks = [q.question for q in decision.questions]
    assert "What data, how much, and what hardware?" in asks
    red_flag = next(q for q in decision.questions if q.question.startswith("What data"))
    assert red_flag.source.startswith("vision/using-vision/SKILL.md:")


def test_two_sheets_that_match_equally_well_are_a_clarify_not_a_coin_toss(
        tmp_path: Path) -> None:
    # Alike in every word and every meaning: the same title and text under two file names.
    twin = ('---\nname: {name}\ndescription: "Use when gradient boosted trees meet missing '
            'values in tabular churn data"\n---\n# Churn trees\n\nGradient boosted trees '
            'handle missing values in tabular churn data natively.\n')
    files = {"using-tables/SKILL.md": "---\nname: using-tables\ndescription: \"Use for "
             "tabular data\"\n---\n# Tables\n\n- [left.md](left.md)\n- [right.md](right.md)\n",
             "using-tables/left.md": twin.format(name="left"),
             "using-tables/right.md": twin.format(name="right")}
    router = Router(load_source(write_tree(tmp_path / "tables", files)))
    decision = router.route("gradient boosted trees with missing values in tabular churn data")
    assert decision.routes[0].score == decision.routes[1].score > 2 * router.thresholds.min_score
    assert decision.decision.value == "clarify"
    assert {r.sheet for r in decision.routes[:2]} == {"left.md", "right.md"}


@pytest.mark.parametrize("query", [
    "which guides do you have for vision models? list them",
    "give me an overview of what the vision router covers",
    "which vision topics do you have separate guides for?",
])
def test_asking_what_the_pack_covers_routes_to_its_router(router: Router, query: str) -> None:
    decision = router.route(query)
    assert decision.routes[0].skill == "using-vision"
    assert decision.routes[0].sheet is None


def test_a_node_in_a_cluster_is_not_taken_for_graph_data(tmp_path: Path) -> None:
    write_tree(tmp_path / "ops", {
        "using-ops/SKILL.md": "---\nname: using-ops\ndescription: \"Use when a database "
        "cluster is overloaded\"\n---\n# Ops\n\n- [sharding.md](sharding.md)\n",
        "using-ops/sharding.md": "# Sharding\n\nOne hot node takes most writes; split the "
        "keys so load spreads.\n"})
    write_tree(tmp_path / "ml", {
        "using-ml/SKILL.md": "---\nname: using-ml\ndescription: \"Use for graph data\"\n"
        "---\n# ML\n\n- [gnn.md](gnn.md)\n",
        "using-ml/gnn.md": "---\nname: gnn\ndescription: \"Use for graph data such as "
        "molecules\"\n---\n# Graph networks\n\nGraph convolution: message passing over "
        "the graph.\n"})
    router = Router(load_sources([tmp_path / "ops", tmp_path / "ml"]))
    decision = router.route("one customer sends 40% of the writes and their node is on fire")
    assert decision.known.get("modality") == "graph"  # the slot parser still says so ...
    assert decision.routes[0].sheet == "sharding.md"  # ... but it does not steer the route


def test_questions_skip_what_the_query_already_says(router: Router) -> None:
    decision = router.route("classify pictures: 50k labelled images, must run on a phone")
    assert decision.known["dataset_size"]["value"] == 50_000
    slots = [q.slot for q in decision.questions]
    assert "dataset_size" not in slots and "deployment" not in slots


def test_route_specific_questions_come_first_with_their_why(router: Router) -> None:
    decision = router.route("classify pictures of tumour scans")
    first = decision.questions[0]
    assert first.question == "How many labelled images do you have?"
    assert "pretrained CNN" in first.why and "SKILL.md:" in first.source


def test_a_trendy_architecture_on_too_little_data_gets_a_recency_warning(
        router: Router) -> None:
    decision = router.route("should I train a ViT on my 3,000 tumour scans?")
    [warning] = decision.warnings
    assert warning.kind == "recency" and "ResNet" in warning.message
    assert router.route("should I train a ViT on 2M images?").warnings == []


@pytest.mark.parametrize("query", ["", "   \n\t ", "x" * 100_001, "abc\x00def",
                                   "\x01\x02\x03\x04\x05\x06\x07\x08 binary"])
def test_bad_queries_are_clear_errors(router: Router, query: str) -> None:
    with pytest.raises(QueryError) as caught:
        router.route(query)
    assert caught.value.message and caught.value.hint


def test_no_packs_loaded_is_a_clear_error() -> None:
    with pytest.raises(QueryError, match="no packs are loaded"):
        Router(Catalog()).route("classify images")


def test_an_unrelated_query_is_not_routed(router: Router) -> None:
    decision = router.route("what is a good recipe for sourdough bread?")
    assert decision.decision.value == "clarify"


def test_an_edit_re_tokenizes_only_the_edited_sheet_and_a_corrupt_term_cache_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_folder: Path) -> None:
    from skillsrv.forking import wait_detached
    from skillsrv.routing import body

    tokenized: list[str] = []
    real = body.profile
    monkeypatch.setattr(body, "profile", lambda text, *headings: tokenized.append(text) or
                        real(text, *headings))
    source = write_tree(tmp_path / "vision", FILES)
    Router(load_source(source))
    assert len(tokenized) == 3  # the router and both sheets
    tokenized.clear()
    (source / "using-vision" / "sequences.md").write_text(
        "# Sequence models\n\nTemporal convolutions for sensor streams.\n")
    router = Router(load_source(source))
    assert len(tokenized) == 1 and "Temporal convolutions" in tokenized[0]
    assert router.route("temporal convolutions for sensor streams").routes[0].sheet == \
        "sequences.md"
    wait_detached()  # the caches are written by forked children
    for entry in [*cache_folder.glob("terms-*.pickle"), *cache_folder.glob("index-*.pickle")]:
        entry.write_bytes(b"not a pickle")
    tokenized.clear()
    router = Router(load_source(source))
    assert len(tokenized) == 3
    assert router.route("temporal convolutions for sensor streams").routes[0].sheet == \
        "sequences.md"


SEQUENCE_SHEET = """---
name: sequences
description: "Use when choosing a model for sequences of sensor readings or text"
---
# Sequence models

Recurrent networks, temporal convolutions and transformers for ordered data.

## When Not to Use a Transformer

| Situation | Better choice |
|---|---|
| Under ~10k training examples and no pretrained checkpoint | A GRU or a TCN |
| Streaming with constant memory per step | A GRU |
"""


def test_the_chosen_sheets_when_not_to_use_rows_that_the_query_meets_are_warnings(
        tmp_path: Path) -> None:
    files = {**FILES, "using-vision/sequences.md": SEQUENCE_SHEET}
    router = Router(load_source(write_tree(tmp_path / "vision", files)))
    decision = router.route("transformer for 3k sequences of sensor readings, trained from "
                            "scratch with no pretrained checkpoint")
    assert decision.routes[0].sheet == "sequences.md"
    [warning] = [w for w in decision.warnings if w.kind == "when-not"]
    assert warning.message.startswith("When not to use a Transformer: Under ~10k training")
    assert "better: A GRU or a TCN" in warning.message
    assert warning.source == "vision/using-vision/sequences.md:13"
    calm = router.route("transformer for 2 million sequences of sensor readings with a "
                        "pretrained checkpoint")
    assert calm.routes[0].sheet == "sequences.md"
    assert not [w for w in calm.warnings if w.kind == "when-not"]


def test_a_recency_row_about_another_modality_is_not_a_warning(router: Router) -> None:
    decision = router.route("Vision Transformers for 3,000 sensor time series readings")
    assert not [w for w in decision.warnings if w.kind == "recency"]
    assert [w for w in router.route("Vision Transformers for 3,000 tumour scans").warnings
            if w.kind == "recency"]


def test_a_wrong_route_naming_another_packs_sheet_loosely_is_not_a_redirect_to_a_phantom_pack(
        tmp_path: Path) -> None:
    write_tree(tmp_path / "rust", {
        "using-rust/SKILL.md": "---\nname: using-rust\ndescription: \"Use for Rust\"\n---\n"
        "# Rust\n\n| Symptom | Route To |\n|---|---|\n| borrow errors | [borrow.md](borrow.md) |\n"
        "| unsafe pointers | [unsafe-ffi-and-low-level.md](unsafe-ffi-and-low-level.md) |\n",
        "using-rust/borrow.md": "# Borrowing\n\nLifetimes and the borrow checker.\n",
        "using-rust/unsafe-ffi-and-low-level.md": "# Unsafe and FFI\n\nRaw pointers, "
        "invariants and soundness of unsafe blocks.\n"})
    write_tree(tmp_path / "pyo3", {
        "using-pyo3/SKILL.md": "---\nname: using-pyo3\ndescription: \"Use for PyO3\"\n---\n"
        "# PyO3\n\n## Common Routing Mistakes\n\n| Symptom | Wrong Route | Correct Route |\n"
        "|---|---|---|\n| unsafe block soundness in the extension | [gil.md](gil.md) | "
        "**unsafe-ffi** |\n\n- [gil.md](gil.md)\n",
        "using-pyo3/gil.md": "# GIL\n\nReleasing the GIL.\n"})
    router = Router(load_sources([tmp_path / "rust", tmp_path / "pyo3"]))
    decision = router.route("is this unsafe block in my extension sound? raw pointers")
    assert decision.decision.value != "redirect"
    assert decision.routes[0].sheet == "unsafe-ffi-and-low-level.md"


ELSEWHERE = """---
name: using-vision
description: "Use when choosing a vision architecture"
---
# Vision router

- [cnn.md](cnn.md): backbones for images

## Training problems

**Symptoms triggering this route:**
- "the loss spikes and turns into NaN halfway through"
- "warmup and learning rate schedule keep diverging"

**Route to:** **training-optimization**
"""


def test_symptoms_a_router_sends_to_a_pack_not_loaded_redirect_there(
        tmp_path: Path) -> None:
    vision = write_tree(tmp_path / "vision", {"using-vision/SKILL.md": ELSEWHERE,
                                              "using-vision/cnn.md": FILES["using-vision/cnn.md"]})
    query = "my loss spikes to NaN halfway through training, is the warmup wrong?"
    decision = Router(load_source(vision)).route(query)
    assert decision.decision.value == "redirect"
    assert decision.redirect is not None and decision.redirect.pack == "training-optimization"


def test_symptoms_a_router_sends_to_a_loaded_pack_route_into_that_pack(
        tmp_path: Path) -> None:
    vision = write_tree(tmp_path / "vision", {"using-vision/SKILL.md": ELSEWHERE,
                                              "using-vision/cnn.md": FILES["using-vision/cnn.md"]})
    query = "my loss spikes to NaN halfway through training, is the warmup wrong?"
    optimization = write_tree(tmp_path / "optimization", {
        "using-training-optimization/SKILL.md": "---\nname: using-training-optimization\n"
        "description: \"Use when training misbehaves\"\n---\n# Training\n\n"
        "- [schedules.md](schedules.md)\n",
        "using-training-optimization/schedules.md": "# Schedules\n\nCosine decay.\n"})
    both = Router(load_sources([vision, optimization]))
    routes = both.route(query).routes
    assert routes[0].pack == "optimization"
    evidence = [e for route in routes for e in route.evidence if e.kind == "symptom"]
    assert any(e.source.startswith("vision/using-vision/SKILL.md:") for e in evidence)


def test_a_bare_overview_question_routes_to_the_only_pack_but_asks_which_of_two(
        tmp_path: Path) -> None:
    vision = write_tree(tmp_path / "vision", FILES)
    decision = Router(load_source(vision)).route("overview please: what topics are covered?")
    assert decision.decision.value == "route"
    assert decision.routes[0].skill == "using-vision" and decision.routes[0].sheet is None
    tables = write_tree(tmp_path / "tables", {
        "using-tables/SKILL.md": "---\nname: using-tables\ndescription: \"Use for tabular "
        "data\"\n---\n# Tables\n\n- [trees.md](trees.md)\n",
        "using-tables/trees.md": "# Trees\n\nGradient boosted trees.\n"})
    both = Router(load_sources([vision, tables]))
    assert both.route("overview please: what topics are covered?").decision.value == "clarify"


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per index built from the documents (not read from the cache)."""
    from skillsrv.routing import index

    builds: list[int] = []
    real = index.RoutingIndex._build
    monkeypatch.setattr(index.RoutingIndex, "_build",
                        lambda self, c: builds.append(1) or real(self, c))
    return builds


def test_an_index_cached_by_other_code_is_rebuilt_and_old_index_files_are_pruned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_folder: Path) -> None:
    import os

    from skillsrv.forking import wait_detached
    from skillsrv.routing import index

    catalog = load_source(write_tree(tmp_path / "vision", FILES))
    for n in range(index.KEEP_INDEXES + 3):
        stale = cache_folder / f"index-stale{n}.pickle"
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + n, 1_000_000 + n))
    builds = _count_builds(monkeypatch)
    Router(catalog)
    Router(catalog)
    assert len(builds) == 1  # the second router read the cached index
    monkeypatch.setattr(index, "source_digest", lambda *modules: "other code")
    Router(catalog)
    assert len(builds) == 2
    wait_detached()  # a forked child writes the index and prunes old ones
    remaining = sorted(p.name for p in cache_folder.glob("index-*.pickle"))
    assert len(remaining) == index.KEEP_INDEXES
    assert "index-stale0.pickle" not in remaining  # the oldest went first


def test_an_index_built_from_documents_parsed_by_other_parser_code_is_rebuilt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_folder: Path) -> None:
    from skillsrv.packs import cache

    catalog = load_source(write_tree(tmp_path / "vision", FILES))
    builds = _count_builds(monkeypatch)
    Router(catalog)
    Router(catalog)
    assert len(builds) == 1
    # The same files, but the parser extracts something else from them now (a new rule):
    # their content digests are unchanged, the index built from the old extraction is stale.
    monkeypatch.setattr(cache, "parser_digest", lambda: "other parser")
    cache.cache_dir.cache_clear()  # a new process
    Router(catalog)
    assert len(builds) == 2


def bundled_queries(count: int) -> list[str]:
    """The first `count` queries of the bundled pack's evals file."""
    import yaml

    cases = yaml.safe_load((BUNDLED / "neural-architectures" / "evals.yaml").read_text())["cases"]
    return [case["query"] for case in cases[:count]]


def test_an_index_read_from_its_cache_routes_as_the_one_just_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Body postings are scored as queries ask; a child completes them for the cache file, and
    a threaded process stores them as they are. Every way gives the same answers."""
    from skillsrv import forking
    from skillsrv.packs.cache import cache_dir

    queries = bundled_queries(40)
    catalog = load_source(BUNDLED)

    def answers(router: Router) -> list[dict[str, object]]:
        return [router.route(query).model_dump() for query in queries]

    try:
        monkeypatch.setenv("SKILLSRV_CACHE_DIR", str(tmp_path / "child"))
        cache_dir.cache_clear()
        built = Router(catalog)
        forking.wait_detached()
        expected = answers(built)
        assert answers(Router(catalog)) == expected  # complete, as the child wrote it
        monkeypatch.setattr(forking, "_can_fork", lambda: False)
        monkeypatch.setenv("SKILLSRV_CACHE_DIR", str(tmp_path / "inline"))
        cache_dir.cache_clear()
        Router(catalog)
        from_inline = Router(catalog)
        assert from_inline.index.postings["body"] == {}  # stored lazily, scored on demand
        assert answers(from_inline) == expected
    finally:
        cache_dir.cache_clear()


def test_completing_an_index_while_a_query_adds_to_its_body_lists_is_safe(
        cache_folder: object) -> None:
    """A query in another thread records terms that no body has while `complete` walks the
    lists (a RuntimeError once, found by routing during a completion)."""
    index = Router(load_source(BUNDLED)).index
    walk = index._body_list
    in_bodies = {term for counts in index._body_counts for term in counts}
    extra = iter([term for term in index.idf if term not in in_bodies][:50])

    def and_a_query_meanwhile(term: str) -> list[int]:
        index._body_lists.setdefault(next(extra, term), [])  # what `_body_list` does
        return walk(term)

    index._body_list = and_a_query_meanwhile  # type: ignore[method-assign]
    assert index.complete() is True
    assert set(index.postings["body"]) == in_bodies


def test_a_completed_index_answers_as_before_and_rewrites_a_lazy_cache_file_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`Router.complete` does at once what queries do as they go (a server calls it in the
    background): the same answers, and the next process reads a complete cache file."""
    from skillsrv import forking
    from skillsrv.packs.cache import cache_dir

    queries = bundled_queries(40)
    catalog = load_source(BUNDLED)
    monkeypatch.setattr(forking, "_can_fork", lambda: False)  # as in a server's reload thread
    monkeypatch.setenv("SKILLSRV_CACHE_DIR", str(tmp_path / "cache"))
    cache_dir.cache_clear()
    try:
        lazy = Router(catalog)
        assert lazy.index._cache_lazy and Router(catalog).index._cache_lazy  # read back lazy
        expected = [lazy.route(query) for query in queries[:20]]  # some of it done as asked
        completed = Router(catalog)
        completed.route(queries[0])  # a lookup made before completing switches over
        assert completed.complete() is True
        index = completed.index
        assert len(index.meaning_vectors) == len(index.candidates)
        assert set(index.postings["body"]) == {term for counts in index._body_counts
                                               for term in counts}
        assert not index._cache_lazy and completed.complete() is False
        assert [completed.route(query) for query in queries[:20]] == expected
        assert [completed.route(query) for query in queries] == [lazy.route(query)
                                                                 for query in queries]
        reread = Router(catalog)
        assert not reread.index._cache_lazy and reread.index._body_counts == []
        assert "section_words" in reread.index.__dict__ and reread.complete() is False
        assert [reread.route(query) for query in queries] == [lazy.route(query)
                                                              for query in queries]
    finally:
        cache_dir.cache_clear()

@pytest.fixture(scope="module")
def bundled() -> Router:
    return Router(load_source(BUNDLED))


@pytest.mark.parametrize("query", [
    "I have a dataset and want to train a model on it. Which architecture should I pick?",
    "my boss wants us to use AI, what network should we build?",
    "where do I even start when choosing a model for our company's records?",
    "we collected 40k examples last quarter. which architecture?",  # a bare question
    "leadership wants machine learning on our records. what should we build first?",
    "we have some data and need a deep model for it. which one should we use?",
])
def test_a_choice_of_model_that_says_nothing_about_the_data_meets_the_missing_modality_flag(
        bundled: Router, query: str) -> None:
    decision = bundled.route(query)
    assert decision.decision.value == "clarify"
    flag = next(q for q in decision.questions if q.question.startswith("What does one example"))
    assert flag.source.startswith("neural-architectures/using-neural-architectures/SKILL.md:")


def test_body_evidence_cites_the_section_holding_most_of_the_shared_words(
        bundled: Router) -> None:
    decision = bundled.route("I have 3000 labelled x-ray images and want to classify "
                             "pneumonia, should I use a ViT?")
    [body] = [e for e in decision.routes[0].evidence if e.kind == "body"]
    path, line = body.source.rsplit(":", 1)
    assert path.endswith("cnn-families-and-selection.md")
    sheet = BUNDLED / "neural-architectures" / "using-neural-architectures" / \
        "cnn-families-and-selection.md"
    assert sheet.read_text().splitlines()[int(line) - 1] == "## Transfer Learning First"


def test_the_most_shared_bit_is_the_one_a_count_of_every_bit_finds() -> None:
    chance = random.Random(7)
    for _ in range(3000):
        masks = [chance.getrandbits(chance.randint(1, 120)) for _ in range(chance.randint(0, 10))]
        counts = [sum(mask >> bit & 1 for mask in masks) for bit in range(130)]
        best = max(counts)
        assert most_shared_bit(masks) == (counts.index(best) if best else -1)


@pytest.mark.parametrize(("query", "trend"), [
    ("I want to use Mamba for 200-token sentiment classification on 5k reviews", "Mamba"),
    ("Mamba for 1M-token genomic sequences?", None),  # past "a few thousand steps"
    ("Should I use a transformer for my 500-row tabular dataset?", "Transformers for tabular"),
    ("a transformer for our 3M-row tabular dataset?", None),  # over "~100k rows"
])
def test_a_recency_row_is_a_warning_when_the_length_or_size_said_meets_its_condition(
        bundled: Router, query: str, trend: str | None) -> None:
    found = [w.message for w in bundled.route(query).warnings if w.kind == "recency"]
    assert [message.startswith(trend) for message in found] == ([True] if trend else [])


@pytest.mark.parametrize("query", [
    # The data is said.
    "which architecture should I use for 5k labelled photos of welds with four defect classes?",
    # Not a request to choose.
    "What in the architecture makes a residual network easier to train than a plain one?",
])
def test_a_missing_modality_flag_leaves_questions_that_say_what_the_data_is_or_ask_no_choice(
        bundled: Router, query: str) -> None:
    decision = bundled.route(query)
    assert decision.decision.value == "route"
    assert not any(q.question.startswith("What does one example") for q in decision.questions)


def test_a_red_flag_no_slot_covers_is_answered_when_the_query_speaks_to_its_question(
        bundled: Router) -> None:
    asked = "Does it have skip connections and normalization layers?"
    unanswered = bundled.route("my 60-layer network will not train at all, very deep stack")
    answered = bundled.route("my 60-layer plain convnet with no shortcuts will not train at all,"
                             " very deep stack")
    assert unanswered.decision.value == "clarify"
    assert asked in [q.question for q in unanswered.questions]
    assert answered.decision.value == "route"
    assert answered.routes[0].sheet == "normalization-techniques.md"


def test_few_pack_words_ask_first_unless_the_reranker_is_sure_enough_of_the_best_route(
        tmp_path: Path) -> None:
    from skillsrv.routing import Thresholds

    catalog = load_source(write_tree(tmp_path / "vision", FILES))
    query = "I want to classify pictures of birds from my camera traps"
    # A min_score no query reaches: the words alone are always too weak.
    weak = Router(catalog, thresholds=Thresholds(min_score=1000.0))
    assert weak.route(query).decision.value == "clarify"
    [best, runner_up, *_] = weak._rank(query, *weak._read(query)[3:], None, 0.0, None)[0]
    assert best.probability - runner_up.probability > 0.005
    sure = Router(catalog, thresholds=Thresholds(min_score=1000.0,
                                                 sure_probability=best.probability))
    decision = sure.route(query)
    assert decision.decision.value == "route" and decision.routes[0].sheet == "cnn.md"
    unsure = Router(catalog, thresholds=Thresholds(min_score=1000.0,
                                                   sure_probability=best.probability + 1e-6))
    assert unsure.route(query).decision.value == "clarify"


def test_a_warmed_up_router_routes_exactly_as_one_that_loads_on_first_use() -> None:
    queries = bundled_queries(40)
    catalog = load_source(BUNDLED)
    warmed, lazy = Router(catalog), Router(catalog)
    warmed.warm_up()
    assert warmed.warmed and not lazy.warmed
    assert warmed.meaning.bank is not None and warmed.meaning.bank._ready is not None
    assert [warmed.route(q).model_dump() for q in queries] == \
        [lazy.route(q).model_dump() for q in queries]
