"""`scaffold --from-query`: routing picks the sheet, the query's slots choose and size the
blueprint, and every choice says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUNDLED
from skillsrv.errors import UsageError
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.scaffold.blueprint import BUNDLED_BLUEPRINTS, load_blueprints
from skillsrv.scaffold.from_query import scaffold_from_query

BLUEPRINTS, _ = load_blueprints(BUNDLED_BLUEPRINTS)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_source(BUNDLED))


def test_small_images_on_a_phone_get_a_mobile_cnn_with_a_small_stem(router: Router) -> None:
    result = scaffold_from_query("8k 32x32 images of 10 classes that must run on a phone "
                                 "in under 20 ms", router, BLUEPRINTS)
    assert result.blueprint == "mobilenet-v2"
    assert result.config["num_classes"] == 10 and result.config["small_input_stem"] is True
    assert result.rationale[0].startswith(
        "routed to neural-architectures/cnn-families-and-selection.md")
    assert all("(see " in line for line in result.rationale[1:])


def test_a_trendy_choice_on_little_data_carries_the_recency_warning(router: Router) -> None:
    result = scaffold_from_query("train a ViT on 3,000 224x224 photos of 5 kinds of birds",
                                 router, BLUEPRINTS)
    assert result.blueprint == "resnet"
    assert any(line.startswith("warning: Vision Transformer") for line in result.rationale)


def test_long_token_sequences_get_a_transformer_sized_to_the_query(router: Router) -> None:
    result = scaffold_from_query("classify 200k support tickets of 512 tokens into 12 classes",
                                 router, BLUEPRINTS)
    assert result.blueprint == "transformer-encoder"
    assert result.config["num_classes"] == 12 and result.config["max_len"] >= 512


def test_a_query_that_names_no_data_is_refused_with_the_questions_to_ask(
        router: Router) -> None:
    with pytest.raises(UsageError) as caught:
        scaffold_from_query("help me pick a model", router, BLUEPRINTS)
    assert "does not say what data" in caught.value.message
    assert caught.value.hint is not None and "What kind of data" in caught.value.hint


def test_the_cli_returns_blueprint_config_code_and_rationale_as_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skillsrv", "scaffold", "--from-query",
         "GCN for node classification on a citation graph of 20k papers, 7 topics", "--json"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"blueprint", "config", "code", "rationale", "verification"}
    assert data["blueprint"] == "gnn" and data["config"]["num_classes"] == 7
    assert "def build_model(" in data["code"]


def test_with_the_verifier_disabled_the_scaffold_says_it_was_not_verified(
        tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"packs: [{BUNDLED}]\nplugins:\n  disabled: [torch_verifier]\n")
    result = subprocess.run(
        [sys.executable, "-m", "skillsrv", "scaffold", "--arch", "resnet18", "--json",
         "--manifest", str(manifest)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verification"] is None
    assert data["rationale"][-1].startswith("not verified: no verifier named 'torch'")
