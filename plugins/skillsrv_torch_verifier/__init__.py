"""The built-in torch verifier: runs PyTorch model code in the sandboxed worker pool.

Registered through the same `register_verifiers` hook third-party plugins use. torch itself is
imported only inside the worker processes, so loading this plugin is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skillsrv.hookspecs import hookimpl
from skillsrv.verify import VerificationReport, VerifyOptions, verify_code


class TorchVerifier:
    name = "torch"
    description = ("Runs a PyTorch module (config dataclass, build_model, example_inputs) on "
                   "fake tensors in a sandbox: shapes, parameters, FLOPs, peak memory, fit.")

    def verify(self, code: str, options: Any = None, *,
               progress: Callable[[float, str], None] | None = None,
               filename: str = "model.py") -> VerificationReport:
        opts = options if isinstance(options, VerifyOptions) else \
            VerifyOptions.model_validate(options or {})
        return verify_code(code, opts, progress=progress, filename=filename)


@hookimpl
def register_verifiers(register: Callable[[Any], None]) -> None:
    register(TorchVerifier())
