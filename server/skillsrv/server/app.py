"""The MCP server: four read-only tools, every skill file as a resource, one prompt per router
skill, and the skills extension (SEP-2640).

Thin on purpose: answers come from the served `State` (plain domain code with no MCP imports);
this module only types the inputs, maps domain errors to tool errors, and shapes results.
Resources and prompts are computed from the current state on every request, so a hot reload
changes them without re-registering anything.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import unquote

import anyio
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp.shared.path_security import is_absolute_path
from mcp_types import (
    INVALID_PARAMS,
    GetPromptResult,
    InputRequiredResult,
    PromptArgument,
    PromptMessage,
    TextContent,
    ToolAnnotations,
)
from mcp_types import Prompt as MCPPrompt
from mcp_types import Resource as MCPResource
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import AnyUrl, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skillsrv import __version__
from skillsrv.diagnostics import Diagnostic
from skillsrv.errors import SkillsrvError
from skillsrv.packs import Pack, Skill
from skillsrv.packs.lookup import find_pack, find_skill, near
from skillsrv.routing import ClarifyResult, RouteDecision
from skillsrv.scaffold.api import ScaffoldResult, scaffold
from skillsrv.scaffold.from_query import scaffold_from_query
from skillsrv.server.models import (
    PacksResult,
    PackSummary,
    Problem,
    ReloadError,
    SheetPage,
    SkillSummary,
)
from skillsrv.server.reload import POLL_INTERVAL, Live, watch
from skillsrv.server.skills_ext import SkillsExtension
from skillsrv.server.state import SkillEntry, SourceConfig, State, skill_uri
from skillsrv.verification import verifier_for, verify_options, verify_scaffold
from skillsrv.verify.models import VerificationReport

logger = logging.getLogger("skillsrv.server")

INSTRUCTIONS = """\
Use skillsrv for neural-network architecture questions.
1. Call route_query first, with the user's own words; read the sheet it names with read_sheet,
   and the next route too when its confidence is close (the answer is often second). A
   "scope" warning means no loaded pack covers the question: say so, do not answer from one.
