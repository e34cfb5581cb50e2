"""The Qt side of editing notes in the piano roll: which key does what, the pointer's shape, the
snap box, and the undo command that applies a `NoteEdit` (`studio.roll_edit`) to a song.

The edit itself is made without Qt (`studio.roll_tool`); the command only applies it, or its
inverse, and says which song changed so the roll (and the window) can show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from ..music.song import Song
from ..studio.roll import RollModel
from ..studio.roll_edit import SNAP_LABELS, SNAPS, EditMismatch, NoteEdit
from ..studio.roll_tool import RollEditor

log = logging.getLogger(__name__)
Key = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
# (key, Ctrl held, Shift held) → the editor's command
KEYS: dict[tuple[int, bool, bool], str] = {
    (Key.Key_A, True, False): "select_all",
    (Key.Key_Escape, False, False): "deselect",
    (Key.Key_Delete, False, False): "delete",
    (Key.Key_Backspace, False, False): "delete",
    (Key.Key_D, True, False): "duplicate",
    (Key.Key_Q, False, False): "quantize",
    (Key.Key_Up, False, False): "up",
    (Key.Key_Down, False, False): "down",
    (Key.Key_Up, False, True): "octave_up",
    (Key.Key_Down, False, True): "octave_down",
    (Key.Key_Left, False, False): "left",
    (Key.Key_Right, False, False): "right",
}
KEY_ROWS = (
    ("Draw a note in the piano roll", "drag on empty space"),
    ("Select notes", "click, Shift/Ctrl+click, Shift/Ctrl+drag, Ctrl+A, Esc"),
    ("Move / resize notes", "drag a note / its right end"),
    ("Transpose a semitone / an octave", "Up, Down / Shift+Up, Shift+Down"),
    ("Move notes by the snap step", "Left, Right"),
    ("Delete / duplicate / quantize notes", "Del / Ctrl+D / Q"),
)
ROLL_TIP = (
    "Piano roll. Drag on empty space to draw a note; drag a note to move it, its right end to "
    "resize it; Shift+drag selects a region; Ctrl+A selects all. Up/Down transpose (Shift: an "
    "octave), Del deletes, Ctrl+D duplicates, Q quantizes to the snap. Ctrl+wheel zooms time, "
    "Shift+wheel zooms pitch; click a key to hear it; click the ruler to move the playhead, drag "
    "its top strip to loop a region."
)


def command_for(key: int, modifiers) -> str | None:
    """The editor command of a key press (None: not one of the roll's keys)."""
    ctrl = bool(modifiers & CTRL)
    shift = bool(modifiers & SHIFT)
    return KEYS.get((int(key), ctrl, shift))


def cursor_at(model: RollModel, x: float, y: float) -> Qt.CursorShape:
    """The pointer over the roll: what a press there would do."""
    area = model.area_at(x, y)
    if area == "velocity":
        return (
            Qt.CursorShape.SizeVerCursor
            if model.stem_at(x) is not None
            else Qt.CursorShape.ArrowCursor
        )
    if area != "notes":
        return Qt.CursorShape.ArrowCursor
    index = model.note_at(x, y)
    if index is None:
        return Qt.CursorShape.CrossCursor
    if model.on_right_edge(x, index):
        return Qt.CursorShape.SizeHorCursor
    return Qt.CursorShape.SizeAllCursor


def snap_box(toolbar: QToolBar, editor: RollEditor) -> QComboBox:
    """A small "Snap" box on the roll's toolbar that sets `editor.snap`."""
    box = QComboBox()
    box.setObjectName("snapBox")
    for snap in SNAPS:
        box.addItem(SNAP_LABELS[snap], snap)
    box.setCurrentIndex(SNAPS.index(editor.snap))
    tip = "Snap: where drawn, moved and resized notes land; Q quantizes the selection to it"
    box.setToolTip(tip)
    box.setStatusTip(tip)
    box.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    box.currentIndexChanged.connect(lambda i: setattr(editor, "snap", box.itemData(i)))
    toolbar.addSeparator()
    label = QLabel(" Snap ")
    label.setBuddy(box)
    toolbar.addWidget(label)
    toolbar.addWidget(box)
    return box


def set_snap(box: QComboBox, editor: RollEditor, snap: str) -> None:
    if snap not in SNAPS:
        raise ValueError(f"snap {snap!r} is not one of {', '.join(SNAPS)}")
    box.setCurrentIndex(SNAPS.index(snap))
    editor.snap = snap


class EditInput:
    """The piano-roll view's editing input (mixed into `ui.piano_roll.PianoRollView`, which has
    `model`, `editor`, `editRequested` and `_selection_may_have_changed`): a left press on the
    notes, the roll's keys, and what losing the focus drops."""

    def _press_notes(self, x: float, y: float, mods) -> bool:
        """A left press on the notes or the velocity lane: start an edit gesture."""
        add = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        toggle = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if not self.editor.press(x, y, add=add, toggle=toggle):
            return False
        self.viewport().update()
        self._selection_may_have_changed()
        return True

    def event(self, event) -> bool:
        # The roll's editing keys (Delete, Ctrl+D, arrows, …) win over window shortcuts that
        # share them while the roll has the focus, as a text field's keys do.
        if event.type() == QEvent.Type.ShortcutOverride and self._command_for(event):
            event.accept()
            return True
        return super().event(event)

    def _command_for(self, event) -> str | None:
        if self.model.song is None:
            return None
        name = command_for(event.key(), event.modifiers())
        idle = not self.model.selected.any() and self.editor.gesture is None
        if name not in (None, "select_all") and idle:
            # Nothing selected: the key means what it means elsewhere (Esc cancels an import,
            # Ctrl+D stars the song, the arrows scroll).
            return None
        return name

    def keyPressEvent(self, event) -> None:  # noqa: N802
        name = self._command_for(event)
        if name is None:
            super().keyPressEvent(event)
            return
        event.accept()
        if name == "deselect" and self.editor.gesture is not None:
            self.editor.cancel()
        edit = self.editor.command(name)
        self.viewport().update()
        self._selection_may_have_changed()
        if edit is not None:
            self.editRequested.emit(edit)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        if self.editor.gesture is not None:
            self.editor.cancel()
            self.viewport().update()
        super().focusOutEvent(event)


class NoteEditCommand(QUndoCommand):
    """One edit of `song`'s notes on an undo stack; `changed(song, selection)` is told after it
    is done or undone, with the notes to select."""

    def __init__(
        self,
        song: Song,
        edit: NoteEdit,
        changed: Callable[[Song, list[int]], None],
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(edit.text, parent)
        self.song = song
        self.edit = edit
        self.changed = changed

    def redo(self) -> None:
        self._apply(self.edit)

    def undo(self) -> None:
        self._apply(self.edit.inverse())

    def _apply(self, edit: NoteEdit) -> None:
        try:
            self.song.notes = edit.apply(self.song.notes)
        except EditMismatch as exc:
            # The notes were changed behind the stack's back: this step no longer fits them.
            # Qt drops an obsolete command instead of doing or undoing it.
            log.warning("%s", exc)
            self.setObsolete(True)
            return
        self.changed(self.song, edit.selection)
