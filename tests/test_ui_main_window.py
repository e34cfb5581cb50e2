"""Main window: drag-and-drop import, skipped files with reasons, first launch, settings, keys."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
)
from ui_songs import make_broken_folder, make_song_folder

from rbm_studio.resources import sample_midi_dir
from rbm_studio.ui.dataset_browser import SAMPLE_HINT, SongList
from rbm_studio.ui.main_window import (
    DEFAULT_GENERATION_HEIGHT,
    DEFAULT_SIDE_DOCK_WIDTHS,
    MainWindow,
)
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window


def make_window(qtbot, settings_file: Path) -> MainWindow:
    """The full window a person sees, transport included. No MIDI API is searched, so the bar
    says "no output" whatever JACK server another test may have left running."""
    window = build_main_window(AppSettings(settings_file), midi_apis=[])
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def drop(widget, paths: list[Path]) -> QDropEvent:
    """Deliver a real drag-enter then drop of local files/folders, as the file manager does
    (Qt only delivers a drop to a widget that accepted the drag entering it)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    with warnings.catch_warnings():  # PySide marks the (only) QPoint constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            centre.toPoint(),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(
        centre,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


def wait_import(qtbot, window: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(
        lambda: window.browser.report is not None and not window.browser.is_importing(),
        timeout=timeout,
    )


def test_drop_folder_with_broken_files_lists_reasons(qtbot, tmp_path, artifacts_dir):
    folder = make_broken_folder(tmp_path / "my songs")
    window = make_window(qtbot, tmp_path / "settings.ini")
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as blocker:
        event = drop(window, [folder])
    assert event.isAccepted()
    report = blocker.args[0]
    assert len(report.loaded) == 3 and len(report.skipped) == 3
    items = window.browser.items()
    assert len(items) == 6
    skipped = [i for i in items if i.text(SongList.STATUS).startswith("skipped")]
    names = {window.browser.result_of(i).path.name for i in skipped}
    assert names == {"not_midi.mid", "empty.mid", "truncated.mid"}
    for item in skipped:
        result = window.browser.result_of(item)
        assert result.reason and result.reason in item.toolTip(0)
        assert result.reason in item.text(0)  # visible in the row itself
        assert item.isFirstColumnSpanned()
        assert not item.icon(0).isNull()  # warning icon
    # Selecting a good song shows it in the piano roll.
    good = next(i for i in items if i.text(SongList.STATUS).startswith("ok"))
    window.browser.list.setCurrentItem(good)
    qtbot.waitUntil(lambda: window.piano_roll.song is not None, timeout=10_000)
    assert window.piano_roll.song.source == window.browser.result_of(good).path
    assert "my songs" in window.windowTitle()
    # "Why?" detail for a skipped file, and no modal dialog anywhere.
    window.browser.list.setCurrentItem(skipped[0])
    assert "skipped" in window.browser.detail.text()
    assert window.browser.result_of(skipped[0]).reason in window.browser.detail.text()
    assert QApplication.activeModalWidget() is None
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "broken_files.png"))


def test_drop_files_on_the_song_list(qtbot, tmp_path):
    folder = make_song_folder(tmp_path / "songs", count=4)
    window = make_window(qtbot, tmp_path / "settings.ini")
    files = sorted(folder.glob("*.mid"))[:2]
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as blocker:
        drop(window.browser.list.viewport(), files)
    assert sorted(r.path for r in blocker.args[0].loaded) == files


def test_drop_on_the_piano_roll_reaches_the_window(qtbot, tmp_path):
    folder = make_song_folder(tmp_path / "roll drop", count=2)
    window = make_window(qtbot, tmp_path / "settings.ini")
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as blocker:
        drop(window.piano_roll.view.viewport(), [folder])
    assert len(blocker.args[0].loaded) == 2


