"""Running the server: stdio (the protocol alone on stdout) or streamable HTTP at /mcp."""

from __future__ import annotations

import errno
import logging
import socket
import sys

import anyio

from skillsrv.errors import SkillsrvError
from skillsrv.server.app import SkillServer
from skillsrv.server.daemon import base_url

logger = logging.getLogger("skillsrv.server")

MCP_PATH = "/mcp"


def serve_stdio(server: SkillServer) -> None:
    """Serve on stdin/stdout until the client closes stdin."""
    anyio.run(server.run_stdio_async)


def serve_http(server: SkillServer, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve streamable HTTP until SIGINT/SIGTERM. Port 0 picks a free port; the URL is
    logged to stderr either way."""
    sock = bind(host, port)
    anyio.run(_serve_http, server, host, sock)


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise SkillsrvError(f"cannot listen on {host}: {exc.strerror}",
                            hint="use an address such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SkillsrvError(f"port {port} on {host} is already in use",
                                hint="pick another with --port, or see `skillsrv daemon "
                                     "status`") from None
        raise SkillsrvError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    return base_url(host, port) + MCP_PATH


async def _serve_http(server: SkillServer, host: str, sock: socket.socket) -> None:
    import uvicorn

    app = server.streamable_http_app(host=host, streamable_http_path=MCP_PATH)
    # log_config=None: uvicorn's records go to the root logger (stderr), never to stdout.
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    port = sock.getsockname()[1]
    print(f"skillsrv: serving {url_of(host, port)} (health: {base_url(host, port)}/healthz)",
          file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
