"""Query adapters: a low-rank correction of a query's embedding, fitted on the evals written for
a set of packs, applied when those packs are what is loaded.

Static word embeddings place "every character in my novel talks exactly like me" far from a
sheet on voice differentiation in dialogue: users describe situations, sheets name techniques.
An adapter moves the query's vector, `q + up @ (down.T @ q)` (rank 32, so 16k numbers), towards
where the documents that answer such questions lie. It is fitted with the reranker on labelled
questions (`scripts/fit_adapter.py`): only the query side changes, so the documents' cached
embeddings stay valid.

An adapter knows the packs it was fitted for and applies only when most loaded packs are among
them; any other catalog is routed without one. Adapters ship as `adapters/*.npz` beside this
file; one that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import ast
import logging
import threading
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skillsrv.routing.shipped import ShippedFiles

log = logging.getLogger("skillsrv.routing")

FOLDER = Path(__file__).with_name("adapters")
MIN_SHARE = 0.5  # of the loaded packs that must be among an adapter's own
_NPY_MAGIC = b"\x93NUMPY"


class QueryAdapter:
    """One adapter: the packs it was fitted for, and its two matrices. Read from a file, the
    matrices load on first use: which packs it covers is all a router needs when it is made,
    and reading them would import numpy (a quarter of a second) before any query needs it."""

    def __init__(self, name: str, packs: Iterable[str], up: Any = None, down: Any = None, *,
                 path: Path | None = None) -> None:
        if (up is None) != (down is None) or (up is None and path is None):
            raise ValueError("an adapter needs both matrices, or the file that holds them")
        self.name = name
        self.packs = frozenset(packs)
        self._path = path
        self._matrices: tuple[Any, Any] | None = None if up is None else (up, down)
        self._lock = threading.Lock()
        self._failed = False  # warned that the matrices cannot be read

    @property
    def up(self) -> Any:
        """numpy float32, (dimensions, rank)"""
        return self._loaded()[0]

    @property
    def down(self) -> Any:
        return self._loaded()[1]

    def covers(self, pack_names: Iterable[str]) -> bool:
        """Whether it applies to a catalog of these packs: two or more, most of them its own."""
        loaded = set(pack_names)
        return len(loaded) >= 2 and len(loaded & self.packs) >= MIN_SHARE * len(loaded)

    def apply(self, vector: Any) -> Any:
        """The adapted query vector, unit length (a zero vector stays zero); the vector as it
        is when the file's matrices cannot be read after all."""
        try:
            up, down = self._loaded()
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            with self._lock:
                if not self._failed:
                    log.warning("%s: the query adapter's matrices cannot be read (%s); "
                                "routing goes on without it. Refit it with "
                                "scripts/fit_adapter.py", self._path, exc)
                self._failed = True
            return vector
        adapted = vector + up @ (down.T @ vector)
        norm = float((adapted @ adapted) ** 0.5)
        return adapted / norm if norm else adapted

    def _loaded(self) -> tuple[Any, Any]:
        with self._lock:
            if self._matrices is None:
                assert self._path is not None
                self._matrices = _read_matrices(self._path)
            return self._matrices


def save(path: Path, packs: Iterable[str], up: Any, down: Any) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez(file, packs=np.array(sorted(packs)), up=np.asarray(up, np.float32),
                 down=np.asarray(down, np.float32))


def read(path: Path) -> QueryAdapter:
    """One adapter file's packs, with its matrices' shapes checked (ValueError, OSError,
    KeyError or zipfile.BadZipFile when it is not one); the matrices load on first use."""
    with zipfile.ZipFile(path) as archive:
        descr, shape, data = _npy(archive, "packs.npy", whole=True)
        up_type, up, _ = _npy(archive, "up.npy")
        down_type, down, _ = _npy(archive, "down.npy")
    if not (descr.startswith("<U") and len(shape) == 1):
        raise ValueError(f"packs is {descr} {shape}, not a list of names")
    width = int(descr[2:]) * 4
    packs = [data[i * width:(i + 1) * width].decode("utf-32-le").rstrip("\0")
             for i in range(shape[0])]
    if len(up) != 2 or up != down or not up_type[1:] == down_type[1:] == "f4":
        raise ValueError(f"up {up_type} {up} and down {down_type} {down} are not two equal "
                         "float32 matrices")
    return QueryAdapter(path.stem, packs, path=path)


def _npy(archive: zipfile.ZipFile, name: str, *, whole: bool = False
         ) -> tuple[str, tuple[int, ...], bytes]:
    """A .npy member's dtype, shape and (with `whole`) data, read without numpy."""
    with archive.open(name) as member:
        found = member.read() if whole else member.read(4096)
    if not found.startswith(_NPY_MAGIC) or len(found) < 12:
        raise ValueError(f"{name} is not a numpy array")
    size_bytes = 2 if found[6] == 1 else 4
    start = 8 + size_bytes
    end = start + int.from_bytes(found[8:start], "little")
    header = ast.literal_eval(found[start:end].decode("latin1"))
    if not isinstance(header, dict) or header.get("fortran_order") is not False:
        raise ValueError(f"{name} has an unexpected header {header!r}")
    return str(header["descr"]), tuple(header["shape"]), found[end:]


def _read_matrices(path: Path) -> tuple[Any, Any]:
    import numpy as np

    with np.load(path, allow_pickle=False) as found:
        return found["up"].astype(np.float32), found["down"].astype(np.float32)


_files: ShippedFiles[QueryAdapter] = ShippedFiles(
    read, "a query adapter", "Refit it with scripts/fit_adapter.py")


def shipped(folder: Path = FOLDER) -> list[QueryAdapter]:
    """Every adapter in `folder`, read once per process."""
    return _files.load(folder)


def adapter_for(pack_names: Iterable[str], folder: Path = FOLDER) -> QueryAdapter | None:
    """The adapter that covers a catalog of these packs, if one does (the one sharing most
    packs with it when several do)."""
    names = set(pack_names)
    covering = [adapter for adapter in shipped(folder) if adapter.covers(names)]
    return max(covering, key=lambda adapter: len(adapter.packs & names), default=None)
