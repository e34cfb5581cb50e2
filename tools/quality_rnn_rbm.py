"""Train an RNN-RBM on a polyphonic benchmark (.mat) within a time budget and report the test
log-likelihood per frame (AIS) and frame accuracy — the figures compared with the literature.

Early stopping: every `--eval-every` epochs the validation log-likelihood is estimated with a cheap
reverse AIS (RAISE, conservative: a schedule too short for the model reads low, never high, as the
app's trainer does); the best parameters so far are kept and written to `--out` (an .npz, no
pickle). The final test figure uses the (much more expensive) settings `--chains` × `--betas`, by
forward AIS and RAISE: the true value lies about between them.

    .venv/bin/python tools/quality_rnn_rbm.py ../shared/data/polyphonic/JSB_Chorales.mat \
        --minutes 50 --out /tmp/jsb_rnn_rbm.npz
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rbm_studio.data.benchmark_data import load_benchmark_frames  # noqa: E402
from rbm_studio.models import registry  # noqa: E402
from rbm_studio.models.rnn_rbm import evaluator as rnn_rbm_eval  # noqa: E402
from rbm_studio.models.rnn_rbm import training as rnn_rbm_training  # noqa: E402
from rbm_studio.music.windows import transpose_rows  # noqa: E402

# This script's training options (the names its earlier runs used) → knobs (`TrainingConfig.value`).
OPTIONS = {
    "hidden": "hidden",
    "recurrent": "recurrent_hidden",
    "cell": "recurrence",
    "cd_k": "cd_k",
    "learning_rate": "learning_rate",
    "optimizer": "optimizer",
    "momentum": "momentum_end",
    "batch_size": "batch_size",
    "seq_len": "sequence_length",
    "epochs": "epochs",
    "pretrain_epochs": "pretrain_epochs",
    "pretrain_learning_rate": "pretrain_learning_rate",
    "grad_clip": "grad_clip",
    "weight_decay": "weight_decay",
    "seed": "seed",
}
FLOAT_OPTIONS = ("learning_rate", "momentum", "pretrain_learning_rate", "grad_clip", "weight_decay")


def save_params(path: Path, params: dict, meta: dict) -> None:
    """Atomic .npz of the parameters plus the JSON metadata as a uint8 array (no pickle)."""
    arrays = {k: np.asarray(v) for k, v in params.items()}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_params(path: Path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        return {k: z[k] for k in z.files if k != "__meta__"}, meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mat", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=50.0, help="training wall-time budget")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--valid-chains", type=int, default=8)
    ap.add_argument("--valid-betas", type=int, default=200)
    ap.add_argument(
        "--valid-pieces", type=int, default=30, help="validation pieces used for early stopping"
    )
    ap.add_argument("--chains", type=int, default=100, help="AIS chains for the test figure")
    ap.add_argument("--betas", type=int, default=1000, help="AIS β steps for the test figure")
    ap.add_argument("--test-only", action="store_true", help="evaluate --out on test, no training")
    ap.add_argument(
        "--test-pieces", type=int, default=0, help="evaluate only N test pieces (0: all)"
    )
    ap.add_argument(
        "--test-from", type=int, default=0, help="first test piece evaluated (for split runs)"
    )
    ap.add_argument("--patience", type=int, default=6, help="stop after this many worse evals")
    ap.add_argument(
        "--init",
        type=Path,
        help="continue training the parameters of an earlier --out file (no pre-training)",
    )
    ap.add_argument(
        "--transpose",
        type=int,
        default=0,
        help="augment the training pieces with every shift in -N..+N semitones (0: none)",
    )
    # the README's benchmark recipe: the paper's RNN-RBM, without the app's previous-step links
    defaults = registry.default_config(
        "rnn-rbm", epochs=100, holdout_fraction=0.0, previous_step=False
    )
    for option, name in OPTIONS.items():
        value = defaults.value(name)
        kind = float if option in FLOAT_OPTIONS else type(value)
        ap.add_argument("--" + option.replace("_", "-"), type=kind, default=value)
    args = ap.parse_args()
    cfg = registry.check_request(
        defaults.with_values(**{name: getattr(args, option) for option, name in OPTIONS.items()})
    )
    data = load_benchmark_frames(args.mat)
    print(
        f"{data.name}: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test "
        f"pieces; config {json.dumps(cfg.to_dict())}",
        flush=True,
    )
    valid_set = data.valid[: args.valid_pieces]
    train = list(data.train)
    shifts = [s for k in range(1, args.transpose + 1) for s in (k, -k)]
    train += [transpose_rows(piece, shift, 1) for shift in shifts for piece in data.train]
    if shifts:
        print(f"transposition augmentation: {len(train)} training pieces", flush=True)
    start, trained_before = None, 0.0
    if args.init:
        start, init_meta = load_params(args.init)
        trained_before = float(init_meta["train_seconds"])
        print(f"continuing {args.init} (trained {trained_before:.0f}s before)", flush=True)
    t0 = time.perf_counter()
    if not args.test_only:
        best, best_params, worse = -np.inf, None, 0
        budget = args.minutes * 60
        for report in rnn_rbm_training.train_rnn_rbm(cfg, train, params=start):
            if not report.epoch_end:
                if time.perf_counter() - t0 > budget:
                    break
                continue
            line = (
                f"[{report.elapsed:7.1f}s] {report.phase} epoch {report.epoch}/{report.epochs} "
                f"loss {report.loss:+.3f} recon {report.recon_error:.4f} F {report.free_energy:.2f}"
            )
            if report.phase == "train" and (
                report.epoch % args.eval_every == 0 or report.epoch == report.epochs
            ):
                params = {k: np.asarray(v) for k, v in report.params.items()}
                valid = rnn_rbm_eval.evaluate_frames(
                    params,
                    valid_set,
                    n_chains=args.valid_chains,
                    n_betas=args.valid_betas,
                    reverse=True,
                )
                line += f" | valid LL (RAISE) {valid.log_likelihood:.3f}"
                if valid.log_likelihood > best:
                    best, best_params, worse = valid.log_likelihood, params, 0
                    meta = {
                        "config": cfg.to_dict(),
                        "epoch": report.epoch,
                        "valid_ll": best,
                        "train_seconds": trained_before + time.perf_counter() - t0,
                        "data": str(args.mat.name),
                        "transpose": args.transpose,
                    }
                    save_params(args.out, params, meta)
                    line += " *"
                else:
                    worse += 1
            print(line, flush=True)
            if worse >= args.patience or time.perf_counter() - t0 > budget:
                break
        print(f"training stopped after {time.perf_counter() - t0:.0f}s; best valid LL {best:.3f}")
        if best_params is None:
            print("no evaluation happened; nothing saved", file=sys.stderr)
            return 1
    params, meta = load_params(args.out)
    t1 = time.perf_counter()
    stop = args.test_from + args.test_pieces if args.test_pieces else len(data.test)
    test_set = data.test[args.test_from : stop]
    test = rnn_rbm_eval.evaluate_frames(
        params, test_set, n_chains=args.chains, n_betas=args.betas, seed=args.test_from
    )
    low = rnn_rbm_eval.evaluate_frames(
        params,
        test_set,
        n_chains=args.chains,
        n_betas=args.betas,
        seed=args.test_from,
        reverse=True,
    )
    print(f"model {args.out} (epoch {meta['epoch']}, trained {meta['train_seconds']:.0f}s)")
    print(
        f"TEST {data.name} (pieces {args.test_from}–{args.test_from + len(test_set) - 1} of "
        f"{len(data.test)}): {test.summary()}; RAISE {low.log_likelihood:.3f} "
        f"[eval {time.perf_counter() - t1:.0f}s]",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
