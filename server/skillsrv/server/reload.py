"""Hot reload: poll the pack sources, rebuild off the event loop, keep the last good version.

Polling the files' (mtime, size, inode) every half second is enough for hand-edited packs,
costs a few milliseconds for hundreds of files, and needs no dependency or OS-specific
watcher (inotify limits, network file systems, editors that replace files by renaming).

An edit is *broken* when loading it raises (a bad manifest, say) or produces a new error, or a
new problem that makes a file unreadable (invalid frontmatter YAML or plugin JSON, not UTF-8).
A broken edit is not served: the last good state stays, and the failure is logged and shown
by `list_packs` until the next good edit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread

from skillsrv.diagnostics import Diagnostic, Severity, error
from skillsrv.errors import SkillsrvError
from skillsrv.memory import freeze_long_lived
from skillsrv.packs import Catalog
from skillsrv.server.state import (
    SourceConfig,
    State,
    build_state,
    compute_fingerprint,
    watched_paths,
)

logger = logging.getLogger("skillsrv.reload")

POLL_INTERVAL = 0.5
# Warnings that mean a file could not be read as intended: an edit introducing one is broken.
BREAKING_CODES = frozenset({
    "frontmatter-invalid", "frontmatter-unclosed", "frontmatter-not-mapping", "json-invalid",
    "not-utf8", "unreadable", "internal-error",
})


@dataclass(frozen=True)
class ReloadFailure:
    message: str
    at: float
    problems: tuple[Diagnostic, ...] = ()


class Live:
    """The state being served. `state` is replaced by one assignment when a reload succeeds."""

    def __init__(self, config: SourceConfig, state: State | None = None) -> None:
        self.config = config
        self.state: State = state if state is not None else build_state(config)
        self.failure: ReloadFailure | None = None
        self.started_at = time.time()
        self._seen = self.state.fingerprint
        self._lock = threading.Lock()
        self.warmed = threading.Event()  # set once the first state is ready for queries
        self.completed = threading.Event()  # set once its index is complete (or failed to be)
        self._warming = False

    def warm_up(self) -> None:
        """Ready the first state for queries: what routing loads on first use is loaded now,
        and what was loaded is moved out of the garbage collector's way (a third of a second
        to a second; `warmed` is set then); then a freshly built index is completed (seconds
        for a large catalog, none for one read from its cache). Blocking; the server runs it
        in the background at start-up, so the first question asked is answered as fast as
        the rest. Only the first call works."""
        with self._lock:
            if self._warming:
                return
            self._warming = True
        try:
            _warm(self.state)
            freeze_long_lived()
        finally:
            self.warmed.set()
        try:
            self.complete()
        finally:
            self.completed.set()

    def complete(self) -> None:
        """Complete the served state's routing index if it was freshly built (seconds for a
        large catalog, none for one read from its cache): after warm-up, and after each reload
        once clients have been told of it. Blocking; like warming up it only saves time, so a
        failure is logged, never raised."""
        state = self.state
        started = time.perf_counter()
        try:
            if not state.router.complete():
                return
        except Exception:
            logger.exception("completing the routing index failed; queries complete it as "
                             "they go")
            return
        freeze_long_lived()  # what it made, out of the collector's way too
        logger.debug("routing index complete in %.2f s", time.perf_counter() - started)

    def reload_if_changed(self) -> bool:
        """Rebuild when a watched file changed. Blocking; True when a new state was swapped in."""
        with self._lock:
            current = self.state
            fingerprint = compute_fingerprint(watched_paths(self.config, current.manifest))
            if fingerprint == self._seen:
                return False
            # Remember what was tried, good or bad, so a broken edit is reported once.
            self._seen = fingerprint
            return self._rebuild(current, fingerprint)

    def _rebuild(self, current: State, fingerprint: tuple[tuple[str, int, int, int], ...]
                 ) -> bool:
        started = time.perf_counter()
        try:
            new = build_state(self.config, current.generation + 1, fingerprint)
        except SkillsrvError as exc:
            return self._fail(f"reload failed: {exc}")
        except Exception as exc:  # a loader bug must not take the server down
            logger.exception("reload crashed")
            return self._fail(f"reload failed: {exc!r}")
        if compute_fingerprint(watched_paths(self.config, current.manifest)) != fingerprint:
            # Edited while it was read: what was parsed and the file snapshot served may come
            # from different versions (an edit's sheets listed, its broken SKILL.md served).
            self._seen = ()  # read it all again at the next poll
            logger.info("pack files changed while they were read; reading them again")
            return False
        broken = breaking_problems(current.catalog, new.catalog)
        if broken:
            return self._fail(f"the edit broke {len(broken)} file(s); still serving the last "
                              "good version until it is fixed", tuple(broken))
        _warm(new)  # before the swap: the first question after an edit waits for nothing
        self.state = new
        self.failure = None
        freeze_long_lived()  # the old state's cycles collected once, the new state frozen
        logger.info("reloaded packs in %.2f s: %s", time.perf_counter() - started,
                    ", ".join(pack.name for pack in new.catalog.packs) or "none")
        return True

    def _fail(self, message: str, problems: tuple[Diagnostic, ...] = ()) -> bool:
        self.failure = ReloadFailure(message=message, at=time.time(), problems=problems)
        logger.error("%s", message)
        for problem in problems:
            logger.error("  %s", problem.format())
        return False


def _warm(state: State) -> None:
    """`Router.warm_up`, which only saves time: a failure is logged, never raised."""
    try:
        state.router.warm_up()
    except Exception:
        logger.exception("warming the router up failed; queries load what they need")


def breaking_problems(old: Catalog, new: Catalog) -> list[Diagnostic]:
    """Problems in `new` that make it worse than `old`: new errors, new unreadable files,
    documents emptied."""
    known = {(d.code, d.path) for d in old.all_diagnostics()}
    return [*(d for d in new.all_diagnostics()
              if (d.severity is Severity.ERROR or d.code in BREAKING_CODES)
              and (d.code, d.path) not in known),
            *_emptied(old, new)]


def _emptied(old: Catalog, new: Catalog) -> list[Diagnostic]:
    """Documents that had content and now have none. An editor that saves in place truncates
    the file first: a poll in between reads it empty, with only warnings (no name, no
    description), and serving that would lose the document until the next edit."""
    had = {(pack.name, doc.path) for pack in old.packs for skill in pack.skills
           for doc in skill.documents() if doc.size}
    return [error(doc.path, None, "file-emptied",
                  "the file is empty now; still serving its last version. If it is being "
                  "saved this clears at the next poll; otherwise write it back or delete it")
            for pack in new.packs for skill in pack.skills for doc in skill.documents()
            if not doc.size and (pack.name, doc.path) in had]


async def watch(live: Live, on_change: Callable[[], Awaitable[None]],
                interval: float = POLL_INTERVAL) -> None:
    """Poll forever (until cancelled); call `on_change` after each successful reload."""
    while True:
        await anyio.sleep(interval)
        try:
            changed = await anyio.to_thread.run_sync(live.reload_if_changed,
                                                     abandon_on_cancel=True)
        except Exception:
            logger.exception("checking the pack sources failed")
            continue
        if changed:
            try:
                await on_change()
            except Exception:
                logger.exception("notifying clients of the reload failed")
            # After the notification, outside the reload lock: clients hear of the edit at
            # once, and the new state answers meanwhile.
            await anyio.to_thread.run_sync(live.complete, abandon_on_cancel=True)
