"""What the window does with an exception nobody caught: in a Qt slot (PySide6 hands it to
`sys.excepthook` and carries on) or in a thread (`threading.excepthook`). The traceback goes to the
log (`platform.logs`), the status bar says something went wrong and where the details are, and a
non-modal box offers to copy them for a bug report. The window stays up.

The box is non-modal so that nothing waits on it: not the musician's work, not a test running
offscreen. One box at a time; later errors while it is open only reach the log and the status bar.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMessageBox

from ..platform import logs
from ..platform.paths import log_dir
from ..studio.errors import describe_error

log = logging.getLogger(__name__)


def open_log_folder() -> bool:
    """Help → Open Log Folder: the folder in the desktop's file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))


class CrashReporter(QObject):
    """Installed once on the main window by `install`; `reported` is emitted on the GUI thread."""

    reported = Signal(str, str)  # one line, the details (traceback and where the log is)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.box: QMessageBox | None = None
        self.count = 0
        self._previous_sys = sys.excepthook
        self._previous_thread = threading.excepthook
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        """Put the previous hooks back (the window is closing, or a test ends)."""
        if sys.excepthook == self._sys_hook:
            sys.excepthook = self._previous_sys
        if threading.excepthook == self._thread_hook:
            threading.excepthook = self._previous_thread

    def _sys_hook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self._previous_sys(kind, value, tb)
            return
        self._report("in the window", kind, value, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a background thread"
        self._report(f"in thread {name}", args.exc_type, args.exc_value, args.exc_traceback)

    def _report(
        self,
        where: str,
        kind: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """Any thread: log now, show on the GUI thread (the signal is queued)."""
        log.error("uncaught exception %s", where, exc_info=(kind, value, tb))
        logs.flush()
        text = "".join(traceback.format_exception(kind, value, tb))
        if sys.stderr is not None:  # a terminal still shows it, as Python would
            print(f"Uncaught exception {where}\n{text}", file=sys.stderr, end="")
        summary = f"{kind.__name__}: {describe_error(value)}"
        self.reported.emit(summary, f"Uncaught exception {where}\n\n{text}\nLog: {logs.log_file()}")

    @Slot(str, str)
    def _show(self, summary: str, details: str) -> None:
        self.count += 1
        status = getattr(self.window, "show_status", None)
        message = (
            f"Something went wrong ({summary}); the details are in the log (Help → Open Log Folder)"
        )
        if callable(status):
            status(message)
        if self.box is not None and self.box.isVisible():
            return
        self.box = _details_box(self.window, summary, details)
        self.box.finished.connect(self._box_closed)
        self.box.show()

    @Slot()
    def _box_closed(self) -> None:
        self.box = None  # deleted on close; the next error opens a new one


def _details_box(parent: QMainWindow, summary: str, details: str) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("RBM Studio: something went wrong")
    box.setText(
        f"Something went wrong: {summary}\n\nRBM Studio keeps running. The details are in the log; "
        "copy them into a bug report."
    )
    box.setDetailedText(details)
    copy = box.addButton("Copy Details", QMessageBox.ButtonRole.ActionRole)
    folder = box.addButton("Open Log Folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
    folder.clicked.connect(open_log_folder)
    return box


def install(window: QMainWindow) -> CrashReporter:
    """Report uncaught exceptions of the window's slots and of every thread (app start-up)."""
    reporter = CrashReporter(window)
    reporter.install()
    window.destroyed.connect(lambda *_: reporter.uninstall())
    return reporter
