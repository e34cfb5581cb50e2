"""State matrices → the RBM's visible vectors: windows of consecutive rows, flattened row-major.

Window mode (the tutorial's): `window` rows of both planes, V = window · 2 · span.
Frame-level mode (the literature's polyphonic "RBM"): one row of the sounding plane re-placed on the
88 piano keys MIDI 21..108, V = 88.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoding import Encoding, StateMatrix
from .song import beats_per_bar as bar_length

PIANO_LOW = 21
PIANO_HIGH = 108


def model_encoding(data_encoding: Encoding, frame_level: bool) -> Encoding:
    """The encoding a model's visible layer uses for data in `data_encoding`."""
    if not frame_level:
        return data_encoding
    return Encoding(
        steps_per_beat=data_encoding.steps_per_beat,
        low=PIANO_LOW,
        high=PIANO_HIGH,
        out_of_range=data_encoding.out_of_range,
    )


def row_width(encoding: Encoding, frame_level: bool) -> int:
    """Visible units per grid row: both planes, or just the sounding plane in frame-level mode."""
    return encoding.span if frame_level else encoding.width


def common_encoding(matrices: Sequence[StateMatrix]) -> Encoding:
    """The one encoding all matrices share; mixing grids or pitch ranges is a caller error."""
    if not matrices:
        raise ValueError("no songs to learn from")
    enc = matrices[0].encoding
    for m in matrices[1:]:
        if m.encoding != enc:
            raise ValueError(f"songs use different encodings: {enc} and {m.encoding}")
    return enc


def model_rows(matrix: StateMatrix, frame_level: bool) -> np.ndarray:
    """The rows a model sees: the whole matrix, or (frame level) its sounding plane on 88 keys."""
    if not frame_level:
        return matrix.data
    enc = matrix.encoding
    out = np.zeros((matrix.steps, PIANO_HIGH - PIANO_LOW + 1), dtype=np.uint8)
    lo, hi = max(enc.low, PIANO_LOW), min(enc.high, PIANO_HIGH)
    if lo <= hi:
        out[:, lo - PIANO_LOW : hi - PIANO_LOW + 1] = matrix.sounding[
            :, lo - enc.low : hi - enc.low + 1
        ]
    return out


def to_onset_sustain(rows: np.ndarray, span: int) -> np.ndarray:
    """[sounding | struck] rows as [onset | sustain]: a pitch is struck, held on from the step
    before, or off. Every consistent row has at most one of the two set per pitch, and a held
    note depends on the step before linearly, which is what a model's previous-step links see."""
    sounding = rows[:, :span] > 0
    onset = (rows[:, span : 2 * span] > 0) & sounding
    return np.concatenate([onset, sounding & ~onset], axis=1).astype(rows.dtype)


def from_onset_sustain(rows: np.ndarray, span: int) -> np.ndarray:
    """The inverse of `to_onset_sustain` (a sustain with nothing before it starts a note)."""
    onset = rows[:, :span] > 0
    sounding = onset | (rows[:, span : 2 * span] > 0)
    prev = np.zeros_like(sounding)
    prev[1:] = sounding[:-1]
    struck = onset | (sounding & ~prev)
    return np.concatenate([sounding, struck], axis=1).astype(rows.dtype)


MAX_BEATS = 8  # beats per bar told apart by the bar-position context (later beats share the last)


def bar_position_width(steps_per_beat: int) -> int:
    """Context units per step: one per grid step of a beat, one per beat of a bar."""
    return int(steps_per_beat) + MAX_BEATS


