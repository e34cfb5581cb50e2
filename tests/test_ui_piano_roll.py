"""Piano roll: note names, bar lines, zoom/fit, playhead, key clicks, drawing a long song."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPalette, QWheelEvent

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.ui.piano_roll import (
    KEYBOARD_WIDTH,
    RULER_HEIGHT,
    PianoRoll,
    bar_lines,
    note_name,
    velocity_colour,
)


def long_song(minutes: float = 5.0, bpm: float = 120.0) -> Song:
    """A dense song: 4 notes per beat for `minutes` (about 2400 notes at 120 BPM)."""
    beats = int(minutes * bpm)
    rng = np.random.default_rng(0)
    notes = [
        Note(int(p), b + i * 0.25, b + i * 0.25 + 0.5, int(v))
        for b in range(beats)
        for i, (p, v) in enumerate(
            zip(rng.integers(40, 90, 4), rng.integers(20, 127, 4), strict=True)
        )
    ]
    return Song(notes, [TempoChange(0, bpm)], [TimeSignature(0, 4, 4)], title="long")


def test_note_names_follow_c4_is_60():
    assert note_name(60) == "C4"
    assert note_name(21) == "A0"
    assert note_name(61) == "C#4"
    assert note_name(108) == "C8"


def test_bar_lines_follow_time_signature_changes():
    song = Song(
        [Note(60, 0, 12)],
        time_signatures=[TimeSignature(0, 3, 4), TimeSignature(6, 6, 8)],
    )
    assert bar_lines(song, 12) == [(0, 1), (3, 2), (6, 3), (9, 4)]


def test_generated_and_original_notes_differ_in_hue():
    original, generated = velocity_colour(100, False), velocity_colour(100, True)
    assert abs(original.hsvHueF() - generated.hsvHueF()) > 0.2
    soft, loud = velocity_colour(20, False), velocity_colour(127, False)
    assert loud.hsvSaturationF() > soft.hsvSaturationF()


def test_key_click_emits_pitch(qtbot):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(600, 400)
    roll.show()
    roll.set_song(Song([Note(60, 0, 1)]))
    view = roll.view
    view.center_on_pitch(60)
    y = RULER_HEIGHT + (view.high - 60 + 0.5) * view.row_px - view.verticalScrollBar().value()
    with qtbot.waitSignal(roll.keyClicked, timeout=1000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(10, int(y)))
    assert blocker.args == [60]
    # Clicking in the note area is not a key click.
    with qtbot.assertNotEmitted(roll.keyClicked):
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(KEYBOARD_WIDTH + 50, int(y))
        )


def test_zoom_fit_and_wheel(qtbot):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(800, 500)
    roll.show()
    song = Song([Note(48, 0, 4), Note(72, 60, 64)], title="wide")
    roll.set_song(song)
    view = roll.view
    roll.fit_song()
    left, right = view.visible_beats()
    assert left <= 0 and right >= 64  # the whole song is in view
    before = view.beat_px
    roll.actions["zoom_in_time"].trigger()
    assert view.beat_px > before
    rows = view.row_px
    event = QWheelEvent(
        QPointF(300, 200),
        QPointF(300, 200),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ShiftModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    view.wheelEvent(event)
    assert view.row_px > rows


def test_playhead_scrolls_into_view(qtbot):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(600, 400)
    roll.show()
    roll.set_song(long_song(1.0))
    roll.set_playhead(100.0)
    left, right = roll.view.visible_beats()
    assert left <= 100.0 <= right
    roll.set_playhead(None)
    assert roll.view.playhead is None


def test_five_minute_song_renders(qtbot, artifacts_dir):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(1000, 500)
    roll.show()
    song = long_song(5.0)
    roll.set_song(song, generated=True)
    assert roll.view.note_count == len(song.notes) == 2400
    roll.fit_song()
    image = roll.grab().toImage()
    # Notes are drawn: some pixels in the note area have the generated (orange) hue.
    hues = {
        round(QColor(image.pixel(x, y)).hsvHueF(), 1)
        for x in range(KEYBOARD_WIDTH + 40, image.width() - 40, 7)
        for y in range(RULER_HEIGHT + 40, image.height() - 40, 5)
        if QColor(image.pixel(x, y)).hsvSaturationF() > 0.3
    }
    assert any(0.0 <= h <= 0.15 for h in hues)
    roll.grab().save(str(artifacts_dir / "piano_roll_5min.png"))


def test_dark_palette_is_used(qtbot):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    pal = roll.palette()
    pal.setColor(QPalette.ColorRole.Base, QColor(20, 20, 24))
    pal.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))
    roll.view.setPalette(pal)
    roll.resize(500, 300)
    roll.show()
    roll.set_song(Song([Note(60, 0, 1)]))
    image = roll.view.viewport().grab().toImage()
    background = QColor(image.pixel(image.width() - 5, image.height() - 5))
    assert background.lightnessF() < 0.3  # the roll follows the theme, not hard-coded white
