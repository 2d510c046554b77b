"""Shared test fixtures: the third-party corpora beside the checkout, and small packs on disk."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# One parse cache for the whole session (subprocesses inherit it): the first load of a corpus
# is cold, later ones warm, and the user's own cache is never touched.
os.environ.setdefault("SKILLSRV_CACHE_DIR", tempfile.mkdtemp(prefix="skillsrv-test-cache-"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SKILLPACKS = SHARED / "corpora" / "skillpacks"
ANTHROPIC_SKILLS = SHARED / "corpora" / "anthropic-skills"
BUNDLED = ROOT / "skills"


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """A server freezes what it loaded out of the garbage collector's sight; one test's frozen
    objects must not outlive it in this process."""
    yield
    gc.unfreeze()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of the test's own (the session's shared one is left alone)."""
    from skillsrv.packs.cache import cache_dir

    monkeypatch.setenv("SKILLSRV_CACHE_DIR", str(tmp_path / "cache"))
    cache_dir.cache_clear()
    folder = cache_dir()
    assert folder is not None
    yield folder
    cache_dir.cache_clear()  # before the variable is restored: the next test reads it anew


@pytest.fixture
def skillpacks() -> Path:
    if not (SKILLPACKS / ".claude-plugin" / "marketplace.json").is_file():
        pytest.skip("../shared/corpora/skillpacks is not present")
    return SKILLPACKS


@pytest.fixture
def anthropic_skills() -> Path:
    if not (ANTHROPIC_SKILLS / ".claude-plugin" / "marketplace.json").is_file():
        pytest.skip("../shared/corpora/anthropic-skills is not present")
    return ANTHROPIC_SKILLS


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under `root` and return `root`."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root
