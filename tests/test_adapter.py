"""Query adapters (routing.adapter): fitted for a set of packs, applied only to catalogs made
mostly of them, and never a reason for routing to fail."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import BUNDLED, ROOT, SKILLPACKS
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing import adapter as adapter_code
from skillsrv.routing.rerank import ADAPTED, MANY_PACKS, ONE_PACK


def _write(folder: Path, name: str, packs: list[str], rank: int = 2) -> Path:
    rng = np.random.default_rng(0)
    path = folder / f"{name}.npz"
    adapter_code.save(path, packs, rng.normal(size=(256, rank)), rng.normal(size=(256, rank)))
    return path


def test_an_adapter_covers_a_catalog_made_mostly_of_its_own_packs(tmp_path: Path) -> None:
    _write(tmp_path, "mine", ["a", "b", "c", "d"])
    assert adapter_code.adapter_for(["a", "b", "c"], tmp_path) is not None
    assert adapter_code.adapter_for(["a", "b", "x", "y"], tmp_path) is not None  # half
    assert adapter_code.adapter_for(["a", "x", "y"], tmp_path) is None
    assert adapter_code.adapter_for(["a"], tmp_path) is None  # one pack: never
    assert adapter_code.adapter_for(["x", "y"], tmp_path) is None


def test_the_adapted_query_is_unit_length_and_moved(tmp_path: Path) -> None:
    found = adapter_code.read(_write(tmp_path, "mine", ["a", "b"]))
    vector = np.random.default_rng(1).normal(size=256).astype(np.float32)
    vector /= np.linalg.norm(vector)
    moved = found.apply(vector)
    assert np.isclose(np.linalg.norm(moved), 1.0, atol=1e-5)
    assert not np.allclose(moved, vector)
    assert np.all(found.apply(np.zeros(256, np.float32)) == 0)


def test_a_broken_adapter_file_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    _write(tmp_path, "good", ["a", "b"])
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        found = adapter_code.shipped(tmp_path)
    assert [adapter.name for adapter in found] == ["good"]
    assert "broken.npz: not a query adapter" in caplog.text


def test_an_adapter_whose_matrices_are_not_two_equal_float_matrices_is_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "odd.npz"
    with path.open("wb") as file:
        np.savez(file, packs=np.array(["a", "b"]), up=np.zeros((256, 2), np.float32),
                 down=np.zeros((256, 3), np.float32))
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        assert adapter_code.shipped(tmp_path) == []
    assert "odd.npz: not a query adapter" in caplog.text and "(256, 3)" in caplog.text


def test_an_adapter_read_from_a_file_loads_its_matrices_on_first_use(tmp_path: Path) -> None:
    path = _write(tmp_path, "mine", ["a", "b"], rank=3)
    found = adapter_code.read(path)
    assert found.packs == {"a", "b"} and found._matrices is None
    with np.load(path) as arrays:
        assert np.array_equal(found.up, arrays["up"]) and found.up.shape == (256, 3)


def test_matrices_that_cannot_be_read_at_first_use_leave_the_query_as_it_is(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path, "mine", ["a", "b"])
    found = adapter_code.read(path)
    with zipfile.ZipFile(path, "w") as archive:  # replaced after it was read
        archive.writestr("packs.npy", b"")
    vector = np.ones(256, np.float32)
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        assert found.apply(vector) is vector
        assert found.apply(vector) is vector
    assert caplog.text.count("matrices cannot be read") == 1


@pytest.mark.skipif(not SKILLPACKS.is_dir(), reason="the skillpacks corpus is not beside the "
                                                     "checkout")
def test_making_an_adapted_router_imports_no_numpy(tmp_path: Path) -> None:
    """numpy (a quarter of a second) is imported by the first query that needs it, not by
    choosing the adapter when a router is made. (A fresh cache: reading an index cached
    complete, with its arrays, rightly imports numpy.)"""
    script = ("import sys\nfrom skillsrv.packs import load_source\n"
              "from skillsrv.routing import Router\n"
              f"router = Router(load_source({str(SKILLPACKS)!r}))\n"
              "assert router.meaning.adapter is not None\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] == 'numpy'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={**os.environ, "SKILLSRV_CACHE_DIR": str(tmp_path)})
    assert done.stdout.strip() == "[]"


def test_the_bundled_pack_alone_is_routed_without_an_adapter() -> None:
    router = Router(load_source(BUNDLED))
    assert router.regime == ONE_PACK and router.meaning.adapter is None


def test_the_shipped_adapter_reads_and_is_for_the_corpus() -> None:
    found = adapter_code.shipped()
    assert [adapter.name for adapter in found] == ["skillpacks"]
    assert {"yzmir-deep-rl", "lyra-creative-writing"} <= found[0].packs
    rank = found[0].up.shape[1]
    assert found[0].up.shape == found[0].down.shape == (256, rank) and 1 <= rank <= 64


@pytest.mark.skipif(not SKILLPACKS.is_dir(), reason="the skillpacks corpus is not beside the "
                                                     "checkout")
def test_the_corpus_is_routed_with_its_adapter_and_without_on_request() -> None:
    catalog = load_source(SKILLPACKS)
    adapted = Router(catalog)
    plain = Router(catalog, adapt=False)
    assert adapted.regime == ADAPTED and adapted.meaning.adapter is not None
    assert plain.regime == MANY_PACKS and plain.meaning.adapter is None
    query = "every character in my novel talks exactly like me. how do i fix that"
    assert adapted.head(query)[1] != plain.head(query)[1]  # the meaning features moved


@pytest.mark.skipif(not SKILLPACKS.is_dir(), reason="the skillpacks corpus is not beside the "
                                                     "checkout")
def test_the_fitting_script_computes_the_meaning_features_routing_computes() -> None:
    """`scripts/fit_adapter.py` fits the adapter on its own batched copy of the meaning
    features: it must be the same maths as `Meaning.features` with the adapter applied."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fit_adapter
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    router = Router(load_source(SKILLPACKS), adapt=False)
    data = fit_adapter.Data(router, [ROOT / "tests" / "evals" / "corpus-train" /
                                     "corpus-train3-3.yaml"])
    shipped = adapter_code.shipped()[0]
    batched = data.meaning(torch.tensor(shipped.up, dtype=torch.float32),
                           torch.tensor(shipped.down, dtype=torch.float32)).numpy()
    router.meaning.adapter = shipped
    assert data.count > 50
    for number, (text, head) in enumerate(zip(data.texts, data.heads, strict=True)):
        routed = np.asarray(router.meaning.features(text, head))[:, :fit_adapter.MEANING]
        assert np.allclose(batched[number, :len(head)], routed, atol=1e-4), text
    assert not np.allclose(batched, 0)  # the heads' candidates do differ in meaning
