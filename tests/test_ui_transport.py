"""The transport toolbar: the built-in synth is the default output (played here through miniaudio's
Null device); no audio device and no synth → Play disabled with one plain sentence and a "How?"
link; "Through" ports are never chosen; with JACK, Play moves the playhead, Space toggles, piano
keys audition, scrolling pauses following."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.playback.gm_programs import GM_PROGRAMS
from rbm_studio.playback.jack_server import JackListener
from rbm_studio.studio.roll import KEYBOARD_WIDTH, RULER_HEIGHT
from rbm_studio.ui.piano_roll import PianoRoll
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.transport import TransportBar, output_choices, position_text


def tune(beats: int = 16, bpm: float = 240.0) -> Song:
    notes = [Note(60 + (i % 12), i * 0.5, i * 0.5 + 0.45, 90) for i in range(beats * 2)]
    return Song(notes=notes, tempos=[TempoChange(0.0, bpm)], title="transport test")


@pytest.fixture
def settings(tmp_path):
    return AppSettings(tmp_path / "settings.ini")


@pytest.fixture
def no_audio_device(monkeypatch):
    """The built-in synth's only backend is a JACK nobody runs: no audio device opens, on any
    machine (libjack is missing on macOS and Windows, which fails the same way)."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "jack")


def test_gm_program_list_is_complete():
    assert len(GM_PROGRAMS) == 128 and GM_PROGRAMS[0] == "Acoustic Grand Piano"
    assert GM_PROGRAMS[40] == "Violin" and GM_PROGRAMS[127] == "Gunshot"


def test_no_output_disables_play_and_explains(qtbot, settings, no_audio_device, artifacts_dir):
    from rbm_studio.ui.transport import NO_SOUND_TEXT
    from rbm_studio.ui.window_factory import build_main_window

    window = build_main_window(settings, midi_apis=["jack"])
    qtbot.addWidget(window)
    transport = window.transport
    try:
        qtbot.waitUntil(lambda: transport.refresh_job.is_done and not transport.busy, timeout=20000)
        qtbot.waitUntil(lambda: transport.message.text().startswith("No sound"), timeout=20000)
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
        assert text == NO_SOUND_TEXT + ' <a href="how">How?</a>'  # one sentence, no shell
        assert NO_SOUND_TEXT.count(". ") == 0 and "`" not in text
        assert "export the song as MIDI or WAV" in text and "connect a synth" in text
        assert transport.output_combo.currentText() == "Built-in synth"
        assert transport.export_wav_button.isEnabled()  # WAV export needs no audio device
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
        # "How?" opens the details: the commands and the reasons live there, not in the bar.
        transport.message.linkActivated.emit("how")
        box = transport.help_box
        assert box is not None and box.isVisible() and not box.isModal()
        assert "fluidsynth" in box.text() and "virtual port" in box.text()
        assert "no audio device could be opened" in box.detailedText()
        assert "JACK: no JACK server running" in box.detailedText()
        box.grab().save(str(artifacts_dir / "playback_no_output_how.png"))
        box.close()
    finally:
        transport.shutdown()


def test_output_choices_put_the_builtin_synth_first_then_real_ports_then_virtual():
    from rbm_studio.playback.ports import ApiStatus

    statuses = [
        ApiStatus("alsa", True, ["Midi Through:Midi Through Port-0 14:0", "FLUID Synth:0"]),
        ApiStatus("jack", False, [], "no JACK server running"),
    ]
    choices = output_choices(statuses)
    assert [c.label for c in choices] == [
        "Built-in synth",
        "Midi Through:Midi Through Port-0 14:0 (ALSA)",
        "FLUID Synth:0 (ALSA)",
        'Virtual port "RBM Studio" (ALSA)',
    ]
    assert [c.may_sound for c in choices] == [True, False, True, False]
    assert choices[0].key == "builtin"


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


