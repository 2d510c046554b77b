"""Keeping a loaded catalog out of the cyclic garbage collector's way.

A loaded corpus and its routing index are a few hundred thousand containers holding millions
of references that live as long as the process. Every full collection walks all of them:
60-100 ms on the 46-pack corpus, landing inside whichever query happened to allocate last
(one route in a few hundred took 50 times its usual time). Frozen, they are skipped; they
are still freed by reference counting when a reload drops them.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def freeze_long_lived() -> None:
    """Collect what is garbage now, then move everything still alive into the collector's
    permanent generation. Call it when what was loaded is what will stay (after start-up,
    after a reload swapped the old state out): unfreezing first lets the old state's
    reference cycles be collected once rather than kept forever."""
    with _lock:  # two threads interleaving unfreeze and freeze would be harmless but wasteful
        gc.unfreeze()
        gc.collect()
        gc.freeze()
