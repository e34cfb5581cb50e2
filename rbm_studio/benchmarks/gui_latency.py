"""`rbm-studio bench gui`: does the window stay responsive while a model trains?

A 10 ms `QTimer` runs on the GUI thread of the real main window (offscreen) and each tick's
lateness (how long after it was due it actually fired) is recorded — first with the window idle
(the peer, same run, same machine), then while the training worker trains the window's default
preset (what a new user trains) on the bundled sample songs and the panel redraws its plots.
Target: p99 lateness under 16 ms (one frame at 60 Hz) while training.

It also times what a new user waits for: from pressing Train to the first finished epoch shown in
the window, with the panel's default settings, once with an empty JAX compile cache (cold) and once
with the cache that run left behind (warm). Each runs in a fresh subprocess, so nothing compiled in
memory carries over; targets: 3 s warm, 15 s cold. Train is pressed once the window's warm-up is
done (JAX loaded; the form's training program compiled for the imported songs, which the window
does for every user a second after an import), as a musician looks at the songs first; the wait
is reported beside the figures, with the CPU seconds from Train to the first epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..commands.common import add_json

NAME = "gui"
HELP = "GUI event-loop latency (10 ms timer) while training runs, against the idle window"

TICK_MS = 10
TARGET_P99_MS = 16.0
TARGET_FIRST_EPOCH_S = {"cold": 15.0, "warm": 3.0}
# Set by the app's own configure_jax() in the parent; a child must pick its own cache folder.
JAX_CACHE_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")


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
    parser.add_argument(
        "--hidden",
        type=int,
        default=None,
        help="hidden units (default: the window's default preset, unchanged)",
    )
    parser.add_argument(
        "--no-startup",
        action="store_true",
        help="skip the Train-to-first-epoch measurement (cold and warm compile cache)",
    )
    parser.add_argument(
        "--no-latency", action="store_true", help="skip the timer-lateness measurement"
    )
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="keep N other processes spinning during the Train-to-first-epoch runs, as on a busy "
        "machine (default 0: whatever else the machine is doing)",
    )
    parser.add_argument(
        "--editing",
        action="store_true",
        help="instead: time piano-roll edits (key or mouse press to the note drawn) and the "
        "timer's lateness while editing (`benchmarks.gui_editing`)",
    )
    add_json(parser)
    # Internal: the subprocess that measures one start-up (its parent sets the cache folder).
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)


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


def open_window(args: argparse.Namespace):
    """The real main window (offscreen, transport bar included) with the songs imported; returns
    (app, window, import report), or None after printing why not."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ..resources import sample_midi_dir
    from ..ui.app import build_main_window, create_application

    app = create_application()
    window = build_main_window()
    window.resize(1400, 900)
    window.show()
    folder = Path(args.folder) if args.folder else sample_midi_dir()
    window.import_paths([folder])
    browser = window.browser
    # Train refuses while the import job is still winding down, after its report arrived.
    if not wait_until(app, lambda: browser.report is not None and not browser.is_importing(), 300):
        print("bench gui: import did not finish", file=sys.stderr)
        return None
    report = window.browser.report
    if not report.loaded:
        print(f"bench gui: no songs in {folder}", file=sys.stderr)
        return None
    return app, window, report


