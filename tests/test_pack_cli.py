"""`skillsrv pack new | lint | test | build` as an author runs them, and on the real corpus."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import write_tree
from skillsrv.authoring.lint import lint_path
from skillsrv.authoring.report import (
    progress_printer,
    render_json,
    render_text,
    use_colour,
)
from skillsrv.cli import main

PACK = [sys.executable, "-m", "skillsrv", "pack"]

ROUTER = """---
name: using-demo
description: "Use when choosing a convolutional network for photos, scans or satellite tiles: routes backbone selection and segmentation"
---
# Using Demo

| Situation | Route To | Why |
|---|---|---|
| Photos and medical scans, classification | [images.md](images.md) | pretrained CNNs |
| Satellite tiles, segmentation masks | `tiles.md` | U-Net style models |
"""


def run_pack(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PACK, *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def demo(tmp_path: Path, router: str = ROUTER, **files: str) -> Path:
    return write_tree(tmp_path / "demo", {"using-demo/SKILL.md": router,
                                          "using-demo/images.md": "# Images\n",
                                          "using-demo/tiles.md": "# Tiles\n", **files})


def test_new_lint_test_build_round_trip_and_the_plugin_loads_back(tmp_path: Path) -> None:
    created = run_pack("new", "tabular-demo", "--dir", "work", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    pack = tmp_path / "work" / "tabular-demo"
    assert (pack / ".claude-plugin" / "plugin.json").is_file()

    linted = run_pack("lint", "work/tabular-demo", "--strict", cwd=tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "1 pack, 3 files: 0 errors, 0 warnings" in linted.stdout

    tested = run_pack("test", "work/tabular-demo", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "work/tabular-demo/evals.yaml: 7 cases" in tested.stdout
    assert "top-1 100.0%" in tested.stdout

    built = run_pack("build", "work/tabular-demo", "--out", "dist", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    dist = tmp_path / "dist"
    market = json.loads((dist / ".claude-plugin" / "marketplace.json").read_text())
    assert market["plugins"][0]["name"] == "tabular-demo"
    assert market["plugins"][0]["source"] == "./tabular-demo"

    loaded = subprocess.run([sys.executable, "-m", "skillsrv", "packs", "--only", "--pack-path",
                             str(dist), "--json"], capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    data = json.loads(loaded.stdout)
    [plugin] = data["packs"]
    assert plugin["name"] == "tabular-demo" and plugin["version"] == "0.1.0"
    [skill] = plugin["skills"]
    assert skill["name"] == "using-tabular-demo" and skill["sheets"] == ["mlp-baselines.md"]
    assert skill["blueprints"] == ["skills/using-tabular-demo/blueprints/tiny-mlp.md"]
    assert data["warnings"] == []

    with zipfile.ZipFile(dist / "tabular-demo-0.1.0.zip") as bundle:
        names = bundle.namelist()
        sums = dict(reversed(line.split("  ", 1)) for line in
                    bundle.read("tabular-demo/SHA256SUMS").decode().splitlines())
        for name, digest in sums.items():
            assert hashlib.sha256(bundle.read(f"tabular-demo/{name}")).hexdigest() == digest
    assert sorted(sums) == sorted(n.removeprefix("tabular-demo/") for n in names
                                  if not n.endswith("SHA256SUMS"))
    assert "skills/using-tabular-demo/SKILL.md" in sums and "evals.yaml" in sums


def test_pack_registers_beside_the_other_commands(tmp_path: Path) -> None:
    assert main(["pack", "new", "side-by-side", "--dir", str(tmp_path)]) == 0
    assert main(["pack", "lint", str(tmp_path / "side-by-side"), "--no-build",
                 "--strict"]) == 0


def test_lint_json_lists_every_problem_and_exits_one_on_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    router = ROUTER + "| Video frames | `videos.md` | temporal |\n| Audio | [images.md](images.md) |\n"
    code = main(["pack", "lint", str(demo(tmp_path, router)), "--json", "--no-build"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    assert report["summary"]["by_code"] == {"ragged-table": 1, "route-target-missing": 1}
    assert {d["line"] for d in report["diagnostics"]} == {11, 12}


def test_lint_fails_on_warnings_only_with_strict(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pack = str(demo(tmp_path, **{"using-demo/stray.md": "# Stray\n"}))
    assert main(["pack", "lint", pack, "--no-build"]) == 0
    assert main(["pack", "lint", pack, "--no-build", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "demo/using-demo/stray.md:1: warning orphan-sheet" in out


def test_lint_of_a_missing_path_is_bad_usage(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "lint", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["pack"]) == 2


def test_text_report_groups_problems_by_file_and_ends_with_a_summary(tmp_path: Path) -> None:
    result = lint_path(demo(tmp_path, ROUTER + "| Audio | [images.md](images.md) |\n",
                            **{"using-demo/stray.md": "# Stray\n"}))
    lines = render_text(result).split("\n")
    assert lines[0].endswith("SKILL.md:11: warning ragged-table row has 2 cells but the header "
                             "(line 7) has 3; renderers pad it with empty cells. Fill in the "
                             "missing cells")
    assert lines[1] == "" and "stray.md:1: warning orphan-sheet" in lines[2]
    assert lines[3] == "" and lines[4].startswith("1 pack, 4 files: 0 errors, 2 warnings, 0 infos")
    assert lines[5] == "  orphan-sheet 1, ragged-table 1"
    assert "\033[" not in "\n".join(lines) and "\033[31m" not in render_text(result, colour=True)
    assert "\033[33mwarning\033[0m" in render_text(result, colour=True)
    assert render_json(result)["ok"] is True and render_json(result, strict=True)["ok"] is False


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_and_progress_appear_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(_Terminal()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(_Terminal())
    assert progress_printer(io.StringIO()) is None
    terminal = _Terminal()
    show = progress_printer(terminal)
    assert show is not None
    show("checking tables")
    assert terminal.getvalue() == "\r\033[Kchecking tables…"


def test_pack_test_prints_misrouted_cases_and_exits_one_under_threshold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evals = ("threshold: {top1: 0.9}\ncases:\n"
             "  - query: \"photos and medical scans classification\"\n    expect: images.md\n"
             "  - query: \"satellite tiles segmentation masks\"\n    expect: images.md\n")
    pack = demo(tmp_path, **{"evals.yaml": evals})
    assert main(["pack", "test", str(pack)]) == 1
    out = capsys.readouterr().out
    assert "top-1 50.0% (threshold 90.0%: FAIL)" in out
    assert "expected images.md, got demo/using-demo/tiles.md" in out
    assert main(["pack", "test", str(pack), "--json"]) == 1
    [report] = json.loads(capsys.readouterr().out).values()
    assert report["misrouted"][0]["got"] == "demo/using-demo/tiles.md"


def test_pack_test_without_an_evals_file_says_so(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "test", str(demo(tmp_path))]) == 1
    assert "no pack here ships an evals.yaml" in capsys.readouterr().err


def test_build_refuses_a_pack_with_lint_errors(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    pack = demo(tmp_path, ROUTER + "See [missing](missing.md).\n")
    assert main(["pack", "build", str(pack), "--out", str(tmp_path / "dist")]) == 1
    err = capsys.readouterr().err
    assert "error broken-link" in err and "refusing to build" in err
    assert not (tmp_path / "dist").exists()


def test_build_refuses_to_write_inside_the_pack(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pack = demo(tmp_path)
    assert main(["pack", "build", str(pack), "--out", str(pack / "dist")]) == 2
    assert "inside the pack" in capsys.readouterr().err


def test_build_is_reproducible_and_updates_one_marketplace(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    assert main(["pack", "build", str(demo(tmp_path)), "--out", str(out)]) == 0
    first = (out / "demo-0.1.0.zip").read_bytes()
    assert main(["pack", "build", str(demo(tmp_path)), "--out", str(out)]) == 0
    assert (out / "demo-0.1.0.zip").read_bytes() == first
    digest = hashlib.sha256(first).hexdigest()
    assert (out / "demo-0.1.0.zip.sha256").read_text() == f"{digest}  demo-0.1.0.zip\n"
    other = write_tree(tmp_path / "src" / "other", {
        "using-other/SKILL.md": ROUTER.replace("using-demo", "using-other"),
        "using-other/images.md": "# I\n", "using-other/tiles.md": "# T\n"})
    assert main(["pack", "build", str(other), "--out", str(out)]) == 0
    market = json.loads((out / ".claude-plugin" / "marketplace.json").read_text())
    assert [p["name"] for p in market["plugins"]] == ["demo", "other"]


def test_new_refuses_bad_names_and_non_empty_folders(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "new", "Bad_Name", "--dir", str(tmp_path)]) == 2
    write_tree(tmp_path / "taken", {"notes.txt": "mine"})
    assert main(["pack", "new", "taken", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


@pytest.mark.corpus
def test_corpus_lint_finishes_and_reports_the_eight_lenient_yaml_sheets(
        skillpacks: Path) -> None:
    corpus_lint = lint_path(skillpacks)
    assert len(corpus_lint.packs) == 46 and corpus_lint.files > 500
    lenient = sorted(Path(d.path).relative_to(skillpacks / "plugins").parts[0] + "/" +
                     Path(d.path).name for d in corpus_lint.diagnostics
                     if d.code == "frontmatter-lenient")
    assert lenient == [
        "axiom-audit-pipelines/retention-expiry-and-rtbf.md",
        "axiom-embedded-database/encryption-with-sqlcipher.md",
        "axiom-mcp-engineering/authentication-and-trust.md",
        "axiom-mcp-engineering/error-envelopes-and-recovery.md",
        "axiom-procedural-architecture/process-algebra-and-workflow-nets.md",
        "axiom-pyo3-interop/error-mapping-and-traceback-fidelity.md",
        "axiom-static-analysis-engineering/sarif-emission-and-ci-integration.md",
        "axiom-static-analysis-engineering/taint-lattice-design.md",
    ]
    assert corpus_lint.errors == 0  # real packs: nothing is reported broken that is not


@pytest.mark.corpus
def test_the_flawed_plugin_is_reported_vague_and_overlapping(skillpacks: Path) -> None:
    flawed = (skillpacks / "plugins" / "meta-skillpack-maintenance" / ".test-fixtures"
              / "flawed-plugin")
    result = lint_path(flawed)
    vague = sorted(Path(d.path).parent.name for d in result.diagnostics
                   if d.code == "description-vague")
    assert vague == ["data-stuff", "data-things"]
    [overlap] = [d for d in result.diagnostics if d.code == "description-overlap"]
    assert "'data-stuff' and 'data-things'" in overlap.message
    assert result.exit_code() == 0 and result.exit_code(strict=True) == 1
