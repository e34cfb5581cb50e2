"""The windowed RBM (the tutorial's model) as a `ModelKind`: windows of grid rows are the visible
layer; CD-k / PCD-k training; sampling by independent or sliding windows.

Heavy modules (JAX) are imported inside the functions, so the window can read defaults and
settings without loading them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...music.encoding import Encoding, StateMatrix
from ..base import EvaluateRequest, EvaluationReport, GenerateRequest, Setting, Trainer
from ..config import TrainingConfig
from ..document import Model

NAME = "rbm"


class RbmKind:
    name = NAME
    label = "RBM (windows)"
    description = (
        "Learns short windows of the grid (the tutorial's model); fast to train, songs are "
        "stitched from windows."
    )
    defaults: Mapping[str, object] = {
        "hidden": 50,
        "window": 15,
        "learning_rate": 0.005,
        "batch_size": 100,
        "cd_k": 1,
        "epochs": 200,
    }
    settings: tuple[Setting, ...] = (
        Setting(
            "window", "Window steps", "Grid steps the model sees at once (16 = 1 bar).", maximum=1e5
        ),
        Setting(
            "stride",
            "Window stride",
            "Steps between window starts (empty: the window).",
            minimum=1,
            maximum=4096,
            form=False,
            optional=True,
        ),
        Setting("pcd", "Persistent CD", "Keep the negative chains between updates.", type="bool"),
        Setting(
            "momentum_start",
            "Momentum (start)",
            "Momentum of the first epochs.",
            type="float",
            maximum=10.0,
            decimals=3,
            step=0.05,
            flag="momentum-start",
        ),
        Setting(
            "momentum_end",
            "Momentum (end)",
            "Momentum after the switch epoch.",
            type="float",
            maximum=10.0,
            decimals=3,
            step=0.05,
            flag="momentum",
        ),
        Setting(
            "momentum_switch_epoch",
            "Momentum switch epoch",
            "Epoch at which momentum changes from start to end.",
            form=False,
        ),
        Setting(
            "lr_decay",
            "Learning-rate decay",
            "lr / (1 + decay · epoch).",
            type="float",
            maximum=1e3,
            form=False,
        ),
        Setting(
            "sparsity_target",
            "Sparsity target",
            "Wanted mean activation of the hidden units.",
            type="float",
            maximum=1.0,
            form=False,
            optional=True,
        ),
        Setting(
            "sparsity_cost",
            "Sparsity cost",
            "Weight of the sparsity penalty.",
            type="float",
            maximum=1e3,
            form=False,
        ),
        Setting(
            "transpose",
            "Transpositions",
            "Also learn every song shifted by ±1..N semitones.",
            maximum=12,
            form=False,
        ),
    )
    gibbs_default = 20
    modes = ("continue", "windows")

    def check_settings(self, config: TrainingConfig) -> list[str]:
        problems: list[str] = []
        if not 1 <= config.window <= 4096:
            problems.append("Window must be between 1 and 4096 steps.")
        if config.stride is not None and not 1 <= config.stride <= 4096:
            problems.append("Stride must be between 1 and 4096 steps (or empty for the window).")
        for name in ("momentum_start", "momentum_end"):
            if not 0.0 <= getattr(config, name) < 1.0:
                problems.append(f"{name.replace('_', ' ').capitalize()} must be in [0, 1).")
        if config.momentum_switch_epoch < 0:
            problems.append("Momentum switch epoch must not be negative.")
        if config.sparsity_target is not None and not 0.0 < config.sparsity_target < 1.0:
            problems.append("Sparsity target must be between 0 and 1 (exclusive).")
        if config.sparsity_cost < 0.0:
            problems.append("Sparsity cost must not be negative.")
        if config.lr_decay < 0.0:
            problems.append("Learning-rate decay must not be negative.")
        return problems

    def check_params(self, params: Mapping[str, np.ndarray], window: int) -> list[str]:
        for name in ("W", "vbias", "hbias"):
            if name not in params:
                return [f"RBM array {name!r} is missing"]
        W = params["W"]
        if W.ndim != 2 or params["vbias"].shape != (W.shape[0],):
            return ["RBM arrays have inconsistent shapes"]
        if params["hbias"].shape != (W.shape[1],):
            return ["RBM arrays have inconsistent shapes"]
        if window < 1 or W.shape[0] % window:
            return [f"{W.shape[0]} visible units do not fit window {window}"]
        return []

    def window(self, config: TrainingConfig) -> int:
        return config.effective_window

    def make_trainer(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
    ) -> Trainer:
        from .trainer import RbmTrainer

        return RbmTrainer(config, matrices, encoding, model=model)

    def generate(self, model: Model, request: GenerateRequest) -> list[StateMatrix]:
        from .sampler import generate

        mode = request.mode or self.modes[0]
        start = request.start
        if request.primer is not None:
            mode, start = "continue", "primer"
        return generate(
            model,
            songs=request.songs,
            steps=request.steps,
            gibbs_steps=request.gibbs_steps or self.gibbs_default,
            temperature=request.temperature,
            seed=request.seed,
            mode=mode,
            start=start,
            primer=request.primer,
        )

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport:
        from .evaluator import evaluate

        return evaluate(model, request)


KIND = RbmKind()
