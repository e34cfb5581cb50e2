"""Noticing that an open MIDI output went away: its port vanished or its server stopped.

rtmidi reports neither. With JACK, sends into a dead server's ring buffer succeed silently and the
client's port list stays frozen at the moment of death, so a player would run on to "100 %". So
for JACK a small client of our own, opened through the very libjack rtmidi loaded (ctypes), takes
JACK's shutdown callback and looks the target port up by name. For the other APIs the output's own
port list is read again (ALSA, CoreMIDI and Windows MM answer it live).
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .ports import DISPLAY_NAME, MIDI_ERRORS, quiet_native_stderr

if TYPE_CHECKING:
    import rtmidi

JACK_NO_START_SERVER = 0x01
# libjack's own messages ("Cannot read socket fd …") would land on the person's terminal at the
# moment the server dies; they are kept here instead, for whoever debugs.
jack_messages: collections.deque[str] = collections.deque(maxlen=50)

_SHUTDOWN_CB = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_MESSAGE_CB = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_lib_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_tried = False


def _keep_message(message: bytes | None) -> None:
    jack_messages.append((message or b"").decode(errors="replace"))


_message_cb = _MESSAGE_CB(_keep_message)  # lives as long as the process: libjack may call it late


def _loaded_libjack() -> str | None:
    """The libjack rtmidi linked (a wheel bundles its own copy); else the system's."""
    try:
        for line in Path("/proc/self/maps").read_text().splitlines():
            path = line.split()[-1]
            if "libjack" in Path(path).name and "libjackserver" not in path:
                return path
    except OSError:
        pass
    return ctypes.util.find_library("jack")


def libjack() -> ctypes.CDLL | None:
    """libjack with the few functions used here declared; None where it cannot be loaded."""
    global _lib, _lib_tried
    with _lib_lock:
        if _lib_tried:
            return _lib
        _lib_tried = True
        path = _loaded_libjack()
        if path is None:
            return None
        try:
            lib = ctypes.CDLL(path)
            lib.jack_client_open.restype = ctypes.c_void_p
            lib.jack_client_open.argtypes = [
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_int),
            ]
            lib.jack_client_close.argtypes = [ctypes.c_void_p]
            lib.jack_on_info_shutdown.argtypes = [ctypes.c_void_p, _SHUTDOWN_CB, ctypes.c_void_p]
            lib.jack_port_by_name.restype = ctypes.c_void_p
            lib.jack_port_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.jack_set_error_function.argtypes = [_MESSAGE_CB]
            lib.jack_set_info_function.argtypes = [_MESSAGE_CB]
            lib.jack_set_error_function(_message_cb)
            lib.jack_set_info_function(_message_cb)
        except (OSError, AttributeError):
            return None
        _lib = lib
        return lib


class JackWatch:
    """A portless JACK client that hears the server stop and can ask whether a port exists."""

    def __init__(self, client_name: str) -> None:
        self._lib = libjack()
        self._client: int | None = None
        self.reason: str | None = None
        self._callback = _SHUTDOWN_CB(self._on_shutdown)
        if self._lib is None:
            return
        status = ctypes.c_int()
        with quiet_native_stderr():
            client = self._lib.jack_client_open(
                client_name.encode(), JACK_NO_START_SERVER, ctypes.byref(status)
            )
        if client:
            self._client = client
            self._lib.jack_on_info_shutdown(client, self._callback, None)

    @property
    def active(self) -> bool:
        return self._client is not None

    def _on_shutdown(self, _code: int, reason: bytes | None, _arg: object) -> None:
        _keep_message(reason)
        self.reason = "the JACK server stopped"

    def port_exists(self, name: str) -> bool:
        if self._client is None or self._lib is None:
            return True
        return bool(self._lib.jack_port_by_name(self._client, name.encode()))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._lib is not None:
            self._lib.jack_client_close(client)


class OutputWatch:
    """`lost()` says why the output `port` (None: our virtual port) on `api` is gone, or None."""

    def __init__(
        self, api: str, midi_out: rtmidi.MidiOut, port: str | None, client_name: str
    ) -> None:
        self.api = api
        self.display = DISPLAY_NAME.get(api, api)
        self.port = port
        self._out = midi_out
        self._jack = JackWatch(f"{client_name}-watch") if api == "jack" else None

    def lost(self) -> str | None:
        """Cheap enough to call a few times a second on the thread that sends."""
        if self._jack is not None and self._jack.active:
            if self._jack.reason is not None:
                return self._jack.reason
            if self.port is not None and not self._jack.port_exists(self.port):
                return f'the {self.display} port "{self.port}" is gone'
            return None
        if self.port is None or self._jack is not None:
            return None
        try:
            names = self._out.get_ports()
        except MIDI_ERRORS as exc:
            return f"{self.display} stopped answering ({exc})"
        if self.port not in names:
            return f'the {self.display} port "{self.port}" is gone'
        return None

    def close(self) -> None:
        if self._jack is not None:
            self._jack.close()
