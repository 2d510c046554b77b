"""`skillsrv packs` and `skillsrv show` as a user runs them: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import write_tree

ROUTER = """---
name: using-demo
description: Use when choosing a demo route
---
# Demo router

| Situation | Route To | Why |
|---|---|---|
| Images | [images.md](images.md) | pixels |
"""


def skillsrv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skillsrv", *args], capture_output=True,
                          text=True, timeout=120)


def demo_pack(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "demo", {"using-demo/SKILL.md": ROUTER,
                                          "using-demo/images.md": "# Images\n\nPixels.\n",
                                          "using-demo/stray.md": "# Stray\n"})


def test_packs_json_lists_packs_skills_sheets_and_warnings(tmp_path: Path) -> None:
    result = skillsrv("packs", "--only", "--pack-path", str(demo_pack(tmp_path)), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [pack] = data["packs"]
    assert pack["name"] == "demo" and pack["source"] == str(tmp_path / "demo")
    [skill] = pack["skills"]
    assert skill["name"] == "using-demo" and skill["sheets"] == ["images.md"]
    assert skill["extracted"]["routes"] == 1
    [warning] = data["warnings"]
    assert warning["path"].endswith("stray.md") and warning["line"] == 1
    assert "orphan" in warning["message"]


def test_packs_text_prints_the_map_and_the_warnings(tmp_path: Path) -> None:
    result = skillsrv("packs", "--only", "--pack-path", str(demo_pack(tmp_path)))
    assert result.returncode == 0
    assert "demo  (skill-folder; 1 skill, 1 sheet)" in result.stdout
    assert "- images.md  Images" in result.stdout
    assert "stray.md:1: warning orphan-sheet" in result.stdout


def test_show_prints_one_sheet(tmp_path: Path) -> None:
    result = skillsrv("show", "demo/using-demo/images.md", "--only", "--pack-path",
                      str(demo_pack(tmp_path)))
    assert result.returncode == 0 and result.stdout == "# Images\n\nPixels.\n"


def test_show_suggests_near_misses_for_unknown_names(tmp_path: Path) -> None:
    result = skillsrv("show", "demo/using-demo/imags.md", "--only", "--pack-path",
                      str(demo_pack(tmp_path)))
    assert result.returncode == 1 and result.stdout == ""
    assert "no sheet 'imags.md'" in result.stderr and "did you mean images.md" in result.stderr
    result = skillsrv("show", "dmo/using-demo", "--only", "--pack-path", str(demo_pack(tmp_path)))
    assert "no pack 'dmo'" in result.stderr and "did you mean demo" in result.stderr


def test_a_bad_manifest_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("packs: [skills]\nplugin: {}\n")
    result = skillsrv("packs", "--manifest", str(tmp_path / "m.yaml"))
    assert result.returncode == 2
    assert "m.yaml:2: unknown key 'plugin'" in result.stderr
