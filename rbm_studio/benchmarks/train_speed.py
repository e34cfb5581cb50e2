"""`rbm-studio bench train`: our RBM training speed against numpy peers at their best.

Each shape (hidden units × batch; V = 2340 with the tutorial's windows of 15 steps) trains on the
same windows of the bundled sample songs, in this process, in float32, learning rate 0.005, CD-1
with momentum. Shapes whose batch the songs cannot fill four times over add transposed copies
(`--transpose`), so the large shape really runs batches of 1000.

Ours is `RbmTrainer` (compile time excluded, reported as `compile_s` with the persistent compile
cache off). The peers are a hand-tuned numpy CD-1 (`numpy_cd1.NumpyCD1`: the same step, float32,
preallocated buffers, in-place ops) and scikit-learn's `BernoulliRBM.fit`. numpy's BLAS runs
products this small faster on one thread than on two on some machines, so every peer is first
timed at each BLAS thread count (threadpoolctl) and then measured at its best one, named in the
report. Each side is timed `--repeat` times, interleaved; best and median ratios are reported.

Context, not targets: achieved GFLOP/s (the five CD-1 products per real window) against numpy's
float32 2048² matmul at its best thread count, what XLA reaches on the bare CD-1 matmul chain, and
what numpy's BLAS reaches on the same five bare products.
Targets: ≥ 1.5× the hand-tuned numpy CD-1 at every shape; ≥ 4× scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from ..commands.common import BAD_REQUEST, add_json, fail

NAME = "train"
HELP = "epochs/s of our RBM training against a hand-tuned numpy CD-1 and scikit-learn"

NUMPY_RATIO_TARGET = 1.5
SKLEARN_RATIO_TARGET = 4.0
DEFAULT_SHAPES = ["50x100", "500x1000"]
MIN_BATCHES = 4  # a shape gets transposed copies until its batch fits this often
MAX_TRANSPOSE = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="MIDI folder (default: the bundled sample songs)")
    add_json(parser)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side and shape")
    parser.add_argument(
        "--shapes",
        nargs="+",
        default=DEFAULT_SHAPES,
        metavar="HxB",
        help="hidden units x batch size (default: %(default)s)",
    )
    parser.add_argument("--window", type=int, default=15)
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="length of each timed run (default 3)"
    )


def parse_shape(text: str) -> tuple[int, int]:
    try:
        hidden, batch = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not HIDDENxBATCH") from None
    if hidden < 1 or batch < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r} needs positive sizes")
    return hidden, batch


def thread_counts() -> list[int]:
    """1, 2, 4 … up to the cores this process may use, and that number itself."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return [*counts, cores]


def _blas_threads(n: int):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_peak_gflops(threads: int, n: int = 2048, repeat: int = 3) -> float:
    """numpy's float32 n² matmul rate on `threads` BLAS threads (best of `repeat`)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    with _blas_threads(threads):
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2.0 * n**3 / best / 1e9


def xla_cd1_matmul_gflops(batch: int, n_visible: int, n_hidden: int, repeat: int = 3) -> float:
    """The ceiling XLA itself reaches at this shape: the five CD-1 matmuls (with their sigmoids)
    chained in a compiled scan, no sampling, masking or bookkeeping."""
    import jax
    import jax.numpy as jnp

    steps = max(1, min(32, int(2e10 / (10.0 * batch * n_visible * n_hidden))))
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


def numpy_cd1_matmul_gflops(
    batch: int, n_visible: int, n_hidden: int, threads: int, repeat: int = 3
) -> float:
    """numpy's BLAS on the five bare CD-1 products at this shape, on `threads` threads."""
    import numpy as np

    rng = np.random.default_rng(0)
    v = (rng.random((batch, n_visible)) < 0.05).astype(np.float32)
    WT = (0.01 * rng.standard_normal((n_hidden, n_visible))).astype(np.float32)
    h = np.round(rng.random((batch, n_hidden))).astype(np.float32)
    ph, pv, g = (np.empty(s, np.float32) for s in ((n_hidden, batch), v.shape, WT.shape))
    reps = max(1, min(50, int(2e10 / (10.0 * batch * n_visible * n_hidden))))

    def chain() -> None:
        for _ in range(reps):
            np.matmul(WT, v.T, out=ph)
            np.matmul(h, WT, out=pv)
            np.matmul(WT, pv.T, out=ph)
            np.matmul(ph, v, out=g)
            np.matmul(ph, pv, out=g)

    with _blas_threads(threads):
        chain()
        best = min(_timed(chain) for _ in range(repeat))
    return 5 * 2.0 * batch * n_visible * n_hidden * reps / best / 1e9


