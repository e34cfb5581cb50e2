"""`MidiPlayer`: plays a `Song` to an rtmidi output from its own thread.

Timing: every event has an absolute deadline `origin + seconds / tempo_factor` on
`time.perf_counter()`. The thread sleeps (on a condition variable, so commands wake it) until
`SPIN_S` before the deadline and then spins, so lateness never accumulates: a late event does not
delay the next one. Tempo changes, seeks and loop turns move the origin, never the deadlines' base.

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
from typing import Literal

import rtmidi

from ..music.song import Song
from . import ports as port_discovery
from .panic import SoundingNotes, release_messages, silence
from .ports import CLIENT_NAME, VIRTUAL_PORT_NAME, ApiStatus, PortError
from .scheduling import NOTE_OFF, NOTE_ON, Schedule, build_schedule, program_messages

PlayerState = Literal["stopped", "playing", "paused"]

SPIN_S = 0.002  # spin this long before a deadline instead of trusting the OS sleep
START_LEAD_S = 0.02  # the first event of a play/seek is this far in the future, so it is not late
POSITION_INTERVAL_S = 1 / 30
AUDITION_CHANNEL = 15
BEAT_EPS = 1e-9
REALTIME_PRIORITY = 20

NO_OUTPUT_HELP = (
    "No MIDI output is available. Start a software synth (for example FluidSynth: "
    "`fluidsynth -a pulseaudio -m alsa_seq /usr/share/sounds/sf2/FluidR3_GM.sf2`, or a JACK synth) "
    f'and refresh the port list, choose the virtual port "{VIRTUAL_PORT_NAME}" and connect a synth to it, '
    "or export the song as MIDI or WAV."
)


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
    ) -> None:
        self.client_name = client_name
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
        self._out: rtmidi.MidiOut | None = None
        self._status = PlayerStatus(False, "No MIDI output open.")
        self._sounding = SoundingNotes()
        self._song: Song | None = None
        self._schedule: Schedule | None = None
        self._state: PlayerState = "stopped"
        self._position = 0.0  # beats; authoritative while not playing
        self._origin = 0.0  # perf_counter time of song second 0 at the current tempo factor
        self._next = 0  # index of the next event to send
        self._tempo_bpm: float | None = None
        self._program = 0
        self._loop = False
        self._loop_range: tuple[float, float] | None = None
        self._next_tick = 0.0
        self._auditions: list[tuple[float, int]] = []  # (deadline, pitch) heap
        self._closing = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="rbm-midi-player", daemon=True)
        self._thread.start()
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
                return self._beat_at(time.perf_counter())
            return self._position

    @property
    def tempo_override(self) -> float | None:
        return self._tempo_bpm

    @property
    def tempo_bpm(self) -> float:
        """The tempo playback runs at now (the override, or the song's opening tempo)."""
        if self._tempo_bpm is not None:
            return self._tempo_bpm
        return self._schedule.tempo_map.first_bpm if self._schedule else 120.0

    @property
    def program(self) -> int:
        return self._program

    @property
    def loop(self) -> bool:
        return self._loop

    @property
    def loop_range(self) -> tuple[float, float]:
        """The looped region in beats (default: the whole song, to the end of its last bar)."""
        if self._loop_range is not None:
            return self._loop_range
        return (0.0, self._schedule.bar_end() if self._schedule else 0.0)

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
        port; without either, the first port of `api`. Returns whether an output is now open; the
        reason otherwise is in `status`. Playback continues on the new port."""
        try:
            out, status = self._open_output(api, port, virtual)
        except PortError as exc:
            out, status = None, PlayerStatus(False, str(exc), api=api)
        with self._cond:
            self._release_output()
            self._out = out
            self._status = status
            if out is not None:
                self._send_programs()
            self._cond.notify_all()
        self._emit_status(status)
        return status.ready

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
        except (rtmidi.RtMidiError, RuntimeError, OSError) as exc:
            out.delete()
            raise PortError(f"could not open the {display} output: {exc}") from exc

    def open_default(self, prefer: list[str] | None = None) -> bool:
        """Open the first real output port found (in `prefer` API order); no port → status says
        what to do. Never opens a virtual port on its own: that is the person's choice."""
        statuses = port_discovery.list_outputs(prefer)
        for st in statuses:
            if st.ports:
                return self.open(st.api, 0)
        reasons = "; ".join(f"{s.display_name}: {s.reason}" for s in statuses if s.reason)
        self.close_output()
        status = PlayerStatus(False, NO_OUTPUT_HELP + (f" ({reasons})" if reasons else ""))
        with self._cond:
            self._status = status
        self._emit_status(status)
        return False

    def close_output(self) -> None:
        """Silence and close the current output (playback keeps its position, but nothing sounds)."""
        with self._cond:
            self._release_output()
            self._status = PlayerStatus(False, "No MIDI output open.")
            status = self._status
        self._emit_status(status)

    def _release_output(self) -> None:
        if self._out is None:
            return
        self._silence()
        out, self._out = self._out, None
        try:
            with port_discovery.quiet_native_stderr():
                out.close_port()
                out.delete()
        except Exception:  # noqa: BLE001 — closing a dead port must not stop the app
            pass

    # ----------------------------------------------------------------------------- song
    def load(self, song: Song | None) -> None:
        """Stop (silencing), then make `song` the one to play from its beginning."""
        self.stop()
        with self._cond:
            self._song = song
            self._schedule = build_schedule(song) if song is not None else None
            self._loop_range = None
            self._position = 0.0
        self._emit_position(0.0)

    # ----------------------------------------------------------------------------- transport
    def play(self) -> bool:
        """Start or resume. False (and nothing happens) without an output or a song with notes."""
        with self._cond:
            if self._state == "playing":
                return True
            if self._out is None or self._schedule is None or not self._schedule.events:
                return False
            start = self._position
            if start >= self._end_beat() - BEAT_EPS:
                start = self.loop_range[0] if self._loop else 0.0
            self._send_programs()
            self._start_at(start, time.perf_counter() + START_LEAD_S)
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
            self._position = self._beat_at(time.perf_counter())
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
            self._position = self._loop_range[0] if (self._loop and self._loop_range) else 0.0
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
        beat = min(max(float(beat), 0.0), max(self._end_beat(), 0.0))
        with self._cond:
            if self._state == "playing":
                self._silence()
                self._start_at(beat, time.perf_counter() + START_LEAD_S)
                self._cond.notify_all()
            else:
                self._position = beat
        self._emit_position(beat)

    def set_loop(self, enabled: bool, start: float | None = None, end: float | None = None) -> None:
        """Loop `start`..`end` beats (default: the whole song up to the end of its last bar)."""
        with self._cond:
            self._loop = bool(enabled)
            if start is None and end is None:
                self._loop_range = None
            else:
                lo = 0.0 if start is None else max(float(start), 0.0)
                hi = self.loop_range[1] if end is None else float(end)
                if hi <= lo:
                    raise ValueError(f"loop end {hi} must be after loop start {lo}")
                self._loop_range = (lo, hi)
            if self._state == "playing":
                now = time.perf_counter()
                beat = self._beat_at(now)
                lo, hi = self.loop_range
                if self._loop and not lo - BEAT_EPS <= beat < hi:
                    self._silence()
                    self._start_at(lo, now + START_LEAD_S)
            self._cond.notify_all()

    def set_tempo(self, bpm: float | None) -> None:
        """Play at `bpm` (tempo changes in the song keep their proportions); None = song tempo."""
        if bpm is not None and not 1.0 <= float(bpm) <= 1000.0:
            raise ValueError(f"tempo {bpm} BPM is outside 1..1000")
        with self._cond:
            now = time.perf_counter()
            beat = self._beat_at(now) if self._state == "playing" else None
            self._tempo_bpm = None if bpm is None else float(bpm)
            if beat is not None:
                self._origin = now - self._song_seconds(beat) / self._factor()
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
            heapq.heappush(self._auditions, (time.perf_counter() + duration, pitch))
            self._cond.notify_all()
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
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        with self._cond:
            self._auditions.clear()
            self._release_output()
        _live_players.discard(self)

    def __enter__(self) -> MidiPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- internals
    def _factor(self) -> float:
        if self._tempo_bpm is None or self._schedule is None:
            return 1.0
        return self._tempo_bpm / self._schedule.tempo_map.first_bpm

    def _song_seconds(self, beat: float) -> float:
        return self._schedule.tempo_map.seconds_at(beat) if self._schedule else 0.0

    def _beat_at(self, now: float) -> float:
        if self._schedule is None:
            return 0.0
        seconds = (now - self._origin) * self._factor()
        return max(self._schedule.tempo_map.beat_at(seconds), 0.0)

    def _end_beat(self) -> float:
        return self._schedule.end_beat if self._schedule else 0.0

    def _deadline(self, beat_seconds: float) -> float:
        return self._origin + beat_seconds / self._factor()

    def _start_at(self, beat: float, when: float) -> None:
        """Make `beat` happen at perf_counter time `when`."""
        assert self._schedule is not None
        self._origin = when - self._song_seconds(beat) / self._factor()
        self._next = self._schedule.index_at(beat)
        self._next_tick = when

    def _send(self, message: tuple[int, ...]) -> None:
        if self._out is None:
            return
        self._out.send_message(list(message))
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
        out = self._out
        silence(lambda m: out.send_message(list(m)), self._sounding, channels)

    def _loop_end(self) -> float | None:
        return self.loop_range[1] if self._loop else None

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
            loop_end = self._loop_end()
            if self._event_eligible(self._next, loop_end):
                deadlines.append(self._deadline(self._schedule.events[self._next].seconds))
            elif loop_end is not None:
                deadlines.append(self._deadline(self._song_seconds(loop_end)))
            else:
                deadlines.append(time.perf_counter())  # nothing left: finish now
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
        loop_end = self._loop_end()
        try:
            while self._event_eligible(self._next, loop_end):
                event = events[self._next]
                if self._deadline(event.seconds) > now:
                    break
                self._send(event.message)
                self._next += 1
            if not self._event_eligible(self._next, loop_end):
                if loop_end is not None:
                    turn = self._deadline(self._song_seconds(loop_end))
                    if turn <= now:
                        for message in release_messages(self._sounding):
                            self._send(message)
                        self._start_at(self.loop_range[0], turn)
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
        except (rtmidi.RtMidiError, RuntimeError, OSError) as exc:
            self._state = "stopped"
            self._idle.set()
            self._status = PlayerStatus(False, f"MIDI output failed: {exc}")
            status = self._status
            calls += [lambda: self._emit_state("stopped"), lambda: self._emit_status(status)]
            return calls
        if now >= self._next_tick:
            self._next_tick = now + self.position_interval
            beat = self._beat_at(now)
            calls.append(lambda: self._emit_position(beat))
        return calls

    def _run(self) -> None:
        if self.realtime:
            self.realtime = _try_realtime_priority()
        while True:
            with self._cond:
                if self._closing:
                    return
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
