"""`rbm-studio bench scale`: how training and the corpus store scale.

- devices: RBM training epochs/s on 1, 2, 4 … forced host devices (each run a fresh process with
  `XLA_FLAGS=--xla_force_host_platform_device_count=N`; compile time left out). On one CPU the
  forced devices share the same cores, so this shows the cost of the collectives, not a speed-up.
- import: files/s (best of `--repeat`) and peak RSS of `import DIR --corpus` (one worker, so the
  figure is the store's, not the process pool's start-up) on 1×, 4×, 16× a folder, the larger
  ones made of transposed copies of its songs.
- train: peak RSS of one epoch of `train --corpus` on each of those corpora.

Every figure comes from a child process (its own peak RSS, via `wait4`); streaming shows as
peak RSS that hardly grows with the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..commands.common import BAD_REQUEST, add_json, fail

NAME = "scale"
HELP = "epochs/s against devices; corpus import files/s and peak RSS, training peak RSS vs size"

NOTTINGHAM = Path(__file__).resolve().parents[2].parent / "shared/data/midi/nottingham-sample"
# transpositions used to grow the folder (first k of them for k× the songs)
SHIFTS = (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8, 9, -9, 10)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder",
        nargs="?",
        help="MIDI folder to grow (default: the Nottingham sample if present, else the bundled "
        "songs)",
    )
    add_json(parser)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4], metavar="N")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16], metavar="K")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each devices run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="imports per size: the best files/s is kept"
    )


def _child_env(devices: int = 1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


# The child writes its own peak (VmHWM) at exit: a child's ru_maxrss starts from the forking
# process's peak (Linux carries it over at exec), which would hide anything smaller than this
# benchmark's own memory.
PEAK_WRAPPER = (
    "import atexit, os, sys\n"
    "def _peak():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kib = next(l.split()[1] for l in f if l.startswith('VmHWM'))\n"
    "    with open(os.environ['RBM_STUDIO_PEAK_FILE'], 'w') as f:\n"
    "        f.write(kib)\n"
    "atexit.register(_peak)\n"
    "from rbm_studio.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _measure(cmd: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """(stdout, wall seconds, peak RSS MiB) of a child process."""
    peak_file, shown = None, cmd
    if Path("/proc/self/status").is_file() and cmd[1:3] == ["-m", "rbm_studio"]:
        fd, peak_file = tempfile.mkstemp(prefix="rbm-peak-")
        os.close(fd)
        cmd = [cmd[0], "-c", PEAK_WRAPPER, *cmd[3:]]
        env = {**env, "RBM_STUDIO_PEAK_FILE": peak_file}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().strip().splitlines()[-1:] or ["(no message)"]
            raise RuntimeError(f"{' '.join(shown[2:5])}… failed: {tail[0]}")
        # ru_maxrss is KiB on Linux, bytes on macOS
        rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        if peak_file is not None:
            text = Path(peak_file).read_text().strip()
            Path(peak_file).unlink(missing_ok=True)
            if text:
                rss = int(text) / 2**10
        return out.read(), wall, rss


def _grow(folder: Path, scale: int, out: Path) -> int:
    """`out` filled with `scale` transposed copies of every MIDI file in `folder` (drums kept as
    they are); returns the number of files."""
    import mido

    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    for shift in SHIFTS[:scale]:
        for path in files:
            midi = mido.MidiFile(path)
            for track in midi.tracks:
                for i, msg in enumerate(track):
                    if msg.type in ("note_on", "note_off") and msg.channel != 9:
                        track[i] = msg.copy(note=min(127, max(0, msg.note + shift)))
            midi.save(out / f"{path.stem}_t{shift:+d}.mid")
    return len(files) * min(scale, len(SHIFTS))


def _devices_child(epochs: int) -> None:
    """Runs in a child: train the default RBM on the bundled songs, print epochs/s."""
    import jax

    from ..data.dataset import import_folder
    from ..models import registry
    from ..resources import sample_midi_dir

    report = import_folder(sample_midi_dir(), workers=1)
    config = registry.default_config(epochs=epochs, batch_size=128, holdout_fraction=0.0)
    trainer = registry.make_trainer(config, report.matrices, report.encoding)
    last = None
    for progress in trainer:
        last = progress
    print(json.dumps({"n": jax.device_count(), "epochs_per_s": epochs / max(last.elapsed, 1e-9)}))


def run(args: argparse.Namespace) -> int:
    from ..resources import sample_midi_dir

    folder = Path(args.folder) if args.folder else None
    if folder is None:
        folder = NOTTINGHAM if NOTTINGHAM.is_dir() else sample_midi_dir()
    if not folder.is_dir():
        return fail(f"{folder} is not a folder")
    if max(args.scales) > len(SHIFTS) or min(args.scales + args.devices) < 1:
        return fail(f"scales must be 1..{len(SHIFTS)} and devices at least 1", BAD_REQUEST)
    exe = [sys.executable, "-m", "rbm_studio"]
    result: dict[str, list] = {"devices": [], "import": [], "train": []}
    try:
        for n in args.devices:
            code = f"from rbm_studio.benchmarks.scale import _devices_child; _devices_child({args.epochs})"
            out, _, _ = _measure([sys.executable, "-c", code], _child_env(n))
            result["devices"].append(json.loads(out))
            _say(args, f"devices {n}: {result['devices'][-1]['epochs_per_s']:.2f} epochs/s")
        with tempfile.TemporaryDirectory(prefix="rbm-bench-scale-") as tmp:
            env = _child_env() | {"RBM_STUDIO_CACHE_DIR": str(Path(tmp) / "cache")}
            for scale in args.scales:
                songs = Path(tmp) / f"x{scale}"
                files = _grow(folder, scale, songs)
                corpus = Path(tmp) / f"x{scale}.rbmc"
                cmd = [*exe, "import", str(songs), "--corpus", str(corpus), "--workers", "1"]
                seconds, rss = float("inf"), 0.0
                for _ in range(max(args.repeat, 1)):
                    out, _, peak = _measure([*cmd, "--json"], env)
                    seconds = min(seconds, json.loads(out)["seconds"])
                    rss = max(rss, peak)
                result["import"].append(
                    {
                        "scale": scale,
                        "files": files,
                        "files_per_s": files / max(seconds, 1e-9),
                        "peak_rss_mb": rss,
                    }
                )
                _say(args, f"import {scale}×: {files / seconds:.0f} files/s, peak {rss:.0f} MiB")
                cmd = [*exe, "train", "--corpus", str(corpus), "--out", str(Path(tmp) / "m.rbm")]
                _, wall, rss = _measure([*cmd, "--epochs", "1", "--hidden", "50"], env)
                result["train"].append({"scale": scale, "peak_rss_mb": rss, "seconds": wall})
                _say(args, f"train  {scale}×: peak {rss:.0f} MiB ({wall:.0f} s)")
    except RuntimeError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps(result))
    return 0


def _say(args: argparse.Namespace, line: str) -> None:
    print(line, file=sys.stderr if args.json else sys.stdout, flush=True)