def _ours(config, matrices, encoding, epochs: int):
    """(training seconds excluding compile, compile seconds, trainer)."""
    from ..models import registry

    trainer = registry.make_trainer(config.with_values(epochs=epochs), matrices, encoding)
    progress = list(trainer)
    if progress[-1].phase != "done":
        raise RuntimeError(f"training stopped early ({progress[-1].phase})")
    return progress[-1].elapsed, trainer.compile_seconds, trainer


class _NumpyPeer:
    name = "numpy_cd1"

    def __init__(self, X, hidden: int, batch: int, config) -> None:
        self.args = (X, hidden, batch, config)

    def epochs_per_s(self, epochs: int, threads: int) -> float:
        from .numpy_cd1 import NumpyCD1

        with _blas_threads(threads):
            model = NumpyCD1(*self.args)
            return epochs / _timed(lambda: [model.train_epoch() for _ in range(epochs)])


class _SklearnPeer:
    name = "sklearn"

    def __init__(self, X, hidden: int, batch: int, config) -> None:
        self.X, self.hidden, self.batch, self.lr = X, hidden, batch, config.learning_rate

    def epochs_per_s(self, epochs: int, threads: int) -> float:
        from sklearn.neural_network import BernoulliRBM

        rbm = BernoulliRBM(
            n_components=self.hidden,
            learning_rate=self.lr,
            batch_size=self.batch,
            n_iter=epochs,
            random_state=0,
        )
        with _blas_threads(threads):
            return epochs / _timed(lambda: rbm.fit(self.X))


def _best_threads(peer, seconds: float, counts: list[int]) -> tuple[int, dict[str, float], int]:
    """(best thread count, epochs/s at each count, epochs that fill `seconds` at the best)."""
    one = peer.epochs_per_s(1, counts[0])  # warm-up, and a first estimate of the epoch time
    epochs = max(1, int(0.5 * seconds * one))
    by_threads = {str(n): round(peer.epochs_per_s(epochs, n), 3) for n in counts}
    best = max(counts, key=lambda n: by_threads[str(n)])
    return best, by_threads, max(1, int(seconds * by_threads[str(best)]))


def _transpose_for(config_kwargs: dict, matrices, encoding, batch: int) -> int:
    """The fewest transposed copies (0 … MAX_TRANSPOSE) that give MIN_BATCHES full batches."""
    from ..data.corpus import WindowSet

    window = config_kwargs["window"]
    n = WindowSet.from_matrices(matrices, window=window, stride=window, frame_level=False).n
    for k in range(MAX_TRANSPOSE + 1):
        if n * (2 * k + 1) >= MIN_BATCHES * batch:
            return k
    return MAX_TRANSPOSE


def _timed_runs(args, config, matrices, encoding, ours_epochs: int, peers, chosen):
    """`args.repeat` rounds of ours then each peer; return (ours epochs/s, {peer: epochs/s})."""
    ours: list[float] = []
    peer_runs: dict[str, list[float]] = {p.name: [] for p in peers}
    for i in range(args.repeat):
        t, _, _ = _ours(config, matrices, encoding, ours_epochs)
        ours.append(ours_epochs / t)
        for p in peers:
            threads, _, epochs = chosen[p.name]
            peer_runs[p.name].append(p.epochs_per_s(epochs, threads))
        print(
            f"  run {i + 1}: ours {ours[-1]:.2f} epochs/s, "
            + ", ".join(f"{name} {runs[-1]:.2f}" for name, runs in peer_runs.items()),
            file=sys.stderr,
        )
    return ours, peer_runs


def _peer_results(ours: list[float], peer_runs: dict[str, list[float]], chosen) -> dict:
    """Each peer's best speed, thread counts and ratio to ours (best and median)."""
    best_ours = max(ours)
    result: dict = {}
    for name, runs in peer_runs.items():
        threads, by_threads, _ = chosen[name]
        result |= {
            f"{name}_epochs_per_s": round(max(runs), 3),
            f"{name}_threads": threads,
            f"{name}_epochs_per_s_by_threads": by_threads,
            f"ratio_{name}": round(best_ours / max(runs), 2),
            f"ratio_{name}_median": round(
                statistics.median(o / r for o, r in zip(ours, runs, strict=True)), 2
            ),
        }
    return result


