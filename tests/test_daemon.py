"""`skillsrv daemon start|stop|status|logs`: the HTTP server in the background."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client

from server_helpers import PACK, SKILLSRV, child_env, free_port, write_demo_pack
from skillsrv.server.daemon import Daemon, DaemonError, format_uptime, is_alive

pytestmark = pytest.mark.anyio


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "state"
    yield directory
    Daemon(directory).stop()  # never leave a server behind, whatever the test did


def skillsrv(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SKILLSRV, "daemon", *args], capture_output=True, text=True,
                          timeout=60, env=child_env(SKILLSRV_STATE_DIR=str(state_dir)))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_daemon_lifecycle_start_status_second_start_refused_logs_stop(
        state_dir: Path, tmp_path: Path) -> None:
    manifest = write_demo_pack(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"

    stopped = skillsrv(state_dir, "status")
    assert stopped.returncode == 3 and "not running" in stopped.stdout

    started = skillsrv(state_dir, "start", "--port", str(port), "--manifest", str(manifest))
    assert started.returncode == 0, started.stderr
    assert url in started.stdout
    pid = int((state_dir / "daemon.pid").read_text())
    assert f"pid {pid}" in started.stdout and is_alive(pid)

    status = skillsrv(state_dir, "status")
    assert status.returncode == 0, status.stderr
    for expected in (f"pid      {pid}", f"url      {url}", f"packs    {PACK} (1 pack, 1 skill)",
                     "uptime   "):
        assert expected in status.stdout
    as_json = json.loads(skillsrv(state_dir, "status", "--json").stdout)
    assert as_json["running"] is True and as_json["pid"] == pid
    assert as_json["packs"] == [PACK] and as_json["url"] == url

    async with Client(url) as client:  # it is a real MCP server
        result = await client.call_tool("route_query", {"query": "CNN for 5000 photos"})
        assert not result.is_error

    again = skillsrv(state_dir, "start", "--port", str(free_port()))
    assert again.returncode == 1
    assert f"already running (pid {pid}, {url})" in again.stderr
    assert "skillsrv daemon stop" in again.stderr

    logs = skillsrv(state_dir, "logs", "-n", "200")
    assert logs.returncode == 0 and f"serving {url}" in logs.stdout

    stop = skillsrv(state_dir, "stop")
    assert stop.returncode == 0 and f"stopped (pid {pid})" in stop.stdout
    assert not is_alive(pid)
    assert not (state_dir / "daemon.pid").exists()
    assert skillsrv(state_dir, "status").returncode == 3
    assert "not running" in skillsrv(state_dir, "stop").stdout


def test_a_stale_pid_file_is_reported_and_removed(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "daemon.pid").write_text(f"{dead_pid()}\n")
    status = skillsrv(state_dir, "status")
    assert status.returncode == 3
    assert "removed a stale pid file" in status.stderr
    assert not (state_dir / "daemon.pid").exists()


def test_a_pid_file_naming_an_unrelated_live_process_is_stale(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "daemon.pid").write_text(f"{os.getpid()}\n")  # pytest: alive, not a server
    info, note = Daemon(state_dir).current()
    assert info is None and note is not None and "stale" in note
    assert not (state_dir / "daemon.pid").exists()


def test_a_server_failing_at_start_up_is_reported_with_its_log(state_dir: Path,
                                                               tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("packs: [skills]\nno_such_key: 1\n")
    started = skillsrv(state_dir, "start", "--port", str(free_port()),
                       "--manifest", str(manifest))
    assert started.returncode == 1
    assert "exited during start-up" in started.stderr
    assert "unknown key 'no_such_key'" in started.stderr  # the log tail says why
    assert not (state_dir / "daemon.pid").exists()


def test_start_refuses_a_port_that_is_taken(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(DaemonError, match=r"cannot listen on 127\.0\.0\.1"):
            Daemon(state_dir).start(port=taken.getsockname()[1])
    assert not (state_dir / "daemon.pid").exists()


def test_the_state_directory_follows_xdg_unless_overridden(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from skillsrv.server.daemon import state_dir as find_state_dir

    monkeypatch.delenv("SKILLSRV_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert find_state_dir() == tmp_path / "xdg" / "skillsrv"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_state_dir() == tmp_path / "home" / ".local" / "state" / "skillsrv"
    monkeypatch.setenv("SKILLSRV_STATE_DIR", str(tmp_path / "mine"))
    assert find_state_dir() == tmp_path / "mine"


def test_logs_without_a_log_says_how_to_start(state_dir: Path) -> None:
    logs = skillsrv(state_dir, "logs")
    assert logs.returncode == 1 and "skillsrv daemon start" in logs.stderr


@pytest.mark.parametrize(("seconds", "shown"), [(5, "5s"), (65, "1m 05s"), (3725, "1h 02m 05s"),
                                                (90061, "1d 1h 01m")])
def test_uptime_reads_naturally(seconds: float, shown: str) -> None:
    assert format_uptime(seconds) == shown
