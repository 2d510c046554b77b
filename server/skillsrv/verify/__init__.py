"""Verification: run model code in a sandboxed worker pool and measure it (torch stays there).

`verify_code(code, VerifyOptions(...))` returns a VerificationReport; see api.py. The worker
side (worker.py, measure.py, memtrack.py) imports torch and runs only in worker processes.
"""

from skillsrv.verify.api import averify_code, configure, default_pool, verify_code, warm_up
from skillsrv.verify.errors import (
    ContractError,
    ModelError,
    ResourceLimitError,
    SandboxRefused,
    VerificationError,
    VerificationTimeout,
    WorkerCrashed,
)
from skillsrv.verify.models import VerificationReport, VerifyOptions
from skillsrv.verify.pool import WorkerPool

__all__ = [
    "ContractError", "ModelError", "ResourceLimitError", "SandboxRefused", "VerificationError",
    "VerificationReport", "VerificationTimeout", "VerifyOptions", "WorkerCrashed", "WorkerPool",
    "averify_code", "configure", "default_pool", "verify_code", "warm_up",
]
