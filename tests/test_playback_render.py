"""WAV export through Debian's fluidsynth and the TimGM6mb SoundFont (skips when either is absent)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize, decode
from rbm_studio.music.midi import write_midi
from rbm_studio.playback.render import (
    RenderError,
    find_soundfonts,
    fluidsynth_path,
    render_midi_file,
    render_song,
)

TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


@pytest.fixture(scope="module")
def soundfont() -> Path:
    if fluidsynth_path() is None:
        pytest.skip("fluidsynth is not installed (Debian package fluidsynth)")
    if not TIMGM.is_file():
        pytest.skip(f"{TIMGM} missing (Debian package timgm6mb-soundfont)")
    return TIMGM


def generated_song():
    """A song the way generation produces one: a sampled binary matrix, canonicalised, decoded."""
    enc = Encoding(steps_per_beat=4, low=48, high=84)
    rng = np.random.default_rng(7)
    steps = 32  # 8 beats = 4 s at 120 BPM
    data = np.zeros((steps, enc.width), dtype=np.uint8)
    for row in range(0, steps, 2):
        data[row : row + 2, rng.choice(enc.span, size=3, replace=False)] = 1
    matrix = StateMatrix(canonicalize(data, enc.span), encoding=enc, bpm=120.0)
    return decode(matrix)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return frames.reshape(-1, wav.getnchannels()).astype(np.float64), wav.getframerate()


def test_generated_song_renders_to_audible_wav_of_the_song_length(soundfont, tmp_path):
    song = generated_song()
    assert song.notes and song.duration_seconds == pytest.approx(4.0)
    result = render_song(song, soundfont, tmp_path / "song.wav")
    samples, rate = read_wav(result.path)
    assert rate == 44_100 and result.channels == 2
    length = len(samples) / rate
    assert result.seconds == pytest.approx(length)
    # as long as the music plus a short release, not fluidsynth's seconds of trailing silence
    assert song.duration_seconds <= length <= song.duration_seconds + 1.0
    window = rate // 10
    rms = [np.sqrt(np.mean(samples[i : i + window] ** 2)) for i in range(0, len(samples), window)]
    audible = [r > 100 for r in rms]  # about -50 dBFS
    # sound in every tenth of a second of the song (a chord is struck every half beat)
    assert all(audible[: int(song.duration_seconds * 10) - 1])
    assert max(rms) > 500


def test_render_command_writes_wav(soundfont, tmp_path, capsys):
    song = generated_song()
    midi = tmp_path / "in.mid"
    write_midi(song, midi)
    out = tmp_path / "out.wav"
    assert main(["render", str(midi), "--soundfont", str(soundfont), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    samples, _ = read_wav(out)
    assert np.abs(samples).max() > 1000


def test_render_reports_bad_input_without_leaving_files(soundfont, tmp_path):
    not_midi = tmp_path / "broken.mid"
    not_midi.write_bytes(b"this is not a MIDI file")
    out = tmp_path / "out.wav"
    with pytest.raises(RenderError):
        render_midi_file(not_midi, soundfont, out)
    with pytest.raises(RenderError, match="SoundFont not found"):
        render_midi_file(not_midi, tmp_path / "missing.sf2", out)
    assert list(tmp_path.iterdir()) == [not_midi]


def test_find_soundfonts_lists_sf2_files_once(tmp_path):
    (tmp_path / "a.sf2").write_bytes(b"x")
    (tmp_path / "b.SF3").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "link.sf2").symlink_to(tmp_path / "a.sf2")
    found = find_soundfonts([str(tmp_path), str(tmp_path / "nope")])
    assert [p.name for p in found] == ["a.sf2", "b.SF3"]


def test_fluidsynth_takes_a_dash_file_name_and_refuses_broken_or_empty_songs(
    soundfont, tmp_path, capsys
):
    dashed = tmp_path / "-x.mid"  # must not read as an option
    write_midi(generated_song(), dashed)
    out = tmp_path / "dash.wav"
    result = render_midi_file(dashed, soundfont, out)
    samples, _ = read_wav(result.path)
    assert np.abs(samples).max() > 1000
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(dashed.read_bytes()[:40])
    empty = tmp_path / "empty.mid"
    write_midi(
        decode(StateMatrix(np.zeros((16, 2 * 61), np.uint8), Encoding(low=36, high=96))), empty
    )
    for path, reason in ((truncated, "truncated"), (empty, "no notes")):
        wav = tmp_path / f"{path.stem}.wav"
        code = main(
            ["render", str(path), "--fluidsynth", "--soundfont", str(soundfont), "--out", str(wav)]
        )
        assert code != 0 and not wav.exists()
        err = capsys.readouterr().err.strip()
        assert reason in err and len(err.splitlines()) == 1, err
