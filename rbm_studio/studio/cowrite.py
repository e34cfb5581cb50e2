"""Writing with the model, not only from it: regenerate a region, "more like this", harmonise.

Each is one conditional sampling through the kind protocol (`models.base.infill`): the song is
put on the model's grid, the cells to write again are marked free, and the kind samples them
given every other cell — before and after them. The songs that come back are built from the
given song's own notes: every note outside the region is the very same `Note` (its timing,
velocity, channel and track untouched), a note that crosses the region's edge keeps its part
outside, and only the region holds the model's notes. So what is outside the region is
bit-identical, in the song and in the MIDI file written from it.

No Qt and no JAX here: a worker thread calls these, the window and the CLI only ask for them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..models import registry
from ..models.base import InfillRequest, infill, infill_problem
from ..models.document import Model
from ..music.encoding import StateMatrix, decode_notes, encode
from ..music.song import Note, Song


class CowriteError(ValueError):
    """A region, melody or model that cannot be written with: one line a musician can act on."""


@dataclass(frozen=True)
class Region:
    """Bars `first_bar`..`last_bar` (0-based, inclusive) of a song, optionally only the pitches
    `lowest`..`highest` (MIDI, inclusive): the cells to write again."""

    first_bar: int
    last_bar: int
    lowest: int | None = None
    highest: int | None = None

    def __post_init__(self) -> None:
        if self.first_bar < 0 or self.last_bar < self.first_bar:
            raise CowriteError(
                f"bars {self.first_bar + 1}–{self.last_bar + 1} are not a range of bars"
            )
        low = 0 if self.lowest is None else self.lowest
        high = 127 if self.highest is None else self.highest
        if not 0 <= low <= high <= 127:
            raise CowriteError(f"pitches {low}–{high} are not a range of MIDI pitches")

    @property
    def pitches(self) -> tuple[int, int]:
        """(lowest, highest) MIDI pitch of the region, the whole MIDI range when not given."""
        return (
            0 if self.lowest is None else self.lowest,
            127 if self.highest is None else self.highest,
        )


@dataclass(frozen=True)
class _Box:
    """A region on a song's grid: rows [start, stop) and pitches [low, high]; beats alike."""

    start: int
    stop: int
    low: int
    high: int
    spb: int

    @property
    def beats(self) -> tuple[float, float]:
        return self.start / self.spb, self.stop / self.spb


def can_regenerate(model: Model) -> str | None:
    """None when `model` can sample cells given the notes on both sides of them, else the one
    line that says why not (a kind that reads songs left to right, a one-step model)."""
    try:
        kind = registry.kind(model.kind)
    except registry.UnknownKindError as exc:
        return str(exc)
    return infill_problem(kind, model)


def bar_rows(song: Song, model: Model) -> int:
    """Grid rows of one bar of `song` (its opening metre) on the model's grid."""
    spb = model.data_encoding.steps_per_beat
    return max(1, round(song.first_time_signature.beats_per_bar * spb))


def regenerate(
    model: Model,
    song: Song,
    region: Region,
    count: int = 1,
    seed: int = 0,
    *,
    gibbs_steps: int | None = None,
    temperature: float | None = None,
) -> list[Song]:
    """`count` variations of `song` with `region`'s notes written again by the model given
    everything outside it (the bars before and after, and the pitches outside its range)."""
    bar = bar_rows(song, model)
    low, high = region.pitches
    box = _Box(
        region.first_bar * bar,
        (region.last_bar + 1) * bar,
        low,
        high,
        model.data_encoding.steps_per_beat,
    )
    label = f"bars {region.first_bar + 1}–{region.last_bar + 1}"
    return _rewrite(model, song, [box], count, seed, label, gibbs_steps, temperature)


