"""Training, stopping, model files, autosave restore, generation and export through the real window
and its real workers (tiny models; one JAX compile shared by every test in this module)."""

from __future__ import annotations

import gc
import time
from dataclasses import replace
from pathlib import Path

import pytest
from support.training import train_to_end
from ui_songs import make_song_folder

from rbm_studio.data.dataset import import_folder
from rbm_studio.models import registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.model_file import save_model
from rbm_studio.music.midi import read_midi
from rbm_studio.resources import sample_midi_dir
from rbm_studio.studio.training import autosave_path
from rbm_studio.ui.main_window import MainWindow
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

# Most tests train with this shape, so JAX compiles their training step once per session.
TINY = registry.default_config("rbm", hidden=12, window=15, batch_size=100, epochs=2, seed=0)


@pytest.fixture(scope="module")
def song_folder(tmp_path_factory) -> Path:
    return make_song_folder(tmp_path_factory.mktemp("ui-training") / "songs", count=6, bars=8)


@pytest.fixture(scope="module")
def trained_model(song_folder):
    """TINY trained long enough to play notes (an untrained model's samples are silent: no
    note is above even odds in its first epochs)."""
    report = import_folder(song_folder, use_cache=False, workers=1)
    config = replace(TINY, epochs=300, patience=None, minutes=None)
    return train_to_end(registry.make_trainer(config, report.matrices, report.encoding))


def make_window(qtbot, tmp_path: Path) -> MainWindow:
    """The full window (transport included; no MIDI API searched, so no output)."""
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    window.training.autosave_to = tmp_path / "autosave.rbm"
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def import_songs(qtbot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.import_paths([folder])


def test_two_epochs_update_plots_and_signals_in_order(qtbot, tmp_path, song_folder):
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    window.training.set_config(TINY)
    received = []
    window.training.progressReceived.connect(received.append)
    with qtbot.waitSignal(window.training.modelTrained, timeout=120_000) as blocker:
        assert window.train()
        assert window.training.phase_label.text().startswith("Compiling")
        # what was alive at Train stays out of the collector's walks while the run trains
        frozen_while_training = gc.get_freeze_count()
    model = blocker.args[0]
    qtbot.waitUntil(lambda: not window.training.is_training(), timeout=5_000)
    assert frozen_while_training > 10_000

    phases = [p.phase for p in received]
    assert phases[0] == "compiling" and phases[-1] == "done"
    assert "training" in phases
    epochs = [p.epoch for p in received]
    assert epochs == sorted(epochs) and epochs[-1] == 2
    assert window.training.error_plot.epoch_x == [1.0, 2.0]
    assert len(window.training.gap_plot.xs) == 2
    assert window.training.heatmap.updates >= 1
    assert window.training.heatmap.shape == (12, 15, model.encoding.span)
    assert window.training.histogram.updates >= 1
    assert window.training.epoch_label.text() == "Epoch 2 / 2"
    assert window.training.progress_bar.value() == 1000
    assert window.model is model and model.epochs_trained == 2
    assert window.isWindowModified() and "unsaved model" in window.windowTitle()
    assert window.generation.generate_button.isEnabled()
    # The final autosave is written after the model is handed over.
    qtbot.waitUntil(lambda: window.training.job.is_done, timeout=10_000)
    assert (tmp_path / "autosave.rbm").is_file()


def test_stop_ends_training_within_a_second_and_keeps_model(qtbot, tmp_path, artifacts_dir):
    if not any(sample_midi_dir().glob("*.mid")):
        pytest.skip(f"bundled sample songs not generated yet in {sample_midi_dir()}")
    # What a person sees after pressing Train at first launch: the bundled chorales with the
    # default model for 200 epochs (a few batches an epoch, so a run lasts seconds, not a
    # blink), captured a quarter of the way through.
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        assert window.load_sample_songs()
    config = registry.default_config("rbm", epochs=200, patience=None, minutes=None)
    window.training.set_config(config)
    assert window.train()
    panel = window.training

    def epoch() -> int:
        return panel.progress_log[-1].epoch if panel.progress_log else 0

    qtbot.waitUntil(
        lambda: (
            epoch() >= config.epochs // 4
            and len(panel.error_plot.epoch_x) >= 20
            and panel.heatmap.updates >= 2
        ),
        timeout=120_000,
    )
    assert panel.state == "training"
    window.grab().save(str(artifacts_dir / "training_midway.png"))
    # Pause at once, so the rest of the test runs well before the 200 epochs are done.
    panel.pause_button.click()
    shown = epoch()
    assert panel.epoch_label.text().startswith("Epoch ")
    assert panel.epoch_label.text().endswith(f" / {config.epochs}")
    assert 0 < panel.progress_bar.value() < 1000  # a part of the run, not 0 % or done
    assert panel.eta_label.text() != "ETA —" and shown < config.epochs

    # Pause holds the epoch count; Resume continues.
    qtbot.waitUntil(lambda: panel.progress_log[-1].phase == "paused", timeout=2_000)
    paused_at = panel.progress_log[-1].epoch
    qtbot.wait(300)
    assert panel.progress_log[-1].epoch == paused_at
    assert panel.pause_button.text() == "Resume"
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.progress_log[-1].epoch > paused_at, timeout=5_000)

    started = time.monotonic()
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not panel.is_training(), timeout=1_000)
    assert time.monotonic() - started < 1.5  # waitUntil above is the real 1 s check
    assert panel.progress_log[-1].phase == "cancelled"
    assert window.model is not None and window.model.epochs_trained > paused_at
    assert "Stopped" in panel.phase_label.text()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()


