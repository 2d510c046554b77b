"""`skillsrv daemon start|stop|status|logs`: the HTTP server in the background."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from skillsrv.cli.common import add_pack_options, print_json
from skillsrv.server.daemon import Daemon, DaemonError, format_uptime

NOT_RUNNING = 3  # `status` exit code when no daemon runs (as LSB init scripts do)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "daemon", help="run the HTTP server in the background",
        description="Run `skillsrv serve --http` in the background. Its pid file and log live "
                    "in $SKILLSRV_STATE_DIR, $XDG_STATE_HOME/skillsrv or ~/.local/state/skillsrv.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    start = actions.add_parser("start", help="start the server in the background",
                               description="Start the HTTP server in the background and wait "
                                           "until it answers.")
    start.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    start.add_argument("--port", type=int, default=8765,
                       help="port (default 8765; 0 picks a free one)")
    start.add_argument("--no-reload", action="store_true",
                       help="do not watch the pack sources for changes")
    add_pack_options(start)
    start.set_defaults(handler=run_start)

    stop = actions.add_parser("stop", help="stop the background server")
    stop.set_defaults(handler=run_stop)

    status = actions.add_parser("status", help="pid, URL, packs loaded, uptime",
                                description="Show whether the daemon runs, and what it serves "
                                            f"(exit code {NOT_RUNNING} when it does not run).")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=run_status)

    logs = actions.add_parser("logs", help="print the daemon's log")
    logs.add_argument("-n", "--lines", type=int, default=50,
                      help="how many of the last lines (default 50; 0 for all)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.set_defaults(handler=run_logs)


def _serve_args(args: argparse.Namespace) -> list[str]:
    """The pack options for the server, with paths made absolute (it runs elsewhere)."""
    out: list[str] = []
    for path in args.pack_path:
        out += ["--pack-path", os.path.abspath(path)]
    if args.only:
        out.append("--only")
    manifest = args.manifest or os.environ.get("SKILLSRV_MANIFEST")
    if manifest:
        out += ["--manifest", os.path.abspath(manifest)]
    if args.no_reload:
        out.append("--no-reload")
    return out


def _note(note: str | None) -> None:
    if note:
        print(f"skillsrv: {note}", file=sys.stderr)


def run_start(args: argparse.Namespace) -> int:
    daemon = Daemon()
    info, note = daemon.start(args.host, args.port, _serve_args(args))
    _note(note)
    print(f"skillsrv daemon started: pid {info.pid}, {info.url}")
    print(f"  log: {daemon.log_file}")
    print(f"  connect Claude Code: skillsrv config claude-code --http {info.url}")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    info, note = Daemon().stop()
    _note(note)
    if info is None:
        print("skillsrv daemon is not running")
    else:
        print(f"skillsrv daemon stopped (pid {info.pid})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    daemon = Daemon()
    info, note = daemon.current()
    _note(note)
    if info is None:
        if args.json:
            print_json({"running": False})
        else:
            print("skillsrv daemon is not running")
        return NOT_RUNNING
    health = daemon.health(info)
    packs = health.get("packs", [])
    if args.json:
        print_json({"running": True, "pid": info.pid, "url": info.url,
                    "log": str(daemon.log_file), **{k: v for k, v in health.items()
                                                      if k not in ("pid", "status")}})
        return 0
    print("skillsrv daemon is running")
    print(f"  pid      {info.pid}")
    print(f"  url      {info.url}")
    skills = int(health.get("skills", 0))
    print(f"  packs    {', '.join(packs) or 'none'} ({len(packs)} pack"
          f"{'s' * (len(packs) != 1)}, {skills} skill{'s' * (skills != 1)})")
    print(f"  uptime   {format_uptime(float(health.get('uptime_s', 0)))}")
    if health.get("reload_error"):
        print(f"  reload   {health['reload_error']}")
    print(f"  log      {daemon.log_file}")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    daemon = Daemon()
    if not daemon.log_file.exists():
        raise DaemonError(f"no log yet at {daemon.log_file}",
                          hint="start the daemon with `skillsrv daemon start`")
    text = daemon.tail(args.lines)
    if text:
        print(text)
    if args.follow:
        _follow(daemon.log_file)
    return 0


def _follow(path: Path) -> None:
    with open(path, encoding="utf-8", errors="replace") as log:
        log.seek(0, os.SEEK_END)
        while True:
            line = log.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                time.sleep(0.25)