def test_drop_of_non_midi_is_refused(qtbot, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    window = make_window(qtbot, tmp_path / "settings.ini")
    event = drop(window, [text])
    assert not event.isAccepted()
    assert not window.browser.is_importing()


def test_first_launch_loads_sample_songs(qtbot, tmp_path, artifacts_dir):
    if not any(sample_midi_dir().glob("*.mid")):
        pytest.skip(f"bundled sample songs not generated yet in {sample_midi_dir()}")
    window = make_window(qtbot, tmp_path / "fresh.ini")
    window.start()
    wait_import(qtbot, window)
    assert window.browser.is_sample_set
    assert window.browser.hint.isVisible() and window.browser.hint.text() == SAMPLE_HINT
    assert len(window.browser.report.loaded) >= 10
    qtbot.waitUntil(lambda: window.piano_roll.song is not None, timeout=10_000)
    assert "sample chorales" in window.windowTitle()
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "first_launch.png"))


def test_settings_remember_folder_form_and_layout(qtbot, tmp_path):
    folder = make_song_folder(tmp_path / "songs", count=2)
    settings_file = tmp_path / "persist.ini"
    window = make_window(qtbot, settings_file)
    window.import_paths([folder])
    wait_import(qtbot, window)
    window.training.form.widgets["hidden"].setValue(77)
    window.generation.songs_box.setValue(5)
    window.generation_dock.hide()
    window.close()
    assert settings_file.is_file()

    again = make_window(qtbot, settings_file)
    assert again.settings.last_folder == str(folder)
    assert again.training.config().hidden == 77
    assert again.generation.songs_box.value() == 5
    assert again.generation_dock.isHidden()
    again.start()  # reopens the last folder rather than the samples
    wait_import(qtbot, again)
    assert not again.browser.is_sample_set
    assert again.browser.sources == [folder]
    again.training_dock.setFloating(True)
    again.transport_toolbar.hide()
    again.reset_layout_action.trigger()
    assert not again.generation_dock.isHidden()
    assert not again.training_dock.isFloating()
    assert again.transport_toolbar.isVisible()  # the transport is part of the default layout
    assert_default_dock_sizes(again)


def test_keyboard_shortcuts_and_tooltips(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path / "settings.ini")
    shortcuts = {name: seq for name, seq in window.shortcut_rows()}
    assert shortcuts["Open Folder…"] == "Ctrl+O"
    assert shortcuts["Open Model…"] == "Ctrl+Shift+O"
    assert shortcuts["Save Model…"] == "Ctrl+S"
    assert shortcuts["Export MIDI…"] == "Ctrl+E"
    assert shortcuts["Train"] == "Ctrl+T"
    # Every action has a status/tool tip; every control a tooltip.
    assert all(a.toolTip() for a in window.actions())
    controls = [
        w
        for kind in (QAbstractButton, QAbstractSpinBox, QComboBox)
        for w in window.findChildren(kind)
        if not w.objectName().startswith("qt_")
        and not isinstance(w.parent(), QDockWidget)
        and type(w).__name__ not in ("QToolButton",)
    ]
    assert len(controls) > 20
    missing = [
        f"{type(w).__name__} {w.text() if hasattr(w, 'text') else ''}"
        for w in controls
        if not w.toolTip()
    ]
    assert not missing, missing
    # Ctrl+T with invalid settings shows the inline message, nothing starts.
    window.training.form.widgets["batch_size"].setValue(0)
    window.train_action.trigger()
    assert not window.training.is_training()
    assert any("Batch size" in m for m in window.training.form.visible_messages())


def test_modified_mark_in_title(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path / "settings.ini")
    assert "[*]" in window.windowTitle()
    assert not window.isWindowModified()
    window.setWindowModified(True)
    assert window.isWindowModified()


def assert_default_dock_sizes(window: MainWindow) -> None:
    """The docks have their default sizes (give or take the splitter handles)."""
    dataset, training = DEFAULT_SIDE_DOCK_WIDTHS
    assert abs(window.dataset_dock.width() - dataset) <= 12, window.dataset_dock.width()
    assert abs(window.training_dock.width() - training) <= 12, window.training_dock.width()
    height = window.generation_dock.height()
    assert abs(height - DEFAULT_GENERATION_HEIGHT) <= 12, height


