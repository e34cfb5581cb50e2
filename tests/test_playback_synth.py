"""The built-in synth: offline renders keep the score's timing, and live playback through
miniaudio's Null backend (a real audio thread, no sound card) runs the whole transport on the
audio clock."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.audio import AudioDeviceError, AudioStream
from rbm_studio.playback.onsets import onset_errors, score_onsets
from rbm_studio.playback.player import MidiPlayer
from rbm_studio.playback.scheduling import build_schedule
from rbm_studio.playback.synth import (
    RELEASE_TAIL_S,
    SAMPLE_RATE,
    SoundFontSynth,
    bundled_soundfont,
    render_song_audio,
)

ROOT = Path(__file__).resolve().parent.parent
CHORALE = ROOT / "rbm_studio" / "resources" / "sample_midi" / "chorale_001.mid"
# E.Piano 1: its samples start at once. The bundled acoustic piano's samples open with up to 9 ms
# of silence at some pitches — the instrument's own attack, not the synth's timing.
CLEAN_ATTACK_PROGRAM = 4


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.reshape(-1, wav.getnchannels()).astype(np.float64) / 32768, wav.getframerate()


@pytest.fixture(scope="module")
def chorale_render():
    song = read_midi(CHORALE)
    audio = render_song_audio(song, program=CLEAN_ATTACK_PROGRAM)
    return song, audio


def test_offline_render_has_the_song_length_sound_throughout_and_onsets_within_5_ms(
    chorale_render,
):
    song, audio = chorale_render
    seconds = len(audio) / SAMPLE_RATE
    assert song.duration_seconds <= seconds <= song.duration_seconds + RELEASE_TAIL_S + 0.3
    window = SAMPLE_RATE // 10
    rms = np.sqrt(np.mean(audio[: int(song.duration_seconds * SAMPLE_RATE)] ** 2, axis=1))
    tenths = [rms[i : i + window].mean() for i in range(0, len(rms) - window, window)]
    assert min(tenths) > 1e-3 and float(np.abs(audio).max()) > 0.1  # sound in every 0.1 s
    assert float(np.abs(audio).max()) <= 1.0

    onsets = score_onsets(build_schedule(song))
    assert len(onsets) == 100
    errors_ms = onset_errors(audio, SAMPLE_RATE, onsets) * 1000
    worst = float(np.abs(errors_ms).max())
    assert worst <= 5.0, f"worst onset error {worst:.2f} ms"

    # The detector itself sees timing errors: the same audio 20 ms late reads 20 ms late.
    late = np.concatenate([np.zeros((int(0.02 * SAMPLE_RATE), 2), np.float32), audio])
    shifted_ms = onset_errors(late, SAMPLE_RATE, onsets) * 1000
    assert np.median(shifted_ms) == pytest.approx(20.0, abs=2.5)


def test_render_command_writes_an_audible_wav_without_fluidsynth(tmp_path, capsys):
    out = tmp_path / "out" / "chorale.wav"
    assert main(["render", str(CHORALE), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    samples, rate = read_wav(out)
    assert rate == SAMPLE_RATE and samples.shape[1] == 2
    assert np.abs(samples).max() > 0.1
    assert [p.name for p in out.parent.iterdir()] == ["chorale.wav"]  # no temporary left


def test_render_reports_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_text("not midi")
    out = tmp_path / "x.wav"
    assert main(["render", str(bad), "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    song = tmp_path / "song.mid"
    write_midi(Song(notes=[Note(60, 0, 1)]), song)
    assert main(["render", str(song), "--soundfont", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable SoundFont" in err
    assert main(["render", str(song), "--soundfont", str(tmp_path / "no.sf2"), "--out", str(out)])
    assert "SoundFont not found" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid", "song.mid"]


def test_synth_applies_midi_messages():
    synth = SoundFontSynth(bundled_soundfont())
    assert float(np.abs(synth.render(2048)).max()) == 0.0
    synth.send((0xC0, 40))  # violin
    synth.send((0x90, 69, 100))
    assert float(np.abs(synth.render(4410)).max()) > 0.01
    synth.send((0xB0, 120, 0))  # All Sound Off: a click-free fade of a few milliseconds
    fade = synth.render(2048)
    assert float(np.abs(fade[-64:]).max()) == 0.0
    assert float(np.abs(synth.render(2048)).max()) == 0.0


def test_an_audio_backend_that_cannot_open_raises_a_one_line_reason(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    with pytest.raises(AudioDeviceError, match="no audio device could be opened"):
        AudioStream(lambda n: np.zeros((n, 2), np.float32), backends=["jack"])
    with pytest.raises(AudioDeviceError, match="unknown audio backend"):
        AudioStream(lambda n: np.zeros((n, 2), np.float32), backends=["speakers"])


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_closed_player_opens_no_output():
    player = MidiPlayer(audio_backends=["null"])
    player.close()
    assert not player.open("builtin") and not player.open_synth()
    assert player._out is None and not player.status.ready


def test_null_device_runs_the_whole_transport_on_the_audio_clock():
    notes = [Note(60 + (i % 12), i * 0.5, i * 0.5 + 0.45, 90) for i in range(64)]
    song = Song(notes=notes, tempos=[TempoChange(0.0, 120.0)], title="null test")  # 16 s
    positions: list[float] = []
    player = MidiPlayer(audio_backends=["null"], on_position=positions.append)
    try:
        assert player.open("builtin"), player.status.message
        assert player.status.port == "Built-in synth" and "Null" in player.status.message
        out = player._out
        player.load(song)
        assert player.play()
        start_frames = out.frames
        wait_for(lambda: out.frames - start_frames > SAMPLE_RATE // 2)
        # The playhead is the audio clock: seconds played (less the device's buffer) at 120 BPM.
        with player._cond:
            played = (out.frames - start_frames) / SAMPLE_RATE - out.latency
            beat = player.position
        assert beat == pytest.approx(played * 2.0, abs=1e-6)
        assert len(player.sounding_notes) >= 1 and out.last_peak > 0.0

        player.pause()
        paused_at = player.position
        wait_for(lambda: out.last_peak == 0.0)  # silent at the next block
        time.sleep(0.1)
        assert player.position == paused_at and player.state == "paused"

        player.seek(20.0)
        assert player.position == 20.0
        assert player.play()
        wait_for(lambda: player.position > 20.5)

        player.set_loop(True, 24.0, 26.0)  # outside the loop: jumps to its start
        wait_for(lambda: 24.0 <= player.position < 26.0)
        player.set_tempo(480.0)  # a 2-beat loop turns every 0.25 s now
        lows = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(lows) < 3:
            before = player.position
            time.sleep(0.02)
            if player.position < before:
                lows.append(player.position)
        assert len(lows) >= 2 and all(24.0 <= b < 26.0 for b in lows)

        assert player.audition(72)
        wait_for(lambda: out.last_peak > 0.0)
        player.stop()
        assert player.state == "stopped" and player.position == 24.0  # the loop's start
        wait_for(lambda: out.last_peak == 0.0)
        assert player.sounding_notes == [] and out.error is None
        assert positions and max(positions) > 20.0
    finally:
        player.close()
    assert player.status.ready  # close leaves the status, but the device is gone
    assert out.stream._device is None


def test_native_synth_checks_its_arguments():
    """The extension's own guards: whole stereo float32 frames in a writable buffer, channels,
    keys and values in MIDI range; a valid note still sounds."""
    from rbm_studio.playback import _tsf
    from rbm_studio.playback.synth import bundled_soundfont, load_soundfont_bytes

    synth = _tsf.Synth(load_soundfont_bytes(bundled_soundfont()), 44_100, -3.0, 16)
    with pytest.raises(ValueError):
        synth.render_into(bytearray(12))  # one and a half frames
    for bad in (bytes(16), np.zeros((4, 2), np.float32)[::2]):  # read-only, not contiguous
        with pytest.raises(TypeError):
            synth.render_into(bad)
    for call, args in (
        (synth.note_on, (16, 60, 100)),
        (synth.note_on, (0, 128, 100)),
        (synth.note_on, (0, 60, 128)),
        (synth.control_change, (0, 7, 128)),
        (synth.program_select, (0, 0, 200, False)),
    ):
        with pytest.raises(ValueError):
            call(*args)
    assert synth.program_select(0, 0, 0, False) and synth.has_preset(0, 0)
    out = np.zeros((4096, 2), np.float32)
    synth.note_on(0, 60, 100)
    synth.render_into(out)
    assert np.abs(out).max() > 0.01
