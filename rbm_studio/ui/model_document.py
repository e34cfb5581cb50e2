"""The model document's Qt side: `studio.document` holds the open model, its file, its modified
mark and the autosave rules; this object runs their file work in `Job`s (`ui.workers`) and reports
through signals, so the window only shows what happened. Dialogs (which file to open or save as)
stay with the window.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..models.document import Model
from ..studio import document
from .training_worker import autosave_path, orphaned_autosaves
from .workers import Job, run_function


class ModelDocument(QObject):
    """The current model, its path and its modified mark; opens and saves model files."""

    changed = Signal(object)  # Model or None: the current model was replaced
    stateChanged = Signal()  # the path or the modified mark changed (the window's title)
    opened = Signal(object, object)  # Model, Path it was read from (already the current model)
    saved = Signal(object, object)  # Model, Path it was written to
    failed = Signal(str, str)  # what ("open" or "save"), one-line reason
    activity = Signal(str)  # what the document is doing now ("Opening model.rbm…")

    def __init__(self, parent: QObject | None = None, *, autosave: Path | None = None) -> None:
        super().__init__(parent)
        self.state = document.Document()
        self.job: Job | None = None  # the newest open or save
        self._autosave = Path(autosave) if autosave is not None else None

    @property
    def model(self) -> Model | None:
        return self.state.model

    @property
    def path(self) -> Path | None:
        return self.state.path

    @property
    def modified(self) -> bool:
        return self.state.modified

    @property
    def autosave(self) -> Path:
        """Where interrupted training is autosaved (the user data folder unless given)."""
        return self._autosave if self._autosave is not None else autosave_path()

    @autosave.setter
    def autosave(self, path: Path | None) -> None:
        self._autosave = Path(path) if path is not None else None

    def autosaves(self) -> document.Autosaves:
        return document.Autosaves(
            self.autosave, fixed=self._autosave is not None, orphans=orphaned_autosaves
        )

    # -- the current model ------------------------------------------------------------------
    def set_model(self, model: Model | None, *, path: Path | None, modified: bool) -> None:
        self.state.set_model(model, path=path, modified=modified)
        self.changed.emit(model)
        self.stateChanged.emit()

    def title(self) -> str:
        """How the window names the model: its file, "unsaved model", or "" when there is none."""
        return self.state.title()

    def folder(self) -> Path | None:
        return self.state.folder()

    # -- files ------------------------------------------------------------------------------
    def open(self, path: Path, *, modified: bool = False) -> Job:
        """Read a model file in a worker; on success it becomes the current model (`opened`).
        `modified`: it is not that file's model (a restored autosave), so it has no path."""
        path = Path(path)

        def work(_progress, _cancel: threading.Event) -> Model:
            return document.open_model(path)

        self.activity.emit(f"Opening {path.name}…")
        job = run_function(work, "open-model", self)
        job.finished.connect(lambda model: self._on_opened(model, path, modified))
        job.failed.connect(lambda message, _details: self.failed.emit("open", message))
        self.job = job
        return job

    def _on_opened(self, model: Model, path: Path, modified: bool) -> None:
        self.state.opened(model, path, modified=modified)
        self.changed.emit(model)
        self.stateChanged.emit()
        self.opened.emit(model, path)

    def save(self) -> Job | None:
        """Save to the model's own file; None when there is no model or it has no file yet."""
        if self.model is None or self.path is None:
            return None
        return self.save_to(self.path)

    def save_to(self, path: Path) -> Job | None:
        """Write the current model in a worker (an atomic write); on success the path is kept,
        the modified mark cleared and the autosave removed (the model is saved for real)."""
        model = self.model
        if model is None:
            return None
        path = Path(path)
        autosave = self.autosave

        def work(_progress, _cancel: threading.Event) -> Path:
            return document.save_model(model, path, autosave)

        self.activity.emit(f"Saving {path.name}…")
        job = run_function(work, "save-model", self)
        job.finished.connect(lambda saved: self._on_saved(model, saved))
        job.failed.connect(lambda message, _details: self.failed.emit("save", message))
        self.job = job
        return job

    def _on_saved(self, model: Model, path: Path) -> None:
        if self.state.saved(model, path):
            self.stateChanged.emit()
        self.saved.emit(model, path)

    # -- autosave of interrupted training ---------------------------------------------------
    def has_autosave(self) -> bool:
        return self.autosaves().restorable() is not None

    def restore_autosave(self) -> Job | None:
        """Open the autosaved model as an unsaved, modified one (None when there is none). A
        previous run's autosave becomes this run's (so saving for real removes it)."""
        found = self.autosaves().claim()
        return None if found is None else self.open(found, modified=True)

    def discard_autosave(self) -> None:
        self.autosaves().discard()
