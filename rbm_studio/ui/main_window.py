"""The RBM Studio main window: dataset browser (left), piano roll (centre), training (right) and
generation (bottom) docks, menus, status bar, settings and the autosave-restore banner.

The window wires panels together; the open model, its file and the autosave restore live in
`ui.model_document.ModelDocument`. All file and JAX work happens in jobs (`ui.workers`); the window
only reacts to their signals and asks the musician which files to use.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..data.dataset import DatasetReport, FileResult
from ..models.document import Model
from ..music.keys import best_key
from ..music.song import Song, in_turn
from ..resources import sample_midi_dir
from .dataset_browser import DatasetBrowser, MidiDropTarget, describe_source
from .generation_panel import GeneratedSong, GenerationPanel
from .model_document import ModelDocument
from .piano_roll import PianoRoll
from .settings import AppSettings
from .training_panel import TrainingPanel
from .workers import Job, run_function, stop_all_jobs

APP_TITLE = "RBM Studio"
SAMPLE_BARS = 4  # "Hear a sample": a phrase this long
COMPARE_BARS = 4  # A/B without a loop region: the first bars
MODEL_FILTER = "RBM Studio models (*.rbm);;All files (*)"
# Initial dock sizes in pixels (dataset, training; generation height) for the 1400×900 window.
DEFAULT_SIDE_DOCK_WIDTHS = (300, 500)
DEFAULT_GENERATION_HEIGHT = 290
COMPACT_WIDTH = 1200  # narrower windows start with the side panels tabbed together
COMPACT_SIDE_WIDTH = 380
COMPACT_HEIGHT = 800  # shorter windows start with a shorter generation panel


class RestoreBanner(QFrame):
    """Non-blocking offer to restore the autosaved training state of a previous session."""

    restoreRequested = Signal()
    discardRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(self.palette().ColorRole.AlternateBase)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Open the model from the interrupted training session")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the autosaved model and start fresh")
        self.restore_button.clicked.connect(self.restoreRequested)
        self.discard_button.clicked.connect(self.discardRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.discard_button)
        self.hide()

    def offer(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class MainWindow(MidiDropTarget, QMainWindow):
    """See the module docstring. Public methods are what menus call and what tests drive."""

    songShown = Signal(object)  # Song now in the piano roll (for playback)
    generatedSongShown = Signal(object)  # GeneratedSong now in the piano roll
    sampleShown = Signal(object)  # Song: a sample of the model while it trains
    modelChanged = Signal(object)  # Model or None

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.document = ModelDocument(self)
        self.song_job: Job | None = None
        self.sample_job: Job | None = None
        self.sample_song: Song | None = None
        self.shown_generated: GeneratedSong | None = None
        self._syncing_transport = False  # the transport is being set to a song's own values
        self._song_request = 0
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1400, 900)

        self.piano_roll = PianoRoll()
        self.banner = RestoreBanner()
        self.banner.restoreRequested.connect(self.restore_autosave)
        self.banner.discardRequested.connect(self.discard_autosave)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.piano_roll, 1)
        self.setCentralWidget(central)

        self.browser = DatasetBrowser()
        self.training = TrainingPanel()
        self.generation = GenerationPanel()
        self.dataset_dock = self._dock("Dataset", "datasetDock", self.browser)
        self.training_dock = self._dock("Training", "trainingDock", self.training)
        self.generation_dock = self._dock("Generation", "generationDock", self.generation)
        # Side docks run the full height; the generation dock sits under the piano roll only.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dataset_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.training_dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.generation_dock)
        self._sized_docks = False
        self.transport: QWidget | None = None  # set by add_transport (window_factory)

        self.activity = QLabel("Ready.")
        self.activity.setToolTip("What RBM Studio is doing now")
        self.statusBar().addPermanentWidget(self.activity)

        self._create_actions()
        self._create_menus_and_toolbars()
        self._connect_panels()
        self._connect_document()
        self._default_state = self.saveState()
        self._restore_settings()
        self._update_title()
        self._update_actions()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        # Dock sizes only take once the window has its real size; a saved layout wins.
        if not self._sized_docks and self.settings.window_state() is None:
            self.apply_default_dock_sizes()
        self._sized_docks = True

    def apply_default_dock_sizes(self) -> None:
        """Song list and training panel wide enough to read, the piano roll gets the rest.
        Without this the docks start at their minimum hints (the song list squeezed to its
        word-wrapped hint, the training panel at its plots' wide hint)."""
        if self.width() < COMPACT_WIDTH:
            # A small screen: the song list and the training panel share the right side as
            # tabs (songs first), so the piano roll and the generation panel keep their room.
            self.tabifyDockWidget(self.training_dock, self.dataset_dock)
            self.dataset_dock.raise_()
            self.resizeDocks([self.training_dock], [COMPACT_SIDE_WIDTH], Qt.Orientation.Horizontal)
        else:
            self.resizeDocks(
                [self.dataset_dock, self.training_dock],
                list(DEFAULT_SIDE_DOCK_WIDTHS),
                Qt.Orientation.Horizontal,
            )
        height = DEFAULT_GENERATION_HEIGHT if self.height() >= COMPACT_HEIGHT else 200
        self.resizeDocks([self.generation_dock], [height], Qt.Orientation.Vertical)
        # resizeDocks only records the sizes; lay out now so the very next paint (or a
        # screenshot taken right away) already shows them.
        layout = self.layout()
        if layout is not None:
            layout.activate()

    # -- construction -----------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        return dock

    def _action(self, text: str, tip: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when menus and toolbars are hidden
        return action

    def _create_actions(self) -> None:
        a = self._action
        self.open_folder_action = a(
            "Open &Folder…", "Import a folder of MIDI songs", self.choose_folder, "Ctrl+O"
        )
        self.open_model_action = a(
            "Open &Model…", "Open a saved .rbm model", self.choose_model_to_open, "Ctrl+Shift+O"
        )
        self.save_model_action = a(
            "&Save Model…", "Save the trained model as a .rbm file", self.save_model, "Ctrl+S"
        )
        self.save_model_as_action = a(
            "Save Model &As…", "Save the model under a new name", self.save_model_as, "Ctrl+Shift+S"
        )
        self.export_action = a(
            "&Export MIDI…",
            "Export the selected (or all) generated songs as .mid files",
            self.choose_export_folder,
            "Ctrl+E",
        )
        self.quit_action = a("&Quit", "Quit RBM Studio", self.close, QKeySequence.StandardKey.Quit)
        self.train_action = a("&Train", "Train the model on the dataset", self.train, "Ctrl+T")
        self.pause_action = a(
            "&Pause / Resume", "Pause or resume training", self.training.toggle_pause, "Ctrl+P"
        )
        self.stop_action = a(
            "S&top Training", "Stop training and keep the model", self.training.stop, "Ctrl+."
        )
        self.generate_action = a(
            "&Generate", "Generate new songs from the model", self.generation.generate, "Ctrl+G"
        )
        self.sample_action = a(
            "&Hear a Sample",
            "Generate and play a short phrase from the model as it trains",
            self.hear_sample,
            "Ctrl+H",
        )
        self.compare_action = a(
            "&A/B Compare",
            "Play the same bars of the two selected songs in turn",
            self.generation.compare,
            "Ctrl+B",
        )
        self.again_action = a(
            "Generate A&gain",
            "Generate again with the selected song's seed and settings",
            self.generation.again,
            "Ctrl+Shift+G",
        )
        self.export_starred_action = a(
            "Export S&tarred…",
            "Export every starred song as .mid files",
            lambda: self.choose_export_folder_for("starred"),
            "Ctrl+Shift+E",
        )
        self.cancel_import_action = a(
            "Cancel &Import", "Stop the running import", self.browser.cancel_import, "Esc"
        )
        self.reset_layout_action = a(
            "&Reset Layout", "Put every panel back where it started", self.reset_layout
        )
        view = self.piano_roll.view
        self.zoom_in_action = a(
            "Zoom &In",
            "Zoom in on time",
            lambda: view.zoom_time(1.25),
            QKeySequence.StandardKey.ZoomIn,
        )
        self.zoom_out_action = a(
            "Zoom &Out",
            "Zoom out in time",
            lambda: view.zoom_time(0.8),
            QKeySequence.StandardKey.ZoomOut,
        )
        self.zoom_pitch_in_action = a(
            "Taller Rows", "Zoom in on pitch", lambda: view.zoom_pitch(1.2), "Ctrl+Shift+="
        )
        self.zoom_pitch_out_action = a(
            "Shorter Rows", "Zoom out on pitch", lambda: view.zoom_pitch(1 / 1.2), "Ctrl+Shift+-"
        )
        self.fit_action = a("&Fit Song", "Fit the whole song in the view", view.fit_song, "Ctrl+0")
        self.about_action = a("&About RBM Studio", "About this program", self.show_about)
        self.shortcuts_action = a(
            "&Keyboard Shortcuts", "List every keyboard shortcut", self.show_shortcuts, "F1"
        )

    def _create_menus_and_toolbars(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.open_folder_action, self.open_model_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_model_action)
        file_menu.addAction(self.save_model_as_action)
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_starred_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        g = self.generation
        for action in (g.undo_action, g.redo_action, g.star_action):
            self.addAction(action)  # the shortcuts work wherever the focus is
            edit_menu.addAction(action)
        # Del only where the songs are: in a spin box or the song list it means something else.
        g.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        g.list.addAction(g.delete_action)
        edit_menu.addAction(g.delete_action)
        model_menu = menu.addMenu("&Model")
        for action in (
            self.train_action,
            self.pause_action,
            self.stop_action,
            self.sample_action,
            self.generate_action,
            self.again_action,
            self.compare_action,
            self.cancel_import_action,
        ):
            model_menu.addAction(action)
        self.view_menu = menu.addMenu("&View")
        for action in (
            self.zoom_in_action,
            self.zoom_out_action,
            self.zoom_pitch_in_action,
            self.zoom_pitch_out_action,
            self.fit_action,
        ):
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()
        panels = self.view_menu.addMenu("&Panels")
        for dock in (self.dataset_dock, self.training_dock, self.generation_dock):
            panels.addAction(dock.toggleViewAction())
        self.view_menu.addAction(self.reset_layout_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

        self.main_toolbar = QToolBar("Main")
        self.main_toolbar.setObjectName("mainToolbar")
        for action in (
            self.open_folder_action,
            self.open_model_action,
            self.save_model_action,
            self.export_action,
        ):
            self.main_toolbar.addAction(action)
        self.main_toolbar.addSeparator()
        for action in (self.train_action, self.stop_action, self.generate_action):
            self.main_toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.main_toolbar)
        panels.addAction(self.main_toolbar.toggleViewAction())
        # The transport (ui.transport, installed by window_factory.build_main_window) goes here
        # via add_transport(), beside the main toolbar: one row of toolbars leaves the height to
        # the panels (a narrow window stacks the transport's outputs under its controls).
        self.transport_toolbar = QToolBar("Transport")
        self.transport_toolbar.setObjectName("transportToolbar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport_toolbar)
        self.transport_toolbar.hide()
        panels.addAction(self.transport_toolbar.toggleViewAction())

    def _connect_panels(self) -> None:
        b, t, g = self.browser, self.training, self.generation
        b.statusMessage.connect(self.show_status)
        b.importStarted.connect(lambda _p: self._set_activity("Importing songs…"))
        b.importFinished.connect(self._on_import_finished)
        b.songSelected.connect(self._on_dataset_song_selected)
        t.statusMessage.connect(self.show_status)
        t.trainRequested.connect(self.train)
        t.modelTrained.connect(self._on_model_trained)
        t.modelAutosaved.connect(lambda path: self.show_status(f"Autosaved training to {path}"))
        t.trainingStateChanged.connect(self._on_training_state)
        t.progressReceived.connect(self._on_training_progress)
        g.statusMessage.connect(self.show_status)
        g.songSelected.connect(self._on_generated_song_selected)
        g.exportRequested.connect(self.choose_export_folder_for)
        g.compareRequested.connect(self.compare_songs)
        t.sampleRequested.connect(self.hear_sample)
        self.training.form.changed.connect(self._update_actions)

    def _connect_document(self) -> None:
        d = self.document
        d.changed.connect(self._on_model_changed)
        d.stateChanged.connect(self._on_document_state)
        d.opened.connect(self._on_model_opened)
        d.saved.connect(self._on_model_saved)
        d.failed.connect(self._on_model_io_failed)
        d.activity.connect(self._set_activity)

    # -- start-up ---------------------------------------------------------------------------
    def start(self, *, folder: Path | None = None, model: Path | None = None) -> None:
        """What happens at launch: open the model, import the folder (else the last folder, else
        the bundled sample chorales), and offer to restore interrupted training."""
        if model is not None:
            self.open_model(Path(model))
        last = Path(self.settings.last_folder) if self.settings.last_folder else None
        if folder is not None:
            folder = Path(folder)
            is_samples = folder.resolve() == sample_midi_dir().resolve()
            self.import_paths([folder], sample_set=is_samples)
        elif last is not None and last.is_dir():
            self.import_paths([last])
        else:
            self.load_sample_songs()
        if model is None:
            self.offer_autosave_restore()
        self.generation.load_library()

    # -- hooks for other features -----------------------------------------------------------
    def add_transport(self, widget: QWidget) -> None:
        """Add playback controls (the transport bar) to the transport toolbar."""
        self.transport_toolbar.addWidget(widget)
        self.transport_toolbar.show()
        self.transport = widget
        # What you hear is what you export: the instrument and tempo chosen in the transport for
        # a generated song become that song's, and showing a song puts its own back.
        program_box = getattr(widget, "program_combo", None)
        tempo_box = getattr(widget, "tempo_spin", None)
        if program_box is not None and tempo_box is not None:
            self.generatedSongShown.connect(self._transport_follows_song)
            program_box.currentIndexChanged.connect(self._song_follows_transport)
            tempo_box.valueChanged.connect(self._song_follows_transport)

    @Slot(object)
    def _transport_follows_song(self, generated: GeneratedSong) -> None:
        program_box, tempo_box = self.transport.program_combo, self.transport.tempo_spin
        self._syncing_transport = True
        try:
            program_box.setCurrentIndex(max(program_box.findData(generated.program), 0))
            tempo_box.setValue(tempo_box.minimum())  # "Song": the song's own tempo
        finally:
            self._syncing_transport = False

    @Slot()
    def _song_follows_transport(self, *_args) -> None:
        song = self.shown_generated
        if song is None or self._syncing_transport:
            return
        program = int(self.transport.program_combo.currentData())
        tempo_box = self.transport.tempo_spin
        changed = program != song.program
        song.program = program
        if tempo_box.value() > tempo_box.minimum() and tempo_box.value() != song.tempo:
            song.set_tempo(tempo_box.value())
            changed = True
        if changed:
            self.generation.song_changed(song)

    def current_song(self) -> Song | None:
        return self.piano_roll.song

    # -- status -----------------------------------------------------------------------------
    @Slot(str)
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _set_activity(self, text: str) -> None:
        self.activity.setText(text)

    def _update_title(self) -> None:
        model = self.document.title()
        report = self.browser.report
        dataset = ""
        if report is not None and self.browser.is_sample_set:
            dataset = "sample chorales"
        elif report is not None and self.browser.sources:
            dataset = describe_source(self.browser.sources)
        parts = [p for p in (model, dataset) if p]
        self.setWindowTitle(f"{APP_TITLE} — {' · '.join(parts)}[*]" if parts else f"{APP_TITLE}[*]")

    def _update_actions(self) -> None:
        has_model = self.model is not None
        self.save_model_action.setEnabled(has_model)
        self.save_model_as_action.setEnabled(has_model)
        training = self.training.is_training()
        self.train_action.setEnabled(not training)
        self.stop_action.setEnabled(training)
        self.pause_action.setEnabled(training)

    # -- drops anywhere on the window -------------------------------------------------------
    def paths_dropped(self, paths: list[Path]) -> None:
        self.import_paths(paths)

    # -- dataset ----------------------------------------------------------------------------
    def import_paths(self, paths: list[Path], *, sample_set: bool = False) -> bool:
        paths = [Path(p) for p in paths]
        if not sample_set and paths:
            first = paths[0]
            self.settings.last_folder = str(first if first.is_dir() else first.parent)
        return self.browser.import_paths(paths, sample_set=sample_set)

    def load_sample_songs(self) -> bool:
        folder = sample_midi_dir()
        if not folder.is_dir():
            self.show_status(f"Bundled sample songs not found at {folder}")
            return False
        return self.import_paths([folder], sample_set=True)

    @Slot()
    def choose_folder(self) -> None:
        start = self.settings.last_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of MIDI songs", start)
        if folder:
            self.import_paths([Path(folder)])

    @Slot(object)
    def _on_import_finished(self, report: DatasetReport) -> None:
        self._set_activity(f"{len(report.loaded)} songs ready.")
        self.generation.set_songs_key(best_key(report.matrices))
        self._update_title()
        if self.piano_roll.song is None:
            self.browser.select_first_song()

    @Slot(object)
    def _on_dataset_song_selected(self, result: FileResult) -> None:
        self.generation.set_primer(result.matrix, result.title or result.path.stem)
        self._request_song(result)

    def _request_song(self, result: FileResult) -> None:
        """Re-read the selected file in a worker (real timing and velocities); newest wins."""
        self._song_request += 1
        request = self._song_request

        def work(_progress, _cancel: threading.Event) -> Song:
            from ..data.dataset import song_for

            return song_for(result)

        job = run_function(work, "load-song", self)
        job.finished.connect(lambda song: self._show_loaded_song(request, song))
        job.failed.connect(lambda message, _d: self.show_status(f"Cannot show song: {message}"))
        self.song_job = job

    def _show_loaded_song(self, request: int, song: Song) -> None:
        if request != self._song_request:
            return  # the musician has selected another song since
        self.piano_roll.set_song(song, generated=False)
        self.songShown.emit(song)

    @Slot(object)
    def _on_generated_song_selected(self, generated: GeneratedSong) -> None:
        self._song_request += 1  # a pending dataset song must not replace this one
        self.shown_generated = generated
        self.piano_roll.set_song(
            generated.song,
            generated=True,
            caption=generated.name,
            primer_beats=generated.primer_beats,
        )
        self.songShown.emit(generated.song)
        self.generatedSongShown.emit(generated)

    def show_song(self, song: Song, caption: str, *, play: bool = False) -> None:
        """Show a song that is not in either list (a training sample, an A/B pair) and play it
        when an output is ready."""
        self._song_request += 1
        self.shown_generated = None
        self.piano_roll.set_song(song, generated=True, caption=caption)
        self.songShown.emit(song)
        if play and self.transport is not None and getattr(self.transport, "ready", False):
            self.transport.play_from_start()

    # -- hearing a sample while training, comparing two songs ---------------------------------
    @Slot()
    def hear_sample(self) -> Job | None:
        """Generate a short phrase from the model as training has it now and play it; training
        goes on (the snapshot and the sampling run in a worker)."""
        trainer = self.training.worker.trainer if self.training.worker is not None else None
        if trainer is None or not self.training.is_training():
            self.show_status("Start training first: the sample comes from the model as it learns.")
            return None
        seed = secrets.randbelow(2**31)

        def work(_progress, _cancel: threading.Event) -> tuple[Song, int]:
            from ..models import registry
            from ..models.base import GenerateRequest
            from ..music.encoding import decode

            model = trainer.snapshot()
            kind = registry.kind(model.kind)
            num, den = model.time_signature
            steps = int(round(SAMPLE_BARS * num * 4 / den * model.encoding.steps_per_beat))
            request = GenerateRequest(
                songs=1,
                steps=steps,
                seed=seed,
                mode="continue" if "continue" in kind.modes else None,
            )
            song = decode(kind.generate(model, request)[0])
            return song, model.epochs_trained

        job = run_function(work, "sample", self)
        job.finished.connect(self._on_sample_ready)
        job.failed.connect(lambda message, _d: self.show_status(f"No sample: {message}"))
        self.sample_job = job
        self.show_status("Making a sample from the model as it is now…")
        return job

    def _on_sample_ready(self, result: tuple[Song, int]) -> None:
        song, epochs = result
        song.title = f"sample at epoch {epochs}"
        self.sample_song = song
        self.show_song(song, f"Sample at epoch {epochs} (training goes on)", play=True)
        self.sampleShown.emit(song)
        if song.notes:
            self.show_status(f"Playing a sample of the model at epoch {epochs}.")
        else:
            self.show_status(
                f"The model plays nothing yet at epoch {epochs}: no note is likely enough so "
                "far. Try again in a little while."
            )

    @Slot(object, object)
    def compare_songs(self, a: GeneratedSong, b: GeneratedSong) -> Song:
        """A/B: the same bars of two songs one after the other (the loop region's bars when one
        is set, else the first bars), shown and played."""
        region = self.piano_roll.loop_region
        bar = a.song.first_time_signature.beats_per_bar
        start, end = region if region else (0.0, COMPARE_BARS * bar)
        song = in_turn(a.song, b.song, start, end)
        first, last = int(start // bar) + 1, int(round(end / bar))
        self.show_song(song, f"A/B, bars {first}–{last}: {a.name} then {b.name}", play=True)
        return song

    # -- training ---------------------------------------------------------------------------
    @Slot()
    def train(self) -> bool:
        report = self.browser.report
        if self.browser.is_importing():
            self.show_status("Wait for the import to finish before training.")
            return False
        if report is None or not report.matrices:
            self.training.phase_label.setText("No songs to learn from: drop a MIDI folder first.")
            self.show_status("No songs to learn from: drop a MIDI folder on the window.")
            return False
        continue_model = self.model if self.training.continue_box.isChecked() else None
        self.settings.set_hyperparameters(self.training.config().to_dict())
        started = self.training.start_training(
            report.matrices, report.encoding, model=continue_model, dataset_summary=report.summary()
        )
        self._update_actions()
        return started

    @Slot(str)
    def _on_training_state(self, state: str) -> None:
        texts = {
            "compiling": "Compiling the training step…",
            "training": "Training…",
            "paused": "Training paused.",
            "idle": "Ready.",
        }
        self._set_activity(texts.get(state, state))
        self._update_actions()

    @Slot(object)
    def _on_training_progress(self, p) -> None:
        if p.phase == "training":
            self._set_activity(f"Training: epoch {p.epoch} / {p.epochs}")

    @Slot(object)
    def _on_model_trained(self, model: Model) -> None:
        self.set_model(model, path=None, modified=True)

    # -- the model document -----------------------------------------------------------------
    @property
    def model(self) -> Model | None:
        return self.document.model

    @property
    def model_path(self) -> Path | None:
        return self.document.path

    @property
    def model_job(self) -> Job | None:
        return self.document.job

    def set_model(self, model: Model | None, *, path: Path | None, modified: bool) -> None:
        self.document.set_model(model, path=path, modified=modified)

    @Slot(object)
    def _on_model_changed(self, model: Model | None) -> None:
        self.generation.set_model(model)
        self.training.set_model_available(model is not None)
        self.training.last_model = model
        self._update_actions()
        self.modelChanged.emit(model)

    @Slot()
    def _on_document_state(self) -> None:
        self.setWindowModified(self.document.modified)
        self._update_title()

    @Slot()
    def choose_model_to_open(self) -> None:
        folder = self.document.folder()
        start = str(folder) if folder is not None else self.settings.last_folder
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start or "", MODEL_FILTER)
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path, *, modified: bool = False) -> Job:
        """Load a `.rbm` in a worker; on success its settings, curve and fields are shown."""
        return self.document.open(Path(path), modified=modified)

    @Slot(object, object)
    def _on_model_opened(self, model: Model, path: Path) -> None:
        self.training.show_model(model)
        encoding = model.data_encoding
        if self.browser.set_encoding(encoding):
            self.show_status(
                f"Re-reading the songs on the model's grid ({encoding.steps_per_beat} steps per "
                f"beat, MIDI {encoding.low}–{encoding.high})…"
            )
        self._set_activity("Ready.")
        self.show_status(f"Opened {path.name}: {model.epochs_trained} epochs trained.")

    @Slot(str, str)
    def _on_model_io_failed(self, what: str, message: str) -> None:
        self._set_activity("Ready.")
        self.show_status(f"Could not {what} the model: {message}")
        # Non-modal: the message is seen, nothing waits on it.
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            APP_TITLE,
            f"Could not {what} the model:\n{message}",
            parent=self,
        )
        box.setModal(False)
        box.show()
        self.error_box = box

    @Slot()
    def save_model(self) -> Job | None:
        if self.model is None:
            self.show_status("No model to save yet: train or open one.")
            return None
        if self.model_path is not None:
            return self.document.save()
        return self.save_model_as()

    @Slot()
    def save_model_as(self) -> Job | None:
        if self.model is None:
            return None
        start = self.model_path or Path(self.settings.last_folder or Path.home()) / "model.rbm"
        path, _ = QFileDialog.getSaveFileName(self, "Save model", str(start), MODEL_FILTER)
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() != ".rbm":
            path = path.with_suffix(".rbm")
        return self.save_model_to(path)

    def save_model_to(self, path: Path) -> Job | None:
        """Save in a worker (atomic write in `save_model`); clears the modified mark on success."""
        return self.document.save_to(Path(path))

    @Slot(object, object)
    def _on_model_saved(self, _model: Model, path: Path) -> None:
        self._set_activity("Ready.")
        self.show_status(f"Saved model to {path}")

    # -- autosave restore -------------------------------------------------------------------
    def offer_autosave_restore(self) -> bool:
        if not self.document.has_autosave():
            return False
        self.banner.offer(
            "RBM Studio found training from a previous session that was not saved. "
            "Restore that model?"
        )
        return True

    @Slot()
    def restore_autosave(self) -> Job | None:
        self.banner.hide()
        return self.document.restore_autosave()

    @Slot()
    def discard_autosave(self) -> None:
        self.banner.hide()
        self.document.discard_autosave()
        self.show_status("Discarded the autosaved training.")

    # -- export -----------------------------------------------------------------------------
    @Slot()
    def choose_export_folder(self) -> None:
        self.choose_export_folder_for("selected" if self.generation.list.selectedItems() else "all")

    @Slot(str)
    def choose_export_folder_for(self, which: str) -> None:
        """Ask for a folder and export the "selected", "starred" or "all" songs into it."""
        songs = self.generation.songs_to_export(which)
        if not songs:
            self.show_status("Nothing to export: generate songs first.")
            return
        start = self.settings.last_export_folder or self.settings.last_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Export MIDI files to", start)
        if folder:
            self.settings.last_export_folder = folder
            self.generation.export_to(Path(folder), songs)

    # -- layout, dialogs --------------------------------------------------------------------
    @Slot()
    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in (self.dataset_dock, self.training_dock, self.generation_dock):
            dock.show()
            dock.setFloating(False)
        # The default state was saved before any transport was added (it was hidden then).
        self.transport_toolbar.setVisible(self.transport is not None)
        self.main_toolbar.show()
        self.apply_default_dock_sizes()

    @Slot()
    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_TITLE}")
        box.setText(
            f"<b>{APP_TITLE} {__version__}</b><p>Learns music from your MIDI songs with a "
            "Restricted Boltzmann Machine, generates new songs and exports them as MIDI.</p>"
        )
        box.setModal(False)
        box.show()
        self.about_box = box

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, shortcut) for every action that has one — the Help → Shortcuts table."""
        rows = []
        for action in self.actions():
            seq = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if seq:
                rows.append((action.text().replace("&", ""), seq))
        rows.append(("Zoom time / pitch in the piano roll", "Ctrl+wheel / Shift+wheel"))
        return rows

    @Slot()
    def show_shortcuts(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = self.shortcut_rows()
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        for r, (name, seq) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(seq))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(460, 480)
        dialog.setModal(False)
        dialog.show()
        self.shortcuts_dialog = dialog

    # -- settings ---------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        values = self.settings.hyperparameters()
        if values:
            from ..models.config import TrainingConfig

            # Settings from another version: unknown keys are dropped, bad values refused, and
            # a kind this version lacks falls back to the default kind (the form does that).
            with contextlib.suppress(TypeError, ValueError):
                self.training.set_config(TrainingConfig.from_dict(values))
        self.generation.set_options(self.settings.generation())

    def save_settings(self) -> None:
        self.settings.set_window_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState())
        self.settings.set_hyperparameters(self.training.config().to_dict())
        self.settings.set_generation(self.generation.options())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # An unsaved model is not lost: the training worker autosaved it, and the next launch
        # offers to restore it (no blocking "save changes?" question here).
        self.save_settings()
        self.training.stop()
        self.generation.shutdown()  # library reads and writes finish; none outlives the window
        stop_all_jobs()
        super().closeEvent(event)
