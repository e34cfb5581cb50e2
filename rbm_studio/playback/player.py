"""`MidiPlayer`: plays a `Song` to an rtmidi output from its own thread, or to the built-in synth.

Timing: every event has an absolute deadline `origin + seconds / tempo_factor` on
`time.perf_counter()`. The thread sleeps (on a condition variable, so commands wake it) until
`SPIN_S` before the deadline and then spins, so lateness never accumulates: a late event does not
delay the next one. Tempo changes, seeks and loop turns move the origin, never the deadlines' base.

The built-in synth (`open_synth`, api "builtin") is a clocked output: its audio callback asks the
player for each block, and `_render_audio` applies every event due inside the block at its own
sample, so there the audio clock (frames rendered) replaces `perf_counter` and the player thread
idles. Transport commands work the same on both kinds of output.

Robustness: opening a port never raises — failures land in `player.status` with a human message.
Every way of stopping sound (stop, pause, seek, loop, port change, close, interpreter exit) sends
note-offs for the sounding notes, and all but the loop turn also CC123 + CC120 on each used
channel. The natural end of the song sends only note-offs, so the last chord's release rings out.
Callbacks (`on_position`, `on_state`, `on_status`, `on_finished`) run on the player thread or on
the caller's thread, never while the player's lock is held, so they may call back into the player.
"""

from __future__ import annotations

import atexit
import contextlib
import heapq
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..music.song import Song
from . import ports as port_discovery
from .audio import BUILTIN_API, BUILTIN_LABEL, AudioDeviceError, SynthOutput
from .clock import BEAT_EPS, PlayClock
from .panic import SoundingNotes, release_messages, silence
from .port_watch import OutputWatch
from .ports import CLIENT_NAME, MIDI_ERRORS, VIRTUAL_PORT_NAME, ApiStatus, PortError
from .scheduling import NOTE_OFF, NOTE_ON, Schedule, build_schedule, program_messages

if TYPE_CHECKING:
    import rtmidi

PlayerState = Literal["stopped", "playing", "paused"]

SPIN_S = 0.002  # spin this long before a deadline instead of trusting the OS sleep
START_LEAD_S = 0.02  # the first event of a play/seek is this far in the future, so it is not late
POSITION_INTERVAL_S = 1 / 30
AUDITION_CHANNEL = 15
WATCH_INTERVAL_S = 0.25  # how often an open MIDI port is checked for having gone away
REALTIME_PRIORITY = 20

NO_OUTPUT_HELP = (
    "Nothing can play sound here: no audio device opened for the built-in synth and no MIDI synth "
    "is connected. Export the song as MIDI or WAV, or connect a synth and refresh the outputs."
)
# The details behind the transport's "How?" link and `rbm-studio play`'s error.
NO_OUTPUT_DETAILS = (
    "The built-in synth plays through the computer's default audio device. If none opened, check "
    "that speakers or headphones are connected and that the system's sound server is running "
    "(PulseAudio or PipeWire on Linux), then click Refresh.\n\n"
    "To play through another synth instead, start it and click Refresh: on Linux for example "
    "`fluidsynth -a pulseaudio -m alsa_seq SOUNDFONT.sf2`, or a synth in your DAW; or choose "
    f'the virtual port "{VIRTUAL_PORT_NAME}" and connect a synth to it. Ports named "Through" pass '
    "MIDI on without sounding, so they are never chosen for you.\n\n"
    "Export WAV needs no audio device: it renders with the built-in synth."
)


class _RtMidiOutput:
    """An open rtmidi port as a player output: messages go out the moment they are sent."""

    clocked = False
    latency = 0.0

    def __init__(self, out: rtmidi.MidiOut, watch: OutputWatch | None = None) -> None:
        self.out = out
        self.watch = watch

    def lost(self) -> str | None:
        """Why the port or its server is gone, or None while it is there."""
        return self.watch.lost() if self.watch is not None else None

    def now(self) -> float:
        return time.perf_counter()

    def send(self, message: tuple[int, ...]) -> None:
        self.out.send_message(list(message))

    def close(self) -> None:
        try:
            with port_discovery.quiet_native_stderr():
                self.out.close_port()
                self.out.delete()
        except Exception:  # noqa: BLE001 — closing a dead port must not stop the app
            pass
        if self.watch is not None:
            self.watch.close()


