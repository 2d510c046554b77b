"""What a verification takes (VerifyOptions) and what it returns (VerificationReport).

Sizes are bytes, FLOPs are floating-point operations (a multiply-add counts 2), times are
seconds. The report is meant to be read by a language model as well as by people: short typed
fields, each with a description.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from skillsrv.verify.budget import format_bytes, parse_bytes

Dtype = Literal["fp32", "bf16", "fp16-mixed", "bf16-mixed"]
Optimizer = Literal["adamw", "adam", "sgd"]
Target = Literal["auto", "cpu", "cuda"]


def _bytes_or_none(value: Any) -> Any:
    return None if value is None or value == "" else parse_bytes(value)


Bytes = Annotated[int, Field(ge=1), BeforeValidator(_bytes_or_none)]


class VerifyOptions(BaseModel):
    """How to verify: batch size, precision, optimizer, target device and memory budget."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=8, ge=1, le=1_000_000,
                            description="batch size for example_inputs")
    dtype: Dtype = Field(
        default="fp32", description="fp32; bf16 (weights, grads and optimizer state in bf16); "
        "fp16-mixed / bf16-mixed (autocast, fp32 master weights)")
    optimizer: Optimizer = Field(default="adamw",
                                 description="adamw, adam, or sgd with momentum 0.9")
    target: Target = Field(
        default="auto", description="cuda emulates a CUDA GPU (foreach optimizer, 512-byte "
        "blocks, context and workspaces); auto = cuda when a GPU is present or a budget is "
        "given, else cpu")
    budget_bytes: Bytes | None = Field(
        default=None, description="memory budget; accepts '24GB' (GB = GiB = 2**30 bytes) or a "
        "number of bytes")
    timeout_s: float | None = Field(default=None, gt=0, le=3600,
                                    description="wall-clock limit for one run (default: pool's)")
    autofit: bool = Field(
        default=True, description="when over budget, find the largest batch that fits and "
        "measure bf16, activation checkpointing and half width")
    checkpointing: bool = Field(default=False,
                                description="activation checkpointing on repeated blocks")
    config: dict[str, Any] = Field(default_factory=dict,
                                   description="overrides for fields of the config dataclass")
    tensors: Literal["fake", "real"] = Field(
        default="fake", description="fake: no real memory (default); real: run on real CPU "
        "tensors (calibration)")
    measure_gpu: bool = Field(
        default=True, description="with a GPU present and target cuda, also run for real and "
        "report measured peaks")


class Output(BaseModel):
    name: str = Field(description="where in the model's output: 'out', 'out[0]', 'out[\"logits\"]'")
    shape: list[int]
    dtype: str


class Params(BaseModel):
    total: int = Field(description="parameters, tied weights counted once")
    trainable: int
    by_module: dict[str, int] = Field(description="per top-level child module; a tied weight "
                                      "counts in the first module that holds it; '(root)' for "
                                      "parameters on the model itself")
    tied: list[list[str]] = Field(default_factory=list, description="names sharing one tensor")
    buffers: int = Field(default=0, description="elements in buffers (not parameters)")


class Flops(BaseModel):
    forward: int = Field(description="one forward pass at the batch size (matmul, conv, "
                         "attention; elementwise ops are not counted)")
    forward_backward: int = Field(description="one training step's forward and backward")
    by_module: dict[str, int] = Field(default_factory=dict,
                                      description="forward FLOPs per top-level child module")


class Breakdown(BaseModel):
    """Live bytes at the peak, split by what they hold."""

    peak: int = Field(description="peak live bytes")
    params: int = 0
    buffers: int = 0
    grads: int = 0
    optimizer_state: int = 0
    inputs: int = 0
    activations: int = Field(default=0, description="everything else: saved activations, "
                             "outputs and temporaries live at the peak")


class CudaOverhead(BaseModel):
    context: int = Field(description="CUDA context (290-430 MiB measured; the upper end is used)")
    workspace: int = Field(description="cuBLAS + cuBLASLt workspaces (32 MiB each on Hopper)")
    total: int


class Memory(BaseModel):
    inference: Breakdown = Field(description="eval mode under no_grad")
    train: Breakdown = Field(description="steady-state training step: the second optimizer "
                             "step, so the optimizer state is live (the first runs on zero "
                             "gradients to create it)")
    block_bytes: int = Field(default=1,
                             description="allocation rounding used: 512 for cuda, 1 for cpu")
    cuda_overhead: CudaOverhead | None = None
    total_train: int = Field(description="train.peak plus cuda_overhead: compare with a budget")
    total_inference: int


class Fit(BaseModel):
    budget: int
    needed: int = Field(description="memory.total_train")
    fits: bool
    margin: int = Field(description="budget - needed; negative when it does not fit")
    verdict: Literal["fits", "tight", "does-not-fit"] = Field(
        description="tight: fits with less than 10% of the budget to spare (allocator "
                    "fragmentation can eat that)")
    inference_fits: bool


class Suggestion(BaseModel):
    change: str = Field(description="what to change, e.g. 'batch_size=12', 'dtype=bf16'")
    peak: int = Field(description="needed bytes with that change (training, with overhead)")
    fits: bool
    method: Literal["measured", "estimated"] = "measured"
    note: str = ""


