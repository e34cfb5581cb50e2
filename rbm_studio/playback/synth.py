"""The built-in synth: a SoundFont rendered in-process by TinySoundFont.

Why TinySoundFont: MIT-licensed, one C header (vendored in native/ and built as our own stable-ABI
extension `_tsf`, so any Python from 3.11 on gets it with a plain `pip install`), no system library
behind it, and it renders far faster than real time, so the same code serves live playback (fed by the player
from the audio callback) and WAV export (the frozen app needs no `fluidsynth` program). The
bundled SoundFont is `sf_GMbank.sf2` (public domain); any other `.sf2`/`.sf3` can be loaded.

`SoundFontSynth` takes raw MIDI messages (what the player sends to an rtmidi port) and renders
stereo float32 frames. It is not thread-safe on its own; callers serialise `send` and `render`
(the player holds its lock around both).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import stat
import time
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..music.song import Song
from ..platform import files
from ..resources import resource_path
from .scheduling import DRUM_CHANNEL, NOTE_OFF, NOTE_ON, PROGRAM_CHANGE, build_schedule
from .scheduling import program_messages as _program_messages
from .soundfont_check import SoundFontError, SoundFontMissing, check_soundfont, read_soundfont

log = logging.getLogger(__name__)

SAMPLE_RATE = 44_100
CONTROL_CHANGE = 0xB0
# Headroom for four-voice chords: the bundled piano peaks near 0.3 per note at full gain.
GAIN_DB = -3.0
MAX_VOICES = 256
RELEASE_TAIL_S = 2.0  # offline render: let the last notes ring at most this long
SILENT_LEVEL = 1e-4  # float sample magnitude below which the tail counts as silence
TAIL_KEEP_S = 0.25
# Frames rendered and written at a time: a multiple of TinySoundFont's 64-frame envelope block
# (so streaming changes no sample), small enough that a render's memory does not grow with the
# song, large enough that the per-call overhead is negligible.
BLOCK_FRAMES = 1 << 14
# The longest song a render makes. Longer than any piece in the corpora, and its 16-bit stereo
# WAV stays under the format's 4 GiB size field even at the highest `render --rate` (192 kHz);
# a crafted file claiming days of music is refused in one line instead of rendering for hours.
MAX_RENDER_SECONDS = 90 * 60
_OLD_TEMP = re.compile(r"\.render-[A-Za-z0-9_]{8}\.wav")
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
        log.warning("built-in synth: %s", exc)
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
            from . import _tsf  # TinySoundFont, built from native/ by setup.py
        except ImportError as exc:
            raise SynthError(
                "the built-in synth is not built in this checkout (pip install -e . builds it)"
            ) from exc
        try:  # the checked bytes themselves, so the file cannot change in between
            self._synth = _tsf.Synth(data, self.sample_rate, GAIN_DB, MAX_VOICES)
        except RuntimeError as exc:  # tsf_load_memory refused it: nothing more is known
            raise SynthError(
                f"{self.soundfont.name} is not a readable SoundFont (its samples could not be "
                "decoded)"
            ) from exc
        except MemoryError as exc:
            raise SynthError(f"{self.soundfont.name} is too large to load") from exc
        if not any(self._synth.has_preset(0, p) for p in range(128)):
            raise SynthError(f"{self.soundfont.name} has no General MIDI instruments in bank 0")
        for channel in range(16):
            self._select(channel, 0)
        self._check_sound()

    def _check_sound(self) -> None:
        """Refuse a font that loads but plays nothing (samples all zero, zones that match no
        key): play a test chord on channel 1, then silence it before any real note."""
        for key in TEST_KEYS:
            self._synth.note_on(0, key, TEST_VELOCITY)
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
            if self._synth.program_select(channel, 0, preset, drums):
                return

    def send(self, message: tuple[int, ...] | list[int]) -> None:
        """Apply one MIDI channel message now (note on/off, program change, controller)."""
        if not message:
            return
        status = message[0] & 0xF0
        channel = message[0] & 0x0F
        if status == NOTE_ON and len(message) >= 3 and message[2] > 0:
            self._synth.note_on(channel, message[1] & 0x7F, message[2] & 0x7F)
        elif status in (NOTE_ON, NOTE_OFF) and len(message) >= 2:
            self._synth.note_off(channel, message[1] & 0x7F)
        elif status == PROGRAM_CHANGE and len(message) >= 2:
            self._select(channel, message[1] & 0x7F)
        elif status == CONTROL_CHANGE and len(message) >= 3:
            self._synth.control_change(channel, message[1] & 0x7F, message[2] & 0x7F)

    def render_into(self, out: np.ndarray) -> None:
        """Fill `out` (C-contiguous float32, shape (frames, 2)) with the next frames."""
        if len(out):
            self._synth.render_into(out)

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


def _clock(seconds: float) -> str:
    """ "1 h 05 min", "12 min 30 s": how long a song lasts, for a message."""
    if not np.isfinite(seconds):
        return "forever"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def check_duration(seconds: float) -> None:
    """`SynthError` for a song longer than a render makes (`MAX_RENDER_SECONDS`)."""
    if not seconds <= MAX_RENDER_SECONDS:  # also refuses NaN
        raise SynthError(
            f"the song lasts {_clock(seconds)}; a render makes at most "
            f"{MAX_RENDER_SECONDS // 60} minutes of audio"
        )


def iter_song_audio(
    song: Song,
    *,
    program: int = 0,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[np.ndarray]:
    """The song as consecutive stereo float32 blocks, each MIDI event applied at its exact
    sample: what `render_song_audio` returns, in pieces of at most `BLOCK_FRAMES` frames (plus
    the trimmed release tail), so a render holds a block and the tail, never the song.

    Each block is a view of a buffer the next one reuses: consume (or copy) it before asking
    for the next. Every stretch between two events is rendered in pieces whose lengths are
    multiples of TinySoundFont's 64-frame envelope block, counted from the stretch's start, so
    the samples are the same as one call per stretch would give.
    """
    synth = SoundFontSynth(soundfont, sample_rate=sample_rate)
    schedule = build_schedule(song)
    end_seconds = schedule.tempo_map.seconds_at(schedule.end_beat)
    check_duration(end_seconds)
    for message in _program_messages(schedule.channels, program):
        synth.send(message)
    total = int(round((end_seconds + RELEASE_TAIL_S) * sample_rate)) + 1
    music_end = int(round(end_seconds * sample_rate))
    tail = np.zeros((total - music_end, 2), dtype=np.float32)  # the release, at most a few s
    block = np.empty((BLOCK_FRAMES, 2), dtype=np.float32)

    def advance(cursor: int, stop: int) -> Iterator[np.ndarray]:
        while cursor < stop:
            n = min(BLOCK_FRAMES, stop - cursor)
            if cursor >= music_end:
                synth.render_into(tail[cursor - music_end : cursor - music_end + n])
            else:
                synth.render_into(block[:n])
                head = min(n, music_end - cursor)
                tail[: n - head] = block[head:n]
                yield block[:head]
            cursor += n

    cursor = 0
    for event in schedule.events:
        frame = min(int(round(event.seconds * sample_rate)), total)
        if frame > cursor:
            yield from advance(cursor, frame)
            cursor = frame
        synth.send(event.message)
    yield from advance(cursor, total)
    loud = np.flatnonzero(np.abs(tail).max(axis=1) > SILENT_LEVEL)
    keep = (int(loud[-1]) + 1 if loud.size else 0) + int(TAIL_KEEP_S * sample_rate)
    yield tail[: min(len(tail), keep)]


def render_song_audio(
    song: Song,
    *,
    program: int = 0,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """The song as stereo float32 frames in one array (for analysis of short songs; a WAV
    export streams with `render_song_wav`).

    The audio starts at the song's beat 0 and ends when the last release has faded (at most
    `RELEASE_TAIL_S` after the last event), keeping a short tail.
    """
    blocks = iter_song_audio(song, program=program, soundfont=soundfont, sample_rate=sample_rate)
    return np.concatenate([b.copy() for b in blocks])


def write_wav_blocks(
    fh: BinaryIO, blocks: Iterable[np.ndarray], sample_rate: int
) -> tuple[int, float]:
    """Write float blocks to `fh` as a 16-bit stereo WAV, one block at a time; returns the frames
    written and the peak magnitude (before clipping)."""
    frames, peak = 0, 0.0
    with wave.open(fh, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        for block in blocks:
            if not len(block):
                continue
            peak = max(peak, float(np.abs(block).max()))
            pcm = (np.clip(block, -1.0, 1.0) * 32767.0).round().astype("<i2")
            wav.writeframesraw(pcm.tobytes())
            frames += len(block)
    return frames, peak


def write_wav(audio: np.ndarray, out_path: str | Path, sample_rate: int) -> Path:
    """16-bit stereo WAV of `audio`, written atomically (`platform.files.atomic_write`)."""
    return files.atomic_write(out_path, lambda fh: write_wav_blocks(fh, [audio], sample_rate))


def clean_old_render_temps(folder: Path) -> int:
    """Remove the `.render-XXXXXXXX.wav` temp files earlier versions left when a render was
    killed (they carry no process id, so only ones untouched for `files.ORPHAN_AGE_S` go).
    Renders now write through `atomic_write`, whose temp files the next write cleans."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not _OLD_TEMP.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > files.ORPHAN_AGE_S:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def render_song_wav(
    song: Song,
    out_path: str | Path,
    *,
    program: int = 0,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> SynthRender:
    """Render `song` through the built-in synth to a WAV file, streamed block by block into
    `platform.files.atomic_write` (never over a device or FIFO; the mode follows the umask or
    the replaced file's)."""
    if not song.notes:
        raise SynthError("the song has no notes to render")
    try:
        target, _mode = files.write_target(out_path)
    except files.WriteError as exc:
        raise SynthError(str(exc)) from None
    blocks = iter_song_audio(song, program=program, soundfont=soundfont, sample_rate=sample_rate)
    first = next(blocks)  # the SoundFont opens and the duration is checked before any write
    result: list[tuple[int, float]] = []

    def write(fh: BinaryIO) -> None:
        result.append(write_wav_blocks(fh, itertools.chain([first], blocks), sample_rate))

    clean_old_render_temps(target.parent)
    try:
        path = files.atomic_write(out_path, write)
    except OSError as exc:
        raise SynthError(files.reason(exc)) from exc
    frames, peak = result[0]
    return SynthRender(path, frames / sample_rate, sample_rate, 2, peak)
