"""Editing notes in the window: every edit of the piano roll goes on the window's undo stack
(Edit → Undo / Redo, shared with the song list's deletions), and it changes an edited copy.

The first edit of a generated or imported song (or of a training sample, an A/B pair) adds
"NAME (edited)" to the generated-song list, right after the song it copies, and shows it in the
roll's place without moving the view; the original is left as it was. Edits of that copy change
it in place. The copy is an ordinary `GeneratedSong` of the list, so the song the roll shows is
the very `Song` object that playback plays, Export writes and the library keeps (written a moment
after the last edit, not on every key press). Undoing the first edit removes the copy and shows
the original again.

The player rebuilds its schedule from the notes when it is given a song, which takes a while for a
long song; it is given the edited song once the edits pause (`RELOAD_DELAY_MS`), so a run of key
presses is drawn at once and played as it ends up.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QKeySequence, QUndoCommand
from PySide6.QtWidgets import QMainWindow

from ..music.encoding import Encoding, encode
from ..music.song import Song
from ..studio.library import GeneratedSong
from ..studio.roll_edit import NoteEdit
from . import heap
from .roll_edit_tool import NoteEditCommand

EDITED = " (edited)"
SAVE_DELAY_MS = 600  # the library is written this long after the last edit
RELOAD_DELAY_MS = 200  # and the player takes the edited notes this long after it


@dataclass(frozen=True)
class Shown:
    """What the roll showed before an edited copy took its place, to show it again on undo."""

    song: Song
    generated: GeneratedSong | None
    is_generated: bool
    caption: str
    primer_beats: float | None


class AddEditedCopy(QUndoCommand):
    """The first edit of a song: its copy joins the song list and takes its place in the roll."""

    def __init__(self, editing: RollEditing, copy: GeneratedSong, original: Shown, row: int):
        super().__init__(f"Edit a copy of {original.caption or copy.name}")
        self.editing, self.copy, self.original, self.row = editing, copy, original, row

    def redo(self) -> None:
        self.editing.insert_copy(self.copy, self.row)

    def undo(self) -> None:
        self.editing.remove_copy(self.copy, self.original)


class RollEditing(QObject):
    """Connects the window's piano roll to its undo stack and song list (see the module
    docstring); `window.roll_editing`."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.roll = window.piano_roll
        self.panel = window.generation
        self.stack = self.panel.undo_stack
        self.roll.undo_stack = self.stack
        # Every standard binding (Ctrl+Y and Ctrl+Shift+Z both redo), not just the first one.
        self.panel.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.panel.redo_action.setShortcuts(QKeySequence.StandardKey.Redo)
        self.roll.edit_handler = self.push
        self._dirty: list[GeneratedSong] = []
        self._announce: GeneratedSong | None = None  # a copy the window has not been told of
        self._save = QTimer(self)
        self._save.setSingleShot(True)
        self._save.setInterval(SAVE_DELAY_MS)
        self._save.timeout.connect(self.flush)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(RELOAD_DELAY_MS)
        self._reload.timeout.connect(self.reload_playback)
        window.installEventFilter(self)

    @property
    def window(self) -> QMainWindow:
        # Asked of Qt, not held: a Python reference back would keep a closed window's wrapper
        # alive in a cycle.
        return self.parent()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Type.Close:
            self._reload.stop()
            self.flush()  # before the panel waits for its library jobs
        return False

    # -- which song an edit changes ---------------------------------------------------------
    def shown_generated(self) -> GeneratedSong | None:
        """The list's song the roll shows, if it shows one."""
        g = self.window.shown_generated
        return g if g is not None and g.song is self.roll.song else None

    def editable(self) -> GeneratedSong | None:
        """The shown song when it is an edited copy (edited in place), else None."""
        g = self.shown_generated()
        return g if g is not None and g.name.endswith(EDITED) else None

    def push(self, edit: NoteEdit) -> None:
        """Put `edit` of the shown song on the window's undo stack (doing it), on a copy first
        when the song shown is not one."""
        if self.roll.song is None:
            return
        target = self.editable()
        if target is not None:
            self.stack.push(NoteEditCommand(target.song, edit, self.changed))
            return
        original = self.shown_now()
        copy, row = self.make_copy(original)
        self.stack.beginMacro(edit.text)
        self.stack.push(AddEditedCopy(self, copy, original, row))
        self.stack.push(NoteEditCommand(copy.song, edit, self.changed))
        self.stack.endMacro()

    def shown_now(self) -> Shown:
        is_generated, caption = self.roll.shown_as
        view = self.roll.view
        return Shown(
            self.roll.song, self.shown_generated(), is_generated, caption, view.primer_beats
        )

    def make_copy(self, shown: Shown) -> tuple[GeneratedSong, int]:
        """The edited copy of the song shown and the list row it goes in."""
        song, g = shown.song, shown.generated
        base = g.name if g is not None else shown.caption or song.title
        if not base:
            base = song.source.stem if song.source is not None else "song"
        name = base + EDITED
        notes = Song(
            notes=list(song.notes),
            tempos=list(song.tempos),
            time_signatures=list(song.time_signatures),
            ticks_per_beat=song.ticks_per_beat,
            title=name,
            track_names=list(song.track_names),
        )
        songs = self.panel.list.songs()
        if g is not None:
            copy = dataclasses.replace(
                g, name=name, song=notes, settings=dict(g.settings), starred=False, id=""
            )
            copy.extra = dict(g.extra)
            row = next((i + 1 for i, s in enumerate(songs) if s is g), len(songs))
            return copy, row
        report = self.window.browser.report
        encoding = report.encoding if report is not None else Encoding()
        # Its grid matrix is made when the edits pause (`flush`), as every edited song's is.
        copy = GeneratedSong(name=name, song=notes, matrix=encode(Song(), encoding))
        copy.primer_beats = shown.primer_beats
        return copy, len(songs)

    # -- the list and the roll --------------------------------------------------------------
    def row_of(self, generated: GeneratedSong) -> int | None:
        songs = self.panel.list.songs()
        return next((i for i, s in enumerate(songs) if s is generated), None)

    def show(self, generated: GeneratedSong) -> None:
        """Select `generated` in the song list, which shows it (in the view as it is, when
        `keep_view_for` named it)."""
        row = self.row_of(generated)
        if row is None:
            return
        lst = self.panel.list
        item = lst.item(row)
        lst.clearSelection()
        lst.setCurrentItem(item)
        item.setSelected(True)
        if self.roll.song is not generated.song:  # it was the current item already
            self.panel.songSelected.emit(generated)

    def insert_copy(self, copy: GeneratedSong, row: int) -> None:
        """The copy joins the list, selected, and the roll shows it where the original was. The
        window is told (the player, the transport's instrument) once the edits pause: a long
        song's schedule takes a while to build, and the person is waiting to see the edit."""
        lst = self.panel.list
        item = self.panel.make_item(copy)
        lst.blockSignals(True)
        lst.insertItem(row, item)
        lst.clearSelection()
        lst.setCurrentItem(item)
        item.setSelected(True)
        lst.blockSignals(False)
        self.window.shown_generated = copy
        self.roll.keep_view_for(copy.song)
        self.roll.set_song(
            copy.song, generated=True, caption=copy.name, primer_beats=copy.primer_beats
        )
        self._announce = copy
        self._reload.start()
        self.panel.library_changed(new=[copy])

    def remove_copy(self, copy: GeneratedSong, original: Shown) -> None:
        row = self.row_of(copy)
        lst = self.panel.list
        if row is not None:
            lst.blockSignals(True)  # no other song is shown on the way back to the original
            lst.takeItem(row)
            lst.blockSignals(False)
        self._dirty = [g for g in self._dirty if g is not copy]
        self.panel.library_changed()
        self.roll.keep_view_for(original.song)
        if original.generated is not None and self.row_of(original.generated) is not None:
            self.show(original.generated)
            return
        self.window.shown_generated = None
        self.roll.set_song(
            original.song,
            generated=original.is_generated,
            caption=original.caption,
            primer_beats=original.primer_beats,
        )
        self.window.songShown.emit(original.song)

    def changed(self, song: Song, selection: list[int]) -> None:
        """An edit of `song` was done or undone: show it (the roll, the player), keep it soon."""
        owner = next((g for g in self.panel.list.songs() if g.song is song), None)
        if owner is not None and song is not self.roll.song:
            self.show(owner)
        self.roll.notes_changed(song, selection)
        heap.keep_alive_now()  # the edit's notes live on in the undo stack
        if song is self.roll.song:
            self._reload.start()  # what is seen is what plays, once the edits pause
        if owner is not None:
            if all(g is not owner for g in self._dirty):
                self._dirty.append(owner)
            self._save.start()

    def reload_playback(self) -> None:
        """Give the player the song shown, as edited (now, rather than when the edits pause)."""
        self._reload.stop()
        announce, self._announce = self._announce, None
        if self.roll.song is not None:
            self.window.songShown.emit(self.roll.song)
        if announce is not None and announce.song is self.roll.song:
            self.window.generatedSongShown.emit(announce)

    def flush(self) -> None:
        """Keep the edited songs now: their grid matrices follow the notes, their list entries
        and library files are written."""
        self._save.stop()
        dirty, self._dirty = self._dirty, []
        for generated in dirty:
            # A song too long for its grid keeps its old matrix; its notes are saved all the same.
            with contextlib.suppress(ValueError):
                generated.matrix = encode(generated.song, generated.matrix.encoding)
            if self.row_of(generated) is not None:
                self.panel.song_changed(generated)
