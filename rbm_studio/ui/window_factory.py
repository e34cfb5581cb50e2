"""The window a person sees, built in one place: the app (`ui.app`), the self-test
(`ui.self_test`), the benchmarks and the GUI tests all create the application and the main window
here, so they show and exercise the same thing."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from .. import __version__
from ..resources import resource_path

if TYPE_CHECKING:  # the window modules are imported when the window is built
    from .main_window import MainWindow
    from .settings import AppSettings

ORGANISATION = "RBM Studio"
APPLICATION = "RBM Studio"
GIL_SWITCH_S = 0.001  # the longest the GUI thread waits for a worker to yield the interpreter


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused when it exists, e.g. under pytest-qt)."""
    app = QApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    # Fractional scale factors (125 %, 150 %) render crisply instead of rounding to 1× or 2×.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv if argv is not None else sys.argv[:1])
    # Workers (training, import) run Python between their native calls; the GUI thread waits up
    # to this long for the interpreter each time it wakes. Python's 5 ms default, paid a few
    # times per event, makes the window's timers late by more than a frame.
    sys.setswitchinterval(GIL_SWITCH_S)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APPLICATION)
    # Desktop integration: Wayland matches the window to rbm_studio/resources/rbm-studio.desktop by this
    # name; the icon shows in the title bar, task bar and Alt-Tab.
    app.setDesktopFileName("rbm-studio")
    icon = resource_path("icons", "rbm-studio.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def build_main_window(
    settings: AppSettings | None = None, *, midi_apis: list[str] | None = None
) -> MainWindow:
    """The window a person sees: main window with the transport bar installed.

    `settings` is an `AppSettings` (default: the user's); `midi_apis` limits the MIDI APIs the
    transport searches for outputs (default: every one this rtmidi build has). The search runs
    in a background job: this returns at once, and the bar says what it found when it is done.
    """
    from .main_window import MainWindow
    from .settings import AppSettings
    from .transport import install_transport

    window = MainWindow(settings if settings is not None else AppSettings())
    install_transport(window, apis=midi_apis)
    return window
