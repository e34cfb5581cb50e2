"""The computer's audio device through miniaudio, and the built-in synth as a player output.

Why miniaudio: MIT-licensed, self-contained wheels for Windows, macOS and Linux (it talks to
WASAPI, CoreAudio, PulseAudio, ALSA or JACK itself, no PortAudio), and a Null backend that runs a
real-time audio thread with no sound card, which the headless tests play through.

`SynthOutput` is the output the player drives when "Built-in synth" is chosen: the audio callback
asks the player for each block of frames, and the player applies every note event at its sample
inside that block, so the audio clock (frames rendered) is the playback clock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import miniaudio
import numpy as np

from .ports import quiet_native_stderr
from .synth import SAMPLE_RATE, SoundFontSynth

log = logging.getLogger(__name__)

BUILTIN_API = "builtin"
BUILTIN_LABEL = "Built-in synth"
# Audio backends by the names people (and tests) use; RBM_STUDIO_AUDIO_BACKEND picks one.
BACKENDS: dict[str, miniaudio.Backend] = {
    "wasapi": miniaudio.Backend.WASAPI,
    "dsound": miniaudio.Backend.DSOUND,
    "winmm": miniaudio.Backend.WINMM,
    "coreaudio": miniaudio.Backend.COREAUDIO,
    "pulseaudio": miniaudio.Backend.PULSEAUDIO,
    "alsa": miniaudio.Backend.ALSA,
    "jack": miniaudio.Backend.JACK,
    "null": miniaudio.Backend.NULL,
}
BACKEND_ENV = "RBM_STUDIO_AUDIO_BACKEND"
# One device period: short enough for a snappy key audition, long enough that a busy Python
# (training, drawing) still fills every block in time.
PERIOD_MS = 20

Pull = Callable[["SynthOutput", int], np.ndarray]


class AudioDeviceError(Exception):
    """No audio device could be opened; the message is a one-line reason."""


def backends_from_env() -> list[str] | None:
    """`RBM_STUDIO_AUDIO_BACKEND=pulseaudio` (or a comma list) limits the backends tried."""
    raw = os.environ.get(BACKEND_ENV, "").strip()
    return [b.strip().lower() for b in raw.split(",") if b.strip()] or None


def _backend_list(names: list[str] | None) -> list[miniaudio.Backend]:
    if not names:
        return []
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise AudioDeviceError(
            f"unknown audio backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}"
        )
    return [BACKENDS[n] for n in names]


class AudioStream:
    """A stereo float32 playback device that pulls each block from `render(frames)`."""

    def __init__(
        self,
        render: Callable[[int], np.ndarray],
        *,
        sample_rate: int = SAMPLE_RATE,
        backends: list[str] | None = None,
        period_ms: int = PERIOD_MS,
    ) -> None:
        self.sample_rate = sample_rate
        self.period_ms = period_ms
        self._render = render
        wanted = _backend_list(backends)
        try:
            with quiet_native_stderr():
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32,
                    nchannels=2,
                    sample_rate=sample_rate,
                    buffersize_msec=period_ms,
                    backends=wanted or None,
                    app_name="RBM Studio",
                )
        except miniaudio.MiniaudioError as exc:
            detail = exc.args[0] if exc.args else "unknown error"
            raise AudioDeviceError(f"no audio device could be opened ({detail})") from exc
        self.backend = self._device.backend
        if self.backend == "Null" and miniaudio.Backend.NULL not in wanted:
            self._device.close()
            raise AudioDeviceError("no audio device could be opened (only the silent Null device)")
        self._started = False

    @property
    def latency(self) -> float:
        """Seconds between a frame being rendered and heard: one device period."""
        return self.period_ms / 1000.0

    def _generator(self):
        frames = yield b""
        while True:
            frames = yield self._render(int(frames))

    def start(self) -> None:
        generator = self._generator()
        next(generator)
        try:
            with quiet_native_stderr():
                self._device.start(generator)
        except miniaudio.MiniaudioError as exc:
            detail = exc.args[0] if exc.args else "unknown error"
            raise AudioDeviceError(f"the audio device would not start ({detail})") from exc
        self._started = True

    def close(self) -> None:
        """Stop the device (waits for a callback in progress) and release it. Safe twice."""
        device, self._device = getattr(self, "_device", None), None
        if device is None:
            return
        try:
            with quiet_native_stderr():
                device.close()
        except Exception:  # noqa: BLE001 — a device that died must not stop the app closing
            log.warning("the audio device did not close cleanly", exc_info=True)


class SynthOutput:
    """The built-in synth on the default audio device, as an output of the player.

    `clocked`: the audio callback drives playback, so the player thread leaves it alone; `now()`
    is the time of the next frame to render, `frames` counts the frames rendered so far.
    """

    clocked = True

    def __init__(
        self,
        soundfont: str | Path | None = None,
        *,
        backends: list[str] | None = None,
        sample_rate: int = SAMPLE_RATE,
        period_ms: int = PERIOD_MS,
    ) -> None:
        self.synth = SoundFontSynth(soundfont, sample_rate=sample_rate)
        self.sample_rate = sample_rate
        self.frames = 0
        self.last_peak = 0.0  # loudest sample of the last block (tests: is anything sounding?)
        self.error: BaseException | None = None
        self._pull: Pull | None = None
        self.stream = AudioStream(
            self._callback, sample_rate=sample_rate, backends=backends, period_ms=period_ms
        )

    @property
    def backend(self) -> str:
        return self.stream.backend

    @property
    def latency(self) -> float:
        return self.stream.latency

    @property
    def description(self) -> str:
        return f"{BUILTIN_LABEL} ({self.synth.name}, {self.backend})"

    def now(self) -> float:
        return self.frames / self.sample_rate

    def send(self, message: tuple[int, ...]) -> None:
        self.synth.send(message)

    def render(self, out: np.ndarray) -> None:
        """Render into `out` and advance the clock by its length (the pull's building block)."""
        self.synth.render_into(out)
        self.frames += len(out)

    def start(self, pull: Pull) -> None:
        self._pull = pull
        self.stream.start()

    def _callback(self, frames: int) -> np.ndarray:
        pull = self._pull
        try:
            if pull is None:
                block = np.zeros((frames, 2), dtype=np.float32)
                self.frames += frames
            else:
                block = pull(self, frames)
            self.last_peak = float(np.abs(block).max()) if frames else 0.0
            return block
        except Exception as exc:  # noqa: BLE001 — an exception here would kill the audio thread
            log.error("the audio callback failed; the output goes silent", exc_info=True)
            self.error = exc
            self._pull = None
            self.frames += frames
            return np.zeros((frames, 2), dtype=np.float32)

    def close(self) -> None:
        self._pull = None
        self.stream.close()


def probe_audio(backends: list[str] | None = None) -> tuple[bool, str]:
    """Whether an audio device opens: (True, backend name) or (False, the reason)."""
    try:
        stream = AudioStream(lambda frames: np.zeros((frames, 2), np.float32), backends=backends)
    except AudioDeviceError as exc:
        return False, str(exc)
    backend = stream.backend
    stream.close()
    return True, backend
