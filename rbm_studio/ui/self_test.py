"""`rbm-studio --self-test`: drive the real window offscreen through import → train → generate.

It uses the same window, panels and workers the musician uses, so a passing self-test means the
installed (or frozen) app can import MIDI, run JAX training in its worker, sample and draw. Settings
and autosaves go to a throw-away folder so the self-test never touches the user's own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

IMPORT_TIMEOUT_S = 120.0
TRAIN_TIMEOUT_S = 300.0
GENERATE_TIMEOUT_S = 120.0
PORTS_TIMEOUT_S = 60.0


class SelfTestError(Exception):
    pass


def wait_until(app, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop until `predicate()` holds (jobs report through queued signals)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SelfTestError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns about window-manager hints it cannot honour; that is
    expected here and would bury the one-line summary."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)


def run_self_test(screenshot: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="rbm-studio-self-test-") as scratch:
        for name in ("RBM_STUDIO_CONFIG_DIR", "RBM_STUDIO_DATA_DIR"):
            os.environ[name] = str(Path(scratch) / name.lower())
        state = {"step": "starting Qt"}
        try:
            return _run(screenshot, lambda step: state.__setitem__("step", step))
        except SelfTestError as exc:
            print(f"self-test FAILED while {state['step']}: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:  # noqa: BLE001 - any failure is a failed self-test
            print(f"self-test FAILED while {state['step']}: {exc}", file=sys.stderr)
            traceback.print_exc()
            return 1
        finally:
            _close_windows()


def _close_windows() -> None:
    """Close every window and wait for background jobs (an output being opened, say): a failed
    self-test must exit with its code, not abort on a thread still running."""
    from PySide6.QtWidgets import QApplication

    from .workers import stop_all_jobs

    app = QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        widget.close()
    stop_all_jobs()


def _open_window():
    """Create the application and show the real main window offscreen."""
    from ..platform.startup_marks import mark
    from .window_factory import build_main_window, create_application

    app = create_application()
    _quiet_offscreen_warnings()
    window = build_main_window()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    mark("window_shown")
    return app, window


def _import_samples(app, window):
    """Import the bundled songs and return the import report."""
    from ..resources import sample_midi_dir

    folder = sample_midi_dir()
    if not folder.is_dir():
        raise SelfTestError(f"bundled sample songs missing: {folder}")
    if not window.load_sample_songs():
        raise SelfTestError("could not start importing the bundled songs")
    wait_until(app, lambda: not window.browser.is_importing(), IMPORT_TIMEOUT_S, "the import")
    report = window.browser.report
    if report is None or not report.loaded:
        raise SelfTestError(f"no songs imported from {folder}")
    return report


def _train_one_epoch(app, window) -> float:
    """Train one tiny epoch and return its reconstruction error (nan without history)."""
    from ..models import registry

    window.training.set_config(
        registry.default_config(hidden=16, window=16, batch_size=100, epochs=1, seed=0)
    )
    window.training.autosave_to = None
    if not window.train():
        problems = window.training.form.visible_messages()
        raise SelfTestError(f"training did not start: {'; '.join(problems) or 'unknown reason'}")
    wait_until(app, lambda: not window.training.is_training(), TRAIN_TIMEOUT_S, "training")
    if window.model is None:
        raise SelfTestError(f"training failed: {window.training.phase_label.text()}")
    return window.model.history[-1]["recon_error"] if window.model.history else float("nan")


def _generate_one_song(app, window) -> None:
    window.generation.set_options(
        {"songs": 1, "bars": 4, "gibbs_steps": 5, "seed": 0, "start": "silence"}
    )
    if not window.generation.generate():
        raise SelfTestError(f"generation did not start: {window.generation.message.text()}")
    wait_until(app, lambda: not window.generation.is_generating(), GENERATE_TIMEOUT_S, "generation")
    if window.generation.list.count() < 1:
        raise SelfTestError(window.generation.message.text())


def _check_outputs(app, window, song) -> str:
    """Wait for the transport's MIDI output search; describe what it found."""
    transport = window.transport
    if transport is None or not transport.isVisible():
        raise SelfTestError("the transport bar is not shown")
    wait_until(app, lambda: not transport.busy, PORTS_TIMEOUT_S, "the MIDI output search")
    if transport.song is not song:
        raise SelfTestError("the transport bar does not hold the song in the piano roll")
    if transport.ready:
        return f"MIDI output {transport.output_combo.currentText()!r}"
    if transport.message.isVisible() and transport.message.text():
        return "no MIDI output (the transport says why)"
    raise SelfTestError("no MIDI output, and the transport bar does not say why")


def _grab_window(app, window, screenshot: str | None) -> None:
    """Render the window (and save it to `screenshot` when given)."""
    app.processEvents()
    image = window.grab()
    if image.isNull() or image.width() < 100:
        raise SelfTestError("the window could not be rendered")
    if screenshot:
        path = Path(screenshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):
            raise SelfTestError(f"could not write the screenshot to {path}")


def _run(screenshot: str | None, step: Callable[[str], None]) -> int:
    started = time.monotonic()
    step("starting Qt")
    from ..platform.startup_marks import mark

    app, window = _open_window()

    step("importing the bundled songs")
    report = _import_samples(app, window)

    step("training one tiny epoch")
    error = _train_one_epoch(app, window)

    step("generating a song")
    _generate_one_song(app, window)

    step("rendering the piano roll")
    app.processEvents()
    song = window.piano_roll.song
    if song is None:
        raise SelfTestError("the generated song is not shown in the piano roll")

    step("looking for MIDI outputs")
    outputs = _check_outputs(app, window, song)
    _grab_window(app, window, screenshot)

    step("closing the window")
    window.close()
    app.processEvents()
    elapsed = time.monotonic() - started
    shot = f", screenshot {screenshot}" if screenshot else ""
    print(
        f"self-test ok: imported {len(report.loaded)} songs ({len(report.skipped)} skipped), "
        f"trained 1 epoch (error {error:.4f}), generated 1 song "
        f"({len(song.notes)} notes), {outputs}{shot} in {elapsed:.1f} s"
    )
    mark("self_test_done")
    return 0
