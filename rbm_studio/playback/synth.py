"""The built-in synth: a SoundFont rendered in-process by TinySoundFont.

Why TinySoundFont: MIT-licensed, a 200 KB wheel per platform with no system library behind it, and
it renders far faster than real time, so the same code serves live playback (fed by the player
from the audio callback) and WAV export (the frozen app needs no `fluidsynth` program). The
bundled SoundFont is `sf_GMbank.sf2` (public domain); any other `.sf2`/`.sf3` can be loaded.

`SoundFontSynth` takes raw MIDI messages (what the player sends to an rtmidi port) and renders
stereo float32 frames. It is not thread-safe on its own; callers serialise `send` and `render`
(the player holds its lock around both).
"""

from __future__ import annotations

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..music.song import Song
from ..resources import resource_path
from .scheduling import DRUM_CHANNEL, NOTE_OFF, NOTE_ON, PROGRAM_CHANGE, build_schedule
from .scheduling import program_messages as _program_messages
from .soundfont_check import SoundFontError, SoundFontMissing, check_soundfont, read_soundfont

SAMPLE_RATE = 44_100
CONTROL_CHANGE = 0xB0
# Headroom for four-voice chords: the bundled piano peaks near 0.3 per note at full gain.
GAIN_DB = -3.0
MAX_VOICES = 256
RELEASE_TAIL_S = 2.0  # offline render: let the last notes ring at most this long
SILENT_LEVEL = 1e-4  # float sample magnitude below which the tail counts as silence
TAIL_KEEP_S = 0.25
# The sound check every SoundFont passes after loading: a chord on its first instrument.
TEST_KEYS = (60, 72)
TEST_VELOCITY = 100
TEST_SECONDS = 0.25


class SynthError(Exception):
    """The SoundFont could not be loaded or the render failed; a one-line reason."""


def load_soundfont_bytes(path: str | Path) -> bytes:
    """The SoundFont's bytes once its whole structure is checked (`soundfont_check`); a
    `SynthError` naming the file and the reason otherwise. Nothing unchecked reaches tsf."""
    path = Path(path)
    try:
        data = read_soundfont(path)
    except SoundFontMissing:
        raise SynthError(f"SoundFont not found: {path}") from None
    except SoundFontError as exc:
        raise SynthError(f"SoundFont {path}: {exc}") from None
    try:
        check_soundfont(data)
    except SoundFontError as exc:
        raise SynthError(f"{path.name} is not a readable SoundFont ({exc})") from None
    return data


def probe_soundfont(path: str | Path) -> str | None:
    """None when the built-in synth can play `path`, else the one-line reason it cannot (the
    window asks this before it remembers a font, and again at start-up)."""
    try:
        SoundFontSynth(path)
    except SynthError as exc:
        return str(exc)
    return None


def bundled_soundfont() -> Path:
    """The General MIDI SoundFont that ships with the app (public domain, see its LICENSE)."""
    return resource_path("soundfonts", "sf_GMbank.sf2")


