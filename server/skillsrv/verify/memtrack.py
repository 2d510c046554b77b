"""Live-bytes tracking at the dispatcher: the same numbers on fake and on real CPU tensors.

Imported only inside the verification worker (it imports torch).

Every tensor an operator returns has a storage. The tracker counts each storage once, when it
is first seen, and a weakref finalizer on the storage subtracts its bytes when it dies. Under
FakeTensorMode the storages are meta storages with the real sizes, so the peak is the same as the
same tracker's on real CPU tensors (tests check it byte for byte). Allocations inside kernels
that never surface as tensors (oneDNN scratchpads, cuBLAS workspaces) are invisible to both.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_aten = torch.ops.aten
_REDUCED = (torch.bfloat16, torch.float16)
# CPU batch-norm kernels keep their saved mean/invstd in fp32 for bf16/fp16 inputs; the meta
# kernels say bf16/fp16. Count them as the real kernels allocate them.
_BATCH_NORM = {_aten.native_batch_norm.default, _aten._native_batch_norm_legit.default,
               _aten._native_batch_norm_legit_functional.default,
               _aten._native_batch_norm_legit.no_stats}


class MemoryTracker(TorchDispatchMode):
    """Current and peak live bytes of tensor storages created while active.

    `block` rounds each storage up (512 for the CUDA caching allocator). The set of storages live
    at the peak is kept (`peak_ids`) so the peak can be split into parameters, gradients,
    optimizer state, inputs and activations afterwards.
    """

    def __init__(self, block: int = 1) -> None:
        super().__init__()
        self.block = block
        self.current = 0
        self.peak = 0
        self._live: dict[int, list[int]] = {}  # storage key -> [uid, bytes]
        self._uids = itertools.count()
        self._at_peak = False
        self._peak_ids: dict[int, int] | None = None
        self.active = True

    # -- accounting
    def _size(self, nbytes: int) -> int:
        if self.block > 1 and nbytes:
            return -(-nbytes // self.block) * self.block
        return nbytes

    def _free(self, key: int) -> None:
        if not self.active:
            return
        entry = self._live.get(key)
        if entry is None:
            return
        if self._at_peak:
            self._peak_ids = {uid: size for uid, size in self._live.values()}
            self._at_peak = False
        del self._live[key]
        self.current -= entry[1]

    def _grow(self, size: int) -> None:
        self.current += size
        if self.current >= self.peak:
            self.peak = self.current
            self._at_peak = True

    def track(self, tensor: torch.Tensor, nbytes: int | None = None) -> None:
        storage = tensor.untyped_storage()
        key = storage._cdata
        size = self._size(storage.nbytes() if nbytes is None else nbytes)
        entry = self._live.get(key)
        if entry is not None:
            if size > entry[1]:  # resized in place (resize_, out= variants)
                self._grow(size - entry[1])
                entry[1] = size
            return
        self._live[key] = [next(self._uids), size]
        weakref.finalize(storage, self._free, key)
        self._grow(size)

    def track_all(self, tensors: Iterable[torch.Tensor]) -> None:
        for tensor in tensors:
            self.track(tensor)

    def reset_peak(self) -> None:
        self.peak = self.current
        self._at_peak = True
        self._peak_ids = None

    def peak_ids(self) -> dict[int, int]:
        """uid -> bytes of the storages live at the peak."""
        if self._at_peak or self._peak_ids is None:
            return {uid: size for uid, size in self._live.values()}
        return self._peak_ids

    def uid(self, tensor: torch.Tensor) -> int | None:
        entry = self._live.get(tensor.untyped_storage()._cdata)
        return entry[0] if entry else None

    def close(self) -> None:
        self.active = False

    # -- dispatch
    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if func in _BATCH_NORM and isinstance(out, tuple) and args \
                and args[0].dtype in _REDUCED:
            for i, t in enumerate(out):
                if isinstance(t, torch.Tensor):
                    self.track(t, t.numel() * 4 if i in (1, 2) else None)
            return out
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


def breakdown(tracker: MemoryTracker, groups: dict[str, Iterable[torch.Tensor]]) -> dict[str, int]:
    """Split the tracker's peak into named groups of tensors (first group wins); the rest is
    'activations'."""
    at_peak = tracker.peak_ids()
    result = {"peak": tracker.peak}
    claimed: set[int] = set()
    for name, tensors in groups.items():
        total = 0
        for tensor in tensors:
            uid = tracker.uid(tensor)
            if uid is None or uid in claimed or uid not in at_peak:
                continue
            claimed.add(uid)
            total += at_peak[uid]
        result[name] = total
    result["activations"] = sum(size for uid, size in at_peak.items() if uid not in claimed)
    return result
