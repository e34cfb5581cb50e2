"""What a person hears at the window's defaults: train and generate through the panels with the
defaults, next to the old default (the tutorial's windows of 15 steps at temperature 1), and save
piano rolls of a training song and of both generated songs for a person to look at."""

from __future__ import annotations

import pytest
from test_ui_kinds import make_window

from rbm_studio.models import registry
from rbm_studio.music import features as F
from rbm_studio.music.encoding import decode
from rbm_studio.resources import sample_midi_dir

# the suite's share of the default's time budget: "until it stops improving, at most" this long
MINUTES = 1.0


def train_and_generate(qtbot, window, config, temperature: float):
    panel = window.training
    panel.form.set_config(config)
    with qtbot.waitSignal(panel.modelTrained, timeout=300_000) as trained:
        panel.train_button.click()
    model = trained.args[0]
    generation = window.generation
    generation.set_options(
        {"songs": 1, "bars": 16, "seed": 0, "start": "silence", "temperature": temperature}
    )
    with qtbot.waitSignal(generation.songsGenerated, timeout=120_000) as generated:
        generation.generate_button.click()
    return model, generated.args[0][0]


def save_roll(qtbot, window, song, caption: str, path, *, generated: bool) -> None:
    """The window's own piano roll showing `song`, saved as a PNG."""
    window.piano_roll.set_song(song, generated=generated, caption=caption)
    window.piano_roll.fit_song()
    qtbot.wait(50)
    window.piano_roll.grab().save(str(path))


def test_window_defaults_sound_like_the_songs_and_the_old_default_did_not(
    qtbot, tmp_path, artifacts_dir
):
    if not any(sample_midi_dir().glob("*.mid")):
        pytest.skip(f"bundled sample songs not generated yet in {sample_midi_dir()}")
    window = make_window(qtbot, tmp_path)
    # what a new user gets: the bundled chorales and every default
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as imported:
        assert window.load_sample_songs()
    songs = imported.args[0].matrices

    # the window's defaults: the panel starts on them; generation takes the kind's sampling
    defaults = window.training.config()
    assert defaults == registry.default_config()
    # every default but the time limit, which a person sets beside the Train button
    window.training.form.minutes_box.setValue(MINUTES)
    assert window.training.config() == defaults.with_values(minutes=MINUTES)
    model, new = train_and_generate(
        qtbot, window, window.training.config(), registry.kind(defaults.model).temperature_default
    )
    # trained until it stopped improving (patience) or its time budget, at most every epoch
    assert 0 < model.epochs_trained <= defaults.epochs
    if model.epochs_trained < defaults.epochs:
        assert window.training.stop_reason in ("patience", "time")
    # the old default: the tutorial's recipe (windows of 15, 50 hidden units, CD-1, 200 epochs)
    old_config = registry.preset_config("rbm", "tutorial")
    _, old = train_and_generate(qtbot, window, old_config, 1.0)

    save_roll(qtbot, window, decode(songs[0]), "a training song", artifacts_dir /
              "music_training_song.png", generated=False)  # fmt: skip
    save_roll(qtbot, window, old.song, "old default", artifacts_dir / "music_old_default.png",
              generated=True)  # fmt: skip
    save_roll(qtbot, window, new.song, "new default", artifacts_dir / "music_new_default.png",
              generated=True)  # fmt: skip
    training = F.summary(songs)
    made_new, made_old = F.summary([new.matrix]), F.summary([old.matrix])
    print(f"training {training}\nnew default {made_new}\nold default {made_old}")
    # The new default strikes on the grid and holds notes. The old settings (windows of 15,
    # 50 hidden units, 200 epochs), sampled the same way, still play more one-step blips (the old
    # sampler, which drew the last Gibbs step, made 71 % of its notes blips).
    assert made_new["blip_rate"] < 0.05
    assert made_new["blip_rate"] < made_old["blip_rate"]
    assert (
        training["notes_per_bar"] / 2 <= made_new["notes_per_bar"] <= training["notes_per_bar"] * 2
    )