def measure_startup(args: argparse.Namespace) -> dict | None:
    """Press Train with the panel's default settings and time each step until the window shows
    the first finished epoch (seconds after the press)."""
    opened = open_window(args)
    if opened is None:
        return None
    app, window, _report = opened
    panel = window.training
    panel.autosave_to = None
    # A musician looks at the imported songs before pressing Train; meanwhile the window loads
    # JAX and compiles the form's training program for them (`TrainingPanel.warming_up`).
    # The bench waits for that, as they would, and reports how long it took.
    waited = time.perf_counter()
    wait_until(app, lambda: not panel.warming_up(), 600)
    warm_up_s = time.perf_counter() - waited
    jax_loaded = "jax" in sys.modules
    marks: dict[str, float] = {}
    first: dict = {}
    t0 = cpu0 = 0.0

    def on_progress(p) -> None:
        now = time.perf_counter() - t0
        marks.setdefault(f"{p.phase}_report_s", now)
        if p.phase == "training" and p.epoch >= 1 and "first_epoch_s" not in marks:
            marks["first_epoch_s"] = now
            # CPU seconds of the whole process (every thread): what load does not change
            marks["first_epoch_cpu_s"] = time.process_time() - cpu0
            first.update(epoch=int(p.epoch), batches_per_epoch=int(p.batches_per_epoch))

    panel.progressReceived.connect(on_progress)
    t0, cpu0 = time.perf_counter(), time.process_time()
    panel.train_button.click()
    if not panel.is_training():
        print(f"bench gui: Train did not start ({panel.phase_label.text()})", file=sys.stderr)
        return None
    shown = wait_until(app, lambda: "first_epoch_s" in marks, 600)
    label = panel.epoch_label.text()
    trainer = panel.worker.trainer if panel.worker is not None else None
    panel.stop()
    wait_until(app, lambda: not panel.is_training(), 60)
    window.close()
    app.processEvents()
    if not shown:
        print("bench gui: no epoch was shown within 10 minutes", file=sys.stderr)
        return None
    from ..platform.jax_setup import jax_cache_dir

    return {
        **{k: round(v, 3) for k, v in marks.items()},
        **first,
        "epoch_label": label,
        "trainer_compile_s": round(getattr(trainer, "compile_seconds", None) or 0.0, 3),
        "chunk": getattr(getattr(trainer, "spec", None), "chunk", None),
        "jax_imported_before_train": jax_loaded,
        "warm_up_wait_s": round(warm_up_s, 3),
        "cache_files_after": sum(1 for _ in jax_cache_dir().iterdir()),
    }


def child_command() -> list[str]:
    """How to start this program again: the frozen app itself, or this Python with `-m`."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "rbm_studio"]


@contextlib.contextmanager
def busy_processes(n: int):
    """`n` processes spinning at normal priority for the duration of the block."""
    spinners = (
        [
            subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
            for _ in range(n)
        ]
        if n > 0 and not getattr(sys, "frozen", False)
        else []
    )
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def startup_pair(args: argparse.Namespace) -> dict:
    """Cold then warm Train-to-first-epoch, each in a fresh subprocess sharing one new cache."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="rbm-studio-bench-startup-") as scratch:
        env = {k: v for k, v in os.environ.items() if k not in JAX_CACHE_VARIABLES}
        env["QT_QPA_PLATFORM"] = "offscreen"
        for name in ("RBM_STUDIO_CACHE_DIR", "RBM_STUDIO_DATA_DIR", "RBM_STUDIO_CONFIG_DIR"):
            env[name] = str(Path(scratch) / name.lower())
        command = [*child_command(), "bench", "gui", "--startup-child", "--json"]
        if args.folder:
            command += ["--folder", str(args.folder)]
        for phase in ("cold", "warm"):
            started = time.perf_counter()
            with busy_processes(args.load):
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=900, check=False
                )
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                tail = (done.stderr or "").strip().splitlines()[-5:]
                results[phase] = {"error": f"exit {done.returncode}: " + " | ".join(tail)}
                continue
            result = json.loads(lines[-1])
            result["process_s"] = round(time.perf_counter() - started, 2)
            target = TARGET_FIRST_EPOCH_S[phase]
            result["target_s"] = target
            result["meets_target"] = result["first_epoch_s"] <= target
            results[phase] = result
    return results


