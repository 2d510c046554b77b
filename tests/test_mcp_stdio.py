"""A real `skillsrv serve` subprocess over stdio, and the client entries `skillsrv config`
prints (which start exactly that)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters
from mcp.client import Client

from server_helpers import PACK, SKILL, SKILLSRV, child_env, write_demo_pack

pytestmark = pytest.mark.anyio


def config_entry(client: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([SKILLSRV, "config", client, *args], capture_output=True, text=True,
                          timeout=30, env=child_env())
    assert done.returncode == 0, done.stderr
    servers: dict[str, Any] = json.loads(done.stdout)["mcpServers"]
    assert list(servers) == ["skillsrv"]
    entry: dict[str, Any] = servers["skillsrv"]
    return entry


async def test_the_claude_code_entry_starts_a_stdio_server_that_answers(tmp_path: Path) -> None:
    manifest = write_demo_pack(tmp_path)
    entry = config_entry("claude-code", "--manifest", str(manifest))
    assert entry["type"] == "stdio"
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).name == "skillsrv"
    params = StdioServerParameters(command=entry["command"], args=entry["args"],
                                   env=child_env())
    async with Client(params) as client:
        assert client.protocol_version == "2026-07-28"
        decision = await client.call_tool("route_query",
                                          {"query": "Which CNN for 5000 photos of birds?"})
        page = await client.call_tool("read_sheet", {"pack": PACK, "skill": SKILL,
                                                     "sheet": "cnn.md"})
        resource = await client.read_resource(f"skill://{PACK}/{SKILL}/cnn.md")
        prompts = await client.list_prompts()
    assert decision.structured_content["routes"][0]["sheet"] == "cnn.md"
    assert page.structured_content["title"] == "CNN families"
    assert "ResNet-18" in resource.contents[0].text  # type: ignore[union-attr]
    assert [p.name for p in prompts.prompts] == [PACK]


async def test_a_legacy_client_gets_the_handshake_and_tool_errors_over_stdio(
        tmp_path: Path) -> None:
    manifest = write_demo_pack(tmp_path)
    params = StdioServerParameters(command=SKILLSRV, args=["serve", "--manifest", str(manifest)],
                                   env=child_env())
    async with Client(params, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        assert client.server_info is not None and client.server_info.name == "skillsrv"
        bad = await client.call_tool("read_sheet", {"pack": "nope", "skill": SKILL})
        good = await client.call_tool("clarify", {"query": "which model should I use?"})
    assert bad.is_error and "no pack 'nope'" in bad.content[0].text  # type: ignore[union-attr]
    assert not good.is_error and good.structured_content["questions"]


def test_the_claude_desktop_entry_runs_the_same_stdio_server(tmp_path: Path) -> None:
    pack = tmp_path / "extra"
    entry = config_entry("claude-desktop", "--pack-path", str(pack), "--only")
    assert set(entry) == {"command", "args"}
    assert entry["args"] == ["serve", "--pack-path", str(pack), "--only"]


def test_stdout_carries_nothing_but_protocol_messages(tmp_path: Path) -> None:
    manifest = write_demo_pack(tmp_path)
    stderr = open(tmp_path / "stderr.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([SKILLSRV, "serve", "--manifest", str(manifest)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                               text=True, env=child_env())
    lines: queue.Queue[str] = queue.Queue()

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "route_query", "arguments": {"query": "CNN for photos"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "read_sheet", "arguments": {"pack": "nope", "skill": "x"}}},
    ]
    try:
        assert process.stdin is not None
        for request in requests:
            process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        seen: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 30
        while len(seen) < 3:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            message = json.loads(line)  # every stdout line is a JSON-RPC message
            assert message["jsonrpc"] == "2.0"
            if "id" in message:
                seen[message["id"]] = message
        process.stdin.close()
        assert process.wait(timeout=20) == 0
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stderr.close()
    assert seen[1]["result"]["serverInfo"]["name"] == "skillsrv"
    assert seen[2]["result"]["structuredContent"]["decision"] == "route"
    assert seen[3]["result"]["isError"] is True
    while not lines.empty():  # whatever came after the answers is protocol too
        assert json.loads(lines.get())["jsonrpc"] == "2.0"
    assert process.stdout is not None
    process.stdout.close()
