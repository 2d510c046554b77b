"""Body term counts by document content, so an index rebuilt after an edit tokenizes only the
documents that changed (tokenizing every body is most of a cold index build).

One pickle beside the parse cache, keyed by each document's sha256; the file name carries a
digest of the tokenizer's source, so a change to stemming, synonyms or phrases starts afresh
instead of reading stale counts. Least recently used entries beyond `MAX_ENTRIES` are dropped.
A missing, corrupt or unwritable file only means tokenizing again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cache
from pathlib import Path

from skillsrv.packs.cache import cache_dir, read_pickle, write_pickle
from skillsrv.packs.model import Document
from skillsrv.routing import text

MAX_ENTRIES = 20_000  # documents; about 15 KB each on disk


@cache
def _tokenizer_digest() -> str | None:
    try:
        return hashlib.sha256(Path(text.__file__).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def _cache_file() -> Path | None:
    folder = cache_dir()
    digest = _tokenizer_digest()
    if folder is None or digest is None:
        return None
    return folder / f"terms-{digest}.pickle"


class BodyTerms:
    """Term counts of document bodies for one index build: read once, saved once if grown."""

    def __init__(self) -> None:
        self._path = _cache_file()
        self._entries: dict[str, Counter[str]] = self._read()
        self._added = 0

    def _read(self) -> dict[str, Counter[str]]:
        entries = read_pickle(self._path) if self._path is not None else None
        return entries if isinstance(entries, dict) else {}

    def counts(self, doc: Document) -> Counter[str]:
        """The body's term counts (shared: callers must not modify them)."""
        if not doc.sha256:
            return text.term_counts(doc.body)
        found = self._entries.pop(doc.sha256, None)
        if not isinstance(found, Counter):
            found = text.term_counts(doc.body)
            self._added += 1
        self._entries[doc.sha256] = found  # most recently used last
        return found

    def save(self) -> None:
        if self._path is None or not self._added:
            return
        entries = self._entries
        if len(entries) > MAX_ENTRIES:
            entries = dict(list(entries.items())[-MAX_ENTRIES:])
        write_pickle(self._path, entries)
