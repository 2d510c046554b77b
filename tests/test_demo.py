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
