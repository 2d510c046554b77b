"""JSON lines over pipes between the pool, the worker (zygote) and its forked children."""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any


class LineReader:
    """Reads newline-terminated JSON messages from a file descriptor, with deadlines."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def fill(self, timeout: float | None) -> bool:
        """Read what is available within `timeout`; False when nothing came in time."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        chunk = os.read(self.fd, 1 << 16)
        if chunk:
            self.buffer += chunk
        else:
            self.eof = True
        return True

    def pop(self) -> dict[str, Any] | None:
        """The next complete message already buffered, or None."""
        line, sep, rest = self.buffer.partition(b"\n")
        if not sep:
            return None
        self.buffer = rest
        return json.loads(line) if line.strip() else self.pop()

    def read(self, deadline: float | None = None) -> dict[str, Any] | None:
        """The next message; None at end of file. TimeoutError past `deadline` (monotonic)."""
        while True:
            message = self.pop()
            if message is not None:
                return message
            if self.eof:
                return None
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self.fill(timeout) and deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError


def send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    while data:
        written = os.write(fd, data)
        data = data[written:]
