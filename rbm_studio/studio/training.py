"""A training run, without Qt: start, pause, resume and stop; the autosave policy; the batching of
progress reports; and the held-out verdict.

The window's worker only calls `TrainingRun.train` on its thread and forwards what it emits (as
Orange3's widgets start a module-level `run(state)` and only react to its results); the CLI and
the tests drive the same object directly. The control methods (`pause`, `resume`, `cancel`,
`model_now`) work from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..models import registry
from ..models.base import TrainingProgress
from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from ..platform.files import pid_alive
from ..platform.paths import data_dir
from .errors import describe_error

log = logging.getLogger(__name__)

# Tiny data sets finish an epoch in milliseconds: saving every N epochs would then cost a large
# share of the run, so autosaves are also at least this many seconds apart.
AUTOSAVE_MIN_INTERVAL = 30.0
VISUALS_INTERVAL = 1.0  # seconds between heatmap/histogram updates
EMIT_INTERVAL = 0.25  # seconds between progress batches sent to the GUI (phase changes go at once)
MEMORISING_SCORES = 2  # held-out scores after the best, all worse, that count as memorising


# ---------------------------------------------------------------------------------------------
# The held-out verdict


def held_out_verdict(
    scores: Sequence[tuple[float, float]], best_epoch: int | None, outcome: str = "training"
) -> str:
    """One line in plain words on how the model does on the held-out songs.

    `scores` are the (epoch, held-out log-likelihood per frame) reports so far, in order;
    `best_epoch` the epoch of the best of them (the trainer's; the highest score when None);
    `outcome` is "training" while it runs, then "done" (all epochs), "cancelled" (Stop),
    "patience" (stopped for lack of progress; the best epoch is kept) or "time" (time limit);
    "loaded" for a model opened from a file.

    The rule: patience and the time limit say so first. Otherwise the model is *memorising*
    when the latest score is below the best and at least `MEMORISING_SCORES` (2) scores have come
    since the best, all of them worse — one worse score alone is noise in a cheap estimate. Else
    it is still learning. No scores (a kind that does not score held-out songs, or before the
    first score): "" — except for the time limit, which is said anyway.
    """
    if outcome == "time" and not scores:
        return "Stopped at the time limit."
    if not scores:
        return ""
    if best_epoch is None:
        best_epoch = int(max(scores, key=lambda s: s[1])[0])
    best = int(best_epoch)
    if outcome == "patience":
        return f"Stopped at its best: epoch {best} kept (no better on held-out songs after it)."
    if outcome == "time":
        return f"Stopped at the time limit — best on held-out songs at epoch {best}."
    if memorising(scores, best):
        return f"Memorising: no better on held-out songs since epoch {best}."
    return _learning_verdict(scores, best, outcome)


def memorising(scores: Sequence[tuple[float, float]], best: int) -> bool:
    """At least `MEMORISING_SCORES` scores since the best epoch's, every one of them worse."""
    best_score = max((y for x, y in scores if int(x) == best), default=None)
    since = [y for x, y in scores if x > best]
    return (
        best_score is not None
        and len(since) >= MEMORISING_SCORES
        and all(y < best_score for y in since)
    )


def _learning_verdict(scores: Sequence[tuple[float, float]], best: int, outcome: str) -> str:
    if outcome == "loaded":
        return f"Best on held-out songs at epoch {best}."
    if outcome == "cancelled":
        return f"Stopped by you — best on held-out songs so far at epoch {best}."
    if outcome == "done":
        if int(scores[-1][0]) == best:
            return f"Still learning at the end (best: epoch {best}) — more epochs may help."
        return f"Done — best on held-out songs at epoch {best}."
    return f"Still learning — best so far at epoch {best}."


def outcome_messages(outcome: str, epochs: int, ran: int) -> tuple[str, str]:
    """(the panel's line, the status bar's line) when a run ends with a model of `epochs`
    epochs after running to epoch `ran`; `outcome` as for `held_out_verdict`, or "diverged"."""
    if outcome == "cancelled":
        return (
            f"Stopped after {epochs} epochs; the model is kept.",
            f"Training stopped at epoch {epochs}; model kept.",
        )
    if outcome == "patience":
        return (
            f"Done: no progress after epoch {epochs}; stopped at {ran}, kept {epochs}.",
            f"Training stopped at its best: epoch {epochs} kept (ran {ran}).",
        )
    if outcome == "diverged":
        return (
            f"Stopped: the weights ran out of range after epoch {epochs}; the last good "
            "model is kept. Try a smaller learning rate.",
            f"Training diverged; kept the model of epoch {epochs}.",
        )
    if outcome == "time":
        return (
            f"Done: time limit reached after {epochs} epochs.",
            f"Training reached its time limit ({epochs} epochs).",
        )
    return f"Done: {epochs} epochs.", f"Training finished ({epochs} epochs)."


# ---------------------------------------------------------------------------------------------
# Where a run saves itself


def autosave_path() -> Path:
    """This process's autosave: one file per running app, so two windows (or two instances)
    training at once never overwrite each other's run."""
    return data_dir() / f"autosave-{os.getpid()}.rbm"


def orphaned_autosaves() -> list[Path]:
    """Autosaves of app runs that are no longer running (what a new launch may restore), the
    newest first; the pre-1.x shared `autosave.rbm` counts as one."""
    found = []
    for path in data_dir().glob("autosave*.rbm"):
        stem = path.stem.removeprefix("autosave").removeprefix("-")
        if stem and (not stem.isdigit() or _running(int(stem))):
            continue
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue
    return [p for _t, p in sorted(found, reverse=True)]


def _running(pid: int) -> bool:
    # Windows has no harmless probe: the window offers the autosave and the user decides.
    return pid_alive(pid, unknown=False)


class AutosavePolicy:
    """When and where a running model is saved: every `every` epochs (0: never while training),
    never twice within `AUTOSAVE_MIN_INTERVAL` seconds, never at the last epoch (the final save
    follows), and once when the run ends. `path` None saves nothing. Each save is atomic
    (`save_model`), so a crash mid-save leaves the previous autosave whole."""

    def __init__(self, path: Path | None, every: int = 5, dataset_summary: dict | None = None):
        self.path = path
        self.every = max(int(every), 0)
        self.dataset_summary = dict(dataset_summary or {})
        self.saves = 0
        self.last_time = -AUTOSAVE_MIN_INTERVAL
        self.last_epoch: int | None = None  # the epoch saved last (the first report's at start)
        self.warned = False  # a failure while training is reported once

    def due(self, progress: TrainingProgress, now: float) -> bool:
        """Whether to save while training, at `progress` reported at monotonic time `now`."""
        if self.last_epoch is None:
            self.last_epoch = progress.epoch
        return bool(
            self.path is not None
            and self.every
            and progress.epoch - self.last_epoch >= self.every
            and progress.epoch < progress.epochs
            and now - self.last_time >= AUTOSAVE_MIN_INTERVAL
        )

    def save(self, model: Model, epoch: int | None = None) -> str | None:
        """Write `model` (with the songs' summary) to `path`; the path written, or None."""
        if self.path is None:
            return None
        from ..models.model_file import save_model

        if self.dataset_summary and not model.dataset:
            model.dataset = dict(self.dataset_summary)
        save_model(model, self.path)
        self.saves += 1
        self.last_time = time.monotonic()
        if epoch is not None:
            self.last_epoch = epoch
        return str(self.path)


# ---------------------------------------------------------------------------------------------
# What a run sends to its watcher


@dataclass
class TrainingUpdate:
    """One message from a run: progress, plus plot data when it is time to refresh them."""

    progresses: list  # TrainingProgress reports since the last update, in order
    fields: np.ndarray | None = None  # [H, window, pitches]
    activations: np.ndarray | None = None  # [H] mean hidden probabilities
    autosaved: str | None = None
    autosave_error: str | None = None
    band: slice | None = None  # pitch columns of `fields` that the songs use
    # Only in the last update before the model: why the trainer stopped early ("time",
    # "patience" or None) and the epoch of its best held-out score (None: never scored).
    final: bool = False
    stop_reason: str | None = None
    best_epoch: int | None = None


@dataclass
class ProgressBuffer:
    """Coalesces a trainer's reports into batches: tiny data sets finish hundreds of epochs per
    chunk, and a watcher (the GUI thread) flooded with one message each would fall behind. Every
    report is kept, in order; a batch goes out when the phase changes or `interval` seconds have
    passed since the last one."""

    interval: float = EMIT_INTERVAL
    pending: list = field(default_factory=list)
    last_emit: float = 0.0
    last_phase: str | None = None

    def add(self, progress: TrainingProgress, now: float) -> list | None:
        """Hold `progress`; the reports to send now (oldest first), or None to wait."""
        self.pending.append(progress)
        if progress.phase == self.last_phase and now - self.last_emit < self.interval:
            return None
        batch, self.pending = self.pending, []
        self.last_emit, self.last_phase = now, progress.phase
        return batch

    def drain(self) -> list:
        """The reports still held (at the end of a run)."""
        batch, self.pending = self.pending, []
        return batch


def used_pitch_band(
    matrices: Sequence[StateMatrix], encoding: Encoding, columns: int, pad: int = 2
) -> slice:
    """Columns (pitch − encoding.low, limited to `columns`) from the lowest to the highest pitch
    any song sounds, plus `pad` on each side; all columns when there are no notes."""
    lowest, highest = None, None
    for m in matrices:
        used = np.flatnonzero(m.sounding.any(axis=0))
        if len(used):
            lo, hi = m.encoding.low + int(used[0]), m.encoding.low + int(used[-1])
            lowest = lo if lowest is None else min(lowest, lo)
            highest = hi if highest is None else max(highest, hi)
    if lowest is None:
        return slice(0, columns)
    start = max(lowest - encoding.low - pad, 0)
    stop = min(highest - encoding.low + pad + 1, columns)
    return slice(start, stop) if start < stop else slice(0, columns)


# nice value of a window's training after its first epoch (compiling keeps the normal priority)
TRAINING_NICE = 5
# the threads of XLA's CPU compute pool, as XLA names them
XLA_POOL_THREAD = "tf_XLAEigen"


def yield_cores_to_window() -> None:
    """Lower the calling (training) thread and XLA's compute pool below the GUI thread, once a
    window's run has shown its first epoch. XLA keeps every core busy; at an equal share the GUI
    thread, woken for a frame, queues behind them and paints late. A raised nice value gives it
    the cores first and costs the training nothing on an idle machine. It comes only after the
    compile and the first epoch, so a busy machine does not slow what Train waits for (see
    `batch_thread_priority`). Linux sets nice
    per thread (and an unprivileged process cannot lower it again: the pool stays below the
    GUI, for generating too); elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    tasks = Path("/proc/self/task")
    pool = []
    with contextlib.suppress(OSError):
        for task in tasks.iterdir():
            with contextlib.suppress(OSError):
                if (task / "comm").read_text().strip() == XLA_POOL_THREAD:
                    pool.append(int(task.name))
    for tid in [threading.get_native_id(), *pool]:
        with contextlib.suppress(OSError, AttributeError):
            if os.getpriority(os.PRIO_PROCESS, tid) < TRAINING_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, TRAINING_NICE)


def batch_thread_priority() -> None:
    """Mark the calling thread (and threads it starts later, such as XLA's CPU pool on first
    use) as CPU-bound batch work, so the GUI thread is not kept waiting when it wakes. A raised
    nice value would do that too, but it also hands the CPU to every other program: on a busy
    machine the first compile then takes several times longer than the same training from the
    command line. Linux sets the policy per thread; elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_BATCH, os.sched_param(0))