def measure_shape(hidden: int, batch: int, args, matrices, encoding, counts: list[int]) -> dict:
    import numpy as np

    from ..models.base import TrainingRows
    from ..models.config import TrainingConfig

    kwargs = {"hidden": hidden, "window": args.window, "batch_size": batch}
    transpose = _transpose_for(kwargs, matrices, encoding, batch)
    config = TrainingConfig(**kwargs, holdout_fraction=0.0, transpose=transpose)
    calibration_epochs = 10
    seconds, compile_s, trainer = _ours(config, matrices, encoding, calibration_epochs)
    if not isinstance(trainer, TrainingRows):
        raise SystemExit(f"bench train: a {config.model!r} trainer does not show its training rows")
    X = trainer.training_rows().astype(np.float32)
    n_windows, n_visible = X.shape
    ours_epochs = max(3, int(calibration_epochs * args.seconds / max(seconds, 1e-3)))
    peers = [_NumpyPeer(X, hidden, batch, config), _SklearnPeer(X, hidden, batch, config)]
    chosen = {p.name: _best_threads(p, args.seconds, counts) for p in peers}
    print(
        f"H={hidden} batch {batch}: {n_windows} windows (transpose {transpose}), V={n_visible}; "
        + ", ".join(f"{name} best on {c[0]} BLAS threads {c[1]}" for name, c in chosen.items()),
        file=sys.stderr,
    )
    ours, peer_runs = _timed_runs(args, config, matrices, encoding, ours_epochs, peers, chosen)
    best_ours = max(ours)
    flops_per_epoch = 5 * 2.0 * n_windows * n_visible * hidden
    numpy_threads = chosen["numpy_cd1"][0]
    result: dict = {
        "n_hidden": hidden,
        "batch": batch,
        "n_visible": n_visible,
        "windows": n_windows,
        "transpose": transpose,
        "ours_epochs_per_s": round(best_ours, 3),
        "ours_epochs_per_s_median": round(statistics.median(ours), 3),
        "compile_s": round(compile_s, 2),
    }
    result |= _peer_results(ours, peer_runs, chosen)
    result |= {
        "achieved_gflops": round(best_ours * flops_per_epoch / 1e9, 1),
        "numpy_cd1_gflops": round(max(peer_runs["numpy_cd1"]) * flops_per_epoch / 1e9, 1),
        "xla_cd1_matmuls_gflops": round(xla_cd1_matmul_gflops(batch, n_visible, hidden), 1),
        "numpy_cd1_matmuls_gflops": round(
            numpy_cd1_matmul_gflops(batch, n_visible, hidden, numpy_threads), 1
        ),
    }
    return result


def run(args: argparse.Namespace) -> int:
    import jax

    from ..data.dataset import import_folder
    from ..resources import sample_midi_dir

    try:
        shapes = [parse_shape(s) for s in args.shapes]
    except argparse.ArgumentTypeError as exc:
        return fail(exc, BAD_REQUEST)
    jax.config.update("jax_enable_compilation_cache", False)  # report a cold compile
    path = Path(args.path) if args.path else sample_midi_dir()
    report = import_folder(path)
    if not report.loaded:
        return fail(f"no usable MIDI songs in {path}")
    counts = thread_counts()
    results = [
        measure_shape(h, b, args, report.matrices, report.encoding, counts) for h, b in shapes
    ]
    peaks = {str(n): round(matmul_peak_gflops(n), 1) for n in counts}
    peak = max(peaks.values())
    for r in results:
        r["peak_fraction"] = round(r["achieved_gflops"] / peak, 3)
    result = {
        "shapes": results,
        "matmul_peak_gflops": peak,
        "matmul_peak_gflops_by_threads": peaks,
        "blas_thread_counts": counts,
        "repeat": args.repeat,
        "targets": {"ratio_numpy_cd1": NUMPY_RATIO_TARGET, "ratio_sklearn": SKLEARN_RATIO_TARGET},
        "met": all(
            r["ratio_numpy_cd1"] >= NUMPY_RATIO_TARGET
            and r["ratio_sklearn"] >= SKLEARN_RATIO_TARGET
            for r in results
        ),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    for r in results:
        print(
            f"H={r['n_hidden']} batch {r['batch']} ({r['windows']} windows): "
            f"ours {r['ours_epochs_per_s']} epochs/s; "
            f"{r['ratio_numpy_cd1']}× numpy CD-1 ({r['numpy_cd1_epochs_per_s']}, "
            f"{r['numpy_cd1_threads']} BLAS threads; median {r['ratio_numpy_cd1_median']}×), "
            f"{r['ratio_sklearn']}× scikit-learn ({r['sklearn_epochs_per_s']}, "
            f"{r['sklearn_threads']} threads); {r['achieved_gflops']} GFLOP/s against numpy CD-1 "
            f"{r['numpy_cd1_gflops']}, XLA bare chain {r['xla_cd1_matmuls_gflops']}, numpy bare "
            f"products {r['numpy_cd1_matmuls_gflops']}, 2048² peak {peak} "
            f"({r['peak_fraction']:.0%}); compile {r['compile_s']} s"
        )
    print(
        f"targets: ≥ {NUMPY_RATIO_TARGET}× numpy CD-1, ≥ {SKLEARN_RATIO_TARGET}× scikit-learn: "
        + ("met" if result["met"] else "not met")
    )
    return 0
