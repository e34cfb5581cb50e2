"""A third model kind that lives only in the tests: every pitch of every step independent (one
Bernoulli per visible unit, fitted by counting). It is deliberately not an RBM, to show that the
CLI and the window drive any kind through `models.base` and `models.registry` alone.

It has a knob of its own (`smoothing`, not a `TrainingConfig` field) so adding it needs no edit
outside this file besides `registry.register`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from rbm_studio.models.base import (
    EvaluateRequest,
    EvaluationReport,
    GenerateRequest,
    Setting,
    TrainingProgress,
)
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.models.generated import check_request, matrix_from_rows
from rbm_studio.models.trainer_base import TrainerControls
from rbm_studio.music.encoding import Encoding, StateMatrix
from rbm_studio.music.windows import model_rows

NAME = "fake-independent"


class FakeIndependentKind:
    name = NAME
    label = "Independent pitches (test kind)"
    description = "Each pitch of each step on its own: counts how often it sounds."
    defaults: Mapping[str, object] = {"hidden": 1, "epochs": 4, "smoothing": 1.0}
    settings: tuple[Setting, ...] = (
        Setting(
            "smoothing",
            "Smoothing",
            "Pseudo-count added to every pitch's count.",
            type="float",
            maximum=100.0,
            decimals=2,
            step=0.5,
        ),
    )
    gibbs_default = 1
    temperature_default = 1.0
    modes = ("independent",)

    def check_settings(self, config: TrainingConfig) -> list[str]:
        smoothing = config.value("smoothing")
        if smoothing is None or not 0.0 < float(smoothing) <= 100.0:
            return ["Smoothing must be greater than 0 and at most 100."]
        return []

    def check_params(self, params: Mapping[str, np.ndarray], window: int) -> list[str]:
        if set(params) != {"vbias"} or np.ndim(params["vbias"]) != 1:
            return ["independent-pitch arrays are inconsistent"]
        return []

    def window(self, config: TrainingConfig) -> int:
        return 1

    def make_trainer(self, config, matrices, encoding, *, model=None):
        return FakeTrainer(config, matrices, encoding, model=model)

    def generate(self, model: Model, request: GenerateRequest) -> list[StateMatrix]:
        temperature = request.temperature or self.temperature_default
        check_request(request.songs, request.steps, request.gibbs_steps or 1, temperature)
        logits = model.params["vbias"] / temperature
        p = 1.0 / (1.0 + np.exp(-logits))
        rng = np.random.default_rng(request.seed)
        rows = (rng.random((request.songs, request.steps, p.size)) < p).astype(np.uint8)
        return [matrix_from_rows(model, rows[i], None, i) for i in range(request.songs)]

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport:
        frames = np.concatenate([model_rows(m, model.frame_level) for m in request.songs])
        b = model.params["vbias"].astype(np.float64)
        log_p = frames @ b - np.logaddexp(0.0, b).sum()
        sem = float(log_p.std(ddof=1) / math.sqrt(len(log_p))) if len(log_p) > 1 else 0.0
        return EvaluationReport(NAME, float(log_p.mean()), sem, int(len(log_p)), "exact")


KIND = FakeIndependentKind()


class FakeTrainer(TrainerControls):
    """Counts pitch frequencies, one "epoch" per pass, with the shared controls and snapshot."""

    KIND = KIND

    def __init__(self, config, matrices: Sequence[StateMatrix], encoding: Encoding, *, model=None):
        self.take_inputs(config, matrices, encoding)
        rows = np.concatenate([model_rows(m, config.frame_level) for m in matrices])
        self.n_visible, self.n_hidden = int(rows.shape[1]), 1
        previous = self.continue_from(model)
        self.counts = rows.sum(axis=0).astype(np.float64)
        self.n_rows = len(rows)
        self.dataset_summary = {**self.summary_common(matrices), "train_songs": len(matrices)}
        start = previous or {"vbias": np.zeros(self.n_visible, np.float32)}  # its own array
        self.init_controls(start)

    def hidden_activations(self) -> np.ndarray:
        return np.full(1, 0.5, np.float32)

    def __iter__(self) -> Iterator[TrainingProgress]:
        self.start_once()
        total = self.epoch_offset + self.config.epochs
        s = float(self.config.value("smoothing"))
        for epoch in range(self.epoch_offset + 1, total + 1):
            while self.paused and not self.cancelled:
                yield from self.wait_paused(TrainingProgress("paused", epoch - 1, total), 0.05)
            if self.cancelled:
                self.finished = False
                yield TrainingProgress("cancelled", epoch - 1, total)
                return
            p = (self.counts + s) / (self.n_rows + 2 * s)
            params = self.params_copy()
            params["vbias"] = np.log(p / (1 - p)).astype(np.float32)
            record = {"epoch": epoch, "recon_error": float(np.mean(p * (1 - p)))}
            self.publish(params, [record])
            yield TrainingProgress(
                "training", epoch, total, 1, 1, record["recon_error"], epoch_end=True
            )
        self.finished = True
        yield TrainingProgress("done", total, total)
