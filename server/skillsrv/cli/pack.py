"""`skillsrv pack new | lint | test | build`: write, check, evaluate and ship a skill pack.

- `new NAME [--dir D]`: a skeleton that lints clean and passes its own evals.
- `lint PATH [--json] [--strict]`: every problem as `file:line: severity code message`;
  exit 0 clean, 1 errors (or warnings with --strict), 2 bad usage.
- `test PATH [--json]`: the pack's evals.yaml through the router; exit 1 under threshold.
- `build PATH --out DIR`: plugin + marketplace entry + zip with sha256 digests; refuses a
  pack with lint errors.

The authoring code lives in `skillsrv.authoring`; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from skillsrv.errors import SkillsrvError, UsageError

if TYPE_CHECKING:
    from skillsrv.authoring.lint import LintResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("pack", help="create, lint, test and build skill packs",
                                   description="Author skill packs: new, lint, test, build.")
    parser.set_defaults(handler=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="pack_command", metavar="ACTION")

    new = actions.add_parser("new", help="write a pack skeleton that lints clean",
                             description="Write a new pack: plugin manifest, router, one sheet, "
                                         "one blueprint and evals.")
    new.add_argument("name", metavar="NAME", help="pack name (lowercase, digits, hyphens)")
    new.add_argument("--dir", type=Path, default=Path("."), metavar="D",
                     help="folder to create NAME in (default: the current folder)")
    new.set_defaults(handler=run_new)

    lint = actions.add_parser("lint", help="check a pack and report every problem",
                              description="Lint the packs under PATH.")
    lint.add_argument("path", type=Path, metavar="PATH")
    lint.add_argument("--json", action="store_true", help="print JSON")
    lint.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint.add_argument("--no-build", action="store_true",
                      help="parse blueprints but do not build them on the meta device")
    lint.set_defaults(handler=run_lint)

    test = actions.add_parser("test", help="run a pack's evals through the router",
                              description="Run the evals.yaml of the packs under PATH.")
    test.add_argument("path", type=Path, metavar="PATH")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(handler=run_test)

    build = actions.add_parser("build", help="build a distributable plugin, marketplace and zip",
                               description="Lint PATH, then write OUT/NAME, "
                                           "OUT/.claude-plugin/marketplace.json and a zip.")
    build.add_argument("path", type=Path, metavar="PATH")
    build.add_argument("--out", type=Path, required=True, metavar="DIR")
    build.set_defaults(handler=run_build)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_new(args: argparse.Namespace) -> int:
    from skillsrv.authoring.new import new_pack

    root = new_pack(args.name, args.dir)
    print(f"created {root}")
    print(f"  next: edit {root}/skills/using-{args.name}/SKILL.md, then")
    print(f"  skillsrv pack lint {root} && skillsrv pack test {root}")
    return 0


def _lint(path: Path, build_blueprints: bool = True) -> LintResult:
    from skillsrv.authoring.context import LintOptions
    from skillsrv.authoring.lint import lint_path
    from skillsrv.authoring.report import clear_progress, progress_printer

    try:
        return lint_path(path, LintOptions(build_blueprints=build_blueprints),
                         progress=progress_printer())
    finally:
        clear_progress()


def run_lint(args: argparse.Namespace) -> int:
    from skillsrv.authoring.report import render_json, render_text, use_colour
    from skillsrv.cli.common import print_json

    result = _lint(args.path, build_blueprints=not args.no_build)
    if args.json:
        print_json(render_json(result, strict=args.strict))
    else:
        print(render_text(result, colour=use_colour(sys.stdout)))
    return result.exit_code(args.strict)


def run_test(args: argparse.Namespace) -> int:
    from skillsrv.authoring.check_evals import pack_evals
    from skillsrv.authoring.lint import resolve_source
    from skillsrv.cli.common import print_json
    from skillsrv.cli.eval import render
    from skillsrv.packs import load_source
    from skillsrv.routing import Router
    from skillsrv.routing.evals import load_evals, run_evals

    root, display = resolve_source(args.path)
    catalog = load_source(display)
    paths = [display / path.relative_to(root) for pack in catalog.packs
             if (path := pack_evals(pack)) is not None]
    if not paths:
        raise SkillsrvError(f"{display}: no pack here ships an evals.yaml",
                            hint="add evals.yaml at the pack root (see `skillsrv pack new`)")
    router = Router(catalog)
    reports = {str(path): run_evals(router, load_evals(path)) for path in paths}
    if args.json:
        print_json({path: report.model_dump(mode="json") for path, report in reports.items()})
    else:
        print("\n".join(render(path, report) for path, report in reports.items()))
    return 0 if all(report.passed for report in reports.values()) else 1


def run_build(args: argparse.Namespace) -> int:
    from skillsrv.authoring.build import build_pack
    from skillsrv.authoring.report import render_text, use_colour

    result = _lint(args.path)
    if result.errors:
        print(render_text(result, colour=use_colour(sys.stderr)), file=sys.stderr)
        raise SkillsrvError(f"refusing to build {args.path}: {result.errors} lint error"
                            f"{'s' * (result.errors != 1)}", hint="fix them and build again")
    packs = result.catalog.packs
    if len(packs) != 1:
        raise UsageError(f"{args.path} holds {len(packs)} packs; build one pack at a time",
                         hint="point PATH at one plugin or skill folder")
    built = build_pack(packs[0], args.out)
    print(f"built {built.name} {built.version}: {built.plugin_dir} ({len(built.files)} files)")
    print(f"  marketplace {built.marketplace}")
    print(f"  archive     {built.archive}  sha256 {built.archive_sha256}")
    if result.warnings:
        print(f"  note: {result.warnings} lint warning{'s' * (result.warnings != 1)}; "
              f"run `skillsrv pack lint {args.path}` to see them")
    return 0
