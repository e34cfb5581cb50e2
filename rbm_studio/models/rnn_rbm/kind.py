"""The RNN-RBM (Boulanger-Lewandowski et al. 2012) as a `ModelKind`: an RBM per grid step whose
biases come from a recurrent network that has read the song so far.

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
from .spec import RnnRbmSpec


class RnnRbmKind(RnnRbmSpec):
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
        from .trainer import RnnRbmTrainer

        return RnnRbmTrainer(config, matrices, encoding, model=model)

    def warm_up(self) -> None:
        """Load the trainer (JAX with it) and start the backend: what Train would wait for."""
        from ..sharding import warm_backend
        from .trainer import RnnRbmTrainer  # noqa: F401 - imported for its cost

        warm_backend()

    def generate(self, model: Model, request: GenerateRequest) -> list[StateMatrix]:
        model = constrained(model, request.pitch_classes, request.lowest, request.highest)
        from .sampler import generate_rnn_rbm

        start = "primer" if request.primer is not None else request.start
        return generate_rnn_rbm(
            model,
            songs=request.songs,
            steps=request.steps,
            gibbs_steps=or_default(request.gibbs_steps, self.gibbs_default),
            temperature=or_default(request.temperature, self.temperature_default),
            seed=request.seed,
            start=start,
            primer=request.primer,
        )

    def infill_problem(self, model: Model) -> str | None:
        """Always a reason: the recurrence reads a song from left to right, so each step is
        sampled given the steps before it and never the ones after. Regenerating a region with
        it would stitch the region to the bars after it, not sample it given them, so it has no
        `infill`; continuing a song (a primer) is what it offers instead."""
        return (
            "an RNN-RBM reads a song from left to right: it cannot sample notes given the "
            "notes after them (continue the song instead)"
        )

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport:
        from .evaluator import evaluate

        return evaluate(model, request)


KIND = RnnRbmKind()
