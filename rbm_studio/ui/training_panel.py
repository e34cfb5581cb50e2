"""Training panel: the hyperparameter form, Train / Pause / Resume / Stop, and live plots.

The panel owns the training job. The window hands it the songs (`start_training`); the panel
reports through signals (`modelTrained`, `statusMessage`, `trainingStateChanged`) and never calls
JAX itself — the worker does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..models import registry
from ..models.base import COMMON_SETTINGS, Setting
from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from .plots import ActivationHistogram, ErrorPlot, GapPlot, WeightHeatmap
from .training_worker import TrainingUpdate, TrainingWorker, autosave_path
from .workers import Job, run_function

ERROR_COLOUR = "#d93025"  # readable on light and dark backgrounds
PLOT_INTERVAL_MS = 500  # curves redraw at most twice a second while training
ADVANCED_MIN_HEIGHT = 220  # opened Advanced settings scroll below this height


def format_seconds(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


MEMORISING_SCORES = 2  # held-out scores after the best, all worse, that count as memorising


def held_out_verdict(
    scores: Sequence[tuple[float, float]], best_epoch: int | None, outcome: str = "training"
) -> str:
    """One line in plain words on how the model does on the held-out songs.

    `scores` are the (epoch, held-out log-likelihood per frame) reports so far, in order;
    `best_epoch` the epoch of the best of them (the trainer's; the highest score when None);
    `outcome` is "training" while it runs, then "done" (all epochs), "cancelled" (Stop),
    "patience" (stopped for lack of progress; the best epoch is kept) or "time" (time limit);
    "loaded" for a model opened from a file.

    The rule: patience and the time limit say so first. Otherwise the model is *memorising*
    when the latest score is below the best and at least `MEMORISING_SCORES` (2) scores have come
    since the best, all of them worse — one worse score alone is noise in a cheap estimate. Else
    it is still learning. No scores (a kind that does not score held-out songs, or before the
    first score): "" — except for the time limit, which is said anyway.
    """
    if outcome == "time" and not scores:
        return "Stopped at the time limit."
    if not scores:
        return ""
    if best_epoch is None:
        best_epoch = int(max(scores, key=lambda s: s[1])[0])
    best = int(best_epoch)
    if outcome == "patience":
        return f"Stopped at its best: epoch {best} kept (no better on held-out songs after it)."
    if outcome == "time":
        return f"Stopped at the time limit — best on held-out songs at epoch {best}."
    best_score = max((y for x, y in scores if int(x) == best), default=None)
    since = [y for x, y in scores if x > best]
    memorising = (
        best_score is not None
        and len(since) >= MEMORISING_SCORES
        and all(y < best_score for y in since)
    )
    if memorising:
        return f"Memorising: no better on held-out songs since epoch {best}."
    if outcome == "loaded":
        return f"Best on held-out songs at epoch {best}."
    if outcome == "cancelled":
        return f"Stopped by you — best on held-out songs so far at epoch {best}."
    if outcome == "done":
        if int(scores[-1][0]) == best:
            return f"Still learning at the end (best: epoch {best}) — more epochs may help."
        return f"Done — best on held-out songs at epoch {best}."
    return f"Still learning — best so far at epoch {best}."


class HyperparameterForm(QWidget):
    """The model-kind choice, a preset and how long to train, in musical terms; every
    hyperparameter below them in a collapsed "Advanced" section, one inline message per bad value.

    Built from the registry: the settings every kind reads (`COMMON_SETTINGS`), then the selected
    kind's own `settings` that ask for a place on the form. Choosing another kind applies that
    kind's first preset (its defaults) and swaps its fields. The preset and "train for" choices
    are views on the same values as the Advanced fields: changing either updates the other, and
    the preset reads "Custom" once a value differs from every preset. Fields deliberately accept
    out-of-range numbers so `registry.check_config` — the one place that knows the rules — can
    explain what is wrong instead of the spin box silently clamping.
    """

    changed = Signal()
    kindChanged = Signal(str)  # the selected kind's name (its fields are shown by now)
    layoutChanged = Signal()  # Advanced opened or closed

    COLUMNS = 1  # one label/field pair per row: every field readable in a narrow dock
    CUSTOM = "custom"
    UNTIL_BETTER, FOR_TIME = "improving", "time"
    FALLBACK_PATIENCE = 20  # epochs without progress when a kind names no patience of its own

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = registry.default_config()
        self._kind: str | None = None
        self.widgets: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self.settings: dict[str, Setting] = {}  # the Setting behind each shown field
        self._kind_cells: list[QWidget] = []  # captions and fields of the kind's own settings
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)

        # -- the musical choices ------------------------------------------------------------
        basic = QGridLayout()
        basic.setHorizontalSpacing(8)
        basic.setVerticalSpacing(3)
        basic.setColumnStretch(1, 1)
        model_box = QComboBox()
        self.widgets["model"] = model_box
        self.refresh_kinds()
        model_box.currentIndexChanged.connect(self._on_kind_selected)
        self.preset_box = QComboBox()
        self.preset_box.setObjectName("field_preset")
        self.preset_box.setToolTip("A starting point: how big a model and how long to train.")
        self.preset_box.activated.connect(self._on_preset_chosen)
        self.train_for_box = QComboBox()
        self.train_for_box.setObjectName("field_train_for")
        self.train_for_box.addItem("Until it stops improving", self.UNTIL_BETTER)
        self.train_for_box.addItem("For a set time", self.FOR_TIME)
        self.train_for_box.setToolTip(
            "Until it stops improving: training ends when the model no longer gets better at "
            "songs it never trains on, and keeps its best moment. For a set time: it trains "
            "for exactly the minutes you choose."
        )
        self.train_for_box.activated.connect(self._on_train_for_changed)
        self.minutes_box = QDoubleSpinBox()
        self.minutes_box.setObjectName("field_train_minutes")
        self.minutes_box.setRange(0.0, 100_000.0)
        self.minutes_box.setDecimals(1)
        self.minutes_box.setSingleStep(0.5)
        self.minutes_box.setSuffix(" min")
        self.minutes_box.setSpecialValueText("no limit")
        self.minutes_box.setToolTip("The most time training may take (no limit: until done).")
        self.minutes_box.valueChanged.connect(self._on_train_for_changed)
        self.minutes_caption = QLabel("At most:")
        rows = (
            ("Model", model_box),
            ("Preset", self.preset_box),
            ("Train", self.train_for_box),
            (None, self.minutes_box),
        )
        for row, (label, widget) in enumerate(rows):
            caption = self.minutes_caption if label is None else QLabel(label + ":")
            basic.addWidget(caption, row, 0)
            caption.setBuddy(widget)
            widget.setAccessibleName(label or "Time limit")
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            if isinstance(widget, QComboBox):
                # The width comes from the dock, not from the longest entry.
                widget.setSizeAdjustPolicy(
                    QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
                )
                widget.setMinimumContentsLength(12)
            basic.addWidget(widget, row, 1)
        model_box.setObjectName("field_model")
        self.train_for_box.setAccessibleName("Train")
        self.minutes_box.setAccessibleName("Time limit")
        outer.addLayout(basic)

        # -- Advanced: every knob -----------------------------------------------------------
        self.advanced_button = QToolButton()
        self.advanced_button.setObjectName("advancedToggle")
        self.advanced_button.setText("Advanced settings")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolTip("Show or hide every training setting")
        self.advanced_button.toggled.connect(self.set_advanced_visible)
        outer.addWidget(self.advanced_button)
        self.advanced = QWidget()
        self.advanced.setObjectName("advancedSection")
        advanced_layout = QVBoxLayout(self.advanced)
        advanced_layout.setContentsMargins(12, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        advanced_layout.addLayout(self.grid)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(3)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(3, 1)
        outer.addWidget(self.advanced)
        self.advanced.hide()

        common = [s for s in COMMON_SETTINGS if s.form]
        for index, setting in enumerate(common):
            row, col = divmod(index, self.COLUMNS)
            self._add_setting(setting, row, col)
        self._kind_row = -(-len(common) // self.COLUMNS)  # the kind's own fields start here

        self.devices_label = QLabel("")
        self.devices_label.setObjectName("devices_found")
        self.devices_label.setWordWrap(True)
        self.devices_label.setMinimumWidth(10)
        self.devices_label.setStyleSheet("color: palette(placeholder-text);")
        self.devices_label.hide()
        advanced_layout.addWidget(self.devices_label)  # below every kind's fields
        self.general_message = QLabel()
        self.general_message.setObjectName("message_general")
        self.general_message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.general_message.setWordWrap(True)
        self.general_message.hide()
        outer.addWidget(self.general_message)
        self.changed.connect(self._sync_musical_choices)
        self.set_config(registry.default_config())

    @Slot(bool)
    def set_advanced_visible(self, visible: bool) -> None:
        self.advanced.setVisible(visible)
        self.advanced_button.setArrowType(
            Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow
        )
        if self.advanced_button.isChecked() != visible:
            self.advanced_button.setChecked(visible)
        self.layoutChanged.emit()

    def show_devices_found(self, text: str) -> None:
        """What JAX found on this computer, under the Device choice."""
        self.devices_label.setText(f"This computer has: {text}")
        self.devices_label.show()
        device = self.widgets.get("device")
        if device is not None:
            device.setToolTip(f"{self.settings['device'].tooltip} This computer has: {text}.")

    # -- presets and "train for" ------------------------------------------------------------
    def _fill_presets(self, name: str) -> None:
        box = self.preset_box
        box.blockSignals(True)
        box.clear()
        for preset in registry.presets(name):
            box.addItem(preset.label, preset.name)
            box.setItemData(box.count() - 1, preset.description, Qt.ItemDataRole.ToolTipRole)
        box.addItem("Custom", self.CUSTOM)
        box.setItemData(
            box.count() - 1,
            "Your own settings (see Advanced settings).",
            Qt.ItemDataRole.ToolTipRole,
        )
        box.blockSignals(False)

    def preset_name(self) -> str:
        return str(self.preset_box.currentData())

    def set_preset(self, name: str) -> None:
        """Apply the selected kind's preset `name` (what choosing it in the list does)."""
        self.set_config(registry.preset_config(self.kind_name(), name))

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name != self.CUSTOM:
            self.set_preset(str(name))

    @Slot()
    def _on_train_for_changed(self, *_args) -> None:
        """Write the "train for" choice into the patience and time-limit fields."""
        config = self.config()
        minutes = self.minutes_box.value() or None
        if self.train_for_box.currentData() == self.UNTIL_BETTER:
            default = registry.kind(config.model).defaults.get("patience")
            patience = config.patience or default or self.FALLBACK_PATIENCE
        else:
            patience = None
            minutes = minutes or 1.0
        for name, value in (("patience", patience), ("minutes", minutes)):
            widget = self.widgets[name]
            widget.blockSignals(True)
            set_field_value(widget, self.settings[name], value)
            widget.blockSignals(False)
        self.changed.emit()

    @Slot()
    def _sync_musical_choices(self) -> None:
        """Show the preset and "train for" the current values amount to."""
        config = self.config()
        preset = registry.matching_preset(config) or self.CUSTOM
        self.preset_box.setCurrentIndex(max(self.preset_box.findData(preset), 0))
        description = self.preset_box.currentData(Qt.ItemDataRole.ToolTipRole) or ""
        self.preset_box.setToolTip(
            f"A starting point: how big a model and how long to train. {description}"
        )
        improving = config.patience is not None
        for widget, value in (
            (self.train_for_box, 0 if improving else 1),
            (self.minutes_box, config.minutes or 0.0),
        ):
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self.minutes_caption.setText("At most:" if improving else "For:")

    # -- building ---------------------------------------------------------------------------
    def refresh_kinds(self) -> None:
        """List the registered kinds (label, name); kinds registered later appear here."""
        box: QComboBox = self.widgets["model"]
        current = box.currentData()
        box.blockSignals(True)
        box.clear()
        for kind in registry.KINDS.values():
            box.addItem(kind.label, kind.name)
            box.setItemData(box.count() - 1, kind.description, Qt.ItemDataRole.ToolTipRole)
        box.setCurrentIndex(max(box.findData(current if current else self._kind), 0))
        box.blockSignals(False)

    def _place(
        self, name: str, label: str, widget: QWidget, row: int, col: int, span: int = 1
    ) -> list[QWidget]:
        """Caption, field and its (hidden) message at a grid cell; returns the cell widgets."""
        widget.setAccessibleName(label)
        # Wide ranges (so the checks can explain bad values) must not widen the dock.
        widget.setMinimumWidth(64)
        widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        widget.setObjectName(f"field_{name}")
        message = QLabel()
        message.setStyleSheet(f"color: {ERROR_COLOUR};")
        message.setWordWrap(True)
        message.hide()
        message.setObjectName(f"message_{name}")
        self.messages[name] = message
        self.widgets[name] = widget
        column = QVBoxLayout()
        column.setSpacing(0)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(widget)
        column.addWidget(message)
        holder = QWidget()
        holder.setLayout(column)
        caption = QLabel(label + ":")
        caption.setBuddy(widget)
        self.grid.addWidget(caption, row, col * 2, Qt.AlignmentFlag.AlignTop)
        self.grid.addWidget(holder, row, col * 2 + 1, 1, span)
        # Shown now, not at the layout's next pass: a kind's fields appear the moment it is
        # chosen (and `isVisible()` says so).
        caption.show()
        holder.show()
        return [caption, holder]

    def _add_setting(self, setting: Setting, row: int, col: int) -> list[QWidget]:
        widget = field_for(setting)
        widget.setToolTip(setting.tooltip)
        if isinstance(widget, QCheckBox):
            widget.toggled.connect(self.changed)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(self.changed)
        else:
            widget.valueChanged.connect(self.changed)
        self.settings[setting.name] = setting
        return self._place(setting.name, setting.label, widget, row, col)

    def _show_kind_fields(self, name: str) -> None:
        """Replace the previous kind's own fields by `name`'s (settings with `form=True`)."""
        if name == self._kind:
            return
        self._fill_presets(name)
        for cell in self._kind_cells:
            self.grid.removeWidget(cell)
            cell.hide()
            cell.setParent(None)  # gone from findChild at once, not only after deleteLater
            cell.deleteLater()
        self._kind_cells = []
        common = {s.name for s in COMMON_SETTINGS}
        for gone in [n for n in self.settings if n not in common]:
            del self.settings[gone], self.widgets[gone], self.messages[gone]
        own = [s for s in registry.kind(name).settings if s.form and s.name not in common]
        for index, setting in enumerate(own):
            row, col = divmod(index, self.COLUMNS)
            self._kind_cells += self._add_setting(setting, self._kind_row + row, col)
        self._kind = name

    # -- values -----------------------------------------------------------------------------
    def kind_name(self) -> str:
        return str(self.widgets["model"].currentData())

    def set_config(self, config: TrainingConfig) -> None:
        """Fill the form (and show the config's kind); values the form does not show are kept
        and returned by `config()`. A kind this version does not know gets the default kind's
        defaults."""
        if config.model not in registry.KINDS:
            config = registry.default_config()
        self._base = config
        box: QComboBox = self.widgets["model"]
        box.blockSignals(True)
        box.setCurrentIndex(max(box.findData(config.model), 0))
        box.blockSignals(False)
        changed_kind = config.model != self._kind
        self._show_kind_fields(config.model)
        box.setToolTip(f"The kind of model to train. {registry.kind(config.model).description}")
        for name, setting in self.settings.items():
            widget = self.widgets[name]
            widget.blockSignals(True)
            set_field_value(widget, setting, config.value(name))
            widget.blockSignals(False)
        if changed_kind:
            self.kindChanged.emit(config.model)
        self.changed.emit()

    @Slot(int)
    def _on_kind_selected(self, index: int) -> None:
        name = self.widgets["model"].itemData(index)
        if name in registry.KINDS:
            self.set_config(registry.preset_config(name, registry.presets(name)[0].name))

    def config(self) -> TrainingConfig:
        values = {
            name: field_value(self.widgets[name], setting)
            for name, setting in self.settings.items()
        }
        return self._base.with_values(model=self.kind_name(), **values)

    # -- checking ---------------------------------------------------------------------------
    def field_of(self, problem: str) -> str | None:
        """The shown field a check's message is about: its text starts with the field's label
        or the knob's name (longest match wins), else None."""
        text = problem.lower()
        best, best_len = None, 0
        names = {"model": "Model", **{n: s.label for n, s in self.settings.items()}}
        for name, label in names.items():
            for prefix in message_prefixes(name, label):
                if len(prefix) > best_len and text.startswith(prefix):
                    rest = text[len(prefix) : len(prefix) + 1]
                    if not rest.isalnum():
                        best, best_len = name, len(prefix)
        return best

    def validate(self) -> list[str]:
        """Show each problem under its field (or below the form) and return them all."""
        problems = registry.check_config(self.config())
        for label in self.messages.values():
            label.clear()
            label.hide()
        general: list[str] = []
        for problem in problems:
            name = self.field_of(problem)
            if name is None:
                general.append(problem)
                continue
            message = self.messages.get(name)
            if message is None:  # the model choice: below the form
                general.append(problem)
                continue
            message.setText("\n".join(filter(None, (message.text(), problem))))
            message.show()
        self.general_message.setText("\n".join(general))
        self.general_message.setVisible(bool(general))
        if any(not m.isHidden() for m in self.messages.values()):
            self.set_advanced_visible(True)  # a problem is shown where it can be seen
        return problems

    def visible_messages(self) -> list[str]:
        texts = [m.text() for m in self.messages.values() if not m.isHidden() and m.text()]
        if not self.general_message.isHidden() and self.general_message.text():
            texts.append(self.general_message.text())
        return texts


INT_LIMIT = 2_147_483_647  # QSpinBox holds a C int


def message_prefixes(name: str, label: str) -> set[str]:
    """Lower-case ways a check may name a knob: "Momentum (start)" / "momentum_start" →
    "momentum (start)", "momentum start"; "Transpositions" → also "transposition"."""
    forms = {label, " ".join(label.replace("(", " ").replace(")", " ").split()), name}
    forms.add(name.replace("_", " "))
    forms |= {f[:-1] for f in forms if f.endswith("s")}
    return {f.lower() for f in forms if f}


def field_for(setting: Setting) -> QWidget:
    """An editor for one `Setting`: check box, choice list or spin box with its range."""
    if setting.type == "bool":
        return QCheckBox()
    if setting.type == "choice":
        box = QComboBox()
        for value, label in setting.choices:
            box.addItem(label, value)
        return box
    if setting.type == "float":
        spin = QDoubleSpinBox()
        spin.setDecimals(setting.decimals)
        spin.setRange(float(setting.minimum), float(setting.maximum))
        spin.setSingleStep(setting.step)
    else:
        spin = QSpinBox()
        spin.setRange(int(max(setting.minimum, -INT_LIMIT)), int(min(setting.maximum, INT_LIMIT)))
        spin.setSingleStep(max(int(setting.step), 1))
    if setting.optional:  # 0 stands for None ("none")
        spin.setMinimum(0)
        spin.setSpecialValueText("none")
    return spin


def set_field_value(widget: QWidget, setting: Setting, value: object) -> None:
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        widget.setCurrentIndex(max(widget.findData(value), 0))
    elif isinstance(widget, QDoubleSpinBox):
        widget.setValue(0.0 if value is None else float(value))
    elif isinstance(widget, QSpinBox):
        widget.setValue(0 if value is None else int(value))


def field_value(widget: QWidget, setting: Setting) -> object:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    value = widget.value()
    if setting.optional and value == widget.minimum():
        return None
    return value


class TrainingPanel(QWidget):
    """Form, controls, progress and live plots for one training run at a time."""

    trainRequested = Signal()  # the window answers with start_training(...)
    modelTrained = Signal(object)  # Model, also after Stop
    modelAutosaved = Signal(str)
    statusMessage = Signal(str)
    trainingStateChanged = Signal(str)  # "idle", "compiling", "training", "paused"
    progressReceived = Signal(object)  # TrainingProgress, in order
    sampleRequested = Signal()  # "Hear a sample": the window generates from `model_now()`

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job: Job | None = None
        self.worker: TrainingWorker | None = None
        self.state = "idle"
        self.autosave_every = 5
        self.autosave_to: Path | None = autosave_path()
        self.progress_log: deque = deque(maxlen=5000)
        self._pending_chunks: list[tuple[float, float]] = []
        self._pending_epochs: list[tuple[float, float]] = []
        self._pending_gaps: list[tuple[float, float]] = []
        self._pending_held: list[tuple[float, float]] = []
        self.held_scores: list[tuple[float, float]] = []  # (epoch, held-out score) this run
        self.best_epoch: int | None = None  # of the best held-out score this run
        self.stop_reason: str | None = None  # the worker's final word: "time", "patience"
        self._plot_timer = QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self.flush_plots)
        self.last_model: Model | None = None

        self.form = HyperparameterForm()
        self.form.changed.connect(self._on_form_changed)
        self.continue_box = QCheckBox("Continue training the open model")
        self.continue_box.setToolTip(
            "Keep the open model's weights and train it further on the current songs "
            "(its hidden units and window are kept)."
        )
        self.continue_box.setEnabled(False)

        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Start training on the songs in the dataset (Ctrl+T)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause training; Resume continues where it stopped")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop training and keep the model trained so far")
        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.sample_button = QPushButton("Hear a sample")
        self.sample_button.setObjectName("hearSample")
        self.sample_button.setToolTip(
            "Generate and play a short phrase from the model as it is now; training goes on "
            "(Ctrl+H)"
        )
        self.sample_button.clicked.connect(self.sampleRequested)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button, self.sample_button):
            buttons.addWidget(b)

        self.phase_label = QLabel("Ready to train.")
        self.phase_label.setToolTip("What training is doing now")
        self.epoch_label = QLabel("Epoch — / —")
        self.epoch_label.setToolTip("Completed epochs / planned epochs")
        self.eta_label = QLabel("ETA —")
        self.eta_label.setToolTip("Estimated time until training finishes")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setToolTip("Progress over all planned epochs")
        status = QGridLayout()
        status.addWidget(self.phase_label, 0, 0, 1, 2)
        status.addWidget(self.epoch_label, 1, 0)
        status.addWidget(self.eta_label, 1, 1, Qt.AlignmentFlag.AlignRight)
        status.addWidget(self.progress_bar, 2, 0, 1, 2)
        self.verdict_label = QLabel("")
        self.verdict_label.setObjectName("held_out_verdict")
        self.verdict_label.setToolTip(
            "How the model does on held-out songs it never trains on: still learning while "
            "their score improves, memorising when it has stopped improving."
        )
        self.verdict_label.setMinimumWidth(10)
        self.verdict_label.setWordWrap(True)
        status.addWidget(self.verdict_label, 3, 0, 1, 2)
        status.setColumnStretch(0, 1)
        status.setColumnStretch(1, 1)
        self.phase_label.setMinimumWidth(10)  # long messages wrap instead of widening the dock
        self.phase_label.setWordWrap(True)

        self.error_plot = ErrorPlot()
        self.gap_plot = GapPlot()
        self.heatmap = WeightHeatmap()
        self.histogram = ActivationHistogram()
        # Small minimums: on a short screen the plots give way to the controls (and can be
        # dragged shut), so the panel fits a 640-pixel-high window.
        for plot in (self.error_plot, self.gap_plot, self.histogram):
            plot.setMinimumHeight(60)
        self.heatmap.setMinimumHeight(60)

        form_box = QGroupBox("What to train")
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(2, 2, 2, 2)
        self.form_scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_form()
        self.form.kindChanged.connect(self._fit_form)
        self.form.layoutChanged.connect(self._fit_form)
        self.form.layoutChanged.connect(self._probe_devices)
        self.devices_job: Job | None = None
        form_layout.addWidget(scroll)
        form_layout.addWidget(self.continue_box)

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 0, 0)
        controls_layout.addWidget(form_box, 1)
        controls_layout.addLayout(buttons)
        controls_layout.addLayout(status)

        plots_top = QSplitter(Qt.Orientation.Horizontal)
        plots_top.addWidget(self.error_plot)
        plots_top.addWidget(self.gap_plot)
        plots_bottom = QSplitter(Qt.Orientation.Horizontal)
        plots_bottom.addWidget(self.heatmap)
        plots_bottom.addWidget(self.histogram)
        plots_bottom.setStretchFactor(0, 3)
        plots_bottom.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("trainingSplitter")
        self.splitter.addWidget(controls)
        self.splitter.addWidget(plots_top)
        self.splitter.addWidget(plots_bottom)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)
        self._update_buttons()

    # -- form -------------------------------------------------------------------------------
    def config(self) -> TrainingConfig:
        return self.form.config()

    def set_config(self, config: TrainingConfig) -> None:
        self.form.set_config(config)

    @Slot()
    def _fit_form(self) -> None:
        """The musical choices always show whole; opened Advanced settings scroll when the
        window is short (another kind may bring more or fewer fields)."""
        hint = self.form.sizeHint().height() + 4
        if self.form.advanced.isVisible():
            hint = min(hint, ADVANCED_MIN_HEIGHT)
        self.form_scroll.setMinimumHeight(hint)
        # Never narrower than the form: a clipped form would hide its right edge.
        bar = self.form_scroll.verticalScrollBar().sizeHint().width()
        self.form_scroll.setMinimumWidth(self.form.minimumSizeHint().width() + bar + 4)
        splitter = getattr(self, "splitter", None)
        if splitter is None:
            return
        controls = splitter.widget(0)
        for widget in (self.form, self.form_scroll.parentWidget(), controls):
            if widget is not None and widget.layout() is not None:
                widget.layout().invalidate()
                widget.layout().activate()
        # The controls pane grows to fit (taking the room from the plots), and gives it back
        # when Advanced closes.
        sizes = splitter.sizes()
        need = splitter.widget(0).minimumSizeHint().height()
        if sum(sizes) > 0 and sizes[0] != need:
            extra = need - sizes[0]
            top = max(sizes[1] - extra // 2, 0)
            splitter.setSizes([need, top, max(sizes[2] - (extra - (sizes[1] - top)), 0)])

    @Slot()
    def _probe_devices(self) -> None:
        """The first time Advanced opens, ask JAX (in a worker: it imports JAX) which devices
        it found, for the Device choice."""
        if self.devices_job is not None or not self.form.advanced.isVisible():
            return

        def work(_progress, _cancel) -> str:
            from ..platform.devices import found

            return found()

        self.devices_job = run_function(work, "devices", self)
        self.devices_job.finished.connect(self.form.show_devices_found)

    @Slot()
    def _on_form_changed(self) -> None:
        self.form.validate()
        self._update_buttons()

    def set_model_available(self, available: bool) -> None:
        self.continue_box.setEnabled(available)
        if not available:
            self.continue_box.setChecked(False)

    # -- history ----------------------------------------------------------------------------
    def show_history(self, history: Sequence[dict]) -> None:
        """Plot a model's saved training curve (when a model file is opened)."""
        self._discard_pending_points()
        self.error_plot.clear_data()
        self.gap_plot.clear_data()
        epochs, gaps, held = [], [], []
        for record in history:
            epoch = float(record.get("epoch", 0))
            if record.get("recon_error") is not None:
                epochs.append((epoch, float(record["recon_error"])))
            if record.get("free_energy_gap") is not None:
                gaps.append((epoch, float(record["free_energy_gap"])))
            if record.get("held_out") is not None:
                held.append((epoch, float(record["held_out"])))
        self.error_plot.add_points([], epochs)
        self.gap_plot.add_points(gaps)
        self.gap_plot.add_held_out(held)
        best = int(max(held, key=lambda s: s[1])[0]) if held else None
        self.gap_plot.set_best_epoch(best)
        self.held_scores, self.best_epoch, self.stop_reason = held, best, None
        self.verdict_label.setText(held_out_verdict(held, best, "loaded"))

    def show_model(self, model: Model) -> None:
        """Show an opened model: its form values, its curve, its receptive fields."""
        self.last_model = model
        self.set_config(model.config)
        self.show_history(model.history)
        try:
            self.heatmap.set_fields(model.receptive_fields())
        except (ValueError, KeyError):
            self.heatmap.clear_data()
        epochs = model.epochs_trained
        self.epoch_label.setText(f"Epoch {epochs} / {model.config.epochs}")
        planned = max(model.config.epochs, 1)
        self.progress_bar.setValue(int(min(epochs / planned, 1.0) * 1000))
        self.phase_label.setText(f"Model loaded: trained for {epochs} epochs.")
        self.set_model_available(True)

    # -- running ----------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start_training(
        self,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
        dataset_summary: dict | None = None,
    ) -> bool:
        """Validate the form and start the worker; False (with a message shown) if it cannot."""
        if self.is_training():
            self.statusMessage.emit("Training is already running.")
            return False
        problems = self.form.validate()
        if problems:
            self.phase_label.setText("Fix the highlighted hyperparameters to train.")
            self.statusMessage.emit(problems[0])
            return False
        if not matrices:
            self.phase_label.setText("No songs to learn from: drop a MIDI folder first.")
            self.statusMessage.emit("No songs to learn from.")
            return False
        config = self.config()
        if model is not None and config.model != model.kind:
            # Continuing trains the open model's kind: its own settings, the form's epochs.
            config = replace(model.config, epochs=config.epochs)
            self.set_config(config)
        if model is not None and (
            model.n_hidden != config.hidden
            or model.window != registry.kind(config.model).window(config)
        ):
            config = replace(config, hidden=model.n_hidden, window=model.config.window)
            self.set_config(config)
        self.progress_log.clear()
        self.held_scores, self.best_epoch, self.stop_reason = [], None, None
        self.verdict_label.setText("")
        if model is None:
            self._discard_pending_points()
            self.error_plot.clear_data()
            self.gap_plot.clear_data()
            self.heatmap.clear_data()
            self.histogram.clear_data()
        self.progress_bar.setValue(0)
        self.worker = TrainingWorker(
            config,
            matrices,
            encoding,
            model=model,
            autosave_every=self.autosave_every,
            autosave_to=self.autosave_to,
            dataset_summary=dataset_summary,
        )
        self.job = Job(self.worker, "training", self)
        self.job.progress.connect(self._on_update)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self._set_state("compiling")
        self.phase_label.setText("Compiling…")
        self.job.start()
        self.statusMessage.emit(f"Training on {len(matrices)} songs…")
        return True

    @Slot()
    def toggle_pause(self) -> None:
        if not self.is_training() or self.worker is None:
            return
        if self.state == "paused":
            self.worker.resume()
            self._set_state("training")
            self.phase_label.setText("Training…")
        else:
            self.worker.pause()
            self._set_state("paused")
            self.phase_label.setText("Paused.")

    def model_now(self) -> Model | None:
        """The model as training has it at this moment (numpy copies; any thread), or None
        before the first epoch. Training goes on."""
        trainer = self.worker.trainer if self.worker is not None else None
        if trainer is None or not self.is_training():
            return None
        return trainer.snapshot()

    @Slot()
    def stop(self) -> None:
        if self.is_training() and self.job is not None:
            self.phase_label.setText("Stopping…")
            self.job.cancel()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.trainingStateChanged.emit(state)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.state != "idle"
        self.train_button.setEnabled(not running and not self.form.visible_messages())
        self.pause_button.setEnabled(running and self.state != "compiling")
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")
        self.pause_button.setToolTip(
            "Continue training" if self.state == "paused" else "Pause training"
        )
        self.stop_button.setEnabled(running)
        self.sample_button.setEnabled(self.state in ("training", "paused"))
        self.form.setEnabled(not running)
        self.continue_box.setEnabled(not running and self.last_model is not None)

    @Slot(object)
    def _on_update(self, update: TrainingUpdate) -> None:
        for p in update.progresses:
            self.progress_log.append(p)
            self.progressReceived.emit(p)
        if update.progresses:
            self._show_progress(update.progresses)
        if update.fields is not None:
            self.heatmap.set_fields(update.fields, update.band)
        if update.activations is not None:
            self.histogram.set_activations(update.activations)
        if update.final:
            self.stop_reason = update.stop_reason
            if update.best_epoch is not None:
                self.best_epoch = int(update.best_epoch)
        if update.autosaved:
            self.modelAutosaved.emit(update.autosaved)
        if update.autosave_error:
            self.statusMessage.emit(f"Autosave failed: {update.autosave_error}")

    def _show_progress(self, reports: list) -> None:
        """Labels from the newest report; plot points from every report in the batch."""
        p = reports[-1]
        epoch, total = int(p.epoch), int(p.epochs)  # both count the continued model's epochs
        if p.phase == "compiling":
            self.phase_label.setText("Compiling… (the first run takes a few seconds)")
        # Pause and resume are the musician's: the panel's state follows their clicks, never a
        # report. A "paused" report still in flight after Resume (or a "training" one after
        # Pause) describes a moment that has passed and must not undo the click.
        elif p.phase == "paused":
            if self.state == "paused":
                self.phase_label.setText("Paused.")
        elif p.phase == "training":
            if self.state == "compiling":
                self._set_state("training")
            if self.state == "training":
                self.phase_label.setText(
                    f"Training… batch {p.batch}/{p.batches_per_epoch}, error {p.recon_error:.4f}"
                )
        self.epoch_label.setText(f"Epoch {epoch} / {total}")
        self.eta_label.setText(f"ETA {format_seconds(p.eta)}")
        if p.epochs:
            fraction = (
                p.epoch + (p.batch / p.batches_per_epoch if p.batches_per_epoch else 0)
            ) / p.epochs
            if p.epoch_end:
                fraction = p.epoch / p.epochs
            self.progress_bar.setValue(int(min(max(fraction, 0.0), 1.0) * 1000))
        epochs, chunks, gaps, held = [], [], [], []
        for r in reports:
            if r.best_epoch is not None:
                self.best_epoch = int(r.best_epoch)
            if r.phase == "training" and r.epoch_end and r.held_out is not None:
                held.append((float(r.epoch), float(r.held_out)))
            if r.phase != "training" or r.recon_error != r.recon_error:
                continue
            if r.epoch_end:
                epochs.append((float(r.epoch), float(r.recon_error)))
                if r.free_energy_gap is not None:
                    gaps.append((float(r.epoch), float(r.free_energy_gap)))
            elif r.batches_per_epoch:
                x = r.epoch + r.batch / r.batches_per_epoch
                chunks.append((float(x), float(r.recon_error)))
        # Points are drawn in batches (PLOT_INTERVAL_MS): repainting pyqtgraph plots is the
        # GUI thread's main cost while training, and every redraw delays other events.
        self._pending_chunks.extend(chunks)
        self._pending_epochs.extend(epochs)
        self._pending_gaps.extend(gaps)
        self._pending_held.extend(held)
        if held:
            self.held_scores.extend(held)
            self.verdict_label.setText(held_out_verdict(self.held_scores, self.best_epoch))
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    def _discard_pending_points(self) -> None:
        self._plot_timer.stop()
        self._pending_chunks, self._pending_epochs, self._pending_gaps = [], [], []
        self._pending_held = []

    @Slot()
    def flush_plots(self) -> None:
        """Draw the points received since the last redraw."""
        self._plot_timer.stop()
        self.error_plot.add_points(self._pending_chunks, self._pending_epochs)
        self.gap_plot.add_points(self._pending_gaps)
        self.gap_plot.add_held_out(self._pending_held)
        if self.best_epoch != self.gap_plot.best_epoch and self.held_scores:
            self.gap_plot.set_best_epoch(self.best_epoch)
        self._pending_chunks, self._pending_epochs, self._pending_gaps = [], [], []
        self._pending_held = []

    @Slot(object)
    def _on_finished(self, model: Model | None) -> None:
        self.flush_plots()
        last = self.progress_log[-1] if self.progress_log else None
        cancelled = last is not None and last.phase == "cancelled"
        if model is not None:
            self.last_model = model
        self._on_concluded()
        outcome = "cancelled" if cancelled else (self.stop_reason or "done")
        self.verdict_label.setText(held_out_verdict(self.held_scores, self.best_epoch, outcome))
        if model is not None:
            epochs = model.epochs_trained
            ran = int(last.epoch) if last is not None else epochs
            if cancelled:
                phase = f"Stopped after {epochs} epochs; the model is kept."
                status = f"Training stopped at epoch {epochs}; model kept."
            elif outcome == "patience":
                phase = f"Done: no progress after epoch {epochs}; stopped at {ran}, kept {epochs}."
                status = f"Training stopped at its best: epoch {epochs} kept (ran {ran})."
            elif outcome == "diverged":
                phase = (
                    f"Stopped: the weights ran out of range after epoch {epochs}; the last good "
                    "model is kept. Try a smaller learning rate."
                )
                status = f"Training diverged; kept the model of epoch {epochs}."
            elif outcome == "time":
                phase = f"Done: time limit reached after {epochs} epochs."
                status = f"Training reached its time limit ({epochs} epochs)."
            else:
                phase = f"Done: {epochs} epochs."
                status = f"Training finished ({epochs} epochs)."
            self.phase_label.setText(phase)
            self.modelTrained.emit(model)
            self.statusMessage.emit(status)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.flush_plots()
        self.phase_label.setText(f"Training failed: {message}")
        self.phase_label.setToolTip(details[-2000:])
        self.statusMessage.emit(f"Training failed: {message}")
        self._on_concluded()

    def _on_concluded(self) -> None:
        """The result or error is in: the panel is ready for the next run (the old thread may
        still be writing its final autosave)."""
        self._set_state("idle")
        self.set_model_available(self.last_model is not None)
        self._update_buttons()
