"""A content-addressed cache of parsed documents, so unchanged files are not parsed again.

The key hashes everything extraction depends on: the file's text, its name in the skill, the
skill's file and skill names (which references resolve against) and the parser version. The
cache lives in $SKILLSRV_CACHE_DIR, else $XDG_CACHE_HOME/skillsrv, else ~/.cache/skillsrv;
SKILLSRV_NO_CACHE=1 turns it off. A corrupt or unreadable entry is simply parsed again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from skillsrv.packs.model import Document

PARSER_VERSION = "5"


@cache
def cache_dir() -> Path | None:
    if os.environ.get("SKILLSRV_NO_CACHE"):
        return None
    base = os.environ.get("SKILLSRV_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = Path(xdg) / "skillsrv"
    path = root / f"documents-v{PARSER_VERSION}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


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
    if folder is None:
        return
    try:
        # Write then rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".tmp") as out:
            out.write(document.model_dump_json().encode())
        os.replace(out.name, folder / f"{key}.json")
    except OSError:
        return
