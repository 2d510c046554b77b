"""The scaffold engine: blueprint validation, rendering, --set values, choosing and the CLI."""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_tree
from skillsrv.cli import scaffold as scaffold_cli
from skillsrv.diagnostics import Diagnostic
from skillsrv.errors import NotFoundError, UsageError
from skillsrv.scaffold.api import find_blueprint, scaffold, scaffold_situation
from skillsrv.scaffold.blueprint import (
    BUNDLED_BLUEPRINTS,
    Blueprint,
    config_fields,
    load_blueprints,
    parse_blueprint,
)
from skillsrv.scaffold.choose import choose
from skillsrv.scaffold.expr import ExprError, evaluate, parse
from skillsrv.scaffold.query import situation_from_query, situation_from_slots
from skillsrv.scaffold.render import render
from skillsrv.scaffold.sizing import Situation

BLUEPRINTS, _ = load_blueprints(BUNDLED_BLUEPRINTS)
BY_NAME = {blueprint.name: blueprint for blueprint in BLUEPRINTS}

GOOD = '''---
name: tiny
family: linear
summary: "A tiny linear model"
sheet: architecture-design-principles.md
modalities: [tabular]
tasks: [classification]
config_class: TinyConfig
parameters:
  width: {type: int, default: 4, min: 1, max: 64, help: "Input features"}
  heads: {type: int, default: 2, min: 1, help: "Heads"}
constraints:
  - "width % heads == 0"
aliases:
  tiny-8: {params: {width: 8}, reference_params: 72}
output: "(B, width)"
---

# Tiny

A test blueprint; see `architecture-design-principles.md`.

```python
"""Tiny: one linear layer.

Shapes: B batch, W width.
"""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TinyConfig:
    width: int = 4
    heads: int = 2


def build_model(config: TinyConfig) -> nn.Module:
    return nn.Linear(config.width, config.width)


def example_inputs(config: TinyConfig, batch_size: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch_size, config.width),)
```
'''


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    count = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            count += 1
            if count == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def parse_file(tmp_path: Path, text: str,
               name: str = "tiny") -> tuple[Blueprint | None, list[Diagnostic]]:
    path = write_tree(tmp_path, {f"blueprints/{name}.md": text}) / "blueprints" / f"{name}.md"
    return parse_blueprint(path, text, f"blueprints/{name}.md")


# --------------------------------------------------------------------------- validation


def test_a_valid_blueprint_parses_without_diagnostics(tmp_path: Path) -> None:
    blueprint, diagnostics = parse_file(tmp_path, GOOD)
    assert diagnostics == []
    assert blueprint is not None
    assert blueprint.code_line == line_of(GOOD, "```python") + 1
    assert blueprint.output_shapes(blueprint.defaults(), 5) == [(5, 4)]


BROKEN = [
    ("no-frontmatter", lambda t: t.split("---\n", 2)[2], "blueprint-frontmatter", None),
    ("invalid-yaml", lambda t: t.replace('summary: "A tiny linear model"', "summary: [oops"),
     "blueprint-frontmatter", None),
    ("unknown-family", lambda t: t.replace("family: linear", "family: quantum"),
     "blueprint-field", "family:"),
    ("missing-config-class", lambda t: t.replace("config_class: TinyConfig\n", ""),
     "blueprint-field", None),
    ("unknown-key", lambda t: t.replace("output:", "colour: red\noutput:"),
     "blueprint-field", "colour:"),
    ("no-python-block", lambda t: t.replace("```python", "```text"), "blueprint-code", None),
    ("two-python-blocks", lambda t: t + "\n```python\nx = 1\n```\n", "blueprint-code",
     None),
    ("default-out-of-range", lambda t: t.replace("default: 4, min: 1, max: 64",
                                                 "default: 100, min: 1, max: 64"),
     "blueprint-default", "width:"),
    ("config-class-not-in-code", lambda t: t.replace("config_class: TinyConfig",
                                                     "config_class: OtherConfig"),
     "blueprint-config", "config_class:"),
    ("code-does-not-parse", lambda t: t.replace("    heads: int = 2", "    heads: int = = 2"),
     "blueprint-code", "heads: int = = 2"),
    ("dataclass-default-differs", lambda t: t.replace("    width: int = 4", "    width: int = 5"),
     "blueprint-default", "width: int = 5"),
    ("alias-unknown-parameter", lambda t: t.replace("params: {width: 8}", "params: {depth: 8}"),
     "blueprint-alias", "tiny-8:"),
    ("constraint-unknown-name", lambda t: t.replace('"width % heads == 0"', '"width % n == 0"'),
     "blueprint-constraint", "width % n == 0"),
    ("constraint-violated-by-defaults", lambda t: t.replace("default: 2, min: 1",
                                                            "default: 3, min: 1").replace(
        "heads: int = 2", "heads: int = 3"), "blueprint-constraint", "parameters:"),
    ("constraint-calls-a-function", lambda t: t.replace('"width % heads == 0"',
                                                        '"__import__(\'os\')"'),
     "blueprint-constraint", "__import__"),
    ("forbidden-import", lambda t: t.replace("import torch\n", "import torch\nimport numpy\n"),
     "blueprint-import", "import numpy"),
    ("forbidden-call", lambda t: t.replace("    return nn.Linear", "    print(1)\n    return nn.Linear"),
     "blueprint-forbidden", "print(1)"),
    ("cuda-call", lambda t: t.replace("nn.Linear(config.width, config.width)",
                                      "nn.Linear(config.width, config.width).cuda()"),
     "blueprint-forbidden", ".cuda()"),
    ("missing-example-inputs", lambda t: t.replace("def example_inputs", "def example"),
     "blueprint-code", '"""Tiny: one linear layer.'),
    ("output-unknown-name", lambda t: t.replace('output: "(B, width)"', 'output: "(B, depth)"'),
     "blueprint-output", "output:"),
    ("name-differs-from-file", lambda t: t.replace("name: tiny", "name: small"),
     "blueprint-name", "name: small"),
    ("alias-reference-count-not-positive", lambda t: t.replace("reference_params: 72",
                                                               "reference_params: -1"),
     "blueprint-field", None),
]


