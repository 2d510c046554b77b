"""`skillsrv pack lint`: every problem of a pack as `file:line: severity code message`.

The run loads PATH with the ordinary loader, keeps every loader diagnostic (re-graded below),
then runs the checks of `CHECKS` in order. Each check is a small function of the lint context
that yields diagnostics; its codes are listed beside it.

Severity policy: an **error** is a pack that is broken for its users (something they are
routed to is missing, a file is refused, a blueprint cannot be used, evals fail); a **warning**
is a pack that works but routes worse or breaks a spec rule clients tolerate; an **info** is
worth knowing and never fails a run, even with `--strict`.

- errors: broken-link, route-target-missing, path-escapes-pack, not-utf8, unreadable,
  file-too-large, json-invalid, frontmatter-invalid, frontmatter-not-mapping,
  description-missing and description-too-long (clients skip such skills), duplicate-skill,
  no-skills, the blueprint parse errors of `scaffold.blueprint` (blueprint-frontmatter,
  blueprint-field, blueprint-code, blueprint-config, blueprint-import, blueprint-forbidden,
  blueprint-default, blueprint-name, ...), blueprint-duplicate, blueprint-too-large,
  blueprint-unreadable, blueprint-build, evals-invalid, evals-below-threshold, and any loader
  diagnostic already marked error.
- warnings: frontmatter-lenient, frontmatter-unclosed, name-format, name-folder-mismatch,
  name-too-long, name-missing, description-type, orphan-sheet, missing-folder,
  compatibility-too-long, metadata-not-strings, skill-too-long, description-too-short,
  description-vague, description-overlap, ragged-table, route-target-typo, route-no-trigger,
  route-duplicate, route-conflict, sheet-unrouted (a router's sheet that no route row,
  symptom list or routing list sends anything to), evals-unknown-target,
  blueprint-build-timeout and the blueprint warnings (blueprint-sheet, blueprint-prose,
  blueprint-docstring).
- infos: pack-not-loaded (a route names a pack written as a pack reference, **bold**,
  `faction/pack/skill` or "X pack", that is not among the packs linted with it: it counts as
  existing, since packs are installed separately; lint the packs together to check the name),
  description-no-when, remote-source, blueprint-build-skipped (no torch).

Route targets: a link or a `name.md` in a route-table target column (or a wrong-route table's
wrong or correct column) must be a file of the skill; a `faction/pack/skill` path into a loaded
pack must name one of its skills; a bare word is only flagged when it is a near-miss of a sheet
name (route-target-typo), since bare words in target columns are usually prose.

Exit codes: 0 clean, 1 errors (or warnings with `--strict`), 2 bad usage.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from skillsrv.authoring.check_blueprints import check_blueprints
from skillsrv.authoring.check_evals import check_evals
from skillsrv.authoring.check_routes import (
    check_ragged_tables,
    check_route_duplicates,
    check_route_targets,
    check_route_triggers,
    check_unrouted_sheets,
)
from skillsrv.authoring.check_skills import (
    check_descriptions,
    check_frontmatter_fields,
    check_overlap,
    check_skill_length,
)
from skillsrv.authoring.context import LintContext, LintOptions
from skillsrv.diagnostics import Diagnostic, Severity
from skillsrv.errors import UsageError
from skillsrv.packs import Catalog, LoadOptions, load_source

LOADER_ERRORS = frozenset({
    "broken-link", "path-escapes-pack", "not-utf8", "unreadable", "file-too-large",
    "json-invalid", "frontmatter-invalid", "frontmatter-not-mapping", "description-missing",
    "description-too-long", "duplicate-skill", "no-skills", "internal-error",
    "marketplace-plugins", "marketplace-entry",
})
LOADER_INFOS = frozenset({"remote-source"})


@dataclass(frozen=True)
class Check:
    name: str
    codes: tuple[str, ...]
    run: Callable[[LintContext], Iterable[Diagnostic]]


CHECKS: tuple[Check, ...] = (
    Check("frontmatter", ("compatibility-too-long", "metadata-not-strings"),
          check_frontmatter_fields),
    Check("skill length", ("skill-too-long",), check_skill_length),
    Check("descriptions", ("description-too-short", "description-vague", "description-no-when"),
          check_descriptions),
    Check("overlap", ("description-overlap",), check_overlap),
    Check("tables", ("ragged-table",), check_ragged_tables),
    Check("route targets", ("route-target-missing", "route-target-typo", "pack-not-loaded"),
          check_route_targets),
    Check("route triggers", ("route-no-trigger",), check_route_triggers),
    Check("route duplicates", ("route-duplicate", "route-conflict"), check_route_duplicates),
    Check("unrouted sheets", ("sheet-unrouted",), check_unrouted_sheets),
    Check("blueprints", ("blueprint-build", "blueprint-build-timeout", "blueprint-build-skipped",
                         "blueprint-duplicate", "blueprint-too-large", "blueprint-unreadable"),
          check_blueprints),
    Check("evals", ("evals-invalid", "evals-unknown-target", "evals-below-threshold"),
          check_evals),
)


@dataclass
class LintResult:
    path: str
    packs: list[str]
    files: int
    diagnostics: list[Diagnostic]
    seconds: float
    catalog: Catalog = field(repr=False, default_factory=Catalog)

    def count(self, severity: Severity) -> int:
        return sum(d.severity is severity for d in self.diagnostics)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def infos(self) -> int:
        return self.count(Severity.INFO)

    def by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(d.code for d in self.diagnostics).items()))

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0


def regrade(diagnostic: Diagnostic) -> Diagnostic:
    """A loader diagnostic at its lint severity."""
    if diagnostic.code in LOADER_ERRORS:
        severity = Severity.ERROR
    elif diagnostic.code in LOADER_INFOS:
        severity = Severity.INFO
    else:
        return diagnostic
    return diagnostic.model_copy(update={"severity": severity})


def _sort_key(diagnostic: Diagnostic) -> tuple[str, int, str]:
    return (diagnostic.path, diagnostic.line or 0, diagnostic.code)


def lint_catalog(ctx: LintContext, checks: Iterable[Check] = CHECKS) -> list[Diagnostic]:
    found = [regrade(d) for d in ctx.catalog.all_diagnostics()]
    for check in checks:
        ctx.progress(f"checking {check.name}")
        found.extend(check.run(ctx))
    unique = list({(d.path, d.line, d.code, d.message): d for d in found}.values())
    return sorted(unique, key=_sort_key)


def resolve_source(path: Path) -> tuple[Path, Path]:
    """(absolute root, display path) of a lint PATH; a SKILL.md means its folder."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder", hint="give the folder of a pack")
    display = path
    if path.is_file():
        if path.name != "SKILL.md":
            raise UsageError(f"{path}: not a pack folder",
                             hint="give a skill, plugin or marketplace folder")
        display = path.parent
    return Path(os.path.abspath(display)), display


def lint_path(path: Path, options: LintOptions | None = None,
              progress: Callable[[str], None] | None = None) -> LintResult:
    """Load the packs under `path` and run every check."""
    started = time.perf_counter()
    root, display = resolve_source(path)
    if progress:
        progress(f"loading {display}")
    catalog = load_source(display, LoadOptions())
    ctx = LintContext(catalog=catalog, root=root, display=display,
                      options=options or LintOptions())
    if progress:
        ctx.progress = progress
    diagnostics = lint_catalog(ctx)
    files = sum(len(skill.documents()) + len(skill.blueprints)
                for pack in catalog.packs for skill in pack.skills)
    return LintResult(path=display.as_posix(), packs=[pack.name for pack in catalog.packs],
                      files=files, diagnostics=diagnostics,
                      seconds=time.perf_counter() - started, catalog=catalog)
