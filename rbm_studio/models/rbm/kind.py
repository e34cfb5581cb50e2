"""The windowed RBM (the tutorial's model) as a `ModelKind`: windows of grid rows are the visible
layer; CD-k / PCD-k training; sampling by independent or sliding windows.

Training, sampling and evaluation import JAX, so they load on first use; `spec.py` holds the
rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...music.encoding import Encoding, StateMatrix
from ..base import EvaluateRequest, EvaluationReport, GenerateRequest, Trainer
from ..config import TrainingConfig
from ..document import Model
from ..generated import constrained, or_default
from . import one_key
from .spec import RbmSpec


class RbmKind(RbmSpec):
    """The kind the registry lists: the spec plus training, sampling and evaluation (their
    modules import JAX, so they load on first use)."""

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
        given = request.primer
        moves = None
        if one_key.key_shifts(model):
            request, moves = one_key.plan(model, request)
        model = constrained(model, request.pitch_classes, request.lowest, request.highest)
        from .sampler import generate

        mode = request.mode or self.modes[0]
        start = request.start
        if request.primer is not None:
            mode, start = "continue", "primer"
        songs = generate(
            model,
            songs=request.songs,
            steps=request.steps,
            gibbs_steps=or_default(request.gibbs_steps, self.gibbs_default),
            temperature=or_default(request.temperature, self.temperature_default),
            seed=request.seed,
            mode=mode,
            start=start,
            primer=request.primer,
        )
        return songs if moves is None else one_key.back_out(songs, moves, given)

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport:
        from .evaluator import evaluate

        return evaluate(model, one_key.evaluation_request(model, request))


KIND = RbmKind()
