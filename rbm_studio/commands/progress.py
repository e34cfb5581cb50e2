"""A dependency-free progress bar for headless commands, always on stderr so stdout stays clean
for `--json`. On a terminal it redraws one line; otherwise (CI logs, pipes) it prints a plain line
at most every few seconds and at the end, so logs stay short."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_LOG_INTERVAL_S = 5.0
_REDRAW_INTERVAL_S = 0.1


class ProgressBar:
    """`ProgressBar(total, label)`; call `update(n, text)` with the count done so far, then `close()`.

    Usable as a context manager. `total` may be 0 (unknown), then only the count is shown.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.text = ""
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._drawn_width = 0
        self._closed = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int, text: str = "") -> None:
        """Set the number of items done (absolute, not an increment) and an optional detail text."""
        self.done = max(int(n), 0)
        self.text = text
        if not self.enabled or self._closed:
            return
        now = time.monotonic()
        finished = self.total and self.done >= self.total
        interval = _REDRAW_INTERVAL_S if self.tty else _LOG_INTERVAL_S
        if now - self._last_draw >= interval or (finished and self.tty):
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        self._draw(time.monotonic(), final=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, now: float, width: int) -> str:
        elapsed = now - self._start
        parts = [self.label] if self.label else []
        if self.total:
            frac = min(self.done / self.total, 1.0)
            if self.tty:
                bar_width = max(10, min(30, width - len(self.label) - len(self.text) - 30))
                filled = int(round(frac * bar_width))
                parts.append("[" + "#" * filled + "-" * (bar_width - filled) + "]")
            parts.append(f"{self.done}/{self.total} {frac:4.0%} {elapsed:5.1f}s")
        else:
            parts.append(f"{self.done} {elapsed:5.1f}s")
        if self.text:
            parts.append(self.text)
        line = " ".join(parts)
        return line[: width - 1] if self.tty else line

    def _draw(self, now: float, final: bool = False) -> None:
        self._last_draw = now
        if self.tty:
            width = shutil.get_terminal_size((80, 20)).columns
            line = self._line(now, width)
            pad = " " * max(self._drawn_width - len(line), 0)
            self.stream.write("\r" + line + pad)
            self._drawn_width = len(line)
        else:
            self.stream.write(self._line(now, 0) + "\n")
        self.stream.flush()
