"""manifest.yaml: defaults, sources relative to the file, and errors that name key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillsrv.manifest import ManifestError, load_manifest
from skillsrv.paths import BUNDLED_SKILLS, DEFAULT_MANIFEST


def test_the_project_manifest_loads_the_bundled_skills() -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)
    assert [p.resolve() for p in manifest.pack_paths()] == [BUNDLED_SKILLS.resolve()]
    assert manifest.limits.max_file_bytes == 1024 * 1024


def test_pack_sources_are_relative_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("packs:\n  - packs/a\n  - /abs/b\n")
    manifest = load_manifest(tmp_path / "m.yaml")
    assert manifest.pack_paths() == [tmp_path / "packs/a", Path("/abs/b")]


def test_an_unknown_key_is_named_with_its_line_and_the_allowed_keys(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("packs: [skills]\nlimits:\n  max_file_byte: 10\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "m.yaml")
    message = str(caught.value)
    assert "m.yaml:3" in message and "limits.max_file_byte" in message
    assert "max_file_bytes" in message


def test_a_bad_value_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("packs: [skills]\nverification:\n  workers: 0\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "m.yaml")
    assert "m.yaml:3" in str(caught.value) and "verification.workers" in str(caught.value)


def test_invalid_yaml_is_an_error_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("packs: [skills\n")
    with pytest.raises(ManifestError, match=r"m\.yaml:2: not valid YAML"):
        load_manifest(tmp_path / "m.yaml")


def test_a_named_manifest_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path / "missing.yaml")
