"""Bars along a song's time-signature map: where bars start, which bar a beat is in, how many bars
a stretch of beats spans, and the beat grid a loop region snaps to.

The piano roll's ruler, the transport's position label and the roll's loop region all count bars
the same way, so it is written once here; a song without a time signature is in 4/4. numpy-free
on purpose: these walk a handful of signatures, never the notes.
"""

from __future__ import annotations

from .song import Song, TimeSignature

EPS = 1e-9
COMMON_TIME = TimeSignature(0.0, 4, 4)


def signatures(song: Song | None) -> list[TimeSignature]:
    """The song's time-signature map, 4/4 from the start when it states none."""
    return (song.time_signatures if song else None) or [COMMON_TIME]


def bar_lines(song: Song | None, end_beat: float) -> list[tuple[float, int]]:
    """(beat, bar number starting at 1) of every bar start up to `end_beat`, following the
    song's time-signature map."""
    sigs = signatures(song)
    lines: list[tuple[float, int]] = []
    bar = 1
    for i, sig in enumerate(sigs):
        stop = sigs[i + 1].beat if i + 1 < len(sigs) else end_beat
        beat = sig.beat
        step = max(sig.beats_per_bar, 1e-6)
        while beat < stop - EPS and beat <= end_beat:
            lines.append((beat, bar))
            bar += 1
            beat += step
    return lines


def signature_at(song: Song | None, beat: float) -> TimeSignature:
    """The time signature in force at `beat` (the first one before the map starts)."""
    sigs = signatures(song)
    return next((s for s in reversed(sigs) if s.beat <= beat + EPS), sigs[0])


def bar_at(song: Song | None, beat: float) -> tuple[float, float, int | None]:
    """(start beat, end beat, bar number) of the bar that holds `beat` (clamped to 0). Before a
    map that starts late there is no numbered bar: the "bar" is 0 up to the first bar line, and
    its number is None."""
    beat = max(beat, 0.0)
    sigs = signatures(song)
    horizon = max(beat, sigs[0].beat) + max(s.beats_per_bar for s in sigs) + 1.0
    bars = bar_lines(song, horizon)
    start, number = next(((b, n) for b, n in reversed(bars) if b <= beat + EPS), (0.0, None))
    later = [b for b, _ in bars if b > start + EPS]
    end = later[0] if later else start + signature_at(song, start).beats_per_bar
    return start, end, number


def bar_and_beat(song: Song | None, beat: float) -> tuple[int, int]:
    """(bar, beat within the bar), both counted from 1, as a musician reads a position."""
    beat = max(beat, 0.0)
    start, _end, bar = bar_at(song, beat)
    return bar or 1, int(beat - start + EPS) + 1


def bar_count(song: Song | None, end_beat: float) -> float:
    """How many bars the beats from the song's start to `end_beat` span (fractional), following
    the time-signature map."""
    return (song or Song()).bars(end_beat)


def snap_loop(a: float, b: float) -> tuple[float, float]:
    """The loop region a drag from beat `a` to beat `b` marks: its ends on the nearest beats, at
    least one beat long, never before the song's start."""
    lo, hi = sorted((max(a, 0.0), max(b, 0.0)))
    lo, hi = float(round(lo)), float(round(hi))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)
