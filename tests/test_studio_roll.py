"""The piano roll's model without Qt: beats and pitches ↔ pixels, zoom and scroll, what is in
view, hit testing, the velocity lane's stems, primer colours and ruler drags."""

from __future__ import annotations

import numpy as np
import pytest

from rbm_studio.music.song import Note, Song, TimeSignature
from rbm_studio.studio.roll import (
    KEYBOARD_WIDTH,
    LOOP_STRIP_HEIGHT,
    MAX_BEAT_PX,
    MIN_ROW_PX,
    RULER_HEIGHT,
    VELOCITY_LANE_HEIGHT,
    RollModel,
)


def scale(bars: int = 8) -> Song:
    """One note a beat climbing from C4, velocities rising with it."""
    notes = [Note(60 + i % 12, float(i), i + 0.5, 10 + 3 * i) for i in range(bars * 4)]
    return Song(notes, time_signatures=[TimeSignature(0.0, 4, 4)], title="scale")


def model(song: Song | None = None, size=(852, 500), **kwargs) -> RollModel:
    m = RollModel()
    m.set_viewport(*size)
    m.set_song(song if song is not None else scale(), **kwargs)
    return m


def test_beats_and_pitches_map_to_pixels_and_back():
    m = model()
    m.scroll_to(x=48)
    m.center_on_pitch(60)
    assert m.x_of(2.0) == KEYBOARD_WIDTH + 2 * 24.0 - 48
    assert m.beat_at(m.x_of(7.25)) == pytest.approx(7.25)
    y = m.y_of_row(m.high - 60) + m.row_px / 2
    assert m.pitch_at(y) == 60
    assert m.pitch_at(RULER_HEIGHT - 1) is None  # on the ruler
    assert m.pitch_at(m.lane_top + 1) is None  # on the velocity lane
    assert m.area_width == 800 and m.area_height == 500 - RULER_HEIGHT - VELOCITY_LANE_HEIGHT


def test_scrolling_stays_inside_the_content():
    m = model()
    m.scroll_to(-50, -50)
    assert (m.scroll_x, m.scroll_y) == (0, 0)
    m.scroll_to(10**6, 10**6)
    assert (m.scroll_x, m.scroll_y) == m.max_scroll
    assert m.max_scroll[0] == int(m.content_width - m.area_width)
    m.set_viewport(4000, 4000)  # a bigger window: nothing left to scroll
    assert (m.scroll_x, m.scroll_y) == (0, 0) == m.max_scroll


def test_set_song_scrolls_to_the_start_and_the_pitches_and_drops_the_loop():
    m = model()
    m.scroll_to(x=300)
    m.set_loop_region(4.0, 8.0)
    m.set_song(scale(2))
    assert m.scroll_x == 0 and m.loop_region is None
    middle = m.pitch_at(RULER_HEIGHT + m.area_height / 2)
    assert 60 <= middle <= 71
    m.set_song(None)
    assert m.note_count == 0 and (m.low, m.high) == (21, 108) and m.end_beat == 4.0


def test_zoom_keeps_the_centre_and_is_bounded():
    m = model(scale(32))
    m.scroll_to(x=1000)
    left, right = m.visible_beats()
    m.set_zoom(beat_px=48.0)
    new_left, new_right = m.visible_beats()
    assert (new_left + new_right) / 2 == pytest.approx((left + right) / 2, abs=0.05)
    assert new_right - new_left == pytest.approx((right - left) / 2)
    m.set_zoom(beat_px=10**6, row_px=0.01)
    assert m.beat_px == MAX_BEAT_PX and m.row_px == MIN_ROW_PX


def test_fit_shows_the_whole_song():
    m = model(Song([Note(48, 0, 4), Note(72, 60, 64)]))
    m.fit()
    left, right = m.visible_beats()
    assert left <= 0 and right >= 64
    first, last = m.visible_rows()
    assert m.high - first >= 72 and m.high - last <= 48


def test_follow_scrolls_only_when_the_playhead_leaves_the_view():
    m = model(scale(32))
    m.follow(5.0)
    assert m.scroll_x == 0  # in view: no scroll
    m.follow(100.0)
    left, right = m.visible_beats()
    assert left < 100.0 < right and 100.0 - left == pytest.approx((right - left) * 0.1, abs=0.05)
    assert m.follow_resumes(100.0) and not m.follow_resumes(right - 1)


def test_only_the_notes_in_view_get_rectangles():
    m = model(scale(32))
    m.scroll_to(x=m.x_of(0) + 40 * m.beat_px - KEYBOARD_WIDTH)  # beat 40 at the left edge
    rects = m.note_rects()
    left, right = m.visible_beats()
    starts = m.notes.starts[rects.index]
    assert len(rects.index) and np.all(starts < right) and np.all(m.notes.ends[rects.index] > left)
    i = int(rects.index[0])
    assert rects.x[0] == pytest.approx(m.x_of(m.notes.starts[i]))
    assert rects.width[0] == pytest.approx(0.5 * m.beat_px - 1.0)
    assert rects.height == m.row_px - 1.0