@pytest.mark.parametrize(("case", "mutate", "code", "needle"), BROKEN,
                         ids=[case for case, *_ in BROKEN])
def test_blueprint_problems_become_diagnostics_with_a_line(
        case: str, mutate: Callable[[str], str], code: str, needle: str | None,
        tmp_path: Path) -> None:
    text = mutate(GOOD)
    blueprint, diagnostics = parse_file(tmp_path, text)
    assert blueprint is None, case
    matching = [d for d in diagnostics if d.code == code]
    assert matching, [d.format() for d in diagnostics]
    assert all(d.line is not None and d.line >= 1 for d in matching)
    assert all(len(d.message) > 20 for d in matching)
    if needle is not None:
        assert matching[0].line == line_of(text, needle), matching[0].format()


def test_prose_that_does_not_cite_the_sheet_is_a_warning_only(tmp_path: Path) -> None:
    text = GOOD.replace("see `architecture-design-principles.md`", "see elsewhere")
    blueprint, diagnostics = parse_file(tmp_path, text)
    assert blueprint is not None
    assert [d.code for d in diagnostics] == ["blueprint-prose"]


def test_a_sheet_missing_from_an_existing_skill_is_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"SKILL.md": "---\nname: x\ndescription: y\n---\n"})
    blueprint, diagnostics = parse_file(tmp_path, GOOD)
    assert blueprint is not None
    assert [(d.code, d.line) for d in diagnostics] == [
        ("blueprint-sheet", line_of(GOOD, "sheet:"))]


def test_duplicate_names_and_aliases_across_files_are_reported(tmp_path: Path) -> None:
    other = GOOD.replace("name: tiny", "name: other")
    write_tree(tmp_path, {"tiny.md": GOOD, "other.md": other})
    blueprints, diagnostics = load_blueprints(tmp_path)
    assert [b.name for b in blueprints] == ["other", "tiny"]
    assert [d.code for d in diagnostics] == ["blueprint-duplicate"]
    assert "tiny-8" in diagnostics[0].message
    assert blueprints[1].aliases == {}


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_parse_blueprint_never_raises_on_arbitrary_text(text: str) -> None:
    blueprint, diagnostics = parse_blueprint(Path("x/blueprints/tiny.md"), text,
                                             "blueprints/tiny.md")
    assert blueprint is None or not [d for d in diagnostics if d.severity == "error"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(GOOD)), st.text(max_size=20))
def test_parse_blueprint_never_raises_on_corrupted_blueprints(
        position: int, junk: str) -> None:
    text = GOOD[:position] + junk + GOOD[position:]
    parse_blueprint(Path("x/blueprints/tiny.md"), text, "blueprints/tiny.md")


# --------------------------------------------------------------------------- expressions


