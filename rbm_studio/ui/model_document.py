"""The model "document": the open model, the file it came from or was saved to, whether it has
changed since, and the autosave of an interrupted training session.

File reads and writes run in `Job`s (`ui.workers`); the document reports through signals, so the
window only shows what happened. Dialogs (which file to open or save as) stay with the window.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..models.document import Model
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
        self.model: Model | None = None
        self.path: Path | None = None
        self.modified = False
        self.job: Job | None = None  # the newest open or save
        self._autosave = Path(autosave) if autosave is not None else None

    @property
    def autosave(self) -> Path:
        """Where interrupted training is autosaved (the user data folder unless given)."""
        return self._autosave if self._autosave is not None else autosave_path()

    @autosave.setter
    def autosave(self, path: Path | None) -> None:
        self._autosave = Path(path) if path is not None else None

    # -- the current model ------------------------------------------------------------------
    def set_model(self, model: Model | None, *, path: Path | None, modified: bool) -> None:
        self.model = model
        self.path = Path(path) if path is not None else None
        self.modified = bool(modified)
        self.changed.emit(model)
        self.stateChanged.emit()

    def title(self) -> str:
        """How the window names the model: its file, "unsaved model", or "" when there is none."""
        if self.path is not None:
            return self.path.name
        return "unsaved model" if self.model is not None else ""

    def folder(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    # -- files ------------------------------------------------------------------------------
    def open(self, path: Path, *, modified: bool = False) -> Job:
        """Read a model file in a worker; on success it becomes the current model (`opened`).
        `modified`: it is not that file's model (a restored autosave), so it has no path."""
        path = Path(path)

        def work(_progress, _cancel: threading.Event) -> Model:
            from ..models.model_file import load_model

            return load_model(path)

        self.activity.emit(f"Opening {path.name}…")
        job = run_function(work, "open-model", self)
        job.finished.connect(lambda model: self._on_opened(model, path, modified))
        job.failed.connect(lambda message, _details: self.failed.emit("open", message))
        self.job = job
        return job

    def _on_opened(self, model: Model, path: Path, modified: bool) -> None:
        self.set_model(model, path=None if modified else path, modified=modified)
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
            from ..models.model_file import save_model

            save_model(model, path)
            autosave.unlink(missing_ok=True)  # saved for real: nothing to restore
            return path

        self.activity.emit(f"Saving {path.name}…")
        job = run_function(work, "save-model", self)
        job.finished.connect(lambda saved: self._on_saved(model, saved))
        job.failed.connect(lambda message, _details: self.failed.emit("save", message))
        self.job = job
        return job

    def _on_saved(self, model: Model, path: Path) -> None:
        if model is self.model:
            self.path = path
            self.modified = False
            self.stateChanged.emit()
        self.saved.emit(model, path)

    # -- autosave of interrupted training ---------------------------------------------------
    def _restorable(self) -> Path | None:
        """This window's autosave, else the newest one a run that is gone left behind."""
        if self._autosave is not None:
            return self._autosave if self._autosave.is_file() else None
        own = autosave_path()
        if own.is_file():
            return own
        found = orphaned_autosaves()
        return found[0] if found else None

    def has_autosave(self) -> bool:
        return self._restorable() is not None

    def restore_autosave(self) -> Job | None:
        """Open the autosaved model as an unsaved, modified one (None when there is none). A
        previous run's autosave becomes this run's (so saving for real removes it)."""
        found = self._restorable()
        if found is None:
            return None
        target = self.autosave
        if found != target:
            try:
                os.replace(found, target)
            except OSError:
                target = found
        return self.open(target, modified=True)

    def discard_autosave(self) -> None:
        found = self._restorable()
        if found is not None:
            found.unlink(missing_ok=True)
