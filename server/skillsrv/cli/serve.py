"""`skillsrv serve`: the MCP server over stdio (default) or streamable HTTP (`--http`)."""

from __future__ import annotations

import argparse
import logging
import sys

from skillsrv.cli.common import add_pack_options

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the MCP server (stdio, or --http)",
        description="Run the MCP server. With no options it speaks MCP on stdin/stdout (logs go "
                    "to stderr); --http serves streamable HTTP at http://HOST:PORT/mcp.")
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on with --http (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on with --http; 0 picks a free one "
                             f"(default {DEFAULT_PORT})")
    parser.add_argument("--no-reload", action="store_true",
                        help="do not watch the pack sources for changes")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="stderr log level")
    add_pack_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Before the SDK configures logging: timestamps help in the daemon's log file.
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from skillsrv.server.app import build_server
    from skillsrv.server.state import SourceConfig
    from skillsrv.server.transports import serve_http, serve_stdio

    sources = SourceConfig(manifest_path=args.manifest, extra_paths=tuple(args.pack_path),
                           include_manifest_packs=not args.only)
    server = build_server(sources, watch_sources=not args.no_reload)
    if args.http:
        serve_http(server, args.host, args.port)
        return 0
    if sys.stdin.isatty():
        print("skillsrv: speaking MCP on stdin/stdout; a client starts this for you (see "
              "`skillsrv config claude-code`), or use --http. Ctrl-D ends it.", file=sys.stderr)
    serve_stdio(server)
    return 0
