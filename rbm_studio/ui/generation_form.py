"""The generation panel's options in musical terms (variations, length, form, adventurousness, key,
note range, tempo, instrument, continuing a song, the sampler's Gibbs steps), with the Generate button
and the panel's message under them. The form only shows and reads its controls: what the options
mean is `studio.generation`'s.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..music.form import FORM_CHOICES, MAX_LOOP_BARS, parse_form
from ..music.keys import KEYS, SongsKeys, pitch_name
from ..playback.gm_programs import GM_PROGRAMS
from ..studio.generation import ANY_KEY, LIKE_SONGS, GenerationOptions

TEMPERATURE_RANGE = (0.2, 1.6)  # the adventurousness slider's ends
SONGS_TEMPO = 19  # the tempo box's lowest value: "like the songs" (their typical tempo)


def slider_to_temperature(position: int) -> float:
    low, high = TEMPERATURE_RANGE
    return low + (high - low) * position / 100.0


def temperature_to_slider(temperature: float) -> int:
    low, high = TEMPERATURE_RANGE
    return int(round(100.0 * (temperature - low) / (high - low)))


class PitchSpin(QSpinBox):
    """A MIDI pitch shown as a note name (C4 = 60); its lowest value means "no limit"."""

    NONE = -1

    def __init__(self, which: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(self.NONE, 127)
        self.setValue(self.NONE)
        self.setSpecialValueText("any")
        self.setToolTip(f"The {which} note the new songs may play (any: no limit)")

    def textFromValue(self, value: int) -> str:  # noqa: N802 (Qt override)
        return "any" if value < 0 else pitch_name(value)

    def valueFromText(self, text: str) -> int:  # noqa: N802
        text = text.strip()
        if text.lower() in ("", "any"):
            return self.NONE
        for pitch in range(128):
            if pitch_name(pitch).lower() == text.lower():
                return pitch
        return int(text) if text.isdigit() else self.NONE

    def validate(self, text: str, pos: int):  # noqa: D102 (Qt override)
        return QValidator.State.Acceptable, text, pos

    def pitch(self) -> int | None:
        return None if self.value() < 0 else self.value()

    def set_pitch(self, pitch: int | None) -> None:
        self.setValue(self.NONE if pitch is None else int(pitch))


def _spin(low: int, high: int, value: int, tip: str, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


class GenerationForm(QScrollArea):
    """The options column of the generation panel (it scrolls when the dock is short)."""

    ANY = ANY_KEY
    LIKE_SONGS = LIKE_SONGS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._temperature = 1.0
        self._build_count_boxes()
        self._build_sound_boxes()
        self._build_start_boxes()
        self._name_boxes()
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._build_form())
        column.addStretch(1)
        # Generate and its message sit under the scrolling options (the panel lays them out),
        # so a short window never scrolls Generate out of sight.
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(260)
        self.setMaximumWidth(340)
        self.set_temperature(1.0)
        self.update_enabled()

    # -- construction -----------------------------------------------------------------------
    def _build_count_boxes(self) -> None:
        self.songs_box = _spin(1, 50, 3, "How many different songs each Generate press makes")
        self.bars_box = _spin(1, 512, 16, "Length of each new song in bars", " bars")
        self.form_box = QComboBox()
        for style, label, tip in FORM_CHOICES:
            self.form_box.addItem(label, style)
            self.form_box.setItemData(self.form_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.form_box.setToolTip(
            "Like the songs: bars repeat and vary as in your songs. Loop: a seamless loop of a "
            "few bars, repeated, to drop into a DAW. Free: every bar new."
        )
        self.loop_bars_box = _spin(1, MAX_LOOP_BARS, 4, "Bars in the loop", " bars")
        self.form_box.currentIndexChanged.connect(self.update_enabled)
        self.adventure_slider = QSlider(Qt.Orientation.Horizontal)
        self.adventure_slider.setRange(0, 100)
        self.adventure_slider.setToolTip(
            "Safe: the model's most likely choices, calmer and more repetitive. Adventurous: "
            "more surprising notes (the sampling temperature)."
        )
        self.adventure_slider.valueChanged.connect(self._on_adventure_moved)
        self.adventure_label = QLabel()
        self.adventure_label.setMinimumWidth(10)
        self.gibbs_box = _spin(
            1,
            10_000,
            20,
            "Gibbs sampling steps per sampled window or step: more steps, more settled music "
            "(set to the model kind's default when a model is opened or trained)",
        )

    def _build_sound_boxes(self) -> None:
        self.key_box = QComboBox()
        self.key_box.setToolTip(
            "Keep the notes in a key: the model plays only the scale's notes (its other "
            "pitches stay silent while it samples)."
        )
        self.key_box.addItem("Any key", self.ANY)
        self.key_box.addItem("Like the songs", self.LIKE_SONGS)
        for key in KEYS:
            self.key_box.addItem(key, key)
        self.lowest_box = PitchSpin("lowest")
        self.highest_box = PitchSpin("highest")
        self.tempo_box = _spin(
            SONGS_TEMPO,
            400,
            SONGS_TEMPO,
            "Tempo of the new songs (played and written into exported files); at its lowest, "
            "the songs' own typical tempo. A continued song keeps its own tempo.",
            " BPM",
        )
        self.tempo_box.setSpecialValueText("Like the songs")
        self.instrument_box = QComboBox()
        for number, name in enumerate(GM_PROGRAMS):
            self.instrument_box.addItem(f"{number + 1}  {name}", number)
        self.instrument_box.setToolTip(
            "General MIDI instrument of the new songs (played and written into exported files)"
        )

    def _build_start_boxes(self) -> None:
        self.mode_box = QComboBox()
        self.mode_box.addItem("From silence", "silence")
        self.mode_box.addItem("Continue the selected song", "continue")
        self.mode_box.setToolTip(
            "Start from silence, or continue the song selected in the song list (from its end "
            "or from the bar you choose); the part it continues is drawn in its own colour"
        )
        self.from_bar_box = QSpinBox()
        self.from_bar_box.setRange(0, 10_000)
        self.from_bar_box.setSpecialValueText("its end")
        self.from_bar_box.setPrefix("after bar ")
        self.from_bar_box.setToolTip("Continue after this bar of the selected song (or its end)")
        self.mode_box.currentIndexChanged.connect(self.update_enabled)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip(
            "Make new songs from the model, each with a fresh seed (Ctrl+G)"
        )
        self.message = QLabel("Train or open a model to generate songs.")
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(10)
        self.message.setToolTip("Generation status")

    def _name_boxes(self) -> None:
        for widget, name in (
            (self.songs_box, "Variations"),
            (self.bars_box, "Length"),
            (self.form_box, "Form"),
            (self.loop_bars_box, "Loop length"),
            (self.adventure_slider, "Adventurousness"),
            (self.key_box, "Key"),
            (self.lowest_box, "Lowest note"),
            (self.highest_box, "Highest note"),
            (self.tempo_box, "Tempo"),
            (self.instrument_box, "Instrument"),
            (self.mode_box, "Start"),
            (self.from_bar_box, "Continue after bar"),
            (self.gibbs_box, "Gibbs steps"),
        ):
            widget.setAccessibleName(name)
            widget.setMinimumWidth(40)

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Variations:", self.songs_box)
        form.addRow("Length:", self.bars_box)
        song_form = QHBoxLayout()
        song_form.addWidget(self.form_box, 2)
        song_form.addWidget(self.loop_bars_box, 1)
        form.addRow("Form:", song_form)
        adventure = QHBoxLayout()
        adventure.addWidget(self.adventure_slider, 1)
        adventure.addWidget(self.adventure_label)
        form.addRow("Adventurous:", adventure)
        form.addRow("Key:", self.key_box)
        pitch_range = QHBoxLayout()
        pitch_range.addWidget(self.lowest_box, 1)
        pitch_range.addWidget(QLabel("to"))
        pitch_range.addWidget(self.highest_box, 1)
        form.addRow("Notes:", pitch_range)
        form.addRow("Tempo:", self.tempo_box)
        form.addRow("Instrument:", self.instrument_box)
        form.addRow("Start:", self.mode_box)
        form.addRow("Continue:", self.from_bar_box)
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setToolTip("Show or hide the sampler's own settings")
        self.gibbs_label = QLabel("Gibbs steps:")
        self.gibbs_label.setBuddy(self.gibbs_box)
        self.advanced_button.toggled.connect(self._show_advanced)
        form.addRow(self.advanced_button)
        form.addRow(self.gibbs_label, self.gibbs_box)
        self._show_advanced(False)
        return form

    @Slot(bool)
    def _show_advanced(self, visible: bool) -> None:
        self.gibbs_label.setVisible(visible)
        self.gibbs_box.setVisible(visible)
        self.advanced_button.setArrowType(
            Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow
        )

    # -- adventurousness --------------------------------------------------------------------
    def temperature(self) -> float:
        return self._temperature

    def set_temperature(self, value: float) -> None:
        """The sampling temperature; the slider shows it as adventurousness."""
        self._temperature = float(min(max(value, TEMPERATURE_RANGE[0]), TEMPERATURE_RANGE[1]))
        self.adventure_slider.blockSignals(True)
        self.adventure_slider.setValue(temperature_to_slider(self._temperature))
        self.adventure_slider.blockSignals(False)
        self._show_adventure()

    @Slot(int)
    def _on_adventure_moved(self, position: int) -> None:
        self._temperature = slider_to_temperature(position)
        self._show_adventure()

    def _show_adventure(self) -> None:
        position = self.adventure_slider.value()
        words = "safe" if position < 30 else "adventurous" if position > 70 else "balanced"
        self.adventure_label.setText(words)
        self.adventure_label.setToolTip(f"Sampling temperature {self._temperature:.2f}")

    # -- options ----------------------------------------------------------------------------
    def generation_options(self) -> GenerationOptions:
        return GenerationOptions(
            songs=self.songs_box.value(),
            bars=self.bars_box.value(),
            gibbs_steps=self.gibbs_box.value(),
            temperature=round(self._temperature, 4),
            start=self.mode_box.currentData(),
            from_bar=self.from_bar_box.value(),
            key=self.key_box.currentData(),
            lowest=self.lowest_box.pitch(),
            highest=self.highest_box.pitch(),
            tempo=None if self.tempo_box.value() == SONGS_TEMPO else self.tempo_box.value(),
            program=int(self.instrument_box.currentData()),
            form=self.form(),
        )

    def form(self) -> str:
        """The form asked for, as `music.form.parse_form` reads it (like-songs, loop:N, free)."""
        style = self.form_box.currentData()
        return f"loop:{self.loop_bars_box.value()}" if style == "loop" else style

    def options(self) -> dict:
        """The shown options as the settings table songs and the window's settings keep."""
        return self.generation_options().settings()

    def set_options(self, values: dict) -> None:
        """Show saved or asked-for options; values of the wrong type are left out."""
        boxes = {
            "songs": self.songs_box,
            "bars": self.bars_box,
            "gibbs_steps": self.gibbs_box,
            "from_bar": self.from_bar_box,
            "tempo": self.tempo_box,
        }
        for key, box in boxes.items():
            if isinstance(values.get(key), int | float) and not isinstance(values[key], bool):
                box.setValue(int(values[key]))
        if isinstance(values.get("temperature"), int | float):
            self.set_temperature(float(values["temperature"]))
        for key, box in (("start", self.mode_box), ("key", self.key_box)):
            index = box.findData(values.get(key))
            if index >= 0:
                box.setCurrentIndex(index)
        for key, box in (("lowest", self.lowest_box), ("highest", self.highest_box)):
            if key in values and (values[key] is None or isinstance(values[key], int)):
                box.set_pitch(values[key])
        if isinstance(values.get("program"), int):
            self.instrument_box.setCurrentIndex(
                max(self.instrument_box.findData(values["program"]), 0)
            )
        if "tempo" in values and values["tempo"] is None:
            self.tempo_box.setValue(SONGS_TEMPO)
        self._set_form(values.get("form"))

    def _set_form(self, text: object) -> None:
        """Show a saved form; one that does not parse is left out."""
        if not isinstance(text, str):
            return
        try:
            form = parse_form(text)
        except ValueError:
            return
        self.form_box.setCurrentIndex(max(self.form_box.findData(form.style), 0))
        if form.bars:
            self.loop_bars_box.setValue(form.bars)

    def set_songs_key(self, key: tuple[str, int, int] | SongsKeys | None) -> None:
        """Name the dataset's keys on "Like the songs"."""
        index = self.key_box.findData(self.LIKE_SONGS)
        tip = "The key and range of the imported songs"
        if isinstance(key, SongsKeys):
            many = len(key.keys) > 1
            label = (
                f"Like the songs ({len(key.keys)} keys)" if many else f"Like the songs ({key.name})"
            )
            tip = f"Each new song in one of the songs' keys, as often as they are: {key.describe()}"
        else:
            label = f"Like the songs ({key[0]})" if key else "Like the songs"
        self.key_box.setItemText(index, label)
        self.key_box.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)

    def set_songs_tempo(self, bpm: float | None) -> None:
        """Show the songs' typical tempo on the tempo box's "Like the songs"."""
        text = f"Like the songs ({bpm:.0f} BPM)" if bpm else "Like the songs"
        self.tempo_box.setSpecialValueText(text)

    @Slot()
    def update_enabled(self) -> None:
        self.from_bar_box.setEnabled(self.mode_box.currentData() == "continue")
        self.loop_bars_box.setEnabled(self.form_box.currentData() == "loop")
