"""`skillsrv serve --http` on 127.0.0.1: many concurrent clients, both protocol eras."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp.client import Client

from server_helpers import PACK, SKILLSRV, child_env, free_port, wait_for, write_demo_pack

pytestmark = pytest.mark.anyio

CLIENTS = 20
QUERIES = ["Which CNN for 5000 photos of birds?", "text classification of 2M reviews",
           "help me pick a model"]


def healthz(base: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except OSError:
        return None


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("http")
    manifest = write_demo_pack(tmp_path)
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([SKILLSRV, "serve", "--http", "--port", str(port),
                                "--manifest", str(manifest)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               env=child_env())
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthz(base) or process.poll() is not None, what="the HTTP server")
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


async def test_twenty_concurrent_clients_all_get_routes(http_server: str) -> None:
    answers: list[str] = []

    async def one_client(number: int) -> None:
        mode = "legacy" if number % 2 else "auto"
        async with Client(http_server + "/mcp", mode=mode) as client:
            for query in QUERIES:
                result = await client.call_tool("route_query", {"query": query})
                assert not result.is_error, result.content
                answers.append(result.structured_content["decision"])

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for number in range(CLIENTS):
                group.start_soon(one_client, number)
    assert len(answers) == CLIENTS * len(QUERIES)
    assert answers.count("route") >= CLIENTS * 2


async def test_http_serves_resources_prompts_and_errors_then_keeps_serving(
        http_server: str) -> None:
    async with Client(http_server + "/mcp") as client:
        bad = await client.call_tool("route_query", {"query": "x" * 10_000})
        resource = await client.read_resource(f"skill://{PACK}/router/transformer.md")
        prompt = await client.get_prompt(PACK)
        good = await client.call_tool("list_packs", {})
    assert bad.is_error
    assert "Transformers" in resource.contents[0].text  # type: ignore[union-attr]
    assert "route_query" in prompt.messages[0].content.text  # type: ignore[union-attr]
    assert good.structured_content["packs"][0]["name"] == PACK


def test_healthz_reports_what_the_server_serves(http_server: str) -> None:
    health = healthz(http_server)
    assert health is not None
    assert health["status"] == "ok" and health["packs"] == [PACK]
    assert health["skills"] == 1 and health["uptime_s"] >= 0 and health["pid"] > 0
