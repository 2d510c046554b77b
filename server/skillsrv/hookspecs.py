"""Hooks a skillsrv plugin can implement. Each receives a `register` callback (as in llm).

A plugin is a module (or object) with functions decorated `@hookimpl`; it may accept fewer
arguments than a hook declares, so hooks can grow new keywords without breaking plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("skillsrv")
hookimpl = pluggy.HookimplMarker("skillsrv")


@hookspec
def register_verifiers(register: Any) -> None:
    """Register model verifiers: call register(verifier) for each (see plugins.Verifier)."""
