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
import pickle
import select
import shutil
import signal
import tempfile
import threading
import weakref
from collections.abc import Callable, Generator, Iterable
from typing import NoReturn, TypeVar, cast

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
    first results while workers compute the rest, or do other work first (the workers start
    at once, not at the first result). Workers that fail hand the jobs they have not
    returned to this process. Exhaust or close the iterator before forking again.

    The workers need nothing from this process once forked, so its main thread may do other
    work meanwhile: they inherit the jobs, take chunk numbers from a pipe filled beforehand,
    write each chunk's results to a file of its own and post its number on another pipe. (A
    process pool's feeder and result threads need this process's interpreter lock to hand
    out jobs and take results: while its main thread computed, the workers waited.) While
    the caller waits for a chunk, this process takes chunks from the same pipe and computes
    them itself, so it forks one worker fewer than the pool size: as many busy processes as
    cores (more only slow each other down), and its own results need no pickling."""
    results = _forked_results(function, list(jobs), minimum, chunksize)
    next(results)  # forks the workers now
    return cast("Generator[Result]", results)


def _forked_results(function: Callable[[Job], Result], batch: list[Job], minimum: int,
                    chunksize: int) -> Generator[Result | None]:
    """`imap_forked`'s results, after a first None once the workers are forked."""
    workers = pool_size(len(batch), minimum) - 1  # and this process
    chunks = [range(start, min(start + chunksize, len(batch)))
              for start in range(0, len(batch), max(1, chunksize))]
    if workers < 1 or len(chunks) >= 1 << 31:
        yield None
        yield from map(function, batch)
        return
    folder = tempfile.mkdtemp(prefix="skillsrv-workers-")
    todo_read, todo_write = os.pipe()
    done_read, done_write = os.pipe()
    children: list[int] = []
    try:
        with os.fdopen(todo_write, "wb") as todo:  # all of it fits a pipe's buffer
            todo.write(b"".join(number.to_bytes(4, "little") for number in range(len(chunks))))
        for _ in range(min(workers, len(chunks))):
            with contextlib.suppress(OSError):
                pid = os.fork()
                if pid == 0:
                    _work(function, batch, chunks, folder, todo_read, done_write)
                children.append(pid)
        os.close(done_write)
        done_write = -1
        yield None
        done: set[int] = set()  # posted by a worker
        here: dict[int, list[Result]] = {}  # computed by this process
        workers_left = True
        for number, chunk in enumerate(chunks):
            while number not in done and number not in here and workers_left:
                # What the workers have posted first, so their results are used as they
                # come; then a chunk nobody has taken, done here; else wait for a worker.
                if not select.select([done_read], [], [], 0)[0]:
                    taken = os.read(todo_read, 4) if todo_read >= 0 else b""
                    if len(taken) == 4:
                        mine = int.from_bytes(taken, "little")
                        here[mine] = [function(batch[index]) for index in chunks[mine]]
                        continue
                    if todo_read >= 0:  # every chunk is taken
                        os.close(todo_read)
                        todo_read = -1
                message = os.read(done_read, 4096)
                workers_left = bool(message)  # none: every worker has exited
                done.update(int.from_bytes(message[i:i + 4], "little")
                            for i in range(0, len(message) - 3, 4))
            if number in here:
                yield from here.pop(number)
            elif number in done:
                path = os.path.join(folder, f"{number}.pickle")
                with open(path, "rb") as file:
                    results = pickle.load(file)
                os.unlink(path)
                yield from results
            else:  # taken by a worker that failed
                yield from (function(batch[index]) for index in chunk)
    finally:
        for fd in (todo_read, done_write, done_read):
            if fd >= 0:
                os.close(fd)
        for pid in children:  # finished by now, unless the caller stopped early
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        shutil.rmtree(folder, ignore_errors=True)


def _work(function: Callable[[Job], Result], batch: list[Job], chunks: list[range],
          folder: str, todo: int, done: int) -> NoReturn:
    """A forked worker's life: take chunk numbers until none are left, leave at once on
    any error (the parent does what it did not post)."""
    status = 1
    try:
        while True:
            taken = os.read(todo, 4)  # reads of a few bytes from a pipe are atomic
            if len(taken) < 4:
                status = 0
                break
            number = int.from_bytes(taken, "little")
            results = [function(batch[index]) for index in chunks[number]]
            path = os.path.join(folder, f"{number}.pickle")
            with open(path + ".part", "wb") as file:
                pickle.dump(results, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.rename(path + ".part", path)
            os.write(done, taken)
    finally:
        os._exit(status)
