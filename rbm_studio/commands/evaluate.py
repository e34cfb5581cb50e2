"""`rbm-studio evaluate`: how probable does a trained model find held-out music?

Prints the mean log-likelihood per frame (grid step) and per window, with log Z exact for small
models and by Annealed Importance Sampling otherwise. On a polyphonic benchmark (`--benchmark`) the
per-frame figure is the one the literature reports, so a frame-level model can be compared with
published results; `--folder` evaluates on your own MIDI songs in the model's encoding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

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
        "--betas", type=int, default=None, help="AIS inverse temperatures (10000; rnn-rbm 1000)"
    )
    parser.add_argument("--chains", type=int, default=None, help="AIS chains (100; rnn-rbm 32)")
    parser.add_argument("--seed", type=int, default=0, help="AIS random seed")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _data_encoding(model):
    """The grid and pitch range songs must be encoded with before the model's window extraction."""
    from ..music.encoding import Encoding

    if model.frame_level and "data_encoding" in model.dataset:
        return Encoding.from_dict(model.dataset["data_encoding"])
    return model.encoding


def _load_data(args, model):
    """(matrices to evaluate, matrices for the AIS base rate, description)."""
    if args.benchmark:
        from ..data.benchmark_data import load_benchmark

        corpus = load_benchmark(args.benchmark)
        pieces = corpus.split(args.split)
        return pieces, corpus.train, f"{corpus.name} {args.split} split ({len(pieces)} pieces)"
    from ..data.dataset import import_folder

    path = Path(args.folder)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    report = import_folder(path, _data_encoding(model))
    for r in report.skipped:
        print(f"skipped {r.path.name}: {r.reason}", file=sys.stderr)
    if not report.loaded:
        raise ValueError(f"no usable MIDI songs in {path}")
    matrices = report.matrices
    return matrices, matrices, f"{path} ({len(matrices)} songs)"


def run(args: argparse.Namespace) -> int:
    from ..models.model_file import ModelFileError, load_model

    if (args.betas is not None and args.betas < 3) or (args.chains is not None and args.chains < 2):
        print("error: AIS needs --betas ≥ 3 and --chains ≥ 2", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if model.kind == "rnn-rbm":
        from .evaluate_rnn_rbm import run_rnn_rbm

        return run_rnn_rbm(args, model)
    args.betas = args.betas or 10_000
    args.chains = args.chains or 100
    if model.kind != "rbm":
        print(
            f"error: evaluate handles kind 'rbm' models, this one is {model.kind!r}",
            file=sys.stderr,
        )
        return 1
    try:
        matrices, base_matrices, source = _load_data(args, model)
    except Exception as exc:  # BenchmarkDataError, OSError, ValueError: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 1

    from ..models.evaluation import log_likelihood, visible_rows

    started = time.perf_counter()
    try:
        rows = visible_rows(model, matrices)
        base_rows = rows if base_matrices is matrices else visible_rows(model, base_matrices)
        if rows.shape[1] != model.n_visible:
            raise ValueError(
                f"the songs give {rows.shape[1]} visible units, the model has {model.n_visible}"
            )
        report = log_likelihood(
            model,
            rows,
            method=args.method,
            data_mean=base_rows.mean(axis=0) if base_rows.shape[0] else None,
            n_betas=args.betas,
            n_chains=args.chains,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
        return 0
    level = "frame-level" if model.frame_level else f"windows of {model.window}"
    print(f"model: {args.model} (V={model.n_visible}, H={model.n_hidden}, {level})")
    print(f"data:  {source}: {report.n_frames} frames in {report.n_windows} windows")
    if report.log_z_method == "ais":
        how = f"AIS, {report.n_betas} betas, {report.n_chains} chains, seed {report.seed}"
        print(f"log Z: {report.log_z:.4f} ± {report.log_z_spread:.4f} ({how}; ± = 3σ)")
    else:
        print(f"log Z: {report.log_z:.4f} (exact)")
    print(
        f"log-likelihood per frame:  {report.per_frame:.4f} ± {report.per_frame_spread:.4f}"
        f"  (standard error over windows {report.per_frame_sem:.4f})"
    )
    print(f"log-likelihood per window: {report.per_window:.4f} ± {report.per_window_spread:.4f}")
    print(f"({seconds:.1f} s)", file=sys.stderr)
    return 0
