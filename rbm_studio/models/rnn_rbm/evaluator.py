"""How good is an RNN-RBM on held-out songs: mean log-likelihood per frame and frame accuracy.

Each frame t has its own RBM (biases from u(t-1)), so each needs its own partition function.
`rnn_rbm.ais_log_partition_frames` estimates them all at once — frames × chains vectorised, scanned
over the inverse temperatures — and log p(v(t) | past) = −F_t(v(t)) − log Z_t. The numbers are the
ones the literature reports (natural log, averaged over every frame of the split).

Frame accuracy (Bay et al. 2009, the paper's second measure) is TP / (TP + FP + FN) summed over all
frames, with the counts taken in expectation under each frame's conditional marginals p(v_i = 1 |
past): E[TP] = Σ y·p, E[FP] = Σ (1−y)·p, E[FN] = Σ y·(1−p). The marginals are the mean-field
visible probabilities averaged over the final (β = 1) AIS chains, i.e. estimated by sampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import network as rnn_rbm
from .training import pad_sequences


@dataclass(frozen=True, slots=True)
class FrameLikelihoodReport:
    """Per-frame log-likelihood (nats) with its standard error over frames, and frame accuracy."""

    log_likelihood: float
    stderr: float
    accuracy: float
    frames: int
    ais_spread: float  # mean over frames of the std of the AIS log-weights (lower = tighter)
    n_chains: int
    n_betas: int

    def summary(self) -> str:
        return (
            f"log-likelihood per frame {self.log_likelihood:.3f} ± {self.stderr:.3f} "
            f"(frames {self.frames}, AIS {self.n_chains} chains × {self.n_betas} β, "
            f"log-weight spread {self.ais_spread:.3f}); frame accuracy {100 * self.accuracy:.1f}%"
        )


def frame_conditionals(
    params: dict, sequences: Sequence[np.ndarray], group: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every real frame of `sequences` with the RBM biases it is predicted with:
    (frames [N, V], bv [N, V], bh [N, H]), sequences concatenated in order."""
    params = {k: jnp.asarray(v) for k, v in params.items()}
    frames_out, bv_out, bh_out = [], [], []
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    chunks: dict[int, tuple] = {}
    for start in range(0, len(order), group):
        idx = order[start : start + group]
        frames, mask = pad_sequences([np.asarray(sequences[i], np.float32) for i in idx])
        bv, bh = _biases(params, jnp.asarray(frames))
        bv, bh = np.asarray(bv), np.asarray(bh)
        for j, i in enumerate(idx):
            n = int(mask[j].sum())
            chunks[i] = (frames[j, :n], bv[j, :n], bh[j, :n])
    for i in range(len(sequences)):
        f, v, h = chunks[i]
        frames_out.append(f)
        bv_out.append(v)
        bh_out.append(h)
    return np.concatenate(frames_out), np.concatenate(bv_out), np.concatenate(bh_out)


@jax.jit
def _biases(params: dict, frames: jax.Array) -> tuple[jax.Array, jax.Array]:
    return rnn_rbm.frame_biases(params, rnn_rbm.previous_states(params, frames))


def evaluate_frames(
    params: dict,
    sequences: Sequence[np.ndarray],
    *,
    n_chains: int = 100,
    n_betas: int = 1000,
    seed: int = 0,
    block: int = 256,
) -> FrameLikelihoodReport:
    """Mean log p(v(t) | v(<t)) over every frame of `sequences`, by AIS (see module doc)."""
    if not sequences or not any(len(s) for s in sequences):
        raise ValueError("no frames to evaluate")
    frames, bv, bh = frame_conditionals(params, [s for s in sequences if len(s)])
    W = jnp.asarray(params["W"], jnp.float32)
    betas = jnp.asarray(rnn_rbm.beta_schedule(n_betas))
    n = len(frames)
    log_p = np.empty(n, np.float64)
    spread = np.empty(n, np.float64)
    marg = np.empty(frames.shape, np.float64)
    for start in range(0, n, block):
        stop = min(start + block, n)
        pad = block - (stop - start)
        sl = slice(start, stop)
        fb, vb, hb = (np.pad(a[sl], ((0, pad), (0, 0))) for a in (frames, bv, bh))
        block_seed = jnp.uint32((seed * 1_000_003 + start) % 2**32)
        log_z, spr, p = rnn_rbm.ais_log_partition_frames(W, vb, hb, block_seed, betas, n_chains)
        f = rnn_rbm.conditional_free_energy(W, vb, hb, fb)
        log_p[sl] = np.asarray(-f - log_z, np.float64)[: stop - start]
        spread[sl] = np.asarray(spr)[: stop - start]
        marg[sl] = np.asarray(p)[: stop - start]
    y = frames.astype(np.float64)
    tp = float(np.sum(y * marg))
    fp = float(np.sum((1 - y) * marg))
    fn = float(np.sum(y * (1 - marg)))
    return FrameLikelihoodReport(
        log_likelihood=float(log_p.mean()),
        stderr=float(log_p.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
        accuracy=tp / max(tp + fp + fn, 1e-12),
        frames=n,
        ais_spread=float(spread.mean()),
        n_chains=n_chains,
        n_betas=n_betas,
    )


def exact_frame_log_likelihood(params: dict, sequences: Sequence[np.ndarray]) -> float:
    """The same mean log-likelihood with every log Z by enumeration (tiny models, tests)."""
    frames, bv, bh = frame_conditionals(params, sequences)
    W = np.asarray(params["W"], np.float64)
    log_z = rnn_rbm.exact_log_partition_frames(W, bv, bh)
    f = -np.sum(frames * bv, -1) - np.logaddexp(0.0, bh + frames @ W).sum(-1)
    return float(np.mean(-f - log_z))


def mean_free_energy(params: dict, sequences: Sequence[np.ndarray]) -> float:
    """Mean conditional free energy F_t(v(t)) per frame (for the training overfitting gap)."""
    frames, bv, bh = frame_conditionals(params, sequences)
    W = np.asarray(params["W"], np.float32)
    f = -np.sum(frames * bv, -1) - np.logaddexp(0.0, bh + frames @ W).sum(-1)
    return float(f.mean())