class GradFlow(BaseModel):
    ok: bool
    no_grad: list[str] = Field(default_factory=list,
                               description="trainable parameters that got no gradient")


class Measured(BaseModel):
    """Numbers from a real run on the GPU, next to the prediction."""

    device: str
    max_allocated: int | None = None
    active_peak: int | None = Field(default=None, description="active_bytes.all.peak")
    reserved_peak: int | None = None
    baseline: int | None = Field(default=None, description="allocated before the model was built "
                                 "(cuBLAS workspace after warm-up)")
    step_s: float | None = None
    error: str | None = None


class Timings(BaseModel):
    total_s: float
    build_s: float = 0.0
    inference_s: float = 0.0
    train_s: float = 0.0
    autofit_s: float = 0.0
    worker: Literal["warm", "cold"] = "warm"


class VerificationReport(BaseModel):
    """The result of running a model: shapes, parameters, FLOPs, memory, verdict, timings."""

    model: str = Field(description="class name of the built model")
    config: dict[str, Any] = Field(description="the config dataclass's values used")
    config_class: str
    batch_size: int
    dtype: Dtype
    optimizer: Optimizer
    target: Literal["cpu", "cuda"] = Field(description="the target after resolving auto")
    outputs: list[Output]
    params: Params
    flops: Flops
    memory: Memory
    fit: Fit | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    grad_flow: GradFlow
    measured: Measured | None = None
    confidence: Literal["high", "medium", "low"] = Field(
        description="high: CPU, fake-tensor peaks equal a real run's; medium: a CUDA target "
                    "emulated on CPU; low: something could not be measured (see method)")
    method: list[str] = Field(default_factory=list, description="how the numbers were obtained "
                              "and what they leave out")
    warnings: list[str] = Field(default_factory=list)
    timings: Timings

    def summary(self) -> str:
        """A readable multi-line summary for people (the CLI prints it)."""
        lines = [f"model      {self.model}  ({self.config_class}: "
                 + ", ".join(f"{k}={v}" for k, v in self.config.items()) + ")",
                 f"setup      batch {self.batch_size}, {self.dtype}, {self.optimizer}, "
                 f"target {self.target}"]
        for out in self.outputs:
            lines.append(f"output     {out.name} {tuple(out.shape)} {out.dtype}")
        p = self.params
        lines.append(f"params     {p.total:,} total, {p.trainable:,} trainable"
                     + (f"; {p.buffers:,} buffer elements" if p.buffers else ""))
        if p.by_module:
            lines.append("  by module  " + " · ".join(f"{k} {v:,}" for k, v in p.by_module.items()))
        for group in p.tied:
            lines.append("  tied       " + " = ".join(group))
        lines.append(f"FLOPs      forward {_flops(self.flops.forward)} · forward+backward "
                     f"{_flops(self.flops.forward_backward)}")
        m = self.memory
        lines.append(f"memory     inference peak {format_bytes(m.inference.peak)} · training "
                     f"peak {format_bytes(m.train.peak)} (steady-state step)")
        t = m.train
        lines.append(f"  training   params {format_bytes(t.params)} · grads {format_bytes(t.grads)}"
                     f" · optimizer {format_bytes(t.optimizer_state)} · activations "
                     f"{format_bytes(t.activations)} · inputs {format_bytes(t.inputs)}"
                     + (f" · buffers {format_bytes(t.buffers)}" if t.buffers else ""))
        if m.cuda_overhead:
            o = m.cuda_overhead
            lines.append(f"  cuda       + context {format_bytes(o.context)} + workspaces "
                         f"{format_bytes(o.workspace)} = {format_bytes(m.total_train)} to train")
        if self.fit:
            f = self.fit
            lines.append(f"budget     {format_bytes(f.budget)}: {f.verdict}, margin "
                         f"{format_bytes(f.margin)} (needs {format_bytes(f.needed)})")
        for s in self.suggestions:
            lines.append(f"  option     {s.change}: {format_bytes(s.peak)} "
                         f"({'fits' if s.fits else 'does not fit'}, {s.method})"
                         + (f"; {s.note}" if s.note else ""))
        g = self.grad_flow
        lines.append("grad flow  ok" if g.ok else
                     "grad flow  no gradient for: " + ", ".join(g.no_grad))
        if self.measured:
            me = self.measured
            if me.error:
                lines.append(f"measured   {me.device}: {me.error}")
            else:
                lines.append(f"measured   {me.device}: active peak "
                             f"{format_bytes(me.active_peak or 0)}, max allocated "
                             f"{format_bytes(me.max_allocated or 0)}, step {me.step_s or 0:.3f} s")
        lines.append(f"confidence {self.confidence}")
        lines.extend(f"  - {note}" for note in self.method)
        lines.extend(f"warning    {w}" for w in self.warnings)
        lines.append(f"time       {self.timings.total_s:.2f} s ({self.timings.worker} worker)")
        return "\n".join(lines)


def _flops(n: int) -> str:
    for unit, size in (("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6), ("KFLOP", 1e3)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} FLOP"
