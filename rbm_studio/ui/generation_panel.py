"""Generation panel: sample new songs from the model in a worker, list them, export or drag them out.

Export never overwrites: files get unique names (`song 1.mid`, `song 1-2.mid`, …). Dragging a
generated song out of the list hands the file manager / DAW a temporary `.mid` file URL; the
`QMimeData` is built by `mime_data_for`, which tests call directly.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..models import registry
from ..models.base import GenerateRequest
from ..models.document import Model
from ..music.encoding import StateMatrix, decode
from ..music.song import Song
from ..platform.paths import cache_dir
from .workers import Job, run_function

SONG_ROLE = Qt.ItemDataRole.UserRole


@dataclass
class GeneratedSong:
    name: str
    song: Song
    matrix: StateMatrix


def safe_stem(name: str) -> str:
    """A file-name stem without characters file systems refuse."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return stem or "song"


def export_songs(songs: list[GeneratedSong], folder: Path) -> list[Path]:
    """Write each song as a standard MIDI file under a unique name; returns the paths written."""
    from ..music.midi import unique_path, write_midi

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for generated in songs:
        path = unique_path(folder, safe_stem(generated.name))
        # Reserve the name first so two songs with the same name never share a file.
        path.touch(exist_ok=False)
        try:
            write_midi(generated.song, path)
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
            write_midi(generated.song, path)
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