def test_export_wav_renders_with_the_builtin_synth_and_the_chosen_soundfont(
    qtbot, settings, tmp_path, no_audio_device
):
    import wave

    from rbm_studio.playback.synth import bundled_soundfont
    from rbm_studio.ui.transport import SOUNDFONT_KEY

    transport = TransportBar(settings, apis=["jack"])
    qtbot.addWidget(transport)
    try:
        assert transport.soundfont() == bundled_soundfont()
        transport.set_song(tune(beats=4))  # 1 s at 240 BPM
        assert transport.export_wav_button.isEnabled()
        out = tmp_path / "export" / "tune.wav"
        with qtbot.waitSignal(transport.wavExported, timeout=20000) as blocker:
            transport.export_wav(out)
        assert blocker.args == [out]
        with wave.open(str(out), "rb") as wav:
            assert 1.0 <= wav.getnframes() / wav.getframerate() <= 3.5
        # Another SoundFont is remembered and used; a broken one fails with a reason, no file.
        copy = tmp_path / "mine.sf2"
        copy.write_bytes(bundled_soundfont().read_bytes())
        with qtbot.waitSignal(transport.soundfontChecked, timeout=20000) as checked:
            transport.set_soundfont(copy)
        assert checked.args == [True, ""]
        assert settings.qsettings.value(SOUNDFONT_KEY) == str(copy)
        assert transport.soundfont() == copy and transport.player.soundfont == copy
        # A font that fails the check is not remembered: the one in use stays.
        cut = tmp_path / "cut.sf2"
        cut.write_bytes(bundled_soundfont().read_bytes()[:100_000])
        with qtbot.waitSignal(transport.soundfontChecked, timeout=20000) as checked:
            transport.set_soundfont(cut)
        assert checked.args[0] is False and "cut.sf2" in checked.args[1]
        assert "truncated" in checked.args[1] and len(checked.args[1].splitlines()) == 1
        assert settings.qsettings.value(SOUNDFONT_KEY) == str(copy)
        assert transport.player.soundfont == copy
        broken = tmp_path / "broken.sf2"
        broken.write_bytes(b"RIFF")
        with qtbot.waitSignal(transport.wavFailed, timeout=20000) as failed:
            transport.export_wav(tmp_path / "broken.wav", broken)
        assert "not a readable SoundFont" in failed.args[0]
        assert not (tmp_path / "broken.wav").exists()
    finally:
        transport.shutdown()


def test_builtin_synth_is_the_default_and_runs_the_transport(
    qtbot, settings, monkeypatch, artifacts_dir
):
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "null")  # a real audio thread, no sound card
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    from rbm_studio.ui.window_factory import build_main_window

    window = build_main_window(settings, midi_apis=["jack"])
    qtbot.addWidget(window)
    transport = window.transport
    try:
        qtbot.waitUntil(lambda: transport.ready, timeout=20000)
        assert transport.output_combo.currentText() == "Built-in synth"
        assert transport.output_combo.itemText(1) == "Built-in synth"  # first after "No output"
        assert not transport.message.isVisible()
        song = tune(beats=64)  # 16 s
        window.piano_roll.set_song(song)
        window.songShown.emit(song)
        window.resize(1400, 820)
        window.show()
        qtbot.waitExposed(window)
        player = transport.player
        qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: (window.piano_roll.view.playhead or 0.0) > 2.0, timeout=20000)
        assert transport.play_button.text() == "❚❚ Pause"
        window.grab().save(str(artifacts_dir / "playback_builtin_synth.png"))
        qtbot.keyClick(window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: player.state == "paused", timeout=10000)
        player.seek(40.0)
        transport.loop_button.setChecked(True)
        qtbot.keyClick(window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: (window.piano_roll.view.playhead or 0.0) > 40.5, timeout=10000)
        transport.tempo_spin.setValue(300)
        assert player.tempo_bpm == 300.0
        window.piano_roll.view.click_key(72)  # audition on the synth
        transport.stop()
        qtbot.waitUntil(lambda: window.piano_roll.view.playhead is None, timeout=10000)
        qtbot.waitUntil(lambda: player._out.last_peak == 0.0, timeout=10000)
        assert player.sounding_notes == [] and player._out.error is None
        assert settings.midi_port == ""  # the default was not saved as a choice
    finally:
        transport.shutdown()


