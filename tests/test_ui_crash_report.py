"""Exceptions nobody expected, in the real window: one raised in a worker (the song the musician
selected has gone when the worker reads it), one in a plain thread and one in a Qt slot. Each
lands in the log with its traceback; the window stays up and its status bar says so; the thread
and slot errors open a non-modal box (it never blocks) offering to copy the details."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from rbm_studio.data.dataset import import_folder
from rbm_studio.platform import logs
from rbm_studio.resources import sample_midi_dir
from rbm_studio.ui import crash_report
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

pytestmark = pytest.mark.qt_no_exception_capture  # the window's own hook must see the slot's


class ThreadBoom(RuntimeError):
    pass


class SlotBoom(ValueError):
    pass


def explode_in_a_thread() -> None:
    raise ThreadBoom("a background thread broke")


def explode_in_a_slot() -> None:
    raise SlotBoom("a slot broke")


def log_text() -> str:
    logs.flush()
    return logs.log_file().read_text(encoding="utf-8")


@pytest.fixture
def window(qtbot, tmp_path):
    handler = logs.open_log_file()
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    reporter = crash_report.install(window)
    yield window, reporter
    reporter.uninstall()
    if reporter.box is not None:
        reporter.box.close()
    logs.close_log_file(handler)


def test_help_menu_opens_the_log_folder(window):
    win, _reporter = window
    help_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Help")
    assert win.open_log_action in help_menu.actions()
    assert win.open_log_action.text() == "Open &Log Folder"


def test_worker_thread_and_slot_errors_are_logged_and_the_window_says_so(
    window, qtbot, tmp_path, artifacts_dir
):
    win, reporter = window
    folder = tmp_path / "songs"
    folder.mkdir()
    song = folder / "gone.mid"
    shutil.copy(sorted(sample_midi_dir().glob("*.mid"))[0], song)
    result = import_folder(folder, use_cache=False).results[0]
    assert result.ok
    song.unlink()  # gone by the time the worker reads it

    win.browser.songSelected.emit(result)
    qtbot.waitUntil(lambda: "Cannot show song" in win.statusBar().currentMessage(), timeout=20_000)
    text = log_text()
    assert "load-song failed" in text
    assert "Traceback (most recent call last)" in text and "song_for" in text

    thread = threading.Thread(target=explode_in_a_thread, name="boom-thread")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: reporter.count == 1, timeout=10_000)
    assert "Something went wrong (ThreadBoom" in win.statusBar().currentMessage()
    box = reporter.box
    assert isinstance(box, QMessageBox) and box.isVisible() and not box.isModal()
    text = log_text()
    assert "uncaught exception in thread boom-thread" in text
    assert "in explode_in_a_thread" in text and "ThreadBoom: a background thread broke" in text

    QTimer.singleShot(0, explode_in_a_slot)
    qtbot.waitUntil(lambda: reporter.count == 2, timeout=10_000)
    assert "Something went wrong (SlotBoom: a slot broke)" in win.statusBar().currentMessage()
    text = log_text()
    assert "uncaught exception in the window" in text
    assert "in explode_in_a_slot" in text and "SlotBoom: a slot broke" in text

    assert win.isVisible()
    win.grab().save(str(artifacts_dir / "crash_report_window.png"))
    box.grab().save(str(artifacts_dir / "crash_report_box.png"))
    copy = next(b for b in box.buttons() if b.text() == "Copy Details")
    copy.click()
    copied = QGuiApplication.clipboard().text()
    assert reporter.box is None, "the box closes once its details are copied"
    assert "ThreadBoom: a background thread broke" in copied and str(logs.log_file()) in copied
