"""The player's clock without threads, ports or Qt: where a song is (beat ⇄ seconds on the output's
clock), at what tempo, and what it loops.

`MidiPlayer` keeps one `PlayClock` and asks it every deadline and every position; the transport
reads positions through `position_text`. Keeping the arithmetic here lets it be tested with plain
numbers for "now", and keeps the rule in one place: a tempo change, a seek or a loop turn moves
the clock's origin, never the song's own seconds, so lateness never accumulates.
"""

from __future__ import annotations

from ..music.meter import bar_and_beat
from ..music.song import DEFAULT_BPM, Song
from .scheduling import Schedule

BEAT_EPS = 1e-9
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 1.0, 1000.0


class PlayClock:
    """Beats ⇄ output-clock seconds for one song's schedule, at its tempo or an override.

    `origin` is the output-clock time of song second 0 at the current tempo factor; `restart` is
    the output-clock time of the last start, seek or loop turn (the heard playhead never runs
    back past it)."""

    def __init__(self) -> None:
        self.schedule: Schedule | None = None
        self.tempo_override: float | None = None
        self.origin = 0.0
        self.restart = 0.0
        self.loop = False
        self._loop_range: tuple[float, float] | None = None

    def load(self, schedule: Schedule | None) -> None:
        """A new song: its loop region is forgotten (looping itself stays as it was)."""
        self.schedule = schedule
        self._loop_range = None

    # -- tempo ------------------------------------------------------------------------------
    @property
    def tempo_bpm(self) -> float:
        """The tempo playback runs at now (the override, or the song's opening tempo)."""
        if self.tempo_override is not None:
            return self.tempo_override
        return self.schedule.tempo_map.first_bpm if self.schedule else DEFAULT_BPM

    def factor(self) -> float:
        """How much faster than written the song plays."""
        if self.tempo_override is None or self.schedule is None:
            return 1.0
        return self.tempo_override / self.schedule.tempo_map.first_bpm

    def set_tempo(self, bpm: float | None, now: float, playing: bool) -> None:
        """Play at `bpm` (None: the song's tempo); while playing, the beat heard at `now` stays
        where it is."""
        if bpm is not None and not MIN_TEMPO_BPM <= float(bpm) <= MAX_TEMPO_BPM:
            raise ValueError(f"tempo {bpm} BPM is outside {MIN_TEMPO_BPM:g}..{MAX_TEMPO_BPM:g}")
        beat = self.beat_at(now) if playing else None
        self.tempo_override = None if bpm is None else float(bpm)
        if beat is not None:
            self.origin = now - self.song_seconds(beat) / self.factor()

    # -- beats ⇄ seconds --------------------------------------------------------------------
    def song_seconds(self, beat: float) -> float:
        """Seconds from the song's start to `beat` as written (its tempo map)."""
        return self.schedule.tempo_map.seconds_at(beat) if self.schedule else 0.0

    def beat_at(self, now: float) -> float:
        """The beat playing at output-clock time `now` (never before the start)."""
        if self.schedule is None:
            return 0.0
        seconds = (now - self.origin) * self.factor()
        return max(self.schedule.tempo_map.beat_at(seconds), 0.0)

    def deadline(self, song_seconds: float) -> float:
        """The output-clock time at which song second `song_seconds` plays."""
        return self.origin + song_seconds / self.factor()

    def start_at(self, beat: float, when: float) -> None:
        """Make `beat` happen at output-clock time `when` (a start, a seek, a loop turn)."""
        self.origin = when - self.song_seconds(beat) / self.factor()
        self.restart = when

    def heard(self, now: float, latency: float) -> float:
        """The output-clock time being heard: `now` less the device's buffer, but never before
        the last start, seek or loop turn."""
        return max(now - latency, self.restart) if latency else now

    @property
    def end_beat(self) -> float:
        return self.schedule.end_beat if self.schedule else 0.0

    # -- loop -------------------------------------------------------------------------------
    @property
    def loop_range(self) -> tuple[float, float]:
        """The looped region in beats (default: the whole song, to the end of its last bar)."""
        if self._loop_range is not None:
            return self._loop_range
        return (0.0, self.schedule.bar_end() if self.schedule else 0.0)

    @property
    def loop_region(self) -> tuple[float, float] | None:
        """The region set with `set_loop`, None while the whole song loops."""
        return self._loop_range

    def set_loop(self, enabled: bool, start: float | None = None, end: float | None = None) -> None:
        """Loop `start`..`end` beats (neither: the whole song; one: the other end stays)."""
        if start is None and end is None:
            region = None
        else:
            lo = 0.0 if start is None else max(float(start), 0.0)
            hi = self.loop_range[1] if end is None else float(end)
            if hi <= lo:
                raise ValueError(f"loop end {hi} must be after loop start {lo}")
            region = (lo, hi)
        self.loop = bool(enabled)
        self._loop_range = region

    def loop_end(self) -> float | None:
        """Where playback turns round, None when it does not loop."""
        return self.loop_range[1] if self.loop else None

    def outside_loop(self, beat: float) -> bool:
        """Whether looping is on and `beat` lies outside the looped region."""
        lo, hi = self.loop_range
        return self.loop and not lo - BEAT_EPS <= beat < hi

    def start_beat(self, position: float) -> float:
        """Where Play starts from `position`: at the end of the song it starts over (at the
        loop's start when looping)."""
        if position >= self.end_beat - BEAT_EPS:
            return self.loop_range[0] if self.loop else 0.0
        return position

    def stop_beat(self) -> float:
        """Where Stop goes back to: the loop region's start while one loops, else the start."""
        return self._loop_range[0] if (self.loop and self._loop_range) else 0.0


def clock_seconds(song: Song | None, beat: float, tempo_override: float | None) -> float:
    """Seconds from the start to `beat` as playback plays it: the song's tempo map, scaled as
    the player scales it when the tempo is overridden (120 BPM without a song)."""
    beat = max(beat, 0.0)
    if song is None:
        return beat * 60.0 / DEFAULT_BPM
    seconds = song.seconds_at(beat)
    if tempo_override:
        seconds *= song.first_bpm / tempo_override
    return seconds


def position_text(song: Song | None, beat: float, tempo_override: float | None) -> str:
    """A position as the transport shows it, "bar:beat · m:ss": bars follow the song's
    time-signature map, seconds its tempo map at the playback tempo."""
    bar, beat_in_bar = bar_and_beat(song, beat)
    minutes, secs = divmod(int(clock_seconds(song, beat, tempo_override) + 1e-6), 60)
    return f"{bar}:{beat_in_bar} · {minutes}:{secs:02d}"