def test_bad_hyperparameters_show_inline_message_and_do_not_train(qtbot, tmp_path, song_folder):
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    form = window.training.form
    form.widgets["learning_rate"].setValue(0.0)
    form.widgets["hidden"].setValue(0)
    messages = form.visible_messages()
    assert any(m.startswith("Learning rate") for m in messages)
    assert any(m.startswith("Hidden units") for m in messages)
    assert form.messages["learning_rate"].isVisible()
    assert not window.training.train_button.isEnabled()
    assert window.train() is False
    assert window.training.job is None and window.model is None
    form.widgets["learning_rate"].setValue(0.01)
    form.widgets["hidden"].setValue(12)
    assert form.visible_messages() == []
    assert window.training.train_button.isEnabled()


def test_save_and_open_model_round_trip(qtbot, tmp_path, song_folder, trained_model):
    window = make_window(qtbot, tmp_path)
    window.set_model(trained_model, path=None, modified=True)
    path = tmp_path / "my model.rbm"
    job = window.save_model_to(path)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=10_000)
    assert path.is_file() and not window.isWindowModified()
    assert "my model.rbm" in window.windowTitle()

    # Launch with --model and --folder: both open, nothing to restore is offered for --model.
    other = make_window(qtbot, tmp_path / "second")
    other.start(model=path, folder=song_folder)
    qtbot.waitUntil(lambda: other.model is not None, timeout=10_000)
    qtbot.waitUntil(lambda: other.browser.report is not None, timeout=60_000)
    assert not other.banner.isVisible()
    assert other.model_path == path
    assert other.training.config() == trained_model.config
    assert other.training.error_plot.epoch_x == [float(h["epoch"]) for h in trained_model.history]
    assert other.training.heatmap.shape == trained_model.receptive_fields().shape
    assert other.generation.generate_button.isEnabled()

    broken = tmp_path / "broken.rbm"
    broken.write_bytes(b"not a zip")
    job = other.open_model(broken)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=10_000)
    assert other.model_path == path  # the good model is still open
    assert "Could not open" in other.statusBar().currentMessage()


def test_autosave_is_offered_and_restored(qtbot, tmp_path, trained_model):
    save_model(trained_model, autosave_path())
    window = make_window(qtbot, tmp_path)
    assert window.offer_autosave_restore()
    assert window.banner.isVisible()
    window.banner.restore_button.click()
    qtbot.waitUntil(lambda: window.model is not None, timeout=10_000)
    assert window.isWindowModified() and window.model_path is None
    assert not window.banner.isVisible()

    other = make_window(qtbot, tmp_path / "second")
    assert other.offer_autosave_restore()
    other.banner.discard_button.click()
    assert not autosave_path().exists()
    assert not other.offer_autosave_restore()


def test_generate_export_and_reimport(qtbot, tmp_path, song_folder, trained_model, artifacts_dir):
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    window.training.show_model(trained_model)
    window.set_model(trained_model, path=None, modified=False)
    window.generation.set_options({"songs": 2, "bars": 4, "gibbs_steps": 3, "seed": 1})
    with qtbot.waitSignal(window.generation.songsGenerated, timeout=60_000) as blocker:
        window.generation.generate_button.click()
    generated = blocker.args[0]
    assert len(generated) == 2 and window.generation.list.count() == 2
    assert all(g.song.notes for g in generated)
    assert window.piano_roll.song is generated[0].song and window.piano_roll.view.generated
    window.piano_roll.fit_song()
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "generated_song.png"))

    out = tmp_path / "export"
    songs = window.generation.songs_to_export("all")
    with qtbot.waitSignal(window.generation.exported, timeout=10_000) as first:
        window.generation.export_to(out, songs)
    with qtbot.waitSignal(window.generation.exported, timeout=10_000) as second:
        window.generation.export_to(out, songs)  # same names again: never overwritten
    paths = first.args[0] + second.args[0]
    assert len(set(paths)) == 4 and len(list(out.glob("*.mid"))) == 4
    report = import_folder(out, use_cache=False, workers=1)
    assert len(report.loaded) == 4, [r.reason for r in report.skipped]
    for g, path in zip(generated, first.args[0], strict=True):
        again = read_midi(path)
        assert len(again.notes) == len(g.song.notes)

    # Drag-out data: file URLs of real MIDI files.
    items = [window.generation.list.item(0)]
    mime = window.generation.list.mime_data_for(items)
    urls = mime.urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    dragged = Path(urls[0].toLocalFile())
    assert dragged.suffix == ".mid" and read_midi(dragged).notes


