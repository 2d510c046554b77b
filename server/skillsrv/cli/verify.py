"""`skillsrv verify FILE.py`: run a model module in the sandbox and print what it measures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skillsrv.cli.common import print_json
from skillsrv.errors import UsageError
from skillsrv.manifest import load_manifest


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify", help="run a PyTorch model file and measure shapes, params, FLOPs, memory",
        description="Run FILE.py (a @dataclass config, build_model(config), example_inputs("
        "config, batch_size)) on fake tensors in a sandboxed worker and report output shapes, "
        "parameters, FLOPs, peak memory for inference and training, and whether it fits a "
        "memory budget. Exit status 3 when it does not fit the budget.")
    parser.add_argument("file", type=Path, metavar="FILE.py")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N")
    parser.add_argument("--budget", default=None, metavar="SIZE",
                        help="memory budget, e.g. 24GB (GB = GiB = 2**30 bytes)")
    parser.add_argument("--dtype", default="fp32",
                        choices=["fp32", "bf16", "fp16-mixed", "bf16-mixed"])
    parser.add_argument("--optimizer", default="adamw", choices=["adamw", "adam", "sgd"])
    parser.add_argument("--target", default="auto", choices=["auto", "cpu", "cuda"],
                        help="auto: cuda when a GPU is present or a budget is given")
    parser.add_argument("--checkpointing", action="store_true",
                        help="activation checkpointing on repeated blocks")
    parser.add_argument("--no-autofit", action="store_true",
                        help="do not search for what would fit the budget")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="wall-clock limit in seconds (default: manifest's)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="manifest.yaml to use (default: the project's, or $SKILLSRV_MANIFEST)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from skillsrv.verification import verifier_for, verify_options

    try:
        code = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.file}: cannot read ({exc})") from None
    options = verify_options(batch_size=args.batch_size, dtype=args.dtype,
                             optimizer=args.optimizer, target=args.target,
                             budget_bytes=args.budget, timeout_s=args.timeout,
                             checkpointing=args.checkpointing, autofit=not args.no_autofit)
    verifier = verifier_for(load_manifest(args.manifest))
    progress = None if args.json or not sys.stderr.isatty() else _progress
    report = verifier.verify(code, options, progress=progress, filename=str(args.file))
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        print(report.summary())
    return 0 if report.fit is None or report.fit.fits else 3


def _progress(fraction: float, message: str) -> None:
    sys.stderr.write(f"\r\033[K[{fraction:4.0%}] {message}")
    sys.stderr.flush()