def test_hit_testing_names_the_area_and_the_note():
    m = model()
    assert m.area_at(KEYBOARD_WIDTH + 5, 2) == "loop_strip"
    assert m.area_at(KEYBOARD_WIDTH + 5, LOOP_STRIP_HEIGHT + 2) == "bar_strip"
    assert m.area_at(5, 2) == "corner"
    assert m.area_at(5, RULER_HEIGHT + 5) == "keyboard"
    assert m.area_at(KEYBOARD_WIDTH + 5, m.height - 2) == "velocity"
    note = m.song.notes[3]  # pitch 63, beats 3..3.5
    m.center_on_pitch(note.pitch)
    y = m.y_of_row(m.high - note.pitch) + m.row_px / 2
    assert m.note_at(m.x_of(3.25), y) == 3
    assert m.note_at(m.x_of(3.75), y) is None  # after it ends
    assert m.note_at(m.x_of(3.25), y - m.row_px) is None  # the row above
    assert m.note_at(5, y) is None  # the keyboard


def test_stems_are_as_tall_as_the_notes_are_loud():
    velocities = [20, 50, 80, 110, 127]
    m = model(Song([Note(60 + i, float(i), i + 0.5, v) for i, v in enumerate(velocities)]))
    stems = m.velocity_stems()
    assert [v for _, _, v in stems] == velocities
    tops = [t for _, t, _ in stems]
    assert tops == sorted(tops, reverse=True) and all(m.lane_top < t < m.height for t in tops)
    assert [x for x, _, _ in stems] == [round(m.x_of(i)) for i in range(5)]
    m.set_velocity_lane_visible(False)
    assert m.velocity_stems() == [] and m.lane_height == 0


def test_primer_notes_keep_the_musicians_colour():
    m = model(scale(2), generated=True, primer_beats=4.0)
    assert m.primer_note_count == 4
    assert m.note_look(0)[1] is False and m.note_look(4)[1] is True
    groups = list(m.colour_groups(np.arange(m.note_count)))
    looks = {(v, g) for _, v, g in groups}
    assert any(not g for _, g in looks) and any(g for _, g in looks)
    assert sum(len(sel) for sel, _, _ in groups) == m.note_count
    assert model(scale(2), generated=True).primer_note_count == 0


def test_a_ruler_press_seeks_and_a_drag_follows():
    m = model()
    assert m.press_ruler(m.x_of(6.0), RULER_HEIGHT - 6, shift=False) == pytest.approx(6.0)
    assert m.move_ruler(m.x_of(6.0)) is None  # not moved: nothing new to seek
    assert m.move_ruler(m.x_of(9.0)) == pytest.approx(9.0)
    assert m.release_ruler(m.x_of(9.0), RULER_HEIGHT - 6) is None
    assert m.drag is None and m.loop_region is None


def test_a_loop_strip_drag_marks_a_snapped_region_and_a_click_clears_it():
    m = model()
    assert m.press_ruler(m.x_of(4.2), 3, shift=False) is None
    m.move_ruler(m.x_of(6.0))
    assert m.pending_loop == (4.0, 6.0) and m.shown_loop() == (4.0, 6.0)
    released = m.release_ruler(m.x_of(11.8), 3)
    assert (released.action, released.start, released.end) == ("loop", 4.0, 12.0)
    assert m.loop_region == (4.0, 12.0) and m.pending_loop is None
    m.press_ruler(m.x_of(20.0), 3, shift=False)
    assert m.release_ruler(m.x_of(20.0), 3).action == "clear"
    assert m.clear_loop_region() is True and m.clear_loop_region() is False
    # Shift+drag on the bar numbers, right to left; a Shift+click there seeks.
    m.press_ruler(m.x_of(9.0), RULER_HEIGHT - 5, shift=True)
    released = m.release_ruler(m.x_of(2.9), RULER_HEIGHT - 5)
    assert (released.action, released.start, released.end) == ("loop", 3.0, 9.0)
    m.press_ruler(m.x_of(5.0), RULER_HEIGHT - 5, shift=True)
    released = m.release_ruler(m.x_of(5.0), RULER_HEIGHT - 5)
    assert released.action == "seek" and released.start == pytest.approx(5.0)


def test_loop_a_bar_follows_the_metre():
    song = Song(
        [Note(60, 0, 20)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(8.0, 3, 4)],
    )
    m = model(song)
    assert m.loop_bar_at(5.5) == (4.0, 8.0) and m.bar_number_at(4.0) == 2
    assert m.loop_bar_at(12.0) == (11.0, 14.0) and m.bar_number_at(11.0) == 4
    m.set_loop_region(8.0, 4.0)  # backwards: no region
    assert m.loop_region is None


def test_bar_labels_thin_out_when_bars_are_narrow():
    m = model(scale(64))
    bars = m.bars()
    assert bars[0] == (0.0, 1) and bars[-1][0] >= m.end_beat
    assert m.bar_label_stride(bars) == 1
    m.set_zoom(beat_px=2.0)  # 8-pixel bars
    assert m.bar_label_stride(m.bars()) == 4


def test_the_bars_a_cowriting_action_wrote_follow_the_metre_and_go_with_the_song():
    # two bars of 4/4, then 3/4: bars 2-3 are beats 4-11, bar 4 (3/4) beats 11-14
    notes = [Note(60, float(b), float(b) + 1.0, 90) for b in range(20)]
    song = Song(notes, time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(8.0, 3, 4)])
    m = RollModel()
    m.set_song(song)
    m.mark_written(2, 3)
    assert m.written == (4.0, 11.0)
    m.mark_written(4, 4)
    assert m.written == (11.0, 14.0)
    m.mark_written(6, 9)  # past the song's last bar line: to its end
    assert m.written == (17.0, 20.0)
    m.mark_written(30, 31)  # bars the song does not reach: nothing shown
    assert m.written is None
    m.mark_written(2, 3)
    m.set_song(song)  # another song shown: nothing marked
    assert m.written is None
