"""What a *model kind* is: the small protocol every kind satisfies, and the values that cross it.

In the spirit of optax's `GradientTransformation`: a kind is a plain object with a name, its
defaults and settings, and a handful of functions (make a trainer, generate, evaluate, check
arrays). The CLI, the window and the benchmarks talk to models only through these types and
`registry`, so adding a kind is one sub-package plus one registry line.

Nothing here imports JAX or Qt: the GUI thread builds forms and requests from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..music.encoding import Encoding, StateMatrix
from ..platform.devices import DEVICE_CHOICES
from .config import TrainingConfig
from .document import Model

# ---------------------------------------------------------------------------------------------
# Settings: one knob of `TrainingConfig`, described once for the form, the CLI and validation


@dataclass(frozen=True)
class Setting:
    """A training knob a kind exposes. `name` is the `TrainingConfig` attribute; `flag` the CLI
    option (`--flag`); `type` one of "int", "float", "bool", "choice"; `choices` (value, label)
    pairs for "choice". `form=False` keeps it off the window's form (CLI only)."""

    name: str
    label: str
    tooltip: str
    _: KW_ONLY
    type: str = "int"
    minimum: float = 0
    maximum: float = 1_000_000
    decimals: int = 4
    step: float = 1.0
    choices: tuple[tuple[str, str], ...] = ()
    flag: str | None = None
    form: bool = True
    optional: bool = False  # None allowed (an empty CLI value); the form shows 0 as "none"

    @property
    def cli_flag(self) -> str:
        return "--" + (self.flag or self.name.replace("_", "-"))


# Knobs every kind reads (kinds may change their defaults, not their meaning).
COMMON_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "hidden",
        "Hidden units",
        "How many patterns the model can learn: more catches more detail but trains slower.",
        maximum=1e6,
    ),
    Setting(
        "learning_rate",
        "Learning rate",
        "How big each learning step is: too big and it learns noise, too small and it learns "
        "slowly.",
        type="float",
        maximum=100.0,
        decimals=5,
        step=0.001,
        flag="lr",
    ),
    Setting(
        "batch_size",
        "Batch size",
        "How many pieces of the songs it looks at before each learning step.",
        maximum=1e6,
        flag="batch",
    ),
    Setting(
        "epochs", "Epochs", "How many times it goes through all the songs (at most).", maximum=1e7
    ),
    Setting(
        "cd_k",
        "CD steps (k)",
        "How long the model daydreams before comparing its dream with the songs at each "
        "step (contrastive divergence k): more is slower and sometimes better.",
        maximum=1e5,
    ),
    Setting(
        "weight_decay",
        "Weight decay",
        "Keeps the model's connections small, so it generalises rather than memorises.",
        type="float",
        maximum=10.0,
        decimals=6,
        step=0.0001,
    ),
    Setting(
        "seed", "Seed", "Random seed: the same seed and songs give the same model.", maximum=2**31
    ),
    Setting(
        "patience",
        "Stop when stuck",
        "Stop when it stops improving: epochs without a better score on held-out songs. "
        "The best epoch is kept (none: train every epoch).",
        optional=True,
        form=True,
    ),
    Setting(
        "minutes",
        "Time limit (min)",
        "Time limit in minutes (none: train until the epochs are done).",
        type="float",
        maximum=1e5,
        optional=True,
        form=True,
    ),
    Setting(
        "device",
        "Device",
        "Where training runs: the mini-batch is split over every device of this kind "
        "(automatic: the GPUs when JAX finds one, else the CPU).",
        type="choice",
        choices=DEVICE_CHOICES,
    ),
)


@dataclass(frozen=True)
class Preset:
    """A starting point in musical terms ("Quick sketch — seconds"): the settings it sets on top
    of the kind's defaults. A kind lists its presets in `presets` (optional; the first one is what
    the kind's defaults give)."""

    name: str
    label: str
    description: str
    values: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Training


@dataclass
class TrainingProgress:
    """One report from a trainer's iterator; `epoch` counts completed epochs."""

    phase: str  # "compiling", "training", "paused", "done", "cancelled"
    epoch: int
    epochs: int
    batch: int = 0
    batches_per_epoch: int = 0
    recon_error: float = float("nan")
    free_energy_gap: float | None = None
    epoch_end: bool = False
    elapsed: float = 0.0
    eta: float | None = None
    held_out: float | None = None  # held-out score at this epoch end (higher is better)
    best_epoch: int | None = None  # epoch of the best held-out score so far


