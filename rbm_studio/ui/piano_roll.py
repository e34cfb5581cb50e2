"""Piano roll: keyboard column, bar/beat ruler, notes coloured by velocity, zoom, scroll, playhead,
a loop region, a velocity lane, and a primer drawn apart from its continuation.

The roll's state and geometry live in `studio.roll.RollModel`, without Qt; this module draws it
and turns mouse and wheel input into calls on it. Everything is painted by one
`QAbstractScrollArea` viewport: the ruler at the top, the notes, and the velocity lane at the
bottom share one horizontal scroll and zoom. The scroll bars mirror the model's scroll position.
Notes are drawn as one `drawRects` call per velocity bucket, which keeps a 5-minute song (tens of
thousands of notes) smooth to scroll and zoom.

The ruler works as in most DAWs: click or drag on the bar numbers to move the playhead; drag in
the thin loop strip above them (or Shift+drag anywhere on the ruler) to mark a loop region, snapped
to beats; a click on the loop strip, or the ruler's context menu, clears it.

Notes are edited with the mouse and keys (`studio.roll_tool` says what each gesture does; the keys
are in `ui.roll_edit_tool.KEYS`). An edit is not made here: the view emits it (`editRequested`) and
the roll pushes it onto an undo stack, whose command changes the song and shows it again.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QUndoStack
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolBar,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..music.meter import bar_count
from ..music.song import Note, Song
from ..studio.roll import (
    KEYBOARD_WIDTH,
    PRIMER_LABELS,
    RollModel,
)
from ..studio.roll_edit import NoteEdit
from ..studio.roll_tool import RollEditor
from . import roll_edit_tool, roll_toolbar
from .roll_painter import RollPainter, velocity_colour

RULER_TIPS = {
    "loop_strip": (
        "Loop strip: drag to loop a region (snapped to beats); click to clear the loop. "
        "Right-click for more."
    ),
    "bar_strip": (
        "Click or drag to move the playhead; Shift+drag to loop a region. "
        "Right-click to loop a bar."
    ),
    "velocity": (
        "Velocity lane: one stem per note at its onset, taller is louder. Drag a stem up or down "
        "to set its note's velocity (the selection's, when its note is selected)."
    ),
}


def _model_property(name: str, doc: str = "") -> property:
    """A read-only view attribute that is the model's."""
    return property(lambda self: getattr(self.model, name), doc=doc or None)