@pytest.mark.jack
def test_a_through_port_is_never_chosen_by_default(qtbot, settings, jack_server):
    import sys

    from rbm_studio.playback.player import MidiPlayer

    # An audio backend this platform does not have: the built-in synth finds no device.
    missing = "coreaudio" if sys.platform == "win32" else "winmm"
    with JackListener(client_name="Midi Through", port_name="Midi Through Port-0") as through:
        assert through.port_name == "Midi Through:Midi Through Port-0"
        transport = TransportBar(settings, apis=["jack"], audio_backends=[missing])
        qtbot.addWidget(transport)
        try:
            qtbot.waitUntil(
                lambda: not transport.busy and transport.refresh_job.is_done, timeout=20000
            )
            qtbot.waitUntil(lambda: transport.message.text().startswith("No sound"), timeout=20000)
            assert not transport.ready and transport.output_combo.currentText() == "Built-in synth"
            labels = [
                transport.output_combo.itemText(i) for i in range(transport.output_combo.count())
            ]
            assert "Midi Through:Midi Through Port-0 (JACK)" in labels  # listed, not chosen
            player = MidiPlayer()
            try:
                assert player.open_default(prefer=["jack"]) is False
            finally:
                player.close()

            # With a real synth port beside it, that port is opened when the synth cannot be.
            with JackListener(client_name="FLUID Synth") as synth:
                with qtbot.waitSignal(transport.outputOpened, timeout=20000) as opened:
                    transport.refresh_outputs()
                qtbot.waitUntil(lambda: not transport.busy, timeout=20000)
                assert opened.args == [True] or transport.ready
                assert transport.output_combo.currentText() == f"{synth.port_name} (JACK)"
                assert transport.player.status.port == synth.port_name
        finally:
            transport.shutdown()


def test_position_text_is_bars_beats_and_minutes_seconds():
    song = Song(
        [Note(60, 0, 40)],
        tempos=[TempoChange(0.0, 120.0), TempoChange(16.0, 60.0)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(8.0, 3, 4)],
    )
    assert position_text(song, 0.0, None) == "1:1 · 0:00"
    assert position_text(song, 5.5, None) == "2:2 · 0:02"
    assert position_text(song, 8.0, None) == "3:1 · 0:04"  # 3/4 from bar 3
    assert position_text(song, 12.0, None) == "4:2 · 0:06"
    assert position_text(song, 76.0, None) == "25:3 · 1:08"  # 8 s, then 60 beats at 60 BPM
    assert position_text(song, 8.0, 240.0) == "3:1 · 0:02"  # twice the song's tempo
    assert position_text(None, 0.0, None) == "1:1 · 0:00"


