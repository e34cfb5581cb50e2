"""`rbm-studio bench gui`: does the window stay responsive while a model trains?

A 10 ms `QTimer` runs on the GUI thread of the real main window (offscreen) and each tick's
lateness (how long after it was due it actually fired) is recorded — first with the window idle
(the peer, same run, same machine), then while the training worker trains on the bundled sample
songs and the panel redraws its plots. Target: p99 lateness under 50 ms while training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

NAME = "gui"
HELP = "GUI event-loop latency (10 ms timer) while training runs, against the idle window"

TICK_MS = 10
TARGET_P99_MS = 50.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measurement time while training (default 10)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=3.0, help="measurement time idle (default 3)"
    )
    parser.add_argument(
        "--folder", help="MIDI folder to train on (default: the bundled sample songs)"
    )
    parser.add_argument("--hidden", type=int, default=50, help="hidden units (default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[index]


def measure_lateness(app, seconds: float) -> list[float]:
    """Lateness in ms of every tick of a 10 ms precise timer over `seconds`."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    lateness: list[float] = []
    state = {"due": 0.0}
    loop = QEventLoop()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - state["due"]) * 1000.0))
        state["due"] = now + TICK_MS / 1000.0

    timer.timeout.connect(tick)
    stop = QTimer()
    stop.setSingleShot(True)
    stop.timeout.connect(loop.quit)
    state["due"] = time.perf_counter() + TICK_MS / 1000.0
    timer.start()
    stop.start(int(seconds * 1000))
    loop.exec()
    timer.stop()
    return lateness


def wait_until(app, predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def summary(values: list[float]) -> dict:
    return {
        "ticks": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2) if values else float("nan"),
    }


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = tempfile.TemporaryDirectory(prefix="rbm-studio-bench-gui-")
    for name in ("RBM_STUDIO_CONFIG_DIR", "RBM_STUDIO_DATA_DIR"):
        os.environ[name] = str(Path(scratch.name) / name.lower())

    from ..models.config import TrainingConfig
    from ..resources import sample_midi_dir
    from ..ui.app import build_main_window, create_application

    app = create_application()
    window = build_main_window()  # the window a person sees, transport bar included
    window.resize(1400, 900)
    window.show()
    folder = Path(args.folder) if args.folder else sample_midi_dir()
    window.import_paths([folder])
    if not wait_until(app, lambda: window.browser.report is not None, 300):
        print("bench gui: import did not finish", file=sys.stderr)
        return 1
    report = window.browser.report
    if not report.loaded:
        print(f"bench gui: no songs in {folder}", file=sys.stderr)
        return 1

    idle = measure_lateness(app, args.idle_seconds)

    window.training.autosave_to = None
    window.training.set_config(TrainingConfig(hidden=args.hidden, epochs=1_000_000))
    updates = {"n": 0}
    window.training.progressReceived.connect(lambda _p: updates.__setitem__("n", updates["n"] + 1))
    if not window.train():
        print("bench gui: training did not start", file=sys.stderr)
        return 1
    compile_started = time.monotonic()
    if not wait_until(app, lambda: window.training.state == "training", 600):
        print("bench gui: training never left the compile phase", file=sys.stderr)
        return 1
    compile_seconds = time.monotonic() - compile_started
    before = updates["n"]
    heat_before = window.training.heatmap.updates
    cpu_before = time.thread_time()  # CPU time of the GUI thread only: load-independent
    busy = measure_lateness(app, args.seconds)
    gui_cpu = time.thread_time() - cpu_before
    reports = updates["n"] - before
    heatmaps = window.training.heatmap.updates - heat_before
    epoch = window.training.progress_log[-1].epoch if window.training.progress_log else 0
    stop_started = time.monotonic()
    window.training.stop()
    wait_until(app, lambda: not window.training.is_training(), 30)
    stop_seconds = time.monotonic() - stop_started
    window.close()
    app.processEvents()
    scratch.cleanup()

    result = {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "songs": len(report.loaded),
        "hidden": args.hidden,
        "idle": summary(idle),
        "training": summary(busy),
        "training_reports": reports,
        "heatmap_updates": heatmaps,
        "epochs_done": epoch,
        "gui_thread_cpu_share": round(gui_cpu / args.seconds, 3),
        "compile_s": round(compile_seconds, 2),
        "stop_s": round(stop_seconds, 3),
        "p99_ratio_vs_idle": round(percentile(busy, 99) / max(percentile(idle, 99), 1e-3), 2),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": percentile(busy, 99) < TARGET_P99_MS,
    }
    if args.json:
        print(json.dumps(result))
    else:
        i, t = result["idle"], result["training"]
        print(
            f"GUI timer lateness, {TICK_MS} ms timer, {result['songs']} songs, H={args.hidden} "
            f"(machine load {result['load_average_1min']} on {result['cpus']} CPUs)"
        )
        print(
            f"  idle window      : p50 {i['p50_ms']:6.2f} ms  p99 {i['p99_ms']:6.2f} ms  "
            f"max {i['max_ms']:6.2f} ms  ({i['ticks']} ticks)"
        )
        print(
            f"  while training   : p50 {t['p50_ms']:6.2f} ms  p99 {t['p99_ms']:6.2f} ms  "
            f"max {t['max_ms']:6.2f} ms  ({t['ticks']} ticks)"
        )
        print(
            f"  GUI thread busy  : {100 * result['gui_thread_cpu_share']:.1f} % of the time "
            "(its own CPU time while training)"
        )
        print(
            f"  training handled : {reports} progress reports, {heatmaps} heatmap redraws, "
            f"epoch {epoch}; compile {result['compile_s']} s; Stop took {result['stop_s']} s"
        )
        verdict = "meets" if result["meets_target"] else "MISSES"
        print(
            f"  p99 while training {verdict} the {TARGET_P99_MS:.0f} ms target "
            f"({result['p99_ratio_vs_idle']}x the idle p99)"
        )
    return 0
