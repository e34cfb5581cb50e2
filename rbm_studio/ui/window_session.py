"""What the window carries from one launch to the next, beyond settings: the model that was open
comes back (Generate works at once after a restart), and the export dialog opens where generated
songs belong, never in the songs' own folder. The file rules are `studio.document`'s; this module
only reads and writes the window's settings around them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtWidgets import QMainWindow

from ..platform.paths import data_dir, export_dir
from ..studio import document
from .workers import Job

# The window these act on: `ui.main_window.MainWindow` (not imported: it imports this module).
MainWindow = QMainWindow


def reopen_last_model(window: MainWindow) -> Job | None:
    """Open the model the last session had open (in a worker), or None when there was none or
    its file is gone. An unsaved model's copy comes back unsaved, as it was."""
    path, unsaved = window.settings.last_model
    if not path or not Path(path).is_file():
        return None
    return window.open_model(Path(path), modified=unsaved)


def keep_model(window: MainWindow) -> None:
    """At close: remember the open model for the next launch (an unsaved one is copied to the
    data folder first). A model that cannot be written is not remembered; training still running
    keeps its autosave, which the next launch offers to restore."""
    doc = window.document
    autosave = None if window.training.is_training() else doc.autosave
    try:
        kept = document.keep_for_next_launch(doc.state, data_dir(), autosave)
    except (OSError, ValueError) as error:
        window.show_status(f"Could not keep the model for the next launch: {error}")
        kept = None
    if kept is None:
        window.settings.set_last_model("", False)
        return
    path, unsaved = kept
    window.settings.set_last_model(str(path), unsaved)


def export_start_folder(window: MainWindow) -> Path:
    """Where the export dialog opens: the folder last exported to, unless that is where the
    songs came from; else the "Generated" folder in the musician's music folder."""
    songs = [Path(p) for p in window.browser.sources]
    if window.settings.last_folder:
        songs.append(Path(window.settings.last_folder))
    default = export_dir()
    with contextlib.suppress(OSError):
        default.mkdir(parents=True, exist_ok=True)
    return document.export_start(window.settings.last_export_folder, songs, default)