@runtime_checkable
class Trainer(Protocol):
    """Iterate it to train (reports at least 5 per second); the control and view methods work
    from any thread and never touch JAX. It declares exactly what the CLI and the window use, so
    a kind's trainer owes nothing more (`models.trainer_base.TrainerControls` gives all of it
    but the loop)."""

    n_visible: int
    n_hidden: int
    epoch_offset: int  # epochs the model had before this run (continued training)
    dataset_summary: dict
    compile_seconds: float | None
    stop_reason: str | None  # why it stopped early: "time", "patience", "diverged" (or None)
    best_score: float | None  # best held-out score so far (higher is better)
    best_epoch: int | None  # the epoch of `best_score`

    def __iter__(self) -> Iterator[TrainingProgress]: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def cancel(self) -> None: ...
    def snapshot(self) -> Model: ...
    def hidden_activations(self) -> np.ndarray: ...
    def result(self) -> Model:
        """The model to keep once the iteration is over (its best epoch where the kind says)."""
        ...


@runtime_checkable
class TrainingRows(Protocol):
    """A trainer that can hand out the visible vectors it trains on, in order, so a benchmark's
    peers train on exactly the same data. Optional: a kind whose trainer has no such rows (a
    recurrent one reads whole songs) leaves it out."""

    def training_rows(self) -> np.ndarray: ...


# ---------------------------------------------------------------------------------------------
# Generation and evaluation


@dataclass
class GenerateRequest:
    """What to sample. `gibbs_steps` and `temperature` None take the kind's defaults; `mode` is a
    hint a kind may ignore (a recurrent kind always continues); a primer is kept in front of each
    song."""

    songs: int = 1
    steps: int = 256
    gibbs_steps: int | None = None
    temperature: float | None = None
    seed: int = 0
    mode: str | None = None
    start: str = "silence"
    primer: StateMatrix | None = None
    # musical constraints, sampled conditionally (the units of other pitches are clamped off):
    pitch_classes: tuple[int, ...] | None = None  # allowed pitch classes, C = 0 (a key's scale)
    lowest: int | None = None  # lowest and highest MIDI pitch allowed
    highest: int | None = None
    # "like-songs", "loop:N" or "free" (`music.form.parse_form`); a kind that cannot plan a form
    # generates free songs, and `form_for` says why
    form: str = "like-songs"


@dataclass
class InfillRequest:
    """Cells of a song to sample again given all the others (conditional sampling): `song` in
    the model's data encoding, `free` a bool mask of its shape ([steps, encoding.width]) that is
    True on the cells to resample. Every cell where `free` is False comes back as it was given.
    `gibbs_steps` and `temperature` None take the kind's defaults."""

    song: StateMatrix
    free: np.ndarray
    songs: int = 1
    gibbs_steps: int | None = None
    temperature: float | None = None
    seed: int = 0


@dataclass
class EvaluateRequest:
    """Songs to score, in the model's data encoding; `base` are the songs an estimator may take
    base rates from (the training split where there is one). `betas`/`chains` None: the kind's."""

    songs: Sequence[StateMatrix]
    base: Sequence[StateMatrix] | None = None
    method: str = "auto"  # "auto", "exact" or "ais"
    betas: int | None = None
    chains: int | None = None
    seed: int = 0
    # nats per frame an estimate may be off before it is "not converged" (see the kinds)
    tolerance: float = 0.1


@dataclass
class EvaluationReport:
    """Mean log-likelihood per frame (nats) — the figure the literature reports — with its
    standard error over the evaluated units, how log Z was found, and kind-specific extras."""

    kind: str
    per_frame: float
    per_frame_sem: float
    frames: int
    method: str  # "exact" or "ais"
    n_betas: int | None = None
    n_chains: int | None = None
    seed: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    lines: tuple[str, ...] = ()  # human lines a kind adds under the headline
    # False: the estimate has not converged (too few β for this model), and `convergence`
    # says why; the figure is then not one to report. None: nothing to check (exact log Z).
    converged: bool | None = None
    convergence: str = ""

    def to_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "per_frame": self.per_frame,
            "per_frame_sem": self.per_frame_sem,
            "frames": self.frames,
            "method": self.method,
            "n_betas": self.n_betas,
            "n_chains": self.n_chains,
            "seed": self.seed,
            "converged": self.converged,
            "convergence": self.convergence,
        }
        out.update(self.extras)
        return out

    def summary(self) -> str:
        how = "exact log Z"
        if self.method == "ais":
            how = f"AIS {self.n_chains} chains × {self.n_betas} β"
        value = "nan" if math.isnan(self.per_frame) else f"{self.per_frame:.4f}"
        if self.converged is False:
            return f"not converged ({how}): {self.convergence}"
        return (
            f"log-likelihood per frame {value} ± {self.per_frame_sem:.4f} "
            f"({self.frames} frames, {how})"
        )


