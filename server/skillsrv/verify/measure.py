"""Run a model module and measure it: shapes, parameters, FLOPs, peak memory, gradient flow.

Imported only inside the verification worker (it imports torch). `run_request` takes the
request dict the pool sends and returns the report dict that `VerificationReport` validates
(less the budget verdict and suggestions, which the server side adds).

The contract for the module: a `@dataclass` config class, `build_model(config: XConfig) ->
nn.Module` and `example_inputs(config: XConfig, batch_size: int) -> tuple[Tensor, ...]`
(positional arguments for `model(*inputs)`, made with factory functions and no device
argument). The config class is the one named by `build_model`'s `config` annotation,
instantiated with its defaults plus the request's overrides.

The training loss is the module's optional `training_loss(config, output, inputs) -> Tensor`, or
else the sum over the floating-point tensors of the output (a tensor, or a tuple / list / dict of
them, nested) of `t.float().mean()`: the upcast mirrors a cross-entropy on low-precision logits,
and the backward pass is the model's own (a real cross-entropy also keeps log-probabilities the
size of the logits, which this default does not).

Two optimizer steps: the first only has to leave the optimizer state behind, so it is created
directly (the tensors a first step creates); the second, a full forward, backward and optimizer
step with that state live, is the steady state that is measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import inspect
import os
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import (
    DataDependentOutputException,
    DynamicOutputShapeException,
    FakeTensorMode,
    UnsupportedOperatorException,
)
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from skillsrv.verify.errors import (
    ContractError,
    ModelError,
    ResourceLimitError,
    SandboxRefused,
    VerificationError,
)
from skillsrv.verify.memtrack import MemoryTracker, breakdown
from skillsrv.verify.sandbox import check_source, safe_builtins

Progress = Callable[[float, str], None]
TEST_HOOKS_ENV = "SKILLSRV_VERIFY_TEST_HOOKS"
MODULE_NAME = "skillsrv_user_model"
MiB = 2**20
# CUDA-only memory no CPU tracker sees (verification-facts.md): the context (290-430 MiB with
# lazy loading; the upper end is used) and the cuBLAS + cuBLASLt workspaces (32 MiB each on
# Hopper, smaller on older GPUs).
CUDA_CONTEXT = 430 * MiB
CUDA_WORKSPACE = 64 * MiB
_FAKE_UNSUPPORTED = (DataDependentOutputException, DynamicOutputShapeException,
                     UnsupportedOperatorException)


class SandboxViolation(PermissionError):
    """Raised by the worker's audit hook when running code tries something not allowed."""


# -- FLOPs: FlopCounterMode counts the CPU attention kernels as 0 (pytorch#195460).

def _cpu_flash(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None,
               **kwargs: Any) -> int:
    return int(sdpa_flop_count(query, key, value))


def _cpu_flash_backward(grad_out: Any, query: Any, key: Any, value: Any, *args: Any,
                        out_shape: Any = None, **kwargs: Any) -> int:
    return int(sdpa_backward_flop_count(grad_out, query, key, value))


def flop_mapping() -> dict[Any, Any]:
    aten = torch.ops.aten
    mapping: dict[Any, Any] = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = _cpu_flash
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = _cpu_flash_backward
    return mapping


def flop_counter() -> FlopCounterMode:
    return FlopCounterMode(display=False, custom_mapping=flop_mapping())


# -- loading the module and the contract

@dataclasses.dataclass
class Contract:
    module: types.ModuleType
    build_model: Callable[..., Any]
    example_inputs: Callable[..., Any]
    config_class: type
    config: Any
    filename: str


def load_module(code: str, filename: str, guarded: bool = True) -> types.ModuleType:
    """Check and execute the module's code; `guarded=False` (tests of the runtime layers only)
    skips the AST check and the guarded builtins."""
    if guarded:
        check_source(code, filename)
    module = types.ModuleType(MODULE_NAME)
    if guarded:
        module.__dict__["__builtins__"] = safe_builtins()
    module.__dict__["__file__"] = filename
    sys.modules[MODULE_NAME] = module  # dataclasses looks the module up by name
    compiled = compile(code, filename, "exec", dont_inherit=True)
    with user_code("importing the module", filename):
        exec(compiled, module.__dict__)
    return module