def test_expressions_evaluate_arithmetic_and_logic() -> None:
    env = {"n_embd": 768, "n_head": 12, "conv": "gat"}
    assert evaluate(parse("n_embd % n_head == 0 and conv in ('gcn', 'gat')"), env) is True
    assert evaluate(parse("(B, n_embd // n_head)"), {**env, "B": 2}) == (2, 64)


@pytest.mark.parametrize("text", ["__import__('os')", "n.__class__", "x[0]", "lambda: 1",
                                  "2 ** 1000", "'a' * 10 ** 9", "[i for i in x]"])
def test_unsafe_or_unbounded_expressions_are_refused(text: str) -> None:
    with pytest.raises(ExprError):
        evaluate(parse(text), {"n": 1, "x": (1,)})


# --------------------------------------------------------------------------- render


def test_render_rewrites_the_config_defaults_and_extends_the_docstring() -> None:
    blueprint = BY_NAME["gpt"]
    values = {**blueprint.defaults(), "n_layer": 6, "n_embd": 384, "n_head": 6,
              "dropout": 0.1, "bias": False}
    code = render(blueprint, values, title="Configuration (test):")
    tree = ast.parse(code)
    fields = config_fields(tree, "GPTConfig") or {}
    assert {k: ast.literal_eval(node.value) for k, node in fields.items()
            if node.value is not None} == values
    docstring = ast.get_docstring(tree) or ""
    assert "Configuration (test):" in docstring
    assert "n_layer=6" in docstring and "bias=False" in docstring
    assert code.count("\n") == blueprint.code.count("\n") + 3
    assert all(len(line) <= 100 for line in code.split("\n"))


def test_render_quotes_string_values_safely() -> None:
    blueprint = BY_NAME["mlp"]
    code = render(blueprint, {**blueprint.defaults(), "norm": 'la"yer\\'})
    fields = config_fields(ast.parse(code), "MLPConfig") or {}
    value = fields["norm"].value
    assert value is not None and ast.literal_eval(value) == 'la"yer\\'


# --------------------------------------------------------------------------- --set values


def test_alias_then_overrides_are_applied_and_typed() -> None:
    result = scaffold("resnet50", {"num_classes": "10", "small_input_stem": "yes"}, BLUEPRINTS)
    assert result.blueprint == "resnet"
    assert result.config["depth"] == 50
    assert result.config["num_classes"] == 10
    assert result.config["small_input_stem"] is True
    assert result.verification is None
    assert any("no longer matches resnet50" in line for line in result.rationale)


def test_unknown_set_key_names_it_and_suggests_the_near_parameter() -> None:
    with pytest.raises(UsageError) as error:
        scaffold("resnet", {"dpeth": "50"}, BLUEPRINTS)
    assert "dpeth" in str(error.value) and "did you mean depth" in str(error.value)


def test_out_of_range_value_names_the_parameter_and_the_allowed_values() -> None:
    with pytest.raises(UsageError) as error:
        scaffold("resnet", {"depth": "20"}, BLUEPRINTS)
    message = str(error.value)
    assert "depth" in message and "18, 34, 50, 101, 152" in message and "nearest: 18" in message
    with pytest.raises(UsageError, match=r"dropout.*at most 0\.9"):
        scaffold("gpt", {"dropout": "1.5"}, BLUEPRINTS)


def test_wrong_type_names_the_parameter_and_its_type() -> None:
    with pytest.raises(UsageError, match="n_layer takes an int"):
        scaffold("gpt", {"n_layer": "twelve"}, BLUEPRINTS)
    with pytest.raises(UsageError, match="bias takes true or false"):
        scaffold("gpt", {"bias": "maybe"}, BLUEPRINTS)
    with pytest.raises(UsageError, match="did you mean gru"):
        scaffold("rnn", {"cell": "gruu"}, BLUEPRINTS)


def test_heads_not_dividing_width_is_an_error_listing_working_head_counts() -> None:
    with pytest.raises(UsageError) as error:
        scaffold("gpt2", {"n_head": "5"}, BLUEPRINTS)
    message = str(error.value)
    assert "n_head=5" in message and "n_embd % n_head == 0" in message
    assert "n_head could be 1, 2, 3, 4, 6, 8, 12, 16" in message


def test_unknown_arch_lists_near_matches() -> None:
    with pytest.raises(NotFoundError, match="did you mean resnet50"):
        scaffold("resnet-05", {}, BLUEPRINTS)


def test_arch_names_match_loosely_on_case_and_separators() -> None:
    assert find_blueprint("ResNet-50", BLUEPRINTS)[1] == "resnet50"
    assert find_blueprint("vit-b-16", BLUEPRINTS)[1] == "vit_b_16"
    assert find_blueprint("GPT", BLUEPRINTS) == (BY_NAME["gpt"], None)


