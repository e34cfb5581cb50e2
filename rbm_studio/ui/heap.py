"""Keep the long-lived heap out of Python's cyclic collector, so a full collection never stalls
the GUI thread for a frame.

The window holds a large, long-lived heap (Qt wrappers, pyqtgraph items, JAX and the songs). A
full collection walks all of it while holding the GIL, and the training thread, or a burst of
edits, allocates fast enough to trigger one every few seconds: the timer and the piano roll then
fire tens of milliseconds late (`rbm-studio bench gui`, `bench gui --editing`). At the moments the
heap's long-lived part changes (start-up, an import, Train) the window collects once and freezes
what survives (`gc.freeze`, CPython's tool for exactly this); later collections walk only what is
newer. Each settle first unfreezes, so garbage from what the previous settle froze is collected
then, and nothing leaks for longer than until the next settle.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect everything once, then freeze what survives out of later collections' walks."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
