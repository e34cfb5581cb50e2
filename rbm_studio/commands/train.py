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
    parser.add_argument(
        "--model",
        dest="model_kind",
        choices=("rbm", "rnn-rbm"),
        default="rbm",
        help="rbm (windows, the tutorial's) or rnn-rbm (recurrent: long, coherent songs)",
    )
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (50; rnn-rbm 150)")
    parser.add_argument("--window", type=int, default=15, help="grid steps per visible window")
    parser.add_argument("--stride", type=int, default=None, help="window stride (default: window)")
    parser.add_argument(
        "--lr", type=float, default=None, help="learning rate (0.005; rnn-rbm 0.001 with Adam)"
    )
    parser.add_argument("--lr-decay", type=float, default=0.0, help="lr / (1 + decay·epoch)")
    parser.add_argument(
        "--batch", type=int, default=None, help="mini-batch size (100; rnn-rbm 16 sequences)"
    )
    parser.add_argument(
        "--cd-k", type=int, default=None, help="Gibbs steps per update (1; rnn-rbm 15)"
    )
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
    rnn = parser.add_argument_group("rnn-rbm options")
    rnn.add_argument("--recurrent", type=int, default=100, help="recurrent units")
    rnn.add_argument("--recurrence", choices=("rnn", "gru"), default="rnn")
    rnn.add_argument("--seq-len", type=int, default=128, help="training sub-sequence steps")
    rnn.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    rnn.add_argument("--grad-clip", type=float, default=1.0, help="gradient-norm clip")
    rnn.add_argument("--pretrain-epochs", type=int, default=10, help="frame-RBM pre-training")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def _config(args):
    from ..models.config import TrainingConfig

    rnn = args.model_kind == "rnn-rbm"

    def pick(value, rbm_default, rnn_default):
        return value if value is not None else (rnn_default if rnn else rbm_default)

    return TrainingConfig(
        model=args.model_kind,
        recurrent_hidden=args.recurrent,
        recurrence=args.recurrence,
        sequence_length=args.seq_len,
        optimizer=args.optimizer,
        grad_clip=args.grad_clip,
        pretrain_epochs=args.pretrain_epochs,
        hidden=pick(args.hidden, 50, 150),
        window=args.window,
        stride=args.stride,
        learning_rate=pick(args.lr, 0.005, 0.001),
        lr_decay=args.lr_decay,
        batch_size=pick(args.batch, 100, 16),
        cd_k=pick(args.cd_k, 1, 15),
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


def _amount(summary: dict) -> str:
    if "train_windows" in summary:
        return f"{summary['train_windows']} windows"
    return f"{summary['train_songs']} songs"


def _load_songs(args):
    """(matrices, encoding) from the chosen source; raises SystemExit-worthy messages as ValueError."""
    if args.benchmark:
        from ..data.benchmark_data import load_benchmark

        corpus = load_benchmark(args.benchmark)
        return corpus.train, corpus.train[0].encoding, f"benchmark {corpus.name} (train split)"
    from ..data.dataset import import_folder
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
    from ..models.model_file import ModelFileError, load_model, save_model

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

    from ..models.rbm.trainer import make_trainer
    from .progress import ProgressBar

    try:
        trainer = make_trainer(config, matrices, encoding, model=previous)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"training {config.model} on {source}: {_amount(trainer.dataset_summary)}, "
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
                    "model_kind": model.kind,
                    "train_windows": trainer.dataset_summary.get("train_windows"),
                    "train_songs": trainer.dataset_summary.get("train_songs"),
                    "n_visible": model.n_visible,
                    "n_hidden": model.n_hidden,
                    "compile_s": trainer.compile_seconds,
                }
            )
        )
    return 130 if cancelled else 0
