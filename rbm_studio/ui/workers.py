"""Background jobs: `QThread` + a `QObject` worker moved to it, with signals back to the GUI.

The GUI thread never runs JAX or file I/O; it starts a `Job`, and the job's signals (which live on
the GUI thread, so every connection is queued) deliver progress, the result or a one-line error.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..studio.errors import describe_error

log = logging.getLogger(__name__)

ProgressFn = Callable[[Any], None]


class FunctionWorker(QObject):
    """Runs `fn(progress, cancel)` on its thread; `progress` may be called any number of times."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)  # one-line message, traceback

    def __init__(self, fn: Callable[[ProgressFn, threading.Event], Any], name: str = "job") -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.cancel_event = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self.progress.emit, self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, never raised into Qt
            log.error("%s failed: %s", self.name, describe_error(exc), exc_info=True)
            self.failed.emit(describe_error(exc), traceback.format_exc())
        else:
            self.finished.emit(result)


class Job(QObject):
    """Owns one worker and its thread. Signals are emitted on the GUI thread.

    `done` fires exactly once, after `finished` or `failed`, when the thread has stopped.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    done = Signal()

    _running: set[Job] = set()  # keep Python wrappers alive while their thread runs

    def __init__(self, worker: QObject, name: str = "job", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.result: Any = None
        self.error: str | None = None
        self.is_done = False  # the thread has stopped
        self.concluded = False  # the result or the error has arrived
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.thread.finished.connect(self._on_thread_finished)

    def start(self) -> Job:
        Job._running.add(self)
        self.thread.start()
        return self

    def cancel(self) -> None:
        """Ask the worker to stop at its next check point."""
        cancel = getattr(self.worker, "cancel", None)
        if callable(cancel):
            cancel()
        event = getattr(self.worker, "cancel_event", None)
        if isinstance(event, threading.Event):
            event.set()

    def is_running(self) -> bool:
        """True until the worker's result or error has been delivered."""
        return not self.concluded

    def wait(self, ms: int = 5000) -> bool:
        """Block until the thread ends (only for shutdown and tests)."""
        return self.thread.wait(ms)

    @Slot(object)
    def _on_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self.result = result
        self.concluded = True
        self.thread.quit()
        self.finished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.error = message
        self.concluded = True
        self.thread.quit()
        self.failed.emit(message, details)

    @Slot()
    def _on_thread_finished(self) -> None:
        self.is_done = True
        Job._running.discard(self)
        self.done.emit()


def run_function(
    fn: Callable[[ProgressFn, threading.Event], Any], name: str, parent: QObject | None = None
) -> Job:
    """Start `fn(progress, cancel)` on a new thread and return its job (already started)."""
    return Job(FunctionWorker(fn, name), name, parent).start()


def finish_job(job: Job | None, timeout_ms: int = 5000) -> None:
    """Cancel `job` if it runs and wait for its thread (a widget closing waits for the work it
    started, so nothing it opens outlives it). Its queued result still arrives afterwards."""
    if job is None or job.is_done:
        return
    job.cancel()
    job.thread.quit()  # the thread's loop ends as soon as the work returns
    job.wait(timeout_ms)


def stop_all_jobs(timeout_ms: int = 3000) -> None:
    """Cancel every running job and wait for its thread, so the app can quit cleanly."""
    jobs = list(Job._running)
    for job in jobs:  # all asked first, so they wind down together
        job.cancel()
    for job in jobs:
        finish_job(job, timeout_ms)
