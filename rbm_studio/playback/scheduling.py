"""A `Song` as a time-ordered list of MIDI messages, with the tempo map that turns beats into seconds.

The player thread only walks this list; everything musical (note pairing, tempo changes, the tempo
override) is decided here, where it can be tested without a MIDI port.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..music.song import DEFAULT_BPM, Song

NOTE_ON = 0x90
NOTE_OFF = 0x80
PROGRAM_CHANGE = 0xC0
DRUM_CHANNEL = 9
MIN_NOTE_BEATS = 1 / 64


@dataclass(frozen=True, slots=True)
class MidiEvent:
    """One message at `beat`; `seconds` is its time at the song's own tempo (no override)."""

    beat: float
    seconds: float
    message: tuple[int, ...]

    @property
    def is_note_on(self) -> bool:
        return self.message[0] & 0xF0 == NOTE_ON and self.message[2] > 0

    @property
    def is_note_off(self) -> bool:
        kind = self.message[0] & 0xF0
        return kind == NOTE_OFF or (kind == NOTE_ON and self.message[2] == 0)


class TempoMap:
    """Beats ⇄ seconds for a song's tempo changes (120 BPM before the first one)."""

    def __init__(self, song: Song) -> None:
        beats = [0.0]
        bpms = [DEFAULT_BPM]
        for change in sorted(song.tempos, key=lambda c: c.beat):
            if change.bpm <= 0:
                continue
            if change.beat <= beats[-1]:
                bpms[-1] = change.bpm
            else:
                beats.append(change.beat)
                bpms.append(change.bpm)
        seconds = [0.0]
        for i in range(1, len(beats)):
            seconds.append(seconds[-1] + (beats[i] - beats[i - 1]) * 60.0 / bpms[i - 1])
        self._beats, self._bpms, self._seconds = beats, bpms, seconds

    @property
    def first_bpm(self) -> float:
        return self._bpms[0]

    def seconds_at(self, beat: float) -> float:
        i = max(bisect.bisect_right(self._beats, beat) - 1, 0)
        return self._seconds[i] + (beat - self._beats[i]) * 60.0 / self._bpms[i]

    def beat_at(self, seconds: float) -> float:
        i = max(bisect.bisect_right(self._seconds, seconds) - 1, 0)
        return self._beats[i] + (seconds - self._seconds[i]) * self._bpms[i] / 60.0


@dataclass
class Schedule:
    """Everything the player needs for one song: ordered events, tempo map, channels, length."""

    events: list[MidiEvent]
    tempo_map: TempoMap
    channels: list[int]
    end_beat: float
    beats_per_bar: float

    def __post_init__(self) -> None:
        self._event_beats = [e.beat for e in self.events]

    def index_at(self, beat: float) -> int:
        """Index of the first event at or after `beat`."""
        return bisect.bisect_left(self._event_beats, beat - 1e-9)

    @property
    def note_ons(self) -> list[MidiEvent]:
        return [e for e in self.events if e.is_note_on]

    def bar_end(self) -> float:
        """The song's end rounded up to a whole bar: where a whole-song loop turns round."""
        if self.end_beat <= 0:
            return 0.0
        bars = -(-self.end_beat // self.beats_per_bar)
        return max(bars, 1.0) * self.beats_per_bar


def program_messages(channels: list[int], program: int) -> list[tuple[int, ...]]:
    """Program changes that pick the GM instrument on every melodic channel (drums keep kit 0)."""
    program = min(max(int(program), 0), 127)
    return [(PROGRAM_CHANGE | ch, program) for ch in channels if ch != DRUM_CHANNEL]


def build_schedule(song: Song) -> Schedule:
    """Pair notes into on/off messages in time order.

    At equal times note-offs come first, so a pitch re-struck exactly when it ends sounds again.
    Overlapping notes of one pitch on one channel are merged the way a synth hears them: a new
    note-on while the pitch sounds re-strikes it (off, then on) and only the last release sends the
    note-off, so an early note's end never silences a later note.
    """
    tempo_map = TempoMap(song)
    raw: list[tuple[float, int, int, int, int, int]] = []  # beat, order, seq, channel, pitch, vel
    for seq, note in enumerate(song.notes):
        channel = int(note.channel) & 0x0F
        pitch = min(max(int(note.pitch), 0), 127)
        start = max(float(note.start), 0.0)
        # A zero-length note would sort its note-off before its note-on and hang: give it a blip.
        end = max(float(note.end), start + MIN_NOTE_BEATS)
        velocity = min(max(int(note.velocity), 1), 127)
        raw.append((start, 1, seq, channel, pitch, velocity))
        raw.append((end, 0, seq, channel, pitch, 0))
    raw.sort()
    sounding: dict[tuple[int, int], int] = {}
    events: list[MidiEvent] = []
    for beat, order, _seq, channel, pitch, velocity in raw:
        key = (channel, pitch)
        seconds = tempo_map.seconds_at(beat)
        if order == 1:
            if sounding.get(key, 0) > 0:
                events.append(MidiEvent(beat, seconds, (NOTE_OFF | channel, pitch, 0)))
            events.append(MidiEvent(beat, seconds, (NOTE_ON | channel, pitch, velocity)))
            sounding[key] = sounding.get(key, 0) + 1
        else:
            count = sounding.get(key, 0) - 1
            sounding[key] = max(count, 0)
            if count == 0:
                events.append(MidiEvent(beat, seconds, (NOTE_OFF | channel, pitch, 0)))
    channels = sorted({int(n.channel) & 0x0F for n in song.notes})
    return Schedule(
        events=events,
        tempo_map=tempo_map,
        channels=channels,
        end_beat=max(song.end_beat, events[-1].beat if events else 0.0),
        beats_per_bar=song.first_time_signature.beats_per_bar,
    )
