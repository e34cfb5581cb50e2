"""The in-memory song: notes in beats plus the tempo and metre maps needed to write it back.

Everything in the app speaks `Song`; MIDI files (`midi.py`) and state matrices (`encoding.py`)
convert to and from it, so neither format leaks into the rest of the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BPM = 120.0
DEFAULT_VELOCITY = 80
# The tempos and metres a stored song fact (a corpus's, a model file's) may hold: what a standard
# MIDI file can state, so every song we import fits and every stored value writes back to one.
MIN_BPM = 1.0  # below the slowest MIDI tempo (0xFFFFFF microseconds a beat)
MAX_BPM = 60_000_000.0  # one beat a microsecond: the fastest MIDI tempo
MAX_METRE_NUMERATOR = 255  # one byte in a MIDI time signature
METRE_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)  # the powers of two the MIDI reader takes
# Where a title is stored beside others (a corpus index, a model's list of training songs) it is
# cut to this: a track name may be megabytes long.
MAX_STORED_TITLE = 200


def tempo_problem(bpm: object) -> str | None:
    """Why `bpm` is not a tempo a song can have (one line), or None."""
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)):
        return f"tempo {_show(bpm)} is not a number"
    if not MIN_BPM <= bpm <= MAX_BPM:  # NaN fails this too
        return f"tempo {bpm} BPM is not between {MIN_BPM:g} and {MAX_BPM:g}"
    return None


def metre_problem(numerator: object, denominator: object) -> str | None:
    """Why `numerator/denominator` is not a metre a song can have (one line), or None."""
    for part in (numerator, denominator):
        if isinstance(part, bool) or not isinstance(part, int):
            return f"metre {_show(numerator)}/{_show(denominator)} is not two whole numbers"
    if not 1 <= numerator <= MAX_METRE_NUMERATOR or denominator not in METRE_DENOMINATORS:
        return (
            f"metre {numerator}/{denominator} is not a metre like 3/4 (1..{MAX_METRE_NUMERATOR} "
            f"beats of a power of two up to {METRE_DENOMINATORS[-1]})"
        )
    return None


def beats_per_bar(time_signature: tuple[int, int]) -> float:
    """Length of one bar of this metre in quarter-note beats (6/8 → 3.0, 7/8 → 3.5): the one
    place a metre becomes a bar length, so a bar means the same in the roll, the sampler and a
    generation request."""
    numerator, denominator = time_signature
    return numerator * 4.0 / denominator


def bars_to_steps(bars: float, time_signature: tuple[int, int], steps_per_beat: int) -> int:
    """Grid steps in `bars` bars of this metre on a grid of `steps_per_beat` steps a beat
    (rounded to the nearest step: a 7/8 bar on a grid of one step a beat is 3.5 steps)."""
    return int(round(bars * beats_per_bar(time_signature) * steps_per_beat))


def steps_per_bar(time_signature: tuple[int, int], steps_per_beat: int) -> int:
    """Whole grid steps in one bar of this metre (at least one): the unit a count of bars is
    measured in, so `n` bars are `n` times this and each bar starts on a grid row."""
    return max(1, bars_to_steps(1, time_signature, steps_per_beat))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


@dataclass(frozen=True, slots=True)
class Note:
    """One sounding note; times are in beats (quarter notes) from the start of the song."""

    pitch: int
    start: float
    end: float
    velocity: int = DEFAULT_VELOCITY
    channel: int = 0
    track: int = 0

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class TempoChange:
    """Tempo in beats per minute from `beat` on."""

    beat: float
    bpm: float


@dataclass(frozen=True, slots=True)
class TimeSignature:
    """Metre from `beat` on, e.g. 6/8 is numerator 6, denominator 8."""

    beat: float
    numerator: int
    denominator: int

    @property
    def beats_per_bar(self) -> float:
        """Length of one bar in quarter-note beats (6/8 → 3.0)."""
        return beats_per_bar((self.numerator, self.denominator))


@dataclass(slots=True)
class Song:
    """A song as notes plus tempo / time-signature maps (both sorted by beat)."""

    notes: list[Note] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    ticks_per_beat: int = 480
    title: str = ""
    source: Path | None = None
    # names of the note tracks (`Note.track` indexes it); empty: one unnamed track of notes
    track_names: list[str] = field(default_factory=list)

    @property
    def end_beat(self) -> float:
        """Beat at which the last note ends (0 for an empty song)."""
        return max((n.end for n in self.notes), default=0.0)

    @property
    def first_bpm(self) -> float:
        """The song's opening tempo (120 BPM when the file gives none)."""
        return self.tempos[0].bpm if self.tempos else DEFAULT_BPM

    @property
    def first_time_signature(self) -> TimeSignature:
        return self.time_signatures[0] if self.time_signatures else TimeSignature(0.0, 4, 4)

    def seconds_at(self, beat: float) -> float:
        """Wall-clock seconds from the start to `beat`, following the tempo map."""
        seconds = 0.0
        last_beat = 0.0
        bpm = DEFAULT_BPM
        for change in self.tempos:
            if change.beat >= beat:
                break
            seconds += (change.beat - last_beat) * 60.0 / bpm
            last_beat, bpm = change.beat, change.bpm
        return seconds + (beat - last_beat) * 60.0 / bpm

    @property
    def duration_seconds(self) -> float:
        return self.seconds_at(self.end_beat)

    def bars(self, end_beat: float | None = None) -> float:
        """Length in bars (up to `end_beat`, else the song's end), following the time-signature
        map."""
        end = self.end_beat if end_beat is None else end_beat
        sigs = self.time_signatures or [TimeSignature(0.0, 4, 4)]
        bars = 0.0
        for i, sig in enumerate(sigs):
            if sig.beat >= end:
                break
            stop = min(end, sigs[i + 1].beat) if i + 1 < len(sigs) else end
            bars += (stop - sig.beat) / sig.beats_per_bar
        return bars


def in_turn(a: Song, b: Song, start: float, end: float) -> Song:
    """Beats [start, end) of `a`, then the same beats of `b`: one song to hear them in turn."""
    length = end - start
    notes = []
    for offset, song in ((0.0, a), (length, b)):
        for n in song.notes:
            if start <= n.start < end:
                notes.append(
                    Note(
                        n.pitch,
                        n.start - start + offset,
                        min(n.end, end) - start + offset,
                        n.velocity,
                        n.channel,
                    )
                )
    notes.sort(key=lambda n: (n.start, n.pitch))
    return Song(
        notes=notes,
        tempos=list(a.tempos[:1]),
        time_signatures=list(a.time_signatures[:1]),
        title="A/B",
    )