def bar_positions(steps: int, steps_per_beat: int, beats_per_bar: int) -> np.ndarray:
    """Where each grid step falls in its bar, as [steps, steps_per_beat + MAX_BEATS] 0/1 rows:
    which step of the beat (one-hot) and which beat of the bar (one-hot). A model reads these
    next to the notes, so it can learn that chords change on beats and notes start on the grid
    of eighths and quarters; they are given, never sampled."""
    spb = max(1, int(steps_per_beat))
    t = np.arange(steps)
    out = np.zeros((steps, spb + MAX_BEATS), np.float32)
    out[t, t % spb] = 1.0
    beat = np.minimum((t // spb) % max(1, int(beats_per_bar)), MAX_BEATS - 1)
    out[t, spb + beat] = 1.0
    return out


def beats_per_bar(time_signature: tuple[int, int]) -> int:
    """Whole quarter-note beats the bar-position context tells apart in a bar of this metre
    (6/8 → 3), at least one: the bar's length (`song.beats_per_bar`) rounded."""
    return max(1, round(bar_length(time_signature)))


def transpose_rows(rows: np.ndarray, shift: int, planes: int) -> np.ndarray:
    """Shift every plane's pitch columns by `shift` semitones; notes pushed off the range vanish."""
    if shift == 0:
        return rows
    steps, width = rows.shape
    span = width // planes
    out = np.zeros_like(rows)
    for p in range(planes):
        src = rows[:, p * span : (p + 1) * span]
        dst = out[:, p * span : (p + 1) * span]
        if abs(shift) >= span:
            continue
        if shift > 0:
            dst[:, shift:] = src[:, : span - shift]
        else:
            dst[:, : span + shift] = src[:, -shift:]
    return out


def extract_windows(
    matrices: Sequence[StateMatrix],
    *,
    window: int,
    stride: int,
    frame_level: bool = False,
    transpose: int = 0,
) -> np.ndarray:
    """All training windows as uint8 [N, window·row_width]. Songs shorter than a window give none;
    `transpose` > 0 adds copies shifted by every non-zero amount in -transpose..+transpose."""
    if window < 1 or stride < 1:
        raise ValueError("window and stride must be at least 1")
    enc = model_encoding(common_encoding(matrices), frame_level)
    width = row_width(enc, frame_level)
    planes = 1 if frame_level else 2
    shifts = [0] + [s for k in range(1, transpose + 1) for s in (k, -k)]
    chunks: list[np.ndarray] = []
    for m in matrices:
        rows = model_rows(m, frame_level)
        if rows.shape[0] < window:
            continue
        for shift in shifts:
            shifted = transpose_rows(rows, shift, planes)
            view = np.lib.stride_tricks.sliding_window_view(shifted, (window, width))[::stride, 0]
            chunks.append(view.reshape(view.shape[0], window * width))
    if not chunks:
        return np.zeros((0, window * width), dtype=np.uint8)
    return np.ascontiguousarray(np.concatenate(chunks, axis=0), dtype=np.uint8)


def windows_to_rows(visible: np.ndarray, window: int) -> np.ndarray:
    """Inverse of the flattening: [N, window·w] → [N·window, w] consecutive rows."""
    visible = np.asarray(visible)
    n = visible.shape[0]
    return visible.reshape(n * window, visible.shape[1] // window)


def rows_to_state_data(rows: np.ndarray, encoding: Encoding, frame_level: bool) -> np.ndarray:
    """Model rows → full state-matrix columns (frame level: struck plane all zero, to be derived
    by `canonicalize`)."""
    rows = np.asarray(rows, dtype=np.uint8)
    if not frame_level:
        return rows
    return np.concatenate([rows, np.zeros_like(rows)], axis=1)


def augment_windows(visible: np.ndarray, window: int, transpose: int, planes: int) -> np.ndarray:
    """`visible` plus copies transposed by every non-zero shift in -transpose..+transpose."""
    if transpose <= 0 or visible.shape[0] == 0:
        return visible
    n = visible.shape[0]
    rows = windows_to_rows(visible, window)
    copies = [visible]
    for k in range(1, transpose + 1):
        for shift in (k, -k):
            copies.append(transpose_rows(rows, shift, planes).reshape(n, -1))
    return np.concatenate(copies, axis=0)
