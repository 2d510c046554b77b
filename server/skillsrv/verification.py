"""Verification as the rest of skillsrv uses it: the manifest's limits, the verifier plugin,
and scaffolds that are run before anyone sees them. No torch import here (workers do that)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from skillsrv.errors import NotFoundError, UsageError
from skillsrv.manifest import Manifest
from skillsrv.scaffold.api import ScaffoldResult

Progress = Callable[[float, str], None]


def verify_options(**values: Any) -> Any:
    """VerifyOptions from loose values (CLI flags, tool arguments); bad ones are UsageErrors."""
    from skillsrv.verify import VerifyOptions

    try:
        return VerifyOptions(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(problems.replace("Value error, ", "")) from None


def verifier_for(manifest: Manifest) -> Any:
    """The torch verifier, with the pool limits from manifest.yaml's `verification:`."""
    from skillsrv.plugins import get_plugin_manager
    from skillsrv.verify import configure

    settings = manifest.verification
    configure(workers=settings.workers, timeout_s=settings.timeout_s,
              memory_mb=settings.memory_mb, cpu_time_s=settings.cpu_time_s)
    return get_plugin_manager(manifest.plugins.disabled).get_verifier("torch")


def verify_scaffold(result: ScaffoldResult, manifest: Manifest, options: Any, *,
                    progress: Progress | None = None) -> ScaffoldResult:
    """Run the scaffold's code in the verifier and attach the report.

    A verification failure raises (the code is not handed over); a verifier that is not
    loaded leaves `verification` empty and says so in the rationale.
    """
    try:
        verifier = verifier_for(manifest)
    except NotFoundError as exc:
        note = f"not verified: {exc} (see `skillsrv plugins`)"
        return result.model_copy(update={"rationale": [*result.rationale, note]})
    report = verifier.verify(result.code, options, progress=progress,
                             filename=f"{result.blueprint}.py")
    fit = report.fit
    shapes = ", ".join(str(tuple(output.shape)) for output in report.outputs)
    # Say how it ran: "cuda" alone reads as if a GPU had run it on a machine that has none.
    measured = report.measured
    how = f"run on {measured.device}" if measured is not None and measured.error is None \
        else "fake tensors"
    line = (f"verified ({report.target} target, {how}, {report.dtype}, batch "
            f"{report.batch_size}): output {shapes}, {report.params.total:,} parameters, "
            f"training step peak {report.memory.total_train / 2**20:,.1f} MiB")
    if fit is not None:
        line += f"; {fit.verdict} the budget (margin {fit.margin / 2**30:+.2f} GiB)"
    return result.model_copy(update={"verification": report.model_dump(mode="json"),
                                     "rationale": [*result.rationale, line]})