_warming: dict[str, threading.Thread] = {}


def start_warm_up(kind_name: str) -> threading.Thread:
    """Warm up training kind `kind_name` (`registry.warm_up`) on a daemon thread at batch
    priority, once per kind and process; the thread (a caller may join it). A failure is left
    for Train to report, where it has a place to say so."""

    def work() -> None:
        batch_thread_priority()
        with contextlib.suppress(Exception):
            registry.warm_up(kind_name)

    thread = _warming.get(kind_name)
    if thread is None:
        thread = threading.Thread(target=work, name=f"warm-up {kind_name}", daemon=True)
        _warming[kind_name] = thread
        thread.start()
    return thread


_ahead: dict[str, object] = {}  # the latest compile-ahead: its thread and config


def start_compile_ahead(
    config: TrainingConfig, matrices: Sequence[StateMatrix], encoding: Encoding
) -> threading.Thread:
    """Compile what Train would run for `config` on `matrices` (`registry.compile_ahead`) on a
    daemon thread at batch priority, after the kind's warm-up: a window starts it when songs
    arrive, so that Train on them finds its program compiled. A failure is left for Train."""
    warming = start_warm_up(config.model)
    songs = list(matrices)

    def work() -> None:
        batch_thread_priority()
        warming.join()
        with contextlib.suppress(Exception):
            registry.compile_ahead(config, songs, encoding)

    thread = threading.Thread(target=work, name="compile ahead", daemon=True)
    _ahead.update(thread=thread, config=config)
    thread.start()
    return thread


