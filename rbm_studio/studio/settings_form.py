"""The training settings form's model, without Qt: which fields a kind shows, the config their
values make, where each problem is said, the presets and the "train for" choice.

Everything comes from the registry (`models.base.Setting` / `Preset`): the settings every kind
reads (`COMMON_SETTINGS`), then the selected kind's own settings that ask for a place on the form.
The widget (`ui.hyperparameter_form`) builds one control per `Setting` and binds it here; it
holds no rule of its own. Values are checked by `registry.check_config`, the one place that knows
the rules, and each message is routed to the field it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import registry
from ..models.base import COMMON_SETTINGS, Setting
from ..models.config import TrainingConfig

CUSTOM = "custom"  # the preset entry once a value differs from every preset
UNTIL_BETTER, FOR_TIME = "improving", "time"  # the "train for" choices
FALLBACK_PATIENCE = 20  # epochs without progress when a kind names no patience of its own
DEFAULT_MINUTES = 1.0  # "for a set time" with no time set yet
INT_LIMIT = 2_147_483_647  # an int field holds a C int


def common_settings() -> list[Setting]:
    """The settings every kind reads that the form shows."""
    return [s for s in COMMON_SETTINGS if s.form]


def kind_settings(name: str) -> list[Setting]:
    """Kind `name`'s own settings that ask for a place on the form (not the common ones)."""
    common = {s.name for s in COMMON_SETTINGS}
    return [s for s in registry.kind(name).settings if s.form and s.name not in common]


@dataclass(frozen=True)
class Choice:
    """One entry of a choice list: the value it stands for, its label and its tooltip."""

    value: str
    label: str
    tooltip: str


def kind_choices() -> list[Choice]:
    """The registered kinds, in registration order (kinds registered later appear too)."""
    return [Choice(k.name, k.label, k.description) for k in registry.KINDS.values()]


def preset_choices(name: str) -> list[Choice]:
    """Kind `name`'s presets, then "Custom"."""
    out = [Choice(p.name, p.label, p.description) for p in registry.presets(name)]
    out.append(Choice(CUSTOM, "Custom", "Your own settings (see Advanced settings)."))
    return out


def kind_tooltip(name: str) -> str:
    return f"The kind of model to train. {registry.kind(name).description}"


def first_preset(name: str) -> TrainingConfig:
    """What choosing kind `name` gives: its first preset (its defaults)."""
    return registry.preset_config(name, registry.presets(name)[0].name)


def field_range(setting: Setting) -> tuple[float, float]:
    """(lowest, highest) a field for `setting` accepts. Wide on purpose: out-of-range values
    are explained by the checks rather than clamped; 0 stands for None in an optional one."""
    if setting.type == "float":
        lo, hi = float(setting.minimum), float(setting.maximum)
    else:
        lo, hi = int(max(setting.minimum, -INT_LIMIT)), int(min(setting.maximum, INT_LIMIT))
    return (0 if setting.optional else lo), hi


def message_prefixes(name: str, label: str) -> set[str]:
    """Lower-case ways a check may name a knob: "Momentum (start)" / "momentum_start" →
    "momentum (start)", "momentum start"; "Transpositions" → also "transposition"."""
    forms = {label, " ".join(label.replace("(", " ").replace(")", " ").split()), name}
    forms.add(name.replace("_", " "))
    forms |= {f[:-1] for f in forms if f.endswith("s")}
    return {f.lower() for f in forms if f}


def field_of(problem: str, settings: Mapping[str, Setting]) -> str | None:
    """The shown field a check's message is about: its text starts with the field's label or
    the knob's name (longest match wins), else None. "model" is the kind choice."""
    text = problem.lower()
    best, best_len = None, 0
    names = {"model": "Model", **{n: s.label for n, s in settings.items()}}
    for name, label in names.items():
        for prefix in message_prefixes(name, label):
            if len(prefix) > best_len and text.startswith(prefix):
                rest = text[len(prefix) : len(prefix) + 1]
                if not rest.isalnum():
                    best, best_len = name, len(prefix)
    return best


@dataclass
class Problems:
    """A config's problems: all of them in order, those said under a field, and the rest
    (said below the form)."""

    all: list[str] = field(default_factory=list)
    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def route_problems(problems: list[str], settings: Mapping[str, Setting]) -> Problems:
    """Place each problem under the field it names; the kind choice's and unnamed ones go
    below the form."""
    out = Problems(all=list(problems))
    for problem in problems:
        name = field_of(problem, settings)
        if name is None or name not in settings:
            out.general.append(problem)
        else:
            out.by_field.setdefault(name, []).append(problem)
    return out


@dataclass(frozen=True)
class MusicalChoices:
    """The preset and "train for" the current values amount to."""

    preset: str
    preset_tooltip: str
    improving: bool  # "until it stops improving" (else "for a set time")
    minutes: float  # 0: no limit
    minutes_caption: str


def musical_choices(config: TrainingConfig) -> MusicalChoices:
    preset = registry.matching_preset(config) or CUSTOM
    described = {c.value: c.tooltip for c in preset_choices(config.model)}
    improving = config.patience is not None
    return MusicalChoices(
        preset=preset,
        preset_tooltip="A starting point: how big a model and how long to train. "
        + described.get(preset, ""),
        improving=improving,
        minutes=config.minutes or 0.0,
        minutes_caption="At most:" if improving else "For:",
    )


def train_for_values(config: TrainingConfig, choice: str, minutes: float) -> dict[str, object]:
    """The patience and time limit a "train for" choice means: until it stops improving keeps
    (or gives) a patience, for a set time drops it and needs a time (`minutes` 0: none set)."""
    limit: float | None = minutes or None
    if choice == UNTIL_BETTER:
        default = registry.kind(config.model).defaults.get("patience")
        patience = config.patience or default or FALLBACK_PATIENCE
    else:
        patience = None
        limit = limit or DEFAULT_MINUTES
    return {"patience": patience, "minutes": limit}


class SettingsForm:
    """The form's state: the config it started from (values it does not show are kept), the kind
    whose fields are shown, and the `Setting` behind each shown field."""

    def __init__(self) -> None:
        self.base = registry.default_config()
        self.kind: str | None = None
        self.settings: dict[str, Setting] = {s.name: s for s in common_settings()}

    def load(self, config: TrainingConfig) -> TrainingConfig:
        """Start from `config`; a kind this version does not know gets the default kind's
        defaults. Returns the config the form now shows."""
        if config.model not in registry.KINDS:
            config = registry.default_config()
        self.base = config
        return config

    def show_kind(self, name: str) -> tuple[list[str], list[Setting]] | None:
        """Swap the previous kind's own fields for `name`'s: (names gone, settings to add), or
        None when `name` is already shown."""
        if name == self.kind:
            return None
        common = {s.name for s in COMMON_SETTINGS}
        gone = [n for n in self.settings if n not in common]
        for n in gone:
            del self.settings[n]
        own = kind_settings(name)
        self.settings.update((s.name, s) for s in own)
        self.kind = name
        return gone, own

    def config(self, kind: str, values: Mapping[str, object]) -> TrainingConfig:
        """The config the shown `values` (by setting name) make for `kind`."""
        return self.base.with_values(model=kind, **values)

    def check(self, config: TrainingConfig) -> Problems:
        return route_problems(registry.check_config(config), self.settings)
