"""`skillsrv verify` as a command: text and JSON reports, usage errors, budget exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from test_verify_common import CNN, shared_pool

from skillsrv.cli import verify as verify_cli
from skillsrv.errors import UsageError
from skillsrv.verify import SandboxRefused, api


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> argparse.ArgumentParser:
    monkeypatch.setattr(api, "default_pool", shared_pool)
    (tmp_path / "m.yaml").write_text("packs: []\n")
    monkeypatch.setenv("SKILLSRV_MANIFEST", str(tmp_path / "m.yaml"))
    parser = argparse.ArgumentParser()
    verify_cli.register(parser.add_subparsers())
    return parser


def run(parser: argparse.ArgumentParser, *argv: str) -> int:
    args = parser.parse_args(["verify", *argv])
    return int(args.handler(args))


def test_verify_prints_a_readable_report(cli: argparse.ArgumentParser, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cnn.py").write_text(CNN)
    assert run(cli, str(tmp_path / "cnn.py"), "--batch-size", "2", "--target", "cpu") == 0
    out = capsys.readouterr().out
    assert "model      CNN  (CNNConfig: channels=16, classes=10)" in out
    assert "output     out (2, 10) float32" in out
    assert "memory     inference peak" in out and "confidence high" in out


def test_verify_json_and_a_budget_it_does_not_fit(cli: argparse.ArgumentParser, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cnn.py").write_text(CNN)
    status = run(cli, str(tmp_path / "cnn.py"), "--batch-size", "2", "--budget", "100MB",
                 "--no-autofit", "--json")
    data = json.loads(capsys.readouterr().out)
    assert status == 3
    assert data["target"] == "cuda"  # a budget means a GPU
    assert data["fit"]["budget"] == 100 * 2**20 and data["fit"]["verdict"] == "does-not-fit"
    assert data["memory"]["cuda_overhead"]["context"] == 430 * 2**20


def test_verify_usage_errors_name_the_problem(cli: argparse.ArgumentParser,
                                              tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        run(cli, str(tmp_path / "missing.py"))
    (tmp_path / "cnn.py").write_text(CNN)
    with pytest.raises(UsageError, match="unknown unit 'parsecs'"):
        run(cli, str(tmp_path / "cnn.py"), "--budget", "3 parsecs")
    (tmp_path / "evil.py").write_text("import os\n")
    with pytest.raises(SandboxRefused, match=r"evil.py:1: import of 'os'"):
        run(cli, str(tmp_path / "evil.py"))
