"""Every training hyperparameter in one plain dataclass, so the GUI form, the CLI and the model file
all speak the same names and a saved model records exactly how it was trained."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from ..platform.devices import DEVICE_NAMES


@dataclass
class TrainingConfig:
    """Hyperparameters of every kind under one vocabulary. The values here are the tutorial's;
    each kind's own defaults come from `registry.default_config`. `validate()` checks the knobs
    every kind reads; a kind checks its own (`ModelKind.check_settings`)."""

    model: str = "rbm"
    hidden: int = 50
    window: int = 15
    stride: int | None = None  # None = window (non-overlapping); 1 = every offset
    learning_rate: float = 0.005
    batch_size: int = 100
    cd_k: int = 1
    pcd: bool = False
    momentum_start: float = 0.5
    momentum_end: float = 0.9
    momentum_switch_epoch: int = 5
    weight_decay: float = 0.0
    sparsity_target: float | None = None
    sparsity_cost: float = 0.0
    lr_decay: float = 0.0  # lr at epoch e is learning_rate / (1 + lr_decay * e)
    epochs: int = 200
    seed: int = 0
    frame_level: bool = False  # window 1, sounding plane only, 88 pitches (MIDI 21..108)
    transpose: int = 0  # augment with every shift in -transpose..+transpose semitones
    holdout_fraction: float = 0.1
    minutes: float | None = None  # wall-time budget of one run (None: until `epochs`)
    patience: int | None = None  # stop after this many epochs without a better held-out score
    device: str = "auto"  # "auto", "cpu" or "gpu": where the mini-batches run (all such devices)
    # each kind's own knobs, by the names of its `settings` (a new kind needs no edit here);
    # `value(name)` reads them
    extra: dict = field(default_factory=dict)

    @property
    def effective_window(self) -> int:
        return 1 if self.frame_level else int(self.window)

    @property
    def effective_stride(self) -> int:
        if self.frame_level:
            return 1
        return int(self.stride) if self.stride else int(self.window)

    def validate(self) -> list[str]:
        """Human-readable problems, one per bad value (empty when the config is usable)."""
        problems: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{f.name.replace('_', ' ').capitalize()} must be a finite number.")
        if problems:
            return problems
        if not 1 <= self.hidden <= 100_000:
            problems.append("Hidden units must be between 1 and 100000.")
        if not 0.0 < self.learning_rate <= 10.0:
            problems.append("Learning rate must be greater than 0 and at most 10.")
        if not 1 <= self.batch_size <= 100_000:
            problems.append("Batch size must be between 1 and 100000.")
        if not 1 <= self.cd_k <= 1000:
            problems.append("CD steps (k) must be between 1 and 1000.")
        if self.weight_decay < 0.0:
            problems.append("Weight decay must not be negative.")
        if not 1 <= self.epochs <= 1_000_000:
            problems.append("Epochs must be between 1 and 1000000.")
        if not 0 <= self.seed < 2**32:
            problems.append("Seed must be between 0 and 4294967295.")
        if not 0 <= self.transpose <= 12:
            problems.append("Transposition must be between 0 and 12 semitones.")
        if not 0.0 <= self.holdout_fraction < 1.0:
            problems.append("Held-out fraction must be in [0, 1).")
        if self.patience is not None and not 1 <= self.patience <= 1_000_000:
            problems.append("Patience must be at least 1 epoch (or empty to train every epoch).")
        if self.minutes is not None and not 0.0 < self.minutes <= 100_000:
            problems.append("Minutes must be greater than 0 (or empty for no time limit).")
        if self.device not in DEVICE_NAMES:
            problems.append(
                f"Device must be one of {', '.join(DEVICE_NAMES)}, not {self.device!r}."
            )
        return problems

    def value(self, name: str):
        """A knob by name: a field of this class, else the kind's own value in `extra`."""
        if name in _FIELD_NAMES:
            return getattr(self, name)
        return self.extra.get(name)

    def with_values(self, **values) -> TrainingConfig:
        """A copy with knobs set by name; names that are not fields go to `extra`."""
        known = {k: v for k, v in values.items() if k in _FIELD_NAMES}
        other = {k: v for k, v in values.items() if k not in _FIELD_NAMES}
        if other:
            known["extra"] = {**self.extra, **other}
        return replace(self, **known)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainingConfig:
        """Build from a dict, ignoring unknown keys (files from later versions), using defaults
        for missing ones and moving former fields into `extra` (files from earlier versions)."""
        values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        if not isinstance(values.get("extra", {}), dict):
            values.pop("extra")
        # a kind's knob saved as a field before it moved into the kind's `extra` keeps its
        # value (plain values only; given as a field it wins over `extra`, as an override)
        moved = {k: v for k, v in data.items() if k in FORMER_FIELDS and _plain(v)}
        if moved:
            values["extra"] = {**values.get("extra", {}), **moved}
        return cls(**values)


def _plain(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int | str)


_FIELD_NAMES = frozenset(f.name for f in fields(TrainingConfig))
# knobs that were fields of this class, in model files of earlier versions, before they moved
# into their kind's `extra` (the RNN-RBM's own); any other unknown key is a later version's
FORMER_FIELDS = frozenset(
    {
        "recurrence",
        "recurrent_hidden",
        "sequence_length",
        "optimizer",
        "grad_clip",
        "pretrain_epochs",
        "meter",
        "previous_step",
        "onset_sustain",
        "pretrain_learning_rate",
    }
)
