"""The RNN-RBM's spec: name, defaults, settings and checks, with no heavy imports (the window
and the trainers read it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..base import Preset, Setting
from ..config import TrainingConfig
from .params import check_params

NAME = "rnn-rbm"
CELLS = ("rnn", "gru")
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class RnnRbmKnobs:
    """The RNN-RBM's own knobs, kept in `TrainingConfig.extra` (not shared with other kinds).
    These defaults are what a config that never set a knob means (the registry's defaults for a
    new model are the kind's `defaults`); `batch_size` counts sequences for this kind."""

    recurrence: str = "rnn"  # "rnn" (the paper's tanh RNN) or "gru"
    recurrent_hidden: int = 100
    sequence_length: int = 128  # training sub-sequence length in grid steps
    optimizer: str = "adam"  # "adam" or "sgd" (with momentum_end)
    grad_clip: float = 1.0  # global gradient-norm clip
    pretrain_epochs: int = 10  # frame-level RBM epochs before the recurrence is trained
    meter: bool = False  # read where each step falls in its bar
    previous_step: bool = False  # link each step directly to the one before
    onset_sustain: bool = False  # read notes as onset / sustain planes
    pretrain_learning_rate: float | None = None  # None: 10 × learning_rate (the paper's recipe)


KNOB_NAMES = tuple(f.name for f in fields(RnnRbmKnobs))


def own(config: TrainingConfig) -> RnnRbmKnobs:
    """The kind's knobs of `config`; `check_settings` has checked their types and ranges."""
    return RnnRbmKnobs(**{k: config.extra[k] for k in KNOB_NAMES if k in config.extra})


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return (isinstance(v, float) and math.isfinite(v)) or _is_int(v)


class RnnRbmSpec:
    """What the app knows of this kind without importing JAX: names, defaults, settings and
    checks. Trainers read it too; `kind.py` adds training, sampling and evaluation."""

    name = NAME
    label = "RNN-RBM (sequences)"
    description = (
        "An RBM per step conditioned on a recurrent network: learns whole songs, so phrases "
        "and chords follow on (slower to train)."
    )
    defaults: Mapping[str, object] = {
        "hidden": 150,
        "learning_rate": 0.001,
        "batch_size": 16,
        "cd_k": 15,
        "epochs": 300,
        "recurrent_hidden": 100,
        "sequence_length": 128,
        "pretrain_epochs": 10,
        "optimizer": "adam",
        "recurrence": "rnn",
        "grad_clip": 1.0,
        "meter": True,
        "previous_step": True,
        "onset_sustain": True,
        "pretrain_learning_rate": None,
        "patience": 20,
        "minutes": 10.0,
    }
    presets: tuple[Preset, ...] = (
        Preset(
            "songs",
            "Whole songs — minutes",
            "Learns whole phrases, trained until the held-out songs stop improving (at most 10 "
            "minutes).",
        ),
        Preset(
            "sketch",
            "Quick sketch — a minute",
            "A smaller memory and shorter pieces for one minute: rough ideas fast.",
            {
                "hidden": 100,
                "recurrent_hidden": 64,
                "sequence_length": 64,
                "pretrain_epochs": 2,
                "epochs": 30,
                "patience": None,
                "minutes": 1.0,
            },
        ),
    )
    settings: tuple[Setting, ...] = (
        Setting(
            "recurrent_hidden",
            "Recurrent units",
            "Size of the memory that carries the song so far.",
            maximum=1e5,
            flag="recurrent",
        ),
        Setting(
            "sequence_length",
            "Sequence steps",
            "Grid steps per training piece (128 = 8 bars of 4/4).",
            maximum=1e6,
            flag="seq-len",
        ),
        Setting(
            "transpose",
            "Transpositions",
            "Also learn every song shifted by ±1..N semitones (more data, slower epochs).",
            maximum=12,
        ),
        Setting(
            "meter",
            "Bar positions",
            "Tell the model where each step falls in its bar, so notes start on the beat grid "
            "(not used for frame-level benchmark data, which has no bars).",
            type="bool",
            flag="meter",
        ),
        Setting(
            "previous_step",
            "Previous-step links",
            "Connect each step's notes directly to the step before, so held notes continue and "
            "new ones start cleanly.",
            type="bool",
            flag="previous-step",
        ),
        Setting(
            "onset_sustain",
            "Onset / sustain planes",
            "Read each pitch as struck, held or off (instead of sounding and struck), so a held "
            "note follows from the step before.",
            type="bool",
            flag="onset-sustain",
            form=False,
        ),
        Setting(
            "pretrain_epochs",
            "Pre-training epochs",
            "Passes over the songs (not each transposed copy) of a plain frame RBM before the "
            "memory is trained.",
            maximum=1e5,
        ),
        Setting(
            "recurrence",
            "Recurrence",
            "The memory cell: the paper's tanh RNN or a GRU.",
            type="choice",
            choices=(("rnn", "RNN"), ("gru", "GRU")),
            form=False,
        ),
        Setting(
            "optimizer",
            "Optimizer",
            "Adam, or SGD with momentum.",
            type="choice",
            choices=(("adam", "Adam"), ("sgd", "SGD")),
            form=False,
        ),
        Setting(
            "grad_clip",
            "Gradient clip",
            "Largest gradient norm applied in one step.",
            type="float",
            maximum=1e6,
            form=False,
        ),
        Setting(
            "momentum_end",
            "Momentum",
            "SGD momentum.",
            type="float",
            maximum=10.0,
            flag="momentum",
            form=False,
        ),
    )
    gibbs_default = 25
    temperature_default = 0.7
    modes = ("continue",)

    def check_settings(self, config: TrainingConfig) -> list[str]:
        problems: list[str] = []
        k = RnnRbmKnobs(**{n: config.extra[n] for n in KNOB_NAMES if n in config.extra})
        if k.recurrence not in CELLS:
            problems.append("Recurrence must be 'rnn' or 'gru'.")
        if not (_is_int(k.recurrent_hidden) and 1 <= k.recurrent_hidden <= 10_000):
            problems.append("Recurrent units must be between 1 and 10000.")
        if not (_is_int(k.sequence_length) and 2 <= k.sequence_length <= 100_000):
            problems.append("Sequence steps must be between 2 and 100000.")
        if k.optimizer not in OPTIMIZERS:
            problems.append("Optimizer must be 'adam' or 'sgd'.")
        if not (_is_number(k.grad_clip) and 0.0 < k.grad_clip <= 1e6):
            problems.append("Gradient clip must be greater than 0.")
        if not (_is_int(k.pretrain_epochs) and 0 <= k.pretrain_epochs <= 100_000):
            problems.append("Pre-training epochs must be between 0 and 100000.")
        lr = k.pretrain_learning_rate
        if lr is not None and not (_is_number(lr) and 0.0 < lr <= 10.0):
            problems.append("Pre-training learning rate must be greater than 0 and at most 10.")
        for name in ("meter", "previous_step", "onset_sustain"):
            if not isinstance(getattr(k, name), bool):
                problems.append(f"{name.replace('_', ' ').capitalize()} must be on or off.")
        if not 0.0 <= config.momentum_end < 1.0:
            problems.append("Momentum must be in [0, 1).")
        return problems

    def check_params(self, params: Mapping[str, np.ndarray], window: int) -> list[str]:
        problems = check_params(params)
        if not problems and window != 1:
            problems = [f"an RNN-RBM reads one grid row at a time, not windows of {window}"]
        return problems

    def window(self, config: TrainingConfig) -> int:
        return 1  # one grid row; the memory is the recurrence


SPEC = RnnRbmSpec()
