"""A content-addressed cache of parsed documents, so unchanged files are not parsed again.

The key hashes everything extraction depends on: the file's text, its name in the skill, the
skill's file and skill names (which references resolve against); the folder is named by the
parser's source. The
cache lives in $SKILLSRV_CACHE_DIR, else $XDG_CACHE_HOME/skillsrv, else ~/.cache/skillsrv;
SKILLSRV_NO_CACHE=1 turns it off. A corrupt or unreadable entry is simply parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from types import ModuleType

from pydantic import ValidationError

from skillsrv.forking import run_detached, wait_detached
from skillsrv.packs.model import Document

PARSER_VERSION = "15"


# The modules a parsed document depends on: an edit of any of them (a new extraction rule)
# must not be answered from documents parsed by the old code (the cache folder is named by
# their digest).
PARSER_MODULES = ("skillsrv.packs.frontmatter", "skillsrv.packs.markdown",
                  "skillsrv.packs.extract", "skillsrv.packs.refs", "skillsrv.packs.model",
                  "skillsrv.packs.loader")


@cache
def parser_digest() -> str:
    return source_digest(*PARSER_MODULES)


STALE_DAYS = 7  # a cache folder of other parser code unused this long is deleted


@cache
def cache_dir() -> Path | None:
    """This parser's cache folder: one per version of the parsing code, so an upgrade (or an
    edit of an extraction rule) starts afresh. Folders of other versions not used for
    `STALE_DAYS` are deleted; a version still in use elsewhere (another environment) keeps
    its folder fresh by using it."""
    if os.environ.get("SKILLSRV_NO_CACHE"):
        return None
    base = os.environ.get("SKILLSRV_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = Path(xdg) / "skillsrv"
    path = root / f"documents-v{PARSER_VERSION}-{parser_digest()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.utime(path)  # in use: not stale
    except OSError:
        return None
    _prune_stale(root, path)
    return path


def _prune_stale(root: Path, current: Path) -> None:
    cutoff = time.time() - STALE_DAYS * 86_400
    with contextlib.suppress(OSError):
        for folder in root.glob("documents-v*"):
            with contextlib.suppress(OSError):
                if folder != current and folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)


def source_digest(*modules: ModuleType | str) -> str:
    """A digest of these modules' source files: a cache built by other code is stale, and
    hand-bumped version numbers get forgotten. A module may be named rather than imported
    (found without running it: one that imports numpy need not be loaded to be digested)."""
    digest = hashlib.sha256()
    for module in modules:
        if isinstance(module, str):
            spec = importlib.util.find_spec(module)
            file = spec.origin if spec is not None else None
        else:
            file = module.__file__
        with contextlib.suppress(OSError, TypeError):
            digest.update(Path(file or "").read_bytes())
    return digest.hexdigest()[:16]


def document_key(text: str, *context: str | Iterable[str]) -> str:
    digest = hashlib.sha256(PARSER_VERSION.encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    for part in context:
        values = [part] if isinstance(part, str) else sorted(part)
        for value in values:
            digest.update(b"\0" + value.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def load(key: str) -> Document | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return Document.model_validate_json((folder / f"{key}.json").read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def store(key: str, document: Document) -> None:
    folder = cache_dir()
    if folder is not None:
        write_atomic(folder / f"{key}.json", document.model_dump_json().encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write then rename, so a reader never sees half a file; a cache that cannot be written
    is only a cache miss next time."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def write_pickle(path: Path, value: object) -> None:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    write_atomic(path, data)


def write_pickle_detached(path: Path, value: object, *, keep: int,
                          better: Callable[[], object] | None = None) -> bool:
    """`write_pickle` in a forked child when that is safe (the value is the child's copy, so
    the caller may change it at once); then, there too, delete all but the `keep` newest files
    of the same kind (name up to its first "-"): every edit of a pack or of the code writes a
    new one, and old ones are never read again. `better`, when given, makes the value to write
    in the child: work that makes the file faster to use, not worth the caller's wait. True
    when a child writes it (and so `better`'s value)."""
    parent = os.getpid()

    def write() -> None:
        forked = os.getpid() != parent
        write_pickle(path, better() if better is not None and forked else value)
        with contextlib.suppress(OSError):
            kind = path.name.split("-", 1)[0]
            files = sorted(path.parent.glob(f"{kind}-*.pickle"),
                           key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in files[keep:]:
                stale.unlink(missing_ok=True)
    return run_detached(write)


def read_pickle(path: Path) -> object | None:
    """A cache file written by this package; None when missing, unreadable or corrupt."""
    wait_detached()  # a file this process is still writing is worth the wait
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            ValueError, TypeError):
        return None
