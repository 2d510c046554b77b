"""`skillsrv demo`: the main job end to end, through a real MCP round trip.

It starts `skillsrv serve` as a stdio subprocess (exactly what Claude Code or Claude Desktop
run), connects with the MCP client, and does what an assistant would: route each question,
ask what `clarify` returns, and read the sheet the route names.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio

from skillsrv.cli.route import render as render_decision
from skillsrv.routing.models import RouteDecision

DEMO_QUERIES = (
    "I have about 8k labelled 64x64 images of skin lesions in 7 classes and the model has to "
    "run on a phone in under 50 ms. Should I use a ViT or a ResNet?",
    "what's the best neural network?",
    "my loss goes NaN after a few hundred steps",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="answer real queries through the MCP server",
                                   description="Start `skillsrv serve`, connect as an MCP client "
                                               "and answer real queries end to end.")
    parser.add_argument("query", nargs="*", help="your own queries (default: three examples)")
    parser.add_argument("--manifest", default=None, help="manifest.yaml for the server")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return anyio.run(_demo, list(args.query) or list(DEMO_QUERIES), args.manifest)


async def _demo(queries: list[str], manifest: str | None) -> int:
    from mcp import StdioServerParameters
    from mcp.client import Client

    server_args = ["-m", "skillsrv", "serve"] + (["--manifest", manifest] if manifest else [])
    params = StdioServerParameters(command=sys.executable, args=server_args,
                                   env=dict(os.environ))
    async with Client(params) as client:
        tools = await client.list_tools()
        packs = await client.call_tool("list_packs", {})
        print(f"== connected to `skillsrv serve` over stdio (MCP {client.protocol_version}) ==")
        print("tools: " + ", ".join(tool.name for tool in tools.tools))
        for pack in _structured(packs)["packs"]:
            for skill in pack["skills"]:
                print(f"pack {pack['name']}: skill {skill['name']} with "
                      f"{len(skill['sheets'])} sheets")
        scaffolded = False
        for query in queries:
            print(f"\n== route_query: {query!r} ==")
            decision = RouteDecision.model_validate(_structured(
                await client.call_tool("route_query", {"query": query})))
            print(render_decision(decision))
            if decision.decision.value == "route" and decision.routes:
                best = decision.routes[0]
                page = _structured(await client.call_tool("read_sheet", {
                    "pack": best.pack, "skill": best.skill, "sheet": best.sheet}))
                print(f"-- read_sheet {best.pack}/{best.skill}/{best.sheet or 'SKILL.md'}: "
                      f"{page.get('title')!r}, {page.get('total_chars')} characters")
                if not scaffolded:
                    scaffolded = True
                    await _scaffold(client, query)
    return 0


async def _scaffold(client: Any, query: str) -> None:
    """Scaffold and verify a model for the query, as the server's instructions ask."""
    print(f"\n== scaffold_model: {query!r} ==")
    result = _structured(await client.call_tool("scaffold_model",
                                                {"query": query, "budget": "8GB"}))
    print(f"blueprint: {result['blueprint']}")
    print("config: " + ", ".join(f"{k}={v}" for k, v in result["config"].items()))
    for line in result["rationale"]:
        print(f"  - {line}")
    print(f"code: {len(result['code'].splitlines())} lines, verified before it was returned")


def _structured(result: Any) -> dict[str, Any]:
    if getattr(result, "is_error", False):
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(f"skillsrv demo: the server answered with an error: {text}")
    data: dict[str, Any] = result.structured_content or {}
    return data
