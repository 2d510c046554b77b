"""The reranker's meaning features: static embeddings of the head's candidates, read from the
wordllama wheel, cached with the index, and routing by words alone when the model is missing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import write_tree
from skillsrv.packs import load_source
from skillsrv.routing import Router, semantic

PETS = {
    "using-topics/SKILL.md": "---\nname: using-topics\ndescription: \"Use to pick a topic\"\n"
                             "---\n# Topics\n\n- [pets.md](pets.md)\n- [money.md](money.md)\n",
    "using-topics/pets.md": "# Household animals\n\nCats, dogs, kittens and puppies: feeding, "
                            "grooming and visits to the vet.\n",
    "using-topics/money.md": "# Quarterly accounts\n\nRevenue, invoices, tax returns and the "
                             "balance sheet of a small company.\n",
}


def test_the_memory_mapped_table_holds_the_tensor_the_safetensors_library_reads() -> None:
    numpy = pytest.importorskip("numpy")
    safetensors = pytest.importorskip("safetensors.numpy")
    path = semantic._package_folder() / "weights" / semantic.WEIGHTS_FILE
    mapped = semantic._memory_mapped(numpy, path, "embedding.weight")
    read = safetensors.load_file(str(path))["embedding.weight"]
    assert mapped.shape == read.shape == (32000, 256)
    assert numpy.array_equal(mapped[[0, 1, 4711, 31999]], read[[0, 1, 4711, 31999]])


def test_a_query_is_closest_in_meaning_to_the_sheet_about_its_subject(tmp_path: Path) -> None:
    router = Router(load_source(write_tree(tmp_path / "topics", PETS)))
    index = router.index
    head = [index._by_key[("topics", "using-topics", sheet)] for sheet in ("money.md",
                                                                           "pets.md")]
    # No word in common with either sheet: only meaning tells them apart.
    rows = router.meaning.features("my beagle will not stop chewing the sofa", head)
    money, pets = rows
    # The best of the head on summary, routes and sections; no example questions here.
    assert pets == [0.0, 0.0, 0.0, 0.0, 0.0]
    assert money[0] < -0.05 and money[2] < -0.05


def test_a_cached_index_brings_every_candidates_embedding_and_routes_the_same(
        tmp_path: Path, cache_folder: Path) -> None:
    from skillsrv.forking import wait_detached
    from skillsrv.packs.cache import write_pickle
    from skillsrv.routing import index

    catalog = load_source(write_tree(tmp_path / "topics", PETS))
    built = Router(catalog)
    assert built.index.meaning_vectors == {}  # embedded as queries reach candidates
    wait_detached()
    # What the forked cache writer stores (written here too, in case this process has
    # threads and could not fork): every candidate embedded.
    state = built.index._stored_state()
    write_pickle(cache_folder / f"index-{index._fingerprint(catalog)}.pickle", state)
    cached = Router(catalog)
    assert sorted(cached.index.meaning_vectors) == list(range(len(cached.index.candidates)))
    query = "how often should a puppy see the vet?"
    assert cached.route(query) == built.route(query)


def test_without_the_model_routing_goes_on_by_words_and_says_why_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def missing() -> Path:
        raise ModuleNotFoundError("wordllama is not installed (pip install wordllama)")

    monkeypatch.setattr(semantic, "_package_folder", missing)
    monkeypatch.setattr(semantic._Model, "_loaded", None)
    monkeypatch.setattr(semantic._Model, "_failure", None)
    router = Router(load_source(write_tree(tmp_path / "topics", PETS)))
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        first = router.route("invoices and tax returns for the balance sheet")
        router.route("feeding and grooming kittens")
    assert first.routes[0].sheet == "money.md"
    warnings = [r for r in caplog.records if "without embeddings" in r.getMessage()]
    assert len(warnings) == 1 and "wordllama is not installed" in warnings[0].getMessage()


def test_an_index_rebuilt_after_an_edit_embeds_only_the_texts_that_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = semantic._Model.get()
    assert model is not None
    embedded: list[str] = []
    real = model.embed
    monkeypatch.setattr(model, "embed", lambda texts: embedded.extend(texts) or real(texts))
    # Texts this process has not embedded before (other tests embed PETS as it is).
    unique = {name: text.replace("Revenue", f"Revenue of {tmp_path.name}")
              for name, text in PETS.items()}
    source = write_tree(tmp_path / "topics", unique)
    query = "quarterly invoices for the vet visits of our kittens"  # both sheets in the head
    Router(load_source(source)).route(query)
    assert any("Revenue of" in text for text in embedded)
    embedded.clear()
    (source / "using-topics" / "money.md").write_text(
        "# Quarterly accounts\n\nPayroll, invoices, VAT returns and the balance sheet.\n")
    rebuilt = Router(load_source(source))
    assert {route.sheet for route in rebuilt.route(query).routes} >= {"money.md", "pets.md"}
    documents = [text for text in embedded if text != query]  # the query is embedded each time
    assert documents and all("Payroll" in text for text in documents)
