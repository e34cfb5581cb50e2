"""`rbm-studio bench <what>`: run one benchmark from `rbm_studio.benchmarks`.

To add a benchmark, write `rbm_studio/benchmarks/<module>.py` (with `NAME`, `HELP`,
`add_arguments(parser)`, `run(args) -> int`) and add its module name to `BENCHMARK_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib

NAME = "bench"
HELP = "run a benchmark (speed as ratios against a peer measured in the same run)"

# Order is the order shown in `rbm-studio bench --help`.
BENCHMARK_MODULES = [
    "import_speed",
    "train_speed",
    "playback_drift",
    "gui_latency",
    "music_quality",
    "scale",
    "render_memory",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="WHAT", required=True)
    for name in BENCHMARK_MODULES:
        module = importlib.import_module(f"rbm_studio.benchmarks.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_bench=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args._bench(args) or 0)
