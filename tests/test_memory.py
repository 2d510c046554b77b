"""Freezing what was loaded: garbage made before is collected, what is alive is frozen, and what
was frozen and has died since (a replaced state) is collected by the next freeze."""

from __future__ import annotations

import gc
import weakref

from skillsrv.memory import freeze_long_lived


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    first = Node()
    first.other = Node()
    first.other.other = first  # only the cyclic collector can free these
    return first


def test_freezing_collects_the_garbage_cycles_first_and_freezes_what_is_alive() -> None:
    garbage = cycle()
    dropped = weakref.ref(garbage)
    del garbage
    kept = cycle()
    freeze_long_lived()
    assert dropped() is None
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert kept.other is not None and kept.other.other is kept


def test_a_frozen_cycle_that_dies_later_is_collected_by_the_next_freeze() -> None:
    old_state = cycle()
    freeze_long_lived()
    dropped = weakref.ref(old_state)
    del old_state
    gc.collect()
    assert dropped() is not None  # frozen: an ordinary collection does not look at it
    freeze_long_lived()
    assert dropped() is None
