"""The bundled model blueprints: valid, ruff clean, buildable on meta, runnable on CPU, exact."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from skillsrv.errors import UsageError
from skillsrv.scaffold.api import scaffold
from skillsrv.scaffold.blueprint import BUNDLED_BLUEPRINTS, Blueprint, load_blueprints
from skillsrv.scaffold.render import render
from skillsrv.scaffold.sizing import ESTIMATORS, estimate_params
from skillsrv.scaffold.values import resolve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns when NumPy is absent
    torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"
BLUEPRINTS, DIAGNOSTICS = load_blueprints(BUNDLED_BLUEPRINTS)
BY_NAME = {blueprint.name: blueprint for blueprint in BLUEPRINTS}
EXPECTED_NAMES = {"linear", "mlp", "resnet", "mobilenet-v2", "unet", "rnn", "tcn",
                  "transformer-encoder", "vit", "gpt", "llama", "gnn", "vae", "dcgan",
                  "diffusion-unet", "two-tower"}

# Reference parameter counts (torchvision, GPT-2, Llama 2, Mixtral, DCGAN paper layout).
REFERENCE_COUNTS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
    "vit_b_16": 86_567_656, "vit_b_32": 88_224_232, "vit_l_16": 304_326_632,
    "gpt2": 124_439_808, "gpt2-medium": 354_823_168, "gpt2-large": 774_030_080,
    "llama2-7b": 6_738_415_616, "llama2-13b": 13_015_864_320,
}

# Small sizes for real CPU forward/backward runs: (blueprint, overrides), variants included.
TINY: list[tuple[str, dict[str, Any]]] = [
    ("linear", {}),
    ("mlp", {"norm": "layer", "activation": "gelu"}),
    ("mlp", {}),
    ("resnet", {"base_width": 8, "image_size": 16, "small_input_stem": True, "num_classes": 3}),
    ("resnet", {"depth": 50, "base_width": 8, "image_size": 32, "zero_init_residual": True}),
    ("mobilenet-v2", {"width_mult": 0.25, "image_size": 16, "small_input_stem": True,
                      "num_classes": 3}),
    ("unet", {"base_channels": 4, "depth": 2, "image_size": 16, "num_classes": 3}),
    ("rnn", {"hidden_size": 8, "seq_len": 5}),
    ("rnn", {"cell": "gru", "task": "forecasting", "bidirectional": True, "hidden_size": 8,
             "seq_len": 5, "horizon": 3, "num_targets": 2}),
    ("tcn", {"channels": 8, "num_levels": 2, "seq_len": 10}),
    ("tcn", {"task": "forecasting", "channels": 8, "num_levels": 2, "seq_len": 10,
             "horizon": 4}),
    ("transformer-encoder", {"vocab_size": 50, "max_len": 8, "d_model": 16, "n_layers": 1,
                             "n_heads": 2, "ffn_dim": 32}),
    ("transformer-encoder", {"input_type": "features", "pooling": "mean", "max_len": 8,
                             "d_model": 16, "n_layers": 1, "n_heads": 2, "ffn_dim": 32}),
    ("vit", {"image_size": 16, "patch_size": 4, "hidden_dim": 16, "num_layers": 1,
             "num_heads": 2, "mlp_dim": 32, "num_classes": 5}),
    ("gpt", {"vocab_size": 50, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16}),
    ("gpt", {"vocab_size": 50, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16,
             "bias": False, "dropout": 0.1}),
    ("llama", {"vocab_size": 50, "max_seq_len": 8, "dim": 16, "n_layers": 1, "n_heads": 4,
               "n_kv_heads": 2, "ffn_hidden_dim": 32}),
    ("llama", {"vocab_size": 50, "max_seq_len": 8, "dim": 16, "n_layers": 1, "n_heads": 4,
               "n_kv_heads": 2, "ffn_hidden_dim": 32, "moe_experts": 4, "moe_top_k": 2}),
    ("gnn", {}),
    ("gnn", {"conv": "gat", "task": "graph", "hidden_size": 16, "heads": 4}),
    ("vae", {"base_channels": 4, "image_size": 8, "latent_dim": 2}),
    ("dcgan", {"image_size": 32, "latent_dim": 8, "g_features": 4, "d_features": 4}),
    ("diffusion-unet", {"base_channels": 8, "image_size": 8, "depth": 2, "blocks_per_level": 1,
                        "norm_groups": 4}),
    ("two-tower", {"image_size": 16, "image_width": 4, "vocab_size": 50, "text_len": 6,
                   "text_width": 16, "text_layers": 1, "text_heads": 2, "embed_dim": 8}),
    ("two-tower", {"head": "fusion", "num_classes": 4, "image_size": 16, "image_width": 4,
                   "vocab_size": 50, "text_len": 6, "text_width": 16, "text_layers": 1,
                   "text_heads": 2, "embed_dim": 8}),
]


def import_code(code: str, path: Path) -> ModuleType:
    """Write `code` to `path` and import it as a module of its own."""
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"blueprint_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def module_for(blueprint: Blueprint, values: dict[str, Any], tmp_path: Path) -> ModuleType:
    name = blueprint.name.replace("-", "_")
    return import_code(render(blueprint, values), tmp_path / f"{name}_{len(values)}.py")


def outputs_of(result: Any) -> tuple[Any, ...]:
    return result if isinstance(result, tuple) else (result,)


def count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def build_on_meta(module: ModuleType, blueprint: Blueprint) -> Any:
    config = getattr(module, blueprint.config_class)()
    with torch.device("meta"):
        return module.build_model(config), config


def test_the_bundled_catalog_is_complete_and_loads_without_diagnostics() -> None:
    assert [d.format() for d in DIAGNOSTICS] == []
    assert set(BY_NAME) == EXPECTED_NAMES


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_blueprint_code_compiles_and_passes_ruff(name: str, tmp_path: Path) -> None:
    blueprint = BY_NAME[name]
    code = render(blueprint, blueprint.defaults())
    compile(code, blueprint.path, "exec")
    target = tmp_path / f"{name.replace('-', '_')}.py"
    target.write_text(code, encoding="utf-8")
    result = subprocess.run([str(RUFF), "check", "--no-cache", "--config",
                             str(ROOT / "pyproject.toml"), str(target)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_blueprint_code_is_accepted_by_the_verification_sandbox(name: str) -> None:
    sandbox = pytest.importorskip("skillsrv.verify.sandbox")
    sandbox.check_source(render(BY_NAME[name], BY_NAME[name].defaults()), f"{name}.py")


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_blueprint_builds_on_meta_and_gives_its_documented_output_shape(
        name: str, tmp_path: Path) -> None:
    blueprint = BY_NAME[name]
    module = module_for(blueprint, blueprint.defaults(), tmp_path)
    model, config = build_on_meta(module, blueprint)
    with torch.device("meta"):
        inputs = module.example_inputs(config, 3)
        outputs = outputs_of(model(*inputs))
    assert all(t.is_meta for t in inputs)
    assert [tuple(o.shape) for o in outputs] == blueprint.output_shapes(blueprint.defaults(), 3)


@pytest.mark.parametrize(("name", "overrides"), TINY,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(TINY)])
def test_blueprint_runs_a_tiny_forward_and_backward_on_cpu(
        name: str, overrides: dict[str, Any], tmp_path: Path) -> None:
    blueprint = BY_NAME[name]
    values = resolve(blueprint, typed=overrides)
    module = module_for(blueprint, values, tmp_path)
    config = getattr(module, blueprint.config_class)()
    assert {key: getattr(config, key) for key in values} == values
    model = module.build_model(config)
    model.train()
    inputs = module.example_inputs(config, 3)
    outputs = outputs_of(model(*inputs))
    assert [tuple(o.shape) for o in outputs] == blueprint.output_shapes(values, 3)
    assert all(torch.isfinite(o).all() for o in outputs)
    loss = sum((o.float() * torch.randn(o.shape)).mean() for o in outputs)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("alias", sorted(REFERENCE_COUNTS))
def test_canonical_alias_reproduces_the_reference_parameter_count(
        alias: str, tmp_path: Path) -> None:
    result = scaffold(alias, {}, BLUEPRINTS)
    module = import_code(result.code, tmp_path / f"{alias.replace('-', '_')}.py")
    blueprint = BY_NAME[result.blueprint]
    with torch.device("meta"):
        model = module.build_model(getattr(module, blueprint.config_class)())
    assert count(model) == REFERENCE_COUNTS[alias]
    assert blueprint.aliases[alias].reference_params == REFERENCE_COUNTS[alias]


def test_resnet50_alias_reproduces_torchvision_parameter_count(tmp_path: Path) -> None:
    result = scaffold("resnet50", {}, BLUEPRINTS)
    module = import_code(result.code, tmp_path / "resnet50.py")
    with torch.device("meta"):
        model = module.build_model(module.ResNetConfig())
    assert count(model) == 25_557_032


def test_gpt2_alias_counts_the_tied_embedding_once(tmp_path: Path) -> None:
    module = import_code(scaffold("gpt2", {}, BLUEPRINTS).code, tmp_path / "gpt2.py")
    with torch.device("meta"):
        model = module.build_model(module.GPTConfig())
    assert model.lm_head.weight is model.transformer["wte"].weight
    assert count(model) == 124_439_808


EXTRA_ALIASES = sorted(alias for blueprint in BLUEPRINTS
                       for alias, spec in blueprint.aliases.items()
                       if spec.reference_params is not None and alias not in REFERENCE_COUNTS)


@pytest.mark.parametrize("alias", EXTRA_ALIASES)
def test_further_aliases_match_the_reference_count_their_frontmatter_claims(
        alias: str, tmp_path: Path) -> None:
    result = scaffold(alias, {}, BLUEPRINTS)
    blueprint = BY_NAME[result.blueprint]
    module = import_code(result.code, tmp_path / f"{alias.replace('-', '_')}.py")
    with torch.device("meta"):
        model = module.build_model(getattr(module, blueprint.config_class)())
    assert count(model) == blueprint.aliases[alias].reference_params


def estimator_cases() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(ESTIMATORS):
        blueprint = BY_NAME[name]
        cases.append((name, {}))
        cases += [(name, dict(spec.params)) for spec in blueprint.aliases.values()]
    cases += [("resnet", {"depth": 34, "base_width": 16, "small_input_stem": True}),
              ("gpt", {"bias": False}), ("llama", {"moe_experts": 4}),
              ("mlp", {"norm": "none", "num_layers": 3}),
              ("transformer-encoder", {"input_type": "features", "pooling": "mean"}),
              ("unet", {"depth": 2, "base_channels": 16})]
    return cases


@pytest.mark.parametrize(("name", "overrides"), estimator_cases())
def test_sizing_estimate_equals_the_built_model_parameter_count(
        name: str, overrides: dict[str, Any], tmp_path: Path) -> None:
    blueprint = BY_NAME[name]
    values = resolve(blueprint, typed=overrides)
    module = module_for(blueprint, values, tmp_path)
    model, _config = build_on_meta(module, blueprint)
    assert estimate_params(name, values) == count(model)


@pytest.mark.parametrize(("name", "overrides", "parameter"), [
    ("gpt", {"n_head": "5"}, "n_head"),
    ("vit", {"patch_size": "15"}, "patch_size"),
    ("llama", {"n_kv_heads": "3"}, "n_kv_heads"),
    ("llama", {"moe_experts": "2", "moe_top_k": "3"}, "moe_top_k"),
    ("unet", {"image_size": "100"}, "image_size"),
    ("gnn", {"conv": "gat", "heads": "7"}, "heads"),
    ("two-tower", {"text_heads": "3"}, "text_heads"),
    ("diffusion-unet", {"norm_groups": "5"}, "norm_groups"),
    ("resnet", {"image_size": "16"}, "image_size"),
])
def test_frontmatter_constraints_agree_with_the_config_checks_in_the_code(
        name: str, overrides: dict[str, str], parameter: str, tmp_path: Path) -> None:
    blueprint = BY_NAME[name]
    with pytest.raises(UsageError, match=parameter):
        scaffold(name, overrides, BLUEPRINTS)
    module = module_for(blueprint, blueprint.defaults(), tmp_path)
    typed = {key: blueprint.parameters[key].type for key in overrides}
    values = {key: int(raw) if typed[key] == "int" else raw for key, raw in overrides.items()}
    with pytest.raises(ValueError, match=parameter):
        getattr(module, blueprint.config_class)(**values)


def test_rendered_alias_file_is_self_contained_with_the_alias_config_as_defaults(
        tmp_path: Path) -> None:
    result = scaffold("llama2-7b", {}, BLUEPRINTS)
    module = import_code(result.code, tmp_path / "llama2_7b.py")
    config = module.LlamaConfig()
    assert (config.dim, config.n_layers, config.ffn_hidden_dim) == (4096, 32, 11008)
    assert result.config["dim"] == 4096
    assert "llama2-7b" in result.code.split('"""')[1]
