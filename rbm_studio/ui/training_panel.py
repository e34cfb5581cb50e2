"""Training panel: the hyperparameter form, Train / Pause / Resume / Stop, and live plots.

The panel owns the training job. The window hands it the songs (`start_training`); the panel
reports through signals (`modelTrained`, `statusMessage`, `trainingStateChanged`) and never calls
JAX itself — the worker runs a `studio.training.TrainingRun`. What the labels and curves show is
worked out by `studio.training_progress`; the panel only binds and draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from ..studio.training import (
    autosave_path,
    config_for_continuing,
    start_compile_ahead,
    start_warm_up,
)
from ..studio.training import warming_up as training_warming_up
from ..studio.training_progress import (
    COMPILING_LINE,
    PlotPoints,
    ProgressView,
    TrainingProgressState,
)
from . import heap
from .hyperparameter_form import HyperparameterForm
from .plots import ActivationHistogram, ErrorPlot, GapPlot, PlotBoard, WeightHeatmap
from .staged_redraw import StagedRedraw
from .training_worker import TrainingUpdate, TrainingWorker
from .workers import Job, run_function

PLOT_INTERVAL_MS = 500  # curves redraw at most twice a second while training
AHEAD_DELAY_MS = 1000  # after an import, before compiling ahead (a test or a quick Train skips it)
ADVANCED_MIN_HEIGHT = 220  # opened Advanced settings scroll below this height


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
        self.devices_job: Job | None = None
        self.state = "idle"
        self.autosave_every = 5
        self.autosave_to: Path | None = autosave_path()
        self.progress = TrainingProgressState()
        self.last_model: Model | None = None
        self._plot_timer = QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self._queue_curves)
        self.redraws = StagedRedraw(self)  # one plot per pass of the event loop
        self._ahead_timer = QTimer(self)  # new songs: compile ahead unless Train comes first
        self._ahead_timer.setSingleShot(True)
        self._ahead_timer.setInterval(AHEAD_DELAY_MS)
        self._ahead_timer.timeout.connect(self._compile_ahead_now)
        self._ahead_songs = None
        self._gap_points: list[PlotPoints] = []

        self.form = HyperparameterForm()
        self.form.changed.connect(self._on_form_changed)
        self.continue_box = QCheckBox("Continue training the open model")
        self.continue_box.setToolTip(
            "Keep the open model's weights and train it further on the current songs "
            "(its hidden units and window are kept)."
        )
        self.continue_box.setEnabled(False)
        buttons = self._build_buttons()
        status = self._build_status()
        self._build_plots()
        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 0, 0)
        controls_layout.addWidget(self._build_form_box(), 1)
        controls_layout.addLayout(buttons)
        controls_layout.addLayout(status)
        self._build_splitter(controls)
        self._update_buttons()
        start_warm_up(self.form.kind_name())
        self.form.kindChanged.connect(start_warm_up)

    # -- the run's state, as the window and the tests ask for it ------------------------------
    @property
    def progress_log(self):
        """The reports of this run so far (the newest last)."""
        return self.progress.log

    @property
    def held_scores(self) -> list[tuple[float, float]]:
        return self.progress.held_scores

    @property
    def best_epoch(self) -> int | None:
        return self.progress.best_epoch

    @property
    def stop_reason(self) -> str | None:
        return self.progress.stop_reason

    # -- building ---------------------------------------------------------------------------
    def _build_buttons(self) -> QHBoxLayout:
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
        return buttons

    def _build_status(self) -> QGridLayout:
        self.phase_label = QLabel("Ready to train.")
        self.phase_label.setToolTip("What training is doing now")
        self.phase_label.setMinimumWidth(10)  # long messages wrap instead of widening the dock
        self.phase_label.setWordWrap(True)
        self.epoch_label = QLabel("Epoch — / —")
        self.epoch_label.setToolTip("Completed epochs / planned epochs")
        self.eta_label = QLabel("ETA —")
        self.eta_label.setToolTip(
            "Estimated time until training finishes: at the last epoch or at the time limit, "
            "whichever comes first"
        )
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setToolTip(
            "Progress towards the end of training: the planned epochs or the time limit, "
            "whichever comes first"
        )
        self.verdict_label = QLabel("")
        self.verdict_label.setObjectName("held_out_verdict")
        self.verdict_label.setToolTip(
            "How the model does on held-out songs it never trains on: still learning while "
            "their score improves, memorising when it has stopped improving."
        )
        self.verdict_label.setMinimumWidth(10)
        self.verdict_label.setWordWrap(True)
        status = QGridLayout()
        status.addWidget(self.phase_label, 0, 0, 1, 2)
        status.addWidget(self.epoch_label, 1, 0)
        status.addWidget(self.eta_label, 1, 1, Qt.AlignmentFlag.AlignRight)
        status.addWidget(self.progress_bar, 2, 0, 1, 2)
        status.addWidget(self.verdict_label, 3, 0, 1, 2)
        status.setColumnStretch(0, 1)
        status.setColumnStretch(1, 1)
        return status

    def _build_plots(self) -> None:
        self.error_plot = ErrorPlot()
        self.gap_plot = GapPlot()
        self.heatmap = WeightHeatmap()
        self.histogram = ActivationHistogram()
        # Small minimums: on a short screen the plots give way to the controls (and can be
        # dragged shut), so the panel fits a 640-pixel-high window.
        for plot in (self.error_plot, self.gap_plot, self.histogram, self.heatmap):
            plot.setMinimumHeight(60)

    def _build_form_box(self) -> QGroupBox:
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
        form_layout.addWidget(scroll)
        form_layout.addWidget(self.continue_box)
        return form_box

    def _build_splitter(self, controls: QWidget) -> None:
        self.plot_board = PlotBoard(
            [
                ("Learning", self.error_plot),
                ("Unseen songs", self.gap_plot),
                ("Patterns", self.heatmap),
                ("In use", self.histogram),
            ]
        )
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("trainingSplitter")
        self.splitter.addWidget(controls)
        self.splitter.addWidget(self.plot_board)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)

    # -- form -------------------------------------------------------------------------------
    def config(self) -> TrainingConfig:
        return self.form.config()

    def set_config(self, config: TrainingConfig) -> None:
        self.form.set_config(config)

    @Slot(object)
    def compile_ahead(self, report) -> None:
        """New songs (an import's `DatasetReport`): shortly after (unless Train is pressed
        first), compile the training program of the form's settings on them in the background,
        so that Train starts training at once."""
        self._ahead_songs = report
        self._ahead_timer.start()

    @Slot()
    def _compile_ahead_now(self) -> None:
        report, self._ahead_songs = self._ahead_songs, None
        if report and report.matrices and not self.is_training() and not self.form.validate():
            start_compile_ahead(self.config(), report.matrices, report.encoding)

    def warming_up(self) -> bool:
        """Whether the panel is still getting training ready (JAX, the program for new songs)."""
        return self._ahead_timer.isActive() or training_warming_up()

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
        need = controls.minimumSizeHint().height()
        if sum(sizes) > 0 and sizes[0] != need:
            splitter.setSizes([need, max(sum(sizes) - need, 0)])

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
    def _clear_plots(self) -> None:
        self._discard_pending_points()
        for plot in (self.error_plot, self.gap_plot, self.heatmap, self.histogram):
            plot.clear_data()

    def show_history(self, history: Sequence[dict]) -> None:
        """Plot a model's saved training curve (when a model file is opened)."""
        self._plot_timer.stop()
        self.error_plot.clear_data()
        self.gap_plot.clear_data()
        points, verdict = self.progress.load_history(history)
        self._draw(points)
        self.gap_plot.set_best_epoch(self.progress.best_epoch)
        self.verdict_label.setText(verdict)

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

    def _refuse(self, phase: str, status: str) -> bool:
        self.phase_label.setText(phase)
        self.statusMessage.emit(status)
        return False

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
            return self._refuse("Fix the highlighted hyperparameters to train.", problems[0])
        if not matrices:
            return self._refuse(
                "No songs to learn from: drop a MIDI folder first.", "No songs to learn from."
            )
        shown = self.config()
        config = config_for_continuing(shown, model)
        if config is not shown:  # continuing keeps the open model's kind, units and window
            self.set_config(config)
        self._ahead_timer.stop()
        self.progress.start(config.minutes * 60.0 if config.minutes else None)
        self.verdict_label.setText("")
        if model is None:
            self._clear_plots()
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
        self.phase_label.setText(COMPILING_LINE)
        heap.settle()  # what is alive at Train stays out of the collector's walks
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
        if self.worker is None or not self.is_training():
            return None
        return self.worker.run_state.model_now()

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

    # -- what the run sends -----------------------------------------------------------------
    @Slot(object)
    def _on_update(self, update: TrainingUpdate) -> None:
        view = self.progress.add(update.progresses, self.state)
        for p in update.progresses:
            self.progressReceived.emit(p)
        if view is not None:
            self._show_progress(view)
        fields, band, activations = update.fields, update.band, update.activations
        if fields is not None:
            self.redraws.queue("heatmap", lambda: self.heatmap.set_fields(fields, band))
        if activations is not None:
            self.redraws.queue("histogram", lambda: self.histogram.set_activations(activations))
        if update.final:
            self.progress.end(update.stop_reason, update.best_epoch)
        if update.autosaved:
            self.modelAutosaved.emit(update.autosaved)
        if update.autosave_error:
            self.statusMessage.emit(f"Autosave failed: {update.autosave_error}")

    def _show_progress(self, view: ProgressView) -> None:
        """The labels from the newest report; the points wait for the next redraw."""
        if view.state != self.state:
            self._set_state(view.state)
        if view.phase is not None:
            self.phase_label.setText(view.phase)
        self.epoch_label.setText(view.epoch)
        self.eta_label.setText(view.eta)
        if view.fraction is not None:
            self.progress_bar.setValue(int(view.fraction * 1000))
        if view.verdict is not None:
            self.verdict_label.setText(view.verdict)
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    def _discard_pending_points(self) -> None:
        self._plot_timer.stop()
        self.redraws.clear()
        self._gap_points.clear()
        self.progress.discard_pending()

    def _draw(self, points: PlotPoints) -> None:
        self.error_plot.add_points(points.chunks, points.epochs)
        self.gap_plot.add_points(points.gaps)
        self.gap_plot.add_held_out(points.held)

    @Slot()
    def _queue_curves(self) -> None:
        """The curves' new points, each plot at its own turn (`StagedRedraw`)."""
        self.redraws.queue("error", self._draw_error)
        self.redraws.queue("gap", self._draw_gap)

    def _draw_error(self) -> None:
        points = self.progress.take_pending()
        self.error_plot.add_points(points.chunks, points.epochs)
        self._gap_points.append(points)

    def _draw_gap(self) -> None:
        for points in self._gap_points:
            self.gap_plot.add_points(points.gaps)
            self.gap_plot.add_held_out(points.held)
        self._gap_points.clear()
        best = self.progress.best_epoch
        if best != self.gap_plot.best_epoch and self.progress.held_scores:
            self.gap_plot.set_best_epoch(best)

    @Slot()
    def flush_plots(self) -> None:
        """Draw everything received since the last redraw, now."""
        self._plot_timer.stop()
        self._queue_curves()
        self.redraws.run_all()

    @Slot(object)
    def _on_finished(self, model: Model | None) -> None:
        self.flush_plots()
        if model is not None:
            self.last_model = model
        self._on_concluded()
        self.verdict_label.setText(self.progress.verdict())
        if model is not None:
            phase, status = self.progress.finished_lines(model.epochs_trained)
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
