"""A warm pool of verification workers: torch is imported once per worker, not per call.

Thread-safe: any number of threads may call `submit` at once; each call takes an idle worker
(waiting for one) and gives it back. From async code, `await pool.asubmit(...)` runs the call in
a worker thread (anyio). Each worker is a process group of its own, so killing it also kills the
child running the code.

Failures the pool survives: the worker answers timeouts, crashes and limit breaches of the
forked child that runs the code (the worker itself lives on). If the worker itself dies or stops
answering (killed from outside, hung), the pool kills its process group, starts a replacement
and raises WorkerCrashed / VerificationTimeout; the next call is served by the replacement.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread

from skillsrv.forking import fork_safe
from skillsrv.verify.errors import VerificationTimeout, WorkerCrashed
from skillsrv.verify.protocol import LineReader, send

Progress = Callable[[float, str], None]
# Environment variables a worker keeps; everything else (API keys, tokens) stays out.
PASS_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH", "PYTORCH_CUDA_ALLOC_CONF",
            "PYTORCH_NVML_BASED_CUDA_CHECK", "TMPDIR")
GRACE_S = 15.0  # how much longer than the run's timeout the pool waits for the worker's answer


class _Worker:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd, start_new_session=True, close_fds=True)
        assert self.process.stdout and self.process.stdin and self.process.stderr
        self.reader = LineReader(self.process.stdout.fileno())
        self.ready = False
        self.calls = 0
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        # Only blocks reading the worker's stderr pipe, which nothing else touches: a process
        # that verifies can still fork its routing index's cache writer.
        self._drain = fork_safe(threading.Thread(
            target=self._read_stderr, daemon=True,
            name=f"verify-worker-{self.process.pid}-stderr"))
        self._drain.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        try:
            for line in iter(stream.readline, b""):
                self.stderr.append(line.decode(errors="replace").rstrip())
        except (ValueError, OSError):
            # Closed under us by the worker's clean-up (a ValueError from a closed buffer, in
            # a suite run once): the worker is gone, and what it wrote so far is kept.
            return

    def tail(self) -> str:
        lines = [line for line in self.stderr if line.strip()][-5:]
        return ("; worker stderr: " + " | ".join(lines)[-800:]) if lines else ""

    def wait_ready(self, deadline: float) -> None:
        while not self.ready:
            try:
                message = self.reader.read(deadline)
            except TimeoutError:
                raise VerificationTimeout("the verification worker did not start in time",
                                          hint="is torch importable by the worker's python?"
                                          ) from None
            if message is None:
                self.process.wait()
                # What it wrote before exiting: the reader stops at the pipe's end, which may
                # come a moment after the exit.
                self._drain.join(timeout=2)
                raise WorkerCrashed("the verification worker failed to start (exit code "
                                    f"{self.process.returncode}){self.tail()}",
                                    hint="check that torch and skillsrv import in that python")
            self.ready = message.get("type") == "ready"

    def call(self, request: dict[str, Any], deadline: float,
             progress: Progress | None) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.calls += 1
        try:
            send(self.process.stdin.fileno(), request)
        except OSError:
            raise WorkerCrashed(f"the verification worker is gone{self.tail()}") from None
        while True:
            try:
                message = self.reader.read(deadline)
            except TimeoutError:
                raise VerificationTimeout(
                    "the verification worker stopped answering and was replaced",
                    hint="try again; a model that hangs inside native code can cause this"
                ) from None
            if message is None:
                self.process.wait()
                code = self.process.returncode
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise WorkerCrashed(f"the verification worker died ({how}); it was replaced"
                                    + self.tail(), hint="try again")
            if message.get("id") != request.get("id"):
                continue
            if message.get("type") == "progress":
                if progress is not None:
                    progress(float(message.get("fraction", 0.0)), str(message.get("message")))
                continue
            return message

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # The group is dead, so its stderr reaches its end: let the drain read to it before
        # the pipe closes (closing first raced the drain's readline). A writer that escaped
        # the group could hold the pipe open, hence the timeout.
        self._drain.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class WorkerPool:
    """`size` warm worker processes with per-call wall-clock timeouts and resource limits."""

    def __init__(self, size: int = 1, *, timeout_s: float = 120.0, memory_mb: int = 8192,
                 cpu_time_s: int = 600, startup_timeout_s: float = 120.0,
                 python: str | None = None, test_hooks: bool = False) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = size
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.startup_timeout_s = startup_timeout_s
        self.python = python or sys.executable
        self.test_hooks = test_hooks
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._cond = threading.Condition()
        self._closed = False
        self._ids = 0
        self._dir = tempfile.mkdtemp(prefix="skillsrv-verify-")

    # -- processes
    def _env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        package_root = str(Path(__file__).resolve().parents[2])  # the folder holding skillsrv
        env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [
            os.environ.get("PYTHONPATH")])])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["HOME"] = self._dir
        if self.test_hooks:
            env["SKILLSRV_VERIFY_TEST_HOOKS"] = "1"
        return env

    def _spawn(self) -> _Worker:
        return _Worker([self.python, "-m", "skillsrv.verify.worker"], self._env(), self._dir)

    def start(self) -> WorkerPool:
        """Start the worker processes now (they import torch in the background)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is closed")
            while len(self._workers) < self.size:
                worker = self._spawn()
                self._workers.append(worker)
                self._idle.append(worker)
                self._cond.notify()
        return self

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._workers]

    def _acquire(self) -> _Worker:
        with self._cond:
            if len(self._workers) < self.size and not self._idle and not self._closed:
                self.start()
            while not self._idle:
                if self._closed:
                    raise RuntimeError("the pool is closed")
                self._cond.wait()
            return self._idle.pop()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker in self._workers:
                self._idle.append(worker)
                self._cond.notify()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            if worker in self._workers:
                self._workers.remove(worker)
            if not self._closed:
                fresh = self._spawn()
                self._workers.append(fresh)
                self._idle.append(fresh)
                self._cond.notify()

    # -- calls
    def submit(self, request: dict[str, Any], *, timeout_s: float | None = None,
               progress: Progress | None = None) -> dict[str, Any]:
        """Send one request to an idle worker; the worker's answer (a result or an error)."""
        timeout = timeout_s or self.timeout_s
        worker = self._acquire()
        cold = not worker.ready
        try:
            worker.wait_ready(time.monotonic() + self.startup_timeout_s)
            with self._cond:
                self._ids += 1
                rid = self._ids
            limits = {"memory_bytes": self.memory_mb * 2**20, "cpu_s": self.cpu_time_s}
            for key, value in (request.get("limits") or {}).items():  # may only tighten
                if key in limits and value:
                    limits[key] = min(limits[key], value)
            message = worker.call({**request, "id": rid, "timeout_s": timeout, "limits": limits},
                                  time.monotonic() + timeout + GRACE_S, progress)
        except BaseException:  # crashed, hung or interrupted mid-call: its state is unknown
            self._replace(worker)
            raise
        self._release(worker)
        message["worker"] = "cold" if cold else "warm"
        return message

    async def asubmit(self, request: dict[str, Any], *, timeout_s: float | None = None,
                      progress: Progress | None = None) -> dict[str, Any]:
        """`submit` from async code (runs in a worker thread)."""
        call = functools.partial(self.submit, request, timeout_s=timeout_s, progress=progress)
        return await anyio.to_thread.run_sync(call)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._workers, self._idle = self._workers, [], []
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
