"""Editing notes without Qt: each edit applies and inverts exactly, the grid snaps, and presses,
drags and keys on the roll's model end in the edits a musician expects."""

from __future__ import annotations

import random

import pytest

from rbm_studio.music.song import Note, Song, TimeSignature
from rbm_studio.studio import roll_edit as ed
from rbm_studio.studio.roll import RollModel
from rbm_studio.studio.roll_tool import RollEditor


def song(n: int = 12) -> Song:
    notes = [Note(60 + i % 7, i * 0.5, i * 0.5 + 0.4, 40 + 5 * i) for i in range(n)]
    return Song(notes, time_signatures=[TimeSignature(0.0, 4, 4)], title="t")


def every_edit(notes: list[Note], grid: ed.Grid) -> list[ed.NoteEdit]:
    sel = [1, 4, 5, 9]
    return [
        ed.draw(notes, 72, 1.0, 2.0, 90),
        ed.delete(notes, sel),
        ed.move(notes, sel, 0.75, -2),
        ed.transpose(notes, sel, 12),
        ed.resize(notes, sel, 0.5),
        ed.resize(notes, sel, -5.0, 0.25),
        ed.set_velocity(notes, sel, 127),
        ed.duplicate(notes, sel, grid),
        ed.quantize(notes, sel, grid),
        ed.replace_notes(notes, sel, [Note(40, 0.0, 4.0), Note(41, 4.0, 8.0)], "Regenerate"),
    ]


def test_every_edit_applies_and_inverts_exactly():
    notes = song().notes
    for snap in ed.SNAPS:
        for edit in every_edit(notes, ed.Grid(snap, song())):
            after = edit.apply(notes)
            assert after != notes, edit.text
            assert edit.inverse().apply(after) == notes, edit.text


def random_edit(rng: random.Random, notes: list[Note], grid: ed.Grid) -> ed.NoteEdit:
    sel = rng.sample(range(len(notes)), k=min(len(notes), rng.randint(1, 5)))
    which = rng.randrange(5)
    if which == 0:
        return ed.draw(notes, rng.randint(30, 90), rng.random() * 8, 9.0)
    if which == 1:
        return ed.delete(notes, sel)
    if which == 2:
        return ed.move(notes, sel, rng.choice([-1.0, 0.5, 2.0]), rng.randint(-3, 3))
    if which == 3:
        return ed.duplicate(notes, sel, grid)
    return ed.quantize(notes, sel, grid)


def test_random_edit_sequences_undo_back_to_the_start():
    rng = random.Random(3)
    start = song(30).notes
    notes, history = list(start), []
    grid = ed.Grid("1/8", song())
    for _ in range(60):
        edit = random_edit(rng, notes, grid)
        history.append((list(notes), edit))
        notes = edit.apply(notes)
    for before, edit in reversed(history):
        notes = edit.inverse().apply(notes)
        assert notes == before
    assert notes == start


def test_edits_keep_notes_in_range_and_refuse_a_wrong_list():
    notes = [Note(2, 0.25, 1.0), Note(125, 1.0, 2.0)]
    moved = ed.move(notes, [0, 1], -4.0, 10).apply(notes)
    # As far as the group can go: the top note to 127, the first note to the start.
    assert [(n.pitch, n.start) for n in moved] == [(4, 0.0), (127, 0.75)]
    down = ed.move(notes, [0, 1], -4.0, -5).apply(notes)
    assert [n.pitch for n in down] == [0, 123] and down[0].start == 0.0
    short = ed.resize(notes, [0], -10, 0.25).apply(notes)
    assert short[0].end == pytest.approx(0.5)
    with pytest.raises(ed.EditMismatch):
        ed.delete(notes, [1]).apply([notes[0], Note(1, 0, 1)])
    with pytest.raises(ed.EditMismatch, match="made for 3 notes"):
        ed.draw(notes, 60, 0, 1).inverse().apply(notes)  # an undo of a draw that never was