def form_for(kind: ModelKind, model: Model, request: GenerateRequest) -> tuple[str, str | None]:
    """(the form `kind` will give `model`'s songs for `request`, a one-line note when that is not
    the form asked for). A kind that plans forms has `form_problem(model, request)`; one without
    it generates free (through-composed) songs. Refuses a form that is not one (ValueError)."""
    from ..music.form import parse_form

    form = parse_form(request.form)
    if form.style == "free":
        return "free", None
    check = getattr(kind, "form_problem", None)
    problem = check(model, request) if check else f"{kind.label} cannot plan a song's form"
    if problem:
        return "free", f"{problem}: the songs are free (through-composed) instead of {form}"
    return str(form), None


def infill_problem(kind: ModelKind, model: Model) -> str | None:
    """Why `kind` cannot resample `model`'s cells given notes on both sides of them (one line),
    or None. A kind that can has `infill(model, request)`; one that can do it only in part says
    why in its `infill_problem(model)`, and a kind without `infill` cannot do it at all."""
    check = getattr(kind, "infill_problem", None)
    problem = check(model) if check else None
    if problem is None and not callable(getattr(kind, "infill", None)):
        return f"{kind.label} cannot sample notes given the notes around them"
    return problem


def infill(kind: ModelKind, model: Model, request: InfillRequest) -> list[StateMatrix]:
    """`request.songs` songs: `request.song` with its free cells sampled given the rest, through
    the kind's `infill`. Refuses (ValueError, one line) a kind or model that cannot, a mask of
    the wrong shape, or a mask with nothing free."""
    problem = infill_problem(kind, model)
    if problem:
        raise ValueError(problem)
    free = np.asarray(request.free, bool)
    if free.shape != request.song.data.shape:
        raise ValueError(
            f"the cells to resample are {free.shape}, the song {request.song.data.shape}"
        )
    if not free.any():
        raise ValueError("no cell to resample: the region holds no grid step of the song")
    return kind.infill(model, request)


# ---------------------------------------------------------------------------------------------
# The kind


@runtime_checkable
class ModelKind(Protocol):
    """Everything the app needs to know about one kind of model.

    Optional, found with `getattr`: `presets`; `warm_up()`, which loads what training needs
    (modules, the device backend) so a window can do it ahead of Train; `compile_ahead(config,
    matrices, encoding)`, which compiles that training's program without training; `form_problem(model,
    request)` (see `form_for`); `infill(model, request)` and `infill_problem(model)` (see
    `infill_problem`)."""

    name: str  # stored in model files and `TrainingConfig.model`
    label: str  # what a person sees in the window
    description: str  # one or two sentences for tooltips and --help
    defaults: Mapping[str, Any]  # `TrainingConfig` values of this kind (CLI and window)
    settings: tuple[Setting, ...]  # the kind's own knobs besides `COMMON_SETTINGS`
    gibbs_default: int  # Gibbs steps per generated window / frame
    temperature_default: float  # sampling temperature that sounds best (bench music)
    modes: tuple[str, ...]  # generation modes it offers (first = default)

    def check_settings(self, config: TrainingConfig) -> list[str]:
        """Problems with this kind's own knobs (the common ones are `config.validate()`)."""
        ...

    def check_params(self, params: Mapping[str, np.ndarray], window: int) -> list[str]:
        """Problems with a model's arrays (missing, inconsistent shapes, not finite)."""
        ...

    def window(self, config: TrainingConfig) -> int:
        """Grid rows in one visible vector of a model trained with `config`."""
        ...

    def make_trainer(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
    ) -> Trainer: ...

    def generate(self, model: Model, request: GenerateRequest) -> list[StateMatrix]: ...

    def evaluate(self, model: Model, request: EvaluateRequest) -> EvaluationReport: ...
