"""`skillsrv config claude-code|claude-desktop`: the `mcpServers` entry to paste into a client.

The entry runs the installed `skillsrv` executable by its absolute path, so it works whatever
PATH the client starts it with. JSON goes to stdout; where to paste it goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from skillsrv.cli.common import add_pack_options, print_json
from skillsrv.errors import UsageError

CLIENTS = ("claude-code", "claude-desktop")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config", help="print the mcpServers entry for Claude Code or Claude Desktop",
        description="Print a ready-to-paste mcpServers JSON entry that starts `skillsrv serve` "
                    "(stdio) with the absolute path of this installation.")
    parser.add_argument("client", choices=CLIENTS, help="which client the entry is for")
    parser.add_argument("--name", default="skillsrv", help="server name in the entry")
    parser.add_argument("--http", metavar="URL", nargs="?", const="http://127.0.0.1:8765/mcp",
                        help="Claude Code only: connect to a running HTTP server (the daemon) "
                             "instead of starting one (default URL http://127.0.0.1:8765/mcp)")
    add_pack_options(parser)
    parser.set_defaults(handler=run)


def executable() -> list[str]:
    """The absolute command that runs this installation's `skillsrv`."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "skillsrv" and argv0.is_file():
        return [os.path.abspath(argv0)]
    beside = Path(sys.executable).parent / "skillsrv"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("skillsrv")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "skillsrv"]


def server_entry(args: argparse.Namespace) -> dict[str, Any]:
    if args.http:
        if args.client != "claude-code":
            raise UsageError("--http works for claude-code only",
                             hint="Claude Desktop starts local servers itself; leave out --http")
        return {"type": "http", "url": args.http}
    command, *prefix = executable()
    serve = [*prefix, "serve"]
    for path in args.pack_path:
        serve += ["--pack-path", os.path.abspath(path)]
    if args.only:
        serve.append("--only")
    if args.manifest:
        serve += ["--manifest", os.path.abspath(args.manifest)]
    entry: dict[str, Any] = {"command": command, "args": serve}
    if args.client == "claude-code":
        entry = {"type": "stdio", **entry}
    return entry


def run(args: argparse.Namespace) -> int:
    entry = server_entry(args)
    print_json({"mcpServers": {args.name: entry}})
    if args.client == "claude-code":
        where = (f"Paste into .mcp.json at your project root, or run:\n"
                 f"  claude mcp add-json {args.name} '{json.dumps(entry)}'")
    else:
        where = f"Merge into {desktop_config_path()} and restart Claude Desktop."
    print(where, file=sys.stderr)
    return 0


def desktop_config_path() -> str:
    if sys.platform == "darwin":
        return "~/Library/Application Support/Claude/claude_desktop_config.json"
    if sys.platform == "win32":
        return r"%APPDATA%\Claude\claude_desktop_config.json"
    return "~/.config/Claude/claude_desktop_config.json"
