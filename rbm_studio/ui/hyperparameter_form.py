"""The training settings form: the controls, bound to `studio.settings_form` (which fields a kind
shows, the config they make, where each problem is said, presets and "train for")."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..models import registry
from ..models.base import Setting
from ..models.config import TrainingConfig
from ..studio import settings_form
from ..studio.settings_form import Choice, SettingsForm

ERROR_COLOUR = "#d93025"  # readable on light and dark backgrounds


class HyperparameterForm(QWidget):
    """The model-kind choice, a preset and how long to train, in musical terms; every
    hyperparameter below them in a collapsed "Advanced" section, one inline message per bad value.

    Choosing another kind applies that kind's first preset (its defaults) and swaps its fields.
    The preset and "train for" choices are views on the same values as the Advanced fields:
    changing either updates the other, and the preset reads "Custom" once a value differs from
    every preset. Fields deliberately accept out-of-range numbers so `registry.check_config` can
    explain what is wrong instead of the spin box silently clamping.
    """

    changed = Signal()
    kindChanged = Signal(str)  # the selected kind's name (its fields are shown by now)
    layoutChanged = Signal()  # Advanced opened or closed

    COLUMNS = 1  # one label/field pair per row: every field readable in a narrow dock
    CUSTOM = settings_form.CUSTOM
    UNTIL_BETTER, FOR_TIME = settings_form.UNTIL_BETTER, settings_form.FOR_TIME
    FALLBACK_PATIENCE = settings_form.FALLBACK_PATIENCE

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form_model = SettingsForm()
        self.widgets: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self._kind_cells: list[QWidget] = []  # captions and fields of the kind's own settings
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)
        outer.addLayout(self._build_musical_choices())
        self._build_advanced(outer)
        self.general_message = error_label("message_general")
        outer.addWidget(self.general_message)
        self.changed.connect(self._sync_musical_choices)
        self.set_config(registry.default_config())

    @property
    def settings(self) -> dict[str, Setting]:
        """The `Setting` behind each shown field."""
        return self.form_model.settings

    # -- building ---------------------------------------------------------------------------
    def _build_musical_choices(self) -> QGridLayout:
        model_box = QComboBox()
        model_box.setObjectName("field_model")
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
        self.minutes_box = minutes_field()
        self.minutes_box.valueChanged.connect(self._on_train_for_changed)
        self.minutes_caption = QLabel("At most:")
        rows = (
            ("Model", model_box),
            ("Preset", self.preset_box),
            ("Train", self.train_for_box),
            (None, self.minutes_box),
        )
        basic = grid_layout()
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
        return basic

    def _build_advanced(self, outer: QVBoxLayout) -> None:
        """The "Advanced settings" toggle and the section it opens: every shown knob."""
        self.advanced_button = button = QToolButton()
        button.setObjectName("advancedToggle")
        button.setText("Advanced settings")
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setArrowType(Qt.ArrowType.RightArrow)
        button.setAutoRaise(True)
        button.setToolTip("Show or hide every training setting")
        button.toggled.connect(self.set_advanced_visible)
        outer.addWidget(button)
        self.advanced = QWidget()
        self.advanced.setObjectName("advancedSection")
        advanced_layout = QVBoxLayout(self.advanced)
        advanced_layout.setContentsMargins(12, 0, 0, 0)
        self.grid = grid_layout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(3, 1)
        advanced_layout.addLayout(self.grid)
        outer.addWidget(self.advanced)
        self.advanced.hide()
        common = settings_form.common_settings()
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

    def refresh_kinds(self) -> None:
        """List the registered kinds (label, name); kinds registered later appear here."""
        box: QComboBox = self.widgets["model"]
        current = box.currentData()
        fill_choices(box, settings_form.kind_choices())
        box.blockSignals(True)
        box.setCurrentIndex(max(box.findData(current if current else self.form_model.kind), 0))
        box.blockSignals(False)

    def _place(self, name: str, label: str, widget: QWidget, row: int, col: int) -> list[QWidget]:
        """Caption, field and its (hidden) message at a grid cell; returns the cell widgets."""
        widget.setAccessibleName(label)
        # Wide ranges (so the checks can explain bad values) must not widen the dock.
        widget.setMinimumWidth(64)
        widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        widget.setObjectName(f"field_{name}")
        message = error_label(f"message_{name}")
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
        self.grid.addWidget(holder, row, col * 2 + 1, 1, 1)
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
        return self._place(setting.name, setting.label, widget, row, col)

    def _show_kind_fields(self, name: str) -> None:
        """Replace the previous kind's own fields by `name`'s (settings with `form=True`)."""
        swap = self.form_model.show_kind(name)
        if swap is None:
            return
        gone, own = swap
        fill_choices(self.preset_box, settings_form.preset_choices(name))
        for cell in self._kind_cells:
            self.grid.removeWidget(cell)
            cell.hide()
            cell.setParent(None)  # gone from findChild at once, not only after deleteLater
            cell.deleteLater()
        self._kind_cells = []
        for n in gone:
            del self.widgets[n], self.messages[n]
        for index, setting in enumerate(own):
            row, col = divmod(index, self.COLUMNS)
            self._kind_cells += self._add_setting(setting, self._kind_row + row, col)

    # -- Advanced and devices ---------------------------------------------------------------
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
        values = settings_form.train_for_values(
            self.config(), self.train_for_box.currentData(), self.minutes_box.value()
        )
        for name, value in values.items():
            set_quietly(self.widgets[name], self.settings[name], value)
        self.changed.emit()

    @Slot()
    def _sync_musical_choices(self) -> None:
        """Show the preset and "train for" the current values amount to."""
        choices = settings_form.musical_choices(self.config())
        self.preset_box.setCurrentIndex(max(self.preset_box.findData(choices.preset), 0))
        self.preset_box.setToolTip(choices.preset_tooltip)
        for widget, value in (
            (self.train_for_box, 0 if choices.improving else 1),
            (self.minutes_box, choices.minutes),
        ):
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self.minutes_caption.setText(choices.minutes_caption)

    # -- values -----------------------------------------------------------------------------
    def kind_name(self) -> str:
        return str(self.widgets["model"].currentData())

    def set_config(self, config: TrainingConfig) -> None:
        """Fill the form (and show the config's kind); values the form does not show are kept
        and returned by `config()`. A kind this version does not know gets the default kind's
        defaults."""
        config = self.form_model.load(config)
        box: QComboBox = self.widgets["model"]
        box.blockSignals(True)
        box.setCurrentIndex(max(box.findData(config.model), 0))
        box.blockSignals(False)
        changed_kind = config.model != self.form_model.kind
        self._show_kind_fields(config.model)
        box.setToolTip(settings_form.kind_tooltip(config.model))
        for name, setting in self.settings.items():
            set_quietly(self.widgets[name], setting, config.value(name))
        if changed_kind:
            self.kindChanged.emit(config.model)
        self.changed.emit()

    @Slot(int)
    def _on_kind_selected(self, index: int) -> None:
        name = self.widgets["model"].itemData(index)
        if name in registry.KINDS:
            self.set_config(settings_form.first_preset(name))

    def config(self) -> TrainingConfig:
        values = {
            name: field_value(self.widgets[name], setting)
            for name, setting in self.settings.items()
        }
        return self.form_model.config(self.kind_name(), values)

    # -- checking ---------------------------------------------------------------------------
    def field_of(self, problem: str) -> str | None:
        """The shown field a check's message is about (see `settings_form.field_of`)."""
        return settings_form.field_of(problem, self.settings)

    def validate(self) -> list[str]:
        """Show each problem under its field (or below the form) and return them all."""
        problems = self.form_model.check(self.config())
        for name, label in self.messages.items():
            label.setText("\n".join(problems.by_field.get(name, [])))
            label.setVisible(name in problems.by_field)
        self.general_message.setText("\n".join(problems.general))
        self.general_message.setVisible(bool(problems.general))
        if problems.by_field:
            self.set_advanced_visible(True)  # a problem is shown where it can be seen
        return problems.all

    def visible_messages(self) -> list[str]:
        texts = [m.text() for m in self.messages.values() if not m.isHidden() and m.text()]
        if not self.general_message.isHidden() and self.general_message.text():
            texts.append(self.general_message.text())
        return texts


# -- controls for settings --------------------------------------------------------------------
def grid_layout() -> QGridLayout:
    grid = QGridLayout()
    grid.setHorizontalSpacing(8)
    grid.setVerticalSpacing(3)
    grid.setColumnStretch(1, 1)
    return grid


def error_label(name: str) -> QLabel:
    """A hidden, wrapping message in the error colour."""
    label = QLabel()
    label.setObjectName(name)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.setWordWrap(True)
    label.hide()
    return label


def minutes_field() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setObjectName("field_train_minutes")
    box.setRange(0.0, 100_000.0)
    box.setDecimals(1)
    box.setSingleStep(0.5)
    box.setSuffix(" min")
    box.setSpecialValueText("no limit")
    box.setToolTip("The most time training may take (no limit: until done).")
    return box


def fill_choices(box: QComboBox, choices: list[Choice]) -> None:
    """Replace `box`'s entries (value as item data, tooltip per entry) without signals."""
    box.blockSignals(True)
    box.clear()
    for choice in choices:
        box.addItem(choice.label, choice.value)
        box.setItemData(box.count() - 1, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
    box.blockSignals(False)


def field_for(setting: Setting) -> QWidget:
    """An editor for one `Setting`: check box, choice list or spin box with its range."""
    if setting.type == "bool":
        return QCheckBox()
    if setting.type == "choice":
        box = QComboBox()
        for value, label in setting.choices:
            box.addItem(label, value)
        return box
    lo, hi = settings_form.field_range(setting)
    if setting.type == "float":
        spin = QDoubleSpinBox()
        spin.setDecimals(setting.decimals)
        spin.setSingleStep(setting.step)
    else:
        spin = QSpinBox()
        spin.setSingleStep(max(int(setting.step), 1))
    spin.setRange(lo, hi)
    if setting.optional:  # 0 stands for None ("none")
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


def set_quietly(widget: QWidget, setting: Setting, value: object) -> None:
    """Set a field's value without its change signal (the caller says what changed)."""
    widget.blockSignals(True)
    set_field_value(widget, setting, value)
    widget.blockSignals(False)


def field_value(widget: QWidget, setting: Setting) -> object:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    value = widget.value()
    if setting.optional and value == widget.minimum():
        return None
    return value
