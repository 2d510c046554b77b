"""Pick a blueprint and size it from the user's situation, with a cited reason for each choice.

The rules follow the neural-architectures pack: start simple for tabular and small data, CNNs
for images (a mobile CNN at the edge, ViT only with about a million images or more), U-Net for
segmentation, RNN/TCN for short or real-time sequences and a transformer for long ones, GPT for
language modeling sized by tokens and memory, GCN/GAT for graphs, VAE/DCGAN/diffusion by the
generation goal, and a two-tower model for image + text. Every rationale line cites the sheet of
the chosen blueprint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from skillsrv.errors import UsageError
from skillsrv.scaffold.blueprint import Blueprint
from skillsrv.scaffold.sizing import (
    Situation,
    estimate_params,
    human_bytes,
    human_count,
    training_floor_bytes,
)

VIT_MIN_IMAGES = 1_000_000
VIT_LARGE_MIN_IMAGES = 10_000_000
EDGE_LATENCY_MS = 30.0
LONG_SEQUENCE = 256
TOKENS_PER_PARAM = 20  # compute-optimal training (Hoffmann et al., 2022)

# GPT sizes from small to large: (n_layer, n_head, n_embd)
GPT_LADDER = ((4, 4, 256), (6, 6, 384), (8, 8, 512), (12, 12, 768), (24, 16, 1024),
              (36, 20, 1280))
VIT_LADDER = (  # (hidden_dim, num_layers, num_heads, mlp_dim): Ti, S, B, L
    (192, 12, 3, 768), (384, 12, 6, 1536), (768, 12, 12, 3072), (1024, 24, 16, 4096))


class Choice(BaseModel):
    """A blueprint, the values sizing picked for it, and why."""

    blueprint: str
    values: dict[str, Any] = Field(default_factory=dict)
    rationale: list[str] = Field(default_factory=list)


class _Plan:
    """Collects a choice while the rules run."""

    def __init__(self, blueprint: Blueprint) -> None:
        self.blueprint = blueprint
        self.values: dict[str, Any] = {}
        self.rationale: list[str] = []

    def why(self, text: str) -> None:
        self.rationale.append(f"{text} (see {self.blueprint.sheet})")

    def set(self, key: str, value: Any) -> None:
        if key in self.blueprint.parameters and value is not None:
            spec = self.blueprint.parameters[key]
            if spec.min is not None and isinstance(value, int | float):
                value = max(value, type(value)(spec.min))
            if spec.max is not None and isinstance(value, int | float):
                value = min(value, type(value)(spec.max))
            self.values[key] = value

    def config(self) -> dict[str, Any]:
        return {**self.blueprint.defaults(), **self.values}

    def params(self) -> int | None:
        return estimate_params(self.blueprint.name, self.config())

    def fits(self, budget: int | None) -> bool:
        params = self.params()
        return budget is None or params is None or training_floor_bytes(params) <= budget

    def choice(self, situation: Situation) -> Choice:
        config = self.config()
        for key, slot in (("num_classes", "classes"), ("num_outputs", "outputs"),
                          ("num_features", "input features")):
            if key in config and key not in self.values and _uses(self.blueprint, key, config):
                self.why(f"number of {slot} not given: keeping the default {key}="
                         f"{config[key]}; pass --set {key}=N")
        params = self.params()
        if params is not None:
            floor = training_floor_bytes(params)
            text = (f"about {human_count(params)} parameters: training with AdamW needs at "
                    f"least ~{human_bytes(floor)} (16 bytes/parameter) before activations")
            budget = situation.memory_budget_bytes
            if budget is not None:
                verdict = "fits" if floor <= budget else "does NOT fit"
                text += f"; {verdict} the {human_bytes(budget)} budget"
            self.why(text)
        return Choice(blueprint=self.blueprint.name, values=self.values,
                      rationale=self.rationale)


def _uses(blueprint: Blueprint, key: str, config: dict[str, Any]) -> bool:
    """Whether `key` matters for this configuration (class counts only for classifiers)."""
    if key == "num_classes" and config.get("task") == "forecasting":
        return False
    if key == "num_features" and config.get("input_type") == "tokens":
        return False
    return key in blueprint.parameters and not (key == "num_classes"
                                                 and config.get("head") == "contrastive")


def _find(blueprints: Sequence[Blueprint], *names: str) -> Blueprint | None:
    by_name = {blueprint.name: blueprint for blueprint in blueprints}
    return next((by_name[name] for name in names if name in by_name), None)


def _data(situation: Situation, unit: str = "examples") -> str:
    if situation.dataset_size is None:
        return "dataset size unknown"
    return f"{situation.dataset_size:,} {situation.dataset_unit or unit}"


def _effective_modality(situation: Situation) -> str | None:
    if situation.modality:
        return situation.modality
    by_task = {"language-modeling": "text", "segmentation": "image",
               "node-classification": "graph", "graph-classification": "graph",
               "forecasting": "time-series", "generation": "image"}
    if situation.task in by_task:
        return by_task[situation.task]
    if situation.image_size or situation.in_channels:
        return "image"
    if situation.vocab_size:
        return "text"
    if situation.num_features and not situation.seq_len:
        return "tabular"
    if situation.seq_len:
        return "sequence"
    return None


def choose(situation: Situation, blueprints: Sequence[Blueprint]) -> Choice:
    """Pick and size a blueprint. Raises UsageError when the situation says too little."""
    modality = _effective_modality(situation)
    if modality is None:
        raise UsageError("cannot choose an architecture: the data modality is unknown",
                         hint="say what the data is (images, text, time series, tabular rows, "
                              "graphs, image + text) and the task, or pass --arch NAME")
    rules = {"tabular": _tabular, "image": _image, "graph": _graph, "multimodal": _multimodal,
             "text": _text}
    rule = rules.get(modality, _sequence)
    plan = rule(situation, blueprints)
    if plan is None:
        raise UsageError(f"no loaded blueprint serves {modality} data for "
                         f"{situation.task or 'this task'}",
                         hint="add a blueprint for it to the pack, or pass --arch NAME")
    return plan.choice(situation)


# --------------------------------------------------------------------------- tabular


def _tabular(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    n = situation.dataset_size
    simplest = _find(blueprints, "linear")
    if n is not None and n < 1000 and simplest is not None:
        plan = _Plan(simplest)
        plan.why(f"tabular data, {_data(situation, 'rows')}: start with a linear/logistic "
                 "baseline; anything bigger overfits this little data")
    else:
        found = _find(blueprints, "mlp", "linear")
        if found is None:
            return None
        plan = _Plan(found)
        if n is None:
            hidden, layers, dropout = 64, 2, 0.2
            size_text = "dataset size unknown: a small MLP"
        elif n < 10_000:
            hidden, layers, dropout = 64, 2, 0.2
            size_text = f"{_data(situation, 'rows')}: a small MLP (2 x 64, dropout 0.2)"
        elif n < 100_000:
            hidden, layers, dropout = 128, 2, 0.1
            size_text = f"{_data(situation, 'rows')}: a medium MLP (2 x 128)"
        elif n < 1_000_000:
            hidden, layers, dropout = 256, 3, 0.1
            size_text = f"{_data(situation, 'rows')}: a wider MLP (3 x 256)"
        else:
            hidden, layers, dropout = 512, 3, 0.1
            size_text = f"{_data(situation, 'rows')}: a large MLP (3 x 512)"
        plan.why("tabular data has no spatial or temporal structure: start simple with an "
                 "MLP, after a linear baseline; gradient-boosted trees are the comparison "
                 "to beat")
        if found.name == "mlp":
            plan.why(size_text)
            plan.set("hidden_size", hidden)
            plan.set("num_layers", layers)
            plan.set("dropout", dropout)
    _outputs(plan, situation)
    plan.set("num_features", situation.num_features)
    return plan


def _outputs(plan: _Plan, situation: Situation) -> None:
    outputs: int | None
    if situation.task == "regression":
        outputs = situation.num_targets or 1
        plan.why(f"regression: {outputs} output(s), train with MSE")
    else:
        outputs = situation.num_classes
        if outputs:
            plan.why(f"classification into {outputs} classes: cross-entropy on the logits")
    plan.set("num_outputs", outputs)
    plan.set("num_classes", outputs)


# --------------------------------------------------------------------------- images


def _image(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    if situation.task == "segmentation":
        return _segmentation(situation, blueprints)
    if situation.task == "generation" or situation.generative_goal:
        return _generation(situation, blueprints)
    n = situation.dataset_size
    small = situation.image_size is not None and situation.image_size <= 64
    tight_latency = situation.latency_ms is not None and situation.latency_ms <= EDGE_LATENCY_MS
    mobile = _find(blueprints, "mobilenet-v2")
    if (situation.edge or tight_latency) and mobile is not None:
        plan = _Plan(mobile)
        reason = "edge deployment" if situation.edge else f"a {situation.latency_ms:g} ms budget"
        plan.why(f"{reason}: a mobile CNN with inverted residuals (MobileNetV2) needs ~0.3 "
                 "billion multiply-adds at 224x224, about 1/13 of a ResNet-50's")
        very_tight = ((situation.latency_ms is not None and situation.latency_ms <= 10)
                      or (situation.memory_budget_bytes or 10**12) < 64 * 10**6)
        if very_tight:
            plan.set("width_mult", 0.5)
            plan.why("very tight latency or memory: width_mult 0.5; quantize to int8 for "
                     "another 2-4x")
        _image_io(plan, situation, small)
        return plan
    vit = _find(blueprints, "vit")
    if n is not None and n >= VIT_MIN_IMAGES and vit is not None:
        plan = _Plan(vit)
        plan.why(f"{_data(situation, 'images')}: enough data for a Vision Transformer to "
                 "beat CNNs' inductive bias (below ~1M images prefer ResNet)")
        _image_io(plan, situation, small)
        size = plan.values.get("image_size", 224)
        patch = 4 if size <= 64 else 16
        while size % patch:
            patch //= 2
        plan.set("patch_size", patch)
        rungs = list(VIT_LADDER if n >= VIT_LARGE_MIN_IMAGES else VIT_LADDER[:3])
        for hidden, layers, heads, mlp in reversed(rungs):
            plan.set("hidden_dim", hidden)
            plan.set("num_layers", layers)
            plan.set("num_heads", heads)
            plan.set("mlp_dim", mlp)
            if plan.fits(situation.memory_budget_bytes):
                break
        names = {192: "ViT-Ti", 384: "ViT-S", 768: "ViT-B", 1024: "ViT-L"}
        plan.why(f"{names[plan.config()['hidden_dim']]}/{patch}: the largest standard size "
                 "that the data and memory budget support")
        return plan
    resnet = _find(blueprints, "resnet")
    if resnet is None:
        return _generic(situation, blueprints, "image")
    plan = _Plan(resnet)
    if n is not None and n >= VIT_MIN_IMAGES:
        plan.why(f"{_data(situation, 'images')}: a ViT would be possible, but ResNet is the "
                 "loaded baseline")
    else:
        plan.why(f"images ({_data(situation, 'images')}): a ResNet is the proven baseline; "
                 "ViT needs ~1M+ images to pay off")
    if n is None:
        depth, width = 18, 64
        plan.why("dataset size unknown: ResNet-18, then scale up if it underfits")
    elif n < 2_000:
        depth, width = 18, 32
        plan.why(f"only {n:,} images: a half-width ResNet-18; prefer fine-tuning a "
                 "pretrained network")
    elif n < 50_000:
        depth, width = 18, 64
        plan.why(f"{n:,} images: ResNet-18 (11M parameters) is enough capacity; consider "
                 "pretrained weights under ~10k images")
    elif n < 300_000:
        depth, width = 34, 64
        plan.why(f"{n:,} images: ResNet-34")
    else:
        depth, width = 50, 64
        plan.why(f"{n:,} images: ResNet-50 (bottleneck blocks)")
    plan.set("depth", depth)
    plan.set("base_width", width)
    _image_io(plan, situation, small)
    depths = [d for d in (152, 101, 50, 34, 18) if d <= depth]
    for candidate in depths:
        plan.set("depth", candidate)
        if plan.fits(situation.memory_budget_bytes):
            break
    while not plan.fits(situation.memory_budget_bytes) and plan.config()["base_width"] > 8:
        plan.set("base_width", plan.config()["base_width"] // 2)
    if plan.config()["depth"] != depth or plan.config()["base_width"] != width:
        plan.why(f"memory budget: reduced to ResNet-{plan.config()['depth']} with base width "
                 f"{plan.config()['base_width']}")
    return plan


def _image_io(plan: _Plan, situation: Situation, small: bool) -> None:
    if situation.num_classes:
        plan.set("num_classes", situation.num_classes)
        plan.why(f"{situation.num_classes} classes")
    plan.set("in_channels", situation.in_channels)
    if situation.image_size:
        plan.set("image_size", situation.image_size)
    if small and "small_input_stem" in plan.blueprint.parameters:
        plan.set("small_input_stem", True)
        plan.why(f"{situation.image_size}x{situation.image_size} images: small-input stem "
                 "(3x3 stride-1 conv, no max-pool) so early layers keep the resolution")


def _segmentation(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    unet = _find(blueprints, "unet")
    if unet is None:
        return _generic(situation, blueprints, "image")
    plan = _Plan(unet)
    plan.why("segmentation: U-Net's skip connections give the decoder full-resolution detail "
             "and it trains well from few labelled images")
    plan.set("num_classes", situation.num_classes)
    plan.set("in_channels", situation.in_channels)
    depth = 4
    if situation.image_size:
        step = 2**depth
        size = max(step, math.ceil(situation.image_size / step) * step)
        plan.set("image_size", size)
        if size != situation.image_size:
            plan.why(f"pad inputs from {situation.image_size} to {size}: sides must be "
                     f"multiples of 2^{depth}")
    if situation.dataset_size is not None and situation.dataset_size < 1000:
        plan.set("base_channels", 32)
        plan.why(f"{_data(situation, 'images')}: base_channels 32 to limit overfitting")
    while not plan.fits(situation.memory_budget_bytes) and plan.config()["base_channels"] > 8:
        plan.set("base_channels", plan.config()["base_channels"] // 2)
    return plan


def _generation(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    goal = situation.generative_goal
    if goal is None and (situation.realtime or situation.latency_ms):
        goal = "speed"
    order = {"latent": ("vae", "diffusion-unet", "dcgan"),
             "speed": ("dcgan", "vae", "diffusion-unet")}.get(
                 goal or "", ("diffusion-unet", "dcgan", "vae"))
    found = _find(blueprints, *order)
    if found is None:
        return _generic(situation, blueprints, "image")
    plan = _Plan(found)
    reasons = {
        "vae": "a VAE: a smooth latent space (interpolation, anomaly scores, compression) and "
               "stable likelihood training, at the cost of blurrier samples",
        "dcgan": "a GAN (DCGAN): one forward pass per sample and sharp images, but unstable "
                 "training; watch for mode collapse",
        "diffusion-unet": "a diffusion model: the most stable route to high-quality, diverse "
                          "samples; sampling takes many steps",
    }
    plan.why(f"image generation ({goal or 'quality first'}): {reasons[found.name]}")
    size = situation.image_size
    if found.name == "dcgan":
        if size:
            nearest = min((32, 64, 128, 256), key=lambda s: abs(s - size))
            plan.set("image_size", nearest)
        plan.set("channels", situation.in_channels)
    elif found.name == "vae":
        plan.set("in_channels", situation.in_channels)
        if size:
            plan.set("image_size", max(8, math.ceil(size / 8) * 8))
    else:
        plan.set("in_channels", situation.in_channels)
        if size:
            depth = 3 if size <= 32 else 4
            plan.set("depth", depth)
            step = 2 ** (depth - 1)
            plan.set("image_size", max(step, math.ceil(size / step) * step))
        if situation.dataset_size is not None and situation.dataset_size >= 100_000:
            plan.set("base_channels", 128)
            plan.why(f"{_data(situation, 'images')}: base_channels 128")
    if "image_size" in plan.values and size and plan.values["image_size"] != size:
        plan.why(f"images resized from {size} to {plan.values['image_size']}")
    return plan


# --------------------------------------------------------------------------- sequences


def _sequence(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    seq_len = situation.seq_len
    fast = situation.realtime or situation.latency_ms is not None or situation.edge
    long = seq_len is not None and seq_len >= LONG_SEQUENCE
    small_data = situation.dataset_size is not None and situation.dataset_size < 10_000
    order: tuple[str, ...]
    if situation.task == "forecasting":
        order = ("tcn", "rnn") if long else ("rnn", "tcn")
    elif long and not fast:
        order = ("transformer-encoder", "tcn", "rnn")
    elif fast:
        order = ("rnn", "tcn")
    else:
        order = ("rnn", "tcn", "transformer-encoder")
    found = _find(blueprints, *order)
    if found is None:
        return _generic(situation, blueprints, situation.modality or "sequence")
    plan = _Plan(found)
    what = f"{seq_len}-step sequences" if seq_len else "sequences of unknown length"
    if found.name == "transformer-encoder":
        plan.why(f"{what}: long enough that self-attention's direct long-range paths beat "
                 "recurrence; a pre-norm Transformer encoder")
        plan.set("input_type", "features")
        plan.set("num_features", situation.num_features)
        plan.set("max_len", seq_len)
        _size_encoder(plan, situation)
    elif found.name == "tcn":
        kernel = 3
        target = seq_len or 128
        levels = max(1, math.ceil(math.log2((target - 1) / (2 * (kernel - 1)) + 1)))
        plan.set("num_levels", levels)
        plan.set("kernel_size", kernel)
        field = 1 + 2 * (kernel - 1) * (2 ** plan.config()["num_levels"] - 1)
        plan.why(f"{what}: a TCN trains in parallel over time with causal convs; "
                 f"{plan.config()['num_levels']} levels give a {field}-step receptive field")
        plan.set("num_features", situation.num_features)
        plan.set("seq_len", seq_len)
    else:
        cell = "gru" if fast or small_data else "lstm"
        plan.set("cell", cell)
        reason = ("real-time/latency limits favour a small recurrent model with constant "
                  "cost per step" if fast else "short sequences suit a recurrent model")
        plan.why(f"{what}: {reason}; {cell.upper()} cell"
                 + (" (fewer parameters, good with little data)" if cell == "gru" else ""))
        plan.set("hidden_size", 64 if small_data or fast else 128)
        plan.set("num_features", situation.num_features)
        plan.set("seq_len", seq_len)
    if situation.task == "forecasting":
        plan.set("task", "forecasting")
        plan.set("horizon", situation.horizon)
        plan.set("num_targets", situation.num_targets)
        plan.why(f"forecasting {situation.horizon or 1} step(s) ahead directly from the window")
    elif found.name != "transformer-encoder" or situation.task != "regression":
        plan.set("task", "classification")
        if situation.num_classes:
            plan.set("num_classes", situation.num_classes)
            plan.why(f"{situation.num_classes} classes")
    return plan


def _size_encoder(plan: _Plan, situation: Situation) -> None:
    n = situation.dataset_size
    if n is not None and n < 10_000:
        d_model, layers, heads, ffn = 128, 2, 4, 512
    elif n is None or n < 100_000:
        d_model, layers, heads, ffn = 256, 4, 4, 1024
    else:
        d_model, layers, heads, ffn = 512, 6, 8, 2048
    plan.set("d_model", d_model)
    plan.set("n_layers", layers)
    plan.set("n_heads", heads)
    plan.set("ffn_dim", ffn)
    plan.why(f"{_data(situation)}: {layers} layers of width {d_model}"
             + ("; with little labelled data fine-tune a pretrained encoder instead"
                if n is not None and n < 10_000 else ""))
    if situation.num_classes:
        plan.set("num_classes", situation.num_classes)


def _text(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    if situation.task not in ("language-modeling", "generation"):
        encoder = _find(blueprints, "transformer-encoder")
        if encoder is None:
            return _generic(situation, blueprints, "text")
        plan = _Plan(encoder)
        plan.why("text classification: a Transformer encoder over tokens with a class token")
        plan.set("input_type", "tokens")
        plan.set("vocab_size", situation.vocab_size)
        plan.set("max_len", situation.seq_len)
        _size_encoder(plan, situation)
        return plan
    gpt = _find(blueprints, "gpt", "llama")
    if gpt is None:
        return _generic(situation, blueprints, "text")
    plan = _Plan(gpt)
    plan.why("language modeling / text generation: a decoder-only transformer trained on "
             "next-token prediction")
    if gpt.name != "gpt":
        return plan
    plan.set("vocab_size", situation.vocab_size)
    plan.set("block_size", situation.seq_len)
    tokens = situation.dataset_size
    if tokens is not None and situation.dataset_unit not in (None, "tokens"):
        tokens = tokens * (situation.seq_len or 256)
    rungs = list(GPT_LADDER)
    if tokens is None:
        target = None
        rungs = rungs[:2]
        plan.why("dataset size unknown: a small GPT (6 layers x 384); scale up with more "
                 "tokens")
    else:
        target = tokens / TOKENS_PER_PARAM
    chosen = rungs[0]
    for rung in rungs:
        plan.set("n_layer", rung[0])
        plan.set("n_head", rung[1])
        plan.set("n_embd", rung[2])
        params = plan.params() or 0
        if (target is None or params <= max(target, 1)) and plan.fits(
                situation.memory_budget_bytes):
            chosen = rung
    plan.set("n_layer", chosen[0])
    plan.set("n_head", chosen[1])
    plan.set("n_embd", chosen[2])
    if target is not None:
        plan.why(f"~{human_count(tokens or 0)} training tokens support about "
                 f"{human_count(target)} parameters at ~{TOKENS_PER_PARAM} tokens/parameter: "
                 f"{chosen[0]} layers x {chosen[2]} wide; with less data, fine-tune a "
                 "pretrained model instead")
    if (situation.memory_budget_bytes is not None
            and not plan.fits(situation.memory_budget_bytes)):
        plan.why("even the smallest size exceeds the memory budget: reduce vocab_size or "
                 "block_size, or fine-tune with LoRA")
    return plan


# --------------------------------------------------------------------------- graphs, multimodal


def _graph(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    gnn = _find(blueprints, "gnn")
    if gnn is None:
        return _generic(situation, blueprints, "graph")
    plan = _Plan(gnn)
    if situation.edge_importance:
        plan.set("conv", "gat")
        plan.why("neighbours matter unequally: GAT learns attention weights per edge")
    else:
        plan.set("conv", "gcn")
        plan.why("graph data: start with GCN (degree-normalized neighbour averaging), the "
                 "cheap strong baseline; switch to GAT if edges differ in importance")
    graph_level = situation.task == "graph-classification"
    plan.set("task", "graph" if graph_level else "node")
    plan.why("one label per graph: mean readout over each graph's nodes, then the head"
             if graph_level else "one label per node: node classification")
    plan.set("num_layers", 3 if graph_level else 2)
    plan.set("num_features", situation.num_features)
    plan.set("num_classes", situation.num_classes)
    large = situation.dataset_size is not None and situation.dataset_size >= 100_000
    plan.set("hidden_size", 128 if large else 64)
    return plan


def _multimodal(situation: Situation, blueprints: Sequence[Blueprint]) -> _Plan | None:
    towers = _find(blueprints, "two-tower")
    if towers is None:
        return _generic(situation, blueprints, "multimodal")
    plan = _Plan(towers)
    if situation.task == "classification" or (situation.num_classes and
                                              situation.task != "embedding"):
        plan.set("head", "fusion")
        plan.set("num_classes", situation.num_classes)
        plan.why("image + text with a label per pair: two towers and late fusion (concatenate "
                 "the embeddings, then classify)")
    else:
        plan.set("head", "contrastive")
        plan.why("image + text retrieval or embeddings: two towers trained contrastively "
                 "(CLIP-style) into one embedding space")
    plan.set("image_channels", situation.in_channels)
    plan.set("image_size", situation.image_size)
    plan.set("vocab_size", situation.vocab_size)
    plan.set("text_len", situation.seq_len)
    return plan


def _generic(situation: Situation, blueprints: Sequence[Blueprint], modality: str) -> _Plan | None:
    """Fallback for packs without the preferred blueprint: the first that serves the data."""
    for blueprint in blueprints:
        if modality in blueprint.modalities and (situation.task is None
                                                 or situation.task in blueprint.tasks):
            plan = _Plan(blueprint)
            plan.why(f"{modality} data: {blueprint.name} is the loaded blueprint that serves it")
            return plan
    return None
