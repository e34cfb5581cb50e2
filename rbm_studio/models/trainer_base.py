"""The shared training loop's base, kept once so every kind's trainer gets the same controls: input
checks, pause / resume / cancel callable from any thread, the paused wait, the time budget, the
best-epoch bookkeeping and numpy views of the latest parameters under a lock (`snapshot()`) that
never touch JAX.

A kind extends it through public hooks only (the `_`-prefixed members are the base's own):

- in `__init__`: set `KIND` (its `ModelKind`) on the class, call `take_inputs` first, then
  `continue_from(model)` for the arrays to start from, `summary_common(songs)` for the dataset
  summary, and `init_controls(start_params)` last;
- in `__iter__`: call `start_once()`, then per step read `paused` / `cancelled`, yield from
  `wait_paused(report, interval)` while paused, stop on `time_up(seconds)`, hand epoch-end
  scores to `track_best`, and make new parameters visible with `publish(params, records)`;
- `params_copy()` and `read_params(names)` give copies of the published parameters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np

from ..music.encoding import Encoding, StateMatrix
from ..music.song import MAX_STORED_TITLE
from ..music.windows import model_encoding
from . import limits
from .base import ModelKind, TrainingProgress
from .config import TrainingConfig
from .document import Model

REPORT_INTERVAL_S = 0.15  # target time between progress reports (at least 5 per second)


class TrainerControls:
    """Base of `Trainer` and `RnnRbmTrainer`: everything except the training loop itself."""

    KIND: ModelKind  # the kind this trainer produces
    config: TrainingConfig
    data_encoding: Encoding
    encoding: Encoding
    n_visible: int
    n_hidden: int
    history: list[dict]
    dataset_summary: dict
    _previous_dataset: dict
    _created: str | None

    # ----- set-up -----
    def take_inputs(
        self, config: TrainingConfig, matrices: Sequence[StateMatrix], encoding: Encoding
    ) -> None:
        """Refuse the wrong model kind, songs in another encoding or more than memory holds; keep
        the settings, the songs' encoding and the one the model reads. The settings themselves
        were checked by `registry.make_trainer`, the one place that checks them."""
        if config.model != self.KIND.name:
            raise ValueError(f"this trainer trains kind {self.KIND.name!r}, not {config.model!r}")
        for m in matrices:
            if m.encoding != encoding:
                raise ValueError(
                    f"song {m.title!r} uses encoding {m.encoding}, expected {encoding}"
                )
        self.config = config
        self.data_encoding = encoding
        self.encoding = model_encoding(encoding, config.frame_level)
        problem = limits.check_training(
            config, self.KIND.window(config) * encoding.width, sum(m.steps for m in matrices)
        )
        if problem:
            raise ValueError(problem)

    def split_held_out(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(held-out, training) indices of `n` items: a seeded share `holdout_fraction` held out
        (none when that would leave nothing to train on), training indices in order."""
        order = rng.permutation(n)
        n_hold = int(n * self.config.holdout_fraction)
        if n - n_hold < 1:
            n_hold = 0
        return order[:n_hold], np.sort(order[n_hold:])

    def continue_from(self, model: Model | None) -> dict[str, np.ndarray] | None:
        """Take over `model`'s history to keep training it (None: start fresh); returns its
        arrays as float32 after checking kind, arrays and shapes."""
        self.epoch_offset = 0
        self.history: list[dict] = []
        self._previous_dataset: dict = {}
        self._created: str | None = None
        if model is None:
            return None
        if model.kind != self.KIND.name:
            raise ValueError(
                f"cannot continue training a {model.kind!r} model as {self.KIND.label}"
            )
        problems = self.KIND.check_params(model.params, model.window)
        if problems:
            raise ValueError(problems[0])
        self._check_model_shape(model)
        self.epoch_offset = model.epochs_trained
        self.history = [dict(h) for h in model.history]
        self._previous_dataset = dict(model.dataset)
        self._created = model.created
        return {k: np.asarray(v, np.float32) for k, v in model.params.items()}

    def _check_model_shape(self, model: Model) -> None:
        """Refuse to continue a model whose units or encoding differ from these settings."""
        if model.n_visible != self.n_visible or model.n_hidden != self.n_hidden:
            raise ValueError(
                f"the model has {model.n_visible} visible / {model.n_hidden} hidden units but "
                f"these settings need {self.n_visible} / {self.n_hidden}"
            )
        if model.encoding != self.encoding:
            raise ValueError(f"the model uses encoding {model.encoding}, the songs {self.encoding}")

    # keep the best held-out epoch also when the run ends at its epoch or minutes budget (with
    # patience set): a kind whose score is a likelihood it can trust sets it
    KEEP_BEST_WHEN_DONE = False

    def init_controls(self, host_params: dict[str, np.ndarray]) -> None:
        """Last in a kind's `__init__`: the controls and the parameters training starts from."""
        self._lock = threading.Lock()
        self._host_params: dict[str, np.ndarray] = host_params
        self._pause = threading.Event()
        self._cancel = threading.Event()
        self._wake = threading.Event()
        self._started = False
        self.compile_seconds: float | None = None
        self.chunk_seconds: float | None = None
        self.finished = False
        self.stop_reason: str | None = None  # "time" (minutes budget) or "patience"
        self.best_score: float | None = None  # best held-out score so far (higher is better)
        self.best_epoch: int | None = None
        self._best: dict[str, np.ndarray] | None = None

    def summary_common(self, matrices: Sequence[StateMatrix]) -> dict:
        """The dataset summary's fields that do not depend on how the songs were cut."""
        bpms = [float(m.bpm) for m in matrices]
        sigs = [f"{m.time_signature[0]}/{m.time_signature[1]}" for m in matrices]
        return {
            "songs": len(matrices),
            "steps": int(sum(m.steps for m in matrices)),
            "bpm": float(np.median(bpms)) if bpms else 120.0,
            "time_signature": max(set(sigs), key=sigs.count) if sigs else "4/4",
            "titles": [m.title[:MAX_STORED_TITLE] for m in matrices[:200]],
            "data_encoding": self.data_encoding.to_dict(),
        }

    # ----- control (any thread) -----
    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self._wake.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._wake.set()

    @property
    def cancelled(self) -> bool:
        """True once `cancel()` was called (or training diverged)."""
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        """True while paused: the loop should `wait_paused` until resumed or cancelled."""
        return self._pause.is_set()

    # ----- the loop's side of the controls -----
    def start_once(self) -> None:
        """First in a kind's `__iter__`: a trainer trains once."""
        if self._started:
            raise RuntimeError("a Trainer can only be iterated once")
        self._started = True

    def time_up(self, active_seconds: float) -> bool:
        """True once the run has trained for its `minutes` budget; the trainer then stops as if
        it had reached its last epoch (`stop_reason` says why)."""
        limit = self.config.minutes
        if limit is not None and active_seconds >= 60.0 * limit:
            self.stop_reason = "time"
            return True
        return False

    def track_best(self, epoch: int, score: float | None, params: dict[str, np.ndarray]) -> bool:
        """Remember the weights of the best held-out score; True once `patience` epochs have
        passed without a better one (the run then stops and `result()` is that best model)."""
        if score is None or not np.isfinite(score):
            return False
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch = float(score), int(epoch)
            self._best = {k: np.array(v, copy=True) for k, v in params.items()}
            return False
        patience = self.config.patience
        if patience is not None and epoch - (self.best_epoch or 0) >= patience:
            self.stop_reason = "patience"
            return True
        return False

    def wait_paused(self, report: TrainingProgress, interval: float) -> Iterator[TrainingProgress]:
        """Yield one "paused" report, then sleep until resumed, cancelled or `interval` passes."""
        self._wake.clear()
        yield report
        self._wake.wait(interval)

    def publish(self, params: dict[str, np.ndarray], records: Sequence[dict] = ()) -> None:
        """Make new numpy parameters (and finished epochs' records) visible to other threads.
        Non-finite parameters mean training diverged (too high a learning rate): they are not
        published, so the last finite snapshot is what `snapshot()`/`result()` keep, and the
        run stops with `stop_reason` "diverged"."""
        if not all(np.isfinite(v).all() for v in params.values()):
            self.stop_reason = "diverged"
            self.cancel()
            return
        with self._lock:
            self._host_params = params
            self.history.extend(records)

    # ----- numpy views (any thread, never touch JAX) -----
    def params_copy(self) -> dict[str, np.ndarray]:
        """Copies of every published parameter array."""
        with self._lock:
            return {k: v.copy() for k, v in self._host_params.items()}

    def read_params(self, *names: str) -> tuple[np.ndarray, ...]:
        """Copies of the named published arrays, read together under the lock (one consistent
        step) without copying the others."""
        with self._lock:
            return tuple(self._host_params[name].copy() for name in names)

    def weights(self) -> np.ndarray:
        with self._lock:
            if "W" not in self._host_params:
                return np.zeros((self.n_visible, self.n_hidden), np.float32)
            return self._host_params["W"].copy()

    def snapshot(self, *, best: bool = False) -> Model:
        """The model trained so far (numpy copies), with its history; with `best`, the weights
        of the best held-out score when training stopped for lack of progress."""
        with self._lock:
            params = {k: v.copy() for k, v in self._host_params.items()}
            history = [dict(h) for h in self.history]
        keep_best = self.stop_reason == "patience" or (
            self.KEEP_BEST_WHEN_DONE and self.finished and self.config.patience is not None
        )
        if best and keep_best and self._best is not None:
            params = {k: v.copy() for k, v in self._best.items()}
            history = [h for h in history if h["epoch"] <= (self.best_epoch or 0)]
        cfg = TrainingConfig.from_dict(self.config.to_dict())
        dataset = dict(self.dataset_summary)
        if self._previous_dataset:
            dataset["previous"] = self._previous_dataset
        model = Model(
            self.KIND.name,
            params,
            cfg,
            self.encoding,
            history,
            dataset,
            window=self.KIND.window(cfg),
            units=(self.n_visible, self.n_hidden),
        )
        if self._created is not None:
            model.created = self._created
        return model

    def run(self) -> Model:
        """Train to the end (or until cancelled) and return the model."""
        for _ in self:
            pass
        return self.result()

    def result(self) -> Model:
        """The model to keep when the run is over: its best epoch if patience stopped it (or,
        with `KEEP_BEST_WHEN_DONE`, if it ran to its budget)."""
        return self.snapshot(best=True)