def resolve_contract(module: types.ModuleType, overrides: dict[str, Any],
                     filename: str) -> Contract:
    namespace = module.__dict__
    missing = [name for name in ("build_model", "example_inputs")
               if not callable(namespace.get(name))]
    if missing:
        raise ContractError(f"{filename}: no function {' or '.join(missing)}",
                            hint="define build_model(config) -> nn.Module and "
                                 "example_inputs(config, batch_size) -> tuple of tensors")
    build = namespace["build_model"]
    config_class = _config_class(build, namespace, filename)
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ContractError(f"{config_class.__name__} has no field {', '.join(unknown)}",
                            hint="fields: " + ", ".join(sorted(fields)))
    with user_code(f"creating {config_class.__name__}", filename):
        config = config_class(**overrides)
    return Contract(module, build, namespace["example_inputs"], config_class, config, filename)


def _config_class(build: Callable[..., Any], namespace: dict[str, Any], filename: str) -> type:
    annotations = getattr(build, "__annotations__", {}) or {}
    annotation = annotations.get("config")
    if annotation is None:
        first = next(iter(inspect.signature(build).parameters), None)
        annotation = annotations.get(first) if first else None
    if isinstance(annotation, str):  # from __future__ import annotations: look it up, no eval
        target: Any = namespace
        for part in annotation.strip().split("."):
            target = target.get(part) if isinstance(target, dict) else \
                getattr(target, part, None)
        annotation = target
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation
    candidates = [v for k, v in namespace.items() if isinstance(v, type)
                  and dataclasses.is_dataclass(v) and getattr(v, "__module__", "") == MODULE_NAME
                  and k.endswith("Config")]
    if len(candidates) == 1:
        return candidates[0]
    raise ContractError(f"{filename}: build_model's 'config' parameter must be annotated with "
                        "the module's @dataclass config class",
                        hint="write def build_model(config: MyConfig) -> nn.Module")


@contextlib.contextmanager
def user_code(stage: str, filename: str) -> Iterator[None]:
    """Turn exceptions raised by the model's code into clear errors naming the line."""
    try:
        yield
    except VerificationError:
        raise
    except SandboxViolation as exc:
        raise SandboxRefused(f"the sandbox refused {exc} while {stage}",
                             hint="model code may not write files, use the network, start "
                                  "processes or load libraries") from None
    except MemoryError:
        raise ResourceLimitError(f"out of memory while {stage}: the worker's memory limit was "
                                 "reached" + _where(filename),
                                 hint="allocate less real memory (model code runs on fake "
                                      "tensors; module-level tensors are real)") from None
    except _FAKE_UNSUPPORTED:
        raise
    except RecursionError as exc:
        raise ModelError(f"{stage} recursed too deeply: {exc}{_where(filename)}") from None
    except Exception as exc:
        text = str(exc)
        if "can't allocate memory" in text or "DefaultCPUAllocator" in text:
            raise ResourceLimitError(f"out of memory while {stage}: {text.splitlines()[0]}"
                                     + _where(filename),
                                     hint="the worker's memory limit was reached") from None
        first = text.strip().splitlines()[0] if text.strip() else ""
        raise ModelError(f"{stage} raised {type(exc).__name__}: {first[:500]}"
                         + _where(filename)) from None


def _where(filename: str) -> str:
    frames = [f for f in traceback.extract_tb(sys.exc_info()[2]) if f.filename == filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f" ({filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()})"


# -- helpers for a run

_DTYPES = {"bf16": torch.bfloat16, "fp16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


def _autocast(dtype: str) -> contextlib.AbstractContextManager[Any]:
    if dtype.endswith("-mixed"):
        return torch.autocast("cpu", dtype=_DTYPES[dtype])
    return contextlib.nullcontext()


def _inputs(contract: Contract, batch_size: int, dtype: str) -> tuple[Any, ...]:
    with user_code("making example_inputs", contract.filename):
        raw = contract.example_inputs(contract.config, batch_size)
    inputs = tuple(raw) if isinstance(raw, (tuple, list)) else (raw,)
    if dtype == "bf16":
        inputs = tuple(x.to(torch.bfloat16) if isinstance(x, torch.Tensor)
                       and x.is_floating_point() else x for x in inputs)
    return inputs


def _loss(out: Any, filename: str) -> torch.Tensor:
    leaves = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)
              and t.is_floating_point() and t.requires_grad]
    if not leaves:
        raise ContractError(f"{filename}: the model's output has no floating-point tensor that "
                            "requires grad, so there is nothing to train",
                            hint="return the logits (or a tuple/dict containing them)")
    loss = leaves[0].float().mean()
    for t in leaves[1:]:
        loss = loss + t.float().mean()
    return loss