2. Call clarify and ask the user its questions before recommending anything.
3. Scaffold and verify model code (scaffold_model, verify_model) before handing it over."""

PAGE_CHARS = 20_000
MAX_WARNINGS = 50
# Every tool is read-only: scaffold_model and verify_model run code, but in a sandboxed
# worker that can change nothing outside it.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
DtypeName = Literal["fp32", "bf16", "fp16-mixed", "bf16-mixed"]

Query = Annotated[str, Field(description="the user's question, in their words")]


class SkillServer(MCPServer[Live]):
    """`MCPServer` whose resource and prompt lists follow the live (hot-reloaded) state."""

    def __init__(self, live: Live, **kwargs: Any) -> None:
        super().__init__("skillsrv", **kwargs)
        self.live = live

    async def list_resources(self) -> list[MCPResource]:
        return [resource for entry in self.live.state.skills.values()
                for resource in _resources_of(entry)]

    async def read_resource(self, uri: AnyUrl | str, context: Context[Live, Any] | None = None
                            ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        pack, skill, path = parse_skill_uri(str(uri))
        entry = _entry_or_missing(self.live.state, pack, skill, str(uri))
        file = entry.file(path)
        if file is None:
            choices = [f.path for f in entry.files]
            raise ResourceNotFoundError(f"no file '{path}' in skill {pack}/{skill}; "
                                        + _suggest(path, choices))
        text = file.text()
        return [ReadResourceContents(content=text if text is not None else file.data,
                                     mime_type=file.mime_type)]

    async def list_prompts(self) -> list[MCPPrompt]:
        return [MCPPrompt(name=name, title=f"Choose an architecture ({pack.name})",
                          description=_prompt_description(pack, skill),
                          arguments=[PromptArgument(name="question", required=False,
                                                    description="the user's question")])
                for name, (pack, skill) in router_prompts(self.live.state).items()]

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None,
                         context: Context[Live, Any] | None = None
                         ) -> GetPromptResult | InputRequiredResult:
        prompts = router_prompts(self.live.state)
        if name not in prompts:
            raise MCPError(code=INVALID_PARAMS,
                           message=f"no prompt '{name}'; {_suggest(name, list(prompts))}")
        pack, skill = prompts[name]
        question = str((arguments or {}).get("question") or "").strip()
        return GetPromptResult(
            description=_prompt_description(pack, skill),
            messages=[PromptMessage(role="user", content=TextContent(
                type="text", text=prompt_text(pack, skill, question)))])


def build_server(sources: SourceConfig | None = None, *, live: Live | None = None,
                 watch_sources: bool = True, poll_interval: float = POLL_INTERVAL
                 ) -> SkillServer:
    """Load the packs (raising `SkillsrvError` on a bad manifest) and build the server."""
    live = live if live is not None else Live(sources or SourceConfig())
    bus = InMemorySubscriptionBus()
    legacy = _LegacySessions()

    async def announce_reload() -> None:
        await bus.publish(ResourcesListChanged())
        await bus.publish(PromptsListChanged())
        await legacy.notify()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Live]) -> AsyncIterator[Live]:
        async with anyio.create_task_group() as group:
            # Once per process (later sessions' calls return at once); abandoned on shutdown:
            # a server asked to stop does not wait for it.
            group.start_soon(functools.partial(anyio.to_thread.run_sync, live.warm_up,
                                               abandon_on_cancel=True))
            if watch_sources:
                group.start_soon(watch, live, announce_reload, poll_interval)
            try:
                yield live
            finally:
                group.cancel_scope.cancel()

    server = SkillServer(live, version=__version__, instructions=INSTRUCTIONS,
                         lifespan=lifespan, subscriptions=bus,
                         extensions=[SkillsExtension(lambda: live.state)])
    server.middleware.append(legacy)
    _advertise_list_changed(server)
    _register_tools(server)
    _register_template(server)

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> Response:
        return JSONResponse(health(live))

    return server


# -- tools ---------------------------------------------------------------------------------


def _live(ctx: Context[Live, Any]) -> Live:
    return ctx.request_context.lifespan_context


def _register_tools(server: SkillServer) -> None:
    @server.tool(title="Route a question", annotations=READ_ONLY,
                 meta={"anthropic/alwaysLoad": True},
                 description="Route an architecture question to the skill sheet that answers "
                             "it. Call this first. decision=clarify: ask the user the questions "
                             "before recommending.")
    def route_query(query: Query, ctx: Context[Live, Any]) -> RouteDecision:
        try:
            return _live(ctx).state.router.route(query)
        except SkillsrvError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(title="Questions to ask", annotations=READ_ONLY,
                 description="List what to ask the user before recommending; ask, then call "
                             "route_query again with the answers added.")
    def clarify(query: Query, ctx: Context[Live, Any]) -> ClarifyResult:
        try:
            return _live(ctx).state.router.clarify(query)
        except SkillsrvError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(title="List skill packs", annotations=READ_ONLY,
                 description="List loaded packs, their skills and sheets, load warnings and "
                             "reload errors.")
    def list_packs(ctx: Context[Live, Any]) -> PacksResult:
        return packs_result(_live(ctx))

    @server.tool(title="Read a sheet", annotations=READ_ONLY,
                 description="Read a skill's SKILL.md or one of its sheets; long ones come in "
                             "pages (call again with the given offset).")
    def read_sheet(
        pack: Annotated[str, Field(description="pack name, as route_query gives it")],
        skill: Annotated[str, Field(description="skill name")],
        ctx: Context[Live, Any],
        sheet: Annotated[str | None, Field(description="sheet file name; omit for SKILL.md")]
        = None,
        offset: Annotated[int, Field(ge=0, description="from a previous page's next_offset")]
        = 0,
    ) -> SheetPage:
        try:
            return read_page(_live(ctx).state, pack, skill, sheet, offset)
        except SkillsrvError as exc:
            raise ToolError(str(exc)) from None


    @server.tool(title="Scaffold a model", annotations=READ_ONLY,
                 description="Write a PyTorch model for the user's data (a blueprint name, or "
                             "their words) and run it to check shapes, size and memory before "
                             "handing it over.")
    async def scaffold_model(
        ctx: Context[Live, Any],
        arch: Annotated[str | None, Field(description="blueprint or alias, e.g. resnet18")]
        = None,
        query: Annotated[str | None, Field(description="the user's words, when no arch")] = None,
        settings: Annotated[dict[str, str] | None, Field(
            description="config overrides, e.g. {\"num_classes\": \"10\"}")] = None,
        batch_size: Annotated[int, Field(ge=1, description="batch size to verify with")] = 8,
        budget: Annotated[str | None, Field(description="memory budget, e.g. 24GB")] = None,
        dtype: Annotated[DtypeName, Field(description="training precision")] = "fp32",
    ) -> ScaffoldResult:
        state = _live(ctx).state

        def work(progress: Callable[[float, str], None]) -> ScaffoldResult:
            if (arch is None) == (query is None):
                raise SkillsrvError("give arch or query (one of them)")
            if arch is not None:
                result = scaffold(arch, settings or {}, state.blueprints)
            else:
                result = scaffold_from_query(str(query), state.router, state.blueprints,
                                             settings)
            options = verify_options(batch_size=batch_size, budget_bytes=budget, dtype=dtype)
            return verify_scaffold(result, state.manifest, options, progress=progress)

        return await _in_thread(ctx, work)

    @server.tool(title="Verify model code", annotations=READ_ONLY,
                 description="Run PyTorch model code (config dataclass, build_model, "
                             "example_inputs) in a sandbox: shapes, parameters, FLOPs, peak "
                             "memory, fit to a budget.")
    async def verify_model(
        code: Annotated[str, Field(description="the module's source")],
        ctx: Context[Live, Any],
        batch_size: Annotated[int, Field(ge=1)] = 8,
        budget: Annotated[str | None, Field(description="memory budget, e.g. 24GB")] = None,
        dtype: Annotated[DtypeName, Field()] = "fp32",
        optimizer: Annotated[Literal["adamw", "adam", "sgd"], Field()] = "adamw",
        target: Annotated[Literal["auto", "cpu", "cuda"], Field()] = "auto",
    ) -> VerificationReport:
        state = _live(ctx).state

        def work(progress: Callable[[float, str], None]) -> VerificationReport:
            options = verify_options(batch_size=batch_size, budget_bytes=budget, dtype=dtype,
                                     optimizer=optimizer, target=target)
            report: VerificationReport = verifier_for(state.manifest).verify(
                code, options, progress=progress)
            return report

        return await _in_thread(ctx, work)


T = TypeVar("T")


async def _in_thread(ctx: Context[Live, Any], work: Callable[[Callable[[float, str], None]], T]
                     ) -> T:
    """Run blocking work (a verification) off the event loop, relaying its progress to the
    client as MCP progress notifications; domain errors become tool errors."""

    def progress(fraction: float, message: str) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, fraction, 1.0, message)
        except Exception:  # a client that cannot take progress must not fail the call
            logger.debug("progress notification not delivered", exc_info=True)

    try:
        return await anyio.to_thread.run_sync(functools.partial(work, progress))
    except SkillsrvError as exc:
        raise ToolError(str(exc)) from None


def packs_result(live: Live) -> PacksResult:
    state, failure = live.state, live.failure
    diagnostics = state.catalog.all_diagnostics()
    return PacksResult(
        packs=[PackSummary(name=pack.name, description=pack.description, version=pack.version,
                           skills=[SkillSummary(name=skill.name, description=skill.description,
                                                router=skill.is_router,
                                                uri=skill_uri(pack.name, skill.name),
                                                sheets=[s.file_name for s in skill.sheets])
                                   for skill in pack.skills])
               for pack in state.catalog.packs],
        warnings=[_problem(d) for d in diagnostics[:MAX_WARNINGS]],
        warnings_total=len(diagnostics),
        reload_error=None if failure is None else ReloadError(
            message=failure.message, at=_iso(failure.at),
            problems=[_problem(d) for d in failure.problems[:MAX_WARNINGS]]),
        loaded_at=_iso(state.loaded_at))


def read_page(state: State, pack_name: str, skill_name: str, sheet: str | None,
              offset: int) -> SheetPage:
    """One page of a skill document. Raises `SkillsrvError` naming near matches."""
    pack = find_pack(state.catalog, pack_name)
    skill = find_skill(pack, skill_name)
    entry = state.entry(pack.name, skill.name)
    if entry is None:  # pragma: no cover - every loaded skill has an entry
        raise SkillsrvError(f"skill {pack.name}/{skill.name} has no files")
    name = (sheet or "SKILL.md").strip().removeprefix("./")
    if ".." in name.replace("\\", "/").split("/") or is_absolute_path(name):
        raise SkillsrvError(f"sheet '{name}' must name a file inside the skill folder",
                            hint="use a file name such as cnn.md; '..' and absolute paths "
                                 "are not allowed")
    document = skill.document if name in ("SKILL.md", "SKILL") else skill.find_sheet(name)
    path = document.file_name if document is not None else name
    file = entry.file(path) or entry.file(path + ".md")
    if file is None:
        choices = [d.file_name for d in [*skill.sheets, *skill.orphans]] + \
            [f.path for f in entry.files if f.mime_type.startswith("text/")]
        raise SkillsrvError(f"no sheet '{name}' in {pack.name}/{skill.name}",
                            hint=_suggest(name, list(dict.fromkeys(choices))))
    text = file.text()
    uri = skill_uri(pack.name, skill.name, file.path)
    if text is None:
        raise SkillsrvError(f"{file.path} is not a text file", hint=f"read resource {uri}")
    if offset > len(text) or (offset == len(text) and offset > 0):
        raise SkillsrvError(f"offset {offset} is past the end of {file.path} "
                            f"({len(text):,} characters)", hint="start again with offset=0")
    end = _page_end(text, offset)
    next_offset = end if end < len(text) else None
    note = ("end of document" if next_offset is None else
            f"more follows: call read_sheet again with offset={next_offset}")
    return SheetPage(pack=pack.name, skill=skill.name, sheet=file.path,
                     title=document.title if document is not None else None, uri=uri,
                     offset=offset, total_chars=len(text), text=text[offset:end],
                     next_offset=next_offset, note=note,
                     sheets=[s.file_name for s in skill.sheets] if file.path == "SKILL.md"
                     else [])


def _page_end(text: str, offset: int) -> int:
    """End of the page starting at `offset`: about PAGE_CHARS, cut after a line break."""
    end = offset + PAGE_CHARS
    if end >= len(text):
        return len(text)
    cut = text.rfind("\n", end - PAGE_CHARS // 10, end)
    return cut + 1 if cut > offset else end


# -- resources -----------------------------------------------------------------------------


def _register_template(server: SkillServer) -> None:
    # Listed as the pattern of every file; reads go through `SkillServer.read_resource`.
    @server.resource("skill://{pack}/{skill}/{+path}", name="skill-file", title="Skill file",
                     description="A file of a skill: SKILL.md, a sheet, or a supporting file.",
                     mime_type="text/markdown")
    def skill_file(pack: str, skill: str, path: str) -> str | bytes:
        entry = _entry_or_missing(server.live.state, pack, skill, skill_uri(pack, skill, path))
        file = entry.file(path)
        if file is None:
            raise ResourceNotFoundError(f"no file '{path}' in skill {pack}/{skill}")
        return file.text() or file.data


def parse_skill_uri(uri: str) -> tuple[str, str, str]:
    """`skill://PACK/SKILL/PATH` -> (pack, skill, path); refuses `..` and absolute paths."""
    if not uri.startswith("skill://"):
        raise ResourceNotFoundError(f"unknown resource {uri}: skillsrv serves "
                                    "skill://PACK/SKILL/PATH")
    parts = uri.removeprefix("skill://").split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise ResourceNotFoundError(f"unknown resource {uri}: expected skill://PACK/SKILL/PATH, "
                                    "for example skill://PACK/SKILL/SKILL.md")
    pack, skill, path = (unquote(part) for part in parts)
    segments = [*pack.split("/"), *skill.split("/"), *path.replace("\\", "/").split("/")]
    if ".." in segments or "\x00" in path or is_absolute_path(path) or "/" in pack + skill:
        raise ResourceNotFoundError(f"refused {uri}: '..' and absolute paths are not allowed; "
                                    f"name a file inside the skill, like "
                                    f"skill://{parts[0]}/{parts[1]}/SKILL.md")
    return pack, skill, path


def _entry_or_missing(state: State, pack: str, skill: str, uri: str) -> SkillEntry:
    entry = state.entry(pack, skill)
    if entry is not None:
        return entry
    try:
        find_skill(find_pack(state.catalog, pack), skill)
    except SkillsrvError as exc:
        raise ResourceNotFoundError(f"unknown resource {uri}: {exc}") from None
    raise ResourceNotFoundError(f"unknown resource {uri}")  # pragma: no cover


def _resources_of(entry: SkillEntry) -> list[MCPResource]:
    pack, skill = entry.pack.name, entry.skill.name
    documents = {d.file_name: d for d in entry.skill.documents()}
    resources = []
    for file in entry.files:
        document = documents.get(file.path)
        is_skill_md = file.path == "SKILL.md"
        resources.append(MCPResource(
            uri=skill_uri(pack, skill, file.path),
            name=skill if is_skill_md else f"{skill}/{file.path}",
            title=document.title if document is not None else None,
            description=(entry.skill.description if is_skill_md else
                         (document.description if document is not None else None)) or None,
            mime_type=file.mime_type, size=file.size))
    return resources


# -- prompts -------------------------------------------------------------------------------


def router_prompts(state: State) -> dict[str, tuple[Pack, Skill]]:
    """One prompt per router skill, named after its pack (`pack-skill` for a second router)."""
    prompts: dict[str, tuple[Pack, Skill]] = {}
    for pack in state.catalog.packs:
        routers = sorted((s for s in pack.skills if s.is_router),
                         key=lambda s: s.name != pack.name)
        for skill in routers:
            name = pack.name if pack.name not in prompts else f"{pack.name}-{skill.name}"
            prompts.setdefault(name, (pack, skill))
    return prompts


def _prompt_description(pack: Pack, skill: Skill) -> str:
    about = skill.description or pack.description
    text = f"Choose a neural-network architecture with the {pack.name} skill pack"
    return f"{text}: {about[:200]}" if about else text


def prompt_text(pack: Pack, skill: Skill, question: str) -> str:
    ask = (f"The user's question:\n\n{question}" if question else
           "Start by asking the user what they are building.")
    return f"""\
