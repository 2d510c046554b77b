"""verify_code: run model code in the sandboxed worker pool and return a VerificationReport.

Importable without torch (torch lives in the worker processes). When the model does not fit the
memory budget, auto-fit measures what would: the largest batch size that fits (bisection
seeded by a linear fit of peak against batch size), bf16, activation checkpointing and half the
model's width, each with its number.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import anyio.from_thread
import anyio.to_thread

from skillsrv.verify.errors import ERRORS_BY_KIND, SandboxRefused, VerificationError
from skillsrv.verify.models import Fit, Suggestion, VerificationReport, VerifyOptions
from skillsrv.verify.pool import WorkerPool
from skillsrv.verify.sandbox import check_source

Progress = Callable[[float, str], None]
TIGHT = 0.10  # "tight" when less than this share of the budget is left
WIDTH_FIELDS = ("d_model", "n_embd", "hidden_size", "hidden_dim", "embed_dim", "dim", "width",
                "base_width", "channels", "base_channels", "hidden", "d_hidden")
MAX_AUTOFIT_RUNS = 10
MAX_CODE_CHARS = 1_000_000


@dataclasses.dataclass
class PoolSettings:
    workers: int = 1
    timeout_s: float = 120.0
    memory_mb: int = 8192
    cpu_time_s: int = 600


_settings = PoolSettings()
_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def configure(*, workers: int | None = None, timeout_s: float | None = None,
              memory_mb: int | None = None, cpu_time_s: int | None = None) -> None:
    """Set the default pool's limits (manifest.yaml's `verification:`); restarts it if running."""
    global _pool
    with _pool_lock:
        for name, value in (("workers", workers), ("timeout_s", timeout_s),
                            ("memory_mb", memory_mb), ("cpu_time_s", cpu_time_s)):
            if value is not None:
                setattr(_settings, name, value)
        if _pool is not None:
            _pool.close()
            _pool = None


def default_pool() -> WorkerPool:
    """The process-wide pool, created on first use and closed at exit."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(_settings.workers, timeout_s=_settings.timeout_s,
                               memory_mb=_settings.memory_mb, cpu_time_s=_settings.cpu_time_s)
            atexit.register(_pool.close)
        return _pool


def warm_up() -> None:
    """Start the default pool's workers now, so the first verification finds torch imported."""
    default_pool().start()


def _raise(message: dict[str, Any]) -> None:
    cls = ERRORS_BY_KIND.get(str(message.get("kind")), VerificationError)
    text = str(message.get("message") or "verification failed")
    if message.get("detail"):
        text += "\n" + str(message["detail"])
    raise cls(text, hint=message.get("hint"))


def _run(pool: WorkerPool, code: str, options: VerifyOptions, filename: str,
         progress: Progress | None, **extra: Any) -> dict[str, Any]:
    request = {"op": "verify", "code": code, "filename": filename,
               "options": options.model_dump(mode="json"), **extra}
    message = pool.submit(request, timeout_s=options.timeout_s, progress=progress)
    if message.get("type") != "result":
        _raise(message)
    report = dict(message["report"])
    report["timings"]["worker"] = message.get("worker", "warm")
    return report


def verify_code(code: str, options: VerifyOptions | None = None, *,
                progress: Progress | None = None, filename: str = "model.py",
                pool: WorkerPool | None = None) -> VerificationReport:
    """Run `code` (the model contract) in the sandbox and measure it.

    Raises a VerificationError subclass (a SkillsrvError) with a clear message: SandboxRefused,
    ContractError, ModelError, ResourceLimitError, VerificationTimeout or WorkerCrashed.
    """
    options = options or VerifyOptions()
    started = time.perf_counter()
    say: Progress = progress or (lambda fraction, message: None)
    if len(code) > MAX_CODE_CHARS:
        raise SandboxRefused(f"{filename}: {len(code):,} characters is more than the "
                             f"{MAX_CODE_CHARS:,} a model module may have")
    check_source(code, filename)  # refuse early, without a worker round trip
    pool = pool or default_pool()
    scale = 0.7 if options.budget_bytes and options.autofit else 1.0
    data = _run(pool, code, options, filename,
                lambda f, m: say(f * scale, m))
    report = VerificationReport.model_validate(data)
    if options.budget_bytes:
        report.fit = _fit(options.budget_bytes, report.memory.total_train,
                          report.memory.total_inference)
        if not report.fit.fits and options.autofit:
            autofit_started = time.perf_counter()
            report.suggestions = _autofit(pool, code, options, filename, report,
                                          lambda f, m: say(0.7 + 0.3 * f, m))
            report.timings.autofit_s = time.perf_counter() - autofit_started
    report.timings.total_s = time.perf_counter() - started
    say(1.0, "done")
    return report