def measure_training_latency(args: argparse.Namespace) -> dict | None:
    """Timer lateness with the window idle, then while the worker trains."""
    from ..models import registry

    opened = open_window(args)
    if opened is None:
        return None
    app, window, report = opened
    idle = measure_lateness(app, args.idle_seconds)

    window.training.autosave_to = None
    config = window.training.config()  # the default preset, as a new user trains it
    if args.hidden is not None:
        window.training.set_config(config.with_values(hidden=args.hidden))
    hidden = window.training.config().hidden
    updates = {"n": 0}
    window.training.progressReceived.connect(lambda _p: updates.__setitem__("n", updates["n"] + 1))
    if not window.train():
        print("bench gui: training did not start", file=sys.stderr)
        return None
    compile_started = time.monotonic()
    if not wait_until(app, lambda: window.training.state == "training", 600):
        print("bench gui: training never left the compile phase", file=sys.stderr)
        return None
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
    return {
        "songs": len(report.loaded),
        "hidden": hidden,
        "preset": registry.matching_preset(window.training.config()),
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


def print_latency(result: dict, args: argparse.Namespace) -> None:
    i, t = result["idle"], result["training"]
    print(
        f"GUI timer lateness, {TICK_MS} ms timer, {result['songs']} songs, H={result['hidden']} "
        f"(preset {result['preset'] or 'changed'}) "
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
        f"  training handled : {result['training_reports']} progress reports, "
        f"{result['heatmap_updates']} heatmap redraws, epoch {result['epochs_done']}; "
        f"compile {result['compile_s']} s; Stop took {result['stop_s']} s"
    )
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(
        f"  p99 while training {verdict} the {TARGET_P99_MS:.0f} ms target "
        f"({result['p99_ratio_vs_idle']}x the idle p99)"
    )


def print_startup(startup: dict, load: int) -> None:
    busy = f", {load} spinning processes alongside" if load else ""
    print(
        f"Train pressed → first epoch shown (panel defaults, fresh process each{busy}; Train "
        "is pressed once the window's warm-up — JAX loaded, the training program compiled for "
        "the imported songs — is done, as a musician would after a look at the songs)"
    )
    for phase, r in startup.items():
        if "error" in r:
            print(f"  {phase:4} compile cache: failed ({r['error']})")
            continue
        verdict = "meets" if r["meets_target"] else "MISSES"
        print(
            f"  {phase:4} compile cache: {r['first_epoch_s']:6.2f} s ({verdict} ≤ "
            f"{r['target_s']:.0f} s; {r.get('first_epoch_cpu_s', 0):.2f} CPU s); trainer ready {r.get('compiling_report_s', 0):.2f} s, "
            f"compile {r['trainer_compile_s']:.2f} s, first report "
            f"{r.get('training_report_s', 0):.2f} s; warm-up before Train "
            f"{r.get('warm_up_wait_s', 0):.2f} s"
        )


def run(args: argparse.Namespace) -> int:
    scratch = tempfile.TemporaryDirectory(prefix="rbm-studio-bench-gui-")
    for name in ("RBM_STUDIO_CONFIG_DIR", "RBM_STUDIO_DATA_DIR"):
        os.environ[name] = str(Path(scratch.name) / name.lower())
    if args.editing:
        from . import gui_editing

        return gui_editing.run(args, open_window, measure_lateness, wait_until)
    if args.startup_child:
        startup = measure_startup(args)
        scratch.cleanup()
        if startup is None:
            return 1
        print(json.dumps(startup))
        return 0

    # The start-up children run first, before this process loads Qt and JAX.
    result: dict = {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "extra_load": args.load,
    }
    if not args.no_startup:
        result["first_epoch"] = startup_pair(args)
    if not args.no_latency:
        latency = measure_training_latency(args)
        if latency is None:
            return 1
        result.update(latency)
    scratch.cleanup()
    if args.json:
        print(json.dumps(result))
        return 0
    if not args.no_latency:
        print_latency(result, args)
    if "first_epoch" in result:
        print_startup(result["first_epoch"], args.load)
    return 0
