"""Simple statistics that tell generated songs from the music they were learned from.

Listening is the real test; these numbers make the comparison repeatable: which pitch classes are
used (harmony/key), how many notes sound at once (texture), how many notes start per step (rhythmic
density), and how often whole bars repeat (structure or getting stuck).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .encoding import StateMatrix
from .song import steps_per_bar


@dataclass(frozen=True, slots=True)
class MusicStats:
    """Averages over a set of songs (see the module doc for what each one shows)."""

    songs: int
    steps: int
    pitch_classes: tuple[float, ...]  # share of note onsets on C, C#, ..., B
    mean_polyphony: float  # notes sounding per step, over steps where anything sounds
    silence: float  # share of steps where nothing sounds
    onsets_per_step: float
    bar_repetition: float  # share of bars identical to an earlier bar of the same song
    pitch_range: tuple[int, int]  # lowest and highest MIDI pitch played (0, 0) when none

    def to_dict(self) -> dict:
        return asdict(self)


def pitch_class_histogram(matrices: Sequence[StateMatrix]) -> np.ndarray:
    """Share of note onsets per pitch class (C = 0), summing to 1 (all zero without notes)."""
    counts = np.zeros(12, np.float64)
    for m in matrices:
        onsets = m.struck.sum(axis=0)
        pitches = m.encoding.low + np.arange(m.encoding.span)
        np.add.at(counts, pitches % 12, onsets)
    total = counts.sum()
    return counts / total if total else counts


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two pitch-class histograms: 0 same, 1 disjoint."""
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def bar_steps(matrix: StateMatrix) -> int:
    """Grid steps per bar from the song's time signature and grid."""
    return steps_per_bar(matrix.time_signature, matrix.encoding.steps_per_beat)


def music_stats(matrices: Sequence[StateMatrix]) -> MusicStats:
    """The statistics of a set of songs (see `MusicStats`)."""
    steps = sum(m.steps for m in matrices)
    sounding_counts = [m.sounding.sum(axis=1) for m in matrices if m.steps]
    counts = np.concatenate(sounding_counts) if sounding_counts else np.zeros(0)
    active = counts[counts > 0]
    onsets = sum(int(m.struck.sum()) for m in matrices)
    repeated = bars = 0
    lo, hi = 128, -1
    for m in matrices:
        per_bar = bar_steps(m)
        seen: set[bytes] = set()
        for start in range(0, m.steps - per_bar + 1, per_bar):
            block = m.data[start : start + per_bar]
            if not block.any():
                continue
            key = block.tobytes()
            bars += 1
            repeated += key in seen
            seen.add(key)
        used = np.flatnonzero(m.sounding.any(axis=0))
        if len(used):
            lo = min(lo, m.encoding.low + int(used[0]))
            hi = max(hi, m.encoding.low + int(used[-1]))
    return MusicStats(
        songs=len(matrices),
        steps=int(steps),
        pitch_classes=tuple(float(x) for x in pitch_class_histogram(matrices)),
        mean_polyphony=float(active.mean()) if len(active) else 0.0,
        silence=float((counts == 0).mean()) if len(counts) else 1.0,
        onsets_per_step=onsets / steps if steps else 0.0,
        bar_repetition=repeated / bars if bars else 0.0,
        pitch_range=(lo, hi) if hi >= 0 else (0, 0),
    )
