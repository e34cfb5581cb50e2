"""Piano roll: keyboard column, bar/beat ruler, notes coloured by velocity, zoom, scroll, playhead,
a loop region, a velocity lane, and a primer drawn apart from its continuation.

Everything is painted by one `QAbstractScrollArea` viewport: the ruler at the top, the notes, and
the velocity lane at the bottom share one horizontal scroll and zoom. Notes live in numpy arrays so
the visible ones are found with one mask, and they are drawn as one `drawRects` call per velocity
bucket, which keeps a 5-minute song (tens of thousands of notes) smooth to scroll and zoom.

The ruler works as in most DAWs: click or drag on the bar numbers to move the playhead; drag in
the thin loop strip above them (or Shift+drag anywhere on the ruler) to mark a loop region, snapped
to beats; a click on the loop strip, or the ruler's context menu, clears it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPalette, QPen
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

from ..music.song import Song, TimeSignature

KEYBOARD_WIDTH = 52
LOOP_STRIP_HEIGHT = 9  # the ruler's top strip, where loop regions are dragged and drawn
BAR_STRIP_HEIGHT = 22  # the ruler's bar numbers, where clicks and drags move the playhead
RULER_HEIGHT = LOOP_STRIP_HEIGHT + BAR_STRIP_HEIGHT
VELOCITY_LANE_HEIGHT = 56
DRAG_THRESHOLD_PX = 3
PIANO_LOW, PIANO_HIGH = 21, 108
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK_KEYS = frozenset({1, 3, 6, 8, 10})
VELOCITY_BUCKETS = 8
HUE_ORIGINAL = 0.58  # blue
HUE_GENERATED = 0.07  # orange
MIN_BEAT_PX, MAX_BEAT_PX = 0.5, 400.0
MIN_ROW_PX, MAX_ROW_PX = 3.0, 40.0


def note_name(pitch: int) -> str:
    """Scientific pitch name with C4 = MIDI 60."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def is_black_key(pitch: int) -> bool:
    return pitch % 12 in BLACK_KEYS


def velocity_colour(velocity: int, generated: bool) -> QColor:
    """Louder is more saturated; the hue tells generated songs from the musician's own."""
    strength = min(max(velocity, 1), 127) / 127.0
    hue = HUE_GENERATED if generated else HUE_ORIGINAL
    return QColor.fromHsvF(hue, 0.30 + 0.70 * strength, 0.98 - 0.25 * strength)


def snap_loop(a: float, b: float) -> tuple[float, float]:
    """The loop region a drag from beat `a` to beat `b` marks: its ends on the nearest beats, at
    least one beat long, never before the song's start."""
    lo, hi = sorted((max(a, 0.0), max(b, 0.0)))
    lo, hi = float(round(lo)), float(round(hi))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def bar_lines(song: Song | None, end_beat: float) -> list[tuple[float, int]]:
    """(beat, bar number starting at 1) of every bar start up to `end_beat`, following the
    song's time-signature map."""
    sigs = (song.time_signatures if song else None) or [TimeSignature(0.0, 4, 4)]
    lines: list[tuple[float, int]] = []
    bar = 1
    for i, sig in enumerate(sigs):
        stop = sigs[i + 1].beat if i + 1 < len(sigs) else end_beat
        beat = sig.beat
        step = max(sig.beats_per_bar, 1e-6)
        while beat < stop - 1e-9 and beat <= end_beat:
            lines.append((beat, bar))
            bar += 1
            beat += step
    return lines


