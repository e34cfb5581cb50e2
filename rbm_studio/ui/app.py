"""Start the RBM Studio window (`rbm-studio` with no subcommand), or run `--self-test`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
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
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APPLICATION)
    # Desktop integration: Wayland matches the window to resources/rbm-studio.desktop by this
    # name; the icon shows in the title bar, task bar and Alt-Tab.
    app.setDesktopFileName("rbm-studio")
    icon = resource_path("icons", "rbm-studio.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def build_main_window(
    settings: AppSettings | None = None, *, midi_apis: list[str] | None = None
) -> MainWindow:
    """The window a person sees: main window with the transport bar installed. The app, the
    self-test and the GUI tests all build it here, so they show and exercise the same thing.

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


def run_app(args: argparse.Namespace) -> int:
    """Entry point from `rbm_studio.cli`: handles `--self-test`, `--folder` and `--model`."""
    if getattr(args, "self_test", False):
        from .self_test import run_self_test

        return run_self_test(screenshot=getattr(args, "screenshot", None))
    folder = Path(args.folder) if getattr(args, "folder", None) else None
    model = Path(args.model) if getattr(args, "model", None) else None
    if folder is not None and not folder.exists():
        print(f"rbm-studio: folder not found: {folder}", file=sys.stderr)
        return 2
    if model is not None and not model.is_file():
        print(f"rbm-studio: model file not found: {model}", file=sys.stderr)
        return 2
    no_display = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if no_display and sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        print(
            "rbm-studio: no display found (DISPLAY / WAYLAND_DISPLAY unset); "
            "use --self-test or set QT_QPA_PLATFORM=offscreen",
            file=sys.stderr,
        )
        return 2
    app = create_application()
    from ..platform.startup_marks import mark

    window = build_main_window()
    window.show()
    mark("window_shown")
    window.start(folder=folder, model=model)
    close_on_interrupt(window)
    return int(app.exec())


def close_on_interrupt(window) -> None:
    """Ctrl+C in the terminal closes the window the normal way (settings saved, training
    stopped and autosaved). Qt's event loop never runs Python code by itself, so a slow timer
    gives the interpreter a chance to notice the signal."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
