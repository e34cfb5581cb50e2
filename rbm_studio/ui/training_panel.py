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
    QVBoxLayout,
    QWidget,
)

from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from .plots import ActivationHistogram, ErrorPlot, GapPlot, WeightHeatmap
from .training_worker import TrainingUpdate, TrainingWorker, autosave_path
from .workers import Job

ERROR_COLOUR = "#d93025"  # readable on light and dark backgrounds
PLOT_INTERVAL_MS = 500  # curves redraw at most twice a second while training


def format_seconds(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class HyperparameterForm(QWidget):
    """Form fields for the training hyperparameters, with one inline message per bad value.

    Fields deliberately accept out-of-range numbers so `TrainingConfig.validate()` — the one place
    that knows the rules — can explain what is wrong instead of the spin box silently clamping.
    """

    changed = Signal()

    # field → (label, prefix of the matching validate() message, tooltip)
    FIELDS = {
        "hidden": ("Hidden units", "Hidden units", "How many hidden units (feature detectors)."),
        "window": ("Window steps", "Window", "Grid steps the model sees at once (16 = 1 bar)."),
        "learning_rate": ("Learning rate", "Learning rate", "Step size of each weight update."),
        "batch_size": ("Batch size", "Batch size", "Windows per weight update."),
        "epochs": ("Epochs", "Epochs", "Passes over all training windows."),
        "cd_k": ("CD steps (k)", "CD steps", "Gibbs steps per update (contrastive divergence k)."),
        "pcd": ("Persistent CD", "", "Keep the negative chains between updates (PCD)."),
        "momentum_start": ("Momentum (start)", "Momentum start", "Momentum of the first epochs."),
        "momentum_end": ("Momentum (end)", "Momentum end", "Momentum after the switch epoch."),
        "weight_decay": ("Weight decay", "Weight decay", "L2 penalty on the weights."),
        "seed": ("Seed", "Seed", "Random seed: the same seed and songs give the same model."),
        "model": (
            "Model",
            "Model",
            "RBM: learns windows of the grid (the tutorial's model). RNN-RBM: an RBM per step "
            "conditioned on a recurrent network, learns whole sequences (slower).",
        ),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = TrainingConfig()
        self.widgets: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        # Two label/field column pairs keep the whole form visible in a narrow dock.
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        def spin(lo: int, hi: int) -> QSpinBox:
            box = QSpinBox()
            box.setRange(lo, hi)
            box.valueChanged.connect(self.changed)
            return box

        def dspin(lo: float, hi: float, decimals: int, step: float) -> QDoubleSpinBox:
            box = QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setDecimals(decimals)
            box.setSingleStep(step)
            box.valueChanged.connect(self.changed)
            return box

        model_box = QComboBox()
        model_box.addItem("RBM (windows)", "rbm")
        model_box.addItem("RNN-RBM (sequences)", "rnn-rbm")
        model_box.currentIndexChanged.connect(self.changed)
        pcd = QCheckBox("use persistent chains")
        pcd.toggled.connect(self.changed)
        self.widgets = {
            "hidden": spin(0, 1_000_000),
            "window": spin(0, 100_000),
            "learning_rate": dspin(0.0, 100.0, 5, 0.001),
            "batch_size": spin(0, 1_000_000),
            "epochs": spin(0, 10_000_000),
            "cd_k": spin(0, 100_000),
            "pcd": pcd,
            "momentum_start": dspin(0.0, 10.0, 3, 0.05),
            "momentum_end": dspin(0.0, 10.0, 3, 0.05),
            "weight_decay": dspin(0.0, 10.0, 6, 0.0001),
            "seed": spin(0, 2_147_483_647),
            "model": model_box,
        }
        for index, (name, widget) in enumerate(self.widgets.items()):
            label, _prefix, tip = self.FIELDS[name]
            widget.setToolTip(tip)
            widget.setAccessibleName(label)
            # Wide ranges (so validate() can explain bad values) must not widen the dock.
            widget.setMinimumWidth(64)
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            widget.setObjectName(f"field_{name}")
            message = QLabel()
            message.setStyleSheet(f"color: {ERROR_COLOUR};")
            message.setWordWrap(True)
            message.hide()
            message.setObjectName(f"message_{name}")
            self.messages[name] = message
            column = QVBoxLayout()
            column.setSpacing(0)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(widget)
            column.addWidget(message)
            holder = QWidget()
            holder.setLayout(column)
            row, col = divmod(index, 2)
            caption = QLabel(label + ":")
            caption.setBuddy(widget)
            grid.addWidget(caption, row, col * 2, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(holder, row, col * 2 + 1)
        self.general_message = QLabel()
        self.general_message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.general_message.setWordWrap(True)
        self.general_message.hide()
        grid.addWidget(self.general_message, len(self.widgets) // 2 + 1, 0, 1, 4)
        self.set_config(TrainingConfig())

    def set_config(self, config: TrainingConfig) -> None:
        """Fill the form; values the form does not show are kept and returned by `config()`."""
        self._base = config
        w = self.widgets
        for name in ("hidden", "window", "batch_size", "epochs", "cd_k", "seed"):
            w[name].blockSignals(True)
            w[name].setValue(int(getattr(config, name)))
            w[name].blockSignals(False)
        for name in ("learning_rate", "momentum_start", "momentum_end", "weight_decay"):
            w[name].blockSignals(True)
            w[name].setValue(float(getattr(config, name)))
            w[name].blockSignals(False)
        w["pcd"].blockSignals(True)
        w["pcd"].setChecked(bool(config.pcd))
        w["pcd"].blockSignals(False)
        w["model"].blockSignals(True)
        w["model"].setCurrentIndex(max(w["model"].findData(config.model), 0))
        w["model"].blockSignals(False)
        self.changed.emit()

    def config(self) -> TrainingConfig:
        w = self.widgets
        return replace(
            self._base,
            model=w["model"].currentData(),
            hidden=w["hidden"].value(),
            window=w["window"].value(),
            learning_rate=w["learning_rate"].value(),
            batch_size=w["batch_size"].value(),
            epochs=w["epochs"].value(),
            cd_k=w["cd_k"].value(),
            pcd=w["pcd"].isChecked(),
            momentum_start=w["momentum_start"].value(),
            momentum_end=w["momentum_end"].value(),
            weight_decay=w["weight_decay"].value(),
            seed=w["seed"].value(),
        )

    def validate(self) -> list[str]:
        """Show each problem under its field (or below the form) and return them all."""
        problems = self.config().validate()
        for label in self.messages.values():
            label.clear()
            label.hide()
        general: list[str] = []
        for problem in problems:
            for name, (_label, prefix, _tip) in self.FIELDS.items():
                if prefix and problem.lower().startswith(prefix.lower()):
                    self.messages[name].setText(problem)
                    self.messages[name].show()
                    break
            else:
                general.append(problem)
        self.general_message.setText("\n".join(general))
        self.general_message.setVisible(bool(general))
        return problems

    def visible_messages(self) -> list[str]:
        texts = [m.text() for m in self.messages.values() if not m.isHidden() and m.text()]
        if not self.general_message.isHidden() and self.general_message.text():
            texts.append(self.general_message.text())
        return texts


class TrainingPanel(QWidget):
    """Form, controls, progress and live plots for one training run at a time."""

    trainRequested = Signal()  # the window answers with start_training(...)
    modelTrained = Signal(object)  # Model, also after Stop
    modelAutosaved = Signal(str)
    statusMessage = Signal(str)
    trainingStateChanged = Signal(str)  # "idle", "compiling", "training", "paused"
    progressReceived = Signal(object)  # TrainingProgress, in order

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
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
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
        status.setColumnStretch(0, 1)
        status.setColumnStretch(1, 1)
        self.phase_label.setMinimumWidth(10)  # long messages wrap instead of widening the dock
        self.phase_label.setWordWrap(True)

        self.error_plot = ErrorPlot()
        self.gap_plot = GapPlot()
        self.heatmap = WeightHeatmap()
        self.histogram = ActivationHistogram()
        for plot in (self.error_plot, self.gap_plot, self.histogram):
            plot.setMinimumHeight(110)
        self.heatmap.setMinimumHeight(150)

        form_box = QGroupBox("Hyperparameters")
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(2, 2, 2, 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(self.form.sizeHint().height() + 4)
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
        epochs, gaps = [], []
        for record in history:
            epoch = float(record.get("epoch", 0))
            if record.get("recon_error") is not None:
                epochs.append((epoch, float(record["recon_error"])))
            if record.get("free_energy_gap") is not None:
                gaps.append((epoch, float(record["free_energy_gap"])))
        self.error_plot.add_points([], epochs)
        self.gap_plot.add_points(gaps)

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
        if model is not None and (
            model.n_hidden != config.hidden or model.window != config.effective_window
        ):
            config = replace(config, hidden=model.n_hidden, window=model.config.window)
            self.set_config(config)
        self.progress_log.clear()
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
        elif p.phase == "paused":
            self.phase_label.setText("Paused.")
            if self.state != "paused":
                self._set_state("paused")
        elif p.phase == "training":
            if self.state == "compiling":
                self._set_state("training")
            if self.state != "paused":
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
        epochs, chunks, gaps = [], [], []
        for r in reports:
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
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    def _discard_pending_points(self) -> None:
        self._plot_timer.stop()
        self._pending_chunks, self._pending_epochs, self._pending_gaps = [], [], []

    @Slot()
    def flush_plots(self) -> None:
        """Draw the points received since the last redraw."""
        self._plot_timer.stop()
        self.error_plot.add_points(self._pending_chunks, self._pending_epochs)
        self.gap_plot.add_points(self._pending_gaps)
        self._pending_chunks, self._pending_epochs, self._pending_gaps = [], [], []

    @Slot(object)
    def _on_finished(self, model: Model | None) -> None:
        self.flush_plots()
        last = self.progress_log[-1] if self.progress_log else None
        cancelled = last is not None and last.phase == "cancelled"
        if model is not None:
            self.last_model = model
        self._on_concluded()
        if model is not None:
            epochs = model.epochs_trained
            self.phase_label.setText(
                f"Stopped after {epochs} epochs; the model is kept."
                if cancelled
                else f"Done: {epochs} epochs."
            )
            self.modelTrained.emit(model)
            self.statusMessage.emit(
                f"Training stopped at epoch {epochs}; model kept."
                if cancelled
                else f"Training finished ({epochs} epochs)."
            )

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