def more_like_this(
    model: Model,
    song: Song,
    share: float,
    count: int = 1,
    seed: int = 0,
    *,
    gibbs_steps: int | None = None,
    temperature: float | None = None,
) -> list[Song]:
    """`count` variations of `song` with a `share` (0..1] of its bars, drawn at random (seeded),
    written again given the rest: the more, the further from the song."""
    if not 0.0 < share <= 1.0:
        raise CowriteError(f"the share to write again must be above 0 and at most 1, not {share}")
    bar = bar_rows(song, model)
    spb = model.data_encoding.steps_per_beat
    n_bars = max(1, -(-_song_rows(song, model) // bar))
    chosen = np.random.default_rng(seed).permutation(n_bars)[: max(1, round(share * n_bars))]
    boxes = [_Box(a * bar, b * bar, 0, 127, spb) for a, b in _runs(sorted(chosen.tolist()))]
    return _rewrite(model, song, boxes, count, seed, "more like this", gibbs_steps, temperature)


def harmonise(
    model: Model,
    melody: Song,
    count: int = 1,
    seed: int = 0,
    *,
    gibbs_steps: int | None = None,
    temperature: float | None = None,
) -> list[Song]:
    """`count` songs in which the model writes the voices under `melody` (one line: no two of
    its notes sound together) given the whole melody; the melody's notes come out unchanged,
    on their own track, with the model's voices on a "Harmony" track."""
    matrix = encode(melody, model.data_encoding)
    if not matrix.steps:
        raise CowriteError("the melody has no notes")
    if not is_one_line(model, melody):
        raise CowriteError(
            "the melody has notes that sound together: harmonise one line (a song's top line)"
        )
    bar = bar_rows(melody, model)
    rows = -(-matrix.steps // bar) * bar  # whole bars
    matrix = _padded(matrix, rows)
    free = below_line(matrix.sounding)
    free = np.concatenate([free, free], axis=1)
    made = _sample(model, matrix, free, count, seed, gibbs_steps, temperature)
    track = max((n.track for n in melody.notes), default=0) + 1
    names = list(melody.track_names)[:track]
    names += [""] * (track - len(names)) + ["Harmony"]
    for n in melody.notes:
        names[n.track] = names[n.track] or "Melody"
    out = []
    for i, result in enumerate(made, start=1):
        voices = _notes_in(result, free, 0, result.steps, track)
        notes = sorted([*melody.notes, *voices], key=lambda n: (n.start, n.pitch))
        title = f"{melody.title or 'melody'} (harmonised {i})"
        out.append(dataclasses.replace(melody, notes=notes, title=title, track_names=names))
    return out


def is_one_line(model: Model, melody: Song) -> bool:
    """Whether no two notes of `melody` sound together on the model's grid."""
    return not (encode(melody, model.data_encoding).sounding.sum(axis=1) > 1).any()


def top_line(song: Song) -> Song:
    """The melody a song's top line gives: at each onset, the note that is the highest one
    sounding then, held until the next such note starts (at most to its own end)."""
    notes = sorted(song.notes, key=lambda n: (n.start, -n.pitch))
    tops: list[Note] = []
    sounding: list[Note] = []  # notes struck before the current onset, pruned as they end
    for note in notes:
        sounding = [n for n in sounding if n.end > note.start]
        first = not tops or tops[-1].start != note.start  # not a lower note of the same onset
        if first and not any(n.pitch > note.pitch for n in sounding):
            tops.append(note)
        sounding.append(note)
    line = [
        dataclasses.replace(n, end=min(n.end, nxt.start))
        for n, nxt in zip(tops, [*tops[1:], None], strict=True)
        if nxt is not None
    ]
    if tops:
        line.append(tops[-1])
    title = f"{song.title or 'song'} (top line)"
    return dataclasses.replace(song, notes=line, title=title)


# ---------------------------------------------------------------------------------------------
# On the grid


def _song_rows(song: Song, model: Model) -> int:
    return encode(song, model.data_encoding).steps


def _runs(bars: list[int]) -> list[tuple[int, int]]:
    """Consecutive bar numbers as [first, after-last) runs."""
    runs: list[tuple[int, int]] = []
    for b in bars:
        if runs and runs[-1][1] == b:
            runs[-1] = (runs[-1][0], b + 1)
        else:
            runs.append((b, b + 1))
    return runs


def _padded(matrix: StateMatrix, rows: int) -> StateMatrix:
    """`matrix` with silent rows added up to `rows` (a region past the song's end is new
    bars)."""
    extra = rows - matrix.steps
    if extra <= 0:
        return matrix
    data = np.concatenate([matrix.data, np.zeros((extra, matrix.data.shape[1]), np.uint8)])
    velocities = matrix.velocities
    if velocities is not None:
        velocities = np.concatenate([velocities, np.zeros((extra, velocities.shape[1]), np.uint8)])
    return dataclasses.replace(matrix, data=data, velocities=velocities)


def below_line(sounding: np.ndarray) -> np.ndarray:
    """[steps, span] bool: the pitches under a one-line melody at each step (under the last
    note sounded when it rests; under its first note before it starts)."""
    steps, span = sounding.shape
    on = sounding.any(axis=1)
    pitch = np.where(on, sounding.argmax(axis=1), -1)
    known = np.flatnonzero(on)
    # each step takes the melody's pitch at the latest step at or before it that sounds
    latest = np.maximum.accumulate(np.where(on, np.arange(steps), -1))
    top = np.where(latest >= 0, pitch[np.maximum(latest, 0)], pitch[known[0]])
    return np.arange(span)[None, :] < top[:, None]


def _free_cells(matrix: StateMatrix, boxes: list[_Box]) -> np.ndarray:
    enc = matrix.encoding
    cols = enc.low + np.arange(enc.span)
    free = np.zeros((matrix.steps, enc.span), bool)
    for box in boxes:
        free[box.start : box.stop, (cols >= box.low) & (cols <= box.high)] = True
    if not free.any():
        raise CowriteError(
            f"the region holds none of the pitches the model plays ({enc.low}–{enc.high})"
        )
    return np.concatenate([free, free], axis=1)


def _sample(model, matrix, free, count, seed, gibbs_steps, temperature) -> list[StateMatrix]:
    """The kind's infill of `free`; refusals become `CowriteError`s."""
    try:
        kind = registry.kind(model.kind)
        request = InfillRequest(matrix, free, count, gibbs_steps, temperature, seed)
        return infill(kind, model, request)
    except CowriteError:
        raise
    except ValueError as exc:
        raise CowriteError(str(exc)) from None


def _rewrite(model, song, boxes, count, seed, label, gibbs_steps, temperature) -> list[Song]:
    """`count` copies of `song` with the notes in `boxes` (apart from one another) written
    again by the model given everything else."""
    matrix = _padded(encode(song, model.data_encoding), max(b.stop for b in boxes))
    free = _free_cells(matrix, boxes)
    made = _sample(model, matrix, free, count, seed, gibbs_steps, temperature)
    out = []
    for i, result in enumerate(made, start=1):
        notes = list(song.notes)
        for box in boxes:
            notes = _replace_box(notes, result, free, box)
        notes.sort(key=lambda n: (n.start, n.pitch))
        title = f"{song.title or 'song'} ({label} {i})"
        out.append(dataclasses.replace(song, notes=notes, title=title, source=None))
    return out


# ---------------------------------------------------------------------------------------------
# Back to notes


def _grid(note: Note, spb: int) -> tuple[int, int]:
    """The rows [on, off) a note takes on the grid (as `encode` places it)."""
    on = int(round(note.start * spb))
    return on, max(int(round(note.end * spb)), on + 1)


def _replace_box(notes: list[Note], result: StateMatrix, free, box: _Box) -> list[Note]:
    """`notes` with those in `box` replaced by the model's notes there: a note crossing the
    box's edge keeps its part outside, joined to the model's note where the model holds the
    same pitch on over the edge."""
    start, stop = box.beats
    kept: list[Note] = []
    left: dict[int, int] = {}  # pitch → index in kept of a part cut at the box's start
    right: dict[int, int] = {}
    for note in notes:
        on, off = _grid(note, box.spb)
        if not box.low <= note.pitch <= box.high or off <= box.start or on >= box.stop:
            kept.append(note)
            continue
        if on < box.start:
            left[note.pitch] = len(kept)
            kept.append(dataclasses.replace(note, end=start))
        if off > box.stop and note.end > stop:
            right[note.pitch] = len(kept)
            kept.append(dataclasses.replace(note, start=stop))
    span = result.encoding.span
    for new in _notes_in(result, free, box.start, box.stop, 0):
        on, off = _grid(new, box.spb)
        held_in = on == box.start and not result.data[on, span + new.pitch - result.encoding.low]
        held_out = off == box.stop and box.stop < result.steps
        if held_out:
            col = new.pitch - result.encoding.low
            held_out = bool(result.data[off, col]) and not result.data[off, span + col]
        if held_in and new.pitch in left:
            i = left.pop(new.pitch)
            new = dataclasses.replace(kept[i], end=new.end)
            kept[i] = None  # type: ignore[call-overload]
        if held_out and new.pitch in right:
            i = right.pop(new.pitch)
            new = dataclasses.replace(new, end=kept[i].end)
            kept[i] = None  # type: ignore[call-overload]
        kept.append(new)
    return [n for n in kept if n is not None]


def _notes_in(result: StateMatrix, free: np.ndarray, start: int, stop: int, track: int):
    """The model's notes in rows [start, stop) of `result`, on its free cells only."""
    enc = result.encoding
    data = np.where(free[start:stop], result.data[start:stop], 0)
    velocities = None if result.velocities is None else result.velocities[start:stop]
    offset = start / enc.steps_per_beat
    return [
        dataclasses.replace(n, start=n.start + offset, end=n.end + offset, track=track)
        for n in decode_notes(data, enc, velocities)
    ]
