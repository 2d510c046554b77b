"""Checks on a pack's `evals.yaml`: it loads, its expectations name real targets, and the
router meets its threshold. `skillsrv pack test` runs the same evals and prints the misses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from skillsrv.authoring.context import LintContext
from skillsrv.diagnostics import Diagnostic, error, warning
from skillsrv.packs import Catalog, Pack
from skillsrv.routing import Router
from skillsrv.routing.evals import EVALS_FILE, EvalError, load_evals, run_evals
from skillsrv.routing.index import resolve_pack


def pack_evals(pack: Pack) -> Path | None:
    path = Path(pack.source) / EVALS_FILE
    return path if path.is_file() else None


def _known(catalog: Catalog, pack: Pack, expect: str) -> bool:
    """Can any decision ever match this expectation?"""
    if expect == "clarify" or expect.startswith("redirect:"):
        return True
    parts = expect.strip("/").split("/")
    last = parts[-1]
    if last.endswith(".md"):
        packs = [pack] if len(parts) < 3 else [p for p in [resolve_pack(catalog, parts[0])] if p]
        return any(skill.find_sheet(last) is not None or (last == "SKILL.md")
                   for owner in packs for skill in owner.skills)
    if len(parts) == 1:
        return any(p.find_skill(last) for p in catalog.packs) or resolve_pack(
            catalog, last) is not None
    owner = resolve_pack(catalog, parts[0])
    return owner is not None and owner.find_skill(parts[1]) is not None


def check_evals(ctx: LintContext) -> Iterator[Diagnostic]:
    """Evals files that do not load, name targets that do not exist, or fall below threshold."""
    router: Router | None = None
    for pack in ctx.catalog.packs:
        path = pack_evals(pack)
        if path is None:
            continue
        shown = ctx.show_path(path)
        try:
            evals = load_evals(path)
        except EvalError as exc:
            text = str(exc).removeprefix(str(path))
            where = re.match(r"^:(\d+|None): ", text)
            line = int(where.group(1)) if where and where.group(1).isdigit() else None
            yield error(shown, line, "evals-invalid",
                        f"evals file does not load: {text[where.end() if where else 0:]}")
            continue
        for case in evals.cases:
            if not _known(ctx.catalog, pack, case.expect):
                yield warning(shown, case.line, "evals-unknown-target",
                              f"expect '{case.expect}' names no sheet, skill or pack that is "
                              "loaded, so this case always fails; fix the name")
        if not evals.cases or not ctx.options.run_evals:
            continue
        ctx.progress(f"running {len(evals.cases)} evals of {pack.name}")
        router = router or Router(ctx.catalog)
        report = run_evals(router, evals)
        if not report.passed:
            missed = len(report.misrouted)
            yield error(shown, 1, "evals-below-threshold",
                        f"top-1 accuracy {report.top1:.1%} is below the pack's threshold "
                        f"{report.threshold_top1:.1%} ({missed} of {report.cases} cases "
                        "misrouted); run `skillsrv pack test` to see them, then sharpen the "
                        "route triggers or the cases")
