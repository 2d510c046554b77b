"""Body profiles (term counts, sections, opening paragraphs) by document content, so an index
rebuilt after an edit tokenizes only the documents that changed (tokenizing every body is most
of a cold index build).

One pickle beside the parse cache, keyed by each document's sha256; the file name carries a
digest of the tokenizer's and the profiler's source, so a change to stemming, synonyms, phrases
or sectioning starts afresh instead of reading stale profiles. Least recently used entries
beyond `MAX_ENTRIES` are dropped. A missing, corrupt or unwritable file only means tokenizing
again.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

from skillsrv.forking import imap_forked
from skillsrv.packs.cache import cache_dir, read_pickle, source_digest, write_pickle_detached
from skillsrv.packs.model import Document
from skillsrv.routing import body, text

MAX_ENTRIES = 20_000  # documents; about 15 KB each on disk
MIN_FORKED = 64  # documents to profile before worker processes pay for themselves


def _cache_file() -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    return folder / f"terms-{source_digest(text, body)}.pickle"


class BodyProfiles:
    """Body profiles for one index build: read once, saved once if grown."""

    def __init__(self) -> None:
        self._path = _cache_file()
        self._entries: dict[str, body.BodyProfile] = self._read()
        self._added = 0
        # Profiles still arriving from workers, in the order `prepare` was given the documents.
        self._arriving: Iterator[tuple[str, body.BodyProfile]] = iter(())
        self._workers: Generator[body.BodyProfile] | None = None

    def _read(self) -> dict[str, body.BodyProfile]:
        entries = read_pickle(self._path) if self._path is not None else None
        return entries if isinstance(entries, dict) else {}

    def prepare(self, docs: list[Document]) -> None:
        """Start profiling the documents the cache lacks, in forked workers when there are
        many (a cold build of a large marketplace spends most of its time here). Profiles
        arrive in `docs` order while the caller goes on: asking for them in that order lets it
        index the first documents while workers profile the rest. Call `finish` before
        forking anything else."""
        missing = {doc.sha256: doc for doc in docs
                   if doc.sha256 and doc.sha256 not in self._entries}
        if len(missing) < MIN_FORKED:
            return  # profiled one by one, as the index asks
        jobs = [_job(doc) for doc in missing.values()]
        self._workers = imap_forked(_profile_job, jobs, MIN_FORKED, chunksize=16)
        self._arriving = zip(list(missing), self._workers, strict=True)

    def profile(self, doc: Document) -> body.BodyProfile:
        """The body's profile (shared: callers must not modify it)."""
        if not doc.sha256:
            return _profile(doc)
        found = self._entries.pop(doc.sha256, None)
        if found is None:
            found = self._wait_for(doc.sha256)
        if not isinstance(found, body.BodyProfile):
            found = _profile(doc)
            self._added += 1
        self._entries[doc.sha256] = found  # most recently used last
        return found

    def _wait_for(self, digest: str) -> body.BodyProfile | None:
        for arrived, found in self._arriving:
            self._added += 1
            if arrived == digest:
                return found
            self._entries[arrived] = found
        return None

    def finish(self) -> None:
        """Take every profile still arriving and shut the workers down."""
        self._wait_for("")

    def close(self) -> None:
        """Stop waiting for profiles (a build that failed): the workers are shut down."""
        if self._workers is not None:
            self._workers.close()
        self._arriving = iter(())

    def save(self) -> None:
        self.finish()
        if self._path is None or not self._added:
            return
        entries = self._entries
        if len(entries) > MAX_ENTRIES:
            entries = dict(list(entries.items())[-MAX_ENTRIES:])
        # Profiles made by other versions of the code are never read again: keep this one.
        write_pickle_detached(self._path, entries, keep=1)


Job = tuple[str, list[int]]


def _job(doc: Document) -> Job:
    return (doc.body, body.heading_lines(doc))


def _profile(doc: Document) -> body.BodyProfile:
    return body.profile(*_job(doc))


def _profile_job(job: Job) -> body.BodyProfile:
    return body.profile(*job)
