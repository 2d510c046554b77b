"""Memory sizes as people write them ("24GB", "24 GiB", "512MB", "16g") to bytes, and back.

Units are binary whichever way they are spelled: K/KB/KiB = 2**10, M/MB/MiB = 2**20,
G/GB/GiB = 2**30, T/TB/TiB = 2**40. This is the JEDEC convention that GPU vendors and
`nvidia-smi` use for memory: a "24GB" card has 24 GiB (torch reports about 23.6-24 GiB of it as
total memory), so "24GB" as a budget means 24 GiB. A decimal size is written as a plain number of
bytes: "24e9" or "24_000_000_000". Letters are case-insensitive; "B" alone means bytes.
"""

from __future__ import annotations

import math
import re

_UNITS = {"": 0, "b": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2,
          "g": 3, "gb": 3, "gib": 3, "t": 4, "tb": 4, "tib": 4}
_SIZE = re.compile(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_bytes(text: str | int) -> int:
    """Bytes in `text` ("24GB" = "24 GiB" = 24 * 2**30); ValueError naming the problem."""
    if isinstance(text, bool):
        raise ValueError(f"not a memory size: {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"a memory size must be positive, got {text}")
        return text
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"not a memory size: {text!r} (write e.g. '24GB', '24 GiB', '512MB' "
                         "or a number of bytes)")
    number, unit = match.group(1), match.group(2).lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {match.group(2)!r} in {text!r} (use B, KB, MB, GB or TB; "
                         "KiB, MiB, GiB, TiB mean the same)")
    value = float(number.replace("_", "")) * 1024 ** _UNITS[unit]
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"a memory size must be at least 1 byte, got {text!r}")
    return int(value)


def format_bytes(n: int | float) -> str:
    """`n` bytes for people: "512 B", "3.25 KiB", "501.7 MiB", "24.00 GiB"."""
    sign = "-" if n < 0 else ""
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{sign}{int(value)} B" if unit == "B" else f"{sign}{value:.4g} {unit}"
        value /= 1024
    return f"{sign}{value:.4g} TiB"
