"""Helpers for the MCP server, reload and daemon tests: a small pack on disk, the installed
`skillsrv` executable, and polling with a deadline (no sleeps in tests)."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from conftest import BUNDLED, write_tree

SKILLSRV = str(Path(sys.executable).parent / "skillsrv")
PACK = "demo-pack"
SKILL = "router"
QUERY_LIMIT = 500  # max_query_chars in the test manifest
LONG_SHEET_CHARS = 45_000

ROUTER_MD = """\
---
name: router
description: Route neural-network architecture questions to the sheet that answers them.
license: MIT
metadata:
  owner: tests
---

# Architecture router

| Situation | Go to | Why |
|---|---|---|
| Images, photos, medical scans, pixels | [cnn.md](cnn.md) | convolutions share weights |
| Text, language, tokens, sentences | [transformer.md](transformer.md) | attention over tokens |
| Very long reference material | [long.md](long.md) | everything at once |

## Clarifying questions

- How many labelled examples do you have?
- What hardware will you train and run it on?
"""

CNN_MD = """\
---
description: Convolutional network families for images
---
# CNN families

Use a ResNet-18 for small image datasets; fine-tune a pretrained one.
"""

TRANSFORMER_MD = "# Transformers\n\nUse an encoder for text classification.\n"


def long_sheet() -> str:
    line = "Layer notes: residual blocks, normalisation and attention in detail.\n"
    text = "# Long reference\n\n"
    while len(text) < LONG_SHEET_CHARS:
        text += line
    return text


def write_demo_pack(root: Path, *, query_limit: int = QUERY_LIMIT) -> Path:
    """A skill folder pack `demo-pack` with one router skill, and a manifest loading only it.
    Returns the manifest path."""
    write_tree(root, {
        f"packs/{PACK}/{SKILL}/SKILL.md": ROUTER_MD,
        f"packs/{PACK}/{SKILL}/cnn.md": CNN_MD,
        f"packs/{PACK}/{SKILL}/transformer.md": TRANSFORMER_MD,
        f"packs/{PACK}/{SKILL}/long.md": long_sheet(),
        f"packs/{PACK}/{SKILL}/scripts/check.py": "print('supporting file')\n",
        "manifest.yaml": f"packs:\n  - packs\nlimits:\n  max_query_chars: {query_limit}\n",
    })
    return root / "manifest.yaml"


def bundled_packs_present() -> bool:
    return BUNDLED.is_dir() and any(BUNDLED.rglob("SKILL.md"))


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a `skillsrv` child: this one minus skillsrv settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLSRV_")}
    env.update(extra)
    return env


T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition",
             interval: float = 0.05) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
