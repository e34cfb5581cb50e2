"""The log a bug report needs: a rotating `rbm-studio.log` in the user log folder, `faulthandler`
writing native crashes beside it, and uncaught exceptions in any thread logged with their traceback.

Every module logs through `logging.getLogger(__name__)` (all under the `rbm_studio` logger);
`start_logging()` (called once by `rbm_studio.cli.main`) sends those records to the file. No Qt
here: the window adds its own hook for exceptions in slots (`ui.crash_report`).
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
import threading
from pathlib import Path
from typing import IO, TextIO

from .paths import log_dir

LOG_NAME = "rbm-studio.log"
CRASH_NAME = "faulthandler.log"
CONSOLE_NAME = "console.log"
MAX_BYTES = 1 << 20  # per file; the log keeps BACKUPS older files beside it
BACKUPS = 5
FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"
ROOT_LOGGER = "rbm_studio"

_state: dict[str, object] = {}
_lock = threading.Lock()


def log_file() -> Path:
    return log_dir() / LOG_NAME


def _rotated_if_large(path: Path) -> None:
    """Keep one older copy (`name.1`) of a file that is appended to at each launch, so neither
    grows without bound nor loses the previous run."""
    try:
        if path.stat().st_size > MAX_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


def start_logging(version: str, level: int = logging.INFO) -> Path | None:
    """Send the `rbm_studio` loggers to the rotating file, enable `faulthandler` into
    `faulthandler.log` and log uncaught exceptions of every thread; once per process. Returns the
    log file, or None when the log folder cannot be written (the app then runs without one)."""
    with _lock:
        if "handler" in _state:
            return log_file()
        try:
            handler = open_log_file(level)
        except OSError as exc:
            print(f"rbm-studio: no log file ({exc})", file=sys.stderr)
            return None
        _state["handler"] = handler
        _enable_faulthandler(log_dir() / CRASH_NAME)
        _install_exception_hooks()
    logging.getLogger(ROOT_LOGGER).info(
        "rbm-studio %s started: Python %s on %s, argv %s",
        version,
        platform.python_version(),
        platform.platform(),
        sys.argv[1:],
    )
    return log_file()


def open_log_file(level: int = logging.INFO) -> logging.Handler:
    """The rotating file handler, attached to the `rbm_studio` logger (`close_log_file` takes it
    off again; `start_logging` keeps it for the process's life)."""
    handler = logging.handlers.RotatingFileHandler(
        log_file(), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger(ROOT_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or level))
    return handler


def close_log_file(handler: logging.Handler) -> None:
    logging.getLogger(ROOT_LOGGER).removeHandler(handler)
    handler.close()


def _enable_faulthandler(path: Path) -> None:
    """Native crashes (a segfault in a C library) write every thread's Python stack here, unless
    someone already chose where they go (`python -X faulthandler`, PYTHONFAULTHANDLER, pytest)."""
    if faulthandler.is_enabled():
        return
    _rotated_if_large(path)
    try:
        stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    except OSError:
        return
    stream.write(f"--- pid {os.getpid()} started\n")
    stream.flush()
    _state["faulthandler"] = stream  # the file must outlive this call
    faulthandler.enable(file=stream, all_threads=True)


def _install_exception_hooks() -> None:
    """Uncaught exceptions in the main thread and in other threads go to the log, then on to the
    hooks that were there (which print them to stderr as before)."""
    previous_sys = sys.excepthook
    previous_thread = threading.excepthook

    def sys_hook(kind, value, tb) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logging.getLogger(ROOT_LOGGER).critical(
                "uncaught exception", exc_info=(kind, value, tb)
            )
        previous_sys(kind, value, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit:
            name = args.thread.name if args.thread is not None else "?"
            logging.getLogger(ROOT_LOGGER).error(
                "uncaught exception in thread %s",
                name,
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )
        previous_thread(args)

    sys.excepthook = sys_hook
    threading.excepthook = thread_hook


def flush() -> None:
    """Write out what is buffered (tests read the file; a bug report copies it)."""
    for handler in logging.getLogger(ROOT_LOGGER).handlers:
        handler.flush()


def console_stream() -> TextIO | IO[str]:
    """Where a windowed frozen app without stdout/stderr writes its console output:
    `console.log` in the log folder, appended to (one older copy kept), never overwritten."""
    path = log_dir() / CONSOLE_NAME
    _rotated_if_large(path)
    stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - the process's stdout
    stream.write(f"--- pid {os.getpid()} started\n")
    return stream
