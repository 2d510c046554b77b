"""`skillsrv route`, `route --batch` and `clarify` as a user or a script runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import BUNDLED


def skillsrv(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "skillsrv", *args], input=stdin,
                          capture_output=True, timeout=120)


def test_route_json_has_the_documented_shape() -> None:
    result = skillsrv("route", "--json", "GCN or GAT for predicting properties of 40k molecules?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"decision", "routes", "redirect", "questions", "known", "warnings"}
    assert data["decision"] == "route" and data["redirect"] is None
    best = data["routes"][0]
    assert set(best) == {"pack", "skill", "sheet", "score", "confidence", "evidence"}
    assert (best["pack"], best["sheet"]) == ("neural-architectures",
                                              "graph-neural-networks-basics.md")
    assert data["known"]["modality"] == "graph"
    assert data["known"]["dataset_size"] == {"value": 40000, "unit": "graphs",
                                             "text": "40k molecules"}
    assert all(set(q) == {"slot", "question", "why", "source"} for q in data["questions"])


def test_route_text_explains_the_decision_with_sources() -> None:
    result = skillsrv("route", "ViT for my 3,000 product photos?")
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "cnn-families-and-selection.md" in out
    assert "warning: Vision Transformer" in out and "SKILL.md:" in out


def test_route_batch_reads_stdin_and_writes_one_json_object_per_line() -> None:
    lines = b"which CNN for 5k x-rays?\n\n\xff\xfe not text\nmy loss is NaN after 2k steps\n"
    result = skillsrv("route", "--batch", "-", stdin=lines)
    assert result.returncode == 1  # one line was not text
    objects = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o["line"] for o in objects] == [1, 3, 4]
    assert objects[0]["decision"] == "route"
    assert objects[1] == {"line": 3, "error": "line is not UTF-8 text"}
    assert objects[2]["decision"] == "redirect"
    assert objects[2]["redirect"]["pack"] == "training-optimization"


def test_route_rejects_bad_queries_with_a_clear_message(tmp_path: Path) -> None:
    empty = skillsrv("route", "   ")
    assert empty.returncode == 2 and b"the query is empty" in empty.stderr
    huge = skillsrv("route", "x" * 100_000)
    assert huge.returncode == 2 and b"the limit is 10,000" in huge.stderr
    nothing = skillsrv("route", "--only", "classify images")
    assert nothing.returncode == 2 and b"no packs are loaded" in nothing.stderr
    both = skillsrv("route", "x", "--batch", "-")
    assert both.returncode == 2 and b"not both" in both.stderr
    assert b"Traceback" not in empty.stderr + huge.stderr + nothing.stderr + both.stderr


def test_a_mistyped_pack_path_is_reported_and_the_other_packs_still_answer(
        tmp_path: Path) -> None:
    result = skillsrv("route", "--json", "which CNN for 5k x-rays?",
                      "--pack-path", str(tmp_path / "no-such-packs"))
    assert result.returncode == 0
    assert json.loads(result.stdout)["routes"][0]["pack"] == "neural-architectures"
    assert b"no-such-packs: pack source does not exist" in result.stderr
    assert b"[source-missing]" in result.stderr


def test_clarify_lists_what_is_known_and_what_to_ask() -> None:
    result = skillsrv("clarify", "--json", "which architecture should I use for my project?")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert set(data) == {"known", "questions"}
    slots = [q["slot"] for q in data["questions"]]
    assert slots[0] == "modality"
    assert all(q["why"] and q["source"] for q in data["questions"])


def test_the_bundled_pack_is_what_the_default_manifest_loads() -> None:
    result = skillsrv("packs", "--json")
    data = json.loads(result.stdout)
    assert [p["name"] for p in data["packs"]] == ["neural-architectures"]
    assert Path(data["packs"][0]["source"]) == BUNDLED / "neural-architectures"
    assert data["warnings"] == []
