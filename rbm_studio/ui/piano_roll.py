"""Piano roll: keyboard column, bar/beat ruler, notes coloured by velocity, zoom, scroll, playhead.

Everything is painted by one `QAbstractScrollArea` viewport. Notes live in numpy arrays so the
visible ones are found with one mask, and they are drawn as one `drawRects` call per velocity
bucket, which keeps a 5-minute song (tens of thousands of notes) smooth to scroll and zoom.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QLabel,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..music.song import Song, TimeSignature

KEYBOARD_WIDTH = 52
RULER_HEIGHT = 22
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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(
            "Piano roll. Ctrl+wheel zooms time, Shift+wheel zooms pitch; click a key to hear it."
        )
        self.beat_px = 24.0
        self.row_px = 12.0
        self.low, self.high = PIANO_LOW, PIANO_HIGH
        self.song: Song | None = None
        self.generated = False
        self.playhead: float | None = None
        self._starts = np.zeros(0)
        self._ends = np.zeros(0)
        self._pitches = np.zeros(0, dtype=np.int16)
        self._buckets = np.zeros(0, dtype=np.int8)
        self._end_beat = 16.0
        self._update_scrollbars()

    # -- data -------------------------------------------------------------------------------
    def set_song(self, song: Song | None, *, generated: bool = False) -> None:
        """Show `song` (None clears the roll). The view scrolls to the song's first notes."""
        self.song = song
        self.generated = generated
        notes = song.notes if song else []
        self._starts = np.fromiter((n.start for n in notes), float, len(notes))
        self._ends = np.fromiter((n.end for n in notes), float, len(notes))
        self._pitches = np.fromiter((n.pitch for n in notes), np.int16, len(notes))
        velocities = np.fromiter((n.velocity for n in notes), np.int16, len(notes))
        self._buckets = np.clip(
            velocities * VELOCITY_BUCKETS // 128, 0, VELOCITY_BUCKETS - 1
        ).astype(np.int8)
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

    def _area_height(self) -> int:
        return max(self.viewport().height() - RULER_HEIGHT, 1)

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
        if y < RULER_HEIGHT:
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
        super().mousePressEvent(event)

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

        # Rows: black-key lanes slightly shaded, in a colour derived from the theme.
        lane = base.lighter(125) if dark_theme else base.darker(107)
        first_row = int(sy // self.row_px)
        last_row = int((sy + h) // self.row_px) + 1
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, h - RULER_HEIGHT)
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
        grid_minor = QPen(base.lighter(140) if dark_theme else base.darker(112), 1)
        grid_major = QPen(pal.color(QPalette.ColorRole.Mid), 1)
        if self.beat_px >= 8:
            p.setPen(grid_minor)
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = KEYBOARD_WIDTH + beat * self.beat_px - sx
                p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
        p.setPen(grid_major)
        every = self._bar_label_stride(bars)
        for beat, bar in bars:
            if (bar - 1) % every == 0 and left_beat - 1 <= beat <= right_beat + 1:
                x = KEYBOARD_WIDTH + beat * self.beat_px - sx
                p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))

        # Notes: visible ones only, one drawRects per velocity bucket.
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
            buckets = self._buckets[idx]
            outline = self.row_px >= 6 and self.beat_px >= 6
            for bucket in range(VELOCITY_BUCKETS):
                sel = np.flatnonzero(buckets == bucket)
                if not len(sel):
                    continue
                colour = velocity_colour(
                    int((bucket + 0.5) * 128 / VELOCITY_BUCKETS), self.generated
                )
                p.setBrush(colour)
                p.setPen(QPen(colour.darker(160), 1) if outline else Qt.PenStyle.NoPen)
                rects = [
                    QRectF(x, y, wd, hgt)
                    for x, y, wd in zip(
                        xs[sel].tolist(), ys[sel].tolist(), ws[sel].tolist(), strict=True
                    )
                ]
                p.drawRects(rects)

        if self.playhead is not None:
            x = KEYBOARD_WIDTH + self.playhead * self.beat_px - sx
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
        p.restore()

        self._paint_ruler(p, pal, bars, left_beat, right_beat, sx, w)
        self._paint_keyboard(p, pal, first_row, last_row, sy, h)

    def _bar_label_stride(self, bars: list[tuple[float, int]]) -> int:
        """Label (and draw) every bar when there is room, else every 2nd, 4th, … bar."""
        bar_px = (bars[1][0] - bars[0][0]) * self.beat_px if len(bars) > 1 else 100.0
        return 1 if bar_px >= 28 else 2 ** math.ceil(math.log2(28 / max(bar_px, 1e-3)))

    def _paint_ruler(self, p, pal, bars, left_beat, right_beat, sx, w) -> None:
        p.fillRect(0, 0, w, RULER_HEIGHT, pal.color(QPalette.ColorRole.Button))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(0, RULER_HEIGHT - 1, w, RULER_HEIGHT - 1)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, 0, w - KEYBOARD_WIDTH, RULER_HEIGHT)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        p.setFont(font)
        text = pal.color(QPalette.ColorRole.ButtonText)
        every = self._bar_label_stride(bars)
        for beat, bar in bars:
            if not left_beat - 8 <= beat <= right_beat + 1:
                continue
            x = KEYBOARD_WIDTH + beat * self.beat_px - sx
            p.setPen(QPen(text, 1))
            p.drawLine(QPointF(x, RULER_HEIGHT * 0.45), QPointF(x, RULER_HEIGHT))
            if (bar - 1) % every == 0:
                p.drawText(QPointF(x + 3, RULER_HEIGHT * 0.62), str(bar))
        if self.beat_px >= 10:  # beat ticks
            p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = KEYBOARD_WIDTH + beat * self.beat_px - sx
                p.drawLine(QPointF(x, RULER_HEIGHT * 0.75), QPointF(x, RULER_HEIGHT))
        if self.playhead is not None:
            x = KEYBOARD_WIDTH + self.playhead * self.beat_px - sx
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, RULER_HEIGHT))
        p.restore()

    def _paint_keyboard(self, p, pal, first_row, last_row, sy, h) -> None:
        # A piano keyboard is white and black whatever the theme; its labels are drawn in the
        # contrasting colour explicitly so they stay readable in light and dark themes.
        p.fillRect(0, 0, KEYBOARD_WIDTH, RULER_HEIGHT, pal.color(QPalette.ColorRole.Button))
        p.save()
        p.setClipRect(0, RULER_HEIGHT, KEYBOARD_WIDTH, h - RULER_HEIGHT)
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
        p.drawLine(KEYBOARD_WIDTH - 1, RULER_HEIGHT, KEYBOARD_WIDTH - 1, h)
        p.restore()


class PianoRoll(QWidget):
    """The piano roll with its own small toolbar (zoom, fit) and a caption naming the song."""

    keyClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = PianoRollView(self)
        self.view.keyClicked.connect(self.keyClicked)
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
        self.caption.setContentsMargins(6, 0, 6, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def set_song(self, song: Song | None, *, generated: bool = False, caption: str = "") -> None:
        self.view.set_song(song, generated=generated)
        if song is None:
            self.caption.setText("No song selected")
        else:
            label = caption or song.title or (song.source.name if song.source else "untitled")
            kind = "generated" if generated else "original"
            self.caption.setText(
                f"  {label} — {kind}, {song.bars():.1f} bars, {len(song.notes)} notes"
            )

    def set_playhead(self, beat: float | None, *, follow: bool = True) -> None:
        """Public hook for playback: draw the playhead at `beat` (None hides it)."""
        self.view.set_playhead(beat, follow=follow)

    def fit_song(self) -> None:
        self.view.fit_song()

    @property
    def song(self) -> Song | None:
        return self.view.song
