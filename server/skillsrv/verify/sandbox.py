"""The static layer of the sandbox: an AST check of untrusted model code before it runs.

Allowed: imports of torch (and its submodules, less a few that load code, spawn processes or do
I/O), math and a short list of standard-library modules with no I/O. Refused: other imports,
relative imports, the builtins that run or open things (`eval`, `exec`, `compile`,
`__import__`, `open`, `globals`, ...), dunder attributes other than a few harmless ones
(`__init__`, `__name__`, `__class__`, ...), attributes that lead to frames, globals or dangerous
modules (`torch.os`, `f_globals`, `load_library`, ...), and `getattr` & co. with such names.

This layer gives clear early errors; it is not the only one. The worker also runs the code with
guarded builtins (`safe_builtins`), an audit hook (no writes, network, processes, new libraries)
and resource limits, in a forked process that dies after each call.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from skillsrv.verify.errors import SandboxRefused

SAFE_STDLIB = frozenset({
    "__future__", "abc", "bisect", "cmath", "collections", "copy", "dataclasses", "decimal",
    "enum", "fractions", "functools", "heapq", "itertools", "math", "numbers", "operator",
    "random", "re", "statistics", "typing", "typing_extensions", "warnings",
})
ALLOWED_TOP = SAFE_STDLIB | {"torch"}

# torch submodules that compile or load native code, spawn processes, touch files or the network.
FORBIDDEN_TORCH = (
    "torch._C", "torch._dynamo", "torch._inductor", "torch.compiler", "torch.distributed",
    "torch.export", "torch.hub", "torch.library", "torch.multiprocessing", "torch.onnx",
    "torch.package", "torch.profiler", "torch.serialization", "torch.utils.bottleneck",
    "torch.utils.cpp_extension", "torch.utils.data", "torch.utils.tensorboard",
)

# Builtins that evaluate code, open files, reach frames or namespaces, or read stdin.
FORBIDDEN_BUILTINS = frozenset({
    "__import__", "breakpoint", "compile", "eval", "exec", "exit", "globals", "help", "input",
    "locals", "open", "quit", "vars",
})

# Dunder names code may use; every other __name__ is refused.
ALLOWED_DUNDERS = frozenset({
    "__all__", "__call__", "__class__", "__doc__", "__init__", "__len__", "__module__",
    "__name__", "__post_init__", "__qualname__", "__repr__", "__str__", "__version__",
    "__getitem__", "__iter__", "__next__", "__contains__",
})

# Attribute names that lead out of the sandbox: modules torch re-exports (torch.os, torch.sys),
# frames and code objects, and functions that load, save or compile.
FORBIDDEN_ATTRS = frozenset({
    # modules reachable as attributes of torch and friends
    "builtins", "ctypes", "gc", "glob", "importlib", "inspect", "io", "marshal", "mmap",
    "multiprocessing", "os", "pathlib", "pickle", "platform", "posix", "pty", "resource",
    "runpy", "shutil", "signal", "site", "socket", "subprocess", "sys", "sysconfig", "tempfile",
    "threading", "types", "urllib", "zipfile", "faulthandler", "_thread", "_C",
    # frames, code, namespaces
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "gi_code", "gi_frame",
    "cr_code", "cr_frame", "ag_code", "ag_frame", "tb_frame", "tb_next", "co_code",
    "func_code", "func_globals", "_getframe",
    # gadgets that fetch attributes or evaluate strings out of the AST's sight
    "attrgetter", "methodcaller", "ForwardRef", "get_type_hints", "_evaluate", "_eval_type",
    # loading, saving, compiling native code, spawning
    "cpp_extension", "from_file", "hub", "load", "load_inline", "load_library", "popen", "save",
    "spawn", "system",
})

_DUNDER = re.compile(r"__\w+__")


def is_forbidden_attr(name: str) -> bool:
    return name in FORBIDDEN_ATTRS or (_DUNDER.fullmatch(name) is not None
                                       and name not in ALLOWED_DUNDERS)


def module_problem(name: str) -> str | None:
    """Why importing `name` is refused, or None when it is allowed."""
    top = name.split(".")[0]
    if top not in ALLOWED_TOP:
        return (f"import of '{name}' is not allowed (allowed: torch, "
                + ", ".join(sorted(ALLOWED_TOP - {"torch", "__future__"})) + ")")
    if top == "torch":
        for bad in FORBIDDEN_TORCH:
            if name == bad or name.startswith(bad + "."):
                return f"import of '{name}' is not allowed (it loads code, spawns or does I/O)"
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []

    def refuse(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.filename}:{getattr(node, 'lineno', 0)}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            problem = module_problem(alias.name)
            if problem:
                self.refuse(node, problem)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.refuse(node, "relative imports are not allowed: the module must stand alone")
            return
        module = node.module or ""
        problem = module_problem(module)
        if problem:
            self.refuse(node, problem)
            return
        for alias in node.names:
            if alias.name == "*":
                self.refuse(node, f"'from {module} import *' is not allowed: import names")
            elif is_forbidden_attr(alias.name):
                self.refuse(node, f"importing '{alias.name}' from '{module}' is not allowed")
            elif module.split(".")[0] == "torch" and module_problem(f"{module}.{alias.name}"):
                self.refuse(node, str(module_problem(f"{module}.{alias.name}")))

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_BUILTINS:
            self.refuse(node, f"'{node.id}' is not allowed (it runs code, opens files or "
                              "reaches namespaces)")
        elif _DUNDER.fullmatch(node.id) and node.id not in ALLOWED_DUNDERS:
            self.refuse(node, f"the name '{node.id}' is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if is_forbidden_attr(node.attr):
            self.refuse(node, f"attribute '.{node.attr}' is not allowed")
        elif node.attr == "compile" and isinstance(node.value, ast.Name) \
                and node.value.id == "torch":
            self.refuse(node, "torch.compile is not run by the verifier; remove the call")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in {"getattr", "setattr", "delattr",
                                                      "hasattr"} and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) \
                    and is_forbidden_attr(name.value):
                self.refuse(node, f"{func.id}(..., {name.value!r}) is not allowed")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # "{0.__globals__}".format(f) reads attributes the AST never shows.
        if isinstance(node.value, str):
            for name in _DUNDER.findall(node.value):
                if name not in ALLOWED_DUNDERS:
                    self.refuse(node, f"the string mentions '{name}', which is not allowed")
                    break


def check_source(code: str, filename: str = "model.py") -> ast.Module:
    """Parse and check `code`; SandboxRefused listing every problem with its line."""
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as exc:
        raise SandboxRefused(f"{filename}:{exc.lineno}: syntax error: {exc.msg}",
                             hint="fix the syntax and verify again") from None
    checker = _Checker(filename)
    checker.visit(tree)
    if checker.problems:
        shown = checker.problems[:10]
        more = len(checker.problems) - len(shown)
        message = "the sandbox refused the code:\n  " + "\n  ".join(shown)
        if more:
            message += f"\n  ... and {more} more"
        raise SandboxRefused(message, hint="model code may import only torch, math and "
                             "standard-library modules with no I/O, and may not run code or "
                             "open files")
    return tree


# Runtime guards for the worker: builtins without the dangerous ones, and checked lookups.

def _guarded_import(name: str, globals: Mapping[str, Any] | None = None,
                    locals: Mapping[str, Any] | None = None,
                    fromlist: Sequence[str] | None = (), level: int = 0) -> Any:
    if level:
        raise ImportError("sandbox: relative imports are not allowed")
    problem = module_problem(name)
    if problem:
        raise ImportError(f"sandbox: {problem}")
    for item in fromlist or ():
        if item != "*" and (is_forbidden_attr(item) or (
                name.split(".")[0] == "torch" and module_problem(f"{name}.{item}"))):
            raise ImportError(f"sandbox: importing '{item}' from '{name}' is not allowed")
    return builtins.__import__(name, globals, locals, fromlist or (), level)


def _checked(function: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(obj: Any, name: str, *rest: Any) -> Any:
        if isinstance(name, str) and is_forbidden_attr(name):
            raise AttributeError(f"sandbox: attribute '{name}' is not allowed")
        return function(obj, name, *rest)
    guarded.__name__ = function.__name__
    return guarded


def safe_builtins() -> dict[str, Any]:
    """A builtins namespace for untrusted module code."""
    namespace = {k: v for k, v in vars(builtins).items() if k not in FORBIDDEN_BUILTINS}
    namespace["__import__"] = _guarded_import
    for name in ("getattr", "setattr", "delattr", "hasattr"):
        namespace[name] = _checked(getattr(builtins, name))
    return namespace
