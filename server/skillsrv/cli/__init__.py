"""The `skillsrv` command line: one module per subcommand, each with `register` and `run`.

A command module exposes `register(subparsers) -> argparse.ArgumentParser` and sets
`run(args) -> int` as the parser's `handler` default. Heavy imports (torch above all) stay
inside `run`, so `skillsrv --help` and the routing commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from skillsrv import __version__
from skillsrv.errors import SkillsrvError

# Subcommand modules, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "demo", "packs", "show", "route", "clarify", "eval", "scaffold", "verify", "plugins",
    "pack", "serve", "daemon", "config",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skillsrv",
        description="Route neural-architecture questions through skill packs; scaffold and "
        "verify PyTorch models.",
    )
    parser.add_argument("--version", action="version", version=f"skillsrv {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"skillsrv.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except SkillsrvError as exc:
        print(f"skillsrv: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
