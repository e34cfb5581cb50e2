"""Generation panel: sample new songs from the model in a worker in musical terms (variations,
length, adventurousness, key, note range, tempo, instrument, continuing a song), and curate them
(stars, delete with undo, again with a seed, A/B, export), kept across restarts
(`studio.library`).

Export never overwrites: files get unique names (`song 1.mid`, `song 1-2.mid`, …). Dragging a
generated song out of the list hands the file manager / DAW a temporary `.mid` file URL; the
`QMimeData` is built by `mime_data_for`, which tests call directly.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDrag, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..models import registry
from ..models.base import GenerateRequest
from ..models.document import Model
from ..music.encoding import StateMatrix, decode, head
from ..music.keys import KEYS, key_pitch_classes, pitch_name
from ..platform.paths import cache_dir, data_dir
from ..playback.gm_programs import GM_PROGRAMS
from ..studio.library import (
    GeneratedSong,
    LibraryError,
    Loaded,
    SongLibrary,
    is_valid_id,
    model_id,
    new_id,
    typed_settings,
)
from .workers import Job, run_function

SONG_ROLE = Qt.ItemDataRole.UserRole


def safe_stem(name: str) -> str:
    """A file-name stem without characters file systems refuse."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return stem or "song"


def export_songs(songs: list[GeneratedSong], folder: Path) -> list[Path]:
    """Write each song as a standard MIDI file under a unique name, with its tempo, instrument
    and a text event saying how it was made; returns the paths written."""
    from ..music.midi import unique_path, write_midi

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for generated in songs:
        path = unique_path(folder, safe_stem(generated.name))
        # Reserve the name first so two songs with the same name never share a file.
        path.touch(exist_ok=False)
        try:
            write_midi(generated.song, path, program=generated.program, text=generated.describe())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def beats_per_bar(model: Model) -> float:
    """Bar length in beats from the metre the model learnt (4/4 when unknown)."""
    num, den = model.time_signature
    return num * 4.0 / den


class GeneratedList(QListWidget):
    """Generated songs; items can be dragged out as `.mid` files."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setToolTip(
            "Generated songs: select one to see it, drag it onto the desktop or into your DAW"
        )
        self.drag_dir = cache_dir() / "drag"

    def songs(self, items: list[QListWidgetItem] | None = None) -> list[GeneratedSong]:
        items = items if items is not None else [self.item(i) for i in range(self.count())]
        return [item.data(SONG_ROLE) for item in items if item is not None]

    def mime_data_for(self, items: list[QListWidgetItem]) -> QMimeData:
        """Write the songs to temporary `.mid` files and return their file URLs as drag data.

        Small synchronous writes (a few KB each) — acceptable on the GUI thread for a drag."""
        from ..music.midi import write_midi

        self.drag_dir.mkdir(parents=True, exist_ok=True)
        urls = []
        for generated in self.songs(items):
            path = self.drag_dir / f"{safe_stem(generated.name)}.mid"
            write_midi(generated.song, path, program=generated.program, text=generated.describe())
            urls.append(QUrl.fromLocalFile(str(path)))
        mime = QMimeData()
        mime.setUrls(urls)
        return mime

    def mimeData(self, items) -> QMimeData:  # noqa: N802 (Qt override)
        return self.mime_data_for(list(items))

    def startDrag(self, supported_actions) -> None:  # noqa: N802
        items = self.selectedItems()
        if not items:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mime_data_for(items))
        drag.exec(Qt.DropAction.CopyAction)


TEMPERATURE_RANGE = (0.2, 1.6)  # the adventurousness slider's ends


def slider_to_temperature(position: int) -> float:
    low, high = TEMPERATURE_RANGE
    return low + (high - low) * position / 100.0


def temperature_to_slider(temperature: float) -> int:
    low, high = TEMPERATURE_RANGE
    return int(round(100.0 * (temperature - low) / (high - low)))


def _number(name: str) -> int:
    """The counter at the end of a generated song's name ("generated 12" → 12)."""
    tail = name.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


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
        from PySide6.QtGui import QValidator

        return QValidator.State.Acceptable, text, pos

    def pitch(self) -> int | None:
        return None if self.value() < 0 else self.value()

    def set_pitch(self, pitch: int | None) -> None:
        self.setValue(self.NONE if pitch is None else int(pitch))


