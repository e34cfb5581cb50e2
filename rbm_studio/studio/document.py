"""The model document without Qt: the open model, the file it came from or was saved to, whether
it has changed since, and the autosave an interrupted training session left.

`Document` is the state; the module-level functions are the file work (open, save, restore,
discard) a worker thread runs. The window's `ui.model_document` starts them in jobs and turns
their results into signals; the CLI and tests call them directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models.document import Model

LAST_MODEL_FILE = "last-model.rbm"  # an unsaved model kept for the next launch (data folder)


@dataclass
class Document:
    """The current model, its path and its modified mark."""

    model: Model | None = None
    path: Path | None = None
    modified: bool = False

    def set_model(self, model: Model | None, *, path: Path | None, modified: bool) -> None:
        self.model = model
        self.path = Path(path) if path is not None else None
        self.modified = bool(modified)

    def opened(self, model: Model, path: Path, *, modified: bool) -> None:
        """`model` was read from `path`. `modified`: it is not that file's model (a restored
        autosave), so it has no path and is unsaved."""
        self.set_model(model, path=None if modified else path, modified=modified)

    def saved(self, model: Model, path: Path) -> bool:
        """`model` was written to `path`; True when it is still the current model (which then
        has that path and no unsaved changes). A model replaced while it was being saved keeps
        the new one's state."""
        if model is not self.model:
            return False
        self.path = Path(path)
        self.modified = False
        return True

    def title(self) -> str:
        """How the window names the model: its file, "unsaved model", or "" when there is none."""
        if self.path is not None:
            return self.path.name
        return "unsaved model" if self.model is not None else ""

    def folder(self) -> Path | None:
        return self.path.parent if self.path is not None else None


def open_model(path: Path) -> Model:
    """Read a model file; `models.model_file.ModelFileError` (one line) when it cannot be."""
    from ..models.model_file import load_model

    return load_model(Path(path))


def save_model(model: Model, path: Path, autosave: Path | None = None) -> Path:
    """Write `model` to `path` (an atomic write), then remove `autosave`: once the model is
    saved for real there is nothing to restore."""
    from ..models.model_file import save_model as write_model

    path = Path(path)
    write_model(model, path)
    if autosave is not None:
        Path(autosave).unlink(missing_ok=True)
    return path


def keep_for_next_launch(
    state: Document, folder: Path, autosave: Path | None = None
) -> tuple[Path, bool] | None:
    """Make sure the next launch can reopen the current model: (the file to open, whether it is
    an unsaved model's copy), or None when there is no model. A model saved to its file is
    reopened from there; an unsaved one (trained or restored: it has no file) is written to
    `folder`, and `autosave` (the same training's) is removed, as a real save would."""
    if state.model is None:
        return None
    if state.path is not None and not state.modified:
        return state.path, False
    copy = save_model(state.model, Path(folder) / LAST_MODEL_FILE, autosave)
    return copy, True


def export_start(remembered: str | None, song_folders: Sequence[Path], default: Path) -> Path:
    """Where the export dialog opens: the folder last exported to, unless it is gone or is (or
    is inside) a folder the songs were imported from, where one careless OK would mix generated
    songs into the songs a model learns from; else `default`."""
    if remembered:
        chosen = Path(remembered)
        if chosen.is_dir() and not any(_inside(chosen, folder) for folder in song_folders):
            return chosen
    return Path(default)


def _inside(path: Path, folder: Path) -> bool:
    folder = Path(folder)
    folder = folder if folder.is_dir() else folder.parent
    try:
        path.resolve().relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Autosaves:
    """Where this run autosaves (`own`), whether that place was chosen rather than the user
    data folder's (`fixed`: then only it counts), and how to find the autosaves of runs that are
    gone (`orphans`, newest first)."""

    own: Path
    fixed: bool = False
    orphans: Callable[[], Sequence[Path]] = tuple

    def restorable(self) -> Path | None:
        """This run's autosave, else the newest one a run that is gone left behind."""
        if self.own.is_file():
            return self.own
        if self.fixed:
            return None
        found = list(self.orphans())
        return found[0] if found else None

    def claim(self) -> Path | None:
        """The autosave to restore, moved to this run's own place when it was another run's
        (so that saving for real removes it); where it is when it cannot be moved; None when
        there is none."""
        found = self.restorable()
        if found is None or found == self.own:
            return found
        try:
            os.replace(found, self.own)
        except OSError:
            return found
        return self.own

    def discard(self) -> Path | None:
        """Delete the autosave a restore would open; returns it (None when there was none)."""
        found = self.restorable()
        if found is not None:
            found.unlink(missing_ok=True)
        return found