class PianoRollView(roll_edit_tool.EditInput, QAbstractScrollArea):
    """The painted roll: draws `self.model` (a `RollModel`) and forwards input to it."""

    keyClicked = Signal(int)
    zoomChanged = Signal()
    seekRequested = Signal(float)  # beat: the person clicked or dragged on the ruler
    loopRegionChanged = Signal(float, float)  # start, end beat of a loop region they dragged
    loopRegionCleared = Signal()
    editRequested = Signal(object)  # a NoteEdit the person made with the mouse or a key
    selectionChanged = Signal()

    song = _model_property("song")
    generated = _model_property("generated")
    beat_px = _model_property("beat_px")
    row_px = _model_property("row_px")
    low = _model_property("low")
    high = _model_property("high")
    playhead = _model_property("playhead")
    primer_beats = _model_property("primer_beats")
    velocity_lane_visible = _model_property("velocity_lane_visible")
    note_count = _model_property("note_count")
    primer_note_count = _model_property("primer_note_count")
    _pending_loop = _model_property("pending_loop", "The loop region being dragged, if any.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(roll_edit_tool.ROLL_TIP)
        self.setMouseTracking(True)  # the pointer's shape says what a press would do
        self.model = RollModel()
        self.editor = RollEditor(self.model)
        self.frames = 0  # painted frames, and when the last one was done (benchmarks read it)
        self.painted_at = 0.0
        self._selection_version = 0
        self.horizontalScrollBar().valueChanged.connect(self._on_scroll_x)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll_y)
        self._sync_viewport()

    # -- model ↔ scroll bars ----------------------------------------------------------------
    def _on_scroll_x(self, value: int) -> None:
        self.model.scroll_x = value

    def _on_scroll_y(self, value: int) -> None:
        self.model.scroll_y = value

    def _sync_viewport(self) -> None:
        self.model.set_viewport(self.viewport().width(), self.viewport().height())
        self._show_model()

    def _show_model(self) -> None:
        """Bring the scroll bars to the model's ranges and position, then repaint."""
        m = self.model
        x, y = m.scroll_x, m.scroll_y  # setting a range may move a bar (and the model) first
        max_x, max_y = m.max_scroll
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setRange(0, max_x)
        h.setPageStep(m.area_width)
        h.setSingleStep(max(1, int(m.beat_px)))
        v.setRange(0, max_y)
        v.setPageStep(m.area_height)
        v.setSingleStep(max(1, int(m.row_px)))
        h.setValue(x)
        v.setValue(y)
        self.viewport().update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._sync_viewport()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self.viewport().update()

    # -- data -------------------------------------------------------------------------------
    def set_song(
        self,
        song: Song | None,
        *,
        generated: bool = False,
        primer_beats: float | None = None,
        keep_view: bool = False,
    ) -> None:
        """Show `song` (None clears the roll, and any loop region). The view scrolls to the song's
        first notes. With `primer_beats`, notes starting before it are the primer a generated song
        continues: they keep the musician's colour and a marker shows where the model took over.
        With `keep_view` (an edited copy taking the place of the song it copies) the view, the
        loop region and the selection stay."""
        if keep_view and song is not None:
            selection = self.editor.selection()
            self.model.song, self.model.generated = song, generated
            self.model.primer_beats = primer_beats
            self.refresh_notes(selection)
            return
        self.model.set_song(song, generated=generated, primer_beats=primer_beats)
        self.editor.shown(None)
        self._show_model()
        self._selection_may_have_changed()

    def refresh_notes(self, selection: list[int] | None = None) -> None:
        """The shown song's notes were edited: draw them as they are now, `selection` selected,
        the view left where it is."""
        self.model.refresh_notes(selection)
        self.editor.shown(selection)
        self._show_model()
        self._selection_may_have_changed()

    def _selection_may_have_changed(self) -> None:
        if self.editor.version != self._selection_version:
            self._selection_version = self.editor.version
            self.selectionChanged.emit()

    def note_colour(self, index: int) -> QColor:
        """The colour note `index` (in the song's order) is drawn in."""
        return velocity_colour(*self.model.note_look(index))

    @property
    def loop_region(self) -> tuple[float, float] | None:
        return self.model.loop_region

    def set_loop_region(self, start: float | None, end: float | None = None) -> None:
        """Show the loop region `start`..`end` beats; `set_loop_region(None)` hides it. Emits
        nothing: this is how the transport tells the roll what it loops."""
        self.model.set_loop_region(start, end)
        self.viewport().update()

    def set_velocity_lane_visible(self, visible: bool) -> None:
        self.model.set_velocity_lane_visible(visible)
        self._show_model()

    def velocity_lane_rect(self) -> QRectF:
        """Where the velocity lane is in viewport coordinates (empty when hidden)."""
        m = self.model
        return QRectF(KEYBOARD_WIDTH, m.lane_top, m.width - KEYBOARD_WIDTH, m.lane_height)

    def velocity_stems(self) -> list[tuple[float, float, int]]:
        """(x, y of the stem's top, velocity) of every stem the velocity lane draws now."""
        return self.model.velocity_stems()

    def set_playhead(self, beat: float | None, *, follow: bool = True) -> None:
        """Move the playhead line to `beat` (None hides it); with `follow`, scroll to keep it in
        view (playback turns following off while the person scrolls elsewhere)."""
        self.model.playhead = beat
        if beat is not None and follow:
            self.model.follow(beat)
            self.horizontalScrollBar().setValue(self.model.scroll_x)
        self.viewport().update()

    # -- geometry ---------------------------------------------------------------------------
    def _area_height(self) -> int:
        return self.model.area_height

    def content_width(self) -> float:
        return self.model.content_width

    def content_height(self) -> float:
        return self.model.content_height

    def pitch_at(self, y: float) -> int | None:
        """Pitch under viewport y (None above the roll or below its range)."""
        return self.model.pitch_at(y)

    def beat_at(self, x: float) -> float:
        return self.model.beat_at(x)

    def visible_beats(self) -> tuple[float, float]:
        return self.model.visible_beats()

    def center_on_pitch(self, pitch: float) -> None:
        self.model.center_on_pitch(pitch)
        self.verticalScrollBar().setValue(self.model.scroll_y)

    # -- zoom -------------------------------------------------------------------------------
    def set_zoom(self, beat_px: float | None = None, row_px: float | None = None) -> None:
        """Set pixels per beat / per pitch row, keeping the view's centre where it was."""
        self.model.set_zoom(beat_px, row_px)
        self._show_model()
        self.zoomChanged.emit()

    def zoom_time(self, factor: float) -> None:
        self.set_zoom(beat_px=self.model.beat_px * factor)

    def zoom_pitch(self, factor: float) -> None:
        self.set_zoom(row_px=self.model.row_px * factor)

    def fit_song(self) -> None:
        """Zoom so the whole song and its pitch range fit the view."""
        self.model.fit()
        self._show_model()
        self.zoomChanged.emit()

    # -- input ------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0 or event.angleDelta().x() / 120.0
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom_time(1.2**steps)
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.zoom_pitch(1.15**steps)
        elif event.angleDelta().x() and not event.angleDelta().y():
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - int(event.angleDelta().x() / 120.0 * self.model.beat_px))
        else:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - int(steps * 3 * self.model.row_px))
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        left = event.button() == Qt.MouseButton.LeftButton
        area = self.model.area_at(pos.x(), pos.y())
        if area == "keyboard" and left:
            pitch = self.model.pitch_at(pos.y())
            if pitch is not None:
                self.keyClicked.emit(pitch)
                event.accept()
                return
        if area in ("loop_strip", "bar_strip") and left:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            beat = self.model.press_ruler(pos.x(), pos.y(), shift)
            if beat is not None:
                self.seekRequested.emit(beat)
            event.accept()
            return
        if left and self._press_notes(pos.x(), pos.y(), event.modifiers()):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self.editor.gesture is not None:
            if self.editor.drag(pos.x(), pos.y()):
                self.viewport().update()
            self._selection_may_have_changed()
            event.accept()
            return
        if self.model.drag is None:
            self.viewport().setCursor(roll_edit_tool.cursor_at(self.model, pos.x(), pos.y()))
            super().mouseMoveEvent(event)
            return
        beat = self.model.move_ruler(event.position().x())
        if beat is not None:
            self.seekRequested.emit(beat)
        elif self.model.pending_loop is not None:
            self.viewport().update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self.editor.gesture is not None and event.button() == Qt.MouseButton.LeftButton:
            pos = event.position()
            edit = self.editor.release(pos.x(), pos.y())
            self.viewport().update()
            self._selection_may_have_changed()
            if edit is not None:
                self.editRequested.emit(edit)
            event.accept()
            return
        if self.model.drag is None or event.button() != Qt.MouseButton.LeftButton:
            self.model.drag = None
            super().mouseReleaseEvent(event)
            return
        pos = event.position()
        released = self.model.release_ruler(pos.x(), pos.y())
        if released is not None:
            if released.action == "loop":
                self.loopRegionChanged.emit(released.start, released.end)
            elif released.action == "clear":
                self.clear_loop_region()
            else:
                self.seekRequested.emit(released.start)
            self.viewport().update()
        event.accept()

    def clear_loop_region(self) -> None:
        """Remove the loop region, as the person asked (emits loopRegionCleared)."""
        had = self.model.clear_loop_region()
        self.viewport().update()
        if had:
            self.loopRegionCleared.emit()

    def loop_bar_at(self, beat: float) -> tuple[float, float]:
        """The bar that contains `beat`, following the time-signature map."""
        return self.model.loop_bar_at(beat)

    def ruler_menu(self, x: float) -> QMenu:
        """The ruler's context menu at viewport x: loop the bar there, or clear the loop."""
        menu = QMenu(self)
        beat = max(self.model.beat_at(x), 0.0)
        start, end = self.model.loop_bar_at(beat)
        bar_number = self.model.bar_number_at(start)
        loop_bar = menu.addAction(f"Loop bar {bar_number}" if bar_number else "Loop this bar")

        def set_bar() -> None:
            self.model.set_loop_region(start, end)
            self.viewport().update()
            self.loopRegionChanged.emit(start, end)

        loop_bar.triggered.connect(set_bar)
        clear = menu.addAction("Clear loop region")
        clear.setEnabled(self.model.loop_region is not None)
        clear.triggered.connect(self.clear_loop_region)
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        pos = event.pos()
        if self.model.area_at(pos.x(), pos.y()) in ("loop_strip", "bar_strip"):
            self.ruler_menu(pos.x()).exec(event.globalPos())
            event.accept()
            return
        super().contextMenuEvent(event)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()
            text = RULER_TIPS.get(self.model.area_at(pos.x(), pos.y()))
            if text is not None:
                QToolTip.showText(event.globalPos(), text, self.viewport())
                return True
        return super().viewportEvent(event)

    def click_key(self, pitch: int) -> None:
        """Same as clicking the key on screen (used by keyboard users and tests)."""
        if self.model.low <= pitch <= self.model.high:
            self.keyClicked.emit(pitch)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        try:
            RollPainter(self.model, self.palette(), self.font()).paint(painter)
        finally:
            painter.end()
        self.frames += 1
        self.painted_at = time.perf_counter()