def _custom_loss(contract: Contract) -> Callable[..., torch.Tensor] | None:
    """The module's optional `training_loss(config, output, inputs) -> Tensor`."""
    function = contract.module.__dict__.get("training_loss")
    if not callable(function):
        return None

    def loss(out: Any, inputs: tuple[Any, ...]) -> torch.Tensor:
        with user_code("training_loss", contract.filename):
            value = function(contract.config, out, inputs)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ContractError(f"{contract.filename}: training_loss must return a scalar "
                                "tensor")
        return value

    return loss


def describe_outputs(out: Any, name: str = "out") -> list[dict[str, Any]]:
    if isinstance(out, torch.Tensor):
        return [{"name": name, "shape": list(out.shape), "dtype": str(out.dtype).split(".")[-1]}]
    if isinstance(out, dict):
        return [d for k, v in out.items() for d in describe_outputs(v, f"{name}[{k!r}]")]
    if isinstance(out, (tuple, list)):
        return [d for i, v in enumerate(out) for d in describe_outputs(v, f"{name}[{i}]")]
    return []


def count_params(model: nn.Module) -> dict[str, Any]:
    seen: set[int] = set()
    by_module: dict[str, int] = {}
    for name, child in model.named_children():
        count = 0
        for p in child.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                count += p.numel()
        by_module[name] = count
    root = sum(p.numel() for p in model.parameters(recurse=False) if id(p) not in seen)
    if root:
        by_module["(root)"] = root
    groups: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    params = list(model.parameters())
    return {"total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
            "by_module": by_module,
            "tied": [names for names in groups.values() if len(names) > 1],
            "buffers": sum(b.numel() for b in model.buffers())}


def make_optimizer(name: str, params: list[nn.Parameter],
                   foreach: bool | None) -> torch.optim.Optimizer:
    extra: dict[str, Any] = {} if foreach is None else {"foreach": foreach}
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, **extra)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, **extra)
    return torch.optim.SGD(params, lr=1e-2, momentum=0.9, **extra)


def init_optimizer_state(optimizer: torch.optim.Optimizer, name: str) -> None:
    """The state AdamW/Adam (step, exp_avg, exp_avg_sq) or SGD with momentum
    (momentum_buffer) hold after their first step: same tensors, dtypes and layouts."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if name in ("adam", "adamw"):
                optimizer.state[p] = {
                    "step": torch.tensor(0.0, dtype=torch.float32),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
            else:
                optimizer.state[p] = {"momentum_buffer": torch.zeros_like(p)}


def apply_checkpointing(model: nn.Module) -> list[str]:
    """Wrap each block of the model's repeated-block containers in non-reentrant checkpoint."""
    wrapped: list[str] = []

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            blocks = list(child) if isinstance(child, (nn.ModuleList, nn.Sequential)) else []
            if len(blocks) >= 2 and all(next(b.children(), None) is not None for b in blocks):
                for i, block in enumerate(blocks):
                    _checkpoint_forward(block)
                    wrapped.append(f"{path}.{i}")
            else:
                visit(child, path + ".")

    visit(model, "")
    return wrapped


def _checkpoint_forward(block: nn.Module) -> None:
    forward = block.forward

    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    block.forward = checkpointed


def to_dtype(model: nn.Module, dtype: torch.dtype) -> None:
    """`model.to(dtype)` for floating parameters and buffers, keeping tied weights tied.

    (Module.to cannot swap fake parameters; this works on fake and real tensors alike and frees
    the old storages the same way.)
    """
    converted: dict[int, nn.Parameter] = {}
    for module in model.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if not param.is_floating_point():
                continue
            if id(param) not in converted:
                converted[id(param)] = nn.Parameter(param.detach().to(dtype),
                                                    requires_grad=param.requires_grad)
            setattr(module, name, converted[id(param)])  # RNNs refresh their flat weights
        for name, buffer in list(module.named_buffers(recurse=False)):
            if buffer.is_floating_point():
                setattr(module, name, buffer.to(dtype))


def _has_rnn(model: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) for m in model.modules())


