"""The training run without Qt (`rbm_studio.studio.training` and `training_progress`): a real
tiny run started, paused, resumed and stopped from another thread; autosaves written whole and
loadable, a failing one reported once; the held-out verdict's rule; the batching of reports; and
what the panel is told to show."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from ui_songs import make_song_folder

from rbm_studio.data.dataset import import_folder
from rbm_studio.models import registry
from rbm_studio.models.base import TrainingProgress
from rbm_studio.models.model_file import load_model
from rbm_studio.studio import training
from rbm_studio.studio.training import (
    AutosavePolicy,
    ProgressBuffer,
    TrainingRun,
    config_for_continuing,
    held_out_verdict,
    memorising,
    outcome_messages,
)
from rbm_studio.studio.training_progress import (
    StableAxes,
    TrainingProgressState,
    format_seconds,
    history_points,
    phase_line,
    progress_fraction,
)

TINY = registry.default_config(
    "rbm", hidden=8, window=8, batch_size=100, epochs=4, seed=0, patience=None, minutes=None
)
WAIT = 120.0  # the most a step may take on a loaded machine before the test gives up


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = make_song_folder(tmp_path_factory.mktemp("studio-training") / "songs", count=4)
    return import_folder(folder, use_cache=False, workers=1)


def wait_for(condition, what: str) -> None:
    """Poll `condition` until it holds; fail (saying `what`) only after `WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


class Watcher:
    """Collects a run's updates from its thread; `reports` is every report, in order. A
    `delay` longer than the run's batching interval makes every report its own update (as a
    busy GUI thread would), whatever the speed of the machine."""

    def __init__(self, delay: float = 0.0) -> None:
        self.updates: list = []
        self.lock = threading.Lock()
        self.delay = delay

    def __call__(self, update) -> None:
        with self.lock:
            self.updates.append(update)
        time.sleep(self.delay)

    @property
    def reports(self) -> list[TrainingProgress]:
        with self.lock:
            return [p for u in self.updates for p in u.progresses]

    def last(self) -> TrainingProgress | None:
        reports = self.reports
        return reports[-1] if reports else None


def start(run: TrainingRun, watcher: Watcher) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run.train(watcher)), daemon=True)
    thread.start()
    return thread, result


def test_a_run_pauses_resumes_and_stops_with_its_model_kept(songs, tmp_path):
    config = replace(TINY, epochs=1_000_000)
    saved = tmp_path / "autosave.rbm"
    run = TrainingRun(
        config,
        songs.matrices,
        songs.encoding,
        autosave=AutosavePolicy(saved, every=0),
        dataset_summary={"songs": 4},
    )
    assert run.model_now() is None  # no trainer yet
    watcher = Watcher()
    thread, result = start(run, watcher)
    wait_for(lambda: any(p.phase == "training" for p in watcher.reports), "training")
    assert run.model_now() is not None  # a snapshot while it trains

    run.pause()
    wait_for(lambda: watcher.last().phase == "paused", "the paused report")
    paused_at = watcher.last().epoch
    time.sleep(0.5)  # a paused trainer reports, but trains no further
    assert all(p.epoch == paused_at for p in watcher.reports if p.phase == "paused")
    assert watcher.last().epoch == paused_at

    run.resume()
    wait_for(lambda: watcher.last().epoch > paused_at, "training after Resume")
    run.cancel()
    thread.join(WAIT)
    assert not thread.is_alive()
    model = result[0]
    final = run.final_update()
    reports = watcher.reports + final.progresses
    assert final.final and reports[-1].phase == "cancelled"
    assert paused_at < model.epochs_trained < config.epochs

    concluded = run.conclude(model)
    assert concluded.autosaved == str(saved) and concluded.autosave_error is None
    assert concluded.fields is not None and concluded.activations is not None
    assert load_model(saved).epochs_trained == model.epochs_trained


def test_pause_and_stop_before_the_trainer_exists_are_kept(songs):
    run = TrainingRun(replace(TINY, epochs=1_000_000), songs.matrices, songs.encoding)
    run.pause()  # the trainer is made on the run's thread: it must start paused
    watcher = Watcher()
    thread, result = start(run, watcher)
    wait_for(lambda: any(p.phase == "paused" for p in watcher.reports), "the paused report")
    assert not any(p.phase == "training" and p.epoch_end for p in watcher.reports)
    run.cancel()
    thread.join(WAIT)
    assert not thread.is_alive() and result[0].epochs_trained == 0
    assert (watcher.reports + run.final_update().progresses)[-1].phase == "cancelled"


def test_autosaves_are_whole_and_loadable_and_a_failing_one_is_said_once(
    songs, tmp_path, monkeypatch
):
    monkeypatch.setattr(training, "AUTOSAVE_MIN_INTERVAL", 0.0)
    folder = tmp_path / "saves"
    folder.mkdir()
    saved = folder / "autosave.rbm"
    config = replace(TINY, epochs=6)
    run = TrainingRun(config, songs.matrices, songs.encoding, autosave=AutosavePolicy(saved, 1))
    watcher = Watcher(delay=training.EMIT_INTERVAL + 0.01)
    model = run.train(watcher, background=False)
    during = [u.autosaved for u in watcher.updates if u.autosaved]
    assert during and run.autosave.saves == len(during)
    assert 0 < load_model(saved).epochs_trained <= config.epochs
    assert run.conclude(model).autosaved == str(saved)
    assert sorted(p.name for p in folder.iterdir()) == ["autosave.rbm"]  # no temporary left
    assert load_model(saved).epochs_trained == config.epochs

    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")
    run = TrainingRun(
        config, songs.matrices, songs.encoding, autosave=AutosavePolicy(blocker / "x.rbm", 1)
    )
    watcher = Watcher(delay=training.EMIT_INTERVAL + 0.01)
    model = run.train(watcher, background=False)
    errors = [u.autosave_error for u in watcher.updates if u.autosave_error]
    assert model.epochs_trained == config.epochs  # training went on to the end
    assert len(errors) == 1 and "\n" not in errors[0]
    final = run.conclude(model)
    assert final.autosaved is None and final.autosave_error and "\n" not in final.autosave_error
    assert blocker.read_bytes() == b"not a folder"


def report(phase: str = "training", epoch: int = 1, **kw) -> TrainingProgress:
    return TrainingProgress(phase, epoch, kw.pop("epochs", 10), **kw)


def test_autosave_policy_says_when():
    policy = AutosavePolicy(Path("unused.rbm"), every=5)
    now = training.AUTOSAVE_MIN_INTERVAL + 1
    assert not policy.due(report(epoch=2), now)  # the first report sets the start
    assert not policy.due(report(epoch=6), now)
    assert policy.due(report(epoch=7), now)
    assert not policy.due(report(epoch=10, epochs=10), now)  # the final save follows
    policy.last_time = now
    assert not policy.due(report(epoch=8), now + 1)  # too soon after the last save
    assert not AutosavePolicy(None, 5).due(report(epoch=50), now)
    never = AutosavePolicy(Path("unused.rbm"), every=0)
    assert not never.due(report(epoch=1), now) and not never.due(report(epoch=9), now)


def test_verdict_rule_on_score_sequences():
    rising = [(8, -5.0), (16, -4.0), (24, -3.5)]
    two_worse = rising + [(32, -3.6), (40, -3.7)]
    recovered = two_worse + [(48, -3.4)]
    assert memorising(two_worse, 24) and not memorising(rising, 24)
    assert not memorising(recovered, 48) and not memorising(rising + [(32, -3.6)], 24)
    assert held_out_verdict(two_worse, None).startswith("Memorising")  # best found: 24
    assert held_out_verdict(recovered, 48) == "Still learning — best so far at epoch 48."
    assert held_out_verdict(rising, 24, "loaded") == "Best on held-out songs at epoch 24."
    assert held_out_verdict(two_worse, 24, "loaded").startswith("Memorising")
    assert held_out_verdict(rising, 24, "cancelled").startswith("Stopped by you")
    assert held_out_verdict([], None, "done") == ""
    # a best that the scores do not hold is never "memorising"
    assert not memorising(two_worse, 20)
    phase, status = outcome_messages("patience", 24, 40)
    assert "kept 24" in phase and "ran 40" in status
    assert outcome_messages("diverged", 3, 3)[0].endswith("Try a smaller learning rate.")
    assert outcome_messages("done", 5, 5) == ("Done: 5 epochs.", "Training finished (5 epochs).")


def test_progress_buffer_coalesces_in_order_and_keeps_every_report():
    buffer = ProgressBuffer(interval=0.25)
    sent = []
    stream = [
        (report("compiling", 0), 0.0),
        (report(epoch=0, batch=1), 0.1),  # a new phase goes at once
        (report(epoch=0, batch=2), 0.2),
        (report(epoch=1, epoch_end=True), 0.3),
        (report(epoch=1, batch=1), 0.4),  # 0.3 s after the last batch: goes
        (report("paused", 1), 0.41),
        (report("paused", 1), 0.42),
    ]
    for progress, now in stream:
        batch = buffer.add(progress, now)
        if batch is not None:
            sent.append(batch)
    assert [len(b) for b in sent] == [1, 1, 3, 1]
    left = buffer.drain()
    assert len(left) == 1 and buffer.drain() == []
    assert [p for b in sent for p in b] + left == [p for p, _ in stream]


def test_progress_state_says_what_to_show():
    state = TrainingProgressState()
    view = state.add([report("compiling", 0)], "compiling")
    assert view.state == "compiling" and view.phase.startswith("Compiling")
    batch = [
        report(epoch=0, batch=2, batches_per_epoch=4, recon_error=0.5),
        report(epoch=1, epoch_end=True, recon_error=0.4, free_energy_gap=0.1, held_out=-3.0),
        report(epoch=2, epoch_end=True, recon_error=0.3, held_out=-2.5, best_epoch=2, eta=75),
    ]
    view = state.add(batch, "compiling")
    assert view.state == "training" and view.phase.startswith("Training… batch 0/0")
    assert (view.epoch, view.eta, view.fraction) == ("Epoch 2 / 10", "ETA 1 min 15 s", 0.2)
    assert view.verdict == "Still learning — best so far at epoch 2."
    points = state.take_pending()
    assert points.chunks == [(0.5, 0.5)] and points.epochs == [(1.0, 0.4), (2.0, 0.3)]
    assert points.gaps == [(1.0, 0.1)] and points.held == [(1.0, -3.0), (2.0, -2.5)]
    assert not state.take_pending() and state.add([], "training") is None
    # a "paused" report after Resume must not undo the click, nor a "training" one after Pause
    assert phase_line(report("paused"), "training") == ("training", None)
    assert phase_line(report("paused"), "paused") == ("paused", "Paused.")
    assert phase_line(report(), "paused") == ("paused", None)
    state.add([report("cancelled", 2)], "training")
    state.end("patience", 2)
    assert state.outcome() == "cancelled" and state.verdict().startswith("Stopped by you")
    assert state.finished_lines(2)[0] == "Stopped after 2 epochs; the model is kept."
    state.start()
    assert not state.log and state.held_scores == [] and state.best_epoch is None


def test_history_fractions_times_and_axes():
    history = [
        {"epoch": 1, "recon_error": 0.5, "held_out": -3.0},
        {"epoch": 2, "recon_error": 0.4, "free_energy_gap": 0.2, "held_out": -2.0},
        {"epoch": 3, "recon_error": 0.3, "held_out": -2.2},
    ]
    points = history_points(history)
    assert points.epochs == [(1.0, 0.5), (2.0, 0.4), (3.0, 0.3)] and points.gaps == [(2.0, 0.2)]
    state = TrainingProgressState()
    shown, verdict = state.load_history(history)
    assert shown.held == points.held and state.best_epoch == 2
    assert verdict == "Best on held-out songs at epoch 2."
    assert progress_fraction(report(epoch=2, batch=2, batches_per_epoch=4)) == 0.25
    assert progress_fraction(report(epoch=12, epoch_end=True)) == 1.0
    assert progress_fraction(report(epochs=0)) is None
    assert [format_seconds(s) for s in (None, float("nan"), 59.4, 61, 3600 * 2 + 65)] == [
        "—",
        "—",
        "59 s",
        "1 min 01 s",
        "2 h 01 min",
    ]
    axes = StableAxes()
    assert axes.grow_x([4.0]) is None and axes.grow_x([12.0]) == 18.0
    assert axes.fit_y([1.0, 2.0]) == pytest.approx((0.9, 2.1))
    assert axes.fit_y([1.0, 1.9, float("nan")]) is None  # inside, and fills a third or more
    assert axes.fit_y([3.0]) is not None  # outside: widens


def test_continuing_keeps_the_open_models_kind_units_and_window(songs):
    model = registry.make_trainer(TINY, songs.matrices, songs.encoding).run()
    shown = registry.default_config("rnn-rbm", epochs=7)
    config = config_for_continuing(shown, model)
    assert config.model == "rbm" and config.epochs == 7
    assert (config.hidden, config.window) == (model.n_hidden, model.config.window)
    bigger = replace(TINY, hidden=32, epochs=9)
    assert config_for_continuing(bigger, model).hidden == model.n_hidden
    assert config_for_continuing(bigger, None) is bigger


def test_a_warm_up_loads_the_trainer_once_per_kind_on_its_own_thread():
    """What Train would wait for (the kind's trainer, JAX's backend) loads on a worker, once per
    kind; a kind name it does not know leaves the error for Train to say."""
    first = training.start_warm_up("rbm")
    assert training.start_warm_up("rbm") is first
    assert first is not threading.current_thread() and first.daemon
    first.join(WAIT)
    assert not first.is_alive()
    assert "rbm_studio.models.rbm.trainer" in sys.modules
    unknown = training.start_warm_up("no such kind")
    unknown.join(WAIT)
    assert not unknown.is_alive()


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def _xla_pool_nice() -> list[int]:
    tasks = Path("/proc/self/task")
    return [
        os.getpriority(os.PRIO_PROCESS, int(t.name))
        for t in tasks.iterdir()
        if (t / "comm").read_text().strip() == training.XLA_POOL_THREAD
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice per thread is Linux's")
def test_a_window_run_compiles_at_full_priority_then_trains_below_the_gui(songs):
    """Behind a window the run compiles and shows its first epoch at the normal priority (a busy
    machine must not slow what Train waits for), then trains below the GUI thread with XLA's
    pool; numpy's BLAS pool is one thread while it runs and comes back after."""
    blas_before = _blas_threads()
    seen: list[tuple] = []

    def emit(update) -> None:
        me = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        for p in update.progresses:
            seen.append((p.phase, p.epoch, me, _blas_threads(), _xla_pool_nice()))

    run = TrainingRun(replace(TINY, epochs=3), songs.matrices, songs.encoding, plots=False)
    worker = threading.Thread(target=run.train, args=(emit,), kwargs={"background": True})
    worker.start()
    worker.join(WAIT)
    assert not worker.is_alive()
    normal = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert normal < training.TRAINING_NICE
    compiling = [s for s in seen if s[0] == "compiling"]
    trained = [s for s in seen if s[0] == "training"]
    assert compiling and all(s[2] == normal for s in compiling)
    assert trained[-1][1] == 3 and trained[-1][2] == training.TRAINING_NICE
    assert all(s[3] == 1 for s in trained)
    pool = trained[-1][4]
    assert pool and min(pool) >= training.TRAINING_NICE  # XLA's pool, found
    assert _blas_threads() == blas_before
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"(nice {training.TRAINING_NICE}, on Linux)" in readme
