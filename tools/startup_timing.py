"""Start-up time of the frozen app next to the same from source, measured in one run.

    .venv/bin/python tools/startup_timing.py [--repeats N] [--bundle dist/rbm-studio]

Launches `rbm-studio --self-test` offscreen from source (`.venv/bin/rbm-studio`) and frozen
(`dist/rbm-studio/rbm-studio`), alternating so machine load hits both alike. Each launch gets
`RBM_STUDIO_STARTUP_LOG`; the app writes wall-clock marks when its window is shown and when the
self-test is done (`rbm_studio.platform.startup_marks`), and this script subtracts the moment it
started the process. "cold" is a first launch with an empty user cache (song import cache and JAX
compile cache); "warm" is the next launch with that cache filled. Prints a table of medians and
the frozen/source ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rbm_studio.platform.startup_marks import ENV_VAR, read_marks  # noqa: E402

EVENTS = ("window_shown", "self_test_done", "exit")


def launch(command: list[str], cache: Path, scratch: Path) -> dict[str, float]:
    """Seconds from starting the process to each event."""
    log = scratch / f"marks-{time.monotonic_ns()}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RBM_STUDIO_"))}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        RBM_STUDIO_CACHE_DIR=str(cache),
        RBM_STUDIO_DATA_DIR=str(scratch / "data"),
        RBM_STUDIO_CONFIG_DIR=str(scratch / "config"),
        **{ENV_VAR: str(log)},
    )
    started = time.time()
    proc = subprocess.run(
        command + ["--self-test"], env=env, cwd=scratch, capture_output=True, text=True
    )
    ended = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} --self-test failed:\n{proc.stdout}\n{proc.stderr}")
    marks = read_marks(log)
    missing = [e for e in EVENTS[:2] if e not in marks]
    if missing:
        raise SystemExit(f"{command[0]} wrote no {', '.join(missing)} mark to {log}")
    return {**{e: marks[e] - started for e in EVENTS[:2]}, "exit": ended - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="cold+warm pairs per variant")
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "rbm-studio")
    parser.add_argument("--source", type=Path, default=ROOT / ".venv" / "bin" / "rbm-studio")
    args = parser.parse_args()
    variants = {"source": [str(args.source)], "frozen": [str(args.bundle / "rbm-studio")]}
    for name, command in variants.items():
        if not Path(command[0]).is_file():
            raise SystemExit(f"{name}: {command[0]} not found")

    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="rbm-studio-startup-") as scratch_name:
        scratch = Path(scratch_name)
        for repeat in range(args.repeats):
            caches = {name: scratch / f"cache-{name}-{repeat}" for name in variants}
            for phase in ("cold", "warm"):
                for name, command in variants.items():
                    timing = launch(command, caches[name], scratch)
                    results.setdefault((name, phase), []).append(timing)
                    print(
                        f"  {name:6} {phase}: window {timing['window_shown']:.2f} s, "
                        f"self-test {timing['self_test_done']:.2f} s",
                        flush=True,
                    )

    print(f"\nrbm-studio --self-test, median of {args.repeats} (seconds from launch)\n")
    print(
        f"| {'variant':8} | {'cache':5} | {'window shown':>12} | {'self-test done':>14} | {'exit':>6} |"
    )
    print(f"|{'-' * 10}|{'-' * 7}|{'-' * 14}|{'-' * 16}|{'-' * 8}|")
    medians = {
        key: {e: statistics.median(t[e] for t in runs) for e in EVENTS}
        for key, runs in results.items()
    }
    for phase in ("cold", "warm"):
        for name in variants:
            m = medians[(name, phase)]
            print(
                f"| {name:8} | {phase:5} | {m['window_shown']:12.2f} | "
                f"{m['self_test_done']:14.2f} | {m['exit']:6.2f} |"
            )
    print()
    for phase in ("cold", "warm"):
        frozen, source = medians[("frozen", phase)], medians[("source", phase)]
        print(
            f"frozen/source ({phase}): window shown ×{frozen['window_shown'] / source['window_shown']:.2f}, "
            f"self-test done ×{frozen['self_test_done'] / source['self_test_done']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
