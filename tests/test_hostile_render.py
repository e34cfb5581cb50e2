"""WAV export as an attacker or an unlucky user meets it: a device node or a FIFO at `render
--out` and at the window's Export WAV target, a MIDI file that claims days of music, a render
killed midway. And the streamed render against the whole-buffer one it replaced."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.platform import files
from rbm_studio.playback import synth as S
from rbm_studio.playback.render import trim_trailing_silence
from rbm_studio.playback.scheduling import build_schedule, program_messages
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CHORALE = sorted(sample_midi_dir().glob("*.mid"))[0]


def whole_buffer_render(song: Song, program: int, sample_rate: int) -> np.ndarray:
    """The render as it was before streaming: the whole song in one float buffer, rendered
    between events, the release tail trimmed at the end. The reference the stream must equal."""
    synth = S.SoundFontSynth(None, sample_rate=sample_rate)
    schedule = build_schedule(song)
    for message in program_messages(schedule.channels, program):
        synth.send(message)
    end_seconds = schedule.tempo_map.seconds_at(schedule.end_beat)
    total = int(round((end_seconds + S.RELEASE_TAIL_S) * sample_rate)) + 1
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
    loud = np.flatnonzero(np.abs(audio[music_end:]).max(axis=1) > S.SILENT_LEVEL)
    tail = (int(loud[-1]) + 1 if loud.size else 0) + int(S.TAIL_KEEP_S * sample_rate)
    return audio[: min(total, music_end + tail)]


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)


def special_targets(tmp_path: Path) -> list[Path]:
    """A FIFO, and a character device: /dev/null itself where we cannot replace it anyway (not
    root), else a node of our own (root could replace the real one if the code were wrong)."""
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    if IS_ROOT:
        node = tmp_path / "null.wav"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return [fifo, node]
    return [fifo, Path("/dev/null")]


def kinds(paths: list[Path]) -> list[int]:
    return [stat.S_IFMT(os.stat(p).st_mode) for p in paths]


def test_streamed_render_equals_the_whole_buffer_render(tmp_path):
    """Bit-identical: the stream renders each stretch between events in pieces that are
    multiples of TinySoundFont's envelope block, and trims the same tail."""
    song = read_midi(CHORALE)  # 86 s, events further apart than a block: stretches are split
    for rate, program in ((S.SAMPLE_RATE, 4), (22_050, 0)):
        reference = whole_buffer_render(song, program, rate)
        streamed = S.render_song_audio(song, program=program, sample_rate=rate)
        assert streamed.dtype == np.float32 and np.array_equal(streamed, reference)
        out = tmp_path / f"chorale-{rate}.wav"
        result = S.render_song_wav(song, out, program=program, sample_rate=rate)
        expected = (np.clip(reference, -1.0, 1.0) * 32767.0).round().astype("<i2")
        assert np.array_equal(read_pcm(out), expected)
        assert result.seconds == pytest.approx(len(reference) / rate)
        assert result.peak == pytest.approx(float(np.abs(reference).max()))


def test_a_device_or_fifo_at_render_out_stays_what_it_was(tmp_path, capsys):
    targets = special_targets(tmp_path)
    before = kinds(targets)
    for target in targets:
        for extra in ([], ["--fluidsynth", "--soundfont", str(S.bundled_soundfont())]):
            assert main(["render", str(CHORALE), "--out", str(target), *extra]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "not a regular file" in err, err
        with pytest.raises(S.SynthError, match="not a regular file"):
            S.render_song_wav(read_midi(CHORALE), target)
        with pytest.raises(files.WriteError):
            S.write_wav(np.zeros((10, 2), np.float32), target, S.SAMPLE_RATE)
    assert kinds(targets) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in targets if p.parent == tmp_path
    )