class GenerationPanel(QWidget):
    """Options, Generate button, the generated-song list and export buttons."""

    songSelected = Signal(object)  # GeneratedSong
    songsGenerated = Signal(list)  # list[GeneratedSong]
    exported = Signal(list)  # list[Path]
    exportRequested = Signal(bool)  # True = all songs; the window picks the folder
    statusMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Model | None = None
        self.primer: StateMatrix | None = None
        self.primer_title = ""
        self.job: Job | None = None
        self.export_job: Job | None = None
        self.counter = 0

        self.songs_box = QSpinBox()
        self.songs_box.setRange(1, 50)
        self.songs_box.setValue(3)
        self.songs_box.setToolTip("How many songs to generate")
        self.bars_box = QSpinBox()
        self.bars_box.setRange(1, 512)
        self.bars_box.setValue(16)
        self.bars_box.setToolTip("Length of each song in bars")
        self.gibbs_box = QSpinBox()
        self.gibbs_box.setRange(1, 10_000)
        self.gibbs_box.setValue(20)
        self.gibbs_box.setToolTip(
            "Gibbs sampling steps per sampled window or step: more steps, more settled music "
            "(set to the model kind's default when a model is opened or trained)"
        )
        self.temperature_box = QDoubleSpinBox()
        self.temperature_box.setRange(0.05, 10.0)
        self.temperature_box.setSingleStep(0.05)
        self.temperature_box.setValue(1.0)
        self.temperature_box.setToolTip("Sampling temperature: above 1 wilder, below 1 tamer")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2_147_483_647)
        self.seed_box.setToolTip("Random seed: the same seed and model give the same songs")
        self.mode_box = QComboBox()
        self.mode_box.addItem("From silence", "silence")
        self.mode_box.addItem("Continue the selected song", "continue")
        self.mode_box.setToolTip(
            "Start from silence, or continue the song selected in the dataset browser"
        )
        for widget, name in (
            (self.songs_box, "Songs"),
            (self.bars_box, "Length (bars)"),
            (self.gibbs_box, "Gibbs steps"),
            (self.temperature_box, "Temperature"),
            (self.seed_box, "Seed"),
            (self.mode_box, "Start"),
        ):
            widget.setAccessibleName(name)

        form = QFormLayout()
        form.addRow("Songs:", self.songs_box)
        form.addRow("Length (bars):", self.bars_box)
        form.addRow("Gibbs steps:", self.gibbs_box)
        form.addRow("Temperature:", self.temperature_box)
        form.addRow("Seed:", self.seed_box)
        form.addRow("Start:", self.mode_box)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Sample new songs from the model (Ctrl+G)")
        self.generate_button.clicked.connect(self.generate)
        self.message = QLabel("Train or open a model to generate songs.")
        self.message.setWordWrap(True)
        self.message.setToolTip("Generation status")
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.generate_button)
        left.addWidget(self.message)
        left.addStretch(1)

        self.list = GeneratedList()
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.export_selected_button = QPushButton("Export selected…")
        self.export_selected_button.setToolTip("Save the selected songs as .mid files (Ctrl+E)")
        self.export_selected_button.clicked.connect(lambda: self.exportRequested.emit(False))
        self.export_all_button = QPushButton("Export all…")
        self.export_all_button.setToolTip("Save every generated song as .mid files")
        self.export_all_button.clicked.connect(lambda: self.exportRequested.emit(True))
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all generated songs from the list")
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_selected_button)
        buttons.addWidget(self.export_all_button)
        buttons.addWidget(self.clear_button)
        right = QVBoxLayout()
        right.addWidget(QLabel("Generated songs (drag one out as a .mid file):"))
        right.addWidget(self.list, 1)
        right.addLayout(buttons)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(left, 0)
        layout.addLayout(right, 1)
        self._update_enabled()

    # -- options ----------------------------------------------------------------------------
    def options(self) -> dict:
        return {
            "songs": self.songs_box.value(),
            "bars": self.bars_box.value(),
            "gibbs_steps": self.gibbs_box.value(),
            "temperature": self.temperature_box.value(),
            "seed": self.seed_box.value(),
            "start": self.mode_box.currentData(),
        }

    def set_options(self, values: dict) -> None:
        boxes = {
            "songs": self.songs_box,
            "bars": self.bars_box,
            "gibbs_steps": self.gibbs_box,
            "seed": self.seed_box,
        }
        for key, box in boxes.items():
            if isinstance(values.get(key), int | float):
                box.setValue(int(values[key]))
        if isinstance(values.get("temperature"), int | float):
            self.temperature_box.setValue(float(values["temperature"]))
        index = self.mode_box.findData(values.get("start"))
        if index >= 0:
            self.mode_box.setCurrentIndex(index)

    def set_model(self, model: Model | None) -> None:
        """The model to sample from; the Gibbs steps take its kind's default."""
        self.model = model
        if model is not None and model.kind in registry.KINDS:
            self.gibbs_box.setValue(registry.kind(model.kind).gibbs_default)
            self.temperature_box.setValue(registry.kind(model.kind).temperature_default)
        if model is not None:
            self.message.setText(
                f"Model ready ({model.n_hidden} hidden units, {model.epochs_trained} epochs)."
            )
        else:
            self.message.setText("Train or open a model to generate songs.")
        self._update_enabled()

    def set_primer(self, matrix: StateMatrix | None, title: str = "") -> None:
        """The selected dataset song, used when "Continue the selected song" is chosen."""
        self.primer = matrix
        self.primer_title = title

    def _update_enabled(self) -> None:
        busy = self.job is not None and self.job.is_running()
        self.generate_button.setEnabled(self.model is not None and not busy)
        has_songs = self.list.count() > 0
        self.export_all_button.setEnabled(has_songs)
        self.export_selected_button.setEnabled(has_songs)
        self.clear_button.setEnabled(has_songs)

    # -- generating -------------------------------------------------------------------------
    def is_generating(self) -> bool:
        return self.job is not None and self.job.is_running()

    @Slot()
    def generate(self) -> bool:
        if self.model is None:
            self.message.setText("Train or open a model first.")
            return False
        if self.is_generating():
            return False
        opts = self.options()
        model = self.model
        primer = None
        if opts["start"] == "continue":
            if self.primer is None:
                self.message.setText("Select a song in the dataset browser to continue it.")
                return False
            primer = self.primer
        steps = max(
            1, int(round(opts["bars"] * beats_per_bar(model) * model.encoding.steps_per_beat))
        )
        base_name = f"continued {self.primer_title}" if primer is not None else "generated"

        try:
            kind = registry.kind(model.kind)
        except registry.UnknownKindError as exc:
            self._on_failed(str(exc), "")
            return False
        # Continue mode where the kind offers it: each new window is sampled given the previous
        # one, so phrases connect (unlike independently sampled windows); a primer is kept in
        # front and continued.
        request = GenerateRequest(
            songs=opts["songs"],
            steps=steps,
            gibbs_steps=opts["gibbs_steps"],
            temperature=opts["temperature"],
            seed=opts["seed"],
            mode="continue" if "continue" in kind.modes else None,
            start="silence",
            primer=primer,
        )

        def work(_progress, _cancel: threading.Event) -> list[tuple[StateMatrix, Song]]:
            matrices = kind.generate(model, request)
            return [(m, decode(m)) for m in matrices]

        self.job = run_function(work, "generate", self)
        self.job.finished.connect(lambda result: self._on_generated(result, base_name))
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self._update_enabled)
        self.message.setText(f"Generating {opts['songs']} songs of {opts['bars']} bars…")
        self.statusMessage.emit("Generating songs…")
        self._update_enabled()
        return True

    def _on_generated(self, result: list[tuple[StateMatrix, Song]], base_name: str) -> None:
        new: list[GeneratedSong] = []
        first_item = None
        for matrix, song in result:
            self.counter += 1
            name = f"{base_name} {self.counter}"
            song.title = name
            generated = GeneratedSong(name, song, matrix)
            item = QListWidgetItem(f"{name}  ({song.bars():.0f} bars, {len(song.notes)} notes)")
            item.setData(SONG_ROLE, generated)
            item.setToolTip(f"{name}: drag it out as a .mid file, or select and Export")
            self.list.addItem(item)
            first_item = first_item or item
            new.append(generated)
        self.message.setText(f"Generated {len(new)} songs.")
        self.statusMessage.emit(f"Generated {len(new)} songs.")
        self.songsGenerated.emit(new)
        self._update_enabled()
        if first_item is not None:
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

    @Slot()
    def clear(self) -> None:
        self.list.clear()
        self._update_enabled()

    # -- exporting --------------------------------------------------------------------------
    def songs_to_export(self, all_songs: bool) -> list[GeneratedSong]:
        items = None if all_songs else self.list.selectedItems()
        return self.list.songs(items)

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
