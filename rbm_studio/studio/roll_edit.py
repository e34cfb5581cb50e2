"""Edits of a song's note list, without Qt: what drawing, moving, resizing, deleting, duplicating,
transposing, velocity changes and quantizing do, each as a `NoteEdit` that can be applied and
inverted exactly.

A `NoteEdit` lists the notes it takes out (by their index before) and the notes it puts in (by
their index after). Applying it and then its inverse gives back the very same list, order
included, so an undo stack of edits walks back to the song as it was, note for note. A changed
note keeps its place in the list; new notes (drawn, duplicated) go at its end. The order of
`Song.notes` means nothing to playback or MIDI export, which sort events themselves.

The grid (`Grid`) is the roll's snap setting: off, 1/16, 1/8, a beat, or a bar (which follows the
song's time-signature map).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..music.meter import bar_at
from ..music.song import DEFAULT_VELOCITY, Note, Song

SNAPS = ("off", "1/16", "1/8", "beat", "bar")
SNAP_LABELS = {"off": "Off", "1/16": "1/16", "1/8": "1/8", "beat": "Beat", "bar": "Bar"}
_SNAP_BEATS = {"1/16": 0.25, "1/8": 0.5, "beat": 1.0}
FREE_STEP = 0.25  # quantize, default lengths and arrow moves when snap is off
MIN_LENGTH = 1 / 64  # no note shorter than this (in beats) when snap is off
LOWEST, HIGHEST = 0, 127
EPS = 1e-9


class EditMismatch(ValueError):
    """An edit was applied to a list it was not made for (one line)."""


@dataclass(frozen=True, slots=True)
class NoteEdit:
    """Take out `removed` (index before, note), then put in `added` (index after, note); both
    sorted by index. `text` names the edit on the undo stack ("Move 3 notes")."""

    text: str
    removed: tuple[tuple[int, Note], ...] = ()
    added: tuple[tuple[int, Note], ...] = ()
    length: int = -1  # of the list it was made for (-1: not checked)

    def apply(self, notes: Sequence[Note]) -> list[Note]:
        """The list after the edit; `EditMismatch` when `notes` is not the list it was made for."""
        size = len(notes)
        if self.length >= 0 and size != self.length:
            raise EditMismatch(f"{self.text}: made for {self.length} notes, not {size}")
        for index, note in self.removed:
            if index >= size or notes[index] != note:
                raise EditMismatch(f"{self.text}: note {index} is not the one the edit expects")
        if [i for i, _ in self.removed] == [i for i, _ in self.added]:
            out = list(notes)  # notes changed in place: no shifting
            for index, note in self.added:
                out[index] = note
            return out
        gone = {i for i, _ in self.removed}
        kept = [n for i, n in enumerate(notes) if i not in gone]
        total = len(kept) + len(self.added)
        if self.added and self.added[-1][0] >= total:
            raise EditMismatch(f"{self.text}: a new note's place is past the list's end")
        out: list[Note] = []
        it = iter(kept)
        new = iter(self.added)
        pending = next(new, None)
        for position in range(total):
            if pending is not None and pending[0] == position:
                out.append(pending[1])
                pending = next(new, None)
            else:
                out.append(next(it))
        return out

    def inverse(self) -> NoteEdit:
        length = self.length - len(self.removed) + len(self.added) if self.length >= 0 else -1
        return NoteEdit(self.text, self.added, self.removed, length)

    @property
    def selection(self) -> list[int]:
        """The indices, after the edit, of the notes it put in: what stays selected."""
        return [i for i, _ in self.added]

    def __bool__(self) -> bool:
        return self.removed != self.added


def _count(n: int) -> str:
    return "1 note" if n == 1 else f"{n} notes"


def _rest(note: Note) -> tuple[int, int, int]:
    return note.velocity, note.channel, note.track


def changed(text: str, notes: Sequence[Note], new: dict[int, Note]) -> NoteEdit:
    """Notes replaced in place (unchanged ones left out of the edit)."""
    idx = sorted(i for i, note in new.items() if notes[i] != note)
    return NoteEdit(
        text, tuple((i, notes[i]) for i in idx), tuple((i, new[i]) for i in idx), len(notes)
    )


def appended(text: str, notes: Sequence[Note], new: Iterable[Note]) -> NoteEdit:
    start = len(notes)
    return NoteEdit(text, (), tuple((start + j, n) for j, n in enumerate(new)), len(notes))


def replace_notes(
    notes: Sequence[Note], indices: Iterable[int], new: Sequence[Note], text: str
) -> NoteEdit:
    """Notes `indices` out, `new` in at the end: a region regenerated, a melody harmonised, as
    one undoable edit (the new notes are what stays selected)."""
    idx = sorted(set(indices))
    start = len(notes) - len(idx)
    return NoteEdit(
        text,
        tuple((i, notes[i]) for i in idx),
        tuple((start + j, n) for j, n in enumerate(new)),
        len(notes),
    )


# -- the grid ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Grid:
    """The snap setting on a song: where notes land when drawn, moved, resized or quantized."""

    snap: str = "1/16"
    song: Song | None = None

    def __post_init__(self) -> None:
        if self.snap not in SNAPS:
            raise ValueError(f"snap {self.snap!r} is not one of {', '.join(SNAPS)}")

    def step(self, beat: float = 0.0) -> float | None:
        """The grid's length at `beat` in beats (None when snap is off)."""
        if self.snap == "off":
            return None
        if self.snap == "bar":
            start, end, _number = bar_at(self.song, beat)
            return end - start
        return _SNAP_BEATS[self.snap]

    def length(self, beat: float = 0.0) -> float:
        """The shortest note at `beat` and the length a click draws: one grid step."""
        step = self.step(beat)
        return step if step is not None else FREE_STEP

    def _cell(self, beat: float) -> tuple[float, float]:
        if self.snap == "bar":
            start, end, _number = bar_at(self.song, beat)
            return start, end
        step = _SNAP_BEATS.get(self.snap, FREE_STEP)
        start = math.floor(beat / step + EPS) * step
        return start, start + step

    def nearest(self, beat: float) -> float:
        """`beat` on the grid (itself when snap is off)."""
        if self.snap == "off":
            return beat
        start, end = self._cell(max(beat, 0.0))
        return start if beat - start < end - beat - EPS else end

    def floor(self, beat: float) -> float:
        if self.snap == "off":
            return beat
        return self._cell(max(beat, 0.0))[0]

    def quantum(self, beat: float) -> tuple[float, float]:
        """Quantize's grid cell holding `beat`, even with snap off (then 1/16)."""
        if self.snap == "off":
            start = math.floor(beat / FREE_STEP + EPS) * FREE_STEP
            return start, start + FREE_STEP
        return self._cell(max(beat, 0.0))


