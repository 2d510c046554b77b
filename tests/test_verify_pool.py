"""The worker pool survives what model code does to its process, and serves the next call."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import anyio
import pytest
from test_verify_common import CNN, shared_pool

from skillsrv.verify import (
    ResourceLimitError,
    VerificationReport,
    VerificationTimeout,
    VerifyOptions,
    WorkerCrashed,
    averify_code,
    verify_code,
)
from skillsrv.verify.pool import WorkerPool

OPTIONS = VerifyOptions(target="cpu", batch_size=2)


def still_serves() -> VerificationReport:
    report = verify_code(CNN, OPTIONS, pool=shared_pool())
    assert report.model == "CNN" and report.timings.worker == "warm"
    return report


def test_an_endless_loop_times_out_and_the_pool_serves_the_next_call() -> None:
    code = CNN + "\nwhile True:\n    pass\n"
    pids = shared_pool().pids()
    with pytest.raises(VerificationTimeout, match="longer than 2 s"):
        verify_code(code, OPTIONS.model_copy(update={"timeout_s": 2}), pool=shared_pool())
    assert shared_pool().pids() == pids  # the forked child was killed, the worker lives on
    still_serves()


def test_a_huge_real_allocation_hits_the_memory_limit() -> None:
    code = CNN + "\nTABLE = torch.ones(2**31)  # 8 GiB of real memory at import time\n"
    with pytest.raises(ResourceLimitError, match="out of memory while importing the module"):
        verify_code(code, OPTIONS, pool=shared_pool())
    still_serves()


def test_cpu_time_over_the_limit_is_a_limit_error() -> None:
    answer = shared_pool().submit({"op": "verify", "code": CNN + "\nwhile True:\n    pass\n",
                                   "options": OPTIONS.model_dump(), "limits": {"cpu_s": 1}},
                                  timeout_s=30)
    assert answer["type"] == "error" and answer["kind"] == "limit"
    assert "CPU-time limit (SIGXCPU)" in answer["message"]
    still_serves()


def test_a_segfaulting_run_is_reported_and_the_next_call_served() -> None:
    pids = shared_pool().pids()
    answer = shared_pool().submit({"op": "verify", "code": CNN, "test": "segfault",
                                   "options": OPTIONS.model_dump()})
    assert answer["type"] == "error" and answer["kind"] == "crash"
    assert "segmentation fault (SIGSEGV)" in answer["message"]
    assert shared_pool().pids() == pids
    still_serves()


def test_a_worker_killed_from_outside_is_reported_and_replaced() -> None:
    pool = shared_pool()
    still_serves()
    [pid] = pool.pids()

    def kill_the_worker(fraction: float, message: str) -> None:
        os.kill(pid, signal.SIGKILL)  # while the child runs the endless build_model

    code = CNN.replace("    return CNN(config)", "    while True:\n        pass")
    with pytest.raises(WorkerCrashed, match=r"worker died \(killed by signal 9\); it was replaced"):
        verify_code(code, OPTIONS.model_copy(update={"timeout_s": 30}), pool=pool,
                    progress=kill_the_worker)
    assert pool.pids() != [pid]
    report = verify_code(CNN, OPTIONS, pool=pool)
    assert report.timings.worker == "cold"


def test_printing_model_code_does_not_corrupt_the_protocol() -> None:
    code = CNN.replace("    return CNN(config)", "    print('{\"type\": \"result\"}')\n"
                                                 "    return CNN(config)")
    report = verify_code(code, OPTIONS, pool=shared_pool())
    assert report.params.total > 0


def test_concurrent_calls_share_the_pool_safely() -> None:
    reports: list[VerificationReport] = []
    threads = [threading.Thread(target=lambda: reports.append(still_serves())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 3 and len({r.memory.train.peak for r in reports}) == 1


def test_async_callers_get_the_report_and_awaited_progress() -> None:
    seen: list[str] = []

    async def progress(fraction: float, message: str) -> None:
        seen.append(message)

    async def main() -> VerificationReport:
        return await averify_code(CNN, OPTIONS, progress=progress, pool=shared_pool())

    report = anyio.run(main)
    assert report.model == "CNN"
    assert seen[0] == "building the model" and seen[-1] == "done"


def test_a_worker_that_fails_to_start_is_reported_with_what_it_wrote_to_stderr(
        tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ImportError: torch is broken on this machine' >&2\n"
                      "exit 3\n")
    broken.chmod(0o755)
    pool = WorkerPool(python=str(broken), startup_timeout_s=30)
    try:
        with pytest.raises(WorkerCrashed, match=r"exit code 3\); worker stderr: "
                                                r"ImportError: torch is broken"):
            pool.submit({"op": "verify", "code": CNN, "options": OPTIONS.model_dump()})
    finally:
        pool.close()


def test_a_process_running_verification_workers_can_still_fork() -> None:
    # The routing index forks its cache writer and profiling workers only when this process
    # has no other thread: a worker's stderr must not need one.
    from skillsrv.forking import _can_fork

    still_serves()
    assert _can_fork(), [thread.name for thread in threading.enumerate()]
