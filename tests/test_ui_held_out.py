"""The held-out songs in the training panel: the RNN-RBM's held-out log-likelihood curve with its
best epoch marked, the one-line verdict, and the patience / time-limit fields of the form, through
the real window and a real training run."""

from __future__ import annotations

import time

import pytest
from test_ui_kinds import make_window, select_kind
from ui_songs import make_song_folder

from rbm_studio.models import registry
from rbm_studio.studio.training import held_out_verdict

# A tiny RNN-RBM that memorises 2-bar random melodies quickly. Short held-out songs against
# three transpositions of the training songs make the held-out score frequent; the high learning
# rate makes it peak after one or two scores, so patience (two scores without a better one) stops
# the run well before its planned epochs, in seconds.
SETTINGS = {
    "hidden": 16,
    "recurrent_hidden": 16,
    "cd_k": 10,
    "transpose": 3,
    "learning_rate": 0.05,
    "epochs": 150,
    "pretrain_epochs": 1,
    "sequence_length": 32,
    "batch_size": 16,
    "seed": 0,
    "patience": 32,
}


def test_verdict_rule():
    assert held_out_verdict([], None) == ""
    assert held_out_verdict([], None, "time") == "Stopped at the time limit."
    rising = [(8, -5.0), (16, -4.0), (24, -3.5)]
    assert held_out_verdict(rising, 24) == "Still learning — best so far at epoch 24."
    one_worse = rising + [(32, -3.6)]  # one worse score is noise, not memorising yet
    assert held_out_verdict(one_worse, 24) == "Still learning — best so far at epoch 24."
    two_worse = one_worse + [(40, -3.7)]
    assert held_out_verdict(two_worse, 24) == (
        "Memorising: no better on held-out songs since epoch 24."
    )
    assert held_out_verdict(two_worse, 24, "patience").startswith(
        "Stopped at its best: epoch 24 kept"
    )
    assert held_out_verdict(two_worse, 24, "time").startswith("Stopped at the time limit")
    assert held_out_verdict(rising, None, "done").startswith("Still learning at the end")
    assert held_out_verdict(one_worse, 24, "done") == "Done — best on held-out songs at epoch 24."


def test_rnn_rbm_stops_at_its_best_and_the_panel_says_so(qtbot, tmp_path, artifacts_dir):
    folder = make_song_folder(tmp_path / "songs", count=10, bars=2)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.import_paths([folder])
    select_kind(window, "rnn-rbm")
    panel = window.training
    form = panel.form
    fields = form.widgets

    # Patience and the time limit are on the form (Advanced); "none" (0) means no limit.
    form.advanced_button.click()
    defaults = registry.default_config("rnn-rbm")
    assert panel.config().patience == defaults.patience  # the "Whole songs" preset's
    assert panel.config().minutes == defaults.minutes
    for name in ("patience", "minutes"):
        assert fields[name].isVisible(), name
        fields[name].setValue(0)
        assert fields[name].text() == "none", name
    assert panel.config().patience is None and panel.config().minutes is None
    assert form.train_for_box.currentData() == form.FOR_TIME
    fields["minutes"].setValue(2.5)
    assert panel.config().minutes == pytest.approx(2.5)
    fields["minutes"].setValue(0)
    assert panel.config().minutes is None and fields["minutes"].text() == "none"

    for name, value in SETTINGS.items():
        fields[name].setValue(value)
    config = panel.config()
    assert config.patience == 32 and config.minutes is None and config.epochs == 150
    assert form.visible_messages() == [] and panel.train_button.isEnabled()

    received = []
    panel.progressReceived.connect(received.append)
    started = time.monotonic()
    with qtbot.waitSignal(panel.modelTrained, timeout=240_000) as trained:
        panel.train_button.click()
    seconds = time.monotonic() - started
    model = trained.args[0]
    qtbot.waitUntil(lambda: not panel.is_training(), timeout=10_000)
    panel.flush_plots()

    kept = model.epochs_trained
    last = max(p.epoch for p in received)
    scored = [(p.epoch, p.held_out) for p in received if p.held_out is not None]
    print(f"held-out run: {seconds:.1f} s, scores {scored}, kept epoch {kept} of {last}")
    # Patience stopped it: it ran past the kept (best) epoch and well short of the plan.
    assert 0 < kept < last < SETTINGS["epochs"]
    assert last - kept >= SETTINGS["patience"]

    plot = panel.gap_plot
    assert len(plot.held_xs) == len(scored) >= 3
    assert plot.held_xs == [float(e) for e, _ in scored]
    best_x = plot.held_xs[plot.held_ys.index(max(plot.held_ys))]
    assert best_x == kept
    assert plot.best_epoch == kept
    assert plot.best_line.isVisible() and plot.best_line.value() == pytest.approx(kept)
    assert plot.getPlotItem().getAxis("right").isVisible()
    assert panel.stop_reason == "patience"
    assert panel.verdict_label.text().startswith(f"Stopped at its best: epoch {kept} kept")
    assert panel.verdict_label.isVisible()
    assert f"kept {kept}" in panel.phase_label.text()

    qtbot.wait(100)
    window.training_dock.grab().save(str(artifacts_dir / "held_out_curve.png"))
