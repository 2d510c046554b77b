"""Forked processes for CPU-bound pure-Python work: worker pools for large batches (parsing,
tokenizing), and detached children that write caches while the parent goes on answering.

They are only safe from a single-threaded process: a server reloading in a background thread
works sequentially (and mostly from its caches). Threads that only block on a pipe nobody
else reads, and take no lock a child could need, may be declared fork-safe (`fork_safe`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import threading
import weakref
from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


_detached: list[int] = []  # children still writing
_fork_safe: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def fork_safe(thread: threading.Thread) -> threading.Thread:
    """Declare that `thread` does not stop this process from forking: it holds no lock that a
    forked child's work (pickling, writing a file, tokenizing) could wait for."""
    _fork_safe.add(thread)
    return thread


def _can_fork() -> bool:
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    current = threading.current_thread()
    return all(thread is current or thread in _fork_safe for thread in threading.enumerate()) \
        and current is threading.main_thread()


def pool_size(jobs: int, minimum: int) -> int:
    """How many worker processes to fork for `jobs` jobs (0: run them here)."""
    workers = min(os.cpu_count() or 1, int(os.environ.get("SKILLSRV_LOAD_WORKERS", "4")))
    if jobs < minimum or workers < 2 or not _can_fork():
        return 0
    return workers


def run_detached(function: Callable[[], None]) -> bool:
    """Run `function` in a forked child and return at once, or here when forking is not safe.
    For work whose result nobody waits for, such as writing a cache file (pickling a large
    index takes longer than building much of it). A process that exits first does not wait:
    the child finishes on its own, and a cache written by rename is whole or absent. True
    when a child does it."""
    _reap(block=False)
    pid = -1
    if (os.cpu_count() or 1) > 1 and _can_fork():
        with contextlib.suppress(OSError):
            pid = os.fork()
    if pid == 0:  # the child: do the work, then leave without running the parent's exit code
        try:
            function()
        finally:
            os._exit(0)
    if pid < 0:
        function()
        return False
    _detached.append(pid)
    return True


def wait_detached() -> None:
    """Wait for the children still writing, so what they write can be read."""
    _reap(block=True)


def _reap(*, block: bool) -> None:
    for pid in list(_detached):
        try:
            done, _status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            _detached.remove(pid)


def forked_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def map_forked(function: Callable[[Job], Result], jobs: Iterable[Job], minimum: int,
               chunksize: int = 1) -> list[Result]:
    """`function` over `jobs`, in forked workers when that pays off; a batch whose workers
    fail is run here instead."""
    return list(imap_forked(function, jobs, minimum, chunksize))


def imap_forked(function: Callable[[Job], Result], jobs: Iterable[Job], minimum: int,
                chunksize: int = 1) -> Generator[Result]:
    """`map_forked`, yielding each result as it arrives, in order: the caller can use the
    first results while workers compute the rest. Workers that fail hand the jobs they have
    not returned to this process. Exhaust or close the iterator before forking again: the
    pool's threads make forking unsafe until it is shut down."""
    batch = list(jobs)
    done = 0
    workers = pool_size(len(batch), minimum)
    if workers:
        try:
            with forked_pool(workers) as pool:
                for result in pool.map(function, batch, chunksize=chunksize):
                    done += 1
                    yield result
        except (OSError, concurrent.futures.process.BrokenProcessPool):
            pass
    for job in batch[done:]:
        yield function(job)
