"""Plugins load once through pluggy; a broken one is a warning, never a crash."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, write_tree
from skillsrv import hookspecs
from skillsrv.cli import plugins as plugins_cli
from skillsrv.errors import NotFoundError
from skillsrv.plugins import PluginManager

BROKEN = "raise RuntimeError('this plugin is broken')\n"
MISSPELLED = """
from skillsrv.hookspecs import hookimpl

@hookimpl
def register_verifier(register):
    pass
"""
RAISING = """
from skillsrv.hookspecs import hookimpl

@hookimpl
def register_verifiers(register):
    raise ValueError('cannot register today')
"""
FEWER_ARGS = """
from skillsrv.hookspecs import hookimpl

CALLED = []

@hookimpl
def register_verifiers():
    CALLED.append(True)
"""
ECHO = """
from skillsrv.hookspecs import hookimpl

class Echo:
    name = "echo"
    description = "returns the code"

    def verify(self, code, options=None, *, progress=None, filename="model.py"):
        return code

@hookimpl
def register_verifiers(register):
    register(Echo())
"""


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tree(tmp_path, {"broken_plugin.py": BROKEN, "misspelled_plugin.py": MISSPELLED,
                          "raising_plugin.py": RAISING, "fewer_args_plugin.py": FEWER_ARGS,
                          "echo_plugin.py": ECHO})
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("broken_plugin", "misspelled_plugin", "raising_plugin", "fewer_args_plugin",
                 "echo_plugin"):
        sys.modules.pop(name, None)
    return tmp_path


def manager(*modules: str, **kwargs: object) -> PluginManager:
    return PluginManager(builtins=["skillsrv_torch_verifier", *modules], entry_points=False,
                         **kwargs).load()  # type: ignore[arg-type]


def test_the_builtin_torch_verifier_registers_through_the_hook_without_importing_torch() -> None:
    loaded = manager()
    [info] = loaded.infos
    assert info.name == "torch_verifier" and info.enabled and info.builtin
    assert info.hooks == ["register_verifiers"]
    assert loaded.get_verifier("torch").name == "torch"
    # in a fresh interpreter: loading the plugin must not import torch (the workers do)
    probe = ("import sys\nfrom skillsrv.plugins import PluginManager\n"
             "PluginManager(entry_points=False).load().get_verifier('torch')\n"
             "print('torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "server"), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_a_plugin_that_fails_to_import_is_a_warning_not_a_crash(plugin_dir: Path) -> None:
    loaded = manager("broken_plugin", "echo_plugin")
    infos = {i.name: i for i in loaded.infos}
    assert infos["broken_plugin"].enabled is False
    assert infos["broken_plugin"].error == "RuntimeError: this plugin is broken"
    assert sorted(loaded.verifiers()) == ["echo", "torch"]


def test_a_misspelled_hook_is_refused_by_check_pending(plugin_dir: Path) -> None:
    loaded = manager("misspelled_plugin")
    info = loaded.infos[1]
    assert not info.enabled and "register_verifier" in (info.error or "")
    assert "misspelled_plugin" not in [name for name, _ in loaded.pm.list_name_plugin()]


def test_a_plugin_whose_hook_raises_is_a_warning(plugin_dir: Path) -> None:
    loaded = manager("raising_plugin")
    assert sorted(loaded.verifiers()) == ["torch"]
    assert "cannot register today" in (loaded.infos[1].error or "")


def test_a_plugin_may_take_fewer_arguments_than_the_hook_offers(plugin_dir: Path) -> None:
    loaded = manager("fewer_args_plugin")
    loaded.verifiers()
    assert importlib.import_module("fewer_args_plugin").CALLED == [True]


def test_disabled_plugins_are_not_even_imported(plugin_dir: Path) -> None:
    loaded = manager("broken_plugin", disabled=["broken_plugin", "torch_verifier"])
    assert [(i.name, i.enabled, i.disabled_by, i.error) for i in loaded.infos] == [
        ("torch_verifier", False, "manifest", None), ("broken_plugin", False, "manifest", None)]
    assert "broken_plugin" not in sys.modules
    with pytest.raises(NotFoundError, match="no verifier named 'torch'"):
        loaded.get_verifier("torch")


def test_the_environment_variable_narrows_what_loads(plugin_dir: Path) -> None:
    loaded = manager("echo_plugin", env="echo_plugin")
    assert sorted(loaded.verifiers()) == ["echo"]
    assert manager("echo_plugin", env="").verifiers() == {}


def test_plugins_load_once(plugin_dir: Path) -> None:
    loaded = manager("echo_plugin")
    first = loaded.verifiers()
    assert loaded.load() is loaded and loaded.verifiers() is first and len(loaded.infos) == 2


def test_every_hook_has_a_one_line_docstring_and_a_test() -> None:
    source = Path(__file__).read_text()
    hooks = [name for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(f, "skillsrv_spec")]
    assert hooks == ["register_verifiers"]
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert doc and "\n" not in doc.strip(), name
        assert f"def {name}(" in source, f"hook {name} has no test plugin"


def test_the_plugins_command_lists_entry_point_plugins_and_their_warnings(
        plugin_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a distribution on sys.path declaring two entry points: one broken, one working
    write_tree(tmp_path, {
        "demo_plugins-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-plugins\n"
                                               "Version: 0.1\n",
        "demo_plugins-0.1.dist-info/entry_points.txt":
            "[skillsrv.plugins]\nbroken = broken_plugin\necho = echo_plugin\n"})
    importlib.invalidate_caches()
    (tmp_path / "m.yaml").write_text("packs: []\nplugins:\n  disabled: [torch_verifier]\n")
    parser = argparse.ArgumentParser()
    plugins_cli.register(parser.add_subparsers())
    args = parser.parse_args(["plugins", "--json", "--manifest", str(tmp_path / "m.yaml")])
    assert args.handler(args) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["torch_verifier"]["disabled_by"] == "manifest"
    assert by_name["broken"]["error"] == "RuntimeError: this plugin is broken"
    assert by_name["echo"]["enabled"] and data["verifiers"] == ["echo"]
    assert data["warnings"] == ["broken: RuntimeError: this plugin is broken"]
    args = parser.parse_args(["plugins", "--manifest", str(tmp_path / "m.yaml")])
    assert args.handler(args) == 0
    text = capsys.readouterr().out
    assert "broken" in text and "warning: RuntimeError: this plugin is broken" in text
    assert "disabled (manifest.yaml plugins.disabled)" in text
