"""`ui.heap.settle`: a settle walks only what is newer than the frozen heap, and cycles frozen
with it are collected once the frozen heap has doubled (no Qt needed: it is the collector)."""

from __future__ import annotations

import gc
import weakref

from rbm_studio.ui import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_frozen_cycles_wait_for_the_heap_to_double_then_are_collected():
    heap.settle()
    kept = [Node() for _ in range(200)]
    refs = [weakref.ref(n) for n in kept]
    heap.settle()  # the nodes are alive here: frozen with the rest
    del kept
    gc.collect()  # an ordinary collection does not walk the frozen heap
    assert all(r() is not None for r in refs)
    heap.settle()  # little is new: the frozen heap has not doubled, the cycles wait
    assert all(r() is not None for r in refs)

    ballast = [[i] for i in range(2 * gc.get_freeze_count() + 1)]  # the live heap doubles
    heap.settle()
    assert all(r() is None for r in refs), "a full settle frees the frozen cycles"
    assert gc.get_freeze_count() > len(ballast)
    del ballast
    gc.unfreeze()
