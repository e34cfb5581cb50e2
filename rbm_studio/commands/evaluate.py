"""`rbm-studio evaluate`: how probable does a trained model find held-out music?

Prints the mean log-likelihood per frame (grid step) and per window, with log Z exact for small
models and by Annealed Importance Sampling otherwise. On a polyphonic benchmark (`--benchmark`) the
per-frame figure is the one the literature reports, so a frame-level model can be compared with
published results; `--folder` evaluates on your own MIDI songs in the model's encoding.

An AIS figure is only printed as a figure when the estimate has converged (each kind says how it
checks: the RBM by the spread of its importance weights, the RNN-RBM by forward and reverse AIS
agreeing); otherwise it prints "not converged" with the reason, `"converged": false` in `--json`,
and exits with status 3 (0: converged or exact, 1: an error, 2: bad options).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import BAD_REQUEST, CommandError, add_device, add_json, add_seed

# AIS limits: the schedule is held in memory, and betas × chains sweeps is the run time.
MAX_BETAS = 1_000_000
MAX_CHAINS = 100_000
MAX_BETA_CHAIN_STEPS = 10**9

# exit status when the estimate has not converged (0: converged or exact, 1: error, 2: usage)
NOT_CONVERGED = 3

NAME = "evaluate"
HELP = "log-likelihood of songs under a trained .rbm model (AIS or exact log Z)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.rbm")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--benchmark", metavar="FILE.mat", help="a polyphonic benchmark corpus")
    src.add_argument("--folder", metavar="PATH", help="a folder of MIDI files (or one file)")
    parser.add_argument(
        "--split", choices=("train", "valid", "test"), default="test", help="benchmark split"
    )
    parser.add_argument(
        "--method",
        choices=("auto", "exact", "ais"),
        default="auto",
        help="log Z by enumeration or AIS (auto: exact when a layer has at most 20 units)",
    )
    parser.add_argument(
        "--betas", type=int, default=None, help="AIS inverse temperatures (default: the kind's)"
    )
    parser.add_argument("--chains", type=int, default=None, help="AIS chains (default: the kind's)")
    add_seed(parser, help="AIS random seed")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.1,
        help="nats per frame the AIS estimate may be uncertain by (RNN-RBM: forward and reverse "
        "AIS must agree this well; RBM: 3σ of log Z per frame); beyond it the figure is reported "
        "as not converged and the exit status is 3",
    )
    add_json(parser)
    add_device(parser)


def _load_data(args, model):
    """(songs to evaluate, songs for an estimator's base rates, description)."""
    if args.benchmark:
        from ..data.benchmark_data import load_benchmark

        corpus = load_benchmark(args.benchmark)
        pieces = corpus.split(args.split)
        return pieces, corpus.train, f"{corpus.name} {args.split} split ({len(pieces)} pieces)"
    from .common import import_songs_or_exit

    path = Path(args.folder)
    matrices = import_songs_or_exit(path, model.data_encoding).matrices
    return matrices, matrices, f"{path} ({len(matrices)} songs)"


def _check_ais(betas: int | None, chains: int | None, tolerance: float) -> None:
    """Refuse an AIS schedule too small to mean anything or too large to finish."""
    if (betas is not None and betas < 3) or (chains is not None and chains < 2):
        raise CommandError("AIS needs --betas ≥ 3 and --chains ≥ 2", BAD_REQUEST)
    if not 0.0 < tolerance < 1e6:
        raise CommandError("--tolerance must be a positive number of nats per frame", BAD_REQUEST)
    if (betas or 0) > MAX_BETAS or (chains or 0) > MAX_CHAINS:
        raise CommandError(
            f"AIS takes at most --betas {MAX_BETAS:,} and --chains {MAX_CHAINS:,}", BAD_REQUEST
        )
    if (betas or 0) * (chains or 0) > MAX_BETA_CHAIN_STEPS:
        raise CommandError(
            f"--betas × --chains is {betas * chains:,} Gibbs sweeps; at most "
            f"{MAX_BETA_CHAIN_STEPS:,} (days of work otherwise)",
            BAD_REQUEST,
        )


def _evaluate(args: argparse.Namespace, model):
    """(the kind's report, a description of the data) for the songs the options name."""
    from ..models import registry
    from ..models.base import EvaluateRequest

    try:
        songs, base, source = _load_data(args, model)
        request = EvaluateRequest(
            songs=songs,
            base=base,
            method=args.method,
            betas=args.betas,
            chains=args.chains,
            seed=args.seed,
            tolerance=args.tolerance,
        )
        return registry.kind(model.kind).evaluate(model, request), source
    except Exception as exc:  # BenchmarkDataError, OSError, ValueError: one clear line
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from .common import choose_device, load_model_or_exit

    choose_device(args.device)
    _check_ais(args.betas, args.chains, args.tolerance)
    model = load_model_or_exit(args.model)
    started = time.perf_counter()
    report, source = _evaluate(args, model)
    seconds = time.perf_counter() - started
    if args.json:
        out = report.to_dict()
        out.update(
            {
                "model": str(args.model),
                "data": source,
                "frame_level": model.frame_level,
                "n_visible": model.n_visible,
                "n_hidden": model.n_hidden,
                "seconds": round(seconds, 3),
            }
        )
        print(json.dumps(out))
        return 0 if report.converged is not False else NOT_CONVERGED
    label = registry.kind(model.kind).label
    print(f"model: {args.model} ({label}, V={model.n_visible}, H={model.n_hidden})")
    print(f"data:  {source}")
    print(report.summary())
    for line in report.lines:
        print(line)
    print(f"({seconds:.1f} s)", file=sys.stderr)
    return 0 if report.converged is not False else NOT_CONVERGED
