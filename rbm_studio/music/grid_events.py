"""Notes on the grid as compact event rows, and state matrices built from them in bulk.

An event row is `(on, off, column, velocity)` in grid steps. It is how the importer encodes songs
(vectorised, so a 10,000-note song costs a few numpy calls rather than a Python loop over a
matrix) and how the import cache stores them (a few bytes per note instead of a dense matrix).
`place_notes` + `matrix_arrays` give exactly what `encoding.encode` gives; the tests check it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoding import Encoding
from .song import Song


@dataclass(frozen=True, slots=True)
class GridNotes:
    """A song's notes on the grid: `events` int32[n, 4] for the notes kept, plus what `encode`
    reports: the number of steps and how many notes were folded or dropped."""

    events: np.ndarray
    steps: int
    folded: int
    dropped: int


def place_notes(song: Song, enc: Encoding) -> GridNotes:
    """Vectorised `encode` placement: onsets and ends round to the nearest step, every note lasts
    at least one step, out-of-range pitches fold by octaves or drop, velocities clamp to 1..127."""
    n = len(song.notes)
    table = np.fromiter(
        (v for note in song.notes for v in (note.start, note.end, note.pitch, note.velocity)),
        dtype=np.float64,
        count=4 * n,
    ).reshape(n, 4)
    spb = enc.steps_per_beat
    on = np.round(table[:, 0] * spb).astype(np.int64)
    off = np.maximum(np.round(table[:, 1] * spb).astype(np.int64), on + 1)
    pitch = table[:, 2].astype(np.int64)
    outside = (pitch < enc.low) | (pitch > enc.high)
    if enc.out_of_range == "drop":
        keep = ~outside
        folded = 0
    else:
        keep = np.ones(n, dtype=bool)
        octaves_up = -((pitch - enc.low) // 12)  # ceil((low - pitch) / 12)
        octaves_down = -((enc.high - pitch) // 12)
        pitch = np.where(pitch < enc.low, pitch + 12 * octaves_up, pitch)
        pitch = np.where(pitch > enc.high, pitch - 12 * octaves_down, pitch)
        folded = int(outside.sum())
    velocity = np.clip(table[:, 3].astype(np.int64), 1, 127)
    events = np.stack([on, off, pitch - enc.low, velocity], axis=1)[keep].astype(np.int32)
    return GridNotes(
        events=events.reshape(-1, 4),
        steps=int(off.max()) if n else 0,
        folded=folded,
        dropped=int(n - keep.sum()),
    )


def events_valid(events: np.ndarray, steps: int, enc: Encoding) -> bool:
    """Whether untrusted events (e.g. read from disk) fit a `steps`-row matrix of `enc`."""
    if events.ndim != 2 or events.shape[1] != 4 or steps < 0:
        return False
    if not len(events):
        return True
    on, off, col, vel = (events[:, i] for i in range(4))
    return bool(
        on.min() >= 0
        and (off > on).all()
        and off.max() <= steps
        and col.min() >= 0
        and col.max() < enc.span
        and vel.min() >= 0
        and vel.max() <= 127
    )


def matrix_arrays(events: np.ndarray, steps: int, enc: Encoding) -> tuple[np.ndarray, np.ndarray]:
    """State matrix `data` uint8[steps, 2*span] and `velocities` uint8[steps, span] for events
    (which must satisfy `events_valid`)."""
    span = enc.span
    on, off, col, vel = (events[:, i].astype(np.int64) for i in range(4))
    data = np.zeros((steps, 2 * span), dtype=np.uint8)
    lengths = off - on
    total = int(lengths.sum())
    if total <= steps * span:
        # Cheap when notes are short or few: one write per sounding cell.
        first = np.cumsum(lengths) - lengths
        rows = np.repeat(on - first, lengths) + np.arange(total)
        data[rows, np.repeat(col, lengths)] = 1
    else:
        # Many long overlapping notes: count open notes per cell instead.
        edges = np.zeros((steps + 1, span), dtype=np.int32)
        np.add.at(edges, (on, col), 1)
        np.add.at(edges, (off, col), -1)
        data[:, :span] = np.cumsum(edges[:steps], axis=0) > 0
    data[on, span + col] = 1
    velocities = np.zeros((steps, span), dtype=np.uint8)
    np.maximum.at(velocities, (on, col), vel.astype(np.uint8))
    return data, velocities


def events_from_matrix(data: np.ndarray, velocities: np.ndarray | None, span: int) -> np.ndarray:
    """Event rows that `matrix_arrays` turns back into exactly this canonical matrix: one row per
    struck cell, lasting until the pitch is silent or struck again, with that cell's velocity."""
    data = np.asarray(data)
    steps = data.shape[0]
    sounding = np.zeros((span, steps + 1), dtype=bool)  # a silent column closes every run
    sounding[:, :steps] = data[:, :span].T > 0
    starts = np.zeros_like(sounding)
    starts[:, :steps] = data[:, span : 2 * span].T > 0
    starts &= sounding
    starts[:, 1:] |= sounding[:, 1:] & ~sounding[:, :-1]
    starts[:, 0] |= sounding[:, 0]
    start_idx = np.flatnonzero(starts)
    bounds = np.flatnonzero(starts | ~sounding)
    end_idx = bounds[np.searchsorted(bounds, start_idx, side="right")]
    col, on = np.divmod(start_idx, steps + 1)
    off = end_idx - col * (steps + 1)
    vel = np.zeros_like(on) if velocities is None else np.asarray(velocities)[on, col]
    return np.stack([on, off, col, vel], axis=1).astype(np.int32).reshape(-1, 4)
