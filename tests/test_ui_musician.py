"""A musician's session through the real window (issue: speak music, not machine learning):
preset → train → hear a sample while it trains → generate twice (fresh seeds, different songs)
→ star one → restart the app → the list, stars and seeds are back → export the favourites with
their tempo, instrument and a note of how they were made."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
from PySide6.QtWidgets import QWidget

from rbm_studio.resources import sample_midi_dir
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

VIOLIN = 40  # General MIDI program 41


def open_window(qtbot, settings_file: Path, size=(1400, 900)):
    window = build_main_window(AppSettings(settings_file), midi_apis=[])
    window.training.autosave_to = settings_file.parent / "autosave.rbm"
    window.document.autosave = settings_file.parent / "autosave.rbm"
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def start(qtbot, window):
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.start(folder=sample_midi_dir())
    qtbot.waitUntil(
        lambda: (
            window.generation.library_job is None or not window.generation.library_job.is_running()
        ),
        timeout=30_000,
    )


def shown_songs(window) -> list:
    return window.generation.list.songs()


def test_a_musicians_session_survives_a_restart(qtbot, tmp_path, artifacts_dir, monkeypatch):
    if not any(sample_midi_dir().glob("*.mid")):
        pytest.skip(f"bundled sample songs not generated yet in {sample_midi_dir()}")
    # A data folder of its own: other tests' generated songs are kept in the shared one.
    monkeypatch.setenv("RBM_STUDIO_DATA_DIR", str(tmp_path / "data"))
    settings_file = tmp_path / "settings.ini"
    window = open_window(qtbot, settings_file)
    start(qtbot, window)
    panel, form = window.training, window.training.form

    # Presets speak music; the machine-learning knobs wait under a collapsed Advanced section.
    assert not form.advanced.isVisible()
    assert not window.findChild(QWidget, "field_momentum_start").isVisible()
    labels = [form.preset_box.itemText(i) for i in range(form.preset_box.count())]
    assert "Quick sketch — seconds" in labels and "Whole songs — minutes" in labels
    form.preset_box.setCurrentIndex(form.preset_box.findData("sketch"))
    form.preset_box.activated.emit(form.preset_box.currentIndex())
    assert panel.config().hidden == 100 and panel.config().minutes == 0.5
    assert form.train_for_box.currentData() == form.FOR_TIME
    # The sketch's half minute reaches the epochs below only on an idle machine; a longer time
    # box lets a busy one get there too (the test stops training itself once it has heard it).
    form.minutes_box.setValue(3.0)

    # Train, and hear the model as it is while it keeps training.
    assert not panel.sample_button.isEnabled()
    panel.train_button.click()
    # (an untrained model plays nothing: no note is above even odds in its first epochs)
    qtbot.waitUntil(
        lambda: (
            panel.state == "training" and panel.progress_log and panel.progress_log[-1].epoch >= 150
        ),
        timeout=120_000,
    )
    assert panel.sample_button.isEnabled()
    with qtbot.waitSignal(window.sampleShown, timeout=60_000) as sampled:
        panel.sample_button.click()
    sample = sampled.args[0]
    assert sample.notes and window.piano_roll.song is sample
    assert panel.is_training(), "hearing a sample must not stop training"
    assert window.transport.song is sample  # the transport plays what the roll shows
    with qtbot.waitSignal(panel.modelTrained, timeout=60_000):
        panel.stop_button.click()

    # Generate twice: each press has its own seed, shown on its songs, and different songs.
    generation = window.generation
    generation.set_options({"songs": 2, "bars": 4, "tempo": 90, "program": VIOLIN})
    assert generation.options()["tempo"] == 90
    for _ in range(2):
        with qtbot.waitSignal(generation.songsGenerated, timeout=120_000):
            generation.generate_button.click()
        qtbot.waitUntil(lambda: not generation.is_generating(), timeout=10_000)
    songs = shown_songs(window)
    assert len(songs) == 4
    seeds = [s.seed for s in songs]
    assert len(set(seeds)) == 4, seeds
    first_press, second_press = songs[:2], songs[2:]
    assert [n.pitch for n in first_press[0].song.notes] != [
        n.pitch for n in second_press[0].song.notes
    ]
    for row, song in enumerate(songs):
        assert f"seed {song.seed}" in generation.list.item(row).text()
        assert f"seed {song.seed}" in generation.list.item(row).toolTip()

    # "Again" with a song's seed makes the same song.
    generation.list.clearSelection()
    generation.list.item(1).setSelected(True)
    with qtbot.waitSignal(generation.songsGenerated, timeout=120_000) as again:
        generation.again_button.click()
    remade = again.args[0][0]
    assert remade.seed == songs[1].seed
    assert [(n.pitch, n.start) for n in remade.song.notes] == [
        (n.pitch, n.start) for n in songs[1].song.notes
    ]
    qtbot.waitUntil(lambda: not generation.is_generating(), timeout=10_000)

    # Star one; delete another and take it back with Ctrl+Z.
    generation.list.clearSelection()
    generation.list.item(2).setSelected(True)
    generation.star_button.click()
    starred = shown_songs(window)[2]
    assert starred.starred and generation.list.item(2).text().startswith("★")
    generation.list.clearSelection()
    generation.list.item(0).setSelected(True)
    generation.delete_button.click()
    assert generation.list.count() == 4
    generation.undo_action.trigger()
    assert generation.list.count() == 5
    expected = [(s.name, s.seed, s.starred) for s in shown_songs(window)]
    qtbot.waitUntil(lambda: not generation.library_job.is_running(), timeout=30_000)
    window.close()

    # Restart: a new window on the same data folder has the list, the stars and the seeds.
    again_window = open_window(qtbot, settings_file)
    start(qtbot, again_window)
    qtbot.waitUntil(lambda: again_window.generation.list.count() == len(expected), timeout=30_000)
    restored = shown_songs(again_window)
    assert [(s.name, s.seed, s.starred) for s in restored] == expected
    assert restored[2].program == VIOLIN and restored[2].tempo == pytest.approx(90)

    # Export the favourites: tempo, instrument and how the song was made are in the file.
    favourites = again_window.generation.songs_to_export("starred")
    assert [s.name for s in favourites] == [starred.name]
    assert again_window.generation.export_starred_button.isEnabled()
    out = tmp_path / "export"
    with qtbot.waitSignal(again_window.generation.exported, timeout=30_000) as exported:
        again_window.generation.export_to(out, favourites)
    (path,) = exported.args[0]
    midi = mido.MidiFile(path)
    messages = [m for track in midi.tracks for m in track]
    tempo = next(m.tempo for m in messages if m.type == "set_tempo")
    assert mido.tempo2bpm(tempo) == pytest.approx(90, abs=0.01)
    assert {m.program for m in messages if m.type == "program_change"} == {VIOLIN}
    texts = [m.text for m in messages if m.type == "text"]
    assert texts == [favourites[0].describe()]
    assert f"seed {starred.seed}" in texts[0] and "RBM (windows)" in texts[0]
    again_window.generation.list.setCurrentRow(2)
    again_window.grab().save(str(artifacts_dir / "musician_session_restored.png"))