async def averify_code(code: str, options: VerifyOptions | None = None, *,
                       progress: Callable[[float, str], Coroutine[Any, Any, None]] | None = None,
                       filename: str = "model.py",
                       pool: WorkerPool | None = None) -> VerificationReport:
    """`verify_code` for async callers: runs in a thread; `progress` may be a coroutine
    function (an MCP progress notification) and is awaited on the event loop."""
    sync_progress: Progress | None = None
    if progress is not None:
        async_progress = progress

        def sync_progress(fraction: float, message: str) -> None:
            anyio.from_thread.run(async_progress, fraction, message)

    call = functools.partial(verify_code, code, options, progress=sync_progress,
                             filename=filename, pool=pool)
    return await anyio.to_thread.run_sync(call)


def _fit(budget: int, needed: int, inference: int) -> Fit:
    margin = budget - needed
    fits = margin >= 0
    verdict: Literal["fits", "tight", "does-not-fit"] = \
        "does-not-fit" if not fits else "tight" if margin < TIGHT * budget else "fits"
    return Fit(budget=budget, needed=needed, fits=fits, margin=margin, verdict=verdict,
               inference_fits=inference <= budget)


def _autofit(pool: WorkerPool, code: str, options: VerifyOptions, filename: str,
             report: VerificationReport, say: Progress) -> list[Suggestion]:
    """Measure what would fit the budget."""
    budget = options.budget_bytes
    assert budget is not None
    runs = 0

    def needed(**changes: Any) -> int:
        nonlocal runs
        runs += 1
        say(min(runs / MAX_AUTOFIT_RUNS, 0.95), f"auto-fit: trying {_describe(changes)}")
        trial = options.model_copy(update={**changes, "autofit": False})
        data = _run(pool, code, trial, filename, None, train_only=True)
        return int(data["memory"]["total_train"])

    suggestions: list[Suggestion] = []
    batch = options.batch_size
    if batch > 1:
        best, best_peak = _largest_batch(needed, budget, batch, report.memory.total_train)
        if best:
            suggestions.append(Suggestion(change=f"batch_size={best}", peak=best_peak, fits=True,
                                          note=f"largest batch size that fits (asked: {batch})"))
        else:
            suggestions.append(Suggestion(change="batch_size=1", peak=best_peak, fits=False,
                                          note="even batch size 1 does not fit"))
    alternatives: list[tuple[str, dict[str, Any], str]] = []
    if options.dtype != "bf16":
        alternatives.append(("dtype=bf16", {"dtype": "bf16"},
                             "weights, gradients and optimizer state in bf16"))
    if not options.checkpointing:
        alternatives.append(("checkpointing=True", {"checkpointing": True},
                             "recompute each block's activations in backward"))
    width = _width_field(report.config)
    if width:
        half = max(1, int(report.config[width]) // 2)
        alternatives.append((f"config.{width}={half}",
                             {"config": {**options.config, width: half}},
                             f"half the width (was {report.config[width]})"))
    for change, update, note in alternatives:
        try:
            peak = needed(**update)
        except VerificationError as exc:
            suggestions.append(Suggestion(change=change, peak=0, fits=False,
                                          method="estimated",
                                          note=f"could not be measured: {exc.message[:200]}"))
            continue
        suggestions.append(Suggestion(change=change, peak=peak, fits=peak <= budget, note=note))
    return suggestions


def _largest_batch(needed: Callable[..., int], budget: int, batch: int,
                   peak_at_batch: int) -> tuple[int, int]:
    """The largest batch size below `batch` whose peak fits, and that peak (0, peak(1) if none).

    Peaks grow about linearly with the batch, so each trial interpolates between the largest
    batch known to fit and the smallest known not to (exact for a line: three runs); after four
    trials it bisects. Every number returned was measured.
    """
    lo, lo_peak = 1, needed(batch_size=1)
    if lo_peak > budget:
        return 0, lo_peak
    hi, hi_peak = batch, peak_at_batch
    runs = 1
    while hi - lo > 1 and runs < MAX_AUTOFIT_RUNS - 3:
        if runs <= 4 and hi_peak > lo_peak:
            trial = lo + int((budget - lo_peak) / (hi_peak - lo_peak) * (hi - lo))
        else:
            trial = (lo + hi) // 2
        trial = min(max(trial, lo + 1), hi - 1)
        peak = needed(batch_size=trial)
        runs += 1
        if peak <= budget:
            lo, lo_peak = trial, peak
        else:
            hi, hi_peak = trial, peak
    return lo, lo_peak


def _width_field(config: dict[str, Any]) -> str | None:
    for name in WIDTH_FIELDS:
        value = config.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 2:
            return name
    return None


def _describe(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "defaults"
