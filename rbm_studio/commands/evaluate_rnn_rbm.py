"""`rbm-studio evaluate` for kind "rnn-rbm" models (called by `commands/evaluate.py`).

Each frame has its own conditional RBM, so log Z is estimated per frame by AIS (all frames and
chains in one vectorised run): cheaper settings than the windowed RBM's single log Z are the
default (1000 β × 32 chains), and the report adds the frame accuracy the literature quotes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

DEFAULT_BETAS = 1000
DEFAULT_CHAINS = 32


def run_rnn_rbm(args: argparse.Namespace, model) -> int:
    from ..models.rnn_rbm.evaluator import evaluate_frames
    from ..models.rnn_rbm.model import model_sequences
    from ..music.encoding import Encoding

    try:
        if args.benchmark:
            from ..data.benchmark_data import load_benchmark

            corpus = load_benchmark(args.benchmark)
            matrices = corpus.split(args.split)
            source = f"{corpus.name} {args.split} split ({len(matrices)} pieces)"
        else:
            from pathlib import Path

            from ..data.dataset import import_folder

            path = Path(args.folder)
            if not path.exists():
                raise ValueError(f"{path} does not exist")
            enc = model.encoding
            if model.frame_level and "data_encoding" in model.dataset:
                enc = Encoding.from_dict(model.dataset["data_encoding"])
            report = import_folder(path, enc)
            for r in report.skipped:
                print(f"skipped {r.path.name}: {r.reason}", file=sys.stderr)
            if not report.loaded:
                raise ValueError(f"no usable MIDI songs in {path}")
            matrices = report.matrices
            source = f"{path} ({len(matrices)} songs)"
        if not model.frame_level and any(m.encoding != model.encoding for m in matrices):
            raise ValueError(
                f"the songs use encoding {matrices[0].encoding}, the model {model.encoding}"
            )
        sequences = [s for s in model_sequences(model, matrices) if len(s)]
        if sequences and sequences[0].shape[1] != model.n_visible:
            raise ValueError(
                f"the songs give {sequences[0].shape[1]} visible units, "
                f"the model has {model.n_visible}"
            )
        betas = args.betas or DEFAULT_BETAS
        chains = args.chains or DEFAULT_CHAINS
        started = time.perf_counter()
        result = evaluate_frames(
            model.params, sequences, n_chains=chains, n_betas=betas, seed=args.seed
        )
    except Exception as exc:  # BenchmarkDataError, OSError, ValueError: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "kind": model.kind,
                    "data": source,
                    "frames": result.frames,
                    "per_frame": result.log_likelihood,
                    "per_frame_sem": result.stderr,
                    "frame_accuracy": result.accuracy,
                    "ais_spread": result.ais_spread,
                    "n_betas": betas,
                    "n_chains": chains,
                    "seed": args.seed,
                    "frame_level": model.frame_level,
                    "n_visible": model.n_visible,
                    "n_hidden": model.n_hidden,
                    "seconds": round(seconds, 3),
                }
            )
        )
        return 0
    print(f"model: {args.model} (RNN-RBM, V={model.n_visible}, H={model.n_hidden})")
    print(f"data:  {source}: {result.frames} frames")
    print(result.summary())
    print(f"({seconds:.1f} s)", file=sys.stderr)
    return 0
