"""What the user's situation says, and rough sizes of candidate models, without torch.

`Situation` holds the slots a query or a clarifying exchange can fill. The estimators count the
parameters of the bundled blueprints' configurations in closed form (tests check them against
the built models), so sizing can compare a model against the memory budget without importing
torch: training with AdamW in fp32 needs at least ~16 bytes per parameter (weights, gradients,
two moments) before activations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

TRAINING_BYTES_PER_PARAM = 16

Modality = Literal["image", "sequence", "text", "time-series", "audio", "tabular", "graph",
                   "multimodal"]
Task = Literal["classification", "regression", "segmentation", "forecasting", "generation",
               "language-modeling", "node-classification", "graph-classification", "embedding"]


class Situation(BaseModel):
    """The user's data and constraints; every field is optional."""

    modality: Modality | None = None
    task: Task | None = None
    num_classes: int | None = Field(default=None, ge=1)
    num_targets: int | None = Field(default=None, ge=1)
    in_channels: int | None = Field(default=None, ge=1)
    image_size: int | None = Field(default=None, ge=1)
    seq_len: int | None = Field(default=None, ge=1)
    vocab_size: int | None = Field(default=None, ge=2)
    num_features: int | None = Field(default=None, ge=1)
    dataset_size: int | None = Field(default=None, ge=0,
                                     description="training examples (images, rows, sequences, "
                                                 "graphs), or tokens when dataset_unit is tokens")
    dataset_unit: str | None = None
    memory_budget_bytes: int | None = Field(default=None, ge=1)
    latency_ms: float | None = Field(default=None, gt=0)
    realtime: bool = False
    edge: bool = False
    horizon: int | None = Field(default=None, ge=1)
    num_nodes: int | None = Field(default=None, ge=1)
    edge_importance: bool = False
    generative_goal: Literal["latent", "speed", "quality"] | None = None


def training_floor_bytes(params: int) -> int:
    return params * TRAINING_BYTES_PER_PARAM


def human_bytes(count: float) -> str:
    """Binary units, as GPU memory is quoted: 24 GB cards hold 24 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def human_count(count: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(int(count))


# --------------------------------------------------------------------------- estimators


def _resnet(v: Mapping[str, Any]) -> int:
    stages = {18: (1, (2, 2, 2, 2)), 34: (1, (3, 4, 6, 3)), 50: (4, (3, 4, 6, 3)),
              101: (4, (3, 4, 23, 3)), 152: (4, (3, 8, 36, 3))}
    expansion, blocks = stages[v["depth"]]
    width = v["base_width"]
    kernel = 3 if v["small_input_stem"] else 7
    total = kernel * kernel * v["in_channels"] * width + 2 * width
    in_channels = width
    for index, count in enumerate(blocks):
        planes = width * 2**index
        out = planes * expansion
        for position in range(count):
            stride = 2 if index > 0 and position == 0 else 1
            if expansion == 1:
                total += 9 * in_channels * planes + 2 * planes + 9 * planes * planes + 2 * planes
            else:
                total += (in_channels * planes + 2 * planes + 9 * planes * planes + 2 * planes
                          + planes * out + 2 * out)
            if stride != 1 or in_channels != out:
                total += in_channels * out + 2 * out
            in_channels = out
    return total + in_channels * v["num_classes"] + v["num_classes"]


def _vit(v: Mapping[str, Any]) -> int:
    d, m = v["hidden_dim"], v["mlp_dim"]
    patches = (v["image_size"] // v["patch_size"]) ** 2
    embed = v["in_channels"] * v["patch_size"] ** 2 * d + d + d + (patches + 1) * d
    layer = 4 * d * d + 2 * d * m + 9 * d + m
    return embed + v["num_layers"] * layer + 2 * d + d * v["num_classes"] + v["num_classes"]


def _gpt(v: Mapping[str, Any]) -> int:
    d, bias = v["n_embd"], v["bias"]
    layer = 12 * d * d + (13 * d if bias else 2 * d)
    return (v["vocab_size"] * d + v["block_size"] * d + v["n_layer"] * layer
            + (2 * d if bias else d))


def _llama(v: Mapping[str, Any]) -> int:
    d, hidden = v["dim"], v["ffn_hidden_dim"]
    head = d // v["n_heads"]
    attention = 2 * d * v["n_heads"] * head + 2 * d * v["n_kv_heads"] * head
    experts = v["moe_experts"]
    ffn = 3 * d * hidden * experts + d * experts if experts else 3 * d * hidden
    return 2 * v["vocab_size"] * d + d + v["n_layers"] * (attention + ffn + 2 * d)


def _mlp(v: Mapping[str, Any]) -> int:
    h = v["hidden_size"]
    norm = 0 if v["norm"] == "none" else 2 * h
    total = v["num_features"] * h + h + norm
    total += (v["num_layers"] - 1) * (h * h + h + norm)
    return total + h * v["num_outputs"] + v["num_outputs"]


def _linear(v: Mapping[str, Any]) -> int:
    return v["num_features"] * v["num_outputs"] + (v["num_outputs"] if v["bias"] else 0)


def _transformer_encoder(v: Mapping[str, Any]) -> int:
    d, f = v["d_model"], v["ffn_dim"]
    embed = v["vocab_size"] * d if v["input_type"] == "tokens" else v["num_features"] * d + d
    extra = 1 if v["pooling"] == "cls" else 0
    total = embed + extra * d + (v["max_len"] + extra) * d
    total += v["n_layers"] * (4 * d * d + 2 * d * f + 9 * d + f)
    return total + 2 * d + d * v["num_classes"] + v["num_classes"]


def _unet(v: Mapping[str, Any]) -> int:
    def double(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + 9 * c_out * c_out + 4 * c_out

    widths = [v["base_channels"] * 2**level for level in range(v["depth"] + 1)]
    total = double(v["in_channels"], widths[0])
    for i in range(v["depth"]):
        total += double(widths[i], widths[i + 1])
        total += 4 * widths[i + 1] * widths[i] + widths[i] + double(2 * widths[i], widths[i])
    return total + widths[0] * v["num_classes"] + v["num_classes"]


ESTIMATORS: dict[str, Callable[[Mapping[str, Any]], int]] = {
    "resnet": _resnet, "vit": _vit, "gpt": _gpt, "llama": _llama, "mlp": _mlp,
    "linear": _linear, "transformer-encoder": _transformer_encoder, "unet": _unet,
}


def estimate_params(blueprint: str, values: Mapping[str, Any]) -> int | None:
    """Closed-form parameter count of a bundled blueprint's configuration, or None."""
    estimator = ESTIMATORS.get(blueprint)
    if estimator is None:
        return None
    try:
        return estimator(values)
    except (KeyError, TypeError, ZeroDivisionError):
        return None
