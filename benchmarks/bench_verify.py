"""Benchmark the torch verifier: how long a verification takes, and its memory figures.

    PYTHONPATH=server:plugins .venv/bin/python benchmarks/bench_verify.py

Prints the time to verify ResNet-18 (batch 16 at 224x224) with a warm worker (target < 1.5 s)
and with a cold one (a new pool: process start, torch import, first run; target < 5 s), a 7B
Llama-style training step (target < 6 s), and the predicted training peaks next to the
params x 16 rule of thumb and torchinfo's "Estimated Total Size" (when torchinfo is importable:
`pip install torchinfo`). The models are written out below so the benchmark needs nothing but
torch; their parameter counts match the public ones (11,689,512 / 124,439,808 /
6,738,415,616).
"""

from __future__ import annotations

import statistics
import sys
import time
import types

from skillsrv.verify import VerificationReport, VerifyOptions, WorkerPool, verify_code
from skillsrv.verify.budget import format_bytes

RESNET18 = '''
"""ResNet-18 as in torchvision. B batch, C channels, H x W pixels."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ResNetConfig:
    layers: tuple[int, ...] = (2, 2, 2, 2)
    classes: int = 1000
    image: int = 224


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages, cin = [], 64
        for i, blocks in enumerate(config.layers):
            cout = 64 * 2**i
            stage = [BasicBlock(cin if j == 0 else cout, cout, 2 if i and j == 0 else 1)
                     for j in range(blocks)]
            stages.append(nn.Sequential(*stage))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, config.classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))        # (B, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512, H/32, W/32)
        return self.fc(torch.flatten(self.avgpool(x), 1))          # (B, classes)


def build_model(config: ResNetConfig) -> nn.Module:
    return ResNet(config)


def example_inputs(config: ResNetConfig, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randn(batch_size, 3, config.image, config.image),)
'''

GPT2 = '''
"""GPT-2 small (nanoGPT layout, tied embeddings, no dropout). B batch, T time, C channels."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class GPT2Config:
    vocab: int = 50257
    positions: int = 1024
    seq: int = 512
    n_embd: int = 768
    n_head: int = 12
    n_layer: int = 12


class Block(nn.Module):
    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.n_head = c.n_head
        self.ln_1 = nn.LayerNorm(c.n_embd)
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd)
        self.ln_2 = nn.LayerNorm(c.n_embd)
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd)
        self.mlp_proj = nn.Linear(4 * c.n_embd, c.n_embd)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.wte = nn.Embedding(c.vocab, c.n_embd)
        self.wpe = nn.Embedding(c.positions, c.n_embd)
        self.h = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: Tensor) -> Tensor:
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))  # (B, T, C)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))              # (B, T, vocab)


def build_model(config: GPT2Config) -> nn.Module:
    return GPT2(config)


def example_inputs(config: GPT2Config, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randint(0, config.vocab, (batch_size, config.seq)),)
'''

