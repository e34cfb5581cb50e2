"""The windowed RBM (the tutorial's model) as a `ModelKind`: windows of grid rows are the visible
layer; CD-k / PCD-k training; sampling by independent or sliding windows.

Training, sampling and evaluation import JAX, so they load on first use; `spec.py` holds the
rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...music.encoding import Encoding, StateMatrix
from ..base import EvaluateRequest, EvaluationReport, GenerateRequest, InfillRequest, Trainer
from ..config import TrainingConfig
from ..document import Model
from ..generated import constrained, or_default
from . import one_key
from .spec import RbmSpec, infill_problem


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

    def warm_up(self) -> None:
        """Load the trainer (JAX with it) and start the backend: what Train would wait for."""
        from ..sharding import warm_backend
        from .trainer import RbmTrainer  # noqa: F401 - imported for its cost

        warm_backend()

    def compile_ahead(
        self, config: TrainingConfig, matrices: Sequence[StateMatrix], encoding: Encoding
    ) -> None:
        """Build the trainer of `config` on `matrices` and compile its training program, so
        that Train on the same songs and settings starts from it (JAX keeps it in memory)."""
        from .trainer import RbmTrainer

        RbmTrainer(config, matrices, encoding).compile_ahead()

    def form_problem(self, model: Model, request: GenerateRequest) -> str | None:
        """Why this model cannot give `request` its form (one line), or None."""
        from ...music.form import parse_form

        form = parse_form(request.form)
        if form.style != "free" and request.mode == "windows":
            return "independent windows know nothing of each other's bars"
        from .form_sampler import form_problem

        return form_problem(model, form)

    def generate(self, model: Model, request: GenerateRequest) -> list[StateMatrix]:
        from ...music.form import parse_form

        form = parse_form(request.form)
        if form.style != "free" and self.form_problem(model, request):
            form = parse_form("free")  # callers say why (`base.form_for`)
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
        if form.style != "free":
            from .form_sampler import generate_with_form

            songs = generate_with_form(
                model,
                form,
                songs=request.songs,
                steps=request.steps,
                gibbs_steps=or_default(request.gibbs_steps, self.gibbs_default),
                temperature=or_default(request.temperature, self.temperature_default),
                seed=request.seed,
                start="silence" if start == "primer" else start,
                primer=request.primer,
            )
            return songs if moves is None else one_key.back_out(songs, moves, given)
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

    def infill_problem(self, model: Model) -> str | None:
        """Why this model cannot sample cells given their neighbours (one line), or None."""
        return infill_problem(model)

    def infill(self, model: Model, request: InfillRequest) -> list[StateMatrix]:
        """The request's free cells sampled given every other cell, before and after them."""
        from .infill import GIBBS_DEFAULT, infill

        return infill(
            model,
            request.song,
            request.free,
            songs=request.songs,
            gibbs_steps=or_default(request.gibbs_steps, GIBBS_DEFAULT),
            temperature=or_default(request.temperature, self.temperature_default),
            seed=request.seed,
        )

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport:
        from .evaluator import evaluate

        return evaluate(model, one_key.evaluation_request(model, request))


KIND = RbmKind()
