"""Song ⇄ state matrix: the binary piano roll the RBM learns from.

A state matrix is `uint8[steps, 2*span]`: columns `[sounding(span) | struck(span)]`, one row per grid
step (`steps_per_beat` steps per quarter note), column `j` of each plane is MIDI pitch `low + j`.
The grid and pitch range travel with every matrix (`StateMatrix.encoding`), so nothing downstream
has to guess them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .song import DEFAULT_BPM, DEFAULT_VELOCITY, Note, Song, TempoChange, TimeSignature

OutOfRange = Literal["fold", "drop"]


@dataclass(frozen=True, slots=True)
class Encoding:
    """How songs become matrices: grid resolution, pitch range (inclusive) and out-of-range policy."""

    steps_per_beat: int = 4
    low: int = 24
    high: int = 101
    out_of_range: OutOfRange = "fold"

    def __post_init__(self) -> None:
        if self.steps_per_beat < 1:
            raise ValueError("steps_per_beat must be at least 1")
        if not 0 <= self.low <= self.high <= 127:
            raise ValueError(f"pitch range {self.low}..{self.high} is not inside MIDI 0..127")
        if self.out_of_range == "fold" and self.span < 12:
            raise ValueError("folding by octaves needs a pitch range of at least 12 notes")
        if self.out_of_range not in ("fold", "drop"):
            raise ValueError(f"out_of_range must be 'fold' or 'drop', not {self.out_of_range!r}")

    @property
    def span(self) -> int:
        """Number of pitches (78 for the default MIDI 24..101)."""
        return self.high - self.low + 1

    @property
    def width(self) -> int:
        """Columns of a state matrix: sounding and struck planes."""
        return 2 * self.span

    def to_dict(self) -> dict:
        return {
            "steps_per_beat": self.steps_per_beat,
            "low": self.low,
            "high": self.high,
            "out_of_range": self.out_of_range,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Encoding:
        return cls(
            steps_per_beat=int(data["steps_per_beat"]),
            low=int(data["low"]),
            high=int(data["high"]),
            out_of_range=data.get("out_of_range", "fold"),
        )


DEFAULT_ENCODING = Encoding()
MAX_STEPS_PER_BEAT = 96  # finer than any MIDI file's timing needs


def encoding_problem(value: object) -> str | None:
    """Why a stored encoding (a corpus's, a model file's `Encoding.to_dict()`) is not one this
    version can use (one line), or None. Whole numbers only: `from_dict` would round 4.5 to 4."""
    if not isinstance(value, dict):
        return f"must be an object, not {type(value).__name__}"
    for key, lo, hi in (
        ("steps_per_beat", 1, MAX_STEPS_PER_BEAT),
        ("low", 0, 127),
        ("high", 0, 127),
    ):
        if key not in value:
            return f"has no {key!r}"
        v = value[key]
        if isinstance(v, bool) or not isinstance(v, int):
            return f"{key} must be a whole number, not {type(v).__name__}"
        if not lo <= v <= hi:
            return f"{key} must be between {lo} and {hi}, not {v}"
    if not isinstance(value.get("out_of_range", "fold"), str):
        return "out_of_range must be 'fold' or 'drop'"
    try:
        Encoding.from_dict(value)
    except (KeyError, TypeError, ValueError) as exc:
        return str(exc)
    return None


@dataclass(slots=True)
class StateMatrix:
    """A song on the grid. `velocities` (uint8[steps, span], 0 where nothing is struck) and `bpm`
    let a decoded song keep the original dynamics and tempo; `folded` / `dropped` count the notes
    that were outside the pitch range when the song was encoded."""

    data: np.ndarray
    encoding: Encoding = DEFAULT_ENCODING
    bpm: float = DEFAULT_BPM
    velocities: np.ndarray | None = None
    time_signature: tuple[int, int] = (4, 4)
    folded: int = 0
    dropped: int = 0
    title: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.uint8)
        if self.data.ndim != 2 or self.data.shape[1] != self.encoding.width:
            raise ValueError(
                f"state matrix must be [steps, {self.encoding.width}], got {self.data.shape}"
            )

    @property
    def steps(self) -> int:
        return int(self.data.shape[0])

    @property
    def sounding(self) -> np.ndarray:
        return self.data[:, : self.encoding.span]

    @property
    def struck(self) -> np.ndarray:
        return self.data[:, self.encoding.span :]


def head(matrix: StateMatrix, steps: int) -> StateMatrix:
    """The first `steps` grid rows of `matrix` (a primer cut at a bar)."""
    steps = max(1, min(int(steps), matrix.steps))
    velocities = None if matrix.velocities is None else matrix.velocities[:steps]
    return replace(matrix, data=matrix.data[:steps], velocities=velocities)


def _place_pitch(pitch: int, enc: Encoding) -> int | None:
    """Column for `pitch`, folded by octaves into range (or None when dropped)."""
    if enc.low <= pitch <= enc.high:
        return pitch - enc.low
    if enc.out_of_range == "drop":
        return None
    while pitch < enc.low:
        pitch += 12
    while pitch > enc.high:
        pitch -= 12
    return pitch - enc.low


def song_steps(song: Song, enc: Encoding = DEFAULT_ENCODING) -> int:
    """Number of grid rows `encode(song, enc)` will produce."""
    if not song.notes:
        return 0
    last = 0
    for n in song.notes:
        on = int(round(n.start * enc.steps_per_beat))
        off = max(int(round(n.end * enc.steps_per_beat)), on + 1)
        last = max(last, off)
    return last


def encode(song: Song, enc: Encoding = DEFAULT_ENCODING) -> StateMatrix:
    """Quantise `song` onto the grid. Onsets round to the nearest step, every note lasts at least
    one step, and a re-struck pitch sets `struck` again even while it is still sounding."""
    steps = song_steps(song, enc)
    span = enc.span
    data = np.zeros((steps, 2 * span), dtype=np.uint8)
    velocities = np.zeros((steps, span), dtype=np.uint8)
    folded = dropped = 0
    for n in song.notes:
        col = _place_pitch(n.pitch, enc)
        if col is None:
            dropped += 1
            continue
        if not enc.low <= n.pitch <= enc.high:
            folded += 1
        on = int(round(n.start * enc.steps_per_beat))
        off = max(int(round(n.end * enc.steps_per_beat)), on + 1)
        data[on:off, col] = 1
        data[on, span + col] = 1
        velocities[on, col] = max(velocities[on, col], min(max(int(n.velocity), 1), 127))
    sig = song.first_time_signature
    return StateMatrix(
        data=data,
        encoding=enc,
        bpm=song.first_bpm,
        velocities=velocities,
        time_signature=(sig.numerator, sig.denominator),
        folded=folded,
        dropped=dropped,
        title=song.title,
    )


def canonicalize(data: np.ndarray, span: int | None = None) -> np.ndarray:
    """Make any (e.g. sampled) matrix canonical: struck ⊆ sounding, and struck set wherever a note
    begins (a 0→1 of sounding). Returns a new uint8 array."""
    data = np.asarray(data)
    if span is None:
        span = data.shape[1] // 2
    sounding = data[:, :span] > 0
    struck = (data[:, span : 2 * span] > 0) & sounding
    prev = np.zeros_like(sounding)
    prev[1:] = sounding[:-1]
    struck |= sounding & ~prev
    return np.concatenate([sounding, struck], axis=1).astype(np.uint8)


def note_spans(data: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every note of a matrix as arrays (column, first row, row after the last), sorted by
    start then column: a note starts at `struck` or at a 0→1 of `sounding` and ends at the next
    1→0 or the next `struck` of its pitch."""
    sounding = np.asarray(data[:, :span]) > 0
    struck = (np.asarray(data[:, span : 2 * span]) > 0) & sounding
    steps = sounding.shape[0]
    prev = np.zeros_like(sounding)
    prev[1:] = sounding[:-1]
    starts = struck | (sounding & ~prev)
    # A note ends at the first later row that is silent or struck again (row `steps` is silent).
    boundary = np.ones((steps + 1, span), dtype=bool)
    boundary[:steps] = starts | ~sounding
    cols, ons, offs = [], [], []
    for col in np.flatnonzero(starts.any(axis=0)):
        on_rows = np.flatnonzero(starts[:, col])
        b_rows = np.flatnonzero(boundary[:, col])
        cols.append(np.full(len(on_rows), col))
        ons.append(on_rows)
        offs.append(b_rows[np.searchsorted(b_rows, on_rows, side="right")])
    if not cols:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    col, on, off = (np.concatenate(x) for x in (cols, ons, offs))
    order = np.lexsort((col, on))
    return col[order], on[order], off[order]


def decode_notes(
    data: np.ndarray, enc: Encoding, velocities: np.ndarray | None = None
) -> list[Note]:
    """Notes of a matrix, in beats (see `note_spans`)."""
    notes: list[Note] = []
    spb = float(enc.steps_per_beat)
    for col, on, off in zip(*(x.tolist() for x in note_spans(data, enc.span)), strict=True):
        vel = DEFAULT_VELOCITY
        if velocities is not None and on < velocities.shape[0] and velocities[on, col] > 0:
            vel = int(velocities[on, col])
        notes.append(Note(int(enc.low + col), on / spb, off / spb, vel))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def decode(matrix: StateMatrix) -> Song:
    """The song a matrix stands for: its tempo (120 BPM default), time signature and velocities."""
    notes = decode_notes(matrix.data, matrix.encoding, matrix.velocities)
    num, den = matrix.time_signature
    return Song(
        notes=notes,
        tempos=[TempoChange(0.0, float(matrix.bpm))],
        time_signatures=[TimeSignature(0.0, int(num), int(den))],
        ticks_per_beat=480,
        title=matrix.title,
    )
