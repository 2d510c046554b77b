"""The verification worker process: `python -m skillsrv.verify.worker`.

It imports torch once, warms the fake-tensor paths up, says `{"type": "ready"}` on its protocol
pipe and then serves requests, one JSON line each on stdin. For each request it forks a child
that runs the untrusted code and dies afterwards, so nothing one model does (patching torch,
leaking memory, crashing) reaches the next call, and a fork costs milliseconds where a fresh
interpreter with torch costs seconds. The child:

- sets resource limits: memory (RLIMIT_DATA above what the worker already uses), CPU time
  (RLIMIT_CPU), no core files, no regular-file writes (RLIMIT_FSIZE 0);
- installs an audit hook (`sys.addaudithook`) refusing file opens for writing, sockets,
  subprocesses and os.system/exec/spawn/fork/kill, ctypes (no new libraries), gc object
  walking, code-object construction, filesystem changes and raising resource limits;
- runs the code with guarded builtins after the AST check (`sandbox.py`) and measures it
  (`measure.py`), sending progress and the result back through a pipe the worker relays.

The worker enforces the wall-clock timeout: it kills the child (SIGKILL) and answers with a
timeout error. A child killed by a signal (SIGSEGV, SIGXCPU, ...) is answered as a crash. The
worker itself never runs user code and never runs a backward pass (autograd's threads must not
exist before a fork), and it exits when its stdin closes, killing a running child.

Protocol stdout is a duplicate of the original fd 1; fd 1 itself points at stderr so that
`print` in model code cannot corrupt the protocol.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import time
import traceback
import warnings
from typing import Any

from skillsrv.verify.protocol import LineReader, send

TEST_HOOKS_ENV = "SKILLSRV_VERIFY_TEST_HOOKS"  # tests only: SIGSEGV and unguarded runs

_BLOCKED_EVENTS = (
    "socket.", "subprocess.", "pty.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
    "os.fork", "os.forkpty", "os.kill", "os.killpg", "signal.pthread_kill", "os.remove",
    "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink",
    "os.truncate", "os.utime", "os.putenv", "os.unsetenv", "os.chdir", "os.chflags",
    "os.lchflags", "os.setxattr", "os.removexattr", "os.startfile", "os.add_dll_directory",
    "shutil.", "ctypes.", "resource.setrlimit", "resource.prlimit", "sys.addaudithook",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
    "function.__new__", "urllib.", "http.", "ftplib.", "smtplib.", "imaplib.", "poplib.",
    "nntplib.", "telnetlib.", "webbrowser.", "sqlite3.", "syslog.",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
VIOLATIONS: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path = args[0] if args else None
        mode = args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 else None
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes:
            _refuse(f"opening {path!r} for writing")
    elif event.startswith(_BLOCKED_EVENTS):
        _refuse(f"'{event}'")


def _refuse(what: str) -> None:
    from skillsrv.verify.measure import SandboxViolation

    VIOLATIONS.append(what)
    raise SandboxViolation(what)


def install_audit_hook() -> None:
    sys.dont_write_bytecode = True  # lazy imports must not try to write .pyc files
    sys.addaudithook(_audit)


# Landlock (Linux 5.13+): the kernel refuses what native code could do past the audit hook.
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446
_FS_READ = (1 << 2) | (1 << 3)  # READ_FILE | READ_DIR
_FS_WRITE_DEVICE = (1 << 1) | (1 << 2) | (1 << 15)  # WRITE_FILE | READ_FILE | IOCTL_DEV


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none."""
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return max(0, int(libc.syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0),
                                       ctypes.c_uint32(1))))
    except (OSError, AttributeError):
        return 0


