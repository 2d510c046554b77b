"""Hot reload: an edited pack is served without a restart; a broken edit keeps the last good
version and says what broke; clients are told the lists changed."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.session import IncomingMessage

from server_helpers import PACK, ROUTER_MD, SKILL, write_demo_pack
from skillsrv.routing import Router
from skillsrv.server.app import build_server, health
from skillsrv.server.reload import Live
from skillsrv.server.state import SourceConfig

pytestmark = pytest.mark.anyio

POLL = 0.05


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_demo_pack(tmp_path)


def skill_dir(manifest: Path) -> Path:
    return manifest.parent / "packs" / PACK / SKILL


def add_sheet(manifest: Path) -> None:
    folder = skill_dir(manifest)
    (folder / "rnn.md").write_text("# Recurrent networks\n\nUse a GRU for short sequences.\n")
    row = "| Sequences, sensors, audio | [rnn.md](rnn.md) | recurrence |\n"
    (folder / "SKILL.md").write_text(ROUTER_MD.replace("| Very long", row + "| Very long"))


def break_frontmatter(manifest: Path) -> None:
    (skill_dir(manifest) / "SKILL.md").write_text(
        "---\nname: router\ndescription: [unclosed\n---\n\n# Router\n")


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 10.0) -> Any:
    """Poll an async check until it returns something truthy (no fixed sleeps)."""
    with anyio.fail_after(timeout):
        while not (value := await check()):
            await anyio.sleep(POLL)
    return value


# -- the reload policy, without a server ---------------------------------------------------


def test_nothing_is_rebuilt_when_nothing_changed(manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    first = live.state
    assert live.reload_if_changed() is False
    assert live.state is first


def test_an_edit_is_loaded_by_the_next_check(manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    add_sheet(manifest)
    assert live.reload_if_changed() is True
    skill = live.state.catalog.packs[0].skills[0]
    assert "rnn.md" in [sheet.file_name for sheet in skill.sheets]
    assert live.state.generation == 2 and live.failure is None
    assert live.state.router.route("GRU for sensor sequences").routes[0].sheet == "rnn.md"


def test_a_broken_edit_keeps_the_last_good_version_until_it_is_fixed(
        manifest: Path, caplog: pytest.LogCaptureFixture) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    good = live.state
    break_frontmatter(manifest)
    assert live.reload_if_changed() is False
    assert live.state is good
    assert live.failure is not None and "last good version" in live.failure.message
    assert [p.code for p in live.failure.problems] == ["frontmatter-invalid"]
    assert "frontmatter-invalid" in caplog.text  # the log says what broke
    assert live.reload_if_changed() is False  # reported once, not on every poll
    add_sheet(manifest)  # fixed (and improved)
    assert live.reload_if_changed() is True
    assert live.failure is None and live.state.generation == 2


def test_a_file_caught_half_saved_and_empty_is_not_served_and_its_save_is(
        manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    good = live.state
    skill_md = skill_dir(manifest) / "SKILL.md"
    skill_md.write_text("")  # an editor saving in place: truncated, then written
    assert live.reload_if_changed() is False
    assert live.state is good
    assert live.failure is not None
    [problem] = live.failure.problems
    assert problem.code == "file-emptied" and problem.path.endswith("SKILL.md")
    add_sheet(manifest)  # the save lands
    assert live.reload_if_changed() is True
    assert live.failure is None
    assert "rnn.md" in [s.file_name for s in live.state.catalog.packs[0].skills[0].sheets]


def test_a_broken_manifest_keeps_the_last_good_version(manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    good = live.state
    manifest.write_text("packs: [packs]\nlimits: {max_query_chars: -5}\n")
    assert live.reload_if_changed() is False
    assert live.state is good
    assert live.failure is not None and "max_query_chars" in live.failure.message


def test_an_edit_made_while_a_reload_reads_the_files_is_read_again_before_it_is_served(
        manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skillsrv.server import reload as reload_code

    live = Live(SourceConfig(manifest_path=manifest))
    first = live.state
    real = reload_code.build_state

    def and_an_edit_meanwhile(*args: Any, **kwargs: Any) -> Any:
        built = real(*args, **kwargs)
        add_sheet(manifest)  # lands after the files were read, before the swap
        return built

    monkeypatch.setattr(reload_code, "build_state", and_an_edit_meanwhile)
    (skill_dir(manifest) / "scripts" / "check.py").write_text("print('edited')\n")
    assert live.reload_if_changed() is False and live.state is first
    monkeypatch.setattr(reload_code, "build_state", real)
    assert live.reload_if_changed() is True
    entry = live.state.entry(PACK, SKILL)
    assert entry is not None
    served = entry.file("SKILL.md")
    assert served is not None and "rnn.md" in (served.text() or "")
    assert "rnn.md" in [sheet.file_name for sheet in live.state.catalog.packs[0].skills[0].sheets]


def test_a_deleted_sheet_is_an_ordinary_change(manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    (skill_dir(manifest) / "scripts" / "check.py").unlink()
    assert live.reload_if_changed() is True
    entry = live.state.entry(PACK, SKILL)
    assert entry is not None and entry.file("scripts/check.py") is None


# -- through a client ----------------------------------------------------------------------


def test_an_edit_is_served_already_warmed_up(manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    add_sheet(manifest)
    assert live.reload_if_changed() is True
    assert live.state.router.warmed


@pytest.mark.parametrize(("step", "logged"), [
    ("warm_up", "warming the router up failed"),
    ("complete", "completing the routing index failed")])
def test_a_failing_warm_up_or_completion_is_logged_and_the_state_is_served_as_it_is(
        manifest: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        step: str, logged: str) -> None:
    def broken(self: Router) -> None:
        raise RuntimeError("no model")

    monkeypatch.setattr(Router, step, broken)
    live = Live(SourceConfig(manifest_path=manifest))
    with caplog.at_level(logging.ERROR, logger="skillsrv.reload"):
        live.warm_up()
    assert live.warmed.is_set() and live.completed.is_set() and logged in caplog.text
    assert live.state.router.route("CNN for 5000 photos").routes


def _is_complete(router: Router) -> bool:
    index = router.index
    return ("section_words" in index.__dict__
            and len(index.meaning_vectors) == len(index.candidates))


def test_a_fresh_index_is_completed_after_warm_up_and_after_each_edit(
        manifest: Path, cache_folder: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    assert not _is_complete(live.state.router)  # built just now: completed as queries go
    assert not health(live)["index_complete"]
    live.warm_up()
    assert live.state.router.warmed and _is_complete(live.state.router)
    assert live.completed.is_set() and health(live)["index_complete"]
    add_sheet(manifest)
    assert live.reload_if_changed() is True
    assert not _is_complete(live.state.router)  # swapped in first, completed after
    live.complete()
    assert _is_complete(live.state.router)
    assert live.state.router.route("GRU for sensor sequences").routes[0].sheet == "rnn.md"


async def test_a_server_warms_its_router_up_in_the_background_once_it_starts(
        manifest: Path) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    assert not health(live)["warm"]
    server = build_server(live=live, watch_sources=False)
    async with Client(server) as client:
        assert await anyio.to_thread.run_sync(live.warmed.wait, 60)
        assert health(live)["warm"] and live.state.router.warmed
        assert gc.get_freeze_count() > 0  # what was loaded is out of the collector's way
        route = await client.call_tool("route_query", {"query": "CNN for 5000 photos"})
        assert not route.is_error
        assert await anyio.to_thread.run_sync(live.completed.wait, 60)
        assert health(live)["index_complete"] and _is_complete(live.state.router)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_edited_pack_is_served_and_a_broken_edit_is_listed_not_served(
        manifest: Path, mode: str) -> None:
    live = Live(SourceConfig(manifest_path=manifest))
    server = build_server(live=live, poll_interval=POLL)
    async with Client(server, mode=mode) as client:

        async def sheets() -> list[str]:
            packs = (await client.call_tool("list_packs", {})).structured_content
            return packs["packs"][0]["skills"][0]["sheets"]

        add_sheet(manifest)
        await until(lambda: _contains(sheets(), "rnn.md"), "the new sheet")

        async def completed() -> bool:
            return live.state.router.completed

        await until(completed, "the new state's index completed")
        page = await client.call_tool("read_sheet", {"pack": PACK, "skill": SKILL,
                                                     "sheet": "rnn.md"})
        assert "GRU" in page.structured_content["text"]
        resources = [r.uri for r in (await client.list_resources()).resources]
        assert f"skill://{PACK}/{SKILL}/rnn.md" in resources

        break_frontmatter(manifest)

        async def reload_error() -> dict[str, Any] | None:
            packs = (await client.call_tool("list_packs", {})).structured_content
            return packs["reload_error"]

        error = await until(reload_error, "the reload error")
        assert error["problems"][0]["code"] == "frontmatter-invalid"
        assert "SKILL.md" in error["problems"][0]["where"]
        skill_md = await client.call_tool("read_sheet", {"pack": PACK, "skill": SKILL})
        assert "rnn.md" in skill_md.structured_content["text"]
        route = await client.call_tool("route_query", {"query": "CNN for 5000 photos"})
        assert not route.is_error


async def test_legacy_clients_get_list_changed_notifications(manifest: Path) -> None:
    server = build_server(SourceConfig(manifest_path=manifest), poll_interval=POLL)
    methods: list[str] = []

    async def on_message(message: IncomingMessage) -> None:
        methods.append(getattr(message, "method", ""))

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        capabilities = client.server_capabilities
        assert capabilities.resources and capabilities.resources.list_changed
        assert capabilities.prompts and capabilities.prompts.list_changed
        await client.list_resources()
        add_sheet(manifest)

        async def notified() -> bool:
            return {"notifications/resources/list_changed",
                    "notifications/prompts/list_changed"} <= set(methods)

        await until(notified, "list_changed notifications")


async def test_2026_clients_hear_of_changes_through_subscriptions_listen(manifest: Path) -> None:
    server = build_server(SourceConfig(manifest_path=manifest), poll_interval=POLL)
    async with Client(server) as client, client.listen(resources_list_changed=True,
                                                       prompts_list_changed=True) as events:
        add_sheet(manifest)
        with anyio.fail_after(10):
            event = await events.__anext__()
        assert type(event).__name__ in ("ResourcesListChanged", "PromptsListChanged")


async def _contains(values: Awaitable[list[str]], item: str) -> bool:
    return item in await values
