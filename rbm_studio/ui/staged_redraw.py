"""Redraw the training plots one at a time, never all in one pass of the event loop.

Qt paints every widget changed since the last paint in one go, and each plot costs the GUI thread
several milliseconds to paint (its axes above all). Four plots changed by one progress update
would hold the event loop for the sum of them, and a timer (the transport's, a mouse drag) would
fire that much late. Spreading the changes over consecutive short ticks keeps each pass to one
plot's paint.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

STAGGER_MS = 40  # between two plots' redraws: long enough for the first to be painted


class StagedRedraw(QObject):
    """Named redraw steps run one per tick, oldest first; a step queued again before it ran
    replaces the old one (only the latest data of a plot is drawn)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = STAGGER_MS) -> None:
        super().__init__(parent)
        self.pending: dict[str, Callable[[], None]] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.run_next)

    def queue(self, name: str, step: Callable[[], None]) -> None:
        """Run `step` now when no redraw ran within the last tick, else at a later tick."""
        self.pending[name] = step
        if not self.timer.isActive():
            self.run_next()
            self.timer.start()  # the next step waits at least one tick

    def run_next(self) -> None:
        """Run the oldest step; with none left the timer stops (the next `queue` runs at once)."""
        if not self.pending:
            self.timer.stop()
            return
        name = next(iter(self.pending))
        self.pending.pop(name)()

    def run_all(self) -> None:
        """Run every waiting step now (a run's end: everything must show)."""
        while self.pending:
            self.run_next()
        self.timer.stop()

    def clear(self) -> None:
        self.pending.clear()
        self.timer.stop()
