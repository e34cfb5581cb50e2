"""Wall-clock timestamps of start-up milestones ("window_shown", "self_test_done"), for measuring.

`tools/startup_timing.py` launches the app (from source and frozen) with `RBM_STUDIO_STARTUP_LOG`
pointing at a file and compares the marks with the moment it started the process, so launch time
is measured from outside (bootloader, interpreter and imports included). Without the variable,
`mark()` does nothing.
"""

from __future__ import annotations

import os
import sys
import time

ENV_VAR = "RBM_STUDIO_STARTUP_LOG"


def mark(event: str) -> None:
    """Append `<event> <unix time>` to the file named by $RBM_STUDIO_STARTUP_LOG, if set."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{event} {time.time():.6f}\n")
    except OSError as exc:
        print(f"rbm-studio: cannot write start-up mark to {path}: {exc}", file=sys.stderr)


def read_marks(path: str | os.PathLike) -> dict[str, float]:
    """The marks in a log file as {event: unix time} (the last one wins if repeated)."""
    marks: dict[str, float] = {}
    with open(path, encoding="utf-8") as log:
        for line in log:
            event, _, stamp = line.strip().rpartition(" ")
            if event:
                marks[event] = float(stamp)
    return marks
