"""`skillsrv scaffold`: a PyTorch model file from a blueprint, by name or from a description."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skillsrv.cli.common import add_pack_options, manifest_from, print_json, shown_path
from skillsrv.cli.route import make_router
from skillsrv.errors import UsageError
from skillsrv.scaffold.api import ScaffoldResult, scaffold
from skillsrv.scaffold.blueprint import BUNDLED_BLUEPRINTS, Blueprint, load_blueprints
from skillsrv.scaffold.from_query import scaffold_from_query


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scaffold", help="write a PyTorch model from a blueprint",
        description="Render a blueprint (or a canonical alias such as resnet50, gpt2, "
                    "llama2-7b) as one self-contained PyTorch file, or choose and size one "
                    "from a description with --from-query.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", metavar="NAME", help="blueprint or alias name")
    source.add_argument("--from-query", metavar="QUERY",
                        help="describe the data and constraints; the blueprint and its sizes "
                             "are chosen for you")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="overrides", help="override one parameter (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="print {blueprint, config, code, rationale, verification} as JSON")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the code to FILE")
    parser.add_argument("--no-verify", action="store_true",
                        help="return the code without running it (verification is the default)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="batch size to verify with (default 8)")
    parser.add_argument("--budget", default=None, metavar="SIZE",
                        help="memory budget to verify against, e.g. 24GB")
    parser.add_argument("--dtype", default="fp32",
                        choices=["fp32", "bf16", "fp16-mixed", "bf16-mixed"])
    add_pack_options(parser)
    parser.add_argument("--blueprints", type=Path, default=BUNDLED_BLUEPRINTS, metavar="DIR",
                        help="folder of blueprint files (default: the bundled pack's)")
    parser.set_defaults(handler=run)


def parse_overrides(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: write --set key=value, e.g. --set num_classes=10")
        overrides[key.strip()] = value
    return overrides


def load(folder: Path) -> list[Blueprint]:
    """Load blueprints, reporting problems on stderr; unusable files are skipped."""
    blueprints, diagnostics = load_blueprints(folder)
    for diagnostic in diagnostics:
        diagnostic.path = shown_path(diagnostic.path)
        print(diagnostic.format(), file=sys.stderr)
    if not blueprints:
        raise UsageError(f"no usable blueprints in {folder}",
                         hint="pass --blueprints DIR with *.md blueprint files")
    return blueprints


def run(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.overrides)
    blueprints = load(args.blueprints)
    if args.arch:
        result = scaffold(args.arch, overrides, blueprints)
    else:
        router = make_router(args)
        result = scaffold_from_query(args.from_query, router, blueprints, overrides)
    if not args.no_verify:
        from skillsrv.verification import verify_options, verify_scaffold

        options = verify_options(batch_size=args.batch_size, budget_bytes=args.budget,
                                 dtype=args.dtype)
        result = verify_scaffold(result, manifest_from(args), options)
    if args.out:
        args.out.write_text(result.code, encoding="utf-8")
    if args.json:
        print_json(result.model_dump(mode="json"))
    elif args.out:
        print(summary(result))
        print(f"wrote {args.out}")
    else:
        print(summary(result), file=sys.stderr)
        print(result.code, end="")
    return 0


def summary(result: ScaffoldResult) -> str:
    lines = [f"blueprint: {result.blueprint}",
             "config: " + ", ".join(f"{k}={v}" for k, v in result.config.items()),
             "rationale:"]
    lines += [f"  - {line}" for line in result.rationale]
    return "\n".join(lines)