# --------------------------------------------------------------------------- choosing


def cites_sheet(rationale: list[str], name: str) -> bool:
    sheet = BY_NAME[name].sheet
    return bool(rationale) and all(line.endswith(f"(see {sheet})") for line in rationale)


@pytest.mark.parametrize(("situation", "expected"), [
    (Situation(modality="tabular", task="classification", dataset_size=3000, num_features=12,
               num_classes=2), {"mlp", "linear"}),
    (Situation(modality="tabular", dataset_size=500, num_features=5, task="regression"),
     {"linear"}),
    (Situation(modality="image", task="classification", dataset_size=8000, image_size=32,
               num_classes=10), {"resnet"}),
    (Situation(modality="image", task="classification", dataset_size=2_000_000,
               image_size=224, num_classes=1000), {"vit"}),
    (Situation(modality="image", task="classification", edge=True, latency_ms=20,
               num_classes=5), {"mobilenet-v2"}),
    (Situation(modality="image", task="segmentation", image_size=240, num_classes=3),
     {"unet"}),
    (Situation(modality="time-series", task="classification", seq_len=512, num_classes=4),
     {"transformer-encoder"}),
    (Situation(modality="time-series", task="forecasting", seq_len=96, horizon=24),
     {"rnn"}),
    (Situation(modality="time-series", task="forecasting", seq_len=2048, horizon=24),
     {"tcn"}),
    (Situation(modality="graph", task="graph-classification", dataset_size=5000),
     {"gnn"}),
    (Situation(modality="image", task="generation"), {"diffusion-unet"}),
    (Situation(modality="image", task="generation", generative_goal="latent"), {"vae"}),
    (Situation(modality="image", task="generation", generative_goal="speed"), {"dcgan"}),
    (Situation(modality="multimodal", task="embedding"), {"two-tower"}),
    (Situation(modality="text", task="language-modeling", dataset_size=2 * 10**9,
               dataset_unit="tokens"), {"gpt"}),
])
def test_choose_picks_the_family_the_pack_recommends_and_cites_its_sheet(
        situation: Situation, expected: set[str]) -> None:
    choice = choose(situation, BLUEPRINTS)
    assert choice.blueprint in expected
    assert cites_sheet(choice.rationale, choice.blueprint)


def test_small_images_get_the_small_input_stem_and_the_situation_sizes() -> None:
    result = scaffold_situation(Situation(modality="image", dataset_size=8000, image_size=32,
                                          num_classes=10, in_channels=1), BLUEPRINTS)
    assert result.blueprint == "resnet"
    assert result.config["small_input_stem"] is True
    assert (result.config["num_classes"], result.config["in_channels"]) == (10, 1)
    assert result.config["depth"] == 18


def test_vit_is_chosen_only_with_about_a_million_images() -> None:
    base = {"modality": "image", "task": "classification", "image_size": 224}
    assert choose(Situation(**base, dataset_size=200_000), BLUEPRINTS).blueprint == "resnet"
    assert choose(Situation(**base, dataset_size=2_000_000), BLUEPRINTS).blueprint == "vit"


def test_memory_budget_shrinks_the_model_below_the_training_floor() -> None:
    big = choose(Situation(modality="image", dataset_size=500_000), BLUEPRINTS)
    small = choose(Situation(modality="image", dataset_size=500_000,
                             memory_budget_bytes=100 * 2**20), BLUEPRINTS)
    assert big.values["depth"] == 50
    assert small.values["depth"] < 50 or small.values["base_width"] < 64
    assert any("fits the 100.0 MiB budget" in line for line in small.rationale)


def test_language_model_size_follows_tokens_and_memory() -> None:
    def sized(tokens: int, budget: int | None = None) -> int:
        choice = choose(Situation(modality="text", task="language-modeling",
                                  dataset_size=tokens, dataset_unit="tokens",
                                  memory_budget_bytes=budget), BLUEPRINTS)
        return int(choice.values["n_embd"])

    assert sized(10**8) < sized(10**10)
    assert sized(10**11) == 1280
    assert sized(10**11, budget=4 * 2**30) < 1280


def test_an_unknown_modality_asks_for_more_instead_of_guessing() -> None:
    with pytest.raises(UsageError, match="modality is unknown"):
        choose(Situation(), BLUEPRINTS)


