"""The window's generation as a producer uses it (issues #25 and #27): a folder in three keys at
120 BPM with a 60 BPM waltz → the tempo and keys "Like the songs" come from the folder → a
Form control (loop of 2 bars) → export: melody, chords and bass on named tracks with the learned
velocities → continuing the waltz keeps 60 BPM and 3/4 in the file → Again keeps the form →
the settings keep it → A/B marks where B starts. Screenshots of the panel and of the A/B roll
go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from test_studio_generation_daw import SHIFTS, assert_daw_file, tempo_and_metre, train_on, tune
from test_ui_kinds import make_window


def generate(qtbot, panel, press=None) -> list:
    """The songs of one press (Generate, or `press`); a failure fails at once, saying why."""
    made: list = []
    keep = made.append
    panel.songsGenerated.connect(keep)
    (press or panel.generate_button.click)()
    qtbot.waitUntil(lambda: bool(made) or "failed" in panel.message.text(), timeout=120_000)
    panel.songsGenerated.disconnect(keep)
    assert made, panel.message.text()
    qtbot.waitUntil(lambda: not panel.is_generating(), timeout=10_000)
    return made[0]


def export(qtbot, panel, folder: Path, songs) -> list[Path]:
    job = panel.export_to(folder, songs)
    with qtbot.waitSignal(job.finished, timeout=30_000) as done:
        pass
    return done.args[0]


def test_the_window_exports_parts_keeps_a_primers_tempo_and_marks_ab(
    qtbot, tmp_path, artifacts_dir, monkeypatch
):
    monkeypatch.setenv("RBM_STUDIO_DATA_DIR", str(tmp_path / "data"))
    songs = tmp_path / "songs"
    paths = [tune(songs / f"s{i}.mid", i, bpm=120, shift=s) for i, s in enumerate(SHIFTS)]
    waltz = tune(songs / "waltz.mid", 9, bpm=60, metre=(3, 4))
    window = make_window(qtbot, tmp_path)
    window.resize(1400, 900)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as imported:
        window.import_paths([songs])
    model = train_on(paths, imported.args[0].encoding)  # on the window's grid, as Train does
    panel, form = window.generation, window.generation.form

    # "Like the songs": the folder's typical tempo and its keys, not 100 BPM and one key
    assert form.tempo_box.specialValueText() == "Like the songs (120 BPM)"
    assert form.tempo_box.value() == form.tempo_box.minimum()
    like_songs = form.key_box.findData(panel.LIKE_SONGS)
    assert form.key_box.itemText(like_songs) == "Like the songs (3 keys)"
    assert "C major (3 songs), D major (1 song), G major (1 song)" in form.key_box.itemData(
        like_songs, Qt.ItemDataRole.ToolTipRole
    )
    window.set_model(model, path=None, modified=False)
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=10_000)

    # the Form control: a loop of two bars
    form.form_box.setCurrentIndex(form.form_box.findData("loop"))
    assert form.loop_bars_box.isEnabled()
    form.loop_bars_box.setValue(2)
    panel.set_options({"songs": 2, "bars": 4, "key": "songs", "seed": 4})
    assert panel.options()["form"] == "loop:2" and panel.options()["tempo"] is None
    panel.grab().save(str(artifacts_dir / "generation_panel_form.png"))
    made = generate(qtbot, panel)
    for song in made:
        assert round(song.tempo) == 120 and song.settings["form"] == "loop:2"
        assert "2-bar loop" in song.describe() and song.settings["song_key"]
    for path in export(qtbot, panel, tmp_path / "export", made):
        assert_daw_file(path)
        assert tempo_and_metre(path) == (120, (4, 4))

    # continuing the waltz keeps its tempo and metre, whatever the panel's tempo says
    assert window.browser.select_path(waltz)
    qtbot.waitUntil(lambda: panel.primer is not None and panel.primer.bpm == 60, timeout=10_000)
    panel.set_options({"songs": 1, "start": "continue", "tempo": 90, "key": "any", "form": "free"})
    (continued,) = generate(qtbot, panel)
    assert round(continued.tempo) == 60 and continued.matrix.time_signature == (3, 4)
    (path,) = export(qtbot, panel, tmp_path / "continued", [continued])
    assert_daw_file(path)
    assert tempo_and_metre(path) == (60, (3, 4))

    # Again takes the song's form, not the panel's; the settings keep the panel's
    form.form_box.setCurrentIndex(form.form_box.findData("free"))
    panel.list.clearSelection()
    panel.list.item(0).setSelected(True)
    (again,) = generate(qtbot, panel, panel.again_button.click)
    assert again.settings["form"] == "loop:2"
    window.save_settings()
    assert window.settings.generation()["form"] == "free"

    # A/B: the caption and a labelled line say where B starts
    panel.list.clearSelection()
    panel.list.item(0).setSelected(True)
    panel.list.item(1).setSelected(True)
    panel.compare_button.click()
    roll = window.piano_roll
    assert "(B from bar 5)" in roll.caption.text()
    assert roll.view.model.primer_beats == 16.0
    assert roll.view.model.marker_labels == ("◂ A", "B ▸")
    roll.fit_song()
    qtbot.wait(50)
    roll.grab().save(str(artifacts_dir / "ab_compare_roll.png"))
    qtbot.waitUntil(lambda: not panel.library_job.is_running(), timeout=30_000)
