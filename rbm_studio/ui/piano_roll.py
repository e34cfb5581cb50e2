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
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..music.meter import bar_count
from ..music.song import Song
from ..studio.roll import (
    KEYBOARD_WIDTH,
    PRIMER_LABELS,
    RollModel,
)
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
    "velocity": "Velocity lane: one stem per note at its onset, taller is louder.",
}


def _model_property(name: str, doc: str = "") -> property:
    """A read-only view attribute that is the model's."""
    return property(lambda self: getattr(self.model, name), doc=doc or None)


class PianoRollView(QAbstractScrollArea):
    """The painted roll: draws `self.model` (a `RollModel`) and forwards input to it."""

    keyClicked = Signal(int)
    zoomChanged = Signal()
    seekRequested = Signal(float)  # beat: the person clicked or dragged on the ruler
    loopRegionChanged = Signal(float, float)  # start, end beat of a loop region they dragged
    loopRegionCleared = Signal()

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
        self.setToolTip(
            "Piano roll. Ctrl+wheel zooms time, Shift+wheel zooms pitch; click a key to hear it. "
            "Click the ruler to move the playhead; drag its top strip to loop a region."
        )
        self.model = RollModel()
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
        self, song: Song | None, *, generated: bool = False, primer_beats: float | None = None
    ) -> None:
        """Show `song` (None clears the roll, and any loop region). The view scrolls to the song's
        first notes. With `primer_beats`, notes starting before it are the primer a generated song
        continues: they keep the musician's colour and a marker shows where the model took over."""
        self.model.set_song(song, generated=generated, primer_beats=primer_beats)
        self._show_model()

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
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self.model.drag is None:
            super().mouseMoveEvent(event)
            return
        beat = self.model.move_ruler(event.position().x())
        if beat is not None:
            self.seekRequested.emit(beat)
        elif self.model.pending_loop is not None:
            self.viewport().update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
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


class PianoRoll(QWidget):
    """The piano roll with its own small toolbar (zoom, fit, velocity lane) and a caption naming
    the song."""

    keyClicked = Signal(int)
    seekRequested = Signal(float)
    loopRegionChanged = Signal(float, float)
    loopRegionCleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = PianoRollView(self)
        self.view.keyClicked.connect(self.keyClicked)
        self.view.seekRequested.connect(self.seekRequested)
        self.view.loopRegionChanged.connect(self.loopRegionChanged)
        self.view.loopRegionCleared.connect(self.loopRegionCleared)
        self.caption = QLabel("No song selected")
        self.caption.setToolTip("The song shown in the piano roll")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setContentsMargins(6, 0, 6, 2)
        self.toolbar = QToolBar("Piano roll")
        self.toolbar.setObjectName("pianoRollToolbar")
        self.actions: dict[str, QAction] = {}
        self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def _build_toolbar(self) -> None:
        view = self.view
        for key, text, tip, slot in (
            (
                "zoom_in_time",
                "Time +",
                "Zoom in on time (Ctrl+wheel)",
                lambda: view.zoom_time(1.25),
            ),
            (
                "zoom_out_time",
                "Time −",
                "Zoom out in time (Ctrl+wheel)",
                lambda: view.zoom_time(0.8),
            ),
            (
                "zoom_in_pitch",
                "Pitch +",
                "Taller pitch rows (Shift+wheel)",
                lambda: view.zoom_pitch(1.2),
            ),
            (
                "zoom_out_pitch",
                "Pitch −",
                "Shorter pitch rows (Shift+wheel)",
                lambda: view.zoom_pitch(1 / 1.2),
            ),
            ("fit", "Fit song", "Zoom so the whole song fits the view", view.fit_song),
        ):
            self.actions[key] = self._add_action(text, tip)
            self.actions[key].triggered.connect(slot)
        velocity = self._add_action(
            "Velocity", "Show the velocity lane under the notes: one stem per note"
        )
        velocity.setCheckable(True)
        velocity.setChecked(True)
        velocity.toggled.connect(view.set_velocity_lane_visible)
        self.actions["velocity"] = velocity
        # Toolbar buttons take no focus by default; these have no menu entry of their own, so
        # Tab must reach them.
        for button in self.toolbar.findChildren(QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    def _add_action(self, text: str, tip: str) -> QAction:
        action = QAction(QIcon(), text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        self.toolbar.addAction(action)
        return action

    def set_song(
        self,
        song: Song | None,
        *,
        generated: bool = False,
        caption: str = "",
        primer_beats: float | None = None,
        marker_labels: tuple[str, str] | None = None,
    ) -> None:
        """Show `song`; `primer_beats` marks where a continued song's primer ends (or, with
        `marker_labels` for its two sides, where the second of an A/B pair starts)."""
        self.view.set_song(song, generated=generated, primer_beats=primer_beats)
        self.view.model.marker_labels = marker_labels or PRIMER_LABELS
        if song is None:
            self.caption.setText("No song selected")
            return
        label = caption or song.title or (song.source.name if song.source else "untitled")
        kind = "generated" if generated else "original"
        if generated and self.view.primer_beats is not None and not marker_labels:
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