@pytest.mark.parametrize(("query", "blueprint", "config"), [
    ("3,000 tabular rows with 12 features, predict churn (binary)", "mlp",
     {"num_features": 12, "num_outputs": 2}),
    ("classify 8k 32x32 images into 10 classes", "resnet",
     {"small_input_stem": True, "num_classes": 10, "image_size": 32}),
    ("2M labelled images, 1000 classes, 224x224", "vit", {"num_classes": 1000}),
    ("classify camera images on a Jetson Nano within 20 ms, 5 classes", "mobilenet-v2",
     {"num_classes": 5}),
    ("classify 512-step sequences of sensor data into 4 classes", "transformer-encoder",
     {"max_len": 512, "num_classes": 4, "input_type": "features"}),
    ("predict properties of molecules, 5000 graphs, 2 classes", "gnn",
     {"task": "graph", "conv": "gcn", "num_classes": 2}),
    ("generate faces", "diffusion-unet", {}),
    ("segment tumours in 300 grayscale MRI scans 240x240", "unet",
     {"in_channels": 1, "image_size": 240, "base_channels": 32}),
    ("forecast energy demand 24 steps ahead from 96-step windows of 7 sensors", "rnn",
     {"task": "forecasting", "horizon": 24, "num_features": 7, "seq_len": 96}),
    ("train a language model on 2B tokens with a 24GB GPU", "gpt", {"n_embd": 512}),
])
def test_from_query_chooses_and_sizes_for_the_situation(
        query: str, blueprint: str, config: dict[str, object]) -> None:
    result = scaffold_situation(situation_from_query(query), BLUEPRINTS)
    assert result.blueprint == blueprint
    assert {key: result.config[key] for key in config} == config
    assert cites_sheet(result.rationale, blueprint)


def test_query_parser_reads_numbers_with_units() -> None:
    situation = situation_from_query("8k 32x32 images, 10 classes, 8GB GPU, 15 ms, jetson")
    assert situation.dataset_size == 8000 and situation.dataset_unit == "images"
    assert situation.image_size == 32 and situation.num_classes == 10
    assert situation.memory_budget_bytes == 8 * 2**30
    assert situation.latency_ms == 15 and situation.edge


def test_routing_slots_map_onto_a_situation() -> None:
    situation = situation_from_slots({
        "modality": "images", "task": "classify",
        "dataset_size": {"value": 5000, "unit": "images", "text": "5k images"},
        "input_size": "64x64", "num_classes": 3,
        "memory_budget": {"bytes": 2**30, "text": "1GB"}, "deployment": "mobile phone"})
    assert situation.modality == "image" and situation.task == "classification"
    assert (situation.dataset_size, situation.image_size, situation.num_classes) == (5000, 64, 3)
    assert situation.memory_budget_bytes == 2**30 and situation.edge


# --------------------------------------------------------------------------- CLI


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="skillsrv")
    scaffold_cli.register(parser.add_subparsers())
    args = parser.parse_args(["scaffold", *argv])
    return int(args.handler(args))


def test_cli_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--arch", "gpt2", "--set", "block_size=256", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"blueprint", "config", "code", "rationale", "verification"}
    assert data["blueprint"] == "gpt" and data["config"]["block_size"] == 256
    report = data["verification"]  # scaffolds are run before they are returned
    assert report["params"]["total"] == 124_439_808 - (1024 - 256) * 768
    assert report["outputs"][0]["shape"] == [8, 256, 50257]
    assert "block_size: int = 256" in data["code"]
    assert run_cli("--arch", "gpt2", "--json", "--no-verify") == 0
    assert json.loads(capsys.readouterr().out)["verification"] is None


def test_cli_out_writes_the_code_and_prints_the_rationale(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "model.py"
    assert run_cli("--from-query", "classify 8k 32x32 images into 10 classes",
                   "--out", str(target)) == 0
    out = capsys.readouterr().out
    assert "blueprint: resnet" in out and f"wrote {target}" in out
    assert "small_input_stem: bool = True" in target.read_text(encoding="utf-8")


def test_cli_prints_code_on_stdout_and_the_summary_on_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--arch", "linear") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith('"""A linear model')
    assert "blueprint: linear" in captured.err


def test_cli_rejects_a_set_without_equals() -> None:
    with pytest.raises(UsageError, match="--set key=value"):
        run_cli("--arch", "gpt", "--set", "n_layer")


def test_cli_reports_broken_blueprints_and_uses_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path, {"tiny.md": GOOD, "broken.md": "no frontmatter\n"})
    assert run_cli("--arch", "tiny-8", "--blueprints", str(tmp_path), "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["config"] == {"width": 8, "heads": 2}
    assert "broken.md:1: error blueprint-frontmatter" in captured.err
