"""The training worker: runs a `studio.training.TrainingRun` on its own thread and forwards what
it sends to the GUI.

The run (`rbm_studio.studio.training`) owns the trainer, the autosave policy and the batching of
reports; this `QObject` only starts it, turns its updates into signals and ends with the model
trained so far — also when the musician pressed Stop.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ..models.config import TrainingConfig
from ..models.document import Model
from ..music.encoding import Encoding, StateMatrix
from ..studio.errors import describe_error
from ..studio.training import (
    AutosavePolicy,
    TrainingRun,
    TrainingUpdate,
    autosave_path,
    orphaned_autosaves,
)

log = logging.getLogger(__name__)

# The window's model document finds the autosaves through this module.
__all__ = ["TrainingUpdate", "TrainingWorker", "autosave_path", "orphaned_autosaves"]


class TrainingWorker(QObject):
    progress = Signal(object)  # TrainingUpdate
    finished = Signal(object)  # Model (None if training never started)
    failed = Signal(str, str)

    def __init__(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
        autosave_every: int = 5,
        autosave_to: Path | None = None,
        dataset_summary: dict | None = None,
    ) -> None:
        super().__init__()
        self.run_state = TrainingRun(
            config,
            matrices,
            encoding,
            model=model,
            autosave=AutosavePolicy(autosave_to, autosave_every, dataset_summary),
            dataset_summary=dataset_summary,
        )
        self.cancel_event = self.run_state.cancel_event

    @property
    def trainer(self):
        """The kind's trainer once the run has made it (None before)."""
        return self.run_state.trainer

    # Called from the GUI thread.
    def pause(self) -> None:
        self.run_state.pause()

    def resume(self) -> None:
        self.run_state.resume()

    def cancel(self) -> None:
        self.run_state.cancel()

    @Slot()
    def run(self) -> None:
        run = self.run_state
        try:
            model = run.train(self.progress.emit)
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, never raised into Qt
            log.error("training failed: %s", describe_error(exc), exc_info=True)
            self.failed.emit(describe_error(exc), traceback.format_exc())
            return
        # The musician gets the model (and Stop returns) first; the final plots and the
        # autosave follow on this thread. The last reports go before the model, in order, with
        # why the trainer stopped.
        self.progress.emit(run.final_update())
        self.finished.emit(model)
        self.progress.emit(run.conclude(model))
