"""`rbm-studio bench gui --editing`: is editing notes in the piano roll immediate?

In the real main window (offscreen, transport included) it sends real key and mouse events to the
piano roll and times, for each, how long until the roll has painted the frame that shows it:
- a key press (Up/Down: a selected note a semitone up or down) to the note drawn moved;
- a mouse press on empty space to the note being drawn shown;
- letting go of that press to the drawn note shown as part of the song (an undoable edit);
- the same arrow keys with every note of the song selected;
- apart, the first edit of a song, which also makes its edited copy and shows it.
Each on a sample song and on a dense 5-minute song. Target: 50 ms at the 99th percentile. Also
how long the GUI thread is busy when the player takes the edited song (once edits pause).

Songs arriving start the window's one-off background work (`TrainingPanel.warming_up`: JAX's
warm-up, then compiling Train's program ahead), whose Python holds the interpreter lock in turns
with the GUI thread for some seconds. The sample song is timed first while that runs (reported as
`while_warming_up`, apart from the target) and then, like everything after it, once it is done.

Then the 10 ms timer of `bench gui` runs while an edit is made every 40 ms (arrows, drawing and
undoing notes): the GUI's lateness while editing. Target: p99 under 16 ms (one frame at 60 Hz).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import numpy as np

TARGET_EDIT_MS = 50.0
TARGET_P99_LATENESS_MS = 16.0
EDIT_EVERY_MS = 40
PRESSES = 100


def dense_song(minutes: float = 5.0, bpm: float = 120.0):
    """Four notes a beat for `minutes`: a long, busy song to edit."""
    from ..music.song import Note, Song, TempoChange, TimeSignature

    rng = np.random.default_rng(0)
    beats = int(minutes * bpm)
    pitches, velocities = rng.integers(48, 84, 4 * beats), rng.integers(30, 120, 4 * beats)
    notes = [
        Note(int(pitches[i]), i * 0.25, i * 0.25 + 0.5, int(velocities[i]))
        for i in range(4 * beats)
    ]
    return Song(notes, [TempoChange(0, bpm)], [TimeSignature(0, 4, 4)], title="dense")


def _drawn(app, view, started: float, before: int, timeout: float = 5.0) -> float:
    """Ms from `started` until the roll has painted a frame after frame `before`."""
    deadline = time.perf_counter() + timeout
    while view.frames <= before and time.perf_counter() < deadline:
        app.processEvents()
    return (view.painted_at - started) * 1000.0


def timed(app, view, action) -> float:
    before = view.frames
    started = time.perf_counter()
    action()
    return _drawn(app, view, started, before)


def _key(view, key, mods=None):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    return lambda: QTest.keyClick(view, key, mods or Qt.KeyboardModifier.NoModifier)


def _empty_point(view) -> tuple:
    """A point in the middle of the view where no note is."""
    from PySide6.QtCore import QPoint

    m = view.model
    left, right = m.visible_beats()
    x = m.x_of((left + right) / 2)
    first, last = m.visible_rows()
    for row in range(first + 1, last - 1):
        y = m.y_of_row(row) + m.row_px / 2
        if m.area_at(x, y) == "notes" and m.note_at(x, y) is None:
            return QPoint(round(x), round(y))
    raise RuntimeError("no empty place in view to draw a note")


def measure_song(app, window, label: str) -> dict:
    """The four timings above on the song the window shows."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view = window.piano_roll.view
    view.setFocus()
    roll = window.piano_roll
    roll.select_notes([0])
    up, down = Qt.Key.Key_Up, Qt.Key.Key_Down
    first = timed(app, view, _key(view, up))  # makes the edited copy
    keys = [timed(app, view, _key(view, up if i % 2 else down)) for i in range(PRESSES)]
    port, press, release = view.viewport(), [], []
    for _ in range(PRESSES // 4):
        point = _empty_point(view)
        press.append(timed(app, view, lambda p=point: QTest.mousePress(port, Qt.LeftButton, pos=p)))
        release.append(
            timed(app, view, lambda p=point: QTest.mouseRelease(port, Qt.LeftButton, pos=p))
        )
        window.generation.undo_stack.undo()
    roll.select_notes(range(view.model.note_count))
    every = [timed(app, view, _key(view, up if i % 2 else down)) for i in range(PRESSES // 4)]
    reloads = []
    for _ in range(5):
        started = time.perf_counter()
        window.roll_editing.reload_playback()
        reloads.append((time.perf_counter() - started) * 1000.0)
    return {
        "song": label,
        "notes": view.model.note_count,
        "first_edit_ms": round(first, 2),
        "key_to_drawn": _stats(keys),
        "press_to_drawn": _stats(press),
        "release_to_drawn": _stats(release),
        "key_all_notes_to_drawn": _stats(every),
        "player_reload": _stats(reloads),
    }


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(q: float) -> float:  # the nearest-rank percentile, as `bench gui` reports it
        return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))]

    return {
        "n": len(values),
        "p50_ms": round(at(50), 2),
        "p99_ms": round(at(99), 2),
        "max_ms": round(ordered[-1], 2),
    }