LLAMA7B = '''
"""A Llama-2-7B-style decoder: RMSNorm, rotary positions, SwiGLU. B batch, T time, C channels."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class LlamaConfig:
    vocab: int = 32000
    dim: int = 4096
    n_layer: int = 32
    n_head: int = 32
    ffn: int = 11008
    seq: int = 512


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + 1e-5)).type_as(x) \\
            * self.weight


def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Block(nn.Module):
    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.n_head = c.n_head
        self.attention_norm = RMSNorm(c.dim)
        self.wq = nn.Linear(c.dim, c.dim, bias=False)
        self.wk = nn.Linear(c.dim, c.dim, bias=False)
        self.wv = nn.Linear(c.dim, c.dim, bias=False)
        self.wo = nn.Linear(c.dim, c.dim, bias=False)
        self.ffn_norm = RMSNorm(c.dim)
        self.w1 = nn.Linear(c.dim, c.ffn, bias=False)
        self.w2 = nn.Linear(c.ffn, c.dim, bias=False)
        self.w3 = nn.Linear(c.dim, c.ffn, bias=False)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        B, T, C = x.shape
        h = self.attention_norm(x)
        q = self.wq(h).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = self.wk(h).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = self.wv(h).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(y.transpose(1, 2).reshape(B, T, C))
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(c.vocab, c.dim)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.norm = RMSNorm(c.dim)
        self.output = nn.Linear(c.dim, c.vocab, bias=False)
        hs = c.dim // c.n_head
        inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
        angles = torch.outer(torch.arange(c.seq).float(), inv)
        self.register_buffer("cos", torch.cat((angles, angles), -1).cos(), persistent=False)
        self.register_buffer("sin", torch.cat((angles, angles), -1).sin(), persistent=False)

    def forward(self, tokens: Tensor) -> Tensor:
        T = tokens.size(1)
        x = self.tok_embeddings(tokens)  # (B, T, C)
        cos, sin = self.cos[:T].to(x.dtype), self.sin[:T].to(x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.output(self.norm(x))  # (B, T, vocab)


def build_model(config: LlamaConfig) -> nn.Module:
    return Llama(config)


def example_inputs(config: LlamaConfig, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randint(0, config.vocab, (batch_size, config.seq)),)
'''

# Steady-state CPU training peaks the notes measured with real tensors (verification-facts.md),
# for their model definitions (their GPT-2 may differ from the one above: dropout, loss).
NOTES_MIB = {"ResNet-18 b16@224": 501.7, "GPT-2 4x512 cross-entropy": 4160.2}
# The default loss (.float().mean()) keeps no log-probabilities; a language model's real loss
# does. The module may define its own: this is how.
GPT2_CROSS_ENTROPY = GPT2 + '''

def training_loss(config: GPT2Config, logits: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
    return F.cross_entropy(logits.view(-1, logits.size(-1)), inputs[0].view(-1))
'''


def timed(pool: WorkerPool, code: str, options: VerifyOptions) -> tuple[float, VerificationReport]:
    start = time.perf_counter()
    report = verify_code(code, options, pool=pool)
    return time.perf_counter() - start, report


def torchinfo_estimate(code: str, batch: int, meta: bool) -> str:
    """torchinfo's "Estimated Total Size" for the same model (run here, outside the sandbox)."""
    try:
        import torchinfo
    except ImportError:
        return "n/a (torchinfo not installed)"
    import dataclasses

    import torch

    holder = types.ModuleType("bench_model")
    sys.modules["bench_model"] = holder  # dataclasses looks the module up
    exec(compile(code, "bench_model.py", "exec"), holder.__dict__)
    module = holder.__dict__
    config_class = next(v for v in module.values() if isinstance(v, type)
                        and dataclasses.is_dataclass(v))
    config = config_class()
    try:
        with torch.device("meta") if meta else torch.device("cpu"):
            model = module["build_model"](config)
            inputs = module["example_inputs"](config, batch)
        stats = torchinfo.summary(model, input_data=list(inputs), verbose=0,
                                  device="meta" if meta else "cpu")
        total = (stats.total_input + stats.total_output_bytes + stats.total_param_bytes)
        params = stats.total_params
        return f"{format_bytes(total)} (counts {params:,} params)"
    except Exception as exc:  # torchinfo cannot run every model on every device
        return f"n/a ({type(exc).__name__}: {str(exc)[:60]})"