@contextlib.contextmanager
def _quiet_gc() -> Iterator[None]:
    """No cyclic GC during a measured phase: real and fake runs free at the same points."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _module_flops(counts: dict[str, dict[Any, int]], root: str,
                  children: list[str]) -> dict[str, int]:
    """Forward FLOPs per top-level child. A container that is never called itself (a
    ModuleList) gets the sum of its shallowest called descendants."""
    totals = {name: sum(per_op.values()) for name, per_op in counts.items()}
    out: dict[str, int] = {}
    for child in children:
        prefix = f"{root}.{child}"
        under = [k for k in totals if k == prefix or k.startswith(prefix + ".")]
        if not under:
            out[child] = 0
            continue
        depth = min(k.count(".") for k in under)
        out[child] = sum(totals[k] for k in under if k.count(".") == depth)
    return out


# -- the measurement

def measure(contract: Contract, opts: dict[str, Any], target: str, fake: bool,
            progress: Progress, train_only: bool = False) -> dict[str, Any]:
    """One full measurement on fake (or real) CPU tensors, emulating `target`."""
    dtype, batch = opts["dtype"], opts["batch_size"]
    fn = contract.filename
    tracker = MemoryTracker(block=512 if target == "cuda" else 1)
    fake_mode: Any = FakeTensorMode(allow_non_fake_inputs=True) if fake else \
        contextlib.nullcontext()
    foreach = True if target == "cuda" else None
    result: dict[str, Any] = {"method": [], "warnings": []}
    t0 = time.perf_counter()
    with fake_mode, tracker, _quiet_gc():
        progress(0.05, "building the model")
        with user_code("build_model", fn):
            model = contract.build_model(contract.config)
        if not isinstance(model, nn.Module):
            raise ContractError(f"{fn}: build_model returned {type(model).__name__}, "
                                "not an nn.Module")
        if dtype == "bf16":
            to_dtype(model, torch.bfloat16)
        if opts.get("checkpointing"):
            wrapped = apply_checkpointing(model)
            result["method"].append(
                f"activation checkpointing on {len(wrapped)} blocks" if wrapped else
                "activation checkpointing requested but no repeated blocks were found")
        inputs = _inputs(contract, batch, dtype)
        params = [p for p in model.parameters()]
        buffers = list(model.buffers())
        result["model"] = type(model).__name__
        result["params"] = count_params(model)
        input_tensors = [t for t in tree_flatten(inputs)[0] if isinstance(t, torch.Tensor)]
        rnn = contextlib.nullcontext() if not _has_rnn(model) else \
            torch.backends.mkldnn.flags(enabled=False)
        t1 = time.perf_counter()
        result["timings"] = {"build_s": t1 - t0}

        with rnn:
            if not train_only:
                progress(0.15, "inference pass")
                model.eval()
                tracker.reset_peak()
                counter = flop_counter()
                with torch.no_grad(), _autocast(dtype), counter, user_code("forward", fn):
                    out = model(*inputs)
                result["outputs"] = describe_outputs(out)
                forward_flops = counter.get_total_flops()
                by_module = _module_flops(counter.get_flop_counts(), type(model).__name__,
                                          [name for name, _ in model.named_children()])
                result["inference"] = breakdown(tracker, {
                    "params": params, "buffers": buffers, "inputs": input_tensors})
                del out, counter
            t2 = time.perf_counter()

            model.train()
            trainable = [p for p in params if p.requires_grad]
            if not trainable:
                raise ContractError(f"{fn}: the model has no trainable parameters")
            optimizer = make_optimizer(opts["optimizer"], trainable, foreach)
            loss_fn = _custom_loss(contract) or (lambda out, _: _loss(out, fn))
            # Step 1 only has to leave the optimizer state behind (its forward and backward
            # would repeat step 2's work): the state a first step creates, made directly.
            progress(0.45, "creating the optimizer state (step 1)")
            with user_code("optimizer step 1", fn):
                init_optimizer_state(optimizer, opts["optimizer"])
            # Step 2, measured: the steady state, with the optimizer state live.
            progress(0.5, "training step 2 of 2")
            tracker.reset_peak()
            optimizer.zero_grad(set_to_none=True)
            counter_ctx: Any = flop_counter() if not train_only else contextlib.nullcontext()
            with counter_ctx, user_code("the training step", fn):
                with _autocast(dtype):
                    out = model(*inputs)
                loss = loss_fn(out, inputs)
                loss.backward()
            total_flops = counter_ctx.get_total_flops() if not train_only else 0
            no_grad = [name for name, p in model.named_parameters()
                       if p.requires_grad and p.grad is None]
            with user_code("optimizer step 2", fn):
                optimizer.step()
            del out, loss, counter_ctx
            grads = [p.grad for p in trainable if p.grad is not None]
            state = [t for s in optimizer.state.values() for t in s.values()
                     if isinstance(t, torch.Tensor)]
            result["train"] = breakdown(tracker, {
                "params": params, "buffers": buffers, "grads": grads,
                "optimizer_state": state, "inputs": input_tensors})
        t3 = time.perf_counter()
        tracker.close()
    result["timings"].update(inference_s=t2 - t1, train_s=t3 - t2)
    if train_only:
        result["outputs"] = []
        result["inference"] = {"peak": 0}
        forward_flops, by_module = 0, {}
    result["flops"] = {"forward": forward_flops, "forward_backward": total_flops,
                       "by_module": by_module}
    result["grad_flow"] = {"ok": not no_grad, "no_grad": no_grad}
    result["block_bytes"] = tracker.block
    if _has_rnn(model):
        result["method"].append(
            "recurrent layers measured on PyTorch's portable kernels (oneDNN off): CPU training "
            "with oneDNN adds a workspace per LSTM layer, cuDNN a reserve space")
    return result


def measure_gpu(contract: Contract, opts: dict[str, Any]) -> dict[str, Any]:
    """Two real training steps on the GPU: measured peaks next to the prediction."""
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    try:
        warm = torch.ones(256, 256, device=device, dtype=_DTYPES.get(opts["dtype"], torch.float32))
        (warm @ warm).sum().item()  # allocates the cuBLAS workspace before the baseline
        del warm
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        with torch.device(device):
            model = contract.build_model(contract.config)
            if opts["dtype"] == "bf16":
                to_dtype(model, torch.bfloat16)
            if opts.get("checkpointing"):
                apply_checkpointing(model)
            inputs = _inputs(contract, opts["batch_size"], opts["dtype"])
        optimizer = make_optimizer(opts["optimizer"],
                                   [p for p in model.parameters() if p.requires_grad], None)
        loss_fn = _custom_loss(contract) or (lambda out, _: _loss(out, contract.filename))
        step_s = 0.0
        for _ in (1, 2):
            torch.cuda.synchronize()
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=_DTYPES[opts["dtype"]]) \
                    if opts["dtype"].endswith("-mixed") else contextlib.nullcontext():
                out = model(*inputs)
            loss = loss_fn(out, inputs)
            loss.backward()
            optimizer.step()
            del out, loss
            torch.cuda.synchronize()
            step_s = time.perf_counter() - start
        stats = torch.cuda.memory_stats(device)
        result = {"device": name, "max_allocated": torch.cuda.max_memory_allocated(device),
                  "active_peak": stats.get("active_bytes.all.peak"),
                  "reserved_peak": stats.get("reserved_bytes.all.peak"),
                  "baseline": baseline, "step_s": step_s}
        del model, inputs, optimizer
    except torch.cuda.OutOfMemoryError as exc:
        result = {"device": name, "error": f"out of memory on the GPU: {str(exc)[:200]}"}
    except Exception as exc:
        result = {"device": name, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    torch.cuda.empty_cache()
    return result


def resolve_target(opts: dict[str, Any]) -> str:
    if opts["target"] != "auto":
        return str(opts["target"])
    if torch.cuda.is_available() or opts.get("budget_bytes"):
        return "cuda"
    return "cpu"


def _method_notes(target: str, fake: bool, opts: dict[str, Any],
                  custom_loss: bool) -> list[str]:
    notes = []
    if fake:
        notes.append("ran on fake tensors (FakeTensorMode): no real memory; live bytes counted "
                     "per tensor storage at the dispatcher")
    else:
        notes.append("ran on real CPU tensors")
    if target == "cpu":
        notes.append("on CPU these peaks equal a real run's under the same tracker; scratch "
                     "memory inside kernels (oneDNN) is not counted")
    else:
        notes.append("CUDA emulated on CPU: foreach optimizer temporaries, 512-byte blocks, "
                     "context and workspaces added; autocast follows CPU's op lists; allocator "
                     "fragmentation (reserved > allocated) is not included")
        if opts["dtype"] == "fp16-mixed":
            notes.append("fp16-mixed: GradScaler's few scalars are not modelled")
    if custom_loss:
        notes.append("loss: the module's training_loss(config, output, inputs)")
    else:
        notes.append("loss = sum of .float().mean() over the floating-point outputs; a "
                     "cross-entropy also keeps log-probabilities the size of the logits "
                     "(define training_loss(config, output, inputs) to measure your own)")
    return notes


def run_request(request: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Handle one 'verify' request inside a forked worker process."""
    opts = request["options"]
    filename = request.get("filename") or "model.py"
    started = time.perf_counter()
    unguarded = bool(request.get("unguarded")) and os.environ.get(TEST_HOOKS_ENV) == "1"
    module = load_module(request["code"], filename, guarded=not unguarded)
    contract = resolve_contract(module, dict(opts.get("config") or {}), filename)
    target = resolve_target(opts)
    fake = opts.get("tensors", "fake") == "fake"
    train_only = bool(request.get("train_only"))
    confidence = "high" if target == "cpu" else "medium"
    fallback = None
    try:
        result = measure(contract, opts, target, fake, progress, train_only)
    except _FAKE_UNSUPPORTED as exc:
        if not fake or request.get("no_fallback"):
            raise ModelError("the model uses an operation fake tensors cannot run: "
                             f"{exc}") from None
        fallback = (f"fake tensors could not run an operation ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200]}); measured on real CPU tensors instead")
        progress(0.1, "retrying on real CPU tensors")
        fake, confidence = False, "low"
        result = measure(contract, opts, target, fake, progress, train_only)
    method = _method_notes(target, fake, opts, _custom_loss(contract) is not None) \
        + result.pop("method")
    if fallback:
        method.insert(0, fallback)
    train = result["train"]
    inference = result["inference"]
    overhead = None
    if target == "cuda":
        overhead = {"context": CUDA_CONTEXT, "workspace": CUDA_WORKSPACE,
                    "total": CUDA_CONTEXT + CUDA_WORKSPACE}
    extra = overhead["total"] if overhead else 0
    report: dict[str, Any] = {
        "model": result["model"],
        "config": {k: _jsonable(v) for k, v in dataclasses.asdict(contract.config).items()},
        "config_class": contract.config_class.__name__,
        "batch_size": opts["batch_size"], "dtype": opts["dtype"],
        "optimizer": opts["optimizer"], "target": target,
        "outputs": result["outputs"], "params": result["params"], "flops": result["flops"],
        "memory": {"inference": inference, "train": train,
                   "block_bytes": result["block_bytes"], "cuda_overhead": overhead,
                   "total_train": train["peak"] + extra,
                   "total_inference": inference["peak"] + extra},
        "grad_flow": result["grad_flow"], "confidence": confidence, "method": method,
        "warnings": result["warnings"],
        "timings": {"total_s": 0.0, **result["timings"]},
    }
    if not result["grad_flow"]["ok"]:
        report["warnings"].append(f"{len(result['grad_flow']['no_grad'])} trainable parameter "
                                  "tensors got no gradient (unused in forward?)")
    if target == "cuda" and opts.get("measure_gpu", True) and not train_only \
            and torch.cuda.is_available():
        progress(0.9, "measuring on the GPU")
        report["measured"] = measure_gpu(contract, opts)
    report["timings"]["total_s"] = time.perf_counter() - started
    return report


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def warm_up() -> None:
    """Exercise the fake-tensor, FLOP-counting and optimizer paths once, without backward.

    Runs in the zygote before it forks: lazy imports and caches are then shared by every
    forked child. No backward pass here: autograd's threads must not exist before a fork.
    """
    with FakeTensorMode(allow_non_fake_inputs=True), MemoryTracker(), _quiet_gc():
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                              nn.Linear(8 * 6 * 6, 4))
        x = torch.randn(2, 3, 8, 8)
        with torch.no_grad(), flop_counter():
            model(x)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            model(x)
        q = torch.randn(1, 2, 4, 8)
        with torch.no_grad():
            torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
            nn.LSTM(4, 4, batch_first=True)(torch.randn(1, 3, 4))
        params = [p for p in model.parameters()]
        for p in params:
            p.grad = torch.zeros_like(p)
        for name in ("adamw", "adam", "sgd"):
            for foreach in (None, True):
                make_optimizer(name, params, foreach).step()
