"""Forked worker processes for CPU-bound pure-Python batches (parsing, tokenizing).

They pay off only for large batches, on more than one core, and they are only safe from a
single-threaded process: a server reloading in a background thread works sequentially (and
mostly from its caches).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def pool_size(jobs: int, minimum: int) -> int:
    """How many worker processes to fork for `jobs` jobs (0: run them here)."""
    workers = min(os.cpu_count() or 1, int(os.environ.get("SKILLSRV_LOAD_WORKERS", "4")))
    if jobs < minimum or workers < 2 or threading.active_count() > 1 or \
            "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return workers


def forked_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def map_forked(function: Callable[[Job], Result], jobs: Iterable[Job], minimum: int,
               chunksize: int = 1) -> list[Result]:
    """`function` over `jobs`, in forked workers when that pays off; a batch whose workers
    fail is run here instead."""
    batch = list(jobs)
    workers = pool_size(len(batch), minimum)
    if workers:
        try:
            with forked_pool(workers) as pool:
                return list(pool.map(function, batch, chunksize=chunksize))
        except (OSError, concurrent.futures.process.BrokenProcessPool):
            pass
    return [function(job) for job in batch]
