"""`rbm-studio bench import DIR`: our folder import against pretty_midi on the same files.

pretty_midi is the usual way to get a piano roll from MIDI in Python, so it is the peer: for each
file `PrettyMIDI(path)` then `get_piano_roll(fs)` at the grid we use (4 steps per beat at the
song's first tempo). Ours is `import_folder` with a cold cache (a new empty cache directory: parse,
encode, write the cache, worker processes when they pay), warm through the folder manifest (what
reopening a folder in the app does) and warm through the song cache alone. Each figure is the best
of `--repeat` interleaved runs; results are ratios against pretty_midi in the same run.
Targets: cold >= 2x, warm >= 20x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from ..commands.common import add_json, add_workers

NAME = "import"
HELP = "files/s and notes/s of our MIDI import against pretty_midi, cold and warm cache"

COLD_TARGET = 2.0
WARM_TARGET = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="DIR", help="MIDI folder(s) or files")
    add_json(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; best is kept")
    add_workers(parser, help="worker processes for ours (default: automatic)")


def _pretty_midi_pass(files: list[Path], steps_per_beat: int) -> tuple[float, int]:
    """Seconds for pretty_midi to read every file into a piano roll; number of files it refused."""
    import pretty_midi

    failed = 0
    start = time.perf_counter()
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pm = pretty_midi.PrettyMIDI(str(path))
                _, tempi = pm.get_tempo_changes()
                bpm = float(tempi[0]) if len(tempi) else 120.0
                pm.get_piano_roll(fs=bpm / 60.0 * steps_per_beat)
        except Exception:
            failed += 1
    return time.perf_counter() - start, failed


def run(args: argparse.Namespace) -> int:
    try:
        import pretty_midi  # noqa: F401
    except ImportError:
        print("bench import needs pretty_midi (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    from ..data import dataset

    inputs = [Path(p) for p in args.paths]
    files, missing = dataset.collect_midi_files(inputs)
    if missing or not files:
        print(f"no MIDI files to measure in {' '.join(map(str, inputs))}", file=sys.stderr)
        return 1
    for path in files:  # same OS file cache for every contender
        path.read_bytes()
    best, report, pm_failed = _measure(files, inputs, max(args.repeat, 1), args.workers)
    result = _result(best, report, files, inputs, pm_failed, max(args.repeat, 1))
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return 0
    _print_result(result)
    return 0


def _measure(files: list[Path], inputs: list[Path], repeat: int, workers: int | None):
    """(best seconds of each contender, our import report, files pretty_midi refused), each of
    our passes in a fresh cache folder of its own."""
    from ..music.encoding import DEFAULT_ENCODING

    saved_env = os.environ.get("RBM_STUDIO_CACHE_DIR")
    best: dict[str, float] = {}
    report = None
    pm_failed = 0
    try:
        for _ in range(repeat):
            seconds, pm_failed = _pretty_midi_pass(files, DEFAULT_ENCODING.steps_per_beat)
            best["pretty_midi"] = min(best.get("pretty_midi", float("inf")), seconds)
            cache = tempfile.mkdtemp(prefix="rbm-bench-cache-")
            os.environ["RBM_STUDIO_CACHE_DIR"] = cache
            try:
                report = _our_passes(inputs, workers, best)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    finally:
        if saved_env is None:
            os.environ.pop("RBM_STUDIO_CACHE_DIR", None)
        else:
            os.environ["RBM_STUDIO_CACHE_DIR"] = saved_env
    assert report is not None
    return best, report, pm_failed


def _our_passes(inputs: list[Path], workers: int | None, best: dict[str, float]):
    """Cold, warm (folder manifest) and warm (song entries only) imports; keeps each one's best
    time in `best` and returns the cold import's report."""
    from ..data import dataset, import_cache

    def timed(name: str):
        start = time.perf_counter()
        report = dataset.import_folder(inputs, workers=workers)
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
        return report

    report = timed("cold")
    timed("warm")
    # Without the folder manifest only the content-keyed song entries can answer.
    shutil.rmtree(import_cache.cache_root() / "folders", ignore_errors=True)
    timed("warm_song_cache")
    return report


def _result(best, report, files, inputs, pm_failed: int, repeat: int) -> dict:
    from ..data import dataset

    n_files, n_notes = len(files), report.total_notes

    def figures(name: str) -> dict:
        seconds = best[name]
        return {
            "seconds": round(seconds, 4),
            "files_per_s": round(n_files / seconds, 1),
            "notes_per_s": round(n_notes / seconds, 1),
            "ratio": round(best["pretty_midi"] / seconds, 2),
        }

    result = {
        "paths": [str(p) for p in inputs],
        "files": n_files,
        "loaded": len(report.loaded),
        "notes": n_notes,
        "pretty_midi_failed": pm_failed,
        "repeat": repeat,
        "cpus": dataset.default_workers(),
        "pretty_midi": figures("pretty_midi"),
        "cold": figures("cold"),
        "warm": figures("warm"),
        "warm_song_cache": figures("warm_song_cache"),
        "targets": {"cold": COLD_TARGET, "warm": WARM_TARGET},
    }
    result["meets_targets"] = (
        result["cold"]["ratio"] >= COLD_TARGET and result["warm"]["ratio"] >= WARM_TARGET
    )
    return result


def _print_result(result: dict) -> None:
    print(
        f"{result['files']} files ({result['loaded']} loaded, {result['notes']:,} notes), "
        f"best of {result['repeat']}, {result['cpus']} CPUs"
    )
    print(f"{'':22} {'seconds':>9} {'files/s':>10} {'notes/s':>12} {'vs pretty_midi':>15}")
    labels = {
        "pretty_midi": "pretty_midi",
        "cold": "ours, cold cache",
        "warm": "ours, warm (folder)",
        "warm_song_cache": "ours, warm (songs)",
    }
    for key, label in labels.items():
        f = result[key]
        print(
            f"{label:22} {f['seconds']:9.3f} {f['files_per_s']:10.1f} "
            f"{f['notes_per_s']:12,.0f} {f['ratio']:14.2f}x"
        )
    verdict = "meets" if result["meets_targets"] else "MISSES"
    print(f"{verdict} the targets: cold >= {COLD_TARGET:g}x, warm >= {WARM_TARGET:g}x")
