"""Errors a verification can end with; each says what happened and what to do next."""

from __future__ import annotations

from skillsrv.errors import SkillsrvError


class VerificationError(SkillsrvError):
    """The code could not be verified (the base of the errors below)."""

    exit_code = 1
    kind = "internal"


class SandboxRefused(VerificationError):
    """The code does something the sandbox does not allow (found before or while running)."""

    exit_code = 2
    kind = "sandbox"


class ContractError(VerificationError):
    """The module does not follow the contract (config dataclass, build_model, example_inputs)."""

    exit_code = 2
    kind = "contract"


class ModelError(VerificationError):
    """The model's own code raised while building it, making inputs or running a step."""

    kind = "model"


class ResourceLimitError(VerificationError):
    """The code went over the worker's memory or CPU-time limit."""

    kind = "limit"


class VerificationTimeout(VerificationError):
    """The run went over its wall-clock limit; the worker was killed and replaced."""

    kind = "timeout"


class WorkerCrashed(VerificationError):
    """The worker process died (a signal such as SIGSEGV, or killed); it was replaced."""

    kind = "crash"


ERRORS_BY_KIND: dict[str, type[VerificationError]] = {
    cls.kind: cls
    for cls in (VerificationError, SandboxRefused, ContractError, ModelError,
                ResourceLimitError, VerificationTimeout, WorkerCrashed)
}
