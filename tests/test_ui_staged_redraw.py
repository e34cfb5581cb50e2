"""The training plots redraw one per pass of the event loop (`ui.staged_redraw`), so a progress
update that changes all four never holds the GUI thread for all four paints at once."""

from __future__ import annotations

from rbm_studio.ui.staged_redraw import StagedRedraw


def test_one_step_per_tick_latest_data_wins_and_run_all_empties_it(qtbot):
    redraws = StagedRedraw(interval_ms=30)
    done: list[str] = []
    redraws.queue("error", lambda: done.append("error"))
    assert done == ["error"]  # nothing ran lately: at once
    redraws.queue("gap", lambda: done.append("gap"))
    redraws.queue("heatmap", lambda: done.append("heatmap 1"))
    redraws.queue("heatmap", lambda: done.append("heatmap 2"))  # replaces the waiting one
    assert done == ["error"]  # the others wait for their ticks
    qtbot.waitUntil(lambda: len(done) == 2, timeout=5_000)
    assert done == ["error", "gap"]
    qtbot.waitUntil(lambda: len(done) == 3, timeout=5_000)
    assert done == ["error", "gap", "heatmap 2"]
    qtbot.waitUntil(lambda: not redraws.timer.isActive(), timeout=5_000)

    redraws.queue("error", lambda: done.append("error again"))
    redraws.queue("gap", lambda: done.append("gap again"))
    redraws.run_all()  # a run's end: everything shows now
    assert done[-2:] == ["error again", "gap again"] and not redraws.pending
    redraws.queue("error", lambda: done.append("now"))  # the timer was stopped: at once
    redraws.queue("gap", lambda: done.append("cleared"))
    redraws.clear()  # a new run: what waited is dropped
    qtbot.wait(100)
    assert done[-1] == "now" and "cleared" not in done
