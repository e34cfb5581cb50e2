"""Joint limits: what a request needs in memory, estimated before any work starts, against what
the machine has free. Each option alone may be in range while together they ask for far more
than fits (hidden × visible, songs × steps); refusing up front gives a clear line instead of a
MemoryError or an XLA abort minutes later."""

from __future__ import annotations

import os

from .config import TrainingConfig

GIB = 2**30
USABLE_SHARE = 0.8  # of the memory free now


def available_bytes() -> int | None:
    """Memory free for a new allocation (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_fits(what: str, needed: int) -> str | None:
    """A one-line refusal when `needed` bytes will not fit in the free memory; else None."""
    free = available_bytes()
    if free is None or needed <= USABLE_SHARE * free:
        return None
    return (
        f"{what} needs about {needed / GIB:.1f} GB of memory and {free / GIB:.1f} GB is free; "
        "ask for less"
    )


def training_bytes(config: TrainingConfig, visible: int, total_steps: int) -> int:
    """Weights with their gradient, momentum, best and host copies (8 × V × H floats), a batch's
    activations through k Gibbs steps, and the songs themselves as float32 windows' source."""
    hidden = int(config.hidden)
    params = 8 * 4 * (visible * hidden + visible + hidden)
    batch = int(config.batch_size) * (visible + hidden) * 4 * (4 + 2 * int(config.cd_k))
    songs = 4 * total_steps * max(visible // max(int(config.effective_window), 1), 1)
    return params + batch + songs


def check_training(config: TrainingConfig, visible: int, total_steps: int) -> str | None:
    return check_fits(
        f"training {visible} visible × {config.hidden} hidden units",
        training_bytes(config, visible, total_steps),
    )