def warming_up() -> bool:
    """Whether a warm-up or compile-ahead started by this process is still working."""
    threads = [*_warming.values(), _ahead.get("thread")]
    return any(t is not None and t.is_alive() for t in threads)


def _join_compile_ahead(config: TrainingConfig) -> None:
    """Wait for a compile-ahead of `config` still in flight: it is further along than a
    compile started now, which would do the same work again beside it."""
    thread = _ahead.get("thread")
    if thread is not None and _ahead.get("config") == config:
        thread.join()


def config_for_continuing(config: TrainingConfig, model: Model | None) -> TrainingConfig:
    """The config that trains `model` further: the open model's kind, hidden units and window
    are kept (its own settings when the form shows another kind; the form's epochs). Without a
    model, `config` as it is."""
    if model is None:
        return config
    if config.model != model.kind:
        config = replace(model.config, epochs=config.epochs)
    if model.n_hidden != config.hidden or model.window != registry.kind(config.model).window(
        config
    ):
        config = replace(config, hidden=model.n_hidden, window=model.config.window)
    return config


# ---------------------------------------------------------------------------------------------
# The run


Emit = Callable[[TrainingUpdate], None]


class TrainingRun:
    """One training of `config` on `matrices` (continuing `model` when given).

    `train(emit)` runs it on the calling thread, sending `TrainingUpdate`s to `emit`, and returns
    the model trained so far (also after `cancel`). Then `final_update()` gives the last reports
    with why the trainer stopped, and `conclude(model)` the final plots and autosave — the caller
    hands the model on between the two, so Stop is answered before the last save is written.
    An autosave failure while training is reported once (`autosave_error`) and training goes on.
    """

    def __init__(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
        autosave: AutosavePolicy | None = None,
        dataset_summary: dict | None = None,
        plots: bool = True,
    ) -> None:
        self.config = config
        self.matrices = list(matrices)
        self.encoding = encoding
        self.initial_model = model
        self.dataset_summary = dict(dataset_summary or {})
        self.autosave = autosave or AutosavePolicy(None, 0)
        self.plots = plots  # receptive fields and activations for a watcher that draws them
        self.trainer = None
        self.band: slice | None = None
        self.buffer = ProgressBuffer()
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._paused = False

    # -- control (any thread; the trainer's own methods are thread-safe) ---------------------
    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self.trainer is not None:
                self.trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self.trainer is not None:
                self.trainer.resume()

    def cancel(self) -> None:
        with self._lock:
            self.cancel_event.set()
            if self.trainer is not None:
                self.trainer.cancel()

    def model_now(self) -> Model | None:
        """The model as training has it at this moment (numpy copies), or None before the
        trainer exists. Training goes on."""
        trainer = self.trainer
        return trainer.snapshot() if trainer is not None else None

    # -- running (the worker's thread) -------------------------------------------------------
    def prepare(self):
        """The trainer, made once through `registry.make_trainer` (which checks the request:
        `registry.SettingsError`, or a `ValueError` for songs it cannot train on). The CLI
        calls it first to describe the run; `train` calls it when nobody has."""
        if self.trainer is not None:
            return self.trainer
        _join_compile_ahead(self.config)
        trainer = registry.make_trainer(
            self.config, self.matrices, self.encoding, model=self.initial_model
        )
        with self._lock:
            self.trainer = trainer
            if self._paused:
                trainer.pause()
            if self.cancel_event.is_set():
                trainer.cancel()
        return trainer

    def train(self, emit: Emit, *, background: bool = True) -> Model | None:
        """Train to the end (or Stop), sending batched progress to `emit`. `background`: the
        calling thread is a worker behind a window (`batch_thread_priority`); the CLI trains in
        the foreground."""
        if background:
            batch_thread_priority()
        trainer = self.prepare()
        # XLA's pool already uses every core: numpy's BLAS threads (the host-side held-out
        # score) would spin beside it and take them back from the training and the GUI
        with threadpool_limits(limits=1, user_api="blas"):
            return self._train(trainer, emit, background)

    def _train(self, trainer, emit: Emit, background: bool) -> Model | None:
        """`train`'s loop over the trainer's reports."""
        last_visuals = 0.0
        yielded = not background
        for progress in trainer:
            if not yielded and progress.phase == "training" and progress.epoch_end:
                yield_cores_to_window()
                yielded = True
            now = time.monotonic()
            batch = self.buffer.add(progress, now)
            if batch is None:
                continue
            update = TrainingUpdate(batch)
            if (
                self.plots
                and progress.phase == "training"
                and now - last_visuals >= VISUALS_INTERVAL
            ):
                self.visuals(update)
                last_visuals = now
            if self.autosave.due(progress, now):
                self._autosave_during(update, progress.epoch)
            emit(update)
        model = trainer.result()
        if self.dataset_summary and not model.dataset:
            model.dataset = dict(self.dataset_summary)
        return model

    def final_update(self) -> TrainingUpdate:
        """The reports still held, with why the trainer stopped and its best epoch."""
        trainer = self.trainer
        return TrainingUpdate(
            self.buffer.drain(),
            final=True,
            stop_reason=getattr(trainer, "stop_reason", None),
            best_epoch=getattr(trainer, "best_epoch", None),
        )

    def conclude(self, model: Model | None) -> TrainingUpdate:
        """The final plots and the final autosave of `model` (an error is reported, not
        raised: the model is already in the musician's hands)."""
        final = TrainingUpdate([])
        try:
            self.visuals(final)
            if model is not None:
                final.autosaved = self.autosave.save(model)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            log.warning("final plots or autosave failed", exc_info=True)
            final.autosave_error = describe_error(exc)
        return final

    def visuals(self, update: TrainingUpdate) -> None:
        """Fill `update` with the receptive fields and hidden activations of the model now."""
        if self.trainer is None:
            return
        model = self.trainer.snapshot()
        update.fields = model.receptive_fields()
        if self.band is None:
            self.band = used_pitch_band(self.matrices, model.encoding, update.fields.shape[2])
        update.band = self.band
        update.activations = np.asarray(self.trainer.hidden_activations(), dtype=np.float32)

    def _autosave_during(self, update: TrainingUpdate, epoch: int) -> None:
        """An autosave while training: a failure (a full disk, a read-only folder) is reported
        once and training goes on; the model stays in memory for Save As."""
        try:
            update.autosaved = self.autosave.save(self.trainer.snapshot(), epoch)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal to training
            log.warning("autosave at epoch %d failed", epoch, exc_info=True)
            self.autosave.last_epoch = epoch
            if not self.autosave.warned:
                update.autosave_error = describe_error(exc)
                self.autosave.warned = True