Help the user choose and build a neural-network architecture with the '{pack.name}' skill pack \
(router skill '{skill.name}', {skill_uri(pack.name, skill.name)}).

1. Call route_query with the user's question, then clarify.
2. Ask the user every question clarify returns before recommending anything.
3. Read the sheet route_query names with read_sheet (pack, skill, sheet) and base your answer \
on it, citing the sheet.
4. Scaffold and verify the model before handing code to the user.

{ask}"""


# -- change notifications ------------------------------------------------------------------


class _LegacySessions:
    """Middleware remembering handshake-era connections, to tell them the lists changed.

    2026-07-28 clients hear about changes through `subscriptions/listen` (the bus); on the
    legacy protocol `notifications/*/list_changed` go out on each connection's standalone
    channel. The SDK builds a fresh `ServerSession` per request and exposes the long-lived
    `Connection` only privately, so it is read defensively: without it, legacy clients simply
    get no notification (they still see the change on their next list call).
    """

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = getattr(ctx.session, "_connection", None)
            if connection is not None and hasattr(connection, "send_resource_list_changed"):
                self._connections.add(connection)
        return await call_next(ctx)

    async def notify(self) -> None:
        for connection in list(self._connections):
            try:  # best effort: a closed connection drops the notification
                await connection.send_resource_list_changed()
                await connection.send_prompt_list_changed()
            except Exception:
                self._connections.discard(connection)


def _advertise_list_changed(server: SkillServer) -> None:
    """Declare `listChanged` for resources and prompts on handshake-era connections too.

    The SDK derives the 2026-07-28 flags from `subscriptions/listen` being served, but builds
    the legacy `initialize` capabilities with default (false) notification options and has no
    public setting for them, so the default options are bound here.
    """
    lowlevel = server._lowlevel_server
    original = lowlevel.create_initialization_options
    options = NotificationOptions(prompts_changed=True, resources_changed=True)

    def create_initialization_options(notification_options: NotificationOptions | None = None,
                                      *args: Any, **kwargs: Any) -> Any:
        return original(notification_options or options, *args, **kwargs)

    setattr(lowlevel, "create_initialization_options", create_initialization_options)  # noqa: B010


# -- health --------------------------------------------------------------------------------


def health(live: Live) -> dict[str, Any]:
    state = live.state
    return {
        "status": "ok", "name": "skillsrv", "version": __version__, "pid": os.getpid(),
        "started_at": _iso(live.started_at), "uptime_s": round(time.time() - live.started_at, 1),
        "loaded_at": _iso(state.loaded_at), "generation": state.generation,
        "packs": [pack.name for pack in state.catalog.packs],
        "skills": sum(len(pack.skills) for pack in state.catalog.packs),
        "warnings": len(state.catalog.all_diagnostics()),
        "warm": state.router.warmed,  # false for the first moment after start-up
        # False for a few seconds after a fresh build of a large catalog: until then the
        # first queries to reach a document score and embed it themselves.
        "index_complete": state.router.completed,
        "reload_error": live.failure.message if live.failure else None,
    }


# -- helpers -------------------------------------------------------------------------------


def _suggest(name: str, choices: list[str]) -> str:
    close = near(name, choices)
    if close:
        return f"did you mean {', '.join(close)}?"
    return f"available: {', '.join(choices[:12]) or 'none'}"


def _problem(diagnostic: Diagnostic) -> Problem:
    where = f"{diagnostic.path}:{diagnostic.line}" if diagnostic.line else diagnostic.path
    return Problem(where=where, severity=diagnostic.severity.value, code=diagnostic.code,
                   message=diagnostic.message)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
