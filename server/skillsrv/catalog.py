"""Building the catalog a command or the server works on: manifest sources plus extra paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from skillsrv.manifest import Manifest
from skillsrv.packs import Catalog, LoadOptions, load_sources


def load_catalog(manifest: Manifest, extra_paths: Sequence[Path] = (), *,
                 include_manifest_packs: bool = True) -> Catalog:
    sources = [*(manifest.pack_paths() if include_manifest_packs else []), *extra_paths]
    return load_sources(sources, LoadOptions(max_file_bytes=manifest.limits.max_file_bytes))