class PianoRoll(QWidget):
    """The piano roll with its own small toolbar (zoom, fit, velocity lane, snap) and a caption
    naming the song.

    Edits go onto `undo_stack` (its own, until the window gives it the window's), applied to the
    shown song; a window that wants them elsewhere (an edited copy of the song) sets
    `edit_handler`, which then pushes them itself."""

    keyClicked = Signal(int)
    seekRequested = Signal(float)
    loopRegionChanged = Signal(float, float)
    loopRegionCleared = Signal()
    selectionChanged = Signal()  # the selected notes changed (`selected_region`, `selected_notes`)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = PianoRollView(self)
        self.view.keyClicked.connect(self.keyClicked)
        self.view.seekRequested.connect(self.seekRequested)
        self.view.loopRegionChanged.connect(self.loopRegionChanged)
        self.view.loopRegionCleared.connect(self.loopRegionCleared)
        self.view.selectionChanged.connect(self.selectionChanged)
        self.view.editRequested.connect(self._on_edit)
        self.undo_stack = QUndoStack(self)
        self.edit_handler = None  # Callable[[NoteEdit], None]: the window's, when it has one
        self.caption = QLabel("No song selected")
        self.caption.setToolTip("The song shown in the piano roll")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setContentsMargins(6, 0, 6, 2)
        self.toolbar = QToolBar("Piano roll")
        self.toolbar.setObjectName("pianoRollToolbar")
        self.actions: dict[str, QAction] = {}
        self.snap_box = roll_toolbar.build(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def set_song(
        self,
        song: Song | None,
        *,
        generated: bool = False,
        caption: str = "",
        primer_beats: float | None = None,
        marker_labels: tuple[str, str] | None = None,
        written_bars: tuple[int, int] | None = None,
    ) -> None:
        """Show `song`; `primer_beats` marks where a continued song's primer ends (or, with
        `marker_labels` for its two sides, where the second of an A/B pair starts), and
        `written_bars` (first, last; from 1) the bars a co-writing action wrote again. The song
        `keep_view_for` named keeps the view (and is named no more)."""
        keep, self._keep_view_for = self._keep_view_for is song, None
        self.view.set_song(song, generated=generated, primer_beats=primer_beats, keep_view=keep)
        self.view.model.written = None
        if written_bars is not None and song is not None:
            self.view.model.mark_written(*written_bars)
        self.view.model.marker_labels = marker_labels or PRIMER_LABELS
        self._caption_args = (generated, caption)
        self._caption(song, generated, caption)

    _keep_view_for: Song | None = None
    _caption_args: tuple[bool, str] = (False, "")

    def keep_view_for(self, song: Song | None) -> None:
        """The next `set_song(song)` keeps the view, the loop region and the selection: `song` is
        an edited copy taking the place of the one shown."""
        self._keep_view_for = song

    def _caption(self, song: Song | None, generated: bool, caption: str) -> None:
        if song is None:
            self.caption.setText("No song selected")
            return
        label = caption or song.title or (song.source.name if song.source else "untitled")
        kind = "generated" if generated else "original"
        if label.endswith(" (edited)"):
            kind = "edited copy"
        compared = self.view.model.marker_labels is not PRIMER_LABELS
        if generated and self.view.primer_beats is not None and not compared:
            bars = bar_count(song, self.view.primer_beats)
            kind = f"primer of {bars:g} bars, then generated"
        self.caption.setText(f"  {label} — {kind}, {song.bars():.1f} bars, {len(song.notes)} notes")

    def set_loop_region(self, start: float | None, end: float | None = None) -> None:
        """Show the loop region `start`..`end` beats; None hides it."""
        self.view.set_loop_region(start, end)

    @property
    def loop_region(self) -> tuple[float, float] | None:
        return self.view.loop_region

    def set_playhead(self, beat: float | None, *, follow: bool = True) -> None:
        """Public hook for playback: draw the playhead at `beat` (None hides it)."""
        self.view.set_playhead(beat, follow=follow)

    def fit_song(self) -> None:
        self.view.fit_song()

    @property
    def song(self) -> Song | None:
        return self.view.song

    @property
    def shown_as(self) -> tuple[bool, str]:
        """(generated?, caption) the shown song was given."""
        return self._caption_args

    # -- editing ----------------------------------------------------------------------------
    def push_edit(self, edit: NoteEdit) -> None:
        """Make `edit` of the shown song as the person's edits are made: on the undo stack (on
        an edited copy, in a window). For changes of the notes made elsewhere (a regenerated
        region: `studio.roll_edit.replace_notes`)."""
        self._on_edit(edit)

    def _on_edit(self, edit: NoteEdit) -> None:
        if self.edit_handler is not None:
            self.edit_handler(edit)
        elif self.song is not None:
            self.undo_stack.push(
                roll_edit_tool.NoteEditCommand(self.song, edit, self.notes_changed)
            )

    def notes_changed(self, song: Song, selection: list[int]) -> None:
        """`song`'s notes were edited (an undo command ran): redraw it when it is shown."""
        if song is self.song:
            self.view.refresh_notes(selection)
            self._caption(song, *self._caption_args)

    def selected_notes(self) -> list[Note]:
        return self.view.editor.selected_notes()

    def selected_indices(self) -> list[int]:
        """Indices into the shown song's notes of the selected ones."""
        return self.view.editor.selection()

    def select_notes(self, indices) -> None:
        self.view.editor.set_selection(indices)
        self.view.viewport().update()
        self.view._selection_may_have_changed()

    def selected_region(self) -> tuple[int, int, int, int] | None:
        """(first bar, last bar, lowest pitch, highest pitch) of the selection, bars counted from
        1: a rubber band's bars and pitches when one made it, else the selected notes' extent;
        None when nothing is selected."""
        return self.view.editor.selected_region()

    @property
    def snap(self) -> str:
        return self.view.editor.snap

    def set_snap(self, snap: str) -> None:
        """Snap edits to "off", "1/16", "1/8", "beat" or "bar" (the toolbar's box follows)."""
        roll_edit_tool.set_snap(self.snap_box, self.view.editor, snap)
