"""`rbm-studio bench train`: our RBM training speed against scikit-learn's BernoulliRBM.

Both train the tutorial's shape (windows of 15 steps, V = 2340, H = 50, batch 100, learning rate
0.005, one Gibbs step) on the same windows of the bundled sample songs, in this process, in
float32. Ours is `Trainer` (compile time excluded and reported separately as `compile_s`, measured
with the persistent compile cache off); sklearn's is `BernoulliRBM.fit` with `n_iter` epochs.
Achieved GFLOP/s counts the five matmuls of one CD-1 update (v→h, h→v, v'→h' and the two gradient
outer products, 2·B·V·H each) for every real window, against numpy's float32 2048² matmul in the
same run. Each side is timed `--repeat` times, interleaved; best and median are reported.
`xla_cd1_matmuls_gflops` is what XLA reaches on the bare matmul chain at this shape (no sampling or
bookkeeping): the ceiling for any JAX trainer here, for context. `numpy_cd1_matmuls_gflops` is the
same five products through numpy's BLAS (both cores): how much of the 2048² peak matrices this
small can use at all.
Targets: ratio ≥ 4, achieved ≥ 50 % of the matmul peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

NAME = "train"
HELP = "epochs/s of our RBM training against scikit-learn's BernoulliRBM, and GFLOP/s vs peak"

RATIO_TARGET = 4.0
PEAK_FRACTION_TARGET = 0.5
MIN_SECONDS = 3.0  # each timed run lasts at least about this long


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="MIDI folder (default: the bundled sample songs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side")
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--window", type=int, default=15)
    parser.add_argument("--batch", type=int, default=100)


def matmul_peak_gflops(n: int = 2048, repeat: int = 5) -> float:
    """This machine's single-precision matmul rate through numpy (best of `repeat`)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2.0 * n**3 / best / 1e9


def xla_cd1_matmul_gflops(batch: int, n_visible: int, n_hidden: int, repeat: int = 5) -> float:
    """The ceiling XLA itself reaches at this shape: the five CD-1 matmuls (with their sigmoids)
    chained in a compiled scan, no sampling, masking or bookkeeping. Context for
    `achieved_gflops`: how much of the gap to numpy's peak is XLA's CPU matmul, not the trainer."""
    import jax
    import jax.numpy as jnp

    steps = 32
    v = jax.random.bernoulli(jax.random.PRNGKey(0), 0.05, (batch, n_visible)).astype(jnp.float32)
    WT0 = 0.01 * jax.random.normal(jax.random.PRNGKey(1), (n_hidden, n_visible), jnp.float32)

    @jax.jit
    def chain(WT):
        # the trainer's layout (W as [H, V], hidden probabilities [H, B], hidden states [B, H],
        # here rounded probabilities in place of samples): five plain row-major dots
        def body(WT, _):
            phT = jax.nn.sigmoid(WT @ v.T)
            pv = jax.nn.sigmoid(jnp.round(phT.T) @ WT)
            ph1T = jax.nn.sigmoid(WT @ pv.T)
            return WT + 1e-4 * (phT @ v - ph1T @ pv), None

        return jax.lax.scan(body, WT, None, length=steps)[0]

    chain(WT0).block_until_ready()
    best = min(_timed(lambda: chain(WT0).block_until_ready()) for _ in range(repeat))
    return 5 * 2.0 * batch * n_visible * n_hidden * steps / best / 1e9


def numpy_cd1_matmul_gflops(batch: int, n_visible: int, n_hidden: int, repeat: int = 5) -> float:
    """numpy's BLAS on the five CD-1 products at this shape (v→h, h→v, v'→h', two gradients),
    without the sigmoids and sampling: the peer's ceiling for the trainer's matmul work."""
    import numpy as np

    rng = np.random.default_rng(0)
    v = (rng.random((batch, n_visible)) < 0.05).astype(np.float32)
    W = (0.01 * rng.standard_normal((n_visible, n_hidden))).astype(np.float32)
    WT = np.ascontiguousarray(W.T)
    h = np.round(rng.random((batch, n_hidden))).astype(np.float32)
    reps = 50

    def chain() -> None:
        for _ in range(reps):
            ph = v @ W
            pv = h @ WT
            ph1 = pv @ W
            v.T @ ph
            pv.T @ ph1

    chain()
    best = min(_timed(chain) for _ in range(repeat))
    return 5 * 2.0 * batch * n_visible * n_hidden * reps / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _ours(config, matrices, encoding, epochs: int):
    """(training seconds excluding compile, compile seconds, trainer)."""
    from ..models.rbm.trainer import RbmTrainer

    trainer = RbmTrainer(
        config.__class__(**{**config.to_dict(), "epochs": epochs}), matrices, encoding
    )
    progress = list(trainer)
    if progress[-1].phase != "done":
        raise RuntimeError(f"training stopped early ({progress[-1].phase})")
    return progress[-1].elapsed, trainer.compile_seconds, trainer