class PianoRollView(QAbstractScrollArea):
    """The painted roll. Content coordinates: x = beat · beat_px, y = (top_pitch − pitch) · row_px."""

    keyClicked = Signal(int)
    zoomChanged = Signal()
    seekRequested = Signal(float)  # beat: the person clicked or dragged on the ruler
    loopRegionChanged = Signal(float, float)  # start, end beat of a loop region they dragged
    loopRegionCleared = Signal()

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
        self.beat_px = 24.0
        self.row_px = 12.0
        self.low, self.high = PIANO_LOW, PIANO_HIGH
        self.song: Song | None = None
        self.generated = False
        self.playhead: float | None = None
        self.loop_region: tuple[float, float] | None = None
        self.primer_beats: float | None = None
        self.velocity_lane_visible = True
        self._drag: dict | None = None  # the ruler drag in progress
        self._pending_loop: tuple[float, float] | None = None  # shown while a loop is dragged
        self._starts = np.zeros(0)
        self._ends = np.zeros(0)
        self._pitches = np.zeros(0, dtype=np.int16)
        self._buckets = np.zeros(0, dtype=np.int8)
        self._velocities = np.zeros(0, dtype=np.int16)
        self._primer = np.zeros(0, dtype=bool)
        self._end_beat = 16.0
        self._update_scrollbars()

    # -- data -------------------------------------------------------------------------------
    def set_song(
        self, song: Song | None, *, generated: bool = False, primer_beats: float | None = None
    ) -> None:
        """Show `song` (None clears the roll, and any loop region). The view scrolls to the song's
        first notes. With `primer_beats`, notes starting before it are the primer a generated song
        continues: they keep the musician's colour and a marker shows where the model took over."""
        self.song = song
        self.generated = generated
        self.loop_region = None
        self._pending_loop = None
        self._drag = None
        notes = song.notes if song else []
        self._starts = np.fromiter((n.start for n in notes), float, len(notes))
        self._ends = np.fromiter((n.end for n in notes), float, len(notes))
        self._pitches = np.fromiter((n.pitch for n in notes), np.int16, len(notes))
        velocities = np.fromiter((n.velocity for n in notes), np.int16, len(notes))
        self._buckets = np.clip(
            velocities * VELOCITY_BUCKETS // 128, 0, VELOCITY_BUCKETS - 1
        ).astype(np.int8)
        self._velocities = velocities
        self.primer_beats = float(primer_beats) if primer_beats is not None and song else None
        if self.primer_beats is not None:
            self._primer = self._starts < self.primer_beats - 1e-9
        else:
            self._primer = np.zeros(len(notes), dtype=bool)
        self.low = min(PIANO_LOW, int(self._pitches.min())) if len(notes) else PIANO_LOW
        self.high = max(PIANO_HIGH, int(self._pitches.max())) if len(notes) else PIANO_HIGH
        self._end_beat = max(float(self._ends.max()) if len(notes) else 0.0, 4.0)
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(0)
        if len(notes):
            centre = (int(self._pitches.max()) + int(self._pitches.min())) / 2
            self.center_on_pitch(centre)
        self.viewport().update()

    @property
    def note_count(self) -> int:
        return len(self._starts)

    @property
    def primer_note_count(self) -> int:
        return int(self._primer.sum())

    def note_colour(self, index: int) -> QColor:
        """The colour note `index` (in the song's order) is drawn in."""
        return velocity_colour(
            int((int(self._buckets[index]) + 0.5) * 128 / VELOCITY_BUCKETS),
            self.generated and not bool(self._primer[index]),
        )

    def set_loop_region(self, start: float | None, end: float | None = None) -> None:
        """Show the loop region `start`..`end` beats; `set_loop_region(None)` hides it. Emits
        nothing: this is how the transport tells the roll what it loops."""
        if start is None or end is None or end <= start:
            self.loop_region = None
        else:
            self.loop_region = (float(start), float(end))
        self.viewport().update()

    def set_velocity_lane_visible(self, visible: bool) -> None:
        self.velocity_lane_visible = bool(visible)
        self._update_scrollbars()
        self.viewport().update()

    def velocity_lane_rect(self) -> QRectF:
        """Where the velocity lane is in viewport coordinates (empty when hidden)."""
        lane = self._lane_height()
        h = self.viewport().height()
        return QRectF(KEYBOARD_WIDTH, h - lane, self.viewport().width() - KEYBOARD_WIDTH, lane)

    def velocity_stems(self) -> list[tuple[float, float, int]]:
        """(x, y of the stem's top, velocity) of every stem the velocity lane draws now, one per
        visible note at its onset, left to right."""
        if not self.velocity_lane_visible or not self.note_count:
            return []
        idx, xs, tops = self._stem_geometry()
        order = np.argsort(xs, kind="stable")
        return [
            (float(xs[i]), float(tops[i]), int(self._velocities[idx[i]])) for i in order.tolist()
        ]

    def set_playhead(self, beat: float | None, *, follow: bool = True) -> None:
        """Move the playhead line to `beat` (None hides it); with `follow`, scroll to keep it in
        view (playback turns following off while the person scrolls elsewhere)."""
        self.playhead = beat
        if beat is not None and follow:
            x = beat * self.beat_px
            bar = self.horizontalScrollBar()
            width = self._area_width()
            if x < bar.value() or x > bar.value() + width:
                bar.setValue(int(x - width * 0.1))
        self.viewport().update()

    # -- geometry ---------------------------------------------------------------------------
    def _area_width(self) -> int:
        return max(self.viewport().width() - KEYBOARD_WIDTH, 1)

    def _lane_height(self) -> int:
        return VELOCITY_LANE_HEIGHT if self.velocity_lane_visible else 0

    def _area_height(self) -> int:
        return max(self.viewport().height() - RULER_HEIGHT - self._lane_height(), 1)

    def _x(self, beat: float) -> float:
        return KEYBOARD_WIDTH + beat * self.beat_px - self.horizontalScrollBar().value()

    def content_width(self) -> float:
        return (self._end_beat + 4.0) * self.beat_px

    def content_height(self) -> float:
        return (self.high - self.low + 1) * self.row_px

    def _update_scrollbars(self) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setRange(0, max(0, int(self.content_width() - self._area_width())))
        h.setPageStep(self._area_width())
        h.setSingleStep(max(1, int(self.beat_px)))
        v.setRange(0, max(0, int(self.content_height() - self._area_height())))
        v.setPageStep(self._area_height())
        v.setSingleStep(max(1, int(self.row_px)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._update_scrollbars()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self.viewport().update()

    def pitch_at(self, y: float) -> int | None:
        """Pitch under viewport y (None above the roll or below its range)."""
        if y < RULER_HEIGHT or y >= RULER_HEIGHT + self._area_height():
            return None
        row = int((y - RULER_HEIGHT + self.verticalScrollBar().value()) // self.row_px)
        pitch = self.high - row
        return pitch if self.low <= pitch <= self.high else None

    def beat_at(self, x: float) -> float:
        return (x - KEYBOARD_WIDTH + self.horizontalScrollBar().value()) / self.beat_px

    def visible_beats(self) -> tuple[float, float]:
        left = self.horizontalScrollBar().value() / self.beat_px
        return left, left + self._area_width() / self.beat_px

    def center_on_pitch(self, pitch: float) -> None:
        y = (self.high - pitch + 0.5) * self.row_px
        self.verticalScrollBar().setValue(int(y - self._area_height() / 2))

    # -- zoom -------------------------------------------------------------------------------
    def set_zoom(self, beat_px: float | None = None, row_px: float | None = None) -> None:
        """Set pixels per beat / per pitch row, keeping the view's centre where it was."""
        left, right = self.visible_beats()
        centre_beat = (left + right) / 2
        v = self.verticalScrollBar()
        centre_pitch = self.high - (v.value() + self._area_height() / 2) / self.row_px
        if beat_px is not None:
            self.beat_px = float(min(max(beat_px, MIN_BEAT_PX), MAX_BEAT_PX))
        if row_px is not None:
            self.row_px = float(min(max(row_px, MIN_ROW_PX), MAX_ROW_PX))
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(
            int(centre_beat * self.beat_px - self._area_width() / 2)
        )
        v.setValue(int((self.high - centre_pitch) * self.row_px - self._area_height() / 2))
        self.zoomChanged.emit()
        self.viewport().update()

    def zoom_time(self, factor: float) -> None:
        self.set_zoom(beat_px=self.beat_px * factor)

    def zoom_pitch(self, factor: float) -> None:
        self.set_zoom(row_px=self.row_px * factor)

    def fit_song(self) -> None:
        """Zoom so the whole song and its pitch range fit the view."""
        if self.note_count == 0:
            self.set_zoom(beat_px=24.0, row_px=10.0)
            return
        lo, hi = int(self._pitches.min()), int(self._pitches.max())
        rows = hi - lo + 3
        self.beat_px = float(
            min(max(self._area_width() / (self._end_beat + 0.5), MIN_BEAT_PX), MAX_BEAT_PX)
        )
        self.row_px = float(min(max(self._area_height() / rows, MIN_ROW_PX), MAX_ROW_PX))
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(0)
        self.center_on_pitch((lo + hi) / 2)
        self.zoomChanged.emit()
        self.viewport().update()

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
            bar.setValue(bar.value() - int(event.angleDelta().x() / 120.0 * self.beat_px))
        else:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - int(steps * 3 * self.row_px))
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if pos.x() < KEYBOARD_WIDTH and event.button() == Qt.MouseButton.LeftButton:
            pitch = self.pitch_at(pos.y())
            if pitch is not None:
                self.keyClicked.emit(pitch)
                event.accept()
                return
        if (
            pos.y() < RULER_HEIGHT
            and pos.x() >= KEYBOARD_WIDTH
            and event.button() == Qt.MouseButton.LeftButton
        ):
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            beat = max(self.beat_at(pos.x()), 0.0)
            mode = "loop" if pos.y() < LOOP_STRIP_HEIGHT or shift else "seek"
            self._drag = {"mode": mode, "anchor": beat, "x": pos.x(), "moved": False}
            if mode == "seek":
                self._drag["beat"] = beat
                self.seekRequested.emit(beat)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        drag = self._drag
        if drag is None:
            super().mouseMoveEvent(event)
            return
        x = event.position().x()
        beat = max(self.beat_at(x), 0.0)
        if abs(x - drag["x"]) >= DRAG_THRESHOLD_PX:
            drag["moved"] = True
        if drag["mode"] == "seek":
            if beat != drag["beat"]:
                drag["beat"] = beat
                self.seekRequested.emit(beat)
        elif drag["moved"]:
            self._pending_loop = snap_loop(drag["anchor"], beat)
            self.viewport().update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        if drag["mode"] == "loop":
            x = event.position().x()
            if abs(x - drag["x"]) >= DRAG_THRESHOLD_PX:  # the region ends where it is let go
                drag["moved"] = True
                self._pending_loop = snap_loop(drag["anchor"], max(self.beat_at(x), 0.0))
            pending, self._pending_loop = self._pending_loop, None
            if drag["moved"] and pending is not None:
                self.loop_region = pending
                self.loopRegionChanged.emit(*pending)
            elif event.position().y() < LOOP_STRIP_HEIGHT:
                self.clear_loop_region()  # a click on the loop strip, as in most DAWs
            else:
                self.seekRequested.emit(drag["anchor"])  # a Shift+click on the bar numbers
            self.viewport().update()
        event.accept()

    def clear_loop_region(self) -> None:
        """Remove the loop region, as the person asked (emits loopRegionCleared)."""
        had = self.loop_region is not None
        self.loop_region = None
        self.viewport().update()
        if had:
            self.loopRegionCleared.emit()

    def loop_bar_at(self, beat: float) -> tuple[float, float]:
        """The bar that contains `beat`, following the time-signature map."""
        bars = bar_lines(self.song, max(beat, self._end_beat) + 64)
        start = max((b for b, _ in bars if b <= beat + 1e-9), default=0.0)
        later = [b for b, _ in bars if b > start + 1e-9]
        sigs = (self.song.time_signatures if self.song else None) or [TimeSignature(0.0, 4, 4)]
        length = next(s for s in reversed(sigs) if s.beat <= start + 1e-9).beats_per_bar
        return start, later[0] if later else start + length

    def ruler_menu(self, x: float) -> QMenu:
        """The ruler's context menu at viewport x: loop the bar there, or clear the loop."""
        menu = QMenu(self)
        beat = max(self.beat_at(x), 0.0)
        start, end = self.loop_bar_at(beat)
        bar_number = next(
            (n for b, n in bar_lines(self.song, end + 1) if abs(b - start) < 1e-9), None
        )
        loop_bar = menu.addAction(f"Loop bar {bar_number}" if bar_number else "Loop this bar")

        def set_bar() -> None:
            self.loop_region = (start, end)
            self.viewport().update()
            self.loopRegionChanged.emit(start, end)

        loop_bar.triggered.connect(set_bar)
        clear = menu.addAction("Clear loop region")
        clear.setEnabled(self.loop_region is not None)
        clear.triggered.connect(self.clear_loop_region)
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        pos = event.pos()
        if pos.y() < RULER_HEIGHT and pos.x() >= KEYBOARD_WIDTH:
            self.ruler_menu(pos.x()).exec(event.globalPos())
            event.accept()
            return
        super().contextMenuEvent(event)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()
            text = None
            if pos.y() < LOOP_STRIP_HEIGHT and pos.x() >= KEYBOARD_WIDTH:
                text = (
                    "Loop strip: drag to loop a region (snapped to beats); click to clear the "
                    "loop. Right-click for more."
                )
            elif pos.y() < RULER_HEIGHT and pos.x() >= KEYBOARD_WIDTH:
                text = (
                    "Click or drag to move the playhead; Shift+drag to loop a region. "
                    "Right-click to loop a bar."
                )
            elif pos.y() >= self.viewport().height() - self._lane_height():
                text = "Velocity lane: one stem per note at its onset, taller is louder."
            if text is not None:
                QToolTip.showText(event.globalPos(), text, self.viewport())
                return True
        return super().viewportEvent(event)

    def click_key(self, pitch: int) -> None:
        """Same as clicking the key on screen (used by keyboard users and tests)."""
        if self.low <= pitch <= self.high:
            self.keyClicked.emit(pitch)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, p: QPainter) -> None:
        pal = self.palette()
        w, h = self.viewport().width(), self.viewport().height()
        sx, sy = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        base = pal.color(QPalette.ColorRole.Base)
        dark_theme = base.lightnessF() < 0.5
        p.fillRect(0, 0, w, h, base)
        lane_top = h - self._lane_height()  # the notes end here, the velocity lane begins
        area_h = max(lane_top - RULER_HEIGHT, 0)

        # Rows: black-key lanes slightly shaded, in a colour derived from the theme.
        lane = base.lighter(125) if dark_theme else base.darker(107)
        first_row = int(sy // self.row_px)
        last_row = int((sy + area_h) // self.row_px) + 1
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, area_h)
        for row in range(first_row, last_row + 1):
            pitch = self.high - row
            if pitch < self.low:
                break
            y = RULER_HEIGHT + row * self.row_px - sy
            if is_black_key(pitch):
                p.fillRect(QRectF(KEYBOARD_WIDTH, y, w, self.row_px), lane)
            if pitch % 12 == 0:  # C: octave line under it
                p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
                p.drawLine(QPointF(KEYBOARD_WIDTH, y + self.row_px), QPointF(w, y + self.row_px))

        # Beat and bar lines.
        left_beat = sx / self.beat_px
        right_beat = left_beat + (w - KEYBOARD_WIDTH) / self.beat_px
        bars = bar_lines(self.song, max(right_beat, self._end_beat) + 8)
        self._paint_grid(p, pal, bars, left_beat, right_beat, RULER_HEIGHT, lane_top)
        region = self._pending_loop or self.loop_region
        if region is not None:  # under the notes, so they keep their colours
            self._paint_loop_tint(p, pal, region, RULER_HEIGHT, lane_top)

        # Notes: visible ones only, one drawRects per velocity bucket (and primer or not).
        if self.note_count:
            top_pitch = self.high - first_row + 1
            bottom_pitch = self.high - last_row - 1
            mask = (
                (self._starts < right_beat)
                & (self._ends > left_beat)
                & (self._pitches <= top_pitch)
                & (self._pitches >= bottom_pitch)
            )
            idx = np.flatnonzero(mask)
            xs = KEYBOARD_WIDTH + self._starts[idx] * self.beat_px - sx
            ws = np.maximum((self._ends[idx] - self._starts[idx]) * self.beat_px - 1.0, 1.5)
            ys = RULER_HEIGHT + (self.high - self._pitches[idx]) * self.row_px - sy + 0.5
            hgt = max(self.row_px - 1.0, 1.0)
            outline = self.row_px >= 6 and self.beat_px >= 6
            for sel, colour in self._colour_groups(idx):
                p.setBrush(colour)
                p.setPen(QPen(colour.darker(160), 1) if outline else Qt.PenStyle.NoPen)
                rects = [
                    QRectF(x, y, wd, hgt)
                    for x, y, wd in zip(
                        xs[sel].tolist(), ys[sel].tolist(), ws[sel].tolist(), strict=True
                    )
                ]
                p.drawRects(rects)
        p.restore()

        if self._lane_height():
            self._paint_velocity_lane(p, pal, bars, left_beat, right_beat, lane_top, w, h)
        if region is not None:
            self._paint_loop_edges(p, pal, region, RULER_HEIGHT, h)
        if self.primer_beats is not None:
            self._paint_primer_marker(p, pal, lane_top, h)
        if self.playhead is not None:
            x = self._x(self.playhead)
            p.save()
            p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, h - RULER_HEIGHT)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
            p.restore()

        self._paint_ruler(p, pal, bars, left_beat, right_beat, sx, w)
        self._paint_keyboard(p, pal, first_row, last_row, sy, lane_top)
        if self._lane_height():
            self._paint_lane_label(p, pal, lane_top, h)

    def _colour_groups(self, idx: np.ndarray):
        """(positions into `idx`, colour) for each velocity bucket, primer notes apart."""
        buckets = self._buckets[idx]
        primer = self._primer[idx]
        for is_primer in (False, True):
            if is_primer and not self.primer_beats:
                continue
            for bucket in range(VELOCITY_BUCKETS):
                sel = np.flatnonzero((buckets == bucket) & (primer == is_primer))
                if len(sel):
                    velocity = int((bucket + 0.5) * 128 / VELOCITY_BUCKETS)
                    yield sel, velocity_colour(velocity, self.generated and not is_primer)

    def _paint_grid(self, p, pal, bars, left_beat, right_beat, top: float, bottom: float) -> None:
        base = pal.color(QPalette.ColorRole.Base)
        dark_theme = base.lightnessF() < 0.5
        if self.beat_px >= 8:
            p.setPen(QPen(base.lighter(140) if dark_theme else base.darker(112), 1))
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = self._x(beat)
                p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        every = self._bar_label_stride(bars)
        for beat, bar in bars:
            if (bar - 1) % every == 0 and left_beat - 1 <= beat <= right_beat + 1:
                x = self._x(beat)
                p.drawLine(QPointF(x, top), QPointF(x, bottom))

    def _paint_loop_tint(self, p, pal, region, top: float, bottom: float) -> None:
        tint = QColor(pal.color(QPalette.ColorRole.Highlight))
        tint.setAlpha(38)
        x0, x1 = self._x(region[0]), self._x(region[1])
        p.fillRect(QRectF(x0, top, x1 - x0, bottom - top), tint)

    def _paint_loop_edges(self, p, pal, region, top: float, bottom: float) -> None:
        edge = QColor(pal.color(QPalette.ColorRole.Highlight))
        edge.setAlpha(170)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, top, self.viewport().width() - KEYBOARD_WIDTH, bottom - top)
        pen = QPen(edge, 1)
        if self._pending_loop is not None:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        for beat in region:
            x = round(self._x(beat)) + 0.5
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.restore()

    def _paint_primer_marker(self, p, pal, lane_top: float, h: float) -> None:
        """A dashed line where the primer ends, labelled on both sides."""
        x = self._x(self.primer_beats)
        w = self.viewport().width()
        if not KEYBOARD_WIDTH - 200 <= x <= w + 200:
            return
        continuation = velocity_colour(118, True)
        primer = velocity_colour(118, False)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, h - RULER_HEIGHT)
        pen = QPen(continuation.darker(115), 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        font.setBold(True)
        p.setFont(font)
        metrics = p.fontMetrics()
        backdrop = QColor(pal.color(QPalette.ColorRole.Base))
        backdrop.setAlpha(225)
        y = RULER_HEIGHT + 4
        for text, colour, right in (
            ("continuation ▸", continuation, True),
            ("◂ primer", primer, False),
        ):
            width = metrics.horizontalAdvance(text) + 8
            left = x + 4 if right else x - 4 - width
            if left < KEYBOARD_WIDTH:
                continue  # no room before the keyboard: the colours say it, not a cut label
            box = QRectF(left, y, width, metrics.height() + 2)
            p.fillRect(box, backdrop)
            p.setPen(QPen(colour.darker(135), 1))
            p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
        p.restore()

    def _stem_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices, x and stem-top y of the notes whose onsets are in view."""
        left_beat, right_beat = self.visible_beats()
        pad = 2.0 / self.beat_px
        idx = np.flatnonzero((self._starts >= left_beat - pad) & (self._starts <= right_beat + pad))
        xs = np.round(self._x(0.0) + self._starts[idx] * self.beat_px)
        bottom = self.viewport().height() - 3
        usable = self._lane_height() - 9
        tops = bottom - np.clip(self._velocities[idx], 1, 127) / 127.0 * usable
        return idx, xs, np.round(tops)

    def _paint_velocity_lane(self, p, pal, bars, left_beat, right_beat, lane_top, w, h) -> None:
        """One stem per note at its onset, as tall as the note is loud, in the note's colour."""
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, lane_top, w - KEYBOARD_WIDTH, h - lane_top)
        base = pal.color(QPalette.ColorRole.Base)
        ground = base.lighter(118) if base.lightnessF() < 0.5 else base.darker(104)
        p.fillRect(QRectF(KEYBOARD_WIDTH, lane_top, w, h - lane_top), ground)
        self._paint_grid(p, pal, bars, left_beat, right_beat, lane_top, h)
        region = self._pending_loop or self.loop_region
        if region is not None:
            self._paint_loop_tint(p, pal, region, lane_top, h)
        half = QColor(pal.color(QPalette.ColorRole.Mid))
        half.setAlpha(110)
        usable = self._lane_height() - 9
        p.setPen(QPen(half, 1, Qt.PenStyle.DotLine))
        y_half = round(h - 3 - 64 / 127.0 * usable) + 0.5
        p.drawLine(QPointF(KEYBOARD_WIDTH, y_half), QPointF(w, y_half))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(KEYBOARD_WIDTH, lane_top + 0.5), QPointF(w, lane_top + 0.5))
        if self.note_count:
            idx, xs, tops = self._stem_geometry()
            bottom = h - 3
            cap = self.beat_px >= 12
            for sel, colour in self._colour_groups(idx):
                stem = colour.darker(125)
                p.setPen(QPen(stem, 2 if self.beat_px >= 6 else 1))
                sx_, st_ = xs[sel].tolist(), tops[sel].tolist()
                p.drawLines(
                    [
                        point
                        for x, t in zip(sx_, st_, strict=True)
                        for point in (QPointF(x, bottom), QPointF(x, t))
                    ]
                )
                if cap:
                    p.setBrush(colour)
                    p.setPen(QPen(stem, 1))
                    p.drawRects(
                        [QRectF(x - 2.5, t - 2.5, 5, 5) for x, t in zip(sx_, st_, strict=True)]
                    )
        p.restore()

    def _paint_lane_label(self, p, pal, lane_top: float, h: float) -> None:
        p.fillRect(
            QRectF(0, lane_top, KEYBOARD_WIDTH, h - lane_top), pal.color(QPalette.ColorRole.Button)
        )
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(0, lane_top + 0.5), QPointF(KEYBOARD_WIDTH, lane_top + 0.5))
        p.drawLine(QPointF(KEYBOARD_WIDTH - 1, lane_top), QPointF(KEYBOARD_WIDTH - 1, h))
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6.0))
        p.setFont(font)
        p.setPen(QPen(pal.color(QPalette.ColorRole.ButtonText), 1))
        p.drawText(
            QRectF(2, lane_top, KEYBOARD_WIDTH - 6, h - lane_top),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            "velocity",
        )

    def _bar_label_stride(self, bars: list[tuple[float, int]]) -> int:
        """Label (and draw) every bar when there is room, else every 2nd, 4th, … bar."""
        bar_px = (bars[1][0] - bars[0][0]) * self.beat_px if len(bars) > 1 else 100.0
        return 1 if bar_px >= 28 else 2 ** math.ceil(math.log2(28 / max(bar_px, 1e-3)))

    def _paint_ruler(self, p, pal, bars, left_beat, right_beat, sx, w) -> None:
        button = pal.color(QPalette.ColorRole.Button)
        p.fillRect(0, 0, w, RULER_HEIGHT, button)
        strip = button.darker(112) if button.lightnessF() >= 0.5 else button.lighter(130)
        p.fillRect(QRectF(KEYBOARD_WIDTH, 0, w, LOOP_STRIP_HEIGHT), strip)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(0, RULER_HEIGHT - 1, w, RULER_HEIGHT - 1)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, 0, w - KEYBOARD_WIDTH, RULER_HEIGHT)
        region = self._pending_loop or self.loop_region
        if region is not None:
            x0, x1 = self._x(region[0]), self._x(region[1])
            fill = QColor(pal.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(150 if self._pending_loop is not None else 230)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(x0, 1, x1 - x0, LOOP_STRIP_HEIGHT - 2), 3, 3)
            under = QColor(fill)
            under.setAlpha(45)
            p.fillRect(QRectF(x0, LOOP_STRIP_HEIGHT, x1 - x0, BAR_STRIP_HEIGHT), under)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        p.setFont(font)
        text = pal.color(QPalette.ColorRole.ButtonText)
        top = LOOP_STRIP_HEIGHT
        every = self._bar_label_stride(bars)
        for beat, bar in bars:
            if not left_beat - 8 <= beat <= right_beat + 1:
                continue
            x = KEYBOARD_WIDTH + beat * self.beat_px - sx
            p.setPen(QPen(text, 1))
            p.drawLine(QPointF(x, top + BAR_STRIP_HEIGHT * 0.45), QPointF(x, RULER_HEIGHT))
            if (bar - 1) % every == 0:
                p.drawText(QPointF(x + 3, top + BAR_STRIP_HEIGHT * 0.62), str(bar))
        if self.beat_px >= 10:  # beat ticks
            p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = KEYBOARD_WIDTH + beat * self.beat_px - sx
                p.drawLine(QPointF(x, top + BAR_STRIP_HEIGHT * 0.75), QPointF(x, RULER_HEIGHT))
        if self.primer_beats is not None:
            x = self._x(self.primer_beats)
            p.setPen(QPen(velocity_colour(118, True).darker(115), 2))
            p.drawLine(QPointF(x, top), QPointF(x, RULER_HEIGHT))
        if self.playhead is not None:
            x = KEYBOARD_WIDTH + self.playhead * self.beat_px - sx
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, RULER_HEIGHT))
        p.restore()

    def _paint_keyboard(self, p, pal, first_row, last_row, sy, bottom) -> None:
        # A piano keyboard is white and black whatever the theme; its labels are drawn in the
        # contrasting colour explicitly so they stay readable in light and dark themes.
        p.fillRect(0, 0, KEYBOARD_WIDTH, RULER_HEIGHT, pal.color(QPalette.ColorRole.Button))
        p.save()
        p.setClipRect(0, RULER_HEIGHT, KEYBOARD_WIDTH, max(bottom - RULER_HEIGHT, 0))
        font = QFont(self.font())
        font.setPointSizeF(max(min(self.row_px * 0.62, font.pointSizeF() * 0.85), 5.0))
        p.setFont(font)
        white, black = QColor(250, 250, 248), QColor(30, 30, 34)
        for row in range(first_row, last_row + 1):
            pitch = self.high - row
            if pitch < self.low:
                break
            y = RULER_HEIGHT + row * self.row_px - sy
            rect = QRectF(0, y, KEYBOARD_WIDTH - 1, self.row_px)
            if is_black_key(pitch):
                p.fillRect(rect, black)
            else:
                p.fillRect(rect, white)
                p.setPen(QPen(QColor(160, 160, 160), 1))
                p.drawLine(QPointF(0, y + self.row_px), QPointF(KEYBOARD_WIDTH, y + self.row_px))
            show = pitch % 12 == 0 or (self.row_px >= 13 and not is_black_key(pitch))
            if show:
                p.setPen(QPen(white if is_black_key(pitch) else black, 1))
                p.drawText(
                    rect.adjusted(2, 0, -4, 0),
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    note_name(pitch),
                )
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(KEYBOARD_WIDTH - 1, RULER_HEIGHT), QPointF(KEYBOARD_WIDTH - 1, bottom))
        p.restore()


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
        self.toolbar = QToolBar("Piano roll")
        self.toolbar.setObjectName("pianoRollToolbar")
        self.actions: dict[str, QAction] = {}
        for key, text, tip, slot in (
            (
                "zoom_in_time",
                "Time +",
                "Zoom in on time (Ctrl+wheel)",
                lambda: self.view.zoom_time(1.25),
            ),
            (
                "zoom_out_time",
                "Time −",
                "Zoom out in time (Ctrl+wheel)",
                lambda: self.view.zoom_time(0.8),
            ),
            (
                "zoom_in_pitch",
                "Pitch +",
                "Taller pitch rows (Shift+wheel)",
                lambda: self.view.zoom_pitch(1.2),
            ),
            (
                "zoom_out_pitch",
                "Pitch −",
                "Shorter pitch rows (Shift+wheel)",
                lambda: self.view.zoom_pitch(1 / 1.2),
            ),
            ("fit", "Fit song", "Zoom so the whole song fits the view", self.view.fit_song),
        ):
            action = QAction(QIcon(), text, self)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            self.toolbar.addAction(action)
            self.actions[key] = action
        velocity = QAction(QIcon(), "Velocity", self)
        velocity.setCheckable(True)
        velocity.setChecked(True)
        velocity.setToolTip("Show the velocity lane under the notes: one stem per note")
        velocity.setStatusTip(velocity.toolTip())
        velocity.toggled.connect(self.view.set_velocity_lane_visible)
        self.toolbar.addAction(velocity)
        self.actions["velocity"] = velocity
        self.caption.setContentsMargins(6, 0, 6, 2)
        # Toolbar buttons take no focus by default; these have no menu entry of their own, so
        # Tab must reach them.
        for button in self.toolbar.findChildren(QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
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
    ) -> None:
        """Show `song`; `primer_beats` marks where a continued song's primer ends."""
        self.view.set_song(song, generated=generated, primer_beats=primer_beats)
        if song is None:
            self.caption.setText("No song selected")
        else:
            label = caption or song.title or (song.source.name if song.source else "untitled")
            kind = "generated" if generated else "original"
            if generated and self.view.primer_beats is not None:
                bar_len = song.first_time_signature.beats_per_bar
                kind = f"primer of {self.view.primer_beats / bar_len:g} bars, then generated"
            self.caption.setText(
                f"  {label} — {kind}, {song.bars():.1f} bars, {len(song.notes)} notes"
            )

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
