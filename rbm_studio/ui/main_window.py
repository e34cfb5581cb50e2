"""The RBM Studio main window: dataset browser (left), piano roll (centre), training (right) and
generation (bottom) docks, menus, status bar, settings and the autosave-restore banner.

The window wires panels together; the open model, its file and the autosave restore live in
`studio.document` (run in jobs by `ui.model_document.ModelDocument`), a sample and an A/B pair are
made by `studio.generation`, and the docks, actions and menus are built by `ui.window_actions`.
All file and JAX work happens in jobs (`ui.workers`); the window only reacts to their signals and
asks the musician which files to use.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QWidget,
)

from ..data.dataset import DatasetReport, FileResult
from ..models.document import Model
from ..music.song import Song
from ..resources import sample_midi_dir
from ..studio import cowrite_list, generation
from ..studio.library import GeneratedSong
from . import cowrite_actions, window_actions, window_session
from .dataset_browser import DatasetBrowser, MidiDropTarget, describe_source
from .generation_panel import GenerationPanel
from .model_document import ModelDocument
from .piano_roll import PianoRoll
from .roll_editing import RollEditing
from .settings import AppSettings
from .training_panel import TrainingPanel
from .window_actions import (  # noqa: F401 (the layout figures are read from here too)
    APP_TITLE,
    COMPACT_HEIGHT,
    COMPACT_SIDE_WIDTH,
    COMPACT_WIDTH,
    DEFAULT_GENERATION_HEIGHT,
    DEFAULT_SIDE_DOCK_WIDTHS,
    RestoreBanner,
)
from .workers import Job, run_function, stop_all_jobs

SAMPLE_BARS = 4  # "Hear a sample": a phrase this long
COMPARE_BARS = 4  # A/B without a loop region: the first bars
MODEL_FILTER = "RBM Studio models (*.rbm);;All files (*)"


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
        self.setCentralWidget(window_actions.stack(self.banner, self.piano_roll))

        self.browser = DatasetBrowser()
        self.training = TrainingPanel()
        self.generation = GenerationPanel()
        window_actions.create_docks(self)
        self._sized_docks = False
        self.transport: QWidget | None = None  # set by add_transport (window_factory)

        self.activity = QLabel("Ready.")
        self.activity.setToolTip("What RBM Studio is doing now")
        self.statusBar().addPermanentWidget(self.activity)

        window_actions.create_actions(self)
        window_actions.create_menus_and_toolbars(self)
        cowrite_actions.install(self)  # the Write menu: play an idea in, regenerate, harmonise
        self._connect_panels()
        self._connect_document()
        self.roll_editing = RollEditing(self)  # note edits: undo stack, edited copies
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
        """Song list and training panel wide enough to read, the piano roll gets the rest."""
        window_actions.apply_default_dock_sizes(self)

    def _connect_panels(self) -> None:
        b, t, g = self.browser, self.training, self.generation
        b.statusMessage.connect(self.show_status)
        b.importStarted.connect(lambda _p: self._set_activity("Importing songs…"))
        b.importProgress.connect(
            lambda n, m: self._set_activity(f"Importing songs: {n:,} of {m:,}…")
        )
        b.importFinished.connect(self._on_import_finished)
        b.importFinished.connect(t.compile_ahead)  # Train then finds its program compiled
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
        """At launch: open the model (else the last session's), import the folder (else the
        last folder, else the bundled sample chorales), offer to restore interrupted training."""
        if model is not None:
            self.open_model(Path(model))
        else:
            window_session.reopen_last_model(self)
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
        # What you hear is what you export: a generated song keeps the transport's sound and tempo.
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
        window_actions.follow_training(self, training)

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
        self.generation.set_folder_songs(report.matrices)
        self._update_title()
        if self.shown_generated is None:  # the new songs replace the old folder's in the roll
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
        self.shown_generated = None
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
            written_bars=cowrite_list.written_bars(generated.settings),
        )
        self.songShown.emit(generated.song)
        self.generatedSongShown.emit(generated)

    def show_song(self, song: Song, caption: str, *, play: bool = False, split=None) -> None:
        """Show a song that is not in either list (a training sample, an A/B pair: `split`,
        (beat, labels), marks where B starts) and play it when an output is ready."""
        self._song_request += 1
        self.shown_generated = None
        beat, labels = split or (None, None)
        self.piano_roll.set_song(
            song, generated=True, caption=caption, primer_beats=beat, marker_labels=labels
        )
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
            model = trainer.snapshot()
            return generation.phrase(model, SAMPLE_BARS, seed), model.epochs_trained

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
        song, caption, b_start = generation.compare(a, b, self.piano_roll.loop_region, COMPARE_BARS)
        self.show_song(song, caption, play=True, split=(b_start, ("◂ A", "B ▸")))
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
            "compiling": "Compiling the training step (the first start takes longest)…",
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
        self.error_box = window_actions.warning_box(self, f"Could not {what} the model:\n{message}")

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
        start = str(window_session.export_start_folder(self))
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
        self.about_box = window_actions.about_box(self)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, shortcut) for every action that has one — the Help → Shortcuts table."""
        return window_actions.shortcut_rows(self)

    @Slot()
    def show_shortcuts(self) -> None:
        self.shortcuts_dialog = window_actions.shortcuts_dialog(self, self.shortcut_rows())

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
        # offers to restore it (no blocking "save changes?" question here). The open model comes
        # back at the next launch.
        window_session.keep_model(self)
        self.save_settings()
        self.training.stop()
        self.generation.shutdown()  # library reads and writes finish; none outlives the window
        stop_all_jobs()
        super().closeEvent(event)