def apply_landlock(devices: list[str]) -> str | None:
    """Let this process read files and nothing else: no file may be created, written, removed
    or executed (`devices` excepted: GPU device files), no TCP bind/connect, no signals or
    abstract sockets outside. Returns what is enforced, or None without Landlock."""
    import ctypes

    abi = landlock_abi()
    if abi < 1:
        return None

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fs = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) \
        | (1 << 15 if abi >= 5 else 0)
    attr = RulesetAttr(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(_LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return None
    try:
        rules = [("/", _FS_READ)] + [(d, _FS_WRITE_DEVICE & fs) for d in devices]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = PathBeneath(access, fd)
                if libc.syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1),
                                ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                    return None
            finally:
                os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return None
        if libc.syscall(_LANDLOCK_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            return None
    finally:
        os.close(ruleset)
    enforced = "Landlock: files read-only, no execution"
    if abi >= 4:
        enforced += ", no TCP"
    if abi >= 6:
        enforced += ", no signals outside"
    return enforced


def _gpu_devices() -> list[str]:
    try:
        return [f"/dev/{name}" for name in sorted(os.listdir("/dev"))
                if name.startswith("nvidia")] + ["/dev/null"]
    except OSError:
        return []


def _vm_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def apply_limits(limits: dict[str, Any]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    cpu = limits.get("cpu_s")
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 5))
    memory = limits.get("memory_bytes")
    used = _vm_bytes("VmData")
    if memory and used is not None:  # Linux: private writable memory, what allocations grow
        resource.setrlimit(resource.RLIMIT_DATA, (used + int(memory), used + int(memory)))


def _child(request: dict[str, Any], fd: int) -> None:
    """Run one request in the forked child and send its answer on `fd`."""
    rid = request.get("id")
    kind: str = "error"
    payload: dict[str, Any] = {"kind": "internal", "message": "no result"}
    try:
        apply_limits(request.get("limits") or {})
        if os.environ.get(TEST_HOOKS_ENV) == "1" and request.get("test") == "segfault":
            import faulthandler

            faulthandler._sigsegv()  # type: ignore[attr-defined]
        kernel = apply_landlock(_gpu_devices())
        install_audit_hook()
        from skillsrv.verify.measure import run_request

        def progress(fraction: float, message: str) -> None:
            send(fd, {"id": rid, "type": "progress", "fraction": fraction, "message": message})

        report = run_request(request, progress)
        report["method"].append("sandbox: AST check, guarded builtins, audit hook, "
                                "memory/CPU limits, " + (kernel or "no Landlock (not Linux 5.13+)"))
        kind, payload = "result", {"report": report}
    except BaseException as exc:  # everything becomes an answer; the child exits after it
        kind, payload = "error", _error_payload(exc)
    if VIOLATIONS and not (kind == "error" and payload.get("kind") == "sandbox"):
        kind, payload = "error", {
            "kind": "sandbox",
            "message": f"the sandbox refused {VIOLATIONS[0]} while running the code",
            "hint": "model code may not write files, use the network, start processes or load "
                    "libraries"}
    send(fd, {"id": rid, "type": kind, **payload})


def _error_payload(exc: BaseException) -> dict[str, Any]:
    from skillsrv.verify.errors import ResourceLimitError, VerificationError

    if isinstance(exc, MemoryError):
        exc = ResourceLimitError("out of memory: the worker's memory limit was reached")
    if isinstance(exc, VerificationError):
        return {"kind": exc.kind, "message": exc.message, "hint": exc.hint}
    return {"kind": "internal", "message": f"{type(exc).__name__}: {exc}",
            "hint": "this is a bug in the verifier; the detail has the traceback",
            "detail": traceback.format_exc()[-3000:]}


_SIGNALS: dict[int, tuple[str, str]] = {
    signal.SIGSEGV: ("crash", "crashed with a segmentation fault (SIGSEGV)"),
    signal.SIGBUS: ("crash", "crashed with a bus error (SIGBUS)"),
    signal.SIGABRT: ("crash", "aborted (SIGABRT)"),
    signal.SIGILL: ("crash", "crashed on an illegal instruction (SIGILL)"),
    signal.SIGFPE: ("crash", "crashed on an arithmetic error (SIGFPE)"),
    signal.SIGXCPU: ("limit", "went over its CPU-time limit (SIGXCPU)"),
    signal.SIGXFSZ: ("sandbox", "tried to write a file (SIGXFSZ)"),
    signal.SIGKILL: ("crash", "was killed (SIGKILL; the system may have run out of memory)"),
}


def _describe_exit(status: int) -> tuple[str, str]:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        kind, what = _SIGNALS.get(number, ("crash", f"was killed by signal {number}"))
        return kind, f"the process running the code {what}"
    return "crash", f"the process running the code exited with code " \
                    f"{os.WEXITSTATUS(status)} without a result"


def _serve(request: dict[str, Any], out_fd: int, stdin: LineReader) -> None:
    rid = request.get("id")
    if request.get("op") == "ping":
        send(out_fd, {"id": rid, "type": "result", "report": {"pong": True}})
        return
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 70
        try:
            os.close(read_fd)
            os.close(out_fd)
            os.close(0)
            _child(request, write_fd)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    child = LineReader(read_fd)
    timeout = float(request.get("timeout_s") or 120.0)
    deadline = time.monotonic() + timeout
    answered = timed_out = False
    while not child.eof:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd, stdin.fd], [], [], remaining)
        if stdin.fd in ready:
            stdin.fill(0)
            if stdin.eof:  # the pool went away: take the child with us
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                sys.exit(0)
        if read_fd in ready:
            child.fill(0)
            while (message := child.pop()) is not None:
                answered = answered or message.get("type") in ("result", "error")
                send(out_fd, message)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(read_fd)
    if timed_out:
        send(out_fd, {"id": rid, "type": "error", "kind": "timeout",
                      "message": f"the run took longer than {timeout:g} s and was stopped; the "
                                 "process was killed and the worker is ready for the next call",
                      "hint": "look for an endless loop, or raise timeout_s"})
    elif not answered:
        kind, what = _describe_exit(status)
        send(out_fd, {"id": rid, "type": "error", "kind": kind,
                      "message": what + "; the worker is ready for the next call",
                      "hint": "the model's code made the process die"})


def main() -> int:
    started = time.perf_counter()
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.set_inheritable(out_fd, False)
    warnings.filterwarnings("ignore")
    import torch

    from skillsrv.verify import measure

    measure.warm_up()
    gc.collect()
    gc.freeze()  # children neither scan nor copy-on-write the worker's objects
    send(out_fd, {"type": "ready", "pid": os.getpid(), "torch": torch.__version__,
                  "startup_s": round(time.perf_counter() - started, 3)})
    stdin = LineReader(0)
    while True:
        request = stdin.read()
        if request is None:
            return 0
        _serve(request, out_fd, stdin)


if __name__ == "__main__":
    sys.exit(main())
