"""Which MIDI outputs exist: the rtmidi APIs compiled in, and the output ports each one offers.

rtmidi raises (and ALSA / JACK print to stderr) when an API cannot start — no ALSA sequencer in a
container or WSL, no JACK server running. Discovery turns every such failure into an `ApiStatus`
with a human reason, so callers (GUI, CLI) can show it instead of crashing.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

try:
    import rtmidi
except ImportError:  # python-rtmidi has no wheels for Python 3.13+: the built-in synth still plays
    rtmidi = None

VIRTUAL_PORT_NAME = "RBM Studio"
CLIENT_NAME = "RBM Studio"

# What a MIDI port raises besides our own PortError (rtmidi's own error, when rtmidi is here).
MIDI_ERRORS: tuple[type[BaseException], ...] = (RuntimeError, OSError) + (
    (rtmidi.RtMidiError,) if rtmidi is not None else ()
)
NO_RTMIDI = (
    "MIDI ports need python-rtmidi, which is not installed (it has no wheels for this Python; "
    "`pip install python-rtmidi` builds it where a compiler and the ALSA/JACK headers exist)"
)
# Short names people type on the command line ⇄ rtmidi API constants.
API_BY_NAME: dict[str, int] = (
    {
        "alsa": rtmidi.API_LINUX_ALSA,
        "jack": rtmidi.API_UNIX_JACK,
        "coremidi": rtmidi.API_MACOSX_CORE,
        "winmm": rtmidi.API_WINDOWS_MM,
    }
    if rtmidi is not None
    else {}
)
NAME_BY_API = {v: k for k, v in API_BY_NAME.items()}
DISPLAY_NAME = {"alsa": "ALSA", "jack": "JACK", "coremidi": "CoreMIDI", "winmm": "Windows MM"}
# Windows MM cannot create virtual ports; the others can.
VIRTUAL_CAPABLE = {"alsa", "jack", "coremidi"}


class PortError(Exception):
    """A MIDI output could not be opened; the message is a one-line reason for the user."""


@dataclass(frozen=True, slots=True)
class ApiStatus:
    """One rtmidi API on this machine: whether it started and which output ports it lists."""

    api: str
    available: bool
    ports: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def display_name(self) -> str:
        return DISPLAY_NAME.get(self.api, self.api)

    @property
    def supports_virtual(self) -> bool:
        return self.available and self.api in VIRTUAL_CAPABLE


def compiled_apis() -> list[str]:
    """Short names of the APIs this python-rtmidi build supports, in rtmidi's preference order
    (none without python-rtmidi)."""
    if rtmidi is None:
        return []
    return [NAME_BY_API[a] for a in rtmidi.get_compiled_api() if a in NAME_BY_API]


def no_midi_api_reason() -> str:
    """Why no MIDI API is listed: python-rtmidi missing, or built without any."""
    return NO_RTMIDI if rtmidi is None else "this python-rtmidi build has no MIDI API"


def api_constant(api: str) -> int:
    key = api.strip().lower()
    if rtmidi is None:
        raise PortError(NO_RTMIDI)
    if key not in API_BY_NAME:
        raise PortError(f"unknown MIDI API {api!r}; choose one of {', '.join(API_BY_NAME)}")
    if key not in compiled_apis():
        raise PortError(f"this build of python-rtmidi has no {DISPLAY_NAME[key]} support")
    return API_BY_NAME[key]


_STDERR_LOCK = threading.Lock()
_stderr_detached = False


def _detach_python_stderr() -> None:
    """Point Python's own `sys.stderr` at a private copy of fd 2 (once), so that silencing fd 2
    for native libraries never swallows what we print: a probe on a watch thread (a JACK client
    opening while the server dies takes a second) would otherwise eat the main thread's last
    message. Left alone when `sys.stderr` is not fd 2 (a test's capture, a GUI without one)."""
    global _stderr_detached
    with _STDERR_LOCK:
        if _stderr_detached:
            return
        _stderr_detached = True
        stream = sys.stderr
        try:
            if stream is None or stream.fileno() != 2:
                return
            stream.flush()
            copy = io.FileIO(os.dup(2), "w", closefd=True)
        except (AttributeError, OSError, ValueError):
            return
        sys.stderr = io.TextIOWrapper(
            copy,
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=True,
            write_through=True,
        )


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what libasound / libjack print on fd 2 while probing; rtmidi's exception carries the
    reason we show. Only used for short probes; falls back to doing nothing when fd 2 is odd.
    Python's own `sys.stderr` keeps writing to the real stderr (`_detach_python_stderr`)."""
    _detach_python_stderr()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def explain_failure(api: str, error: BaseException) -> str:
    """A human reason for an API that did not start."""
    text = str(error)
    if api == "alsa":
        if not os.path.exists("/dev/snd/seq"):
            return "ALSA sequencer not available (/dev/snd/seq is missing — usual in containers and WSL)"
        return f"ALSA sequencer could not be opened ({text})"
    if api == "jack":
        return "no JACK server running"
    return f"{DISPLAY_NAME.get(api, api)} could not start ({text})"


def new_output(api: str, client_name: str = CLIENT_NAME) -> rtmidi.MidiOut:
    """A `MidiOut` on `api`; raises `PortError` with a human reason when the API cannot start."""
    constant = api_constant(api)
    try:
        with quiet_native_stderr():
            return rtmidi.MidiOut(rtapi=constant, name=client_name)
    except MIDI_ERRORS as exc:
        raise PortError(explain_failure(api, exc)) from exc


def probe_api(api: str) -> ApiStatus:
    """Start `api` briefly and list its output ports."""
    try:
        out = new_output(api, client_name=f"{CLIENT_NAME} probe")
    except PortError as exc:
        return ApiStatus(api, False, [], str(exc))
    try:
        with quiet_native_stderr():
            ports = list(out.get_ports())
    finally:
        with quiet_native_stderr():
            out.delete()
    return ApiStatus(api, True, ports, "" if ports else "no output ports")


def list_outputs(apis: list[str] | None = None) -> list[ApiStatus]:
    """Status and output ports of every compiled API (or of `apis`)."""
    return [probe_api(api) for api in (apis if apis is not None else compiled_apis())]


def has_any_output(statuses: list[ApiStatus]) -> bool:
    """True when some port exists or some API can offer a virtual port."""
    return any(s.ports or s.supports_virtual for s in statuses)


def resolve_port(ports: list[str], wanted: str | int, what: str = "output") -> int:
    """Index of the port the person asked for: an index, an exact name, or a unique substring
    (`what` names the kind of port in the errors)."""
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.strip().isdigit()):
        index = int(wanted)
        if 0 <= index < len(ports):
            return index
        raise PortError(f"there is no {what} port {index} (found {len(ports)})")
    name = str(wanted)
    if name in ports:
        return ports.index(name)
    matches = [i for i, p in enumerate(ports) if name.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise PortError(f"no {what} port matches {name!r}")
    raise PortError(
        f"{name!r} matches several ports: " + ", ".join(repr(ports[i]) for i in matches)
    )


def is_through_port(name: str) -> bool:
    """A port that passes MIDI on without sounding (Linux's "Midi Through Port-0", and any port
    named "Through"): listed, but never chosen for the person."""
    return "through" in name.lower()


def sounding_ports(status: ApiStatus) -> list[str]:
    """The ports of `status` that may be a synth (all but the "Through" ports)."""
    return [p for p in status.ports if not is_through_port(p)]


def statuses_to_json(statuses: list[ApiStatus]) -> list[dict]:
    return [
        asdict(s) | {"display_name": s.display_name, "virtual": s.supports_virtual}
        for s in statuses
    ]
