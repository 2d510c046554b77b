"""The MCP surface through a real client connected in memory, on both protocol eras."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import MCPError
from mcp.client import Client
from mcp_types import INVALID_PARAMS, PaginatedRequestParams, Request
from pydantic import BaseModel, ConfigDict

from server_helpers import (
    LONG_SHEET_CHARS,
    PACK,
    QUERY_LIMIT,
    ROUTER_MD,
    SKILL,
    bundled_packs_present,
    write_demo_pack,
)
from skillsrv.server.app import INSTRUCTIONS, SkillServer, build_server
from skillsrv.server.skills_ext import IDENTIFIER, GetSkillParams
from skillsrv.server.state import SourceConfig

pytestmark = pytest.mark.anyio

TOOLS = {"route_query", "clarify", "list_packs", "read_sheet", "scaffold_model", "verify_model"}


class Raw(BaseModel):
    """Any JSON-RPC result, fields kept as sent."""

    model_config = ConfigDict(extra="allow")


class ListSkillsRequest(Request[PaginatedRequestParams, str]):
    method: str = "skills/list"
    params: PaginatedRequestParams = PaginatedRequestParams()


class GetSkillRequest(Request[GetSkillParams, str]):
    method: str = "skills/get"


@pytest.fixture
def server(tmp_path: Path) -> SkillServer:
    return build_server(SourceConfig(manifest_path=write_demo_pack(tmp_path)),
                        watch_sources=False)


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def uri(path: str) -> str:
    return f"skill://{PACK}/{SKILL}/{path}"


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_of(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def assert_still_serving(client: Client) -> None:
    decision = await call(client, "route_query", query="which CNN for 5000 photos?")
    assert decision["routes"][0]["sheet"] == "cnn.md"


# -- tools ---------------------------------------------------------------------------------


async def test_both_eras_list_six_side_effect_free_tools_with_route_query_always_loaded(
        server: SkillServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.output_schema is not None  # pydantic results: structured output
        assert tool.description and len(tool.description) < 300
        assert "\n" not in tool.description and "  " not in tool.description
    assert tools["route_query"].meta == {"anthropic/alwaysLoad": True}
    # Flat, LLM-friendly parameters: no nested models.
    assert set(tools["read_sheet"].input_schema["properties"]) == {"pack", "skill", "sheet",
                                                                   "offset"}
    assert tools["read_sheet"].input_schema["required"] == ["pack", "skill"]


async def test_the_tool_catalog_has_under_two_kilobytes_of_descriptions(
        server: SkillServer) -> None:
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    described = sum(len(tool.description or "") + len(tool.title or "") +
                    sum(len(p.get("description", "")) for p in tool.input_schema["properties"]
                        .values())
                    for tool in tools)
    assert described < 2048, f"{described} characters of tool descriptions"


async def test_instructions_say_route_first_ask_clarify_questions_then_scaffold_and_verify(
        server: SkillServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        instructions = client.instructions or ""
    assert instructions == INSTRUCTIONS
    assert len(instructions) < 500
    assert instructions.index("route_query") < instructions.index("clarify") \
        < instructions.index("verify")


async def test_route_query_names_the_sheet_with_evidence(server: SkillServer,
                                                         mode: str) -> None:
    async with Client(server, mode=mode) as client:
        decision = await call(client, "route_query",
                              query="I have 5000 photos of skin lesions, which CNN?")
        text = (await client.call_tool("route_query", {"query": "text classification of "
                                                                "reviews"})).content[0]
    assert decision["decision"] == "route"
    best = decision["routes"][0]
    assert (best["pack"], best["skill"], best["sheet"]) == (PACK, SKILL, "cnn.md")
    assert best["evidence"]
    assert decision["known"]["dataset_size"]["value"] == 5000
    assert json.loads(text.text)["routes"][0]["sheet"] == "transformer.md"  # type: ignore[union-attr]


async def test_clarify_returns_the_questions_to_ask_before_recommending(
        server: SkillServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        result = await call(client, "clarify", query="help me pick a model")
    questions = [q["question"] for q in result["questions"]]
    assert "How many labelled examples do you have?" in questions
    assert all(q["why"] for q in result["questions"])


async def test_list_packs_shows_skills_sheets_and_no_warnings(server: SkillServer,
                                                              mode: str) -> None:
    async with Client(server, mode=mode) as client:
        packs = await call(client, "list_packs")
    [pack] = packs["packs"]
    [skill] = pack["skills"]
    assert pack["name"] == PACK
    assert skill["router"] is True
    assert skill["uri"] == uri("SKILL.md")
    assert skill["sheets"] == ["cnn.md", "transformer.md", "long.md"]
    assert packs["warnings"] == [] and packs["reload_error"] is None


async def test_read_sheet_returns_skill_md_when_no_sheet_is_named(server: SkillServer,
                                                                  mode: str) -> None:
    async with Client(server, mode=mode) as client:
        page = await call(client, "read_sheet", pack=PACK, skill=SKILL)
        by_stem = await call(client, "read_sheet", pack=PACK, skill=SKILL, sheet="cnn")
    assert page["text"] == ROUTER_MD and page["next_offset"] is None
    assert page["sheets"] == ["cnn.md", "transformer.md", "long.md"]
    assert by_stem["sheet"] == "cnn.md" and by_stem["title"] == "CNN families"


async def test_read_sheet_pages_long_documents_and_says_call_again_with_offset(
        server: SkillServer, mode: str) -> None:
    pages = []
    async with Client(server, mode=mode) as client:
        offset: int | None = 0
        while offset is not None:
            page = await call(client, "read_sheet", pack=PACK, skill=SKILL, sheet="long.md",
                              offset=offset)
            pages.append(page)
            offset = page["next_offset"]
            if offset is not None:
                assert f"offset={offset}" in page["note"]
    assert len(pages) == 3
    assert all(len(page["text"]) <= 20_000 for page in pages)
    text = "".join(page["text"] for page in pages)
    assert len(text) == pages[0]["total_chars"] >= LONG_SHEET_CHARS
    assert pages[0]["text"].endswith("\n")  # pages break at line ends
    assert pages[-1]["note"] == "end of document"


# -- resources and prompts -----------------------------------------------------------------


async def test_every_skill_file_is_a_listed_readable_resource(server: SkillServer,
                                                              mode: str) -> None:
    async with Client(server, mode=mode) as client:
        resources = {r.uri: r for r in (await client.list_resources()).resources}
        skill_md = (await client.read_resource(uri("SKILL.md"))).contents[0]
        script = (await client.read_resource(uri("scripts/check.py"))).contents[0]
    assert set(resources) == {uri(p) for p in ("SKILL.md", "cnn.md", "transformer.md",
                                                "long.md", "scripts/check.py")}
    assert resources[uri("SKILL.md")].mime_type == "text/markdown"
    assert resources[uri("SKILL.md")].name == SKILL
    assert (resources[uri("SKILL.md")].description or "").startswith("Route neural-network")
    assert skill_md.text == ROUTER_MD  # type: ignore[union-attr]
    assert script.mime_type == "text/x-python"


async def test_a_resource_template_describes_the_skill_file_pattern(server: SkillServer,
                                                                    mode: str) -> None:
    async with Client(server, mode=mode) as client:
        templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["skill://{pack}/{skill}/{+path}"]


async def test_each_router_skill_has_a_prompt_named_after_its_pack(server: SkillServer,
                                                                   mode: str) -> None:
    async with Client(server, mode=mode) as client:
        prompts = (await client.list_prompts()).prompts
        prompt = await client.get_prompt(PACK, {"question": "Which model for 10k X-rays?"})
    assert [p.name for p in prompts] == [PACK]
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert text.index("route_query") < text.index("clarify")
    assert "Which model for 10k X-rays?" in text


async def test_an_unknown_prompt_is_invalid_params_naming_near_matches(
        server: SkillServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.get_prompt("demo-pak")
        await assert_still_serving(client)
    assert raised.value.code == INVALID_PARAMS
    assert "did you mean demo-pack" in raised.value.message


# -- the skills extension ------------------------------------------------------------------


async def test_the_skills_extension_is_advertised_on_the_2026_protocol(
        server: SkillServer) -> None:
    async with Client(server) as client:
        assert IDENTIFIER in (client.server_capabilities.extensions or {})


async def test_skills_list_gives_verbatim_frontmatter_and_every_files_digest(
        server: SkillServer, tmp_path: Path, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        listing = (await client.session.send_request(ListSkillsRequest(), Raw)).model_dump()
        got = (await client.session.send_request(
            GetSkillRequest(params=GetSkillParams(uri=uri("SKILL.md"))), Raw)).model_dump()
    assert listing["resultType"] == "complete"
    assert listing["cacheScope"] in ("public", "private") and listing["ttlMs"] >= 0
    [skill] = listing["skills"]
    assert got["skill"] == skill and got["resultType"] == "complete"
    assert skill["uri"] == uri("SKILL.md")
    assert skill["frontmatter"] == yaml.safe_load(ROUTER_MD.split("---")[1])
    root = tmp_path / "packs" / PACK / SKILL
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(r["uri"] for r in skill["resources"]) == [uri(f) for f in files]
    for resource in skill["resources"]:
        data = (root / resource["uri"].removeprefix(uri(""))).read_bytes()
        assert resource["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert resource["size"] == len(data)


async def test_skills_get_of_an_unknown_skill_is_invalid_params(server: SkillServer,
                                                                mode: str) -> None:
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.session.send_request(
                GetSkillRequest(params=GetSkillParams(uri=f"skill://{PACK}/nope/SKILL.md")),
                Raw)
        await assert_still_serving(client)
    assert raised.value.code == INVALID_PARAMS == -32602


async def test_skills_list_refuses_a_cursor_it_did_not_issue(server: SkillServer) -> None:
    async with Client(server) as client:
        with pytest.raises(MCPError) as raised:
            await client.session.send_request(
                ListSkillsRequest(params=PaginatedRequestParams(cursor="page-9")), Raw)
    assert raised.value.code == INVALID_PARAMS and "cursor" in raised.value.message


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "expected"), [
    ({"pack": "demo-pak", "skill": SKILL}, "no pack 'demo-pak' (did you mean demo-pack?)"),
    ({"pack": PACK, "skill": "routr"}, "no skill 'routr' in pack 'demo-pack' (did you mean "
                                       "router?)"),
    ({"pack": PACK, "skill": SKILL, "sheet": "cnnn.md"}, "no sheet 'cnnn.md' in "
                                                         "demo-pack/router (did you mean cnn.md"),
    ({"pack": PACK, "skill": SKILL, "sheet": "../../etc/passwd"}, "must name a file inside"),
    ({"pack": PACK, "skill": SKILL, "sheet": "/etc/passwd"}, "must name a file inside"),
    ({"pack": PACK, "skill": SKILL, "sheet": "long.md", "offset": 10**6}, "past the end"),
])
async def test_unknown_names_and_bad_sheets_are_tool_errors_and_serving_goes_on(
        server: SkillServer, mode: str, arguments: dict[str, Any], expected: str) -> None:
    async with Client(server, mode=mode) as client:
        message = await error_of(client, "read_sheet", arguments)
        await assert_still_serving(client)
    assert expected in message


@pytest.mark.parametrize("bad", [
    f"skill://{PACK}/{SKILL}/../../../etc/passwd",
    f"skill://{PACK}/{SKILL}/%2e%2e/%2e%2e/etc/passwd",
    f"skill://{PACK}/{SKILL}//etc/passwd",
    f"skill://{PACK}/../{SKILL}/SKILL.md",
    f"skill://{PACK}/{SKILL}/C:/Windows/win.ini",
])
async def test_dot_dot_and_absolute_resource_paths_are_refused(server: SkillServer, mode: str,
                                                               bad: str) -> None:
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(bad)
        await assert_still_serving(client)
    assert raised.value.code == INVALID_PARAMS
    assert "'..' and absolute paths are not allowed" in raised.value.message


async def test_unknown_resources_name_near_matches(server: SkillServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as missing_file:
            await client.read_resource(uri("cnn.mdx"))
        with pytest.raises(MCPError) as missing_skill:
            await client.read_resource(f"skill://{PACK}/routr/SKILL.md")
    assert "did you mean cnn.md" in missing_file.value.message
    assert "did you mean router" in missing_skill.value.message


async def test_a_query_over_the_size_limit_is_a_clear_tool_error(server: SkillServer,
                                                                 mode: str) -> None:
    async with Client(server, mode=mode) as client:
        for tool in ("route_query", "clarify"):
            message = await error_of(client, tool, {"query": "x" * (QUERY_LIMIT + 1)})
            assert f"the limit is {QUERY_LIMIT}" in message
        assert "the query is empty" in await error_of(client, "route_query", {"query": "  "})
        await assert_still_serving(client)


@pytest.mark.parametrize(("tool", "arguments", "field"), [
    ("route_query", {"query": 42}, "query"),
    ("route_query", {}, "query"),
    ("clarify", {"query": ["a", "list"]}, "query"),
    ("read_sheet", {"pack": PACK, "skill": SKILL, "offset": "ten"}, "offset"),
    ("read_sheet", {"pack": PACK, "skill": SKILL, "offset": -1}, "offset"),
    ("read_sheet", {"pack": {"name": PACK}, "skill": SKILL}, "pack"),
])
async def test_wrong_argument_types_are_tool_errors_naming_the_field(
        server: SkillServer, mode: str, tool: str, arguments: dict[str, Any],
        field: str) -> None:
    async with Client(server, mode=mode) as client:
        message = await error_of(client, tool, arguments)
        await assert_still_serving(client)
    assert "validation error" in message and field in message


# -- start-up weight and the bundled pack --------------------------------------------------


def test_serving_calls_never_imports_torch(tmp_path: Path) -> None:
    manifest = write_demo_pack(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        import anyio
        from mcp.client import Client
        from skillsrv.server.app import build_server
        from skillsrv.server.state import SourceConfig

        async def main():
            server = build_server(SourceConfig(manifest_path={str(manifest)!r}))
            async with Client(server) as client:
                for tool, args in [("route_query", {{"query": "CNN for photos"}}),
                                   ("clarify", {{"query": "a model"}}), ("list_packs", {{}}),
                                   ("read_sheet", {{"pack": {PACK!r}, "skill": {SKILL!r}}})]:
                    assert not (await client.call_tool(tool, args)).is_error
                await client.list_resources()
                await client.list_prompts()
        anyio.run(main)
        assert "torch" not in sys.modules, "the server imported torch"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.skipif(not bundled_packs_present(), reason="no bundled packs in skills/ yet")
async def test_the_bundled_packs_are_served(mode: str) -> None:
    server = build_server(SourceConfig(), watch_sources=False)
    async with Client(server, mode=mode) as client:
        packs = await call(client, "list_packs")
        assert packs["packs"]
        decision = await call(client, "route_query",
                              query="I have 20,000 labelled photos; which CNN should I use?")
        assert decision["decision"] in ("route", "clarify", "redirect")
        assert (await client.list_prompts()).prompts
