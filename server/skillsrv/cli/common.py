"""Options and helpers shared by the commands that work on loaded packs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from skillsrv.catalog import load_catalog
from skillsrv.diagnostics import Diagnostic, Severity
from skillsrv.manifest import Manifest, load_manifest
from skillsrv.packs import Catalog


def add_pack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack-path", action="append", type=Path, default=[], metavar="PATH",
                        help="also load packs from PATH (repeatable)")
    parser.add_argument("--only", action="store_true",
                        help="load only the --pack-path sources, not the manifest's")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="manifest.yaml to use (default: the project's, or $SKILLSRV_MANIFEST)")


def manifest_from(args: argparse.Namespace) -> Manifest:
    return load_manifest(args.manifest)


def catalog_from(args: argparse.Namespace, *, report_errors: bool = True) -> Catalog:
    """The packs the options name. A source that failed to load (a mistyped --pack-path)
    is reported on stderr: the command goes on with the others, but not silently."""
    catalog = load_catalog(manifest_from(args), args.pack_path,
                           include_manifest_packs=not args.only)
    if report_errors:
        for diagnostic in catalog.all_diagnostics():
            if diagnostic.severity is Severity.ERROR:
                where = shown_path(diagnostic.path)
                if diagnostic.line:
                    where += f":{diagnostic.line}"
                print(f"skillsrv: warning: {where}: {diagnostic.message} [{diagnostic.code}]",
                      file=sys.stderr)
    return catalog


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def shown_path(path: str) -> str:
    """A diagnostic path relative to the current folder when that is shorter."""
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return relative if len(relative) < len(path) else path


def warning_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {"path": diagnostic.path, "line": diagnostic.line,
            "severity": diagnostic.severity.value, "code": diagnostic.code,
            "message": diagnostic.message}