def test_continue_selected_song(qtbot, tmp_path, song_folder, trained_model):
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    window.set_model(trained_model, path=None, modified=False)
    window.browser.select_first_song()
    window.generation.set_options({"songs": 1, "bars": 2, "gibbs_steps": 2, "start": "continue"})
    with qtbot.waitSignal(window.generation.songsGenerated, timeout=60_000) as blocker:
        assert window.generation.generate()
    song = blocker.args[0][0].song
    primer = window.browser.selected_result()
    assert song.end_beat > primer.steps / trained_model.encoding.steps_per_beat
    assert blocker.args[0][0].name.startswith("continued")


def test_opening_a_model_reads_the_songs_on_its_grid(qtbot, tmp_path, song_folder):
    import numpy as np

    from rbm_studio.models.document import Model
    from rbm_studio.music.encoding import Encoding

    grid = Encoding(steps_per_beat=2, low=36, high=84)
    config = TrainingConfig(hidden=3, window=4)
    rng = np.random.default_rng(0)
    visible = config.window * grid.width
    params = {
        "W": rng.normal(0, 0.01, (visible, 3)).astype(np.float32),
        "vbias": np.zeros(visible, np.float32),
        "hbias": np.zeros(3, np.float32),
    }
    history = [{"epoch": 1, "recon_error": 0.2, "free_energy_gap": 0.1, "elapsed": 1.0}]
    model = Model("rbm", params, config, grid, history, {"data_encoding": grid.to_dict()})
    path = tmp_path / "coarse.rbm"
    save_model(model, path)

    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    assert window.browser.report.encoding != grid
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as blocker:
        window.open_model(path)
    assert blocker.args[0].encoding == grid
    assert all(m.encoding == grid for m in window.browser.report.matrices)
    assert window.training.config().window == 4 and window.training.config().hidden == 3
    assert window.training.error_plot.epoch_x == [1.0]


def test_training_that_cannot_start_reports_why(qtbot, tmp_path, song_folder):
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    # Valid settings, but every song is shorter than the window: the worker explains.
    window.training.set_config(TrainingConfig(**{**TINY.to_dict(), "window": 4000}))
    assert window.train()
    qtbot.waitUntil(lambda: not window.training.is_training(), timeout=30_000)
    assert window.training.phase_label.text().startswith("Training failed:")
    assert "4000" in window.training.phase_label.text()
    assert window.model is None
    assert window.training.train_button.isEnabled() and window.training.state == "idle"


def test_pause_toggled_fifty_times_the_panel_and_the_worker_agree(qtbot, tmp_path, song_folder):
    """The panel's state is the musician's last click, never a report still in flight: after
    every one of 50 quick Pause/Resume clicks the panel, its button and the trainer agree."""
    window = make_window(qtbot, tmp_path)
    import_songs(qtbot, window, song_folder)
    panel = window.training
    panel.set_config(replace(TINY, epochs=1_000_000, patience=None, minutes=None))
    assert window.train()
    qtbot.waitUntil(lambda: panel.state == "training", timeout=120_000)
    trainer = panel.worker.trainer
    mismatches = []
    for click in range(50):
        panel.pause_button.click()
        # Reports arrive in batches every quarter second: wait for some after half the clicks,
        # and none after the others (the race is a report queued before the click).
        qtbot.wait(300 if click % 2 else 15)
        paused = trainer._pause.is_set()
        shown = (panel.state, panel.pause_button.text(), panel.phase_label.text())
        expected = ("paused", "Resume", "Paused.") if paused else ("training", "Pause", None)
        if shown[:2] != expected[:2] or (paused and shown[2] != "Paused."):
            mismatches.append((click, paused, shown))
        if not paused and shown[2] == "Paused.":
            mismatches.append((click, paused, shown))
    assert mismatches == []
    assert panel.state == "training"  # 50 clicks from training: running again
    epoch = panel.progress_log[-1].epoch
    qtbot.waitUntil(lambda: panel.progress_log[-1].epoch > epoch, timeout=10_000)
    with qtbot.waitSignal(panel.modelTrained, timeout=10_000):
        panel.stop_button.click()
