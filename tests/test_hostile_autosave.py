"""A failed autosave (a full disk: a small tmpfs when we may mount one, else a read-only folder)
during training in the real window: one warning, training goes on to the end, the model is kept
and Save As writes it elsewhere."""

from __future__ import annotations

import pytest
from test_hostile_paths import full_disk
from ui_songs import make_song_folder

from rbm_studio.models import registry
from rbm_studio.models.model_file import load_model
from rbm_studio.studio import training
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window


@pytest.mark.timeout(300)
def test_autosave_failure_warns_once_and_training_goes_on(
    qtbot, tmp_path, monkeypatch, artifacts_dir
):
    monkeypatch.setattr(training, "AUTOSAVE_MIN_INTERVAL", 0.0)
    songs = make_song_folder(tmp_path / "songs", count=4, bars=8)
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.import_paths([songs])
    with full_disk(tmp_path) as full:
        window.training.autosave_to = full / "autosave.rbm"
        window.training.autosave_every = 1
        window.training.set_config(
            registry.default_config("rbm", hidden=12, window=15, epochs=12, seed=0)
        )
        messages: list[str] = []
        window.training.statusMessage.connect(messages.append)
        with qtbot.waitSignal(window.training.modelTrained, timeout=180_000) as blocker:
            assert window.train()
        qtbot.waitUntil(lambda: window.training.job.is_done, timeout=20_000)
        model = blocker.args[0]
        assert model.epochs_trained == 12  # training went on to the end
        warnings = [m for m in messages if m.startswith("Autosave failed")]
        assert 1 <= len(warnings) <= 2, messages  # once while training (+ the final save)
        assert "\n" not in warnings[0]
        assert not any(m.startswith("Training failed") for m in messages), messages
        assert window.model is model and window.isWindowModified()
        window.show_status(warnings[0])
        window.grab().save(str(artifacts_dir / "autosave_failed.png"))
    kept = tmp_path / "kept.rbm"
    job = window.save_model_to(kept)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=20_000)
    assert load_model(kept).epochs_trained == 12


def test_each_process_autosaves_to_its_own_file_and_restores_only_the_dead(tmp_path):
    own = training.autosave_path()
    assert own.name == f"autosave-{__import__('os').getpid()}.rbm"
    folder = own.parent
    dead_pid = 2**22 + 12345  # above the default pid_max: never a running process
    (folder / f"autosave-{dead_pid}.rbm").write_bytes(b"x")
    (folder / "autosave-1.rbm").write_bytes(b"x")  # pid 1 always runs: another live instance
    found = training.orphaned_autosaves()
    assert folder / f"autosave-{dead_pid}.rbm" in found
    assert folder / "autosave-1.rbm" not in found and own not in found
    for p in folder.glob("autosave-*.rbm"):
        p.unlink()
