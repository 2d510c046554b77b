"""`skillsrv plugins`: which plugins are loaded, which are disabled, and why any failed."""

from __future__ import annotations

import argparse
from pathlib import Path

from skillsrv.cli.common import print_json
from skillsrv.manifest import load_manifest
from skillsrv.plugins import ENV_VAR, PluginManager


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("plugins", help="list plugins and their load warnings",
                                   description="Load the plugins (built-in and the "
                                   "'skillsrv.plugins' entry points) and list them.")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="manifest.yaml to use (default: the project's, or $SKILLSRV_MANIFEST)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    manager = PluginManager(disabled=manifest.plugins.disabled).load()
    verifiers = manager.verifiers()
    if args.json:
        print_json({"plugins": [info.model_dump() for info in manager.infos],
                    "verifiers": sorted(verifiers),
                    "warnings": [f"{i.name}: {i.error}" for i in manager.infos if i.error]})
        return 0
    for info in manager.infos:
        if info.enabled and not info.error:
            state = "enabled"
        elif info.disabled_by == "manifest":
            state = "disabled (manifest.yaml plugins.disabled)"
        elif info.disabled_by:
            state = f"not loaded (not in {ENV_VAR})"
        else:
            state = "failed"
        origin = "built-in" if info.builtin else "entry point"
        print(f"{info.name:<20} {state:<12} {info.module} ({origin})")
        if info.error:
            print(f"  warning: {info.error}")
    print(f"\nverifiers: {', '.join(sorted(verifiers)) or 'none'}")
    return 0
