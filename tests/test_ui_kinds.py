"""Model kinds in the window: the training form shows each registered kind's own settings with its
defaults, an RNN-RBM trains and generates through the panels, and a kind that exists only in the
tests (tests/support/fake_kind.py) is driven end to end with no change to the window."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QScrollArea, QWidget
from ui_songs import make_song_folder

from rbm_studio.models import registry
from rbm_studio.models.base import COMMON_SETTINGS
from rbm_studio.music.encoding import StateMatrix
from rbm_studio.resources import sample_midi_dir
from rbm_studio.ui.main_window import MainWindow
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

# The RNN-RBM's defaults except the epochs: enough of them to sample a song within ×2 of the
# chorales' density (far fewer give the dense sprays of an untrained model), few enough to keep the
# suite short.
RNN_RBM_EPOCHS = 100


def make_window(qtbot, tmp_path: Path) -> MainWindow:
    """The full window a person sees (shared factory, default size; no MIDI API searched)."""
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    window.training.autosave_to = tmp_path / "autosave.rbm"
    window.document.autosave = tmp_path / "autosave.rbm"
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def select_kind(window: MainWindow, name: str) -> None:
    """Choose a kind in the form's model combo, as a person does."""
    box = window.training.form.widgets["model"]
    index = box.findData(name)
    assert index >= 0, f"{name} is not listed"
    box.setCurrentIndex(index)


def own_fields(name: str) -> set[str]:
    common = {s.name for s in COMMON_SETTINGS}
    return {s.name for s in registry.kind(name).settings if s.form and s.name not in common}


def assert_form_shows(window: MainWindow, name: str) -> None:
    """The kind's own fields are shown, every other kind's are not, and the values are the
    kind's defaults."""
    form = window.training.form
    expected = registry.default_config(name)
    assert form.kind_name() == name
    assert form.config() == expected
    assert form.preset_name() == registry.presets(name)[0].name  # the defaults are a preset
    if not form.advanced_button.isChecked():
        form.advanced_button.click()  # every knob lives under "Advanced settings"
    assert form.advanced.isVisible()
    for setting in COMMON_SETTINGS:
        field = window.findChild(QWidget, f"field_{setting.name}")
        assert (field is not None and field.isVisible()) == setting.form, setting.name
    for field_name in own_fields(name):
        field = window.findChild(QWidget, f"field_{field_name}")
        assert field is not None and field.isVisible(), field_name
    others = set().union(*(own_fields(k) for k in registry.KINDS if k != name)) - own_fields(name)
    for field_name in others:
        field = window.findChild(QWidget, f"field_{field_name}")
        assert field is None or not field.isVisible(), field_name
    assert form.visible_messages() == []
    assert window.training.train_button.isEnabled()


def notes_per_bar(matrix: StateMatrix) -> float:
    """Struck notes per bar; a bar is steps_per_beat × beats-per-bar grid rows."""
    num, den = matrix.time_signature
    rows_per_bar = matrix.encoding.steps_per_beat * num * 4 / den
    return float(matrix.struck.sum()) / (matrix.steps / rows_per_bar)


def test_training_form_per_kind_screenshots(qtbot, tmp_path, artifacts_dir):
    window = make_window(qtbot, tmp_path)
    box = window.training.form.widgets["model"]
    listed = [(box.itemText(i), box.itemData(i)) for i in range(box.count())]
    assert listed == [(k.label, k.name) for k in registry.KINDS.values()]
    assert_form_shows(window, registry.DEFAULT_KIND)  # the panel starts on the default kind

    select_kind(window, "rnn-rbm")
    assert_form_shows(window, "rnn-rbm")
    w = window.training.form.widgets
    assert w["hidden"].value() == 150 and w["learning_rate"].value() == pytest.approx(0.001)
    assert w["batch_size"].value() == 16 and w["cd_k"].value() == 15
    assert w["recurrent_hidden"].value() == 100 and w["sequence_length"].value() == 128
    assert w["pretrain_epochs"].value() == 10 and w["transpose"].value() == 0
    assert w["meter"].isChecked() and w["previous_step"].isChecked()
    qtbot.wait(50)
    window.training_dock.grab().save(str(artifacts_dir / "training_panel_rnn-rbm.png"))

    select_kind(window, "rbm")
    assert_form_shows(window, "rbm")
    w = window.training.form.widgets
    assert w["hidden"].value() == 200 and w["window"].value() == 16
    assert w["batch_size"].value() == 100 and w["cd_k"].value() == 5
    assert w["one_key"].isChecked() and w["continue_share"].value() == pytest.approx(0.8)
    assert not w["pcd"].isChecked() and w["momentum_end"].value() == pytest.approx(0.9)
    assert w["fresh_start"].isChecked() and w["semitone_links"].isChecked()
    qtbot.wait(50)
    window.training_dock.grab().save(str(artifacts_dir / "training_panel_rbm.png"))
    # the default recipe's own switches, scrolled into view under Advanced settings
    if not window.training.form.advanced_button.isChecked():
        window.training.form.advanced_button.click()
    scroll = w["semitone_links"].parentWidget()
    while scroll is not None and not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    assert scroll is not None
    scroll.ensureWidgetVisible(w["semitone_links"])
    qtbot.wait(50)
    assert w["semitone_links"].isVisible() and w["fresh_start"].isVisible()
    window.training_dock.grab().save(str(artifacts_dir / "training_panel_rbm_recipe.png"))

    # A bad value of a kind's own knob is explained under that field; the Train button waits.
    select_kind(window, "rnn-rbm")
    form = window.training.form
    form.widgets["sequence_length"].setValue(1)
    assert form.messages["sequence_length"].isVisible()
    assert form.messages["sequence_length"].text().startswith("Sequence steps")
    assert not window.training.train_button.isEnabled()
    form.widgets["sequence_length"].setValue(64)
    assert form.visible_messages() == [] and window.training.train_button.isEnabled()
    assert window.training.config().value("sequence_length") == 64


