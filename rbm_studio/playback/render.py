"""Render a song to WAV with the `fluidsynth` program and a SoundFont the person picks.

FluidSynth is optional: `fluidsynth_path()` says whether it is installed, `find_soundfonts()` lists
SoundFonts in the usual system places to pre-fill the chooser. No SoundFont is bundled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..music.song import Song
from ..platform import files

SAMPLE_RATE = 44_100
# 16-bit sample magnitude below which a frame counts as silence (about -72 dBFS).
SILENCE_LEVEL = 8
TAIL_KEEP_SECONDS = 0.25
TRIM_BLOCK_FRAMES = 1 << 16  # frames read at a time when trimming fluidsynth's output
# fluidsynth's default gain (0.2) makes quiet files; 0.5 is louder and still leaves headroom.
GAIN = 0.5
# Where Linux distributions and Homebrew put SoundFonts.
SOUNDFONT_DIRS = [
    "/usr/share/sounds/sf2",
    "/usr/share/soundfonts",
    "/usr/share/sounds/sf3",
    "/usr/local/share/soundfonts",
    "/opt/homebrew/share/soundfonts",
    "~/.local/share/soundfonts",
    "~/Library/Audio/Sounds/Banks",
]


class RenderError(Exception):
    """Rendering failed; the message is a one-line reason for the user."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    path: Path
    seconds: float
    sample_rate: int
    channels: int


def fluidsynth_path() -> str | None:
    return shutil.which("fluidsynth")


def find_soundfonts(dirs: list[str] | None = None) -> list[Path]:
    """SoundFonts (.sf2/.sf3) in the common system folders, real files first, de-duplicated."""
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in dirs if dirs is not None else SOUNDFONT_DIRS:
        base = Path(folder).expanduser()
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.suffix.lower() not in (".sf2", ".sf3") or not path.is_file():
                continue
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            found.append(path)
    return found


def _check_song(midi_path: Path, soundfont: Path) -> None:
    """Refuse a missing MIDI file or SoundFont, an unreadable or empty song, or one too long."""
    if not midi_path.is_file():
        raise RenderError(f"MIDI file not found: {midi_path}")
    if not soundfont.exists():
        raise RenderError(f"SoundFont not found: {soundfont}")
    if not soundfont.is_file():  # a folder, a FIFO (fluidsynth would wait on it), a device
        kind = "is a folder, not a file" if soundfont.is_dir() else "is not a regular file"
        raise RenderError(f"SoundFont {soundfont} {kind}")
    from ..music.midi import MidiImportError, read_midi

    try:  # a broken or empty file is refused with its reason, not rendered as silence
        song = read_midi(midi_path)
    except MidiImportError as exc:
        raise RenderError(f"{midi_path.name}: {exc}") from None
    if not song.notes:
        raise RenderError(f"{midi_path.name}: the song has no notes")
    from .synth import SynthError, check_duration

    try:  # the built-in synth's cap: fluidsynth's file would be as long
        check_duration(song.duration_seconds)
    except SynthError as exc:
        raise RenderError(f"{midi_path.name}: {exc}") from None


def _fluidsynth_temp_file(out_path: Path) -> Path:
    """An empty temp file beside `out_path`'s target for fluidsynth to write into."""
    try:  # a device, a FIFO or a folder at `out_path` is refused before fluidsynth runs
        target, _mode = files.write_target(out_path)
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(files.reason(exc)) from None
    # fluidsynth's own output: a temp file named as `atomic_write` names its own, so a render
    # killed midway leaves one that the next write to `out_path` removes (`clean_orphans`)
    files.clean_orphans(target.parent, target.name)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}{files.TEMP_MARK}{os.getpid()}-",
            suffix=files.TEMP_SUFFIX,
            dir=target.parent,
        )
    except OSError as exc:
        raise RenderError(f"cannot write {out_path}: {files.reason(exc)}") from None
    os.close(fd)
    return Path(tmp_name)


