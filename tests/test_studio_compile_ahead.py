"""Compiling ahead: a window compiles the training program of the form's settings when songs
arrive, so that Train's first epoch does not wait for it (issue #27's Train → first epoch)."""

from __future__ import annotations

import logging

import jax
import pytest
from ui_songs import make_song_folder

from rbm_studio.data.dataset import import_folder
from rbm_studio.models import registry
from rbm_studio.studio import training

# Shapes no other test trains, so nothing compiled earlier in this process answers for them.
AHEAD = registry.default_config(
    "rbm", hidden=9, window=8, batch_size=100, epochs=3, seed=0, patience=None, minutes=None
)
NOT_AHEAD = AHEAD.with_values(hidden=11)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = make_song_folder(tmp_path_factory.mktemp("compile-ahead") / "songs", count=4)
    return import_folder(folder, use_cache=False, workers=1)


class Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def compiles_before_training(config, songs) -> list[str]:
    """JAX's "Compiling jit(run_chunk)" lines logged between Train and the first report of
    trained steps (the first epoch's start)."""
    handler = Messages()
    logger = logging.getLogger("jax")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    seen: dict[str, list[str]] = {}
    run = training.TrainingRun(config, songs.matrices, songs.encoding, plots=False)

    def emit(update) -> None:
        if not seen and any(p.phase == "training" for p in update.progresses):
            seen["lines"] = list(handler.lines)  # the first report of trained steps

    try:
        with jax.log_compiles(True):
            model = run.train(emit, background=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert model is not None and model.epochs_trained == config.epochs and seen
    return [line for line in seen["lines"] if line.startswith("Compiling jit(run_chunk)")]


def test_train_after_compile_ahead_compiles_nothing_before_it_trains(songs):
    thread = training.start_compile_ahead(AHEAD, songs.matrices, songs.encoding)
    thread.join(timeout=300)
    assert not thread.is_alive() and not training.warming_up()
    assert compiles_before_training(AHEAD, songs) == []
    # The same check sees the compile of settings nobody compiled ahead.
    assert len(compiles_before_training(NOT_AHEAD, songs)) == 1


def test_compile_ahead_of_bad_settings_compiles_nothing_and_train_still_says_why(songs):
    bad = AHEAD.with_values(learning_rate=-1.0)
    registry.compile_ahead(bad, songs.matrices, songs.encoding)  # refused quietly
    with pytest.raises(registry.SettingsError):
        training.TrainingRun(bad, songs.matrices, songs.encoding).prepare()
