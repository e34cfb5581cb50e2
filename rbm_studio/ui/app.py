"""Start the RBM Studio window (`rbm-studio` with no subcommand), or run `--self-test`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import heap
from .window_factory import APPLICATION, ORGANISATION, build_main_window, create_application

__all__ = [
    "APPLICATION",
    "ORGANISATION",
    "build_main_window",
    "close_on_interrupt",
    "create_application",
    "run_app",
]


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
    from .crash_report import install as report_uncaught_exceptions

    report_uncaught_exceptions(window)
    window.show()
    mark("window_shown")
    window.start(folder=folder, model=model)
    heap.settle()  # the window's long-lived heap, out of the collector's walks
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