def render_midi_file(
    midi_path: str | Path,
    soundfont: str | Path,
    out_path: str | Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    timeout: float | None = 600,
) -> RenderResult:
    """`fluidsynth -ni -F out.wav -r RATE SOUNDFONT file.mid`, written atomically to `out_path`."""
    exe = fluidsynth_path()
    if exe is None:
        raise RenderError("fluidsynth is not installed (e.g. `apt install fluidsynth`)")
    midi_path, soundfont, out_path = Path(midi_path), Path(soundfont), Path(out_path)
    _check_song(midi_path, soundfont)
    tmp = _fluidsynth_temp_file(out_path)
    command = [
        exe,
        "-ni",
        "-q",
        "-g",
        str(GAIN),
        "-F",
        str(tmp),
        "-T",
        "wav",
        "-r",
        str(sample_rate),
    ]
    # Absolute paths: a file named "-x.mid" must never read as an option to fluidsynth.
    command += [str(soundfont.resolve()), str(midi_path.resolve())]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0 or tmp.stat().st_size <= 44:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {proc.returncode}"
            raise RenderError(f"fluidsynth could not render {midi_path.name}: {reason}")
        frames, rate, channels = trim_trailing_silence(tmp, out_path)
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"fluidsynth took longer than {timeout:.0f} s") from exc
    except (wave.Error, EOFError) as exc:
        raise RenderError(f"fluidsynth wrote an unreadable WAV file ({exc})") from exc
    except OSError as exc:
        raise RenderError(files.reason(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return RenderResult(out_path, frames / rate, rate, channels)


def trim_trailing_silence(
    src: Path, out_path: str | Path, *, keep_seconds: float = TAIL_KEEP_SECONDS
) -> tuple[int, int, int]:
    """Copy the WAV `src` to `out_path` (atomically) without the seconds of near-silence
    fluidsynth leaves after the last release, keeping a short tail, so the file is as long as
    the music. Both passes read `TRIM_BLOCK_FRAMES` at a time: memory does not grow with the
    song. Returns (frames, rate, channels) of the result."""
    with wave.open(str(src), "rb") as wav:
        params = wav.getparams()
        width = params.sampwidth * params.nchannels
        end = params.nframes
        if params.sampwidth == 2 and params.nframes:
            last_loud, start = -1, 0
            while start < params.nframes:
                raw = wav.readframes(TRIM_BLOCK_FRAMES)
                if not raw:
                    break
                samples = np.frombuffer(raw, dtype="<i2").reshape(-1, params.nchannels)
                loud = np.flatnonzero(np.abs(samples.astype(np.int32)).max(axis=1) > SILENCE_LEVEL)
                if loud.size:
                    last_loud = start + int(loud[-1])
                start += len(samples)
            end = min(start, last_loud + 1 + int(keep_seconds * params.framerate))

        def copy(fh) -> None:
            with wave.open(fh, "wb") as out:
                out.setnchannels(params.nchannels)
                out.setsampwidth(params.sampwidth)
                out.setframerate(params.framerate)
                wav.rewind()
                left = end
                while left > 0:
                    raw = wav.readframes(min(TRIM_BLOCK_FRAMES, left))
                    if not raw:
                        break
                    out.writeframesraw(raw)
                    left -= len(raw) // width

        files.atomic_write(out_path, copy)
    return end, params.framerate, params.nchannels


def render_song(
    song: Song,
    soundfont: str | Path,
    out_path: str | Path,
    *,
    program: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> RenderResult:
    """Write `song` as MIDI to a temporary file and render that."""
    from ..music.midi import write_midi

    with tempfile.TemporaryDirectory(prefix="rbm-render-") as tmpdir:
        midi_path = Path(tmpdir) / "song.mid"
        write_midi(song, midi_path, program=program)
        return render_midi_file(midi_path, soundfont, out_path, sample_rate=sample_rate)
