"""MIDI in: which inputs exist, and one open input that stamps every message as it arrives.

Discovery mirrors `ports` (outputs): every rtmidi API that cannot start becomes an `ApiStatus` with
a human reason. An input is a port of a keyboard or a DAW, or our own virtual input
"RBM Studio In" that any program can play into (not on Windows MM).

Stamps: rtmidi queues each message with its arrival time by the MIDI system's own clock (JACK's
frames, ALSA's queue), and a thread of ours collects it within a couple of milliseconds and
stamps it by the `clock` the owner gives (the player's beat, for a take). That thread can be held
up (the GIL, a busy machine), so the stamps are not used as they are: the MIDI system's times,
moved onto the owner's clock by the least-delayed message of the take, are what `messages`
returns, so a late wake-up delays nothing. (No rtmidi callback: it would run Python on JACK's
realtime thread, and closing a port while it waits for the GIL stalls the JACK server.)
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import rtmidi

from .output_choice import OutputChoice
from .ports import (
    CLIENT_NAME,
    DISPLAY_NAME,
    VIRTUAL_CAPABLE,
    ApiStatus,
    PortError,
    api_constant,
    compiled_apis,
    explain_failure,
    quiet_native_stderr,
    resolve_port,
)

VIRTUAL_INPUT_NAME = "RBM Studio In"
INPUT_CLIENT_NAME = f"{CLIENT_NAME} input"
# Channel voice messages only: a keyboard's clock, active sensing and sysex are of no use here.
_CHANNEL_STATUS = range(0x80, 0xF0)
MAX_KEPT = 100_000  # a take never needs more; a flooding device cannot grow memory without end
POLL_S = 0.002  # how often the input's queue is read (also what hearing a key through adds)

Stamp = Callable[[], float]
Listener = Callable[[float, tuple[int, ...]], None]


def new_input(api: str, client_name: str = INPUT_CLIENT_NAME) -> rtmidi.MidiIn:
    """A `MidiIn` on `api`; raises `PortError` with a human reason when the API cannot start."""
    constant = api_constant(api)
    try:
        with quiet_native_stderr():
            return rtmidi.MidiIn(rtapi=constant, name=client_name, queue_size_limit=4096)
    except (rtmidi.RtMidiError, RuntimeError, OSError) as exc:
        raise PortError(explain_failure(api, exc)) from exc


def probe_inputs(api: str) -> ApiStatus:
    """Start `api` briefly and list its input ports (our own virtual input is left out)."""
    try:
        midi_in = new_input(api, client_name=f"{CLIENT_NAME} input probe")
    except PortError as exc:
        return ApiStatus(api, False, [], str(exc))
    try:
        with quiet_native_stderr():
            ports = [p for p in midi_in.get_ports() if VIRTUAL_INPUT_NAME not in p]
    finally:
        with quiet_native_stderr():
            midi_in.delete()
    return ApiStatus(api, True, ports, "" if ports else "no input ports")


def list_inputs(apis: list[str] | None = None) -> list[ApiStatus]:
    """Status and input ports of every compiled API (or of `apis`)."""
    return [probe_inputs(api) for api in (apis if apis is not None else compiled_apis())]


@dataclass(frozen=True, slots=True)
class InputStatus:
    """Whether an input is open, and a line saying which (or why none)."""

    ready: bool
    message: str
    api: str | None = None
    port: str | None = None
    virtual: bool = False


class MidiInput:
    """One MIDI input at a time; messages are kept, stamped (see the module docstring), until
    `clear`, and each is also handed to `on_message(stamp, message)` on the input's thread. `rate`
    is the owner's clock units per second (beats a second for a clock in beats)."""

    def __init__(
        self,
        *,
        client_name: str = INPUT_CLIENT_NAME,
        clock: Stamp = time.perf_counter,
        rate: float = 1.0,
        on_message: Listener | None = None,
    ) -> None:
        self.client_name = client_name
        self.clock = clock
        self.rate = rate
        self.on_message = on_message
        self._in: rtmidi.MidiIn | None = None
        self._lock = threading.Lock()
        # (stamp by `clock`, seconds by the MIDI system's clock, message) since `clear`
        self._kept: list[tuple[float, float, tuple[int, ...]]] = []
        self._elapsed = 0.0
        self._running = False
        self._thread: threading.Thread | None = None
        self.status = InputStatus(False, "No MIDI input open.")

    def open(self, api: str, port: str | int | None = None, *, virtual: bool = False) -> bool:
        """Listen to `port` (index, name or unique substring) on `api`, or on the virtual input
        "RBM Studio In"; without either, the first port. False (with `status` saying why) when
        it cannot open; the old input is closed either way."""
        self.close()
        display = DISPLAY_NAME.get(api, api)
        try:
            midi_in = new_input(api, self.client_name)
        except PortError as exc:
            self.status = InputStatus(False, str(exc), api)
            return False
        try:
            with quiet_native_stderr():
                if virtual:
                    if api not in VIRTUAL_CAPABLE:
                        raise PortError(f"{display} cannot create virtual MIDI ports")
                    midi_in.open_virtual_port(VIRTUAL_INPUT_NAME)
                    name = VIRTUAL_INPUT_NAME
                    message = (
                        f'Input: virtual "{name}" on {display} — play into it from any program.'
                    )
                else:
                    names = [p for p in midi_in.get_ports() if VIRTUAL_INPUT_NAME not in p]
                    if not names:
                        raise PortError(f"{display} has no MIDI input ports")
                    name = names[0 if port is None else resolve_port(names, port, "input")]
                    midi_in.open_port(midi_in.get_ports().index(name), name=VIRTUAL_INPUT_NAME)
                    message = f"Input: {name} ({display})"
        except (PortError, rtmidi.RtMidiError, RuntimeError, OSError, ValueError) as exc:
            with quiet_native_stderr():
                midi_in.delete()
            text = str(exc) if isinstance(exc, PortError) else f"could not open the input: {exc}"
            self.status = InputStatus(False, text, api)
            return False
        self._in = midi_in
        self._running = True
        self._thread = threading.Thread(
            target=self._poll, args=(midi_in,), name="rbm-midi-input", daemon=True
        )
        self._thread.start()
        self.status = InputStatus(True, message, api, name, virtual)
        return True

    def _poll(self, midi_in: rtmidi.MidiIn) -> None:
        while self._running:
            try:
                item = midi_in.get_message()
            except (rtmidi.RtMidiError, RuntimeError, OSError):
                item = None
            if item is None:
                time.sleep(POLL_S)
            else:
                self._arrived(item)

    def _arrived(self, item: tuple[list[int], float]) -> None:
        stamp = self.clock()
        message = tuple(int(b) for b in item[0])
        with self._lock:
            self._elapsed += max(float(item[1]), 0.0)  # rtmidi: seconds since the last message
            if not message or message[0] not in _CHANNEL_STATUS:
                return
            if len(self._kept) < MAX_KEPT:
                self._kept.append((stamp, self._elapsed, message))
        listener = self.on_message
        if listener is not None:
            # a faulty listener must not stop the input
            with contextlib.suppress(Exception):
                listener(stamp, message)

    def messages(self) -> list[tuple[float, tuple[int, ...]]]:
        """(stamp, message) for every message since `clear`, in order of arrival: each stamp is
        the MIDI system's arrival time on the owner's clock (see the module docstring); a
        message stamped before any finite clock reading keeps its own stamp."""
        with self._lock:
            kept = list(self._kept)
        offsets = [s - e * self.rate for s, e, _m in kept if math.isfinite(s)]
        if not offsets:
            return [(s, m) for s, _e, m in kept]
        offset = min(offsets)
        return [(e * self.rate + offset, m) for _s, e, m in kept]

    def clear(self) -> None:
        with self._lock:
            self._kept = []

    @property
    def is_open(self) -> bool:
        return self._in is not None

    def close(self) -> None:
        """Stop listening; safe to call twice."""
        midi_in, self._in = self._in, None
        if midi_in is None:
            return
        self._running = False
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        try:
            with quiet_native_stderr():
                midi_in.close_port()
                midi_in.delete()
        except Exception:  # noqa: BLE001 — closing a dead port must not stop the app
            pass
        self.status = InputStatus(False, "No MIDI input open.")

    def __enter__(self) -> MidiInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def input_choices(statuses: list[ApiStatus]) -> list[OutputChoice]:
    """What a musician may record from: every input port (in API order), then the virtual input
    "RBM Studio In" of each API that can make one."""
    choices = [
        OutputChoice(s.api, port, False, f"{port} ({s.display_name})")
        for s in statuses
        for port in s.ports
    ]
    choices += [
        OutputChoice(s.api, None, True, f'Virtual input "{VIRTUAL_INPUT_NAME}" ({s.display_name})')
        for s in statuses
        if s.supports_virtual
    ]
    return choices
