"""The sandbox refuses what model code must not do: statically, and again at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_verify_common import CNN, shared_pool

from skillsrv.verify import SandboxRefused, VerifyOptions, verify_code
from skillsrv.verify.sandbox import check_source, safe_builtins
from skillsrv.verify.worker import landlock_abi

REFUSED_SOURCES = {
    "import os": "import of 'os' is not allowed",
    "import subprocess": "import of 'subprocess' is not allowed",
    "from socket import socket": "import of 'socket' is not allowed",
    "import ctypes.util": "import of 'ctypes.util' is not allowed",
    "import torch.utils.cpp_extension": "import of 'torch.utils.cpp_extension' is not allowed",
    "from torch.utils import cpp_extension": "importing 'cpp_extension' from 'torch.utils'",
    "from . import sibling": "relative imports are not allowed",
    "open('out.txt', 'w').write('x')": "'open' is not allowed",
    "eval('1 + 1')": "'eval' is not allowed",
    "exec('x = 1')": "'exec' is not allowed",
    "__import__('os').system('true')": "'__import__' is not allowed",
    "f = getattr\nf(1, '__class__')": None,  # allowed: __class__ is harmless alone
    "().__class__.__bases__[0].__subclasses__()": "attribute '.__bases__' is not allowed",
    "import torch\ntorch.os.system('true')": "attribute '.os' is not allowed",
    "import torch\ntorch.save({}, 'x.pt')": "attribute '.save' is not allowed",
    "import torch\nm = torch.compile(torch.nn.Linear(2, 2))": "torch.compile is not run",
    "getattr(print, '__globals__')": "getattr(..., '__globals__') is not allowed",
    "(lambda: 0).__globals__['__builtins__']": "attribute '.__globals__' is not allowed",
    "x = '{0.__globals__}'.format(print)": "mentions '__globals__'",
    "g = globals()": "'globals' is not allowed",
    "def f():\n    yield\nf().gi_frame.f_back": "attribute '.gi_frame' is not allowed",
}


@pytest.mark.parametrize("source", REFUSED_SOURCES)
def test_the_ast_check_refuses_naming_the_line_and_construct(source: str) -> None:
    expected = REFUSED_SOURCES[source]
    code = "import math\n" + source + "\n"
    if expected is None:
        check_source(code)
        return
    with pytest.raises(SandboxRefused) as info:
        check_source(code, "m.py")
    assert expected in str(info.value)
    assert "m.py:2:" in str(info.value) or "m.py:3:" in str(info.value) \
        or "m.py:4:" in str(info.value)


def test_the_ast_check_accepts_an_ordinary_model() -> None:
    check_source(CNN)


def test_the_guarded_builtins_refuse_imports_and_dunder_lookups() -> None:
    namespace = safe_builtins()
    assert "open" not in namespace and "eval" not in namespace and "exec" not in namespace
    with pytest.raises(ImportError, match="sandbox: import of 'os'"):
        namespace["__import__"]("os")
    with pytest.raises(AttributeError, match="sandbox"):
        namespace["getattr"](print, "__glob" + "als__")
    assert namespace["__import__"]("math").sqrt(4) == 2


def run_unguarded(code: str) -> dict[str, object]:
    """Skip the AST check and guarded builtins (test hook) to reach the run-time layers."""
    return shared_pool().submit({"op": "verify", "code": code, "unguarded": True,
                                 "options": VerifyOptions(target="cpu").model_dump()})


RUNTIME = {
    "write": "open({path!r}, 'w').write('escaped')",
    "os.system": "import os\nos.system('touch {path}')",
    "subprocess": "import subprocess\nsubprocess.run(['touch', {path!r}])",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', 9))",
    "ctypes": "import ctypes\nctypes.CDLL('libc.so.6')",
    "remove": "import os\nos.remove({path!r})",
}


@pytest.mark.parametrize("what", RUNTIME)
def test_the_audit_hook_refuses_at_run_time_and_nothing_outside_changes(
        what: str, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    if what == "remove":
        target.write_text("keep me")
    code = CNN + "\n" + RUNTIME[what].format(path=str(target)) + "\n"
    answer = run_unguarded(code)
    assert answer["type"] == "error" and answer["kind"] == "sandbox", answer
    assert "the sandbox refused" in str(answer["message"])
    if what == "remove":
        assert target.read_text() == "keep me"
    else:
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["escaped.txt"] if what == "remove"
                                                          else [])


@pytest.mark.skipif(landlock_abi() < 1, reason="needs Landlock (Linux 5.13+)")
def test_a_native_file_write_that_passes_the_ast_check_leaves_no_file(tmp_path: Path) -> None:
    # The profiler writes its trace from C++, out of the audit hook's sight; Landlock refuses.
    target = tmp_path / "trace.json"
    code = CNN + (
        "\nwith torch.autograd.profiler.profile() as _prof:\n"
        "    torch.ones(1) + 1\n"
        f"_prof.export_chrome_trace({str(target)!r})\n")
    report = verify_code(code, VerifyOptions(target="cpu"), pool=shared_pool())
    assert any("Landlock: files read-only" in note for note in report.method)
    assert not target.exists() and list(tmp_path.iterdir()) == []
