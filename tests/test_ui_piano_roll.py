"""Piano roll: colours, zoom/fit, playhead, key clicks, drawing a long song."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPalette, QWheelEvent

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.studio.roll import KEYBOARD_WIDTH, RULER_HEIGHT
from rbm_studio.ui.piano_roll import PianoRoll, velocity_colour


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


# -- ruler, loop region, velocity lane, primer -----------------------------------------------


def shown_roll(qtbot, song: Song, size=(900, 500), **kwargs) -> PianoRoll:
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(*size)
    roll.show()
    qtbot.waitExposed(roll)
    roll.set_song(song, **kwargs)
    return roll


def x_of(view, beat: float) -> int:
    return round(KEYBOARD_WIDTH + beat * view.beat_px - view.horizontalScrollBar().value())


def accented_chorale(name: str = "chorale_001.mid") -> Song:
    """A bundled chorale played with accents: bar starts loud, beats firm, the rest softer, the
    top voice a little over the others (the bundled files are all one velocity)."""
    from rbm_studio.music.midi import read_midi
    from rbm_studio.resources import sample_midi_dir

    song = read_midi(sample_midi_dir() / name)
    bar = song.first_time_signature.beats_per_bar
    top = {}
    for n in song.notes:
        top[n.start] = max(top.get(n.start, 0), n.pitch)
    notes = []
    for n in song.notes:
        velocity = 100 if n.start % bar == 0 else 82 if n.start % 1 == 0 else 60
        velocity += 16 if n.pitch == top[n.start] else 0
        notes.append(Note(n.pitch, n.start, n.end, min(velocity, 127)))
    return Song(notes, song.tempos, song.time_signatures, title=song.title or name)


def test_ruler_click_and_drag_seek(qtbot):
    roll = shown_roll(qtbot, long_song(0.5))
    view = roll.view
    ruler_y = RULER_HEIGHT - 6  # on the bar numbers
    with qtbot.waitSignal(roll.seekRequested, timeout=1000) as clicked:
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 6), ruler_y)
        )
    assert abs(clicked.args[0] - 6.0) < 0.1
    seen: list[float] = []
    roll.seekRequested.connect(seen.append)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 2), ruler_y))
    for beat in (3, 5, 9):
        qtbot.mouseMove(view.viewport(), QPoint(x_of(view, beat), ruler_y))
    qtbot.mouseRelease(
        view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 9), ruler_y)
    )
    assert len(seen) >= 4 and abs(seen[0] - 2) < 0.1 and abs(seen[-1] - 9) < 0.1
    assert view.loop_region is None  # seeking never marks a loop


def test_loop_strip_drag_marks_a_snapped_region_and_a_click_clears_it(qtbot):
    roll = shown_roll(qtbot, long_song(0.5))
    view = roll.view
    strip_y = 3
    with (
        qtbot.assertNotEmitted(roll.seekRequested),
        qtbot.waitSignal(roll.loopRegionChanged, timeout=1000) as marked,
    ):
        qtbot.mousePress(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 4.2), strip_y)
        )
        qtbot.mouseMove(view.viewport(), QPoint(x_of(view, 6), strip_y))
        assert view._pending_loop is not None  # drawn while dragging
        qtbot.mouseMove(view.viewport(), QPoint(x_of(view, 11.8), strip_y))
        qtbot.mouseRelease(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 11.8), strip_y)
        )
    assert marked.args == [4.0, 12.0] and roll.loop_region == (4.0, 12.0)
    # Drawn on the ruler's loop strip: the highlight colour inside the region, not outside.
    image = view.viewport().grab().toImage()
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    inside = QColor(image.pixel(x_of(view, 8), strip_y + 1))
    outside = QColor(image.pixel(x_of(view, 14), strip_y + 1))
    assert abs(inside.hsvHueF() - highlight.hsvHueF()) < 0.05 and inside.saturationF() > 0.3
    assert outside.saturationF() < 0.2
    # Shift+drag on the bar numbers loops too, dragged right to left.
    with qtbot.waitSignal(roll.loopRegionChanged, timeout=1000) as shifted:
        shift = Qt.KeyboardModifier.ShiftModifier
        qtbot.mousePress(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            shift,
            QPoint(x_of(view, 9), RULER_HEIGHT - 5),
        )
        qtbot.mouseMove(view.viewport(), QPoint(x_of(view, 2.9), RULER_HEIGHT - 5))
        qtbot.mouseRelease(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            shift,
            QPoint(x_of(view, 2.9), RULER_HEIGHT - 5),
        )
    assert shifted.args == [3.0, 9.0]
    # A click on the loop strip clears it.
    with qtbot.waitSignal(roll.loopRegionCleared, timeout=1000):
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 20), strip_y)
        )
    assert roll.loop_region is None
    # The ruler's context menu loops the bar under the pointer.
    menu = view.ruler_menu(x_of(view, 5.5))
    loop_bar, clear = menu.actions()
    assert loop_bar.text() == "Loop bar 2" and not clear.isEnabled()
    with qtbot.waitSignal(roll.loopRegionChanged, timeout=1000) as bar_two:
        loop_bar.trigger()
    assert bar_two.args == [4.0, 8.0]
    roll.set_loop_region(None)  # what the transport does when Loop is turned off
    assert roll.loop_region is None


def test_velocity_lane_draws_one_stem_per_note(qtbot):
    velocities = [20, 50, 80, 110, 127, 64]
    song = Song([Note(60 + i, i * 1.0, i * 1.0 + 0.5, v) for i, v in enumerate(velocities)])
    roll = shown_roll(qtbot, song, size=(700, 420))
    view = roll.view
    stems = view.velocity_stems()
    assert [v for _, _, v in stems] == velocities  # left to right, one per note
    assert [round(x) for x, _, _ in stems] == [x_of(view, i) for i in range(len(velocities))]
    tops = [top for _, top, _ in stems]
    assert tops[4] < tops[3] < tops[2] < tops[1] < tops[0]  # louder is taller
    lane = view.velocity_lane_rect()
    assert all(lane.top() < top < lane.bottom() for top in tops)
    image = view.viewport().grab().toImage()
    for (x, top, v), i in zip(stems, range(len(velocities)), strict=True):
        stem = QColor(image.pixel(int(x), int(top) + 6))  # just under the stem's cap
        assert abs(stem.hsvHueF() - view.note_colour(i).hsvHueF()) < 0.04, (v, stem.name())
    # Chords: one stem per note, stacked at one onset; the toolbar hides and shows the lane.
    roll.set_song(Song([Note(p, 0, 1, 90) for p in (60, 64, 67)]))
    assert len(view.velocity_stems()) == 3
    rows_before = view._area_height()
    roll.actions["velocity"].trigger()
    assert view.velocity_stems() == [] and view._area_height() > rows_before


def test_primer_notes_keep_the_original_colour_with_a_continuation_marker(qtbot, artifacts_dir):
    song = accented_chorale()
    primer = 8.0
    roll = shown_roll(qtbot, song, size=(1200, 700), generated=True, caption="chorale, continued")
    assert roll.view.primer_note_count == 0  # no primer given: all generated
    roll.set_song(song, generated=True, caption="chorale, continued", primer_beats=primer)
    view = roll.view
    first_after = next(i for i, n in enumerate(song.notes) if n.start >= primer)
    assert view.primer_note_count == first_after > 0
    assert "primer of 2 bars" in roll.caption.text()
    original, generated = (
        velocity_colour(100, False).hsvHueF(),
        velocity_colour(100, True).hsvHueF(),
    )
    assert abs(view.note_colour(0).hsvHueF() - original) < 0.02
    assert abs(view.note_colour(first_after).hsvHueF() - generated) < 0.02
    view.set_zoom(beat_px=28.0)
    view.horizontalScrollBar().setValue(0)
    view.center_on_pitch(62)
    # Pixels of a primer note and of a continuation note, in the grabbed image.
    image = view.viewport().grab().toImage()

    def hue_of(index: int) -> float:
        n = song.notes[index]
        y = (
            RULER_HEIGHT
            + (view.high - n.pitch + 0.5) * view.row_px
            - view.verticalScrollBar().value()
        )
        return QColor(image.pixel(x_of(view, (n.start + n.end) / 2), int(y))).hsvHueF()

    assert abs(hue_of(0) - original) < 0.04
    assert abs(hue_of(first_after) - generated) < 0.04
    # The marker is a line in the continuation's colour at the primer's end, in the ruler too.
    marker = QColor(image.pixel(x_of(view, primer), RULER_HEIGHT - 4))
    assert abs(marker.hsvHueF() - generated) < 0.05 and marker.saturationF() > 0.4

    # The screenshot: a loop dragged over bars 3-4, the velocity lane, the marked primer.
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 8), 3))
    qtbot.mouseMove(view.viewport(), QPoint(x_of(view, 12), 3))
    qtbot.mouseMove(view.viewport(), QPoint(x_of(view, 16), 3))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(view, 16), 3))
    assert roll.loop_region == (8.0, 16.0)
    roll.set_playhead(10.5, follow=False)
    roll.grab().save(str(artifacts_dir / "roll_loop_velocity_primer.png"))