# -- edits ------------------------------------------------------------------------------------
def draw(
    notes: Sequence[Note], pitch: int, start: float, end: float, velocity: int = DEFAULT_VELOCITY
) -> NoteEdit:
    """A new note at the end of the list."""
    pitch = min(max(int(pitch), LOWEST), HIGHEST)
    start = max(float(start), 0.0)
    note = Note(pitch, start, max(float(end), start + MIN_LENGTH), min(max(int(velocity), 1), 127))
    return appended("Draw a note", notes, [note])


def delete(notes: Sequence[Note], indices: Iterable[int]) -> NoteEdit:
    idx = sorted(set(indices))
    removed = tuple((i, notes[i]) for i in idx)
    return NoteEdit(f"Delete {_count(len(idx))}", removed, (), len(notes))


def move_limits(notes: Sequence[Note], indices: Sequence[int]) -> tuple[float, int, int]:
    """How far the notes may go: (earliest start, lowest pitch, highest pitch) among them."""
    group = [notes[i] for i in indices]
    if not group:
        return 0.0, LOWEST, HIGHEST
    return min(n.start for n in group), min(n.pitch for n in group), max(n.pitch for n in group)


def clamp_move(
    notes: Sequence[Note], indices: Sequence[int], beats: float, semitones: int
) -> tuple[float, int]:
    """The move the group can make: none of it before the song's start or off the keyboard (the
    group keeps its shape)."""
    first, low, high = move_limits(notes, indices)
    beats = max(beats, -first)
    semitones = min(max(int(semitones), LOWEST - low), HIGHEST - high)
    return beats, semitones