class SoundFontSynth:
    """A General MIDI synth over one SoundFont: `send(message)`, then `render(frames)`."""

    def __init__(
        self, soundfont: str | Path | None = None, *, sample_rate: int = SAMPLE_RATE
    ) -> None:
        self.soundfont = Path(soundfont) if soundfont is not None else bundled_soundfont()
        self.sample_rate = int(sample_rate)
        data = load_soundfont_bytes(self.soundfont)
        try:
            import tinysoundfont  # installed with --no-deps (see pyproject.toml [tool.rbm-studio])
        except ImportError as exc:
            raise SynthError(
                "the built-in synth needs tinysoundfont (pip install --no-deps tinysoundfont)"
            ) from exc
        self._synth = tinysoundfont.Synth(gain=GAIN_DB, samplerate=self.sample_rate)
        try:  # the checked bytes themselves, so the file cannot change in between
            self._sfid = self._synth.sfload(data, max_voices=MAX_VOICES)
        except Exception as exc:  # noqa: BLE001 — the C++ loader raises plain RuntimeError/OSError
            reason = "its samples could not be decoded" if str(exc).startswith("Could not") else exc
            raise SynthError(
                f"{self.soundfont.name} is not a readable SoundFont ({reason})"
            ) from exc
        if not any(self._has_preset(0, p) for p in range(128)):
            raise SynthError(f"{self.soundfont.name} has no General MIDI instruments in bank 0")
        for channel in range(16):
            self._select(channel, 0)
        self._check_sound()

    def _has_preset(self, bank: int, preset: int) -> bool:
        try:
            return bool(self._synth.sfpreset_name(self._sfid, bank, preset))
        except UnicodeDecodeError:  # a name that is not UTF-8 (Latin-1 fonts): it exists
            return True

    def _check_sound(self) -> None:
        """Refuse a font that loads but plays nothing (samples all zero, zones that match no
        key): play a test chord on channel 1, then silence it before any real note."""
        for key in TEST_KEYS:
            self._synth.noteon(0, key, TEST_VELOCITY)
        audio = self.render(int(TEST_SECONDS * self.sample_rate))
        self._synth.sounds_off()
        self.render(int(TEST_SECONDS * self.sample_rate))  # the quick release, discarded
        if not np.all(np.isfinite(audio)):
            raise SynthError(f"{self.soundfont.name} renders invalid samples (not numbers)")
        if float(np.abs(audio).max(initial=0.0)) <= SILENT_LEVEL:
            raise SynthError(
                f"{self.soundfont.name} renders silence: a test note on its first instrument "
                "makes no sound"
            )

    @property
    def name(self) -> str:
        return self.soundfont.name

    def _select(self, channel: int, program: int) -> None:
        """Pick `program` on `channel` (the drum kit on channel 10). A SoundFont without that
        preset falls back to its first instrument rather than leaving the channel silent."""
        drums = channel == DRUM_CHANNEL
        for preset in (program, 0):
            try:
                self._synth.program_select(channel, self._sfid, 0, preset, drums)
                return
            except RuntimeError:
                continue

    def send(self, message: tuple[int, ...] | list[int]) -> None:
        """Apply one MIDI channel message now (note on/off, program change, controller)."""
        if not message:
            return
        status = message[0] & 0xF0
        channel = message[0] & 0x0F
        if status == NOTE_ON and len(message) >= 3 and message[2] > 0:
            self._synth.noteon(channel, message[1] & 0x7F, message[2] & 0x7F)
        elif status in (NOTE_ON, NOTE_OFF) and len(message) >= 2:
            self._synth.noteoff(channel, message[1] & 0x7F)
        elif status == PROGRAM_CHANGE and len(message) >= 2:
            self._select(channel, message[1] & 0x7F)
        elif status == CONTROL_CHANGE and len(message) >= 3:
            self._synth.control_change(channel, message[1] & 0x7F, message[2] & 0x7F)

    def render_into(self, out: np.ndarray) -> None:
        """Fill `out` (C-contiguous float32, shape (frames, 2)) with the next frames."""
        if len(out):
            self._synth.generate_simple(len(out), buffer=memoryview(out).cast("B"))

    def render(self, frames: int) -> np.ndarray:
        out = np.empty((int(frames), 2), dtype=np.float32)
        self.render_into(out)
        return out


@dataclass(frozen=True, slots=True)
class SynthRender:
    path: Path
    seconds: float
    sample_rate: int
    channels: int
    peak: float


def render_song_audio(
    song: Song,
    *,
    program: int = 0,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """The song as stereo float32 frames, each MIDI event applied at its exact sample.

    The audio starts at the song's beat 0 and ends when the last release has faded (at most
    `RELEASE_TAIL_S` after the last event), keeping a short tail.
    """
    synth = SoundFontSynth(soundfont, sample_rate=sample_rate)
    schedule = build_schedule(song)
    for message in _program_messages(schedule.channels, program):
        synth.send(message)
    end_seconds = schedule.tempo_map.seconds_at(schedule.end_beat)
    total = int(round((end_seconds + RELEASE_TAIL_S) * sample_rate)) + 1
    audio = np.zeros((total, 2), dtype=np.float32)
    cursor = 0
    for event in schedule.events:
        frame = min(int(round(event.seconds * sample_rate)), total)
        if frame > cursor:
            synth.render_into(audio[cursor:frame])
            cursor = frame
        synth.send(event.message)
    synth.render_into(audio[cursor:])
    music_end = int(round(end_seconds * sample_rate))
    loud = np.flatnonzero(np.abs(audio[music_end:]).max(axis=1) > SILENT_LEVEL)
    tail = (int(loud[-1]) + 1 if loud.size else 0) + int(TAIL_KEEP_S * sample_rate)
    return audio[: min(total, music_end + tail)]


def write_wav(audio: np.ndarray, out_path: str | Path, sample_rate: int) -> Path:
    """16-bit stereo WAV, written to a temporary file beside `out_path` and moved into place."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    fd, tmp_name = tempfile.mkstemp(suffix=".wav", prefix=".render-", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(pcm.shape[1])
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(pcm.tobytes())
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def render_song_wav(
    song: Song,
    out_path: str | Path,
    *,
    program: int = 0,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> SynthRender:
    """Render `song` through the built-in synth to a WAV file (atomically)."""
    if not song.notes:
        raise SynthError("the song has no notes to render")
    audio = render_song_audio(song, program=program, soundfont=soundfont, sample_rate=sample_rate)
    try:
        path = write_wav(audio, out_path, sample_rate)
    except OSError as exc:
        raise SynthError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    return SynthRender(path, len(audio) / sample_rate, sample_rate, 2, peak)