def _sklearn(X, hidden: int, batch: int, lr: float, epochs: int) -> float:
    from sklearn.neural_network import BernoulliRBM

    rbm = BernoulliRBM(
        n_components=hidden, learning_rate=lr, batch_size=batch, n_iter=epochs, random_state=0
    )
    return _timed(lambda: rbm.fit(X))


def run(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from ..data.dataset import import_folder
    from ..models.config import TrainingConfig
    from ..resources import sample_midi_dir

    jax.config.update("jax_enable_compilation_cache", False)  # report a cold compile
    path = Path(args.path) if args.path else sample_midi_dir()
    report = import_folder(path)
    if not report.loaded:
        print(f"error: no usable MIDI songs in {path}", file=sys.stderr)
        return 1
    config = TrainingConfig(
        hidden=args.hidden, window=args.window, batch_size=args.batch, holdout_fraction=0.0
    )
    matrices, encoding = report.matrices, report.encoding

    # calibrate: a short run of each (also compiles ours) sizes the timed runs to MIN_SECONDS
    calibration_epochs = 20
    seconds, compile_s, trainer = _ours(config, matrices, encoding, calibration_epochs)
    X = np.asarray(trainer._data.train[: trainer.n_train], dtype=np.float32)
    n_windows, n_visible = X.shape
    ours_epochs = max(5, int(calibration_epochs * MIN_SECONDS / max(seconds, 1e-3)))
    sk_seconds = _sklearn(X, args.hidden, args.batch, config.learning_rate, 1)
    sk_epochs = max(1, int(MIN_SECONDS / max(sk_seconds, 1e-3)))
    print(
        f"{n_windows} windows, V={n_visible} H={args.hidden} batch {args.batch}; timing "
        f"{ours_epochs} epochs (ours) and {sk_epochs} (sklearn) × {args.repeat}",
        file=sys.stderr,
    )

    ours, sk, peaks, ceilings, blas = [], [], [], [], []
    for i in range(args.repeat):
        t, _, _ = _ours(config, matrices, encoding, ours_epochs)
        ours.append(ours_epochs / t)
        sk.append(sk_epochs / _sklearn(X, args.hidden, args.batch, config.learning_rate, sk_epochs))
        peaks.append(matmul_peak_gflops())
        ceilings.append(xla_cd1_matmul_gflops(args.batch, n_visible, args.hidden))
        blas.append(numpy_cd1_matmul_gflops(args.batch, n_visible, args.hidden))
        print(
            f"run {i + 1}: ours {ours[-1]:.1f} epochs/s, sklearn {sk[-1]:.2f} epochs/s, "
            f"numpy matmul {peaks[-1]:.0f} GFLOP/s",
            file=sys.stderr,
        )
    flops_per_epoch = 5 * 2.0 * n_windows * n_visible * args.hidden
    best_ours, best_sk, peak = max(ours), max(sk), max(peaks)
    achieved = best_ours * flops_per_epoch / 1e9
    result = {
        "ours_epochs_per_s": round(best_ours, 3),
        "sklearn_epochs_per_s": round(best_sk, 3),
        "ratio": round(best_ours / best_sk, 2),
        "achieved_gflops": round(achieved, 1),
        "matmul_peak_gflops": round(peak, 1),
        "compile_s": round(compile_s, 2),
        "peak_fraction": round(achieved / peak, 3),
        "xla_cd1_matmuls_gflops": round(max(ceilings), 1),
        "numpy_cd1_matmuls_gflops": round(max(blas), 1),
        "ours_epochs_per_s_median": round(statistics.median(ours), 3),
        "sklearn_epochs_per_s_median": round(statistics.median(sk), 3),
        "ratio_median": round(statistics.median(o / s for o, s in zip(ours, sk, strict=True)), 2),
        "windows": n_windows,
        "n_visible": n_visible,
        "n_hidden": args.hidden,
        "batch": args.batch,
        "repeat": args.repeat,
        "targets": {"ratio": RATIO_TARGET, "peak_fraction": PEAK_FRACTION_TARGET},
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0
