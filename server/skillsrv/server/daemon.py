"""The background server: `skillsrv serve --http` as a detached process with a pid file and a log.

Files live in the user's state directory (`$SKILLSRV_STATE_DIR`, else
`$XDG_STATE_HOME/skillsrv`, else `~/.local/state/skillsrv`):
`daemon.pid` (the pid), `daemon.json` (pid, URL, start time, command) and `daemon.log`.
A pid file whose process is gone (or is no longer a skillsrv server) is stale: it is reported
and removed. Nothing here imports the MCP SDK, so `daemon status` answers quickly; status asks
the running server itself, through its `/healthz` route, what it has loaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from skillsrv.errors import SkillsrvError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
MAX_LOG_BYTES = 5 * 1024 * 1024  # at start, a longer log is moved to daemon.log.1


class DaemonError(SkillsrvError):
    """The daemon cannot be started, stopped or reached as asked."""


def state_dir() -> Path:
    explicit = os.environ.get("SKILLSRV_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "skillsrv"


@dataclass
class DaemonInfo:
    pid: int
    host: str
    port: int
    url: str
    started_at: float
    command: list[str] = field(default_factory=list)

    @property
    def health_url(self) -> str:
        return self.url.removesuffix("/mcp") + "/healthz"


def base_url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class Daemon:
    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or state_dir()
        self.pid_file = self.dir / "daemon.pid"
        self.info_file = self.dir / "daemon.json"
        self.log_file = self.dir / "daemon.log"

    # -- reading -------------------------------------------------------------------------

    def recorded(self) -> DaemonInfo | None:
        """What the pid file says, whether or not that process still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            data = json.loads(self.info_file.read_text())
            info = DaemonInfo(**data)
        except (OSError, ValueError, TypeError):
            info = DaemonInfo(pid=pid, host="?", port=0, url="?", started_at=0.0)
        info.pid = pid
        return info

    def current(self) -> tuple[DaemonInfo | None, str | None]:
        """(the running daemon or None, a note when a stale pid file was removed)."""
        info = self.recorded()
        if info is None:
            if self.pid_file.exists():  # unreadable or garbage
                self._clean()
                return None, f"removed an unreadable pid file {self.pid_file}"
            return None, None
        if is_server_process(info.pid):
            return info, None
        self._clean()
        return None, (f"removed a stale pid file: process {info.pid} is no longer running "
                      f"a skillsrv server")

    def health(self, info: DaemonInfo, timeout: float = 2.0) -> dict[str, Any]:
        """The running server's own account of itself (raises DaemonError when it does not
        answer)."""
        try:
            with urllib.request.urlopen(info.health_url, timeout=timeout) as response:
                data: dict[str, Any] = json.loads(response.read())
                return data
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DaemonError(f"the daemon (pid {info.pid}) does not answer at "
                              f"{info.health_url}: {reason}",
                              hint=f"see its log: {self.log_file}") from None

    # -- start / stop --------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 8765,
              serve_args: Sequence[str] = (), timeout: float = START_TIMEOUT_S
              ) -> tuple[DaemonInfo, str | None]:
        """Spawn the server and wait until it answers. Returns (info, stale-pid note)."""
        running, note = self.current()
        if running is not None:
            raise DaemonError(f"the daemon is already running (pid {running.pid}, "
                              f"{running.url})",
                              hint="stop it first with `skillsrv daemon stop`")
        port = port or free_port(host)
        check_port_free(host, port)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._rotate_log()
        command = [sys.executable, "-m", "skillsrv", "serve", "--http", "--host", host,
                   "--port", str(port), *serve_args]
        with open(self.log_file, "ab") as log:
            log.write(f"--- skillsrv daemon starting {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                      f"{' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.dir, start_new_session=True, close_fds=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        info = DaemonInfo(pid=process.pid, host=host, port=port,
                          url=base_url(host, port) + "/mcp", started_at=time.time(),
                          command=command)
        self._write(info)
        deadline = time.monotonic() + timeout
        while True:
            code = process.poll()
            if code is not None:
                self._clean()
                raise DaemonError(f"the server exited during start-up (exit code {code})",
                                  hint="its log says:\n" + self.tail(15))
            try:
                self.health(info, timeout=1.0)
                return info, note
            except DaemonError:
                if time.monotonic() > deadline:
                    self._terminate(process.pid)
                    self._clean()
                    raise DaemonError(f"the server did not answer at {info.health_url} within "
                                      f"{timeout:.0f} s; stopped it",
                                      hint="its log says:\n" + self.tail(15)) from None
            time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> tuple[DaemonInfo | None, str | None]:
        """Stop the daemon (SIGTERM, then SIGKILL after `timeout`). Returns (what was stopped
        or None when nothing ran, stale-pid note)."""
        info, note = self.current()
        if info is None:
            return None, note
        self._terminate(info.pid, timeout)
        self._clean()
        return info, note

    def tail(self, lines: int = 50) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:]) if lines > 0 else text

    # -- files ---------------------------------------------------------------------------

    def _write(self, info: DaemonInfo) -> None:
        self.info_file.write_text(json.dumps(asdict(info), indent=2) + "\n")
        self.pid_file.write_text(f"{info.pid}\n")

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_file.stat().st_size > MAX_LOG_BYTES:
                self.log_file.replace(self.log_file.with_name(self.log_file.name + ".1"))

    def _clean(self) -> None:
        for path in (self.pid_file, self.info_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _terminate(self, pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                _reap(pid)
                if not is_alive(pid):
                    return
                time.sleep(0.05)
        raise DaemonError(f"process {pid} did not stop", hint=f"kill it by hand: kill -9 {pid}")


# -- processes and ports -------------------------------------------------------------------


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie has exited; only its parent has not collected it yet
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_server_process(pid: int) -> bool:
    """Alive and (where /proc tells) still a skillsrv server, not a recycled pid."""
    if not is_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        words = cmdline.read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: trust the pid
    return any(b"skillsrv" in word for word in words) and b"serve" in words


def _reap(pid: int) -> None:
    """Collect our own child if it is one (daemons started in this process, as in tests)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise DaemonError(f"cannot listen on {host}:{port}: {exc.strerror}",
                              hint="another program uses it; pick a port with --port") from None


def format_uptime(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