def test_rnn_rbm_trains_and_generates_through_the_panels(qtbot, tmp_path, artifacts_dir):
    if not any(sample_midi_dir().glob("*.mid")):
        pytest.skip(f"bundled sample songs not generated yet in {sample_midi_dir()}")
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as imported:
        assert window.load_sample_songs()
    songs = imported.args[0].matrices
    select_kind(window, "rnn-rbm")
    window.training.form.widgets["epochs"].setValue(RNN_RBM_EPOCHS)
    window.training.form.widgets["transpose"].setValue(0)
    expected = registry.default_config("rnn-rbm", epochs=RNN_RBM_EPOCHS, transpose=0)
    assert window.training.config() == expected

    started = time.monotonic()
    with qtbot.waitSignal(window.training.modelTrained, timeout=240_000) as trained:
        window.training.train_button.click()
        assert window.training.is_training()
    train_seconds = time.monotonic() - started
    model = trained.args[0]
    assert window.model is model and model.kind == "rnn-rbm"
    assert model.epochs_trained == RNN_RBM_EPOCHS and model.config == expected
    assert window.training.epoch_label.text() == f"Epoch {RNN_RBM_EPOCHS} / {RNN_RBM_EPOCHS}"

    generation = window.generation
    assert generation.gibbs_box.value() == registry.kind("rnn-rbm").gibbs_default == 25
    generation.set_options({"songs": 1, "bars": 16, "seed": 0, "start": "silence"})
    started = time.monotonic()
    with qtbot.waitSignal(generation.songsGenerated, timeout=120_000) as generated:
        generation.generate_button.click()
    generate_seconds = time.monotonic() - started
    song = generated.args[0][0]
    assert song.matrix.steps == 16 * 4 * model.encoding.steps_per_beat
    assert window.piano_roll.song is song.song
    window.piano_roll.fit_song()
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "rnn_rbm_trained.png"))

    made = notes_per_bar(song.matrix)
    learnt = float(np.mean([notes_per_bar(m) for m in songs]))
    print(
        f"RNN-RBM {RNN_RBM_EPOCHS} epochs: trained in {train_seconds:.1f} s, generated in "
        f"{generate_seconds:.1f} s; notes per bar {made:.2f} generated, {learnt:.2f} training"
    )
    assert learnt / 2 <= made <= learnt * 2


def test_a_third_kind_trains_and_generates_from_the_panels(
    fake_kind, qtbot, tmp_path, artifacts_dir
):
    folder = make_song_folder(tmp_path / "songs", count=3, bars=4)
    window = make_window(qtbot, tmp_path)
    box = window.training.form.widgets["model"]
    assert box.findData(fake_kind.name) >= 0
    assert box.itemText(box.findData(fake_kind.name)) == fake_kind.label
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.import_paths([folder])

    select_kind(window, fake_kind.name)
    assert_form_shows(window, fake_kind.name)
    form = window.training.form
    assert form.widgets["smoothing"].value() == pytest.approx(1.0)
    assert form.widgets["epochs"].value() == 4 and form.widgets["hidden"].value() == 1
    form.widgets["smoothing"].setValue(0.0)  # the kind's own check, under its own field
    assert form.messages["smoothing"].text().startswith("Smoothing")
    assert not window.training.train_button.isEnabled()
    form.widgets["smoothing"].setValue(2.5)
    assert window.training.config().value("smoothing") == pytest.approx(2.5)

    with qtbot.waitSignal(window.training.modelTrained, timeout=60_000) as trained:
        window.training.train_button.click()
    model = trained.args[0]
    assert model.kind == fake_kind.name and model.epochs_trained == 4
    assert model.config.value("smoothing") == pytest.approx(2.5)
    assert window.generation.gibbs_box.value() == fake_kind.gibbs_default

    window.generation.set_options({"songs": 1, "bars": 2, "seed": 3, "start": "silence"})
    with qtbot.waitSignal(window.generation.songsGenerated, timeout=60_000) as generated:
        window.generation.generate_button.click()
    song = generated.args[0][0]
    assert song.matrix.steps == 2 * 4 * model.encoding.steps_per_beat
    assert song.song.notes and window.piano_roll.song is song.song
    window.piano_roll.fit_song()
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "third_kind_generated.png"))


def test_saved_settings_of_a_kind_this_version_lacks_open_on_the_default_kind(qtbot, tmp_path):
    settings = AppSettings(tmp_path / "settings.ini")
    gone = registry.default_config("rnn-rbm", hidden=77).to_dict() | {"model": "no-such-kind"}
    settings.set_hyperparameters(gone)
    settings.sync()
    window = make_window(qtbot, tmp_path)
    assert_form_shows(window, registry.DEFAULT_KIND)
    # ... while a known kind's saved values come back as they were
    settings.set_hyperparameters(registry.default_config("rnn-rbm", hidden=77).to_dict())
    settings.sync()
    again = make_window(qtbot, tmp_path)
    assert again.training.config() == registry.default_config("rnn-rbm", hidden=77)
    again.training.form.advanced_button.click()
    assert again.training.form.widgets["recurrent_hidden"].isVisible()