def test_export_wav_to_a_device_or_fifo_fails_in_one_line_and_leaves_it(
    qtbot, tmp_path, monkeypatch
):
    from rbm_studio.ui.settings import AppSettings
    from rbm_studio.ui.transport import TransportBar

    # no audio device opens (a JACK server nobody runs): Export WAV needs none
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "jack")
    targets = special_targets(tmp_path)
    before = kinds(targets)
    transport = TransportBar(AppSettings(tmp_path / "settings.ini"), apis=["jack"])
    qtbot.addWidget(transport)
    try:
        notes = [Note(60 + i, i * 0.5, i * 0.5 + 0.4, 90) for i in range(8)]
        transport.set_song(Song(notes=notes, tempos=[TempoChange(0.0, 240.0)], title="t"))
        for target in targets:
            with qtbot.waitSignal(transport.wavFailed, timeout=20000) as failed:
                transport.export_wav(target)
            message = failed.args[0]
            assert "\n" not in message and "not a regular file" in message
        good = tmp_path / "good.wav"
        with qtbot.waitSignal(transport.wavExported, timeout=20000):
            transport.export_wav(good)
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(good.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
        good.chmod(0o640)
        with qtbot.waitSignal(transport.wavExported, timeout=20000):
            transport.export_wav(good)
        assert stat.S_IMODE(good.stat().st_mode) == 0o640  # a replaced file keeps its mode
    finally:
        transport.shutdown()
    assert kinds(targets) == before


def crafted_midi(path: Path, note_ticks: int) -> Path:
    """A tiny MIDI file: one note `note_ticks` long (one tick a beat) at the slowest tempo a
    file can set (16.7 s a beat), as the issue's 42- and 43-byte files do."""

    def vlq(n: int) -> bytes:
        out = [n & 0x7F]
        n >>= 7
        while n:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        return bytes(reversed(out))

    track = (
        b"\x00\xff\x51\x03\xff\xff\xff"  # tempo: 16.777215 s per beat
        + b"\x00\x90\x3c\x40"
        + vlq(note_ticks)
        + b"\x80\x3c\x00"
        + b"\x00\xff\x2f\x00"
    )
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x00\x01"
    path.write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + track)
    return path


def test_a_song_longer_than_the_cap_is_refused_in_one_line(tmp_path, capsys):
    beats = int(S.MAX_RENDER_SECONDS / 16.777215) + 2  # just over the cap
    # 24000 beats (the reader takes up to 25000): 111 hours, 132 GiB as one float buffer
    for name, ticks in (("just-over.mid", beats), ("days.mid", 24_000)):
        song_path = crafted_midi(tmp_path / name, ticks)
        assert len(song_path.read_bytes()) < 50
        out = tmp_path / "out.wav"
        assert main(["render", str(song_path), "--out", str(out)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"at most {S.MAX_RENDER_SECONDS // 60} minutes" in err
        with pytest.raises(S.SynthError, match="at most"):
            S.render_song_audio(read_midi(song_path))
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["days.mid", "just-over.mid"]
    # a song within the cap renders: the cap is on the song, not on the file's claims
    ok = crafted_midi(tmp_path / "short.mid", 1)
    assert main(["render", str(ok), "--out", str(tmp_path / "short.wav")]) == 0
    assert 16 < len(read_pcm(tmp_path / "short.wav")) / S.SAMPLE_RATE < 20


def test_a_killed_render_leaves_a_temp_file_the_next_render_removes(tmp_path):
    """kill -9 mid-write: the temp file (named by `atomic_write`, with the render's process id)
    is removed by the next render to the same name. So is an old version's `.render-*.wav`
    once it is an hour old; a fresh one (another old-version render may be running) stays."""
    long_song = Song(
        notes=[Note(48 + (i % 24), i * 2.0, i * 2.0 + 1.5, 80) for i in range(900)],
        tempos=[TempoChange(0.0, 60.0)],
    )  # 30 minutes
    midi = tmp_path / "long.mid"
    write_midi(long_song, midi)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "song.wav"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "rbm_studio", "render", str(midi), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    temp = []
    try:
        while proc.poll() is None and not any(p.stat().st_size > 1 << 20 for p in temp):
            temp = [p for p in out_dir.iterdir() if files.TEMP_MARK in p.name]
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert len(temp) == 1 and temp[0].exists() and not out.exists()
    stale = out_dir / ".render-abcd1234.wav"
    stale.write_bytes(b"RIFF half a file")
    hour_ago = time.time() - files.ORPHAN_AGE_S - 60
    os.utime(stale, (hour_ago, hour_ago))
    fresh = out_dir / ".render-wxyz9876.wav"
    fresh.write_bytes(b"RIFF being written")
    assert main(["render", str(CHORALE), "--out", str(out)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [fresh.name, out.name]


def test_fluidsynth_output_is_trimmed_in_blocks_into_an_atomic_write(tmp_path):
    """The fluidsynth path's trim reads and copies its WAV a block at a time: the tail of
    silence goes, the music and a short tail stay, sample for sample."""
    rate = 8000
    pcm = np.zeros((rate * 30, 2), "<i2")  # 30 s: several trim blocks
    pcm[: 20 * rate] = np.arange(20 * rate, dtype=np.int64)[:, None] % 2000 + 100
    pcm[20 * rate + 7] = 50  # the last loud frame
    src = tmp_path / "fluidsynth.wav"
    with wave.open(str(src), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    out = tmp_path / "out.wav"
    frames, got_rate, channels = trim_trailing_silence(src, out)
    end = 20 * rate + 8 + int(0.25 * rate)
    assert (frames, got_rate, channels) == (end, rate, 2)
    assert np.array_equal(read_pcm(out), pcm[:end])
