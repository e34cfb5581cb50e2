"""Checked option types for the commands' argparse parsers: a value out of range is refused at
parse time with argparse's one-line error ("argument --seed: must be an integer in
0..4294967295, not '2**70'"), before a model loads or a sample is drawn, instead of a traceback
from numpy or JAX, or a silent fall-back to a default.

Each helper returns a callable for `add_argument(type=...)`; its `__name__` is what argparse
shows if it ever reports the type itself.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# Seeds go to `numpy.random.default_rng` and `jax.random.PRNGKey`; the training config keeps
# them below 2**32, so every command takes the same range.
SEED_MAX = 2**32 - 1
PROGRAM_MAX = 127  # General MIDI programs 0..127
PORT_MAX = 65_535


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in `low..high` (no upper end when `high` is None)."""
    span = f"in {low}..{high}" if high is not None else f"≥ {low}"

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be an integer {span}, not {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {span}, not {text}")
        return value

    parse.__name__ = f"integer {span}"
    return parse


def float_range(
    low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite number between `low` and `high` (each end included unless `*_open`)."""
    if math.isinf(high):
        span = f"{'>' if low_open else '≥'} {low:g}"
    else:
        span = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {span}, not {text!r}"
            ) from None
        inside = (
            math.isfinite(value)
            and (value > low if low_open else value >= low)
            and (value < high if high_open else value <= high)
        )
        if not inside:
            raise argparse.ArgumentTypeError(f"must be a finite number {span}, not {text}")
        return value

    parse.__name__ = f"number {span}"
    return parse


seed = int_range(0, SEED_MAX)
program = int_range(0, PROGRAM_MAX)
pitch = int_range(0, 127)  # MIDI note numbers
tempo = float_range(1.0, 1000.0)  # BPM, the player's range
positive_int = int_range(1)
positive_number = float_range(0.0, low_open=True)
