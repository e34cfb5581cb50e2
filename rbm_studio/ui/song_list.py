"""The list of generated songs: items a musician can drag out as `.mid` files, and the undoable
removal of some of them. The `QMimeData` of a drag is built by `mime_data_for`, which tests call
directly.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag, QUndoCommand
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from ..platform.paths import cache_dir
from ..studio.generation import safe_stem, write_song
from ..studio.library import GeneratedSong

SONG_ROLE = Qt.ItemDataRole.UserRole


class GeneratedList(QListWidget):
    """Generated songs; items can be dragged out as `.mid` files."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setToolTip(
            "Generated songs: select one to see it, drag it onto the desktop or into your DAW"
        )
        self.drag_dir = cache_dir() / "drag"

    def songs(self, items: list[QListWidgetItem] | None = None) -> list[GeneratedSong]:
        items = items if items is not None else [self.item(i) for i in range(self.count())]
        return [item.data(SONG_ROLE) for item in items if item is not None]

    def mime_data_for(self, items: list[QListWidgetItem]) -> QMimeData:
        """Write the songs to temporary `.mid` files and return their file URLs as drag data.

        Small synchronous writes (a few KB each) — acceptable on the GUI thread for a drag."""
        self.drag_dir.mkdir(parents=True, exist_ok=True)
        urls = []
        for generated in self.songs(items):
            path = self.drag_dir / f"{safe_stem(generated.name)}.mid"
            write_song(generated, path)
            urls.append(QUrl.fromLocalFile(str(path)))
        mime = QMimeData()
        mime.setUrls(urls)
        return mime

    def mimeData(self, items) -> QMimeData:  # noqa: N802 (Qt override)
        return self.mime_data_for(list(items))

    def startDrag(self, supported_actions) -> None:  # noqa: N802
        items = self.selectedItems()
        if not items:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mime_data_for(items))
        drag.exec(Qt.DropAction.CopyAction)


class SongHolder(Protocol):
    """What `RemoveSongs` needs of the panel that holds the list."""

    list: GeneratedList

    def make_item(self, song: GeneratedSong) -> QListWidgetItem: ...

    def library_changed(self, new: list[GeneratedSong] | None = None) -> object: ...


class RemoveSongs(QUndoCommand):
    """Delete or Clear: undoable (Ctrl+Z puts the songs back where they were)."""

    def __init__(self, panel: SongHolder, rows: list[int], text: str) -> None:
        super().__init__(text)
        self.panel = panel
        self.rows = sorted(rows)
        self.songs: list[GeneratedSong] = [panel.list.item(r).data(SONG_ROLE) for r in self.rows]

    def redo(self) -> None:
        for row in reversed(self.rows):
            self.panel.list.takeItem(row)
        self.panel.library_changed()

    def undo(self) -> None:
        for row, song in zip(self.rows, self.songs, strict=True):
            self.panel.list.insertItem(row, self.panel.make_item(song))
        self.panel.library_changed()