def test_grid_snaps_to_steps_and_bars():
    three = Song([Note(60, 0, 1)], time_signatures=[TimeSignature(0.0, 3, 4)])
    assert ed.Grid("1/16").nearest(1.13) == 1.25
    assert ed.Grid("1/8").floor(1.9) == 1.5
    assert ed.Grid("beat").nearest(2.49) == 2.0
    assert ed.Grid("bar", three).nearest(4.4) == 3.0 and ed.Grid("bar", three).nearest(4.6) == 6.0
    assert ed.Grid("off").nearest(1.13) == 1.13 and ed.Grid("off").step() is None
    q = ed.quantize([Note(60, 1.1, 1.2)], [0], ed.Grid("beat")).apply([Note(60, 1.1, 1.2)])
    assert q == [Note(60, 1.0, 2.0)]
    dup = ed.duplicate([Note(60, 0.0, 1.5)], [0], ed.Grid("beat")).apply([Note(60, 0.0, 1.5)])
    assert dup[1] == Note(60, 2.0, 3.5)
    with pytest.raises(ValueError, match="snap"):
        ed.Grid("1/3")


def editor() -> RollEditor:
    m = RollModel()
    m.set_viewport(852, 500)
    m.set_song(song())
    m.set_zoom(beat_px=80.0, row_px=12.0)
    m.scroll_to(x=0)
    m.center_on_pitch(63)
    return RollEditor(m)


def point(e: RollEditor, beat: float, pitch: int) -> tuple[float, float]:
    m = e.model
    return m.x_of(beat), m.y_of_row(m.high - pitch) + m.row_px / 2


def test_press_drag_release_draws_moves_and_resizes():
    e = editor()
    notes = e.notes
    x, y = point(e, 6.6, 50)
    assert e.press(x, y)
    e.drag(*point(e, 7.9, 50))
    edit = e.release(*point(e, 7.9, 50))
    assert edit.apply(notes)[-1] == Note(50, 6.5, 8.0, e.velocity)
    # Drag note 2 (pitch 62 at beat 1) by 1.5 beats and up 3 semitones.
    e.set_selection([])
    x, y = point(e, 1.1, 62)
    assert e.press(x, y) and e.selection() == [2]
    e.drag(*point(e, 2.6, 65))
    assert e.model.notes.starts[2] == pytest.approx(2.5)  # the preview
    edit = e.release(*point(e, 2.6, 65))
    assert edit.apply(notes)[2] == Note(65, 2.5, 2.9, notes[2].velocity)
    assert e.model.notes.starts[2] == 1.0  # the song is the command's to change
    # Its right end resizes it.
    x, y = point(e, 1.4 - 2 / 80, 62)
    e.press(x, y)
    edit = e.release(*point(e, 2.0, 62))
    assert edit.apply(notes)[2].end == pytest.approx(2.0)


def test_band_velocity_and_keys():
    e = editor()
    notes = e.notes
    x0, y0 = point(e, 0.9, 70)
    assert e.press(x0, y0, add=True)  # Shift: a fresh band
    e.drag(*point(e, 2.2, 55))
    assert e.release(*point(e, 2.2, 55)) is None
    assert e.selection() == [2, 3, 4]
    assert e.selected_region() == (1, 1, 55, 70)
    lane_y = e.model.velocity_y(110)
    assert e.press(e.model.x_of(1.5), lane_y)
    edit = e.release(e.model.x_of(1.5), lane_y)
    assert [n.velocity for n in edit.apply(notes)[2:5]] == [110, 110, 110]
    assert e.command("octave_up").apply(notes)[3].pitch == notes[3].pitch + 12
    assert len(e.command("duplicate").apply(notes)) == len(notes) + 3
    assert len(e.command("delete").apply(notes)) == len(notes) - 3
    e.command("select_all")
    assert e.selected_region() == (1, 2, 60, 66)
    e.command("deselect")
    assert e.command("up") is None and e.selected_region() is None
