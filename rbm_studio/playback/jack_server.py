"""A private JACK server on the dummy driver: real MIDI traffic with no sound card.

Used by the playback tests and the drift benchmark. The server gets a unique name and clients in
this process find it through `JACK_DEFAULT_SERVER`, so it never disturbs a JACK the person runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import rtmidi

from .ports import quiet_native_stderr

# 128 frames at 48 kHz: JACK delivers MIDI once per period, so this is the timing grain (2.7 ms).
DEFAULT_RATE = 48_000
DEFAULT_PERIOD = 128
POLL_INTERVAL_S = 0.01


class JackUnavailable(Exception):
    """jackd is not installed or did not come up; the message says which."""


SHM = Path("/dev/shm")


def clear_stale_registry() -> bool:
    """Remove JACK's shared-memory server registry when no jackd runs at all. A jackd that was
    killed (not stopped) leaves its entry behind, and after a few of them every new server says
    "Too many servers already active". True if something was removed."""
    if not SHM.is_dir():
        return False
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "jackd":
                return False  # a live server: its entries are not ours to remove
        except OSError:
            continue
    removed = False
    for path in [SHM / "jack-shm-registry", *SHM.glob(f"jack-{os.getuid()}-*")]:
        try:
            path.unlink()
            removed = True
        except OSError:
            pass
    return removed


def jackd_path() -> str | None:
    return shutil.which("jackd")


def can_use_realtime() -> bool:
    """Whether this process may use SCHED_FIFO (so jackd's -R would really be realtime)."""
    try:
        param = os.sched_param(1)
        previous = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, param)
        os.sched_setscheduler(0, previous[0], previous[1])
        return True
    except (AttributeError, OSError):
        return False


class JackServer:
    """`with JackServer() as server:` starts jackd (dummy driver, no realtime), sets
    `JACK_DEFAULT_SERVER` for this process while it runs, and kills it afterwards."""

    def __init__(
        self,
        *,
        rate: int = DEFAULT_RATE,
        period: int = DEFAULT_PERIOD,
        realtime: bool | None = None,
        startup_timeout: float = 15,
        name: str | None = None,
    ) -> None:
        self.rate = rate
        # Realtime scheduling keeps the dummy driver's cycles on time on a loaded machine; use it
        # where this process may (root or an rtprio limit), else run without.
        self.realtime = can_use_realtime() if realtime is None else realtime
        self.period = period
        self.startup_timeout = startup_timeout
        # unique by default; a server that is going to be killed should get a fixed `name`: JACK
        # reclaims a dead server's registry slot only for a server of the same name, and unique
        # names would fill its few slots with dead servers (every later start: "Too many servers")
        self.name = name or f"rbm-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"{self.name}.log"
        self._saved_env: str | None = None

    @property
    def period_seconds(self) -> float:
        return self.period / self.rate

    def start(self, *, retried: bool = False) -> JackServer:
        exe = jackd_path()
        if exe is None:
            raise JackUnavailable("jackd is not installed (Debian package jackd2)")
        if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
            raise JackUnavailable("this python-rtmidi build has no JACK support")
        command = [
            exe,
            *(["-R", "-P", "70"] if self.realtime else ["--no-realtime"]),
            "-n",
            self.name,
            "-t",
            "10000",  # generous client timeout: the test machines are busy
            "-d",
            "dummy",
            "-r",
            str(self.rate),
            "-p",
            str(self.period),
        ]
        log = self.log_path.open("wb")
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1", JACK_DEFAULT_SERVER=self.name)
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        log.close()
        self._saved_env = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        try:
            self._wait_until_ready()
        except JackUnavailable:
            stale = "Too many servers already active" in self.log_tail(20)
            self.stop()
            if stale and not retried and clear_stale_registry():
                return self.start(retried=True)
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise JackUnavailable(f"jackd exited at start-up: {self.log_tail()}")
            try:
                with quiet_native_stderr():
                    probe = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="rbm-jack-probe")
                    probe.get_port_count()
                    probe.delete()
                return
            except (rtmidi.RtMidiError, RuntimeError, OSError):
                time.sleep(0.1)
        raise JackUnavailable(f"jackd did not accept clients within {self.startup_timeout} s")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if os.environ.get("JACK_DEFAULT_SERVER") == self.name:
            if self._saved_env is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = self._saved_env
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JackListener:
    """A JACK MIDI input port that records every message with its arrival time.

    Times come from JACK itself (rtmidi's per-message deltas, measured in the JACK process cycle),
    summed from the first message, so a busy Python thread reading them does not blur the timing.
    """

    def __init__(self, client_name: str = "rbm-listener", port_name: str = "in") -> None:
        with quiet_native_stderr():
            self._midi_in = rtmidi.MidiIn(
                rtapi=rtmidi.API_UNIX_JACK, name=client_name, queue_size_limit=8192
            )
            self._midi_in.open_virtual_port(port_name)
        self._midi_in.ignore_types(sysex=False, timing=False, active_sense=False)
        self.port_name = f"{client_name}:{port_name}"
        self._received: list[tuple[float, tuple[int, ...]]] = []
        self._clock = 0.0
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._poll, name="jack-listener", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while self._running:
            item = self._midi_in.get_message()
            if item is None:
                # Arrival times come from JACK, so polling slowly loses no precision, and it keeps
                # this thread off the GIL the player thread needs on time.
                time.sleep(POLL_INTERVAL_S)
                continue
            message, delta = item
            with self._lock:
                if self._received:
                    self._clock += delta
                self._received.append((self._clock, tuple(message)))

    def messages(self) -> list[tuple[float, tuple[int, ...]]]:
        """(seconds since the first message, message bytes) in arrival order."""
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._clock = 0.0

    def wait_for(self, count: int, timeout: float = 15.0) -> bool:
        """Wait until at least `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._received) >= count:
                    return True
            time.sleep(0.005)
        return False

    def settle(self, quiet: float = 0.2, timeout: float = 5.0) -> None:
        """Wait until nothing has arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = -1
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            with self._lock:
                n = len(self._received)
            if n != last:
                last, last_change = n, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return
            time.sleep(0.01)

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        with quiet_native_stderr():
            self._midi_in.close_port()
            self._midi_in.delete()

    def __enter__(self) -> JackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
