"""The transport toolbar: no output → Play disabled with an explanation; with JACK, Play moves the
playhead, Space toggles, piano keys audition, scrolling pauses following."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.gm_programs import GM_PROGRAMS
from rbm_studio.playback.jack_server import JackListener
from rbm_studio.ui.piano_roll import PianoRoll
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.transport import TransportBar, output_choices


def tune(beats: int = 16, bpm: float = 240.0) -> Song:
    notes = [Note(60 + (i % 12), i * 0.5, i * 0.5 + 0.45, 90) for i in range(beats * 2)]
    return Song(notes=notes, tempos=[TempoChange(0.0, bpm)], title="transport test")


@pytest.fixture
def settings(tmp_path):
    return AppSettings(tmp_path / "settings.ini")


def test_gm_program_list_is_complete():
    assert len(GM_PROGRAMS) == 128 and GM_PROGRAMS[0] == "Acoustic Grand Piano"
    assert GM_PROGRAMS[40] == "Violin" and GM_PROGRAMS[127] == "Gunshot"


def test_no_output_disables_play_and_explains(qtbot, settings, monkeypatch, artifacts_dir):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    from rbm_studio.ui.window_factory import build_main_window

    window = build_main_window(settings, midi_apis=["jack"])
    qtbot.addWidget(window)
    transport = window.transport
    try:
        qtbot.waitUntil(lambda: transport.refresh_job.is_done and not transport.busy, timeout=20000)
        qtbot.waitUntil(
            lambda: transport.message.text().startswith("No MIDI output"), timeout=20000
        )
        song = tune()
        window.piano_roll.set_song(song)
        window.songShown.emit(song)
        window.resize(1400, 820)
        window.show()
        qtbot.waitExposed(window)
        assert transport.song is song
        assert not transport.play_button.isEnabled()
        assert not transport.play_action.isEnabled()
        assert transport.message.isVisible()
        text = transport.message.text()
        assert "FluidSynth" in text and "virtual port" in text and "export" in text
        assert "no JACK server running" in text
        assert transport.output_combo.currentText() == "No output"
        # The long message wraps inside the window: not clipped, the window no wider.
        assert window.width() == 1400
        assert transport.message.height() >= transport.message.heightForWidth(
            transport.message.width()
        )
        assert window.dataset_dock.width() >= 250  # docks at their default, readable sizes
        # Space does nothing harmful without an output
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert transport.player.state == "stopped"
        window.grab().save(str(artifacts_dir / "playback_no_output.png"))
    finally:
        transport.shutdown()


def test_output_choices_put_real_ports_before_virtual():
    from rbm_studio.playback.ports import ApiStatus

    statuses = [
        ApiStatus("alsa", True, ["Midi Through:0", "FLUID Synth:0"]),
        ApiStatus("jack", False, [], "no JACK server running"),
    ]
    labels = [c.label for c in output_choices(statuses)]
    assert labels == [
        "Midi Through:0 (ALSA)",
        "FLUID Synth:0 (ALSA)",
        'Virtual port "RBM Studio" (ALSA)',
    ]


@pytest.mark.jack
def test_play_through_jack_moves_playhead(qtbot, settings, jack_server):
    with JackListener(client_name="rbm-gui-listener") as listener:
        settings.midi_port = f"jack|port|{listener.port_name}"
        transport = TransportBar(settings, apis=["jack"])
        qtbot.addWidget(transport)
        roll = PianoRoll()
        qtbot.addWidget(roll)
        roll.resize(500, 300)
        roll.show()
        transport.attach_piano_roll(roll)
        transport.attach_to_window(transport)
        transport.show()
        try:
            qtbot.waitUntil(lambda: transport.ready, timeout=20000)
            assert transport.output_combo.currentText() == f"{listener.port_name} (JACK)"
            assert not transport.message.isVisible()
            song = tune(beats=64)  # 16 s: still playing however slow the machine is
            roll.set_song(song)
            transport.set_song(song)
            assert transport.play_button.isEnabled()

            qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: (roll.view.playhead or 0.0) > 1.0, timeout=20000)
            assert transport.play_button.text() == "❚❚ Pause"
            assert any(m[0] == 0x90 for _, m in listener.messages())

            # scrolling by hand pauses following; zooming does not
            roll.view.zoom_time(1.25)
            qtbot.wait(50)
            assert transport.follow_button.isChecked()
            bar = roll.view.horizontalScrollBar()
            bar.setValue(bar.maximum())
            qtbot.waitUntil(lambda: not transport.follow_button.isChecked(), timeout=10000)
            at = bar.value()
            qtbot.wait(300)
            assert bar.value() == at  # the view stays where the person put it

            # refreshing the port list while playing keeps playing on the same port
            with qtbot.waitSignal(transport.outputOpened, timeout=20000):
                qtbot.mouseClick(transport.refresh_button, Qt.MouseButton.LeftButton)
            assert transport.player.state == "playing"
            assert (0xB0, 123, 0) not in [m for _, m in listener.messages()]

            # Space pauses, and the playhead stays where it stopped
            qtbot.keyClick(transport, Qt.Key.Key_Space)
            qtbot.waitUntil(lambda: transport.player.state == "paused", timeout=10000)
            assert transport.play_button.text() == "▶ Play"
            listener.settle(quiet=0.15)
            assert transport.player.sounding_notes == []

            # clicking a piano key auditions it
            listener.clear()
            roll.view.click_key(72)
            assert listener.wait_for(1, timeout=10)
            assert listener.messages()[0][1][:2] == (0x9F, 72)

            transport.stop()
            qtbot.waitUntil(lambda: roll.view.playhead is None, timeout=10000)
        finally:
            transport.shutdown()


def test_export_wav_renders_and_remembers_the_soundfont(qtbot, settings, tmp_path, monkeypatch):
    from pathlib import Path

    from rbm_studio.playback.render import fluidsynth_path
    from rbm_studio.ui.transport import SOUNDFONT_KEY

    soundfont = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
    if fluidsynth_path() is None or not soundfont.is_file():
        pytest.skip("needs fluidsynth and timgm6mb-soundfont")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    transport = TransportBar(settings, apis=["jack"])
    qtbot.addWidget(transport)
    try:
        transport.set_song(tune(beats=4))
        assert transport.export_wav_button.isEnabled()
        out = tmp_path / "export" / "tune.wav"
        with qtbot.waitSignal(transport.wavExported, timeout=20000) as blocker:
            transport.export_wav(out, soundfont)
        assert blocker.args == [out] and out.stat().st_size > 44_100
        assert settings.qsettings.value(SOUNDFONT_KEY) == str(soundfont)
        assert transport.soundfont() == soundfont
    finally:
        transport.shutdown()
