"""Generation panel: the options (`ui.generation_form`), Generate, and the list of generated songs
a musician curates (stars, delete with undo, again with a seed, A/B, export), kept across restarts
(`studio.library`). Generating is `studio.generation`'s: the panel plans a request on the GUI
thread (so a bad one is refused at once), runs it in a worker and shows the songs.

Export never overwrites: files get unique names (`song 1.mid`, `song 1-2.mid`, …). Dragging a
generated song out of the list hands the file manager / DAW a temporary `.mid` file URL
(`ui.song_list`).
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..models import registry
from ..models.document import Model
from ..music.encoding import StateMatrix
from ..music.keys import SongsKeys, songs_keys
from ..platform.paths import data_dir
from ..studio import generation
from ..studio.generation import GenerationOptions, export_songs, song_text
from ..studio.library import GeneratedSong, Loaded, SongLibrary
from .generation_form import GenerationForm
from .song_list import SONG_ROLE, GeneratedList, RemoveSongs
from .workers import Job, run_function

# The form's controls, reachable on the panel as before the form was its own widget.
FORM_CONTROLS = (
    "songs_box",
    "bars_box",
    "form_box",
    "loop_bars_box",
    "adventure_slider",
    "adventure_label",
    "key_box",
    "lowest_box",
    "highest_box",
    "tempo_box",
    "instrument_box",
    "mode_box",
    "from_bar_box",
    "gibbs_box",
    "advanced_button",
    "gibbs_label",
    "generate_button",
    "message",
)


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

    ANY = generation.ANY_KEY
    LIKE_SONGS = generation.LIKE_SONGS

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
        self.songs_key: SongsKeys | tuple[str, int, int] | None = None  # the folder's keys
        self.folder_bpm: float | None = None  # the imported folder's typical tempo
        self._index_version = 0
        self.library = library or SongLibrary(data_dir() / "library")
        self.undo_stack = QUndoStack(self)

        self.form = GenerationForm()
        self.options_scroll = self.form
        for name in FORM_CONTROLS:
            setattr(self, name, getattr(self.form, name))
        self.generate_button.clicked.connect(self.generate)
        self._build_list()
        self._build_actions()
        right = QVBoxLayout()
        caption = QLabel("Your songs (drag one out as a .mid file):")
        caption.setMinimumWidth(10)
        right.addWidget(caption)
        right.addWidget(self.list, 1)
        right.addLayout(self._build_buttons())
        left = QVBoxLayout()  # Generate under the options, never scrolled away
        left.addWidget(self.form, 1)
        left.addWidget(self.generate_button)
        left.addWidget(self.message)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(left, 0)
        layout.addLayout(right, 1)
        self._update_enabled()

    # -- construction -----------------------------------------------------------------------
    def _build_list(self) -> None:
        self.list = GeneratedList()
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemSelectionChanged.connect(self._update_enabled)
        self.list.itemDoubleClicked.connect(lambda _item: self.toggle_star())
        self.mode_box.currentIndexChanged.connect(self._update_enabled)

    def _build_buttons(self) -> QGridLayout:
        def tool(text: str, tip: str, slot) -> QPushButton:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            return button

        self.star_button = tool(
            "☆ Star", "Mark the selected songs as favourites (Ctrl+D)", self.toggle_star
        )
        self.again_button = tool(
            "Again", "Generate again with the selected song's seed and settings", self.again
        )
        self.compare_button = tool(
            "A/B", "Play the same bars of the two selected songs, one after the other", self.compare
        )
        self.delete_button = tool(
            "Delete", "Remove the selected songs (Del; Ctrl+Z undoes)", self.delete_selected
        )
        self.clear_button = tool(
            "Clear", "Remove every song that has no star (Ctrl+Z undoes)", self.clear
        )
        self.export_selected_button = tool(
            "Export…",
            "Save the selected songs as .mid files (Ctrl+E)",
            lambda: self.exportRequested.emit("selected"),
        )
        self.export_starred_button = tool(
            "Export ★…",
            "Save every starred song as .mid files",
            lambda: self.exportRequested.emit("starred"),
        )
        self.export_all_button = tool(
            "Export all…", "Save every song as .mid files", lambda: self.exportRequested.emit("all")
        )
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
        return buttons

    def _build_actions(self) -> None:
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

    # -- options ----------------------------------------------------------------------------
    def temperature(self) -> float:
        return self.form.temperature()

    def set_temperature(self, value: float) -> None:
        """The sampling temperature; the slider shows it as adventurousness."""
        self.form.set_temperature(value)

    def options(self) -> dict:
        return self.form.options()

    def set_options(self, values: dict) -> None:
        """Apply saved or asked-for options; a "seed" is used by the next Generate press only."""
        self.form.set_options(values)
        if isinstance(values.get("seed"), int) and not isinstance(values["seed"], bool):
            self.next_seed = int(values["seed"])

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
        self._show_songs_tempo()
        self._update_enabled()

    def set_songs_key(self, key: SongsKeys | tuple[str, int, int] | None) -> None:
        """The folder's keys and pitch range ("Like the songs")."""
        self.songs_key = key
        self.form.set_songs_key(key)

    def set_songs_tempo(self, bpm: float | None) -> None:
        """The imported folder's typical tempo, shown until a model says its own."""
        self.folder_bpm = bpm
        self._show_songs_tempo()

    def set_folder_songs(self, songs: list[StateMatrix]) -> None:
        """An imported folder: its keys and typical (median) tempo are "Like the songs"'."""
        self.set_songs_key(songs_keys(songs))
        bpms = sorted(float(m.bpm) for m in songs)
        self.set_songs_tempo(bpms[len(bpms) // 2] if bpms else None)

    def _show_songs_tempo(self) -> None:
        """The tempo "Like the songs" plays at: the model's songs' (what the songs get), else
        the folder's."""
        dataset = self.model.dataset if self.model is not None else None
        bpm = dataset.get("bpm") if isinstance(dataset, dict) else None
        self.form.set_songs_tempo(bpm if isinstance(bpm, int | float) else self.folder_bpm)

    def set_primer(self, matrix: StateMatrix | None, title: str = "") -> None:
        """The selected dataset song, used when "Continue the selected song" is chosen."""
        self.primer = matrix
        self.primer_title = title

    def _update_enabled(self) -> None:
        busy = self.is_generating()
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
        self.form.update_enabled()

    # -- generating -------------------------------------------------------------------------
    def is_generating(self) -> bool:
        return self.job is not None and self.job.is_running()

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
        options = GenerationOptions.from_settings({**self.options(), **(settings or {})})
        if seed is None:
            seed = self.next_seed if self.next_seed is not None else secrets.randbelow(2**31)
        self.next_seed = None
        if options.start == "continue" and self.primer is None:
            self.message.setText("Select a song in the song list to continue it.")
            return False
        try:
            plan = generation.plan(
                model,
                options,
                seed=seed,
                primer=self.primer,
                primer_title=self.primer_title,
                songs_key=self.songs_key,
            )
        except ValueError as exc:  # a kind this version lacks, a key it does not know
            self._on_failed(str(exc), "")
            return False
        library = self.library

        def work(_progress, _cancel: threading.Event) -> list[GeneratedSong]:
            return generation.run(plan, library)

        self.job = run_function(work, "generate", self)
        self.job.finished.connect(lambda result: self._on_generated(result, plan.name))
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self._update_enabled)
        self.message.setText(
            f"Generating {options.songs} songs of {options.bars} bars (seed {seed})…"
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
        seed = result[0].seed if result else 0
        note = generation.silent_note(result)
        self.add_songs(result, base_name, f"Generated {len(result)} songs (seed {seed}).{note}")
        self.statusMessage.emit(f"Generated {len(result)} songs with seed {seed}.")

    def add_songs(self, songs: list[GeneratedSong], base_name: str, message: str) -> None:
        """New songs into the list (made here, played in, regenerated or harmonised), named
        "`base_name` N", kept in the library; the first is selected and shown."""
        self.counter = generation.name_songs(songs, base_name, self.counter)
        items = [self.make_item(generated) for generated in songs]
        for item in items:
            self.list.addItem(item)
        self.message.setText(message)
        self.library_changed(new=songs)
        self.songsGenerated.emit(songs)
        self._update_enabled()
        if items:
            self.list.clearSelection()
            self.list.setCurrentItem(items[0])

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
        settings = generation.again_settings(song)
        source = generation.again_from(song, self.model, self.library)
        if source is None:
            self.message.setText("The model that made this song is no longer kept.")
            return False
        if source == "library":
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
        self.counter = max([self.counter, *(generation.song_number(s.name) for s in loaded.songs)])
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
