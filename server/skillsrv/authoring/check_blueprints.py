"""Checks on blueprints: each must parse, and `build_model(Config())` must build on the meta
device.

Parsing is `scaffold.blueprint.parse_blueprint` (which also refuses imports beyond torch and
math, I/O, `exec` and the like). The build runs only blueprints that parsed, all of them in
one `python -I -c` subprocess with a timeout, under `with torch.device("meta")`: no memory is
allocated and no weights are initialised for real, so even large models build in milliseconds.
torch is imported there, never in the lint process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skillsrv.authoring.context import LintContext, info
from skillsrv.diagnostics import Diagnostic, error, warning
from skillsrv.scaffold.blueprint import Blueprint, read_blueprint

# Runs in the subprocess: one JSON object per blueprint on stdout.
BUILD_SCRIPT = r"""
import json, sys, traceback, types
try:
    import torch
except Exception as exc:
    print(json.dumps({"skipped": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
for index, item in enumerate(json.load(sys.stdin)):
    name = f"_skillsrv_blueprint_{index}"
    module = types.ModuleType(name)
    module.__file__ = item["path"]
    sys.modules[name] = module
    result = {"path": item["path"]}
    try:
        exec(compile(item["code"], item["path"], "exec"), module.__dict__)
        config = getattr(module, item["config_class"])()
        with torch.device("meta"):
            model = module.build_model(config)
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"build_model returned {type(model).__name__}, not an nn.Module")
        result["params"] = sum(p.numel() for p in model.parameters())
    except (Exception, SystemExit) as exc:
        line = None
        if isinstance(exc, SyntaxError) and exc.filename == item["path"]:
            line = exc.lineno
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == item["path"]:
                line = frame.lineno
        result["error"] = f"{type(exc).__name__}: {exc}"[:500]
        result["line"] = line
    print(json.dumps(result), flush=True)
"""


def parse_skill_blueprints(ctx: LintContext) -> tuple[list[Blueprint], list[Diagnostic]]:
    """Parse every blueprint of every loaded skill; names and aliases unique per skill."""
    parsed: list[Blueprint] = []
    diagnostics: list[Diagnostic] = []
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            taken: dict[str, str] = {}
            for rel in skill.blueprints:
                shown = ctx.show(pack, rel)
                blueprint, found = read_blueprint(Path(pack.source) / rel, shown)
                diagnostics.extend(found)
                if blueprint is None:
                    continue
                for name in [blueprint.name, *blueprint.aliases]:
                    if name in taken:
                        diagnostics.append(error(shown, 2, "blueprint-duplicate",
                                                 f"'{name}' is already used by {taken[name]}; "
                                                 "rename one"))
                    taken.setdefault(name, shown)
                parsed.append(blueprint)
    return parsed, diagnostics


def build_on_meta(blueprints: list[Blueprint], timeout_s: float) -> Iterator[Diagnostic]:
    """Build each blueprint's default config on the meta device in one subprocess."""
    if not blueprints:
        return
    payload = [{"path": b.path, "code": b.code, "config_class": b.config_class}
               for b in blueprints]
    where = blueprints[0].path
    try:
        with tempfile.TemporaryDirectory(prefix="skillsrv-build-") as scratch:
            done = subprocess.run([sys.executable, "-I", "-c", BUILD_SCRIPT],
                                  input=json.dumps(payload), capture_output=True, text=True,
                                  timeout=timeout_s, cwd=scratch, check=False)
    except subprocess.TimeoutExpired:
        yield warning(where, None, "blueprint-build-timeout",
                      f"building {len(blueprints)} blueprints on the meta device took over "
                      f"{timeout_s:.0f} s; they were not checked. Look for loops that depend on "
                      "tensor values in build_model")
        return
    results: dict[str, dict[str, Any]] = {}
    for raw in done.stdout.splitlines():
        try:
            item = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if "skipped" in item:
            yield info(where, None, "blueprint-build-skipped",
                       f"torch is not importable here ({item['skipped']}); blueprints were "
                       "parsed but not built. Install torch to check that they build")
            return
        results[item["path"]] = item
    by_path = {b.path: b for b in blueprints}
    for path, blueprint in by_path.items():
        item = results.get(path)
        if item is None:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            yield error(path, blueprint.code_line, "blueprint-build",
                        f"the build subprocess stopped before this blueprint ({tail[:200]}); "
                        "run build_model(Config()) under torch.device('meta') to see why")
            break
        if "error" in item:
            line = blueprint.code_line + item["line"] - 1 if item.get("line") else \
                blueprint.code_line
            yield error(path, line, "blueprint-build",
                        f"build_model({blueprint.config_class}()) fails on the meta device: "
                        f"{item['error']}. Fix the code so the defaults build")


def check_blueprints(ctx: LintContext) -> Iterator[Diagnostic]:
    """Blueprints that fail to parse, or to build on the meta device."""
    parsed, diagnostics = parse_skill_blueprints(ctx)
    yield from diagnostics
    if parsed and ctx.options.build_blueprints:
        ctx.progress(f"building {len(parsed)} blueprints on the meta device")
        yield from build_on_meta(parsed, ctx.options.build_timeout_s)