def song_text(song: GeneratedSong) -> str:
    """How a song reads in the list: star, name, length and seed."""
    star = "★ " if song.starred else ""
    return f"{star}{song.name}  ({song.song.bars():.0f} bars · seed {song.seed})"


class RemoveSongs(QUndoCommand):
    """Delete or Clear: undoable (Ctrl+Z puts the songs back where they were)."""

    def __init__(self, panel: GenerationPanel, rows: list[int], text: str) -> None:
        super().__init__(text)
        self.panel = panel
        self.rows = sorted(rows)
        self.songs: list[GeneratedSong] = [panel.list.item(r).data(SONG_ROLE) for r in self.rows]

    def redo(self) -> None:
        for row in reversed(self.rows):
            self.panel.list.takeItem(row)
        self.panel.library_changed()

    def undo(self) -> None:
        for row, song in zip(self.rows, self.songs, strict=True):
            self.panel.list.insertItem(row, self.panel.make_item(song))
        self.panel.library_changed()


class GenerationPanel(QWidget):
    """Musical generation options, Generate, and the list of generated songs a musician curates:
    stars, delete (undoable), "again with this seed", A/B, export of the favourites. The list,
    seeds, settings and the models that made them are kept in the user data folder."""

    songSelected = Signal(object)  # GeneratedSong
    songsGenerated = Signal(list)  # list[GeneratedSong]
    exported = Signal(list)  # list[Path]
    exportRequested = Signal(str)  # "selected", "all" or "starred"; the window picks the folder
    compareRequested = Signal(object, object)  # A/B: two GeneratedSongs
    statusMessage = Signal(str)
    libraryLoaded = Signal()

    ANY = "any"
    LIKE_SONGS = "songs"

    def __init__(
        self, parent: QWidget | None = None, *, library: SongLibrary | None = None
    ) -> None:
        super().__init__(parent)
        self.model: Model | None = None
        self.primer: StateMatrix | None = None
        self.primer_title = ""
        self.job: Job | None = None
        self.export_job: Job | None = None
        self.library_job: Job | None = None  # the latest library job
        self._library_jobs: set[Job] = set()
        self.library_status = ""  # the one line the last load had to say
        self.counter = 0
        self.next_seed: int | None = None  # a seed asked for (tests, "again"); else a fresh one
        self.songs_key: tuple[str, int, int] | None = None  # the dataset's key and range
        self._temperature = 1.0
        self._index_version = 0
        self.library = library or SongLibrary(data_dir() / "library")
        self.undo_stack = QUndoStack(self)

        self.songs_box = QSpinBox()
        self.songs_box.setRange(1, 50)
        self.songs_box.setValue(3)
        self.songs_box.setToolTip("How many different songs each Generate press makes")
        self.bars_box = QSpinBox()
        self.bars_box.setRange(1, 512)
        self.bars_box.setValue(16)
        self.bars_box.setSuffix(" bars")
        self.bars_box.setToolTip("Length of each new song in bars")
        self.adventure_slider = QSlider(Qt.Orientation.Horizontal)
        self.adventure_slider.setRange(0, 100)
        self.adventure_slider.setToolTip(
            "Safe: the model's most likely choices, calmer and more repetitive. Adventurous: "
            "more surprising notes (the sampling temperature)."
        )
        self.adventure_slider.valueChanged.connect(self._on_adventure_moved)
        self.adventure_label = QLabel()
        self.adventure_label.setMinimumWidth(10)
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
        self.tempo_box = QSpinBox()
        self.tempo_box.setRange(20, 400)
        self.tempo_box.setValue(100)
        self.tempo_box.setSuffix(" BPM")
        self.tempo_box.setToolTip("Tempo of the new songs (played and written into exported files)")
        self.instrument_box = QComboBox()
        for number, name in enumerate(GM_PROGRAMS):
            self.instrument_box.addItem(f"{number + 1}  {name}", number)
        self.instrument_box.setToolTip(
            "General MIDI instrument of the new songs (played and written into exported files)"
        )
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
        self.mode_box.currentIndexChanged.connect(self._update_enabled)
        self.gibbs_box = QSpinBox()
        self.gibbs_box.setRange(1, 10_000)
        self.gibbs_box.setValue(20)
        self.gibbs_box.setToolTip(
            "Gibbs sampling steps per sampled window or step: more steps, more settled music "
            "(set to the model kind's default when a model is opened or trained)"
        )
        for widget, name in (
            (self.songs_box, "Variations"),
            (self.bars_box, "Length"),
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

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Variations:", self.songs_box)
        form.addRow("Length:", self.bars_box)
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
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip(
            "Make new songs from the model, each with a fresh seed (Ctrl+G)"
        )
        self.generate_button.clicked.connect(self.generate)
        self.message = QLabel("Train or open a model to generate songs.")
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(10)
        self.message.setToolTip("Generation status")
        left_widget = QWidget()
        left = QVBoxLayout(left_widget)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(form)
        left.addWidget(self.generate_button)
        left.addWidget(self.message)
        left.addStretch(1)
        options_scroll = QScrollArea()
        options_scroll.setWidget(left_widget)
        options_scroll.setWidgetResizable(True)
        options_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        options_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        options_scroll.setMinimumWidth(260)
        options_scroll.setMaximumWidth(340)
        self.options_scroll = options_scroll

        self.list = GeneratedList()
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemSelectionChanged.connect(self._update_enabled)
        self.list.itemDoubleClicked.connect(lambda _item: self.toggle_star())
        self.star_button = self._tool("☆ Star", "Mark the selected songs as favourites (Ctrl+D)")
        self.star_button.clicked.connect(self.toggle_star)
        self.again_button = self._tool(
            "Again", "Generate again with the selected song's seed and settings"
        )
        self.again_button.clicked.connect(self.again)
        self.compare_button = self._tool(
            "A/B", "Play the same bars of the two selected songs, one after the other"
        )
        self.compare_button.clicked.connect(self.compare)
        self.delete_button = self._tool("Delete", "Remove the selected songs (Del; Ctrl+Z undoes)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button = self._tool(
            "Clear", "Remove every song that has no star (Ctrl+Z undoes)"
        )
        self.clear_button.clicked.connect(self.clear)
        self.export_selected_button = self._tool(
            "Export…", "Save the selected songs as .mid files (Ctrl+E)"
        )
        self.export_selected_button.clicked.connect(lambda: self.exportRequested.emit("selected"))
        self.export_starred_button = self._tool(
            "Export ★…", "Save every starred song as .mid files"
        )
        self.export_starred_button.clicked.connect(lambda: self.exportRequested.emit("starred"))
        self.export_all_button = self._tool("Export all…", "Save every song as .mid files")
        self.export_all_button.clicked.connect(lambda: self.exportRequested.emit("all"))
        buttons = QGridLayout()
        buttons.setSpacing(2)
        for i, button in enumerate(
            (
                self.star_button,
                self.again_button,
                self.compare_button,
                self.delete_button,
                self.clear_button,
                self.export_selected_button,
                self.export_starred_button,
                self.export_all_button,
            )
        ):
            buttons.addWidget(button, i // 3, i % 3)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.delete_action = QAction("Delete Song", self)
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.delete_action.setToolTip("Remove the selected generated songs (Ctrl+Z undoes)")
        self.delete_action.triggered.connect(self.delete_selected)
        self.star_action = QAction("Star / Unstar Song", self)
        self.star_action.setShortcut(QKeySequence("Ctrl+D"))
        self.star_action.triggered.connect(self.toggle_star)
        right = QVBoxLayout()
        caption = QLabel("Your songs (drag one out as a .mid file):")
        caption.setMinimumWidth(10)
        right.addWidget(caption)
        right.addWidget(self.list, 1)
        right.addLayout(buttons)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(options_scroll, 0)
        layout.addLayout(right, 1)
        self.set_temperature(1.0)
        self._update_enabled()

    def _tool(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    @Slot(bool)
    def _show_advanced(self, visible: bool) -> None:
        self.gibbs_label.setVisible(visible)
        self.gibbs_box.setVisible(visible)
        self.advanced_button.setArrowType(
            Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow
        )

    # -- options ----------------------------------------------------------------------------
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

    def options(self) -> dict:
        key = self.key_box.currentData()
        return {
            "songs": self.songs_box.value(),
            "bars": self.bars_box.value(),
            "gibbs_steps": self.gibbs_box.value(),
            "temperature": round(self._temperature, 4),
            "start": self.mode_box.currentData(),
            "from_bar": self.from_bar_box.value(),
            "key": key,
            "lowest": self.lowest_box.pitch(),
            "highest": self.highest_box.pitch(),
            "tempo": self.tempo_box.value(),
            "program": int(self.instrument_box.currentData()),
        }

    def set_options(self, values: dict) -> None:
        """Apply saved or asked-for options; a "seed" is used by the next Generate press only."""
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
        if isinstance(values.get("seed"), int) and not isinstance(values["seed"], bool):
            self.next_seed = int(values["seed"])
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

    def set_model(self, model: Model | None) -> None:
        """The model to sample from; Gibbs steps and temperature take its kind's defaults."""
        self.model = model
        if model is not None and model.kind in registry.KINDS:
            self.gibbs_box.setValue(registry.kind(model.kind).gibbs_default)
            self.set_temperature(registry.kind(model.kind).temperature_default)
        if model is not None:
            self.message.setText(
                f"Model ready ({model.n_hidden} hidden units, {model.epochs_trained} epochs)."
            )
        else:
            self.message.setText("Train or open a model to generate songs.")
        self._update_enabled()

    def set_songs_key(self, key: tuple[str, int, int] | None) -> None:
        """The dataset's best-fitting key and pitch range ("Like the songs")."""
        self.songs_key = key
        label = f"Like the songs ({key[0]})" if key else "Like the songs"
        self.key_box.setItemText(self.key_box.findData(self.LIKE_SONGS), label)

    def set_primer(self, matrix: StateMatrix | None, title: str = "") -> None:
        """The selected dataset song, used when "Continue the selected song" is chosen."""
        self.primer = matrix
        self.primer_title = title

    def _update_enabled(self) -> None:
        busy = self.job is not None and self.job.is_running()
        self.generate_button.setEnabled(self.model is not None and not busy)
        has_songs = self.list.count() > 0
        selected = self.list.selectedItems()
        songs = self.list.songs()
        self.export_all_button.setEnabled(has_songs)
        self.export_selected_button.setEnabled(bool(selected))
        self.export_starred_button.setEnabled(any(s.starred for s in songs))
        self.clear_button.setEnabled(has_songs)
        self.delete_button.setEnabled(bool(selected))
        self.star_button.setEnabled(bool(selected))
        self.again_button.setEnabled(len(selected) == 1 and not busy)
        self.compare_button.setEnabled(len(selected) == 2)
        starred = bool(selected) and all(i.data(SONG_ROLE).starred for i in selected)
        self.star_button.setText("★ Unstar" if starred else "☆ Star")
        self.from_bar_box.setEnabled(self.mode_box.currentData() == "continue")

    # -- generating -------------------------------------------------------------------------
    def is_generating(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _constraints(self, opts: dict) -> tuple[tuple[int, ...] | None, int | None, int | None]:
        key = opts.get("key") or self.ANY
        lowest, highest = opts.get("lowest"), opts.get("highest")
        if key == self.LIKE_SONGS:
            if self.songs_key is None:
                return None, lowest, highest
            name, low, high = self.songs_key
            return key_pitch_classes(name), lowest or low, highest or high
        if key == self.ANY:
            return None, lowest, highest
        return key_pitch_classes(key), lowest, highest

    @Slot()
    def generate(
        self,
        *,
        seed: int | None = None,
        settings: dict | None = None,
        model: Model | None = None,
    ) -> bool:
        """Sample songs from `model` (default: the open one) with the shown options (or
        `settings`, for "again"), each press with a fresh seed unless one is given."""
        model = model or self.model
        if model is None:
            self.message.setText("Train or open a model first.")
            return False
        if self.is_generating():
            return False
        opts = {**self.options(), **(settings or {})}
        if seed is None:
            seed = self.next_seed if self.next_seed is not None else secrets.randbelow(2**31)
        self.next_seed = None
        primer = None
        primer_title = ""
        if opts["start"] == "continue":
            if self.primer is None:
                self.message.setText("Select a song in the song list to continue it.")
                return False
            primer, primer_title = self.primer, self.primer_title
            if opts.get("from_bar"):
                bar_steps = beats_per_bar(model) * model.encoding.steps_per_beat
                primer = head(primer, int(round(opts["from_bar"] * bar_steps)))
        steps = max(
            1, int(round(opts["bars"] * beats_per_bar(model) * model.encoding.steps_per_beat))
        )
        base_name = f"continued {primer_title}" if primer is not None else "generated"
        try:
            kind = registry.kind(model.kind)
            pitch_classes, lowest, highest = self._constraints(opts)
        except (registry.UnknownKindError, ValueError) as exc:
            self._on_failed(str(exc), "")
            return False
        request = GenerateRequest(
            songs=opts["songs"],
            steps=steps,
            gibbs_steps=opts["gibbs_steps"],
            temperature=opts["temperature"],
            seed=seed,
            mode="continue" if "continue" in kind.modes else None,
            start="silence",
            primer=primer,
            pitch_classes=pitch_classes,
            lowest=lowest,
            highest=highest,
        )
        settings = {**opts, "primer": primer_title if primer is not None else ""}
        label = f"{kind.label}, {model.epochs_trained} epochs"
        library = self.library
        spb = model.encoding.steps_per_beat
        primer_beats = primer.steps / spb if primer is not None else None

        def work(_progress, _cancel: threading.Event) -> list[GeneratedSong]:
            # One request per variation, seeds counting up from the press's seed: every song
            # can be made again on its own from the seed it shows.
            matrices = [
                kind.generate(model, replace(request, songs=1, seed=seed + i))[0]
                for i in range(request.songs)
            ]
            ident = model_id(model.params, model.kind)
            # The songs come first: a library that cannot keep the model (a full disk, a folder
            # refused) says so when the list is saved, and "again" then needs the open model.
            with contextlib.suppress(LibraryError, OSError):
                library.keep_model(model, ident)
            songs = []
            for i, m in enumerate(matrices):
                song = decode(m)
                generated = GeneratedSong(
                    name="",
                    song=song,
                    matrix=m,
                    seed=seed + i,
                    settings={**settings, "variation": i + 1},
                    model_id=ident,
                    model_label=label,
                    program=int(settings["program"]),
                    primer_beats=primer_beats,
                )
                generated.set_tempo(settings["tempo"])
                generated.id = new_id(generated)  # before any save lists it
                songs.append(generated)
            return songs

        self.job = run_function(work, "generate", self)
        self.job.finished.connect(lambda result: self._on_generated(result, base_name))
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self._update_enabled)
        self.message.setText(
            f"Generating {opts['songs']} songs of {opts['bars']} bars (seed {seed})…"
        )
        self.statusMessage.emit("Generating songs…")
        self._update_enabled()
        return True

    def make_item(self, song: GeneratedSong) -> QListWidgetItem:
        item = QListWidgetItem(song_text(song))
        item.setData(SONG_ROLE, song)
        item.setToolTip(song.describe())
        return item

    def _on_generated(self, result: list[GeneratedSong], base_name: str) -> None:
        first_item = None
        for generated in result:
            self.counter += 1
            generated.name = f"{base_name} {self.counter}"
            generated.song.title = generated.name
            item = self.make_item(generated)
            self.list.addItem(item)
            first_item = first_item or item
        seed = result[0].seed if result else 0
        silent = sum(1 for g in result if not g.song.notes)
        note = ""
        if silent:
            note = (
                f" {silent} of them silent: the model finds no note likely enough yet — train "
                "it longer, or make it more adventurous."
            )
        self.message.setText(f"Generated {len(result)} songs (seed {seed}).{note}")
        self.statusMessage.emit(f"Generated {len(result)} songs with seed {seed}.")
        self.library_changed(new=result)
        self.songsGenerated.emit(result)
        self._update_enabled()
        if first_item is not None:
            self.list.clearSelection()
            self.list.setCurrentItem(first_item)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.message.setText(f"Generation failed: {message}")
        self.message.setToolTip(details[-2000:])
        self.statusMessage.emit(f"Generation failed: {message}")

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.songSelected.emit(current.data(SONG_ROLE))

    # -- curating ---------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        return sorted(self.list.row(i) for i in self.list.selectedItems())

    @Slot()
    def toggle_star(self) -> None:
        items = self.list.selectedItems()
        if not items:
            return
        star = not all(i.data(SONG_ROLE).starred for i in items)
        for item in items:
            song = item.data(SONG_ROLE)
            song.starred = star
            item.setText(song_text(song))
        self.library_changed()
        self._update_enabled()

    def song_changed(self, song: GeneratedSong) -> None:
        """A song's instrument or tempo changed: its list entry and kept file follow."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(SONG_ROLE) is song:
                item.setText(song_text(song))
                item.setToolTip(song.describe())
        self.library_changed(new=[song])

    @Slot()
    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.undo_stack.push(RemoveSongs(self, rows, f"Delete {len(rows)} songs"))
            self.statusMessage.emit(f"Deleted {len(rows)} songs (Ctrl+Z brings them back).")

    @Slot()
    def clear(self) -> None:
        """Remove the songs without a star (all of them when none has one); undoable."""
        songs = self.list.songs()
        rows = [r for r, s in enumerate(songs) if not s.starred] or list(range(len(songs)))
        if rows:
            self.undo_stack.push(RemoveSongs(self, rows, f"Clear {len(rows)} songs"))
            self.statusMessage.emit(f"Cleared {len(rows)} songs (Ctrl+Z brings them back).")

    @Slot()
    def again(self) -> bool:
        """Generate with the selected song's seed and settings (its model when it is still
        the open one or kept in the library)."""
        items = self.list.selectedItems()
        if len(items) != 1:
            return False
        song: GeneratedSong = items[0].data(SONG_ROLE)
        keys = (
            "bars",
            "gibbs_steps",
            "temperature",
            "key",
            "lowest",
            "highest",
            "tempo",
            "program",
        )
        typed = typed_settings(song.settings)  # the settings came from a file
        settings = {k: typed[k] for k in keys if k in typed}
        settings.update(songs=1, start="silence")
        if self.model is None or model_id(self.model.params, self.model.kind) != song.model_id:
            if not (
                is_valid_id(song.model_id) and self.library.model_path(song.model_id).is_file()
            ):
                self.message.setText("The model that made this song is no longer kept.")
                return False
            self._load_then_again(song, settings)
            return True
        return self.generate(seed=song.seed, settings=settings)

    def _load_then_again(self, song: GeneratedSong, settings: dict) -> None:
        library = self.library

        def work(_progress, _cancel: threading.Event):
            return library.load_model(song.model_id)

        job = self._library_job(work, "load-library-model")

        job.finished.connect(
            lambda model: self.generate(seed=song.seed, settings=settings, model=model)
        )
        job.failed.connect(self._on_failed)

    @Slot()
    def compare(self) -> None:
        songs = self.list.songs(self.list.selectedItems())
        if len(songs) == 2:
            self.compareRequested.emit(songs[0], songs[1])

    # -- the library (persistence) ----------------------------------------------------------
    def _library_job(self, work, name: str) -> Job:
        """A library job: tracked so that closing the window waits for it (`shutdown`)."""
        job = run_function(work, name, self)
        self.library_job = job
        self._library_jobs.add(job)
        job.done.connect(lambda: self._library_jobs.discard(job))
        return job

    def library_changed(self, new: list[GeneratedSong] | None = None) -> Job:
        """Write new songs' files and the list in a worker (the newest list wins)."""
        self._index_version += 1
        version = self._index_version
        songs = self.list.songs()
        library = self.library
        fresh = list(new or [])

        def work(_progress, _cancel: threading.Event) -> bool:
            return library.commit(fresh, songs, version)

        job = self._library_job(work, "save-library")
        job.failed.connect(
            lambda message, _d: self.statusMessage.emit(f"Could not keep the songs: {message}")
        )
        self._update_enabled()
        return job

    def load_library(self) -> Job:
        """Read the kept songs back (at start-up) in a worker."""
        library = self.library

        def work(_progress, cancel: threading.Event) -> Loaded:
            return library.load(cancel)

        job = self._library_job(work, "load-library")
        job.finished.connect(self._on_library_loaded)
        job.failed.connect(
            lambda message, _d: self.statusMessage.emit(f"Could not read your songs: {message}")
        )
        return job

    def _on_library_loaded(self, loaded: Loaded) -> None:
        for song in loaded.songs:
            self.list.addItem(self.make_item(song))
        self.counter = max([self.counter, *(_number(s.name) for s in loaded.songs)])
        self.library_status = loaded.status()
        if self.library_status:
            self.message.setText(self.library_status)  # stays after the status bar moves on
            self.statusMessage.emit(self.library_status)
        self._update_enabled()
        self.libraryLoaded.emit()

    def shutdown(self) -> None:
        """Closing: let every library read and write finish (each is bounded: regular files
        only, a lock wait that gives up, a load that stops when cancelled), so no worker thread
        outlives the window and no save of a new song is cut short."""
        for job in list(self._library_jobs):
            if job.name == "load-library":
                job.cancel()
            job.thread.quit()
            job.thread.wait()

    # -- exporting --------------------------------------------------------------------------
    def songs_to_export(self, which: str | bool) -> list[GeneratedSong]:
        """ "all", "starred" or "selected" songs (True/False: all/selected)."""
        if which is True or which == "all":
            return self.list.songs()
        if which == "starred":
            return [s for s in self.list.songs() if s.starred]
        return self.list.songs(self.list.selectedItems())

    def export_to(self, folder: Path, songs: list[GeneratedSong]) -> Job | None:
        """Write `songs` into `folder` in a worker (unique names, never an overwrite)."""
        if not songs:
            self.message.setText("Nothing to export: generate or select songs first.")
            return None
        folder = Path(folder)

        def work(_progress, _cancel: threading.Event) -> list[Path]:
            return export_songs(songs, folder)

        self.export_job = run_function(work, "export", self)
        self.export_job.finished.connect(self._on_exported)
        self.export_job.failed.connect(self._on_failed_export)
        self.message.setText(f"Exporting {len(songs)} songs to {folder}…")
        return self.export_job

    @Slot(object)
    def _on_exported(self, paths: list[Path]) -> None:
        where = paths[0].parent if paths else ""
        self.message.setText(f"Exported {len(paths)} songs to {where}.")
        self.statusMessage.emit(f"Exported {len(paths)} MIDI files to {where}.")
        self.exported.emit(paths)

    @Slot(str, str)
    def _on_failed_export(self, message: str, details: str) -> None:
        self.message.setText(f"Export failed: {message}")
        self.message.setToolTip(details[-2000:])
        self.statusMessage.emit(f"Export failed: {message}")
