"""The model kinds this app knows, by name. Adding a kind is one sub-package and one line here.

The CLI, the window and the benchmarks look kinds up here (never by comparing kind names), apply
their defaults with `default_config`, and validate settings with `check_config`. A training run
starts through `make_trainer`, the one place a request is checked: trainers, the CLI and the
window trust the config it passed, and a bad value reaches the user as the one line of
`SettingsError`, worded the same from every front end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .base import COMMON_SETTINGS, ModelKind, Preset, Setting
from .config import TrainingConfig
from .rbm import KIND as RBM
from .rnn_rbm import KIND as RNN_RBM

if TYPE_CHECKING:
    from ..music.encoding import Encoding, StateMatrix
    from .base import Trainer
    from .document import Model

KINDS: dict[str, ModelKind] = {k.name: k for k in (RBM, RNN_RBM)}
DEFAULT_KIND = RBM.name  # the kind whose songs `rbm-studio bench music` rates best overall


class UnknownKindError(ValueError):
    """A model file or setting names a kind this version does not know."""


def kind(name: str) -> ModelKind:
    """The kind called `name`; `UnknownKindError` with a one-line reason otherwise."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        known = ", ".join(KINDS)
        raise UnknownKindError(
            f"unknown model kind {name!r} (this version knows {known})"
        ) from None


def register(new: ModelKind) -> None:
    """Add a kind at run time (plug-ins, tests); a name already taken is replaced."""
    KINDS[new.name] = new


def unregister(name: str) -> None:
    KINDS.pop(name, None)


def default_config(name: str | None = None, **overrides: Any) -> TrainingConfig:
    """`TrainingConfig` with the kind's defaults (the window's and the CLI's starting point)."""
    k = kind(name or DEFAULT_KIND)
    return TrainingConfig().with_values(**{**k.defaults, **overrides, "model": k.name})


def check_config(config: TrainingConfig) -> list[str]:
    """Every problem with `config`: the common knobs, then the kind's own."""
    if config.model not in KINDS:
        return [f"Model must be one of {', '.join(KINDS)}, not {config.model!r}."]
    return config.validate() + kind(config.model).check_settings(config)


class SettingsError(ValueError):
    """A training request with bad settings. Its text is one line naming every bad value, the
    same whichever front end (CLI, window, benchmark) asked; `problems` lists them one each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid training settings: " + " ".join(self.problems))


def check_request(config: TrainingConfig) -> TrainingConfig:
    """`config` when every setting is usable; `SettingsError` naming each bad one otherwise."""
    problems = check_config(config)
    if problems:
        raise SettingsError(problems)
    return config


def make_trainer(
    config: TrainingConfig,
    matrices: Sequence[StateMatrix],
    encoding: Encoding,
    *,
    model: Model | None = None,
) -> Trainer:
    """The trainer of `config`'s kind on `matrices` (continuing `model` when given), after
    `check_request`: the entry point of every training run, so the kind's trainer gets a
    config that is known good and checks no setting itself."""
    return kind(config.model).make_trainer(check_request(config), matrices, encoding, model=model)


def warm_up(name: str) -> None:
    """Load what training kind `name` needs (its trainer, JAX, the devices) on this thread: a
    window calls it on a worker when it opens or a kind is chosen, so Train starts compiling at
    once. A kind without the hook needs none."""
    hook = getattr(kind(name), "warm_up", None)
    if hook is not None:
        hook()


def compile_ahead(
    config: TrainingConfig, matrices: Sequence[StateMatrix], encoding: Encoding
) -> None:
    """Compile what training `config` on `matrices` will run, training nothing (a window calls
    it on a worker when songs arrive, so Train finds it compiled). A kind without the hook, or
    a request `check_request` refuses, compiles nothing here; Train reports the problem."""
    hook = getattr(kind(config.model), "compile_ahead", None)
    if hook is None or check_config(config):
        return
    hook(config, matrices, encoding)


def all_settings() -> list[Setting]:
    """The common settings, then each kind's own (first mention of a name wins): the CLI's
    option list."""
    seen: dict[str, Setting] = {}
    for s in COMMON_SETTINGS:
        seen.setdefault(s.name, s)
    for k in KINDS.values():
        for s in k.settings:
            seen.setdefault(s.name, s)
    return list(seen.values())


def presets(name: str) -> tuple[Preset, ...]:
    """The kind's presets (a kind without any gets one: its defaults)."""
    k = kind(name)
    own = tuple(getattr(k, "presets", ()) or ())
    return own or (Preset("defaults", "Defaults", f"The {k.label} defaults."),)


def preset_config(name: str, preset: str) -> TrainingConfig:
    """The kind's defaults with `preset`'s values on top."""
    for p in presets(name):
        if p.name == preset:
            return default_config(name, **dict(p.values))
    raise ValueError(f"{kind(name).label} has no preset {preset!r}")


def matching_preset(config: TrainingConfig) -> str | None:
    """The name of the preset `config` is (every knob as the preset sets it), else None."""
    if config.model not in KINDS:
        return None
    for p in presets(config.model):
        reference = preset_config(config.model, p.name)
        if all(config.value(s.name) == reference.value(s.name) for s in _compared(config.model)):
            return p.name
    return None


def _compared(name: str) -> list[Setting]:
    own = list(getattr(kind(name), "settings", ()))
    return [*COMMON_SETTINGS, *own]