def move(
    notes: Sequence[Note], indices: Iterable[int], beats: float, semitones: int = 0, text: str = ""
) -> NoteEdit:
    """Shift notes by `beats` and `semitones` (held to the song's start and the MIDI range)."""
    idx = sorted(set(indices))
    beats, semitones = clamp_move(notes, idx, beats, semitones)
    new = {
        i: Note(n.pitch + semitones, n.start + beats, n.end + beats, n.velocity, n.channel, n.track)
        for i, n in ((i, notes[i]) for i in idx)
    }
    if not text:
        text = f"Move {_count(len(idx))}" if beats else f"Transpose {_count(len(idx))}"
    return changed(text, notes, new)


def transpose(notes: Sequence[Note], indices: Iterable[int], semitones: int) -> NoteEdit:
    idx = sorted(set(indices))
    sign = "+" if semitones > 0 else "−"
    text = f"Transpose {_count(len(idx))} {sign}{abs(semitones)}"
    return move(notes, idx, 0.0, semitones, text)


def resize(
    notes: Sequence[Note], indices: Iterable[int], beats: float, min_length: float = MIN_LENGTH
) -> NoteEdit:
    """Lengthen (or shorten, never under `min_length`) notes by moving their ends by `beats`."""
    idx = sorted(set(indices))
    new = {
        i: Note(n.pitch, n.start, max(n.end + beats, n.start + min_length), *_rest(n))
        for i, n in ((i, notes[i]) for i in idx)
    }
    return changed(f"Resize {_count(len(idx))}", notes, new)


def set_velocity(notes: Sequence[Note], indices: Iterable[int], velocity: int) -> NoteEdit:
    idx = sorted(set(indices))
    velocity = min(max(int(velocity), 1), 127)
    new = {
        i: Note(n.pitch, n.start, n.end, velocity, n.channel, n.track)
        for i, n in ((i, notes[i]) for i in idx)
    }
    return changed(f"Set the velocity of {_count(len(idx))}", notes, new)


def duplicate(notes: Sequence[Note], indices: Iterable[int], grid: Grid) -> NoteEdit:
    """Copies of the notes right after them (shifted by their span, rounded up to the grid)."""
    idx = sorted(set(indices))
    if not idx:
        return NoteEdit("Duplicate")
    first = min(notes[i].start for i in idx)
    last = max(notes[i].end for i in idx)
    step = grid.length(first)
    shift = max(math.ceil((last - first) / step - EPS), 1) * step
    copies = [
        replace(notes[i], start=notes[i].start + shift, end=notes[i].end + shift) for i in idx
    ]
    return appended(f"Duplicate {_count(len(idx))}", notes, copies)


def quantize(notes: Sequence[Note], indices: Iterable[int], grid: Grid) -> NoteEdit:
    """Each note's start to the nearest grid line and its end too, at least one step long."""
    idx = sorted(set(indices))
    new = {}
    for i in idx:
        n = notes[i]
        lo, hi = grid.quantum(n.start)
        start = lo if n.start - lo < hi - n.start - EPS else hi
        step = grid.quantum(start)[1] - grid.quantum(start)[0]
        end_lo, end_hi = grid.quantum(n.end)
        end = end_lo if n.end - end_lo < end_hi - n.end - EPS else end_hi
        new[i] = replace(n, start=start, end=max(end, start + step))
    return changed(f"Quantize {_count(len(idx))}", notes, new)
