"""Shared by the verification tests: small models that follow the contract, one warm pool.

The pool is shared by every verification test module (torch is imported once per test run);
tests that break workers on purpose check that it keeps serving.
"""

from __future__ import annotations

import atexit
import threading

from skillsrv.verify import WorkerPool

CNN = '''
"""A small CNN for 32x32 images. B batch, C channels, H x W pixels."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class CNNConfig:
    channels: int = 16
    classes: int = 10


class CNN(nn.Module):
    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        c = config.channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
                                  nn.BatchNorm2d(2 * c), nn.ReLU())
        self.head = nn.Linear(2 * c, config.classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.down(self.stem(x))                 # (B, 2C, H/2, W/2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (B, 2C)
        return self.head(x)


def build_model(config: CNNConfig) -> nn.Module:
    return CNN(config)


def example_inputs(config: CNNConfig, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randn(batch_size, 3, 32, 32),)
'''

GPT = '''
"""A tiny GPT: tied embeddings, causal attention. B batch, T time, C channels."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class GPTConfig:
    vocab: int = 512
    seq: int = 32
    d_model: int = 64
    n_head: int = 4
    n_layer: int = 2
    sdpa: bool = True
    unused: bool = False


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.sdpa = config.sdpa
        self.ln1 = nn.LayerNorm(config.d_model)
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.out = nn.Linear(4 * config.d_model, config.d_model)

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if self.sdpa:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))   # (B, nh, T, T)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
        return scores.softmax(dim=-1) @ v                          # (B, nh, T, hs)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = self.attend(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab, config.d_model)
        self.wpe = nn.Embedding(config.seq, config.d_model)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied
        if config.unused:
            self.spare = nn.Linear(config.d_model, config.d_model)

    def forward(self, idx: Tensor) -> Tensor:
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))              # (B, T, vocab)


def build_model(config: GPTConfig) -> nn.Module:
    return GPT(config)


def example_inputs(config: GPTConfig, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randint(0, config.vocab, (batch_size, config.seq)),)
'''

LSTM = '''
"""A two-layer LSTM tagger. B batch, T time."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class TaggerConfig:
    vocab: int = 200
    embed: int = 32
    hidden: int = 48
    tags: int = 7
    seq: int = 24


class Tagger(nn.Module):
    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocab, config.embed)
        self.lstm = nn.LSTM(config.embed, config.hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(config.hidden, config.tags)

    def forward(self, tokens: Tensor) -> dict[str, Tensor]:
        states, (h, _) = self.lstm(self.embed(tokens))  # (B, T, hidden)
        return {"tags": self.head(states), "last": h[-1]}


def build_model(config: TaggerConfig) -> nn.Module:
    return Tagger(config)


def example_inputs(config: TaggerConfig, batch_size: int) -> tuple[Tensor, ...]:
    return (torch.randint(0, config.vocab, (batch_size, config.seq)),)
'''

_pool: WorkerPool | None = None
_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    """One warm pool for every verification test (test hooks on: SIGSEGV on request)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = WorkerPool(1, timeout_s=60, memory_mb=1024, cpu_time_s=60,
                               test_hooks=True).start()
            atexit.register(_pool.close)
        return _pool