def lateness_while_editing(app, window, seconds: float, measure_lateness: Callable) -> dict:
    """The 10 ms timer's lateness (`bench gui`'s `measure_lateness`) while an edit is made every
    `EDIT_EVERY_MS`."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest

    view = window.piano_roll.view
    port = view.viewport()
    window.piano_roll.select_notes([0])
    count = {"n": 0}

    def edit() -> None:
        step = count["n"] % 4
        count["n"] += 1
        if step < 2:
            QTest.keyClick(view, Qt.Key.Key_Up if step else Qt.Key.Key_Down)
        elif step == 2:
            point = _empty_point(view)
            QTest.mousePress(port, Qt.LeftButton, pos=point)
            QTest.mouseRelease(port, Qt.LeftButton, pos=point)
        else:
            window.generation.undo_stack.undo()

    timer = QTimer()
    timer.setInterval(EDIT_EVERY_MS)
    timer.timeout.connect(edit)
    idle = measure_lateness(app, 2.0)
    timer.start()
    busy = measure_lateness(app, seconds)
    timer.stop()
    summary = {phase: _stats(ticks) for phase, ticks in (("idle", idle), ("editing", busy))}
    for figures in summary.values():
        figures["ticks"] = figures.pop("n")
    return {**summary, "edits": count["n"]}


def run(
    args: argparse.Namespace,
    open_window: Callable,
    measure_lateness: Callable,
    wait_until: Callable,
) -> int:
    """Run it; `open_window`, `measure_lateness` and `wait_until` are `bench gui`'s (which this
    is a mode of)."""
    load = round(os.getloadavg()[0], 2)
    opened = open_window(args)
    if opened is None:
        return 1
    app, window, _report = opened
    window.browser.select_first_song()
    wait_until(app, lambda: window.piano_roll.song is not None, 60)
    warming = window.training.warming_up()
    during = measure_song(app, window, "first sample song, while the window warms up")
    started = time.perf_counter()
    wait_until(app, lambda: not window.training.warming_up(), 300)
    waited = time.perf_counter() - started
    results = [measure_song(app, window, "first sample song")]
    window.show_song(dense_song(), "a dense 5-minute song")
    app.processEvents()
    results.append(measure_song(app, window, "dense 5-minute song"))
    lateness = lateness_while_editing(app, window, args.seconds, measure_lateness)
    window.close()
    worst = max(r[k]["p99_ms"] for r in results for k in r if k.endswith("_drawn"))
    result = {
        "load_average_1min_before": load,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "songs": results,
        "while_warming_up": {
            **during,
            "warming_up_at_start": warming,
            "then_waited_s": round(waited, 1),
        },
        "lateness": lateness,
        "target_edit_ms": TARGET_EDIT_MS,
        "target_p99_lateness_ms": TARGET_P99_LATENESS_MS,
        "meets_edit_target": worst <= TARGET_EDIT_MS,
        "meets_lateness_target": lateness["editing"]["p99_ms"] < TARGET_P99_LATENESS_MS,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_result(result)
    return 0


def print_result(result: dict) -> None:
    print(
        f"Piano-roll editing, real window offscreen (load {result['load_average_1min_before']} → "
        f"{result['load_average_1min_after']} on {result['cpus']} CPUs)"
    )
    names = {
        "key_to_drawn": "key press → note drawn",
        "press_to_drawn": "mouse press → new note drawn",
        "release_to_drawn": "release → edit drawn",
        "key_all_notes_to_drawn": "key, all notes selected",
        "player_reload": "player takes the edits (paused)",
    }
    during = result["while_warming_up"]
    for song in [*result["songs"], during]:
        print(
            f"  {song['song']} ({song['notes']} notes): first edit (makes the edited copy and "
            f"shows it) {song['first_edit_ms']:.1f} ms"
        )
        for key, name in names.items():
            s = song[key]
            print(
                f"    {name:30}: p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms  (n={s['n']})"
            )
    print(
        f"  (the last song's figures: {'while' if during['warming_up_at_start'] else 'after'} the "
        f"window compiled Train's program ahead, done {during['then_waited_s']:.1f} s after them; "
        "not held to the target)"
    )
    lat = result["lateness"]
    for phase in ("idle", "editing"):
        s = lat[phase]
        print(
            f"  10 ms timer lateness, {phase:7}: p50 {s['p50_ms']:5.2f} ms  p99 {s['p99_ms']:5.2f} "
            f"ms  max {s['max_ms']:6.2f} ms ({s['ticks']} ticks)"
        )
    edit = "meets" if result["meets_edit_target"] else "MISSES"
    late = "meets" if result["meets_lateness_target"] else "MISSES"
    print(
        f"  edits drawn {edit} the {TARGET_EDIT_MS:.0f} ms target; lateness while editing "
        f"({lat['edits']} edits) {late} the {TARGET_P99_LATENESS_MS:.0f} ms p99 target"
    )
