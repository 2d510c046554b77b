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

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillsrv.routing.shipped import ShippedFiles

log = logging.getLogger("skillsrv.routing")

FOLDER = Path(__file__).with_name("adapters")
MIN_SHARE = 0.5  # of the loaded packs that must be among an adapter's own


@dataclass(frozen=True)
class QueryAdapter:
    name: str
    packs: frozenset[str]  # the packs whose evals it was fitted on
    up: Any  # numpy float32, (dimensions, rank)
    down: Any

    def covers(self, pack_names: Iterable[str]) -> bool:
        """Whether it applies to a catalog of these packs: two or more, most of them its own."""
        loaded = set(pack_names)
        return len(loaded) >= 2 and len(loaded & self.packs) >= MIN_SHARE * len(loaded)

    def apply(self, vector: Any) -> Any:
        """The adapted query vector, unit length (a zero vector stays zero)."""
        adapted = vector + self.up @ (self.down.T @ vector)
        norm = float((adapted @ adapted) ** 0.5)
        return adapted / norm if norm else adapted


def save(path: Path, packs: Iterable[str], up: Any, down: Any) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez(file, packs=np.array(sorted(packs)), up=np.asarray(up, np.float32),
                 down=np.asarray(down, np.float32))


def read(path: Path) -> QueryAdapter:
    """One adapter file (ValueError, OSError or KeyError when it is not one)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as found:
        up, down = found["up"].astype(np.float32), found["down"].astype(np.float32)
        packs = frozenset(str(name) for name in found["packs"])
    if up.ndim != 2 or up.shape != down.shape:
        raise ValueError(f"up {up.shape} and down {down.shape} are not two equal matrices")
    return QueryAdapter(path.stem, packs, up, down)


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
