"""The README's main command: `skillsrv demo` answers a real query through the MCP server."""

from __future__ import annotations

import subprocess
import sys


def test_demo_routes_a_real_query_through_a_stdio_mcp_server() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skillsrv", "demo",
         "Which CNN for 6,000 photos of birds that must run on a Raspberry Pi?"],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "connected to `skillsrv serve` over stdio" in out
    assert "tools: route_query, clarify, list_packs, read_sheet" in out
    assert "decision: route" in out
    assert "1. neural-architectures/using-neural-architectures/cnn-families-and-selection.md" in out
    assert "-- read_sheet neural-architectures/using-neural-architectures/" \
           "cnn-families-and-selection.md" in out


def test_demo_scaffolds_and_verifies_a_model_for_the_first_routed_question() -> None:
    result = subprocess.run([sys.executable, "-m", "skillsrv", "demo"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("== scaffold_model:", 1)[1]
    assert "blueprint: mobilenet-v2" in section
    assert "num_classes=7" in section and "image_size=64" in section
    assert "verified (" in section and "fits the budget" in section
    # How it ran is said: fake tensors here, a real run only where a GPU measured it.
    assert "target, fake tensors," in section or "target, run on cuda" in section
    assert "decision: clarify" in result.stdout and "decision: redirect" in result.stdout
