"""Keep the long-lived heap out of Python's cyclic collector, so a full collection never stalls
the GUI thread for a frame.

The window holds a large, long-lived heap (Qt wrappers, pyqtgraph items, JAX and the songs). A
full collection walks all of it while holding the GIL, and the training thread, or a burst of
edits, allocates fast enough to trigger one every few seconds: the timer and the piano roll then
fire tens of milliseconds late (`rbm-studio bench gui`, `bench gui --editing`). At the moments the
heap's long-lived part changes (start-up, an import, Train) the window collects and freezes what
survives (`gc.freeze`, CPython's tool for exactly this); later collections walk only what is
newer.

A settle collects only what is newer than the last freeze, so its cost follows what changed, not
the whole heap (a process that opens many windows, like the test suite, would otherwise walk
everything it ever froze at every settle). Frozen objects are still freed by reference counting;
only cycles among them wait, and they wait at most until the frozen heap has doubled since the
last full collection, when a settle unfreezes and collects everything once: amortised, like a
growing list, so the cycles held back never outweigh the live heap.
"""

from __future__ import annotations

import gc

_full_at = 0  # frozen objects after the last full collection


def settle() -> None:
    """Collect what is newer than the frozen heap, then freeze what survives out of later
    collections' walks; once the frozen heap has doubled, collect and freeze it all again."""
    global _full_at
    gc.collect()
    gc.freeze()
    if gc.get_freeze_count() > 2 * _full_at:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _full_at = gc.get_freeze_count()


def keep_alive_now() -> None:
    """Freeze what is alive now, without collecting first: cheap (CPython moves its generation
    lists whole), for moments that add to the long-lived heap many times a second. A piano-roll
    edit is one: its notes, and the notes it replaced, live on in the undo stack, so a burst of
    edits of a long song left full collections walking the growing history, each a stall of tens
    of milliseconds (`bench gui --editing`). A garbage cycle frozen here is freed at the next
    `settle` that collects everything."""
    gc.freeze()