def main() -> int:
    resnet = VerifyOptions(batch_size=16, target="cpu", autofit=False)
    gpt2_options = VerifyOptions(batch_size=4, target="cpu", autofit=False)
    start = time.perf_counter()
    with WorkerPool(1, timeout_s=600, memory_mb=16384) as pool:
        _, report = timed(pool, RESNET18, resnet)
        cold_total = time.perf_counter() - start
        warm_runs = [timed(pool, RESNET18, resnet)[0] for _ in range(3)]
        llama_options = VerifyOptions(batch_size=1, dtype="bf16", target="cuda",
                                      budget_bytes="80GB", autofit=False)
        llama_runs = [timed(pool, LLAMA7B, llama_options) for _ in range(2)]
        gpt2_time, gpt2 = timed(pool, GPT2, gpt2_options)
        _, gpt2_ce = timed(pool, GPT2_CROSS_ENTROPY, gpt2_options)
        # the same tracker on real CPU tensors (slow: real compute)
        real = {"ResNet-18 b16@224": timed(pool, RESNET18, resnet.model_copy(
                    update={"tensors": "real"}))[1],
                "GPT-2 small 4x512": timed(pool, GPT2, gpt2_options.model_copy(
                    update={"tensors": "real"}))[1]}
    warm = statistics.median(warm_runs)
    llama_time, llama = min(llama_runs, key=lambda run: run[0])
    print("verification time (this machine: 2 shared cores; timings vary +-30% or more)")
    print(f"  ResNet-18 b16@224 warm worker  {warm:6.2f} s  (target < 1.5 s; runs: "
          + ", ".join(f"{t:.2f}" for t in warm_runs) + ")")
    print(f"  ResNet-18 b16@224 cold worker  {cold_total:6.2f} s  (target < 5 s; new pool: "
          "process start, torch import, warm-up, run)")
    print(f"  Llama-style 7B bf16 train step {llama_time:6.2f} s  (target < 6 s; batch 1 x 512, "
          "AdamW, cuda emulated; runs: " + ", ".join(f"{t:.2f}" for t, _ in llama_runs) + ")")
    print(f"  GPT-2 small 4x512 (warm)       {gpt2_time:6.2f} s")
    print()
    print(f"  params: ResNet-18 {report.params.total:,} · GPT-2 small {gpt2.params.total:,} · "
          f"Llama 7B {llama.params.total:,}")
    print(f"  FLOPs forward+backward: ResNet-18 b16 {report.flops.forward_backward:,} · "
          f"GPT-2 4x512 {gpt2.flops.forward_backward:,}")
    print()
    print("training memory (steady-state step, AdamW): ours vs real runs and rules of thumb")
    print(f"  {'model':<26}{'ours (fake)':>13}{'real, same':>13}{'notes, real':>13}"
          f"{'params x 16':>13}  torchinfo estimate")
    rows = [("ResNet-18 b16@224", report, RESNET18, 16, False),
            ("GPT-2 small 4x512", gpt2, GPT2, 4, False),
            ("GPT-2 4x512 cross-entropy", gpt2_ce, GPT2, 4, False),
            ("Llama 7B bf16 1x512 cuda", llama, LLAMA7B, 1, True)]
    for name, rep, code, batch, meta in rows:
        ours = format_bytes(rep.memory.train.peak)
        same = format_bytes(real[name].memory.train.peak) if name in real else "-"
        notes = f"{NOTES_MIB[name]} MiB" if name in NOTES_MIB else "-"
        rule = format_bytes(rep.params.total * 16)
        print(f"  {name:<26}{ours:>13}{same:>13}{notes:>13}{rule:>13}  "
              f"{torchinfo_estimate(code, batch, meta)}")
    t = llama.memory.train
    print()
    print(f"  Llama 7B breakdown at the peak: params {format_bytes(t.params)}, grads "
          f"{format_bytes(t.grads)}, optimizer {format_bytes(t.optimizer_state)}, activations "
          f"{format_bytes(t.activations)}; + CUDA context/workspaces = "
          f"{format_bytes(llama.memory.total_train)}; 80 GB budget: "
          f"{llama.fit.verdict if llama.fit else '-'}")
    print("  real, same: this model on real CPU tensors under the same tracker. notes, real: "
          "verification-facts.md's real-tensor measurement (its GPT-2 trains with a "
          "cross-entropy; the default loss keeps no log-probabilities).")
    print("  params x 16 = fp32 weights + grads + Adam's two moments, no activations (for the "
          "bf16 Llama it overstates). torchinfo = params + inputs + leaf outputs x 2; no grads, "
          "no optimizer state.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
