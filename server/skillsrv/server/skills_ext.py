"""The MCP skills extension (SEP-2640, `io.modelcontextprotocol/skills`): `skills/list` and
`skills/get`, so hosts that speak it import our skills natively.

Each entry carries the SKILL.md frontmatter verbatim (as JSON) and the sha256 digest and size of
every file of the skill, from the same snapshot `resources/read` serves. A skill whose
frontmatter lacks `name` or `description`, or whose name differs from its folder, breaks the
extension's rules and is not listed (its files stay readable as plain resources).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pydantic_core
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, PaginatedRequestParams, RequestParams

from skillsrv.server.state import SkillEntry, State, skill_uri

IDENTIFIER = "io.modelcontextprotocol/skills"
PAGE_SIZE = 100
TTL_MS = 5_000  # hot reload can change a skill at any moment; ask hosts to re-check soon
CACHE_SCOPE = "private"


class GetSkillParams(RequestParams):
    uri: str


def skill_problem(entry: SkillEntry) -> str | None:
    """Why a skill cannot be published through the extension, or None."""
    front = entry.skill.document.frontmatter
    name, description = front.get("name"), front.get("description")
    if not isinstance(name, str) or not isinstance(description, str) or not description.strip():
        return "its SKILL.md frontmatter needs a 'name' and a 'description'"
    if name != entry.skill.name:
        return f"its frontmatter name '{name}' differs from the skill name '{entry.skill.name}'"
    return None


def skill_json(entry: SkillEntry) -> dict[str, Any]:
    pack, skill = entry.pack.name, entry.skill.name
    return {
        "uri": entry.uri,
        "frontmatter": pydantic_core.to_jsonable_python(entry.skill.document.frontmatter),
        "resources": [{"uri": skill_uri(pack, skill, f.path), "digest": f.digest, "size": f.size}
                      for f in entry.files],
    }


def _published(state: State) -> list[SkillEntry]:
    return [entry for entry in state.skills.values() if skill_problem(entry) is None]


class SkillsExtension(Extension):
    identifier = IDENTIFIER

    def __init__(self, current_state: Callable[[], State]) -> None:
        self._state = current_state

    def methods(self) -> Sequence[MethodBinding]:
        return (MethodBinding("skills/list", PaginatedRequestParams, self._list),
                MethodBinding("skills/get", GetSkillParams, self._get))

    async def _list(self, ctx: Any, params: PaginatedRequestParams) -> dict[str, Any]:
        entries = _published(self._state())
        start = _cursor(params.cursor, len(entries))
        page = entries[start:start + PAGE_SIZE]
        result: dict[str, Any] = {"resultType": "complete",
                                  "skills": [skill_json(entry) for entry in page],
                                  "ttlMs": TTL_MS, "cacheScope": CACHE_SCOPE}
        if start + PAGE_SIZE < len(entries):
            result["nextCursor"] = str(start + PAGE_SIZE)
        return result

    async def _get(self, ctx: Any, params: GetSkillParams) -> dict[str, Any]:
        state = self._state()
        entry = next((e for e in state.skills.values() if e.uri == params.uri), None)
        if entry is None:
            raise MCPError(code=INVALID_PARAMS,
                           message=f"No skill is served at {params.uri}; skill URIs look like "
                                   "skill://PACK/SKILL/SKILL.md (see skills/list)")
        problem = skill_problem(entry)
        if problem is not None:
            raise MCPError(code=INVALID_PARAMS,
                           message=f"{params.uri} is not published as a skill: {problem}")
        return {"resultType": "complete", "skill": skill_json(entry),
                "ttlMs": TTL_MS, "cacheScope": CACHE_SCOPE}


def _cursor(cursor: str | None, total: int) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or int(cursor) > total:
        raise MCPError(code=INVALID_PARAMS, message=f"invalid cursor {cursor!r}; start again "
                                                    "without one")
    return int(cursor)
