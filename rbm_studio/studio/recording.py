"""Playing an idea in, as arithmetic: a take's plan, its count-in and metronome, the notes a
musician played made into a song on the model's grid, and when the model's answer comes in.

Nothing here has a clock, a port or a thread. What was played arrives as (beat, MIDI message)
pairs, stamped with the beat the player's clock was at when each message came in
(`studio.live_take` does the stamping), so a take means the same thing whatever the output and
the tests can hand it exact or deliberately sloppy timings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..music.encoding import Encoding, StateMatrix, encode
from ..music.song import (
    Note,
    Song,
    TempoChange,
    TimeSignature,
    bars_to_steps,
    beats_per_bar,
    metre_problem,
)
from ..playback.scheduling import DRUM_CHANNEL

# The metronome: General MIDI wood blocks on the drum channel, the first beat of a bar higher.
ACCENT_KEY = 76  # Hi Wood Block
CLICK_KEY = 77  # Low Wood Block
ACCENT_VELOCITY = 112
CLICK_VELOCITY = 84
CLICK_BEATS = 0.125
# What a musician may ask of a take.
MAX_TAKE_BARS = 32
MAX_COUNT_IN_BARS = 4
MIN_TAKE_BPM, MAX_TAKE_BPM = 30.0, 300.0
# While the model answers, the metronome runs on this many bars past the take (the answer
# replaces them as soon as it is ready), so a slow first sample does not stop the clock.
ANSWER_WAIT_BARS = 4

NOTE_ON, NOTE_OFF = 0x90, 0x80
Stamped = tuple[float, Sequence[int]]  # (beat on the player's clock, MIDI message)


class TakeError(ValueError):
    """A take that cannot be recorded as asked; one line a musician can act on."""


@dataclass(frozen=True)
class TakePlan:
    """One take: `count_in` bars of clicks, then `bars` bars recorded with the metronome going,
    at `bpm` in `time_signature`, quantized to `steps_per_beat` steps a beat (the model's grid)."""

    bars: int = 4
    count_in: int = 1
    bpm: float = 100.0
    time_signature: tuple[int, int] = (4, 4)
    steps_per_beat: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.bars <= MAX_TAKE_BARS:
            raise TakeError(f"a take is 1 to {MAX_TAKE_BARS} bars long, not {self.bars}")
        if not 0 <= self.count_in <= MAX_COUNT_IN_BARS:
            raise TakeError(f"the count-in is 0 to {MAX_COUNT_IN_BARS} bars, not {self.count_in}")
        if not MIN_TAKE_BPM <= self.bpm <= MAX_TAKE_BPM:
            raise TakeError(
                f"the tempo of a take is {MIN_TAKE_BPM:g} to {MAX_TAKE_BPM:g} BPM, not {self.bpm}"
            )
        problem = metre_problem(*self.time_signature)
        if problem:
            raise TakeError(problem)
        if not 1 <= self.steps_per_beat <= 96:
            raise TakeError(f"a grid has 1 to 96 steps a beat, not {self.steps_per_beat}")

    @property
    def bar_beats(self) -> float:
        return beats_per_bar(self.time_signature)

    @property
    def start(self) -> float:
        """Beat (on the metronome's clock) where the take begins: after the count-in."""
        return self.count_in * self.bar_beats

    @property
    def length(self) -> float:
        """The take's length in beats."""
        return self.bars * self.bar_beats

    @property
    def end(self) -> float:
        """Beat (on the metronome's clock) where the take ends."""
        return self.start + self.length

    @property
    def steps(self) -> int:
        """Grid rows of the take."""
        return bars_to_steps(self.bars, self.time_signature, self.steps_per_beat)

    def phase(self, beat: float) -> str:
        """ "count-in", "recording" or "after" for a beat on the metronome's clock."""
        if beat < self.start:
            return "count-in"
        return "recording" if beat < self.end else "after"

    def beat_text(self, beat: float) -> str:
        """What the panel shows while it runs: "count-in 3" or "bar 2 of 4"."""
        if beat < self.start:
            left = math.ceil((self.start - beat) / 1.0 - 1e-9)
            return f"count-in {max(left, 1)}"
        bar = int((beat - self.start) // self.bar_beats) + 1
        return f"bar {min(bar, self.bars)} of {self.bars}" if beat < self.end else "done"


def _song(plan: TakePlan, notes: list[Note], title: str = "") -> Song:
    numerator, denominator = plan.time_signature
    notes.sort(key=lambda n: (n.start, n.pitch))
    return Song(
        notes=notes,
        tempos=[TempoChange(0.0, float(plan.bpm))],
        time_signatures=[TimeSignature(0.0, numerator, denominator)],
        title=title,
    )


def clicks(plan: TakePlan, bars: int) -> list[Note]:
    """Metronome notes for `bars` bars from beat 0: an accent on each bar's first beat."""
    notes = []
    whole = int(math.floor(plan.bar_beats + 1e-9))
    for bar in range(bars):
        origin = bar * plan.bar_beats
        for beat in range(max(whole, 1)):
            key, velocity = (
                (ACCENT_KEY, ACCENT_VELOCITY) if beat == 0 else (CLICK_KEY, CLICK_VELOCITY)
            )
            start = origin + beat
            notes.append(Note(key, start, start + CLICK_BEATS, velocity, DRUM_CHANNEL))
    if notes:  # the last click is held to the bar line, so the clicks end where the bars do
        last = notes[-1]
        notes[-1] = Note(last.pitch, last.start, bars * plan.bar_beats, last.velocity, last.channel)
    return notes


def metronome(plan: TakePlan, *, answer: bool = False) -> Song:
    """What the player plays while a take runs: the count-in and the clicks under the take (and,
    in answer mode, clicks on past it while the model answers)."""
    bars = plan.count_in + plan.bars + (plan.bars + ANSWER_WAIT_BARS if answer else 0)
    return _song(plan, clicks(plan, bars), "metronome")


def played_notes(events: Iterable[Stamped], until: float | None = None) -> list[Note]:
    """Note-ons paired with their note-offs (a note-on of velocity 0 is an off), times in beats
    as stamped. A pitch struck again while it sounds ends the earlier note there; a note still
    held at `until` (the take's end; None: the last event) ends there."""
    held: dict[tuple[int, int], tuple[float, int]] = {}
    notes: list[Note] = []
    last = 0.0
    for stamp, message in sorted(events, key=lambda e: e[0]):
        beat = stamp if until is None else min(stamp, until)
        last = max(last, beat)
        if len(message) < 3:
            continue
        status, pitch, velocity = message[0] & 0xF0, message[1] & 0x7F, message[2] & 0x7F
        channel = message[0] & 0x0F
        if status not in (NOTE_ON, NOTE_OFF):
            continue
        key = (channel, pitch)
        if key in held:
            start, vel = held.pop(key)
            notes.append(Note(pitch, start, beat, vel, channel))
        if status == NOTE_ON and velocity > 0:
            held[key] = (beat, velocity)
    end = last if until is None else until
    for (channel, pitch), (start, vel) in held.items():
        notes.append(Note(pitch, start, max(end, start), vel, channel))
    return notes


def quantize(notes: Iterable[Note], plan: TakePlan, title: str = "played in") -> Song:
    """The notes of the take as a song starting at its first bar: onsets and ends to the nearest
    grid step, each note at least one step long, cut at the take's end; a note struck a little
    before the take begins counts when it rounds onto its first step, anything earlier is the
    count-in's. All on one channel, velocities as played."""
    step = 1.0 / plan.steps_per_beat
    total = plan.steps
    kept = []
    for n in notes:
        on = int(round((n.start - plan.start) / step))
        if not 0 <= on < total:
            continue
        off = min(max(int(round((n.end - plan.start) / step)), on + 1), total)
        kept.append(Note(n.pitch, on * step, off * step, n.velocity))
    return _song(plan, kept, title)


def take_song(events: Iterable[Stamped], plan: TakePlan, title: str = "played in") -> Song:
    """What was played during the take, quantized (`played_notes` then `quantize`); a note
    still held when the take ends lasts to its end."""
    return quantize(played_notes(events, plan.end), plan, title)


def take_matrix(
    song: Song, plan: TakePlan, encoding: Encoding, bars: int | None = None
) -> StateMatrix:
    """The take on `encoding`'s grid, exactly as long as the take (or `bars` bars), silent bars
    at its end included: a primer's length says where its continuation begins."""
    matrix = encode(song, encoding)
    length = plan.bars if bars is None else bars
    steps = bars_to_steps(length, plan.time_signature, encoding.steps_per_beat)
    data = np.zeros((steps, encoding.width), np.uint8)
    velocities = np.zeros((steps, encoding.span), np.uint8)
    n = min(steps, matrix.steps)
    data[:n] = matrix.data[:n]
    if matrix.velocities is not None:
        velocities[:n] = matrix.velocities[:n]
    matrix.data, matrix.velocities = data, velocities
    matrix.time_signature = plan.time_signature
    matrix.bpm = float(plan.bpm)
    return matrix


# -- answer mode -----------------------------------------------------------------------------


def answer_start(ready_beat: float, plan: TakePlan, lead_beats: float = 0.25) -> float:
    """The bar line the answer starts on: the first one after the take that is at least
    `lead_beats` after `ready_beat` (the beat the player had reached when the answer was ready),
    so it is scheduled ahead of time, never started late or in the middle of a bar."""
    earliest = max(ready_beat + lead_beats, plan.end)
    bars = math.ceil((earliest - 1e-9) / plan.bar_beats)
    return bars * plan.bar_beats


def answer_notes(continued: Song, plan: TakePlan, start: float) -> list[Note]:
    """The model's answer moved to `start` on the metronome's clock: the notes of `continued`
    (the take with the model's bars after it, as a kind returns a primer and its continuation)
    from the take's end on, `plan.bars` bars of them."""
    notes = []
    for n in continued.notes:
        if plan.length - 1e-9 <= n.start < 2 * plan.length - 1e-9:
            offset = start - plan.length
            end = min(n.end, 2 * plan.length)
            notes.append(Note(n.pitch, n.start + offset, end + offset, n.velocity, 0))
    return notes


def with_answer(plan: TakePlan, answer: list[Note], start: float) -> Song:
    """The metronome up to the answer's end with the answer in it: what the player goes on
    playing once the answer is ready (`MidiPlayer.replace`, so the clock never stops)."""
    bars = int(round(start / plan.bar_beats)) + plan.bars
    return _song(plan, clicks(plan, bars) + list(answer), "answer")
