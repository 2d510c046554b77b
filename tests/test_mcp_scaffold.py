"""The scaffold_model and verify_model tools through a real in-memory MCP client."""

from __future__ import annotations

import pytest
from mcp.client import Client

from skillsrv.server.app import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_scaffold_model_returns_verified_code_and_reports_progress(mode: str) -> None:
    seen: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, message))

    async with Client(build_server(watch_sources=False), mode=mode) as client:
        result = await client.call_tool(
            "scaffold_model", {"query": "classify 5k 64x64 photos into 4 classes",
                               "budget": "8GB"}, progress_callback=progress)
    assert not result.is_error
    data = result.structured_content
    assert data is not None and data["blueprint"] == "resnet"
    assert data["config"]["num_classes"] == 4 and "def build_model(" in data["code"]
    report = data["verification"]
    assert report["outputs"][0]["shape"] == [8, 4]
    assert report["fit"]["fits"] is True
    assert data["rationale"][-1].startswith("verified (")
    assert seen and seen[-1][0] == pytest.approx(1.0)


async def test_scaffold_model_names_the_parameter_of_a_bad_setting() -> None:
    async with Client(build_server(watch_sources=False)) as client:
        result = await client.call_tool("scaffold_model", {"arch": "vit_b_16",
                                                           "settings": {"num_heads": "7"}})
        after = await client.call_tool("route_query", {"query": "GCN for molecules"})
    assert result.is_error
    assert "num_heads" in result.content[0].text  # type: ignore[union-attr]
    assert not after.is_error


async def test_verify_model_refuses_unsafe_code_and_the_server_keeps_serving() -> None:
    async with Client(build_server(watch_sources=False)) as client:
        refused = await client.call_tool("verify_model", {"code": "import os\nos.system('id')"})
        after = await client.call_tool("list_packs", {})
    assert refused.is_error
    assert "import of 'os' is not allowed" in refused.content[0].text  # type: ignore[union-attr]
    assert not after.is_error
