"""Editing notes in the piano roll of the real main window, with real mouse and keyboard events:
draw, move, resize, velocity drag, transpose, duplicate, delete and quantize, each on the window's
undo stack, then undone and redone all the way (the note list compared exactly at every step).
The first edit of an imported song makes "NAME (edited)" in the song list; the original stays, and
the edited copy is what the roll shows, the transport plays and Export writes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from ui_songs import make_song_folder

from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.midi import read_midi
from rbm_studio.music.song import Note, Song
from rbm_studio.studio.library import GeneratedSong
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def at(view, beat: float, pitch: int) -> QPoint:
    m = view.model
    point = QPoint(round(m.x_of(beat)), round(m.y_of_row(m.high - pitch) + m.row_px / 2))
    assert m.area_at(point.x(), point.y()) == "notes", (beat, pitch)
    return point


def drag(qtbot, view, start: QPoint, end: QPoint, mods=NO) -> None:
    """Press, move in two steps and let go, as a hand does."""
    port = view.viewport()
    qtbot.mousePress(port, LEFT, mods, start)
    middle = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    QTest.mouseMove(port, middle)
    QTest.mouseMove(port, end)
    qtbot.mouseRelease(port, LEFT, mods, end)


def window_with_song(qtbot, tmp_path: Path):
    folder = make_song_folder(tmp_path / "songs", count=2, bars=4)
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.import_paths([folder])
    qtbot.waitUntil(lambda: window.piano_roll.song is not None, timeout=60_000)
    view = window.piano_roll.view
    view.set_zoom(beat_px=56.0, row_px=14.0)
    view.horizontalScrollBar().setValue(0)
    view.center_on_pitch(45)
    window.activateWindow()
    view.setFocus()
    return window, view


def key(qtbot, view, k, mods=NO) -> None:
    qtbot.keyClick(view, k, mods)


def test_edit_every_way_then_undo_and_redo_all_the_way(qtbot, tmp_path, artifacts_dir):
    window, view = window_with_song(qtbot, tmp_path)
    roll, panel = window.piano_roll, window.generation
    original = roll.song
    start = list(original.notes)
    steps = [start]

    def record() -> None:
        steps.append(list(roll.song.notes))

    # Draw: drag on empty space (nothing at pitch 50) from beat 1.1 to 2.9, snapped to 1/16.
    drag(qtbot, view, at(view, 1.1, 50), at(view, 2.9, 50))
    record()
    assert roll.song is not original and original.notes == start  # the original stays
    copy = panel.list.songs()[-1]
    assert copy.name.endswith("(edited)") and copy.song is roll.song
    assert steps[-1] == [*start, Note(50, 1.0, 3.0, 80)]
    assert roll.selected_notes() == [Note(50, 1.0, 3.0, 80)]
    # Move it a beat later and up two semitones; resize it by its right end to beat 5.
    drag(qtbot, view, at(view, 2.0, 50), at(view, 3.0, 52))
    record()
    assert steps[-1][-1] == Note(52, 2.0, 4.0, 80)
    drag(qtbot, view, at(view, 4.0, 52) - QPoint(2, 0), at(view, 5.0, 52))
    record()
    assert steps[-1][-1] == Note(52, 2.0, 5.0, 80)
    # Velocity: drag its stem in the velocity lane up to 120.
    lane_x = round(view.model.x_of(2.0))
    top = QPoint(lane_x, round(view.model.velocity_y(120)))
    drag(qtbot, view, QPoint(lane_x, round(view.model.velocity_y(60))), top)
    record()
    assert steps[-1][-1] == Note(52, 2.0, 5.0, view.model.velocity_at(top.y()))
    assert abs(steps[-1][-1].velocity - 120) <= 3
    # Keys: a semitone down, an octave down, duplicate (the copy selected), delete the copy.
    key(qtbot, view, Qt.Key.Key_Down)
    record()
    key(qtbot, view, Qt.Key.Key_Down, SHIFT)
    record()
    assert steps[-1][-1].pitch == 39
    key(qtbot, view, Qt.Key.Key_D, CTRL)
    record()
    assert steps[-1][-1] == Note(39, 5.0, 8.0, steps[-2][-1].velocity)
    assert not panel.list.songs()[-1].starred  # Ctrl+D in the roll duplicates, stars nothing
    key(qtbot, view, Qt.Key.Key_Delete)
    record()
    assert steps[-1] == steps[-3]
    # Quantize: snap off, nudge the note off the grid, then Q with snap 1/8 puts it back.
    roll.set_snap("off")
    roll.select_notes([len(steps[-1]) - 1])
    drag(qtbot, view, at(view, 3.0, 39), at(view, 3.3, 39))
    record()
    assert steps[-1][-1].start != 2.0
    roll.snap_box.setCurrentIndex(roll.snap_box.findData("1/8"))
    key(qtbot, view, Qt.Key.Key_Q)
    record()
    assert steps[-1][-1].start % 0.5 == 0 and steps[-1][-1].end % 0.5 == 0
    view.viewport().repaint()
    window.grab().save(str(artifacts_dir / "roll_editing_window.png"))
    # Rubber band over bars 1-2 around the drawn note: the region F's Regenerate asks for.
    port = view.viewport()
    qtbot.mousePress(port, LEFT, SHIFT, at(view, 0.2, 37))
    QTest.mouseMove(port, at(view, 7.5, 40))
    view.grab().save(str(artifacts_dir / "roll_editing_band.png"))  # the band as it is dragged
    qtbot.mouseRelease(port, LEFT, SHIFT, at(view, 7.5, 40))
    assert roll.selected_region() == (1, 2, 37, 40)

    # What is shown is what plays (once the edits pause) and what exports.
    def played() -> list[tuple[int, float]]:
        schedule = window.transport.player._schedule
        ons = [e for e in schedule.events if e.is_note_on] if schedule is not None else []
        return sorted((e.message[1], round(e.beat, 6)) for e in ons)

    shown = sorted((n.pitch, round(n.start, 6)) for n in roll.song.notes)
    qtbot.waitUntil(lambda: played() == shown)
    assert window.transport.player.song is roll.song is copy.song
    written = panel.export_to(tmp_path / "out", [copy])
    qtbot.waitUntil(lambda: not written.is_running(), timeout=10_000)
    exported = read_midi(next((tmp_path / "out").glob("*.mid")))
    key_of = lambda n: (n.pitch, round(n.start, 3), round(n.end, 3), n.velocity)  # noqa: E731
    assert sorted(map(key_of, exported.notes)) == sorted(map(key_of, roll.song.notes))

    # Undo every edit with Ctrl+Z, then redo them with Ctrl+Shift+Z: exact lists each step.
    for expected in reversed(steps[:-1]):
        key(qtbot, view, Qt.Key.Key_Z, CTRL)
        assert roll.song.notes == expected
    assert roll.song is original and all(
        not s.name.endswith("(edited)") for s in panel.list.songs()
    )
    for expected in steps[1:]:
        key(qtbot, view, Qt.Key.Key_Z, CTRL | SHIFT)
        assert roll.song.notes == expected
    assert roll.song is copy.song and original.notes == start
    assert QApplication.activeModalWidget() is None

    # The library keeps the edited copy as edited (written once the edits pause).
    window.roll_editing.flush()
    qtbot.waitUntil(lambda: not panel.library_job.is_running(), timeout=10_000)
    kept = {s.name: s for s in panel.library.load().songs}
    assert sorted(map(key_of, kept[copy.name].song.notes)) == sorted(map(key_of, copy.song.notes))


def test_editing_a_generated_song_copies_it_next_to_it(qtbot, tmp_path):
    window, view = window_with_song(qtbot, tmp_path)
    roll, panel = window.piano_roll, window.generation
    made = Song([Note(45, 0.0, 1.0, 90), Note(48, 1.0, 2.0, 90)], title="song 1")
    generated = GeneratedSong(name="song 1", song=made, matrix=encode(made, Encoding()), seed=7)
    panel.list.addItem(panel.make_item(generated))
    panel.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: roll.song is made)
    view.setFocus()
    key(qtbot, view, Qt.Key.Key_D, CTRL)  # nothing selected in the roll: Ctrl+D stars the song
    assert generated.starred and len(panel.list.songs()) == 1
    key(qtbot, view, Qt.Key.Key_A, CTRL)
    key(qtbot, view, Qt.Key.Key_Up)
    names = [s.name for s in panel.list.songs()]
    assert names == ["song 1", "song 1 (edited)"] and panel.list.currentRow() == 1
    edited = panel.list.songs()[1]
    assert roll.song is edited.song and edited.seed == 7
    assert [n.pitch for n in edited.song.notes] == [46, 49]
    assert [n.pitch for n in made.notes] == [45, 48]  # the original stays
    key(qtbot, view, Qt.Key.Key_Up)  # the copy is edited in place now
    assert [s.name for s in panel.list.songs()] == names
    key(qtbot, view, Qt.Key.Key_Z, CTRL)
    key(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert [s.name for s in panel.list.songs()] == ["song 1"] and roll.song is made
    assert window.shown_generated is generated


def test_selection_signals_region_and_own_undo_stack(qtbot):
    """The roll alone: clicks, Ctrl+click, Ctrl+A and Esc select (and say so); a rubber band's bars
    and pitches are the selected region; without a window its edits go on its own undo stack."""
    from rbm_studio.music.song import TimeSignature
    from rbm_studio.ui.piano_roll import PianoRoll

    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 500)
    roll.show()
    qtbot.waitExposed(roll)
    notes = [Note(60 + i, float(i), i + 0.5, 70) for i in range(8)]
    roll.set_song(Song(list(notes), time_signatures=[TimeSignature(0.0, 4, 4)]))
    view = roll.view
    view.set_zoom(beat_px=60.0, row_px=14.0)
    view.horizontalScrollBar().setValue(0)
    view.center_on_pitch(64)
    view.setFocus()
    port = view.viewport()
    with qtbot.waitSignal(roll.selectionChanged):
        qtbot.mouseClick(port, LEFT, NO, at(view, 2.2, 62))
    assert roll.selected_indices() == [2] and roll.selected_region() == (1, 1, 62, 62)
    qtbot.mouseClick(port, LEFT, CTRL, at(view, 5.2, 65))
    assert roll.selected_notes() == [notes[2], notes[5]]
    assert roll.selected_region() == (1, 2, 62, 65)
    with qtbot.waitSignal(roll.selectionChanged):
        key(qtbot, view, Qt.Key.Key_Escape)
    assert roll.selected_region() is None
    key(qtbot, view, Qt.Key.Key_A, CTRL)
    assert roll.selected_indices() == list(range(8))
    key(qtbot, view, Qt.Key.Key_Delete)
    assert roll.song.notes == [] and roll.undo_stack.count() == 1
    roll.undo_stack.undo()
    assert roll.song.notes == notes and roll.selected_indices() == list(range(8))
    # A band over bars 2-3 and pitches 63-66 with nothing but empty space at its ends.
    drag(qtbot, view, at(view, 4.6, 63), at(view, 9.9, 66), SHIFT)
    assert roll.selected_indices() == [5, 6] and roll.selected_region() == (2, 3, 63, 66)
    # Notes changed behind the stack's back: the step that no longer fits is dropped, not done.
    roll.undo_stack.redo()
    assert roll.song.notes == []
    roll.song.notes = [Note(30, 0.0, 1.0)]
    roll.undo_stack.undo()
    assert roll.song.notes == [Note(30, 0.0, 1.0)] and roll.undo_stack.count() == 0


def test_the_undo_history_stays_out_of_the_collectors_walks(qtbot, tmp_path):
    """Each edit's notes live on in the undo stack; the window freezes them as they come
    (`heap.keep_alive_now`), so however many edits a long song takes, the objects a full
    collection walks do not grow with them (before, each transpose of 1,200 notes left thousands
    more, and a burst of them stalled the roll for a full collection every dozen edits)."""
    import gc

    window, view = window_with_song(qtbot, tmp_path)
    notes = [Note(40 + i % 24, i * 0.25, i * 0.25 + 0.5, 90) for i in range(1200)]
    window.show_song(Song(notes, title="long"), "a long song")
    qtbot.waitUntil(lambda: window.piano_roll.view.model.note_count == 1200)
    view.setFocus()
    key(qtbot, view, Qt.Key.Key_A, CTRL)

    def walked_after(presses: int) -> int:
        for i in range(presses):
            key(qtbot, view, Qt.Key.Key_Up if i % 2 else Qt.Key.Key_Down)
        return len(gc.get_objects())

    walked_after(2)
    before = len(gc.get_objects())
    after = walked_after(8)
    assert window.generation.undo_stack.count() >= 9
    assert after - before < 1200, (before, after)
