"""Dynamics learned from songs: the typical velocity of a note by where it falls in the bar and
how high it is.

The grid the models learn has no loudness, so a generated note would play at one velocity. What
makes a part breathe in a DAW is mostly where its accents fall — downbeats louder than offbeats,
a melody over its accompaniment — so the training songs' median velocity per metric position
(downbeat, other beat, half beat, the rest) and register (low, middle, high) is small enough to
keep in a model file and gives generated notes the songs' accents. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoding import StateMatrix
from .stats import bar_steps

POSITIONS = ("downbeat", "beat", "half beat", "other")
REGISTER_EDGES = (48, 72)  # MIDI pitches where the middle and high registers begin
MAX_DYNAMICS_SONGS = 400


def position_class(step: np.ndarray, bar: int, steps_per_beat: int) -> np.ndarray:
    """Each grid step's metric position (an index of `POSITIONS`)."""
    in_bar = np.asarray(step) % bar
    out = np.full(in_bar.shape, 3)
    half = max(1, steps_per_beat // 2)
    out[(in_bar % half == 0) & (steps_per_beat % 2 == 0)] = 2
    out[in_bar % steps_per_beat == 0] = 1
    out[in_bar == 0] = 0
    return out


def register_class(pitch: np.ndarray) -> np.ndarray:
    """Each MIDI pitch's register (0 low, 1 middle, 2 high)."""
    return np.searchsorted(np.array(REGISTER_EDGES), np.asarray(pitch), side="right")


def learn_dynamics(songs: Sequence[StateMatrix]) -> dict | None:
    """`{"velocity": [[median per register] per position]}` of the songs' struck notes (a cell
    no note fell in takes the overall median), or None when no song has velocities."""
    positions, registers, velocities = [], [], []
    for m in songs[:MAX_DYNAMICS_SONGS]:
        if m.velocities is None:
            continue
        step, col = np.nonzero(m.velocities)
        positions.append(position_class(step, bar_steps(m), m.encoding.steps_per_beat))
        registers.append(register_class(m.encoding.low + col))
        velocities.append(m.velocities[step, col])
    if not velocities or not sum(len(v) for v in velocities):
        return None
    pos, reg, vel = (np.concatenate(x) for x in (positions, registers, velocities))
    overall = int(np.median(vel))
    table = [
        [
            int(np.median(vel[(pos == p) & (reg == r)]))
            if ((pos == p) & (reg == r)).any()
            else overall
            for r in range(len(REGISTER_EDGES) + 1)
        ]
        for p in range(len(POSITIONS))
    ]
    return {"velocity": table}


def dynamics_problem(value: object) -> str | None:
    """Why a stored dynamics table (a model file's `dataset["dynamics"]`) is not one
    `learn_dynamics` writes (one line), or None."""
    rows = value.get("velocity") if isinstance(value, dict) else None
    if (
        not isinstance(rows, list)
        or len(rows) != len(POSITIONS)
        or not all(isinstance(r, list) and len(r) == len(REGISTER_EDGES) + 1 for r in rows)
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 127
            for r in rows
            for v in r
        )
    ):
        return (
            f"must be {{'velocity': {len(POSITIONS)} rows of {len(REGISTER_EDGES) + 1} "
            "velocities 1..127}"
        )
    return None


def with_dynamics(matrix: StateMatrix, stored: object, first_step: int = 0) -> StateMatrix:
    """`matrix` with the stored typical velocity on every note struck from `first_step` on
    (earlier velocities, a primer's, stay); the matrix itself when nothing is stored."""
    if dynamics_problem(stored) is not None:
        return matrix
    table = np.array(stored["velocity"], np.uint8)
    enc = matrix.encoding
    struck = (matrix.data[:, enc.span :] > 0) & (matrix.data[:, : enc.span] > 0)
    struck[:first_step] = False
    step, col = np.nonzero(struck)
    velocities = (
        np.zeros((matrix.steps, enc.span), np.uint8)
        if matrix.velocities is None
        else matrix.velocities.copy()
    )
    pos = position_class(step, bar_steps(matrix), enc.steps_per_beat)
    velocities[step, col] = table[pos, register_class(enc.low + col)]
    matrix.velocities = velocities
    return matrix
