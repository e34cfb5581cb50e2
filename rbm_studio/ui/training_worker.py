"""The training worker: drives a kind's `Trainer` (`registry.kind(name).make_trainer`) on its own
thread and reports to the GUI.

Besides each `TrainingProgress` it sends what the live plots need (receptive fields, hidden
activations) at most a few times a second, autosaves the model every N epochs and when training
stops, and ends with the model trained so far — also when the musician pressed Stop.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..models import registry
from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from ..platform.files import pid_alive
from ..platform.paths import data_dir
from .workers import describe_error

AUTOSAVE_NAME = "autosave.rbm"
# Tiny data sets finish an epoch in milliseconds: saving every N epochs would then cost a large
# share of the run, so autosaves are also at least this many seconds apart.
AUTOSAVE_MIN_INTERVAL = 30.0
VISUALS_INTERVAL = 1.0  # seconds between heatmap/histogram updates
EMIT_INTERVAL = 0.25  # seconds between progress batches sent to the GUI (phase changes go at once)


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


def autosave_path() -> Path:
    """This process's autosave: one file per running app, so two windows (or two instances)
    training at once never overwrite each other's run."""
    return data_dir() / f"autosave-{os.getpid()}.rbm"


def orphaned_autosaves() -> list[Path]:
    """Autosaves of app runs that are no longer running (what a new launch may restore), the
    newest first; the pre-1.x shared `autosave.rbm` counts as one."""
    folder = data_dir()
    found = []
    for path in folder.glob("autosave*.rbm"):
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


@dataclass
class TrainingUpdate:
    """One message from the worker: progress, plus plot data when it is time to refresh them."""

    progresses: list  # models.base.TrainingProgress reports since the last update, in order
    fields: np.ndarray | None = None  # [H, window, pitches]
    activations: np.ndarray | None = None  # [H] mean hidden probabilities
    autosaved: str | None = None
    autosave_error: str | None = None
    band: slice | None = None  # pitch columns of `fields` that the songs use
    # Only in the last update before `finished`: why the trainer stopped early ("time",
    # "patience" or None) and the epoch of its best held-out score (None: never scored).
    final: bool = False
    stop_reason: str | None = None
    best_epoch: int | None = None


class TrainingWorker(QObject):
    progress = Signal(object)  # TrainingUpdate
    finished = Signal(object)  # Model (None if training never started)
    failed = Signal(str, str)

    def __init__(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
        autosave_every: int = 5,
        autosave_to: Path | None = None,
        dataset_summary: dict | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.matrices = list(matrices)
        self.encoding = encoding
        self.initial_model = model
        self.autosave_every = max(int(autosave_every), 0)
        self.autosave_to = autosave_to
        self.dataset_summary = dataset_summary or {}
        self.trainer = None
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._paused = False
        self.autosaves = 0
        self._autosave_warned = False
        self._last_autosave = -AUTOSAVE_MIN_INTERVAL
        self._pending: list = []
        self.band: slice | None = None

    # Called from the GUI thread; the Trainer's own methods are thread-safe.
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

    def _autosave(self, model: Model) -> str | None:
        if self.autosave_to is None:
            return None
        from ..models.model_file import save_model

        if self.dataset_summary and not model.dataset:
            model.dataset = dict(self.dataset_summary)
        save_model(model, self.autosave_to)
        self.autosaves += 1
        self._last_autosave = time.monotonic()
        return str(self.autosave_to)

    def _autosave_during(self, update: TrainingUpdate) -> None:
        """An autosave while training: a failure (a full disk, a read-only folder) is reported
        once and training goes on; the model stays in memory for Save As."""
        try:
            update.autosaved = self._autosave(self.trainer.snapshot())
        except Exception as exc:  # noqa: BLE001 - reported, never fatal to training
            if not self._autosave_warned:
                update.autosave_error = describe_error(exc)
                self._autosave_warned = True

    def _visuals(self, update: TrainingUpdate) -> None:
        model = self.trainer.snapshot()
        update.fields = model.receptive_fields()
        if self.band is None:
            self.band = used_pitch_band(self.matrices, model.encoding, update.fields.shape[2])
        update.band = self.band
        update.activations = np.asarray(self.trainer.hidden_activations(), dtype=np.float32)

    @Slot()
    def run(self) -> None:
        try:
            model = self._train()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, never raised into Qt
            self.failed.emit(describe_error(exc), traceback.format_exc())
            return
        # The musician gets the model (and Stop returns) first; the final plots and the
        # autosave follow on this thread. The last reports go before the model, in order, with
        # why the trainer stopped.
        trainer = self.trainer
        self.progress.emit(
            TrainingUpdate(
                self._pending,
                final=True,
                stop_reason=getattr(trainer, "stop_reason", None),
                best_epoch=getattr(trainer, "best_epoch", None),
            )
        )
        final = TrainingUpdate([])
        self.finished.emit(model)
        try:
            self._visuals(final)
            final.autosaved = self._autosave(model)
        except Exception as exc:  # noqa: BLE001
            final.autosave_error = describe_error(exc)
        self.progress.emit(final)

    def _train(self) -> Model | None:
        batch_thread_priority()

        kind = registry.kind(self.config.model)
        trainer = kind.make_trainer(
            self.config, self.matrices, self.encoding, model=self.initial_model
        )
        with self._lock:
            self.trainer = trainer
            if self._paused:
                trainer.pause()
            if self.cancel_event.is_set():
                trainer.cancel()
        # Tiny data sets finish hundreds of epochs per chunk; the trainer then yields a burst of
        # reports. They are sent in batches (every report kept, in order) at most
        # EMIT_INTERVAL apart so the GUI thread is never flooded.
        last_visuals = 0.0
        last_emit = 0.0
        last_phase = None
        last_saved_epoch: int | None = None
        pending: list = []
        for progress in trainer:
            pending.append(progress)
            if last_saved_epoch is None:
                last_saved_epoch = progress.epoch
            now = time.monotonic()
            if progress.phase == last_phase and now - last_emit < EMIT_INTERVAL:
                continue
            update = TrainingUpdate(pending)
            pending = []
            if progress.phase == "training" and now - last_visuals >= VISUALS_INTERVAL:
                self._visuals(update)
                last_visuals = now
            if (
                self.autosave_every
                and progress.epoch - last_saved_epoch >= self.autosave_every
                and progress.epoch < progress.epochs
                and now - self._last_autosave >= AUTOSAVE_MIN_INTERVAL
            ):
                self._autosave_during(update)
                last_saved_epoch = progress.epoch
            self.progress.emit(update)
            last_emit, last_phase = now, progress.phase
        self._pending = pending
        model = trainer.result()
        if self.dataset_summary and not model.dataset:
            model.dataset = dict(self.dataset_summary)
        return model
