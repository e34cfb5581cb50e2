"""`rbm-studio train`: train an RBM on a MIDI folder, the bundled samples or a benchmark corpus.

Ctrl-C (or SIGTERM) stops training between chunks and still saves the model trained so far; a
second Ctrl-C aborts without saving.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

NAME = "train"
HELP = "train an RBM on MIDI songs and save it as a .rbm model file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("path", nargs="?", help="folder of MIDI files (or one MIDI file)")
    src.add_argument("--sample", action="store_true", help="train on the bundled sample songs")
    src.add_argument(
        "--benchmark", metavar="FILE.mat", help="train on a polyphonic benchmark's train split"
    )
    parser.add_argument("--out", required=True, metavar="MODEL.rbm", help="where to save the model")
    parser.add_argument("--continue-from", metavar="MODEL.rbm", help="keep training this model")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=50, help="hidden units")
    parser.add_argument("--window", type=int, default=15, help="grid steps per visible window")
    parser.add_argument("--stride", type=int, default=None, help="window stride (default: window)")
    parser.add_argument("--lr", type=float, default=0.005, help="learning rate")
    parser.add_argument("--lr-decay", type=float, default=0.0, help="lr / (1 + decay·epoch)")
    parser.add_argument("--batch", type=int, default=100, help="mini-batch size")
    parser.add_argument("--cd-k", type=int, default=1, help="Gibbs steps per update")
    parser.add_argument("--pcd", action="store_true", help="persistent contrastive divergence")
    parser.add_argument(
        "--momentum", type=float, default=0.9, help="final momentum (0.5 for the first 5 epochs)"
    )
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay")
    parser.add_argument("--sparsity-target", type=float, default=None)
    parser.add_argument("--sparsity-cost", type=float, default=0.0)
    parser.add_argument("--holdout", type=float, default=0.1, help="held-out window fraction")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--frame-level", action="store_true", help="one 88-key frame per visible layer"
    )
    parser.add_argument(
        "--transpose", type=int, default=0, help="augment with shifts of ±1..N semitones"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def _config(args):
    from ..core.config import TrainingConfig

    return TrainingConfig(
        hidden=args.hidden,
        window=args.window,
        stride=args.stride,
        learning_rate=args.lr,
        lr_decay=args.lr_decay,
        batch_size=args.batch,
        cd_k=args.cd_k,
        pcd=args.pcd,
        momentum_start=min(0.5, args.momentum),
        momentum_end=args.momentum,
        weight_decay=args.weight_decay,
        sparsity_target=args.sparsity_target,
        sparsity_cost=args.sparsity_cost if args.sparsity_target is not None else 0.0,
        epochs=args.epochs,
        seed=args.seed,
        frame_level=args.frame_level,
        transpose=args.transpose,
        holdout_fraction=args.holdout,
    )


def _load_songs(args):
    """(matrices, encoding) from the chosen source; raises SystemExit-worthy messages as ValueError."""
    if args.benchmark:
        from ..core.benchmark_data import load_benchmark

        corpus = load_benchmark(args.benchmark)
        return corpus.train, corpus.train[0].encoding, f"benchmark {corpus.name} (train split)"
    from ..core.dataset import import_folder
    from ..resources import sample_midi_dir
    from .progress import ProgressBar

    path = sample_midi_dir() if args.sample else Path(args.path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    bar = ProgressBar(0, "import")
    report = import_folder(path, progress=lambda done, total, p: _bar_update(bar, done, total))
    bar.close()
    for r in report.skipped:
        print(f"skipped {r.path.name}: {r.reason}", file=sys.stderr)
    if not report.loaded:
        raise ValueError(f"no usable MIDI songs in {path}")
    return report.matrices, report.encoding, f"{len(report.loaded)} songs from {path}"


def _bar_update(bar, done: int, total: int) -> None:
    bar.total = total
    bar.update(done)


def run(args: argparse.Namespace) -> int:
    from ..core.model_file import ModelFileError, load_model, save_model

    config = _config(args)
    problems = config.validate()
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        previous = load_model(args.continue_from) if args.continue_from else None
        matrices, encoding, source = _load_songs(args)
    except (ValueError, ModelFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. BenchmarkDataError: a clear line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1

    from ..core.training import Trainer
    from .progress import ProgressBar

    try:
        trainer = Trainer(config, matrices, encoding, model=previous)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"training on {source}: {trainer.dataset_summary['train_windows']} windows, "
        f"V={trainer.n_visible} H={trainer.n_hidden}",
        file=sys.stderr,
    )

    def stop(signum, frame):
        trainer.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old_int = signal.signal(signal.SIGINT, stop)
    old_term = signal.signal(signal.SIGTERM, stop)
    bar = ProgressBar(config.epochs, "train")
    last = None
    try:
        for p in trainer:
            last = p
            if p.phase == "compiling":
                bar.update(0, "compiling…")
                continue
            gap = "" if p.free_energy_gap is None else f" gap {p.free_energy_gap:.2f}"
            bar.update(p.epoch - trainer.epoch_offset, f"recon {p.recon_error:.4f}{gap}")
    finally:
        bar.close()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    model = trainer.snapshot()
    save_model(model, out)
    cancelled = last is not None and last.phase == "cancelled"
    done_epochs = model.epochs_trained - trainer.epoch_offset
    verb = "interrupted; saved the model trained so far" if cancelled else "saved"
    print(f"{verb}: {out} ({done_epochs} epochs)", file=sys.stderr)
    if args.json:
        final = model.history[-1] if model.history else {}
        print(
            json.dumps(
                {
                    "model": str(out),
                    "epochs": model.epochs_trained,
                    "cancelled": cancelled,
                    "recon_error": final.get("recon_error"),
                    "free_energy_gap": final.get("free_energy_gap"),
                    "train_windows": trainer.dataset_summary["train_windows"],
                    "n_visible": model.n_visible,
                    "n_hidden": model.n_hidden,
                    "compile_s": trainer.compile_seconds,
                }
            )
        )
    return 130 if cancelled else 0
