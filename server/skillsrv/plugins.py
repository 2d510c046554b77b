"""The plugin manager: built-in plugins and the `skillsrv.plugins` entry points, loaded once.

Built-ins are registered through the same hooks third-party plugins use. `disabled` (from
manifest.yaml's `plugins.disabled`) and the SKILLSRV_PLUGINS environment variable (a
comma-separated list of names to load; empty loads none) narrow what is loaded. A plugin that
fails to import, to validate against the hook specifications, or to register is recorded as a
PluginInfo with its error and logged as a warning: never a crash.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import pluggy
from pydantic import BaseModel

from skillsrv import hookspecs
from skillsrv.errors import NotFoundError

ENTRY_POINT_GROUP = "skillsrv.plugins"
ENV_VAR = "SKILLSRV_PLUGINS"
BUILTIN_PLUGINS: tuple[str, ...] = ("skillsrv_torch_verifier",)
log = logging.getLogger("skillsrv.plugins")


@runtime_checkable
class Verifier(Protocol):
    """What `register_verifiers` registers: a named verify(code, options, progress=...)."""

    name: str
    description: str

    def verify(self, code: str, options: Any, *,
               progress: Callable[[float, str], None] | None = None,
               filename: str = "model.py") -> Any: ...


class PluginInfo(BaseModel):
    name: str
    module: str
    enabled: bool
    error: str | None = None
    builtin: bool = False
    disabled_by: str | None = None  # "manifest" or "SKILLSRV_PLUGINS" when not loaded
    hooks: list[str] = []


def plugin_name(module: str) -> str:
    """The name a built-in module is listed under: skillsrv_torch_verifier -> torch_verifier."""
    return module.removeprefix("skillsrv_")


class PluginManager:
    """Loads plugins once (on first use) and collects what they register."""

    def __init__(self, *, builtins: Iterable[str] = BUILTIN_PLUGINS, entry_points: bool = True,
                 disabled: Iterable[str] = (), env: str | None = None) -> None:
        self._builtins = list(builtins)
        self._entry_points = entry_points
        self._disabled = set(disabled)
        self._env = os.environ.get(ENV_VAR) if env is None else env
        self.pm = pluggy.PluginManager("skillsrv")
        self.pm.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        self._verifiers: dict[str, Verifier] | None = None
        self._loaded = False
        self._lock = threading.RLock()

    # -- loading
    def _wanted(self, name: str) -> str | None:
        """Why `name` is not loaded, or None when it is."""
        if name in self._disabled:
            return "manifest"
        if self._env is not None:
            allowed = {n.strip() for n in self._env.split(",") if n.strip()}
            if name not in allowed:
                return ENV_VAR
        return None

    def _candidates(self) -> list[tuple[str, str, Callable[[], Any], bool]]:
        found = [(plugin_name(m), m, _importer(m), True) for m in self._builtins]
        if self._entry_points:
            modules = set(self._builtins)
            for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                if ep.value in modules or any(ep.name == name for name, *_ in found):
                    continue  # a built-in that is also installed: loaded once
                found.append((ep.name, ep.value, ep.load, False))
        return found

    def load(self) -> PluginManager:
        with self._lock:
            if self._loaded:
                return self
            self._loaded = True
            for name, module, loader, builtin in self._candidates():
                reason = self._wanted(name)
                info = PluginInfo(name=name, module=module, enabled=False, builtin=builtin,
                                  disabled_by=reason)
                self.infos.append(info)
                if reason:
                    continue
                try:
                    plugin = loader()
                    self.pm.register(plugin, name=name)
                except Exception as exc:
                    info.error = f"{type(exc).__name__}: {exc}"
                    log.warning("plugin %s (%s) failed to load: %s", name, module, info.error)
                    continue
                try:
                    self.pm.check_pending()  # a misspelled hook name fails here
                except pluggy.PluginValidationError as exc:
                    self.pm.unregister(name=name)
                    info.error = f"PluginValidationError: {exc}"
                    log.warning("plugin %s (%s) is invalid: %s", name, module, info.error)
                    continue
                info.enabled = True
                info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            return self

    # -- what plugins register
    def verifiers(self) -> dict[str, Verifier]:
        """Every registered verifier by name; a plugin whose hook raises becomes a warning."""
        with self._lock:
            if self._verifiers is not None:
                return self._verifiers
            self.load()
            found: dict[str, Verifier] = {}
            infos = {info.name: info for info in self.infos}
            for impl in self.pm.hook.register_verifiers.get_hookimpls():
                info = infos.get(impl.plugin_name)

                def register(verifier: Verifier, _plugin: str = impl.plugin_name) -> None:
                    if not isinstance(verifier, Verifier):
                        raise TypeError(f"{verifier!r} is not a Verifier (name, description, "
                                        "verify)")
                    if verifier.name in found:
                        raise ValueError(f"a verifier named {verifier.name!r} is already "
                                         "registered")
                    found[verifier.name] = verifier

                offered = {"register": register}
                try:  # a plugin may take fewer arguments than the hook offers
                    impl.function(**{arg: offered[arg] for arg in impl.argnames
                                     if arg in offered})
                except Exception as exc:
                    error = f"register_verifiers failed: {type(exc).__name__}: {exc}"
                    log.warning("plugin %s: %s", impl.plugin_name, error)
                    if info is not None:
                        info.error = error
            self._verifiers = found
            return found

    def get_verifier(self, name: str = "torch") -> Verifier:
        verifiers = self.verifiers()
        if name not in verifiers:
            disabled = [i.name for i in self.infos if not i.enabled]
            raise NotFoundError(f"no verifier named {name!r}",
                                hint=("available: " + ", ".join(sorted(verifiers))
                                      if verifiers else "no verifier is loaded")
                                + (f"; not loaded: {', '.join(disabled)}" if disabled else ""))
        return verifiers[name]


def _importer(module: str) -> Callable[[], Any]:
    return lambda: importlib.import_module(module)


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager(disabled: Iterable[str] = ()) -> PluginManager:
    """The process-wide manager, loaded once (the first call's `disabled` wins)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager(disabled=disabled).load()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests; a changed manifest)."""
    global _manager
    with _manager_lock:
        _manager = None
