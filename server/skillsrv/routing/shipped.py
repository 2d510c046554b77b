"""Data files shipped beside the routing code (query adapters, example banks): every `*.npz` in
a folder, read once per process; one that cannot be read is skipped with a warning that says
how to make it again, so a broken file never stops routing."""

from __future__ import annotations

import logging
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger("skillsrv.routing")

T = TypeVar("T")


class ShippedFiles(Generic[T]):
    def __init__(self, read: Callable[[Path], T], kind: str, remedy: str) -> None:
        self._read = read
        self._kind = kind  # "a query adapter"
        self._remedy = remedy  # "Refit it with scripts/fit_adapter.py"
        self._lock = threading.Lock()
        self._loaded: dict[Path, list[T]] = {}

    def load(self, folder: Path) -> list[T]:
        """Every readable file in `folder`, in name order."""
        with self._lock:
            if folder not in self._loaded:
                found = []
                for path in sorted(folder.glob("*.npz")):
                    try:
                        found.append(self._read(path))
                    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                        log.warning("%s: not %s (%s); routing goes on without it. %s", path,
                                    self._kind, exc, self._remedy)
                self._loaded[folder] = found
            return self._loaded[folder]
