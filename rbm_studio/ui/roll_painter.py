"""Drawing a `RollModel` with QPainter: the piano roll's look, apart from its input and state.

One `RollPainter` paints one frame; colours come from the palette, so the roll follows light and
dark themes, and notes are drawn as one `drawRects` call per colour so long songs stay smooth.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen

from ..music.keys import is_black_key, pitch_name
from ..studio.roll import (
    BAR_STRIP_HEIGHT,
    KEYBOARD_WIDTH,
    LOOP_STRIP_HEIGHT,
    RULER_HEIGHT,
    RollModel,
)

HUE_ORIGINAL = 0.58  # blue
HUE_GENERATED = 0.07  # orange


def velocity_colour(velocity: int, generated: bool) -> QColor:
    """Louder is more saturated; the hue tells generated songs from the musician's own."""
    strength = min(max(velocity, 1), 127) / 127.0
    hue = HUE_GENERATED if generated else HUE_ORIGINAL
    return QColor.fromHsvF(hue, 0.30 + 0.70 * strength, 0.98 - 0.25 * strength)


class RollPainter:
    """Paints the model's viewport: rows, grid, loop region, notes, velocity lane, primer
    marker, playhead, ruler and keyboard, in that order."""

    def __init__(self, model: RollModel, palette: QPalette, font: QFont) -> None:
        self.m = model
        self.pal = palette
        self.font = font

    def paint(self, p: QPainter) -> None:
        m = self.m
        pal = self.pal
        w, h = m.width, m.height
        p.fillRect(0, 0, w, h, pal.color(QPalette.ColorRole.Base))
        lane_top = m.lane_top  # the notes end here, the velocity lane begins
        bars = m.bars()
        p.save()
        p.setClipRect(
            KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, max(lane_top - RULER_HEIGHT, 0)
        )
        self._paint_rows(p, pal)
        self._paint_grid(p, pal, bars, RULER_HEIGHT, lane_top)
        if m.written is not None:  # under the notes, so they keep their colours
            self._paint_written(p, m.written, RULER_HEIGHT, lane_top)
        region = m.shown_loop()
        if region is not None:
            self._paint_loop_tint(p, pal, region, RULER_HEIGHT, lane_top)
        self._paint_notes(p)
        self._paint_selection(p, pal)
        p.restore()
        if m.lane_height:
            self._paint_velocity_lane(p, pal, bars)
        if region is not None:
            self._paint_loop_edges(p, pal, region, RULER_HEIGHT, h)
        if m.primer_beats is not None:
            self._paint_primer_marker(p, pal)
        if m.playhead is not None:
            p.save()
            p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, h - RULER_HEIGHT)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            x = m.x_of(m.playhead)
            p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
            p.restore()
        self._paint_ruler(p, pal, bars)
        self._paint_keyboard(p, pal)
        if m.lane_height:
            self._paint_lane_label(p, pal)

    def _paint_rows(self, p: QPainter, pal: QPalette) -> None:
        """Black-key rows slightly shaded, in a colour derived from the theme; a line under
        each C."""
        m = self.m
        base = pal.color(QPalette.ColorRole.Base)
        lane = base.lighter(125) if base.lightnessF() < 0.5 else base.darker(107)
        first_row, last_row = m.visible_rows()
        for row in range(first_row, last_row + 1):
            pitch = m.high - row
            if pitch < m.low:
                break
            y = m.y_of_row(row)
            if is_black_key(pitch):
                p.fillRect(QRectF(KEYBOARD_WIDTH, y, m.width, m.row_px), lane)
            if pitch % 12 == 0:  # C: octave line under it
                p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
                p.drawLine(QPointF(KEYBOARD_WIDTH, y + m.row_px), QPointF(m.width, y + m.row_px))

    def _paint_notes(self, p: QPainter) -> None:
        """The notes in view: one drawRects per velocity bucket (and primer or not)."""
        m = self.m
        if not m.note_count:
            return
        rects = m.note_rects()
        outline = m.row_px >= 6 and m.beat_px >= 6
        for sel, velocity, generated in m.colour_groups(rects.index):
            colour = velocity_colour(velocity, generated)
            p.setBrush(colour)
            p.setPen(QPen(colour.darker(160), 1) if outline else Qt.PenStyle.NoPen)
            xs, ys, ws = rects.x[sel].tolist(), rects.y[sel].tolist(), rects.width[sel].tolist()
            p.drawRects(
                [QRectF(x, y, wd, rects.height) for x, y, wd in zip(xs, ys, ws, strict=True)]
            )

    def _paint_selection(self, p: QPainter, pal: QPalette) -> None:
        """Selected notes outlined in the theme's highlight; a rubber band being dragged."""
        m = self.m
        if m.note_count and len(m.selected) == m.note_count and m.selected.any():
            rects = m.note_rects()
            chosen = m.selected[rects.index]
            if chosen.any():
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight).darker(110), 2))
                xs, ys = rects.x[chosen].tolist(), rects.y[chosen].tolist()
                ws = rects.width[chosen].tolist()
                p.drawRects(
                    [QRectF(x, y, w, rects.height) for x, y, w in zip(xs, ys, ws, strict=True)]
                )
        if m.band is not None:
            x0, y0, x1, y1 = m.band
            fill = QColor(pal.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(40)
            pen = QPen(pal.color(QPalette.ColorRole.Highlight), 1)
            pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(fill)
            p.drawRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))

    def _paint_grid(self, p, pal, bars, top: float, bottom: float) -> None:
        m = self.m
        left_beat, right_beat = m.visible_beats()
        base = pal.color(QPalette.ColorRole.Base)
        if m.beat_px >= 8:
            p.setPen(QPen(base.lighter(140) if base.lightnessF() < 0.5 else base.darker(112), 1))
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = m.x_of(beat)
                p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        every = m.bar_label_stride(bars)
        for beat, bar in bars:
            if (bar - 1) % every == 0 and left_beat - 1 <= beat <= right_beat + 1:
                x = m.x_of(beat)
                p.drawLine(QPointF(x, top), QPointF(x, bottom))

    def _paint_written(self, p, beats, top: float, bottom: float) -> None:
        """The bars a co-writing action wrote: a wash of the model's colour, edged."""
        colour = velocity_colour(118, True)
        x0, x1 = self.m.x_of(beats[0]), self.m.x_of(beats[1])
        wash = QColor(colour)
        wash.setAlpha(30)
        p.fillRect(QRectF(x0, top, x1 - x0, bottom - top), wash)
        edge = QColor(colour)
        edge.setAlpha(150)
        p.setPen(QPen(edge, 1))
        for x in (x0, x1):
            p.drawLine(QPointF(round(x) + 0.5, top), QPointF(round(x) + 0.5, bottom))

    def _paint_loop_tint(self, p, pal, region, top: float, bottom: float) -> None:
        tint = QColor(pal.color(QPalette.ColorRole.Highlight))
        tint.setAlpha(38)
        x0, x1 = self.m.x_of(region[0]), self.m.x_of(region[1])
        p.fillRect(QRectF(x0, top, x1 - x0, bottom - top), tint)

    def _paint_loop_edges(self, p, pal, region, top: float, bottom: float) -> None:
        edge = QColor(pal.color(QPalette.ColorRole.Highlight))
        edge.setAlpha(170)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, top, self.m.width - KEYBOARD_WIDTH, bottom - top)
        pen = QPen(edge, 1)
        if self.m.pending_loop is not None:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        for beat in region:
            x = round(self.m.x_of(beat)) + 0.5
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.restore()

    def _small_font(self, scale: float, *, bold: bool = False) -> QFont:
        font = QFont(self.font)
        font.setPointSizeF(max(font.pointSizeF() * scale, 6.0))
        font.setBold(bold)
        return font

    def _paint_primer_marker(self, p, pal) -> None:
        """A dashed line where the primer ends, labelled on both sides."""
        m = self.m
        x, w, h = m.x_of(m.primer_beats), m.width, m.height
        if not KEYBOARD_WIDTH - 200 <= x <= w + 200:
            return
        continuation = velocity_colour(118, True)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, RULER_HEIGHT, w - KEYBOARD_WIDTH, h - RULER_HEIGHT)
        pen = QPen(continuation.darker(115), 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(x, RULER_HEIGHT), QPointF(x, h))
        p.setFont(self._small_font(0.85, bold=True))
        metrics = p.fontMetrics()
        backdrop = QColor(pal.color(QPalette.ColorRole.Base))
        backdrop.setAlpha(225)
        y = RULER_HEIGHT + 4
        before, after = m.marker_labels
        for text, colour, right in (
            (after, continuation, True),
            (before, velocity_colour(118, False), False),
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

    def _paint_velocity_lane(self, p, pal, bars) -> None:
        """One stem per note at its onset, as tall as the note is loud, in the note's colour."""
        m = self.m
        lane_top, w, h = m.lane_top, m.width, m.height
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, lane_top, w - KEYBOARD_WIDTH, h - lane_top)
        base = pal.color(QPalette.ColorRole.Base)
        ground = base.lighter(118) if base.lightnessF() < 0.5 else base.darker(104)
        p.fillRect(QRectF(KEYBOARD_WIDTH, lane_top, w, h - lane_top), ground)
        self._paint_grid(p, pal, bars, lane_top, h)
        region = m.shown_loop()
        if region is not None:
            self._paint_loop_tint(p, pal, region, lane_top, h)
        half = QColor(pal.color(QPalette.ColorRole.Mid))
        half.setAlpha(110)
        p.setPen(QPen(half, 1, Qt.PenStyle.DotLine))
        y_half = round(m.velocity_y(64)) + 0.5
        p.drawLine(QPointF(KEYBOARD_WIDTH, y_half), QPointF(w, y_half))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(KEYBOARD_WIDTH, lane_top + 0.5), QPointF(w, lane_top + 0.5))
        if m.note_count:
            self._paint_stems(p)
        p.restore()

    def _paint_stems(self, p: QPainter) -> None:
        m = self.m
        idx, xs, tops = m.stem_geometry()
        bottom = m.height - 3
        for sel, velocity, generated in m.colour_groups(idx):
            colour = velocity_colour(velocity, generated)
            stem = colour.darker(125)
            p.setPen(QPen(stem, 2 if m.beat_px >= 6 else 1))
            stem_xs, stem_tops = xs[sel].tolist(), tops[sel].tolist()
            pairs = list(zip(stem_xs, stem_tops, strict=True))
            p.drawLines([pt for x, t in pairs for pt in (QPointF(x, bottom), QPointF(x, t))])
            if m.beat_px >= 12:  # a cap on each stem
                p.setBrush(colour)
                p.setPen(QPen(stem, 1))
                p.drawRects([QRectF(x - 2.5, t - 2.5, 5, 5) for x, t in pairs])

    def _paint_lane_label(self, p, pal) -> None:
        lane_top, h = self.m.lane_top, self.m.height
        p.fillRect(
            QRectF(0, lane_top, KEYBOARD_WIDTH, h - lane_top), pal.color(QPalette.ColorRole.Button)
        )
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(0, lane_top + 0.5), QPointF(KEYBOARD_WIDTH, lane_top + 0.5))
        p.drawLine(QPointF(KEYBOARD_WIDTH - 1, lane_top), QPointF(KEYBOARD_WIDTH - 1, h))
        font = QFont(self.font)
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6.0))
        p.setFont(font)
        p.setPen(QPen(pal.color(QPalette.ColorRole.ButtonText), 1))
        p.drawText(
            QRectF(2, lane_top, KEYBOARD_WIDTH - 6, h - lane_top),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            "velocity",
        )

    def _paint_ruler(self, p, pal, bars) -> None:
        m = self.m
        w = m.width
        button = pal.color(QPalette.ColorRole.Button)
        p.fillRect(0, 0, w, RULER_HEIGHT, button)
        strip = button.darker(112) if button.lightnessF() >= 0.5 else button.lighter(130)
        p.fillRect(QRectF(KEYBOARD_WIDTH, 0, w, LOOP_STRIP_HEIGHT), strip)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(0, RULER_HEIGHT - 1, w, RULER_HEIGHT - 1)
        p.save()
        p.setClipRect(KEYBOARD_WIDTH, 0, w - KEYBOARD_WIDTH, RULER_HEIGHT)
        self._paint_ruler_loop(p, pal)
        self._paint_ruler_bars(p, pal, bars)
        if m.primer_beats is not None:
            x = m.x_of(m.primer_beats)
            p.setPen(QPen(velocity_colour(118, True).darker(115), 2))
            p.drawLine(QPointF(x, LOOP_STRIP_HEIGHT), QPointF(x, RULER_HEIGHT))
        if m.playhead is not None:
            x = m.x_of(m.playhead)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, RULER_HEIGHT))
        p.restore()

    def _paint_ruler_loop(self, p, pal) -> None:
        """The loop region on the loop strip, brighter once let go, and a wash under it."""
        region = self.m.shown_loop()
        if region is None:
            return
        x0, x1 = self.m.x_of(region[0]), self.m.x_of(region[1])
        fill = QColor(pal.color(QPalette.ColorRole.Highlight))
        fill.setAlpha(150 if self.m.pending_loop is not None else 230)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(QRectF(x0, 1, x1 - x0, LOOP_STRIP_HEIGHT - 2), 3, 3)
        under = QColor(fill)
        under.setAlpha(45)
        p.fillRect(QRectF(x0, LOOP_STRIP_HEIGHT, x1 - x0, BAR_STRIP_HEIGHT), under)

    def _paint_ruler_bars(self, p, pal, bars) -> None:
        """Bar ticks with their numbers (every bar when they fit), then beat ticks."""
        m = self.m
        left_beat, right_beat = m.visible_beats()
        p.setFont(self._small_font(0.85))
        top = LOOP_STRIP_HEIGHT
        p.setPen(QPen(pal.color(QPalette.ColorRole.ButtonText), 1))
        every = m.bar_label_stride(bars)
        for beat, bar in bars:
            if not left_beat - 8 <= beat <= right_beat + 1:
                continue
            x = m.x_of(beat)
            p.drawLine(QPointF(x, top + BAR_STRIP_HEIGHT * 0.45), QPointF(x, RULER_HEIGHT))
            if (bar - 1) % every == 0:
                p.drawText(QPointF(x + 3, top + BAR_STRIP_HEIGHT * 0.62), str(bar))
        if m.beat_px >= 10:
            p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
            for beat in range(max(0, int(left_beat)), int(right_beat) + 2):
                x = m.x_of(beat)
                p.drawLine(QPointF(x, top + BAR_STRIP_HEIGHT * 0.75), QPointF(x, RULER_HEIGHT))

    def _paint_keyboard(self, p, pal) -> None:
        # A piano keyboard is white and black whatever the theme; its labels are drawn in the
        # contrasting colour explicitly so they stay readable in light and dark themes.
        m = self.m
        bottom = m.lane_top
        p.fillRect(0, 0, KEYBOARD_WIDTH, RULER_HEIGHT, pal.color(QPalette.ColorRole.Button))
        p.save()
        p.setClipRect(0, RULER_HEIGHT, KEYBOARD_WIDTH, max(bottom - RULER_HEIGHT, 0))
        font = QFont(self.font)
        font.setPointSizeF(max(min(m.row_px * 0.62, font.pointSizeF() * 0.85), 5.0))
        p.setFont(font)
        white, black = QColor(250, 250, 248), QColor(30, 30, 34)
        first_row, last_row = m.visible_rows()
        for row in range(first_row, last_row + 1):
            pitch = m.high - row
            if pitch < m.low:
                break
            y = m.y_of_row(row)
            rect = QRectF(0, y, KEYBOARD_WIDTH - 1, m.row_px)
            black_key = is_black_key(pitch)
            p.fillRect(rect, black if black_key else white)
            if not black_key:
                p.setPen(QPen(QColor(160, 160, 160), 1))
                p.drawLine(QPointF(0, y + m.row_px), QPointF(KEYBOARD_WIDTH, y + m.row_px))
            if pitch % 12 == 0 or (m.row_px >= 13 and not black_key):
                p.setPen(QPen(white if black_key else black, 1))
                align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                p.drawText(rect.adjusted(2, 0, -4, 0), int(align), pitch_name(pitch))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(KEYBOARD_WIDTH - 1, RULER_HEIGHT), QPointF(KEYBOARD_WIDTH - 1, bottom))
        p.restore()