def test_full_window_has_transport_and_readable_docks(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path / "settings.ini")
    transport = window.transport
    assert transport is not None and transport.isVisible()
    assert window.transport_toolbar.isVisible() and window.main_toolbar.isVisible()
    # One row of toolbars: the transport sits beside the main toolbar, leaving the height to
    # the panels.
    assert window.transport_toolbar.y() == window.main_toolbar.y()
    assert window.transport_toolbar.x() >= window.main_toolbar.geometry().right()
    qtbot.waitUntil(lambda: not transport.busy, timeout=20_000)
    assert transport.message.isVisible() and transport.message.text()
    # Docks start at readable sizes, not squeezed to their minimum hints.
    assert window.width() == 1400
    assert_default_dock_sizes(window)
    # The long "no output" message wraps inside the window rather than widening it.
    message = transport.message
    assert window.width() == 1400
    # (once the layout has taken the message: a new text is laid out on the next pass)
    qtbot.waitUntil(
        lambda: message.height() >= message.heightForWidth(message.width()), timeout=5_000
    )
    assert message.geometry().right() <= transport.width()


def test_transport_hook(qtbot, tmp_path):
    from PySide6.QtWidgets import QPushButton

    window = MainWindow(AppSettings(tmp_path / "settings.ini"))  # no transport installed
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.transport is None and window.transport_toolbar.isHidden()
    button = QPushButton("Play")
    button.setToolTip("Play")
    window.add_transport(button)
    assert not window.transport_toolbar.isHidden()
    window.piano_roll.set_playhead(2.0)
    assert window.piano_roll.view.playhead == 2.0


def test_run_app_refuses_missing_folder_and_model(tmp_path, capsys):
    import argparse

    from rbm_studio.ui.app import run_app

    missing = argparse.Namespace(self_test=False, folder=str(tmp_path / "nope"), model=None)
    assert run_app(missing) == 2
    assert "folder not found" in capsys.readouterr().err
    missing = argparse.Namespace(self_test=False, folder=None, model=str(tmp_path / "m.rbm"))
    assert run_app(missing) == 2
    assert "model file not found" in capsys.readouterr().err


def test_a_new_import_replaces_a_running_one(qtbot, tmp_path):
    first = make_song_folder(tmp_path / "first", count=6)
    second = make_song_folder(tmp_path / "second", count=2)
    window = make_window(qtbot, tmp_path / "settings.ini")
    window.import_paths([first])
    window.import_paths([second])  # no waiting on the GUI thread for the first to stop
    qtbot.waitUntil(lambda: not window.browser.is_importing(), timeout=60_000)
    qtbot.wait(200)  # a late result of the first import must not replace the second
    assert window.browser.sources == [second]
    assert {r.path.parent for r in window.browser.report.results} == {second}


def test_folder_without_midi_files_says_so(qtbot, tmp_path):
    empty = tmp_path / "no songs here"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing")
    window = make_window(qtbot, tmp_path / "settings.ini")
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.import_paths([empty])
    assert "No MIDI files" in window.browser.summary.text()
    assert window.train() is False  # nothing to learn from, and the panel says so
    assert "No songs" in window.training.phase_label.text()


def test_import_can_be_cancelled(qtbot, tmp_path):
    folder = make_song_folder(tmp_path / "many", count=60, bars=2)
    window = make_window(qtbot, tmp_path / "settings.ini")
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000) as blocker:
        window.import_paths([folder])
        assert window.browser.progress_box.isVisible()
        window.cancel_import_action.trigger()  # Esc
    report = blocker.args[0]
    assert report.cancelled and len(report.results) < 60
    assert "cancelled" in window.browser.summary.text()
    qtbot.waitUntil(lambda: not window.browser.progress_box.isVisible(), timeout=5_000)
