"""Where the bundled packs, plugins and default manifest live (the repository checkout)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_SKILLS = PROJECT_ROOT / "skills"
DEFAULT_MANIFEST = PROJECT_ROOT / "manifest.yaml"