def test_ruler_seeks_and_loops_the_transport(qtbot, settings, monkeypatch, artifacts_dir):
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "null")  # a real audio thread, no sound card
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    transport = TransportBar(settings, apis=["jack"])
    qtbot.addWidget(transport)
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 420)
    roll.show()
    transport.attach_piano_roll(roll)
    transport.show()
    player = transport.player
    try:
        qtbot.waitUntil(lambda: transport.ready, timeout=20000)
        song = tune(beats=32)  # 240 BPM: a beat is a quarter of a second
        roll.set_song(song)
        transport.set_song(song)
        view = roll.view

        def x_of(beat: float) -> int:
            return round(KEYBOARD_WIDTH + beat * view.beat_px - view.horizontalScrollBar().value())

        # A click on the bar numbers moves the player, the playhead and the label.
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(6), RULER_HEIGHT - 6)
        )
        assert abs(player.position - 6.0) < 0.1
        assert view.playhead is not None and abs(view.playhead - 6.0) < 0.1
        assert transport.position_label.text() == "2:3 · 0:01"
        transport.tempo_spin.setValue(60)  # a quarter of the song's tempo: 6 s in
        assert transport.position_label.text() == "2:3 · 0:06"
        transport.tempo_spin.setValue(transport.tempo_spin.minimum())  # back to "Song"

        # A drag on the loop strip loops bars 3-4 and turns Loop on.
        assert not transport.loop_button.isChecked()
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(8), 3))
        qtbot.mouseMove(view.viewport(), QPoint(x_of(12), 3))
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(16), 3))
        assert transport.loop_button.isChecked() and player.loop
        assert player.loop_range == (8.0, 16.0) and roll.loop_region == (8.0, 16.0)

        # Playing from inside the loop wraps back to its start, never past its end.
        player.seek(13.0)
        qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
        seen: list[float] = []
        transport.bridge.positionChanged.connect(seen.append)
        qtbot.waitUntil(lambda: any(b < 10.0 for b in seen), timeout=10000)
        assert max(seen) < 16.0 + 0.1
        # Seeking while playing goes on from the clicked beat.
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(9), RULER_HEIGHT - 6)
        )
        assert 9.0 - 0.1 <= player.position < 16.0
        transport.stop()

        # Loop off clears the region from the roll; a click on the loop strip turns Loop off.
        qtbot.mouseClick(transport.loop_button, Qt.MouseButton.LeftButton)
        assert not player.loop and roll.loop_region is None
        assert player.loop_range[0] == 0.0  # the whole song again
        roll.set_loop_region(None)
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(4), 3))
        qtbot.mouseMove(view.viewport(), QPoint(x_of(8), 3))
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(8), 3))
        assert transport.loop_button.isChecked() and player.loop_range == (4.0, 8.0)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(20), 3))
        assert not transport.loop_button.isChecked() and not player.loop
    finally:
        transport.shutdown()


def test_a_remembered_soundfont_that_no_longer_sounds_is_dropped_at_start(
    qtbot, settings, tmp_path, monkeypatch
):
    """The file behind the remembered SoundFont changed (here: its samples are all zero): the
    window starts with the bundled one, forgets the other and says why in the status bar."""
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "null")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    from support.crafted_soundfonts import Font

    from rbm_studio.playback.synth import bundled_soundfont
    from rbm_studio.ui.transport import SOUNDFONT_KEY
    from rbm_studio.ui.window_factory import build_main_window

    font = Font(bundled_soundfont().read_bytes())
    start, size = font.chunks["smpl"]
    silent = bytearray(font.data)
    silent[start + 8 : start + 8 + size] = bytes(size)
    path = tmp_path / "quiet.sf2"
    path.write_bytes(bytes(silent))
    settings.qsettings.setValue(SOUNDFONT_KEY, str(path))
    window = build_main_window(settings, midi_apis=["jack"])
    qtbot.addWidget(window)
    transport = window.transport
    try:
        message = window.statusBar().currentMessage()
        assert "quiet.sf2" in message and "silence" in message, message
        assert settings.qsettings.value(SOUNDFONT_KEY, "") in ("", None)
        assert transport.soundfont() == bundled_soundfont()
        qtbot.waitUntil(lambda: transport.ready, timeout=20000)
        assert transport.player.status.message.startswith("Output: Built-in synth (sf_GMbank")
    finally:
        transport.shutdown()


def test_shutting_down_while_the_output_opens_leaves_no_output_and_no_job_behind(
    qtbot, settings, monkeypatch
):
    """The window closing while the built-in synth is still being looked for and opened: both
    finish before the player closes and nothing opens after, so no audio thread outlives the
    window (one that did was still starting its device when the next window was built)."""
    monkeypatch.setenv("RBM_STUDIO_AUDIO_BACKEND", "null")
    transport = TransportBar(settings, apis=["jack"])
    qtbot.addWidget(transport)
    assert transport.refresh_job is not None and not transport.refresh_job.is_done
    transport.shutdown()
    jobs = [j for j in (transport.refresh_job, transport.open_job) if j is not None]
    assert all(j.thread.isFinished() for j in jobs)
    qtbot.wait(300)  # the jobs' queued results arrive: they open nothing now
    assert transport.player._out is None and not transport.player.status.ready
    assert [j for j in (transport.refresh_job, transport.open_job) if j is not None] == jobs
    assert transport.refresh_outputs() is None
