"""The MCP layer: the server (`app`), hot reload, transports and the background daemon.

Imports are lazy so `skillsrv.server.daemon` (used by `skillsrv daemon status`) does not pull in
the MCP SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"build_server": "skillsrv.server.app", "Live": "skillsrv.server.reload",
            "SourceConfig": "skillsrv.server.state"}

__all__ = ["Live", "SourceConfig", "build_server"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'skillsrv.server' has no attribute {name!r}")