@dataclass(frozen=True, slots=True)
class PlayerStatus:
    """What the output is: `ready` when messages can be sent; `message` says why not, or where to."""

    ready: bool
    message: str
    api: str | None = None
    port: str | None = None
    virtual: bool = False


_live_players: weakref.WeakSet[MidiPlayer] = weakref.WeakSet()


@atexit.register
def _silence_all_players() -> None:
    """Interpreter exit: no synth is left holding a note we started."""
    for player in list(_live_players):
        player.close()


def _try_realtime_priority() -> bool:
    """Put the calling thread on SCHED_FIFO at a low priority (below JACK's) if permitted."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return True
    except (AttributeError, OSError):
        return False


class MidiPlayer:
    """Play, pause, stop, seek, loop and re-tempo a song on one MIDI output."""

    def __init__(
        self,
        *,
        client_name: str = CLIENT_NAME,
        on_position: Callable[[float], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        on_status: Callable[[PlayerStatus], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        position_interval: float = POSITION_INTERVAL_S,
        realtime: bool = True,
        soundfont: str | os.PathLike | None = None,
        audio_backends: list[str] | None = None,
    ) -> None:
        self.client_name = client_name
        # The built-in synth's SoundFont (None: the bundled one) and audio backends (None: the
        # system's default device).
        self.soundfont = soundfont
        self.audio_backends = audio_backends
        # Ask for a low realtime priority for the player thread where the OS allows it (root, or
        # an rtprio limit as audio users have); stays False when refused. A loaded machine then
        # delays the thread's wake-ups far less.
        self.realtime = realtime
        self.on_position = on_position
        self.on_state = on_state
        self.on_status = on_status
        self.on_finished = on_finished
        self.position_interval = position_interval
        self._cond = threading.Condition(threading.RLock())
        self._out: _RtMidiOutput | SynthOutput | None = None
        self._status = PlayerStatus(False, "No MIDI output open.")
        self._sounding = SoundingNotes()
        self._song: Song | None = None
        self._schedule: Schedule | None = None
        self._state: PlayerState = "stopped"
        self._position = 0.0  # beats; authoritative while not playing
        self._clock = PlayClock()  # beats ⇄ output-clock time, tempo and loop
        self._next = 0  # index of the next event to send
        self._program = 0
        self._next_tick = 0.0
        self._auditions: list[tuple[float, int]] = []  # (deadline, pitch) heap
        self._closing = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="rbm-midi-player", daemon=True)
        self._thread.start()
        self._watch_stop = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch_output, name="rbm-midi-port-watch", daemon=True
        )
        self._watcher.start()
        _live_players.add(self)

    # ----------------------------------------------------------------------------- properties
    @property
    def status(self) -> PlayerStatus:
        return self._status

    @property
    def state(self) -> PlayerState:
        return self._state

    @property
    def song(self) -> Song | None:
        return self._song

    @property
    def position(self) -> float:
        """Current position in beats."""
        with self._cond:
            if self._state == "playing":
                return self._heard_beat(self._now())
            return self._position

    @property
    def tempo_override(self) -> float | None:
        return self._clock.tempo_override

    @property
    def tempo_bpm(self) -> float:
        """The tempo playback runs at now (the override, or the song's opening tempo)."""
        return self._clock.tempo_bpm

    @property
    def program(self) -> int:
        return self._program

    @property
    def loop(self) -> bool:
        return self._clock.loop

    @property
    def loop_range(self) -> tuple[float, float]:
        """The looped region in beats (default: the whole song, to the end of its last bar)."""
        return self._clock.loop_range

    @property
    def sounding_notes(self) -> list[tuple[int, int]]:
        """(channel, pitch) of notes this player has started and not yet released."""
        with self._cond:
            return self._sounding.sounding()

    # ----------------------------------------------------------------------------- outputs
    @staticmethod
    def outputs(apis: list[str] | None = None) -> list[ApiStatus]:
        """Every compiled rtmidi API with its status and output ports."""
        return port_discovery.list_outputs(apis)

    def open(self, api: str, port: str | int | None = None, *, virtual: bool = False) -> bool:
        """Switch output to `port` (index, name or unique substring) on `api`, or to a new virtual
        port; without either, the first port of `api`. `api` "builtin" is the built-in synth
        (`open_synth`). Returns whether an output is now open; the reason otherwise is in
        `status`. Playback continues on the new output. A closed player opens nothing."""
        if api == BUILTIN_API:
            return self.open_synth()
        if self._closing:
            return False
        try:
            midi_out, status = self._open_output(api, port, virtual)
            watch = OutputWatch(
                api, midi_out, None if status.virtual else status.port, self.client_name
            )
            out: _RtMidiOutput | SynthOutput | None = _RtMidiOutput(midi_out, watch)
        except PortError as exc:
            out, status = None, PlayerStatus(False, str(exc), api=api)
        return self._install(out, status)

    def open_synth(self) -> bool:
        """Switch output to the built-in synth on the audio device (`soundfont`,
        `audio_backends`). False when no audio device or SoundFont opens (`status` says why),
        or the player is closed."""
        from .synth import SynthError

        if self._closing:
            return False
        try:
            synth = SynthOutput(self.soundfont, backends=self.audio_backends)
        except (SynthError, AudioDeviceError) as exc:
            status = PlayerStatus(False, f"The built-in synth cannot play: {exc}.", BUILTIN_API)
            return self._install(None, status)
        status = PlayerStatus(True, f"Output: {synth.description}", BUILTIN_API, BUILTIN_LABEL)
        return self._install(synth, status)

    def _install(self, out: _RtMidiOutput | SynthOutput | None, status: PlayerStatus) -> bool:
        """Make `out` the output (closing the old one); playing goes on from the same beat. An
        output opened while the player was closing is closed at once: nothing would release it."""
        late = old = None
        with self._cond:
            if self._closing:
                late = out
            else:
                old = self._release_output()
                self._install_locked(out, status)
        if late is not None:
            late.close()
            return False
        if old is not None:
            old.close()
        if isinstance(out, SynthOutput):
            try:
                out.start(self._render_audio)
            except AudioDeviceError as exc:
                return self._install(
                    None,
                    PlayerStatus(False, f"The built-in synth cannot play: {exc}.", BUILTIN_API),
                )
        self._emit_status(status)
        return status.ready

    def _install_locked(
        self, out: _RtMidiOutput | SynthOutput | None, status: PlayerStatus
    ) -> None:
        """`_install`'s part under the lock: the output swapped in, playing moved onto it."""
        self._out = out
        self._status = status
        self._auditions.clear()
        if out is not None:
            self._send_programs()
        if self._state == "playing":
            if out is None:
                clock = self._clock
                clock.origin = (
                    time.perf_counter() - clock.song_seconds(self._position) / clock.factor()
                )
            else:
                self._start_at(self._position, self._now() + self._lead())
        self._cond.notify_all()

    def _open_output(
        self, api: str, port: str | int | None, virtual: bool
    ) -> tuple[rtmidi.MidiOut, PlayerStatus]:
        out = port_discovery.new_output(api, self.client_name)
        display = port_discovery.DISPLAY_NAME.get(api, api)
        try:
            with port_discovery.quiet_native_stderr():
                if virtual:
                    if api not in port_discovery.VIRTUAL_CAPABLE:
                        raise PortError(f"{display} cannot create virtual MIDI ports")
                    out.open_virtual_port(VIRTUAL_PORT_NAME)
                    message = f'Virtual output "{VIRTUAL_PORT_NAME}" on {display} — connect a synth to it.'
                    return out, PlayerStatus(True, message, api, VIRTUAL_PORT_NAME, True)
                names = list(out.get_ports())
                if not names:
                    raise PortError(f"{display} has no MIDI output ports")
                index = 0 if port is None else port_discovery.resolve_port(names, port)
                out.open_port(index, name=VIRTUAL_PORT_NAME)
                message = f"Output: {names[index]} ({display})"
                return out, PlayerStatus(True, message, api, names[index], False)
        except PortError:
            out.delete()
            raise
        except MIDI_ERRORS as exc:
            out.delete()
            raise PortError(f"could not open the {display} output: {exc}") from exc

    def open_default(self, prefer: list[str] | None = None) -> bool:
        """Open the first port that may sound (in `prefer` API order), never a "Through" port
        nor, on its own, a virtual port; none → `status` says what to do. (The built-in synth
        is opened with `open_synth`.)"""
        statuses = port_discovery.list_outputs(prefer)
        for st in statuses:
            candidates = port_discovery.sounding_ports(st)
            if candidates:
                return self.open(st.api, st.ports.index(candidates[0]))
        reasons = "; ".join(f"{s.display_name}: {s.reason}" for s in statuses if s.reason)
        self.close_output()
        status = PlayerStatus(False, NO_OUTPUT_HELP + (f" ({reasons})" if reasons else ""))
        with self._cond:
            self._status = status
        self._emit_status(status)
        return False

    def close_output(self) -> None:
        """Silence and close the current output (playback keeps its position, but nothing sounds)."""
        self._install(None, PlayerStatus(False, "No MIDI output open."))

    def _release_output(self) -> _RtMidiOutput | SynthOutput | None:
        """Silence the output and detach it; the caller closes it once the lock is released
        (closing an audio device waits for its callback, which takes the lock)."""
        if self._out is None:
            return None
        if self._state == "playing":
            self._position = self._clock.beat_at(self._now())
        self._silence()
        out, self._out = self._out, None
        return out

    # ----------------------------------------------------------------------------- song
    def load(self, song: Song | None) -> None:
        """Stop (silencing), then make `song` the one to play from its beginning."""
        self.stop()
        with self._cond:
            self._song = song
            self._schedule = build_schedule(song) if song is not None else None
            self._clock.load(self._schedule)
            self._position = 0.0
        self._emit_position(0.0)

    def replace(self, song: Song) -> None:
        """Swap the song for `song` without stopping: the clock runs on, so a song with the same
        tempo that agrees with the old one up to now goes on in time (the model's answer added
        to a running metronome). Stopped or paused, it is `load` keeping the position."""
        with self._cond:
            if self._state != "playing":
                position = self._position
                self._song, self._schedule = song, build_schedule(song)
                self._clock.load(self._schedule)
                self._position = min(position, self._schedule.end_beat)
                return
            old = self._schedule
            beat = self._clock.beat_at(self._now())
            if old is not None and self._next < len(old.events):
                beat = min(beat, old.events[self._next].beat)
            self._song, self._schedule = song, build_schedule(song)
            self._clock.load(self._schedule)
            self._next = self._schedule.index_at(beat)
            if self._out is not None:
                self._send_programs()
            self._cond.notify_all()

    # ----------------------------------------------------------------------------- transport
    def play(self) -> bool:
        """Start or resume. False (and nothing happens) without an output or a song with notes."""
        with self._cond:
            if self._state == "playing":
                return True
            if self._out is None or self._schedule is None or not self._schedule.events:
                return False
            start = self._clock.start_beat(self._position)
            self._send_programs()
            self._start_at(start, self._now() + self._lead())
            self._state = "playing"
            self._idle.clear()
            self._cond.notify_all()
        self._emit_state("playing")
        return True

    def pause(self) -> None:
        """Stop sounding but keep the position."""
        with self._cond:
            if self._state != "playing":
                return
            self._position = self._clock.beat_at(self._now())
            self._state = "paused"
            self._silence()
            self._idle.set()
            self._cond.notify_all()
            position = self._position
        self._emit_state("paused")
        self._emit_position(position)

    def toggle(self) -> bool:
        """Play when not playing, else pause (the Space key). Returns whether it is playing now."""
        if self._state == "playing":
            self.pause()
            return False
        return self.play()

    def stop(self) -> None:
        """Silence everything and go back to the start."""
        with self._cond:
            was = self._state
            self._state = "stopped"
            self._position = self._clock.stop_beat()
            self._silence()
            self._idle.set()
            self._cond.notify_all()
            position = self._position
        if was != "stopped":
            self._emit_state("stopped")
        self._emit_position(position)

    def seek(self, beat: float) -> None:
        """Jump to `beat`; while playing, sounding notes are released and playback goes on there
        (a note that began before `beat` is not struck again: playback resumes with the next
        onset, as in most sequencers)."""
        beat = min(max(float(beat), 0.0), max(self._clock.end_beat, 0.0))
        with self._cond:
            if self._state == "playing":
                self._silence()
                self._start_at(beat, self._now() + self._lead())
                self._cond.notify_all()
            else:
                self._position = beat
        self._emit_position(beat)

    def set_loop(self, enabled: bool, start: float | None = None, end: float | None = None) -> None:
        """Loop `start`..`end` beats (default: the whole song up to the end of its last bar)."""
        with self._cond:
            self._clock.set_loop(enabled, start, end)
            if self._state == "playing":
                now = self._now()
                if self._clock.outside_loop(self._clock.beat_at(now)):
                    self._silence()
                    self._start_at(self._clock.loop_range[0], now + self._lead())
            self._cond.notify_all()

    def set_tempo(self, bpm: float | None) -> None:
        """Play at `bpm` (tempo changes in the song keep their proportions); None = song tempo."""
        with self._cond:
            playing = self._state == "playing"
            self._clock.set_tempo(bpm, self._now(), playing)
            if playing:
                self._cond.notify_all()

    def set_program(self, program: int) -> None:
        """General MIDI instrument (0 = acoustic grand piano) for every melodic channel."""
        if not 0 <= int(program) <= 127:
            raise ValueError(f"program {program} is outside 0..127")
        with self._cond:
            self._program = int(program)
            if self._out is not None:
                self._send_programs()

    def audition(self, pitch: int, velocity: int = 90, duration: float = 0.4) -> bool:
        """Sound one pitch briefly (clicking a piano key). False when no output is open."""
        pitch = min(max(int(pitch), 0), 127)
        with self._cond:
            if self._out is None:
                return False
            if any(p == pitch for _, p in self._auditions):
                self._auditions = [(d, p) for d, p in self._auditions if p != pitch]
                heapq.heapify(self._auditions)
                self._send((NOTE_OFF | AUDITION_CHANNEL, pitch, 0))
            self._send((NOTE_ON | AUDITION_CHANNEL, pitch, min(max(int(velocity), 1), 127)))
            heapq.heappush(self._auditions, (self._now() + duration, pitch))
            self._cond.notify_all()
        return True

    def thru(self, message: tuple[int, ...]) -> bool:
        """Sound a note-on or note-off from a MIDI input now, on the audition channel (a
        keyboard without a voice of its own heard while it records). False without an output."""
        if len(message) < 3 or message[0] & 0xE0 != 0x80:
            return False
        status = (message[0] & 0xF0) | AUDITION_CHANNEL
        with self._cond:
            if self._out is None:
                return False
            self._send((status, message[1] & 0x7F, message[2] & 0x7F))
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback is not running (song ended, stopped or paused)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the thread and close the output, silencing it. Safe to call twice."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._state = "stopped"
            self._idle.set()
            self._cond.notify_all()
        self._watch_stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        if threading.current_thread() is not self._watcher:
            self._watcher.join(timeout=2.0)
        with self._cond:
            self._auditions.clear()
            old = self._release_output()
        if old is not None:
            old.close()
        _live_players.discard(self)

    def __enter__(self) -> MidiPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- internals
    def _now(self) -> float:
        """The output's clock: the audio clock for the built-in synth, else `perf_counter`."""
        return self._out.now() if self._out is not None else time.perf_counter()

    def _lead(self) -> float:
        """How far ahead a (re)start is scheduled: the synth renders it exactly at the next
        block; a MIDI port gets a little time so the first event is not late."""
        return 0.0 if self._out is not None and self._out.clocked else START_LEAD_S

    def _latency(self) -> float:
        """Seconds from scheduling to hearing (the audio device's buffer); the playhead shows
        what is heard."""
        return self._out.latency if self._out is not None else 0.0

    def _heard_beat(self, now: float) -> float:
        """The beat being heard at output-clock time `now` (the playhead shows what is heard)."""
        return self._clock.beat_at(self._clock.heard(now, self._latency()))

    def _start_at(self, beat: float, when: float) -> None:
        """Make `beat` happen at output-clock time `when`."""
        assert self._schedule is not None
        self._clock.start_at(beat, when)
        self._next = self._schedule.index_at(beat)
        self._next_tick = when

    def _send(self, message: tuple[int, ...]) -> None:
        if self._out is None:
            return
        self._out.send(message)
        self._sounding.observe(message)

    def _send_programs(self) -> None:
        channels = list(self._schedule.channels) if self._schedule else []
        for message in program_messages([*channels, AUDITION_CHANNEL], self._program):
            self._send(message)

    def _silence(self) -> None:
        """Note-offs for sounding notes plus CC123/CC120 on every used channel."""
        if self._out is None:
            self._sounding.clear()
            return
        channels = self._schedule.channels if self._schedule else []
        silence(self._out.send, self._sounding, channels)

    def _event_eligible(self, index: int, loop_end: float | None) -> bool:
        """Whether event `index` belongs before the loop turn (note-offs exactly at the loop end
        still go out first; note-ons there belong to the next pass)."""
        assert self._schedule is not None
        if index >= len(self._schedule.events):
            return False
        event = self._schedule.events[index]
        if loop_end is None or event.beat < loop_end - BEAT_EPS:
            return True
        return abs(event.beat - loop_end) <= BEAT_EPS and event.is_note_off

    def _next_deadline(self) -> float | None:
        deadlines = []
        if self._auditions:
            deadlines.append(self._auditions[0][0])
        if self._state == "playing" and self._schedule is not None:
            deadlines.append(self._next_tick)
            loop_end = self._clock.loop_end()
            if self._event_eligible(self._next, loop_end):
                deadlines.append(self._clock.deadline(self._schedule.events[self._next].seconds))
            elif loop_end is not None:
                deadlines.append(self._clock.deadline(self._clock.song_seconds(loop_end)))
            else:
                deadlines.append(self._now())  # nothing left: finish now
        return min(deadlines) if deadlines else None

    def _dispatch_due(self, now: float) -> list[Callable[[], None]]:
        """Send everything whose deadline has come; return callbacks to run outside the lock."""
        calls: list[Callable[[], None]] = []
        while self._auditions and self._auditions[0][0] <= now:
            _, pitch = heapq.heappop(self._auditions)
            self._send((NOTE_OFF | AUDITION_CHANNEL, pitch, 0))
        if self._state != "playing" or self._schedule is None:
            return calls
        events = self._schedule.events
        loop_end = self._clock.loop_end()
        try:
            while self._event_eligible(self._next, loop_end):
                event = events[self._next]
                if self._clock.deadline(event.seconds) > now:
                    break
                self._send(event.message)
                self._next += 1
            if not self._event_eligible(self._next, loop_end):
                if loop_end is not None:
                    turn = self._clock.deadline(self._clock.song_seconds(loop_end))
                    if turn <= now:
                        for message in release_messages(self._sounding):
                            self._send(message)
                        self._start_at(self._clock.loop_range[0], turn)
                else:
                    # The song's own note-offs have gone out; no CC120 here, so the last chord
                    # keeps its natural release instead of being cut.
                    for message in release_messages(self._sounding):
                        self._send(message)
                    self._state = "stopped"
                    self._position = 0.0
                    self._idle.set()
                    calls += [lambda: self._emit_state("stopped"), lambda: self._emit_position(0.0)]
                    if self.on_finished is not None:
                        calls.append(self.on_finished)
                    return calls
        except MIDI_ERRORS as exc:
            return calls + self._output_failed(f"MIDI output failed: {exc}")
        if now >= self._next_tick:
            self._next_tick = now + self.position_interval
            beat = self._heard_beat(now)
            calls.append(lambda: self._emit_position(beat))
        return calls

    def _output_failed(self, message: str) -> list[Callable[[], None]]:
        """The MIDI port broke or vanished: stop at the beat reached and say why. A port is
        detached (nothing can silence it any more); the returned calls close it and tell the
        listeners, outside the lock."""
        out, was = self._out, self._state
        if was == "playing":
            self._position = self._clock.beat_at(self._now())
        self._state = "stopped"
        self._idle.set()
        self._sounding.clear()
        self._auditions.clear()
        self._status = PlayerStatus(False, message, api=self._status.api)
        status, position = self._status, self._position
        calls: list[Callable[[], None]] = []
        if isinstance(out, _RtMidiOutput):
            self._out = None
            calls.append(out.close)
        self._cond.notify_all()
        if was != "stopped":
            calls.append(lambda: self._emit_state("stopped"))
        calls += [lambda: self._emit_position(position), lambda: self._emit_status(status)]
        return calls

    def _watch_output(self) -> None:
        """Check the open MIDI port a few times a second: rtmidi does not say when it goes."""
        while not self._watch_stop.wait(WATCH_INTERVAL_S):
            with self._cond:
                if self._closing:
                    return
                out = self._out
                reason = out.lost() if isinstance(out, _RtMidiOutput) else None
                calls = self._output_failed(f"MIDI output lost: {reason}.") if reason else []
            for call in calls:
                with contextlib.suppress(Exception):
                    call()

    def _render_audio(self, out: SynthOutput, frames: int) -> np.ndarray:
        """The built-in synth's audio callback: render `frames`, applying each event due in the
        block at its own sample (the block is cut at every deadline)."""
        block = np.zeros((frames, 2), dtype=np.float32)
        calls: list[Callable[[], None]] = []
        done = 0
        rate = out.sample_rate
        with self._cond:
            while done < frames:
                if self._closing or out is not self._out:
                    out.frames += frames - done  # detached: silence, the clock still runs
                    break
                now = out.now()
                calls += self._dispatch_due(now)
                deadline = self._next_deadline()
                step = frames - done
                if deadline is not None:
                    step = min(step, max(int(np.ceil((deadline - now) * rate - 1e-6)), 1))
                out.render(block[done : done + step])
                done += step
        for call in calls:
            with contextlib.suppress(Exception):
                call()
        return block

    def _run(self) -> None:
        if self.realtime:
            self.realtime = _try_realtime_priority()
        while True:
            with self._cond:
                if self._closing:
                    return
                if self._out is not None and self._out.clocked:
                    self._cond.wait()  # the audio callback plays this output
                    continue
                deadline = self._next_deadline()
                if deadline is None:
                    self._cond.wait()
                    continue
                remaining = deadline - time.perf_counter()
                if remaining > SPIN_S:
                    self._cond.wait(remaining - SPIN_S)
                    continue
            while time.perf_counter() < deadline:
                time.sleep(0)
            with self._cond:
                if self._closing:
                    return
                calls = self._dispatch_due(time.perf_counter())
            for call in calls:
                # A faulty listener must not kill playback.
                with contextlib.suppress(Exception):
                    call()

    def _emit_position(self, beat: float) -> None:
        if self.on_position is not None:
            self.on_position(beat)

    def _emit_state(self, state: str) -> None:
        if self.on_state is not None:
            self.on_state(state)

    def _emit_status(self, status: PlayerStatus) -> None:
        if self.on_status is not None:
            self.on_status(status)
