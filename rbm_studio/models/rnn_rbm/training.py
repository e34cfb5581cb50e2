"""Training the RNN-RBM: frame-RBM pre-training, then CD-k with gradients through time.

Sequences are cut into mini-batches of equal-length sub-sequences (padded and masked, so no frame
is dropped); the gradient of the free-energy surrogate (`rnn_rbm.cd_loss`) flows through the
per-frame biases into the recurrence, is clipped by global norm and applied with Adam (a few lines
here, no extra dependency) or SGD with momentum. Everything is seeded: the same config and data give
the same parameters.

`train_rnn_rbm` is a generator of `StepReport`s so a front end (the app's `Trainer`, the CLI, the
benchmark script) can show progress, pause or stop between steps without threads in here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..config import TrainingConfig
from ..sharding import BatchMesh, batch_mesh, to_host
from . import network as rnn_rbm
from .spec import own

# the frame-RBM pre-training steps 10× larger than the recurrent training (the paper's recipe)
PRETRAIN_LR_FACTOR = 10.0


@dataclass
class StepReport:
    """Progress after one optimisation step (phase "pretrain" or "train")."""

    phase: str
    epoch: int  # completed epochs of this phase
    epochs: int
    batch: int
    batches_per_epoch: int
    loss: float
    recon_error: float
    free_energy: float
    epoch_end: bool
    elapsed: float
    params: dict = field(repr=False, default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Data


def pad_sequences(sequences: Sequence[np.ndarray], length: int | None = None):
    """Stack [T_i, V] sequences into frames [B, L, V] float32 and mask [B, L] (1 = real frame)."""
    length = max(len(s) for s in sequences) if length is None else length
    V = sequences[0].shape[1]
    frames = np.zeros((len(sequences), length, V), np.float32)
    mask = np.zeros((len(sequences), length), np.float32)
    for i, s in enumerate(sequences):
        n = min(len(s), length)
        frames[i, :n] = s[:n]
        mask[i, :n] = 1.0
    return frames, mask


def cut_subsequences(
    sequences: Sequence[np.ndarray], seq_len: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Each sequence in pieces of at most `seq_len` frames; longer ones start at a random offset
    each epoch so the cut points move. A piece that fits is kept whole (starting from u0 as at
    generation time)."""
    out = []
    for s in sequences:
        n = len(s)
        if n <= seq_len:
            out.append(s)
            continue
        first = int(rng.integers(1, seq_len + 1))
        cuts = [0, *range(first, n, seq_len), n]
        out.extend(s[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a)
    return out


def epoch_batches(
    sequences: Sequence[np.ndarray], cfg: TrainingConfig, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled mini-batches of `batch_size` sub-sequences, all padded to `seq_len` (one compiled
    shape); the last batch is padded with empty, fully masked sequences."""
    pieces = cut_subsequences(sequences, own(cfg).sequence_length, rng)
    order = rng.permutation(len(pieces))
    V = sequences[0].shape[1]
    empty = np.zeros((0, V), np.float32)
    batches = []
    for start in range(0, len(order), cfg.batch_size):
        chosen = [pieces[i] for i in order[start : start + cfg.batch_size]]
        chosen += [empty] * (cfg.batch_size - len(chosen))
        batches.append(pad_sequences(chosen, own(cfg).sequence_length))
    return batches


def data_mean(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """Per-unit frequency over all frames (for the visible-bias initialisation)."""
    total = sum(np.asarray(s, np.float64).sum(0) for s in sequences)
    return total / max(sum(len(s) for s in sequences), 1)


# ---------------------------------------------------------------------------------------------
# Optimiser


def clip_by_global_norm(grads: dict, max_norm: float) -> tuple[dict, jax.Array]:
    norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
    scale = jnp.minimum(1.0, max_norm / (norm + 1e-12))
    return jax.tree_util.tree_map(lambda g: g * scale, grads), norm


def init_optimizer(params: dict) -> dict:
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": jax.tree_util.tree_map(jnp.zeros_like, params), "t": jnp.zeros(())}


def apply_update(
    params: dict, grads: dict, state: dict, lr: float, optimizer: str, momentum: float
) -> tuple[dict, dict]:
    """One Adam (β1 .9, β2 .999) or momentum-SGD step."""
    t = state["t"] + 1.0
    if optimizer == "sgd":
        m = jax.tree_util.tree_map(lambda m, g: momentum * m + g, state["m"], grads)
        new = jax.tree_util.tree_map(lambda p, m: p - lr * m, params, m)
        return new, {"m": m, "v": state["v"], "t": t}
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    step = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    new = jax.tree_util.tree_map(lambda p, m, v: p - step * m / (jnp.sqrt(v) + eps), params, m, v)
    return new, {"m": m, "v": v, "t": t}


def _decay(grads: dict, params: dict, weight_decay: float) -> dict:
    """L2 on the weight matrices (never on biases or u0)."""
    return {k: g + weight_decay * params[k] if params[k].ndim == 2 else g for k, g in grads.items()}


@functools.partial(jax.jit, static_argnames=("k", "optimizer"))
def train_step(params, opt_state, frames, mask, key, lr, clip, decay, momentum, *, k, optimizer):
    """One CD-k step through time on a padded batch."""
    (loss, parts), grads = jax.value_and_grad(rnn_rbm.cd_loss, has_aux=True)(
        params, frames, mask, key, k
    )
    grads, _ = clip_by_global_norm(_decay(grads, params, decay), clip)
    params, opt_state = apply_update(params, grads, opt_state, lr, optimizer, momentum)
    return params, opt_state, loss, parts


@functools.partial(jax.jit, static_argnames=("k", "optimizer"))
def pretrain_step(rbm, opt_state, frames, key, lr, clip, decay, momentum, *, k, optimizer):
    """One CD-k step of the frame-level RBM on a batch of single frames."""
    (loss, parts), grads = jax.value_and_grad(rnn_rbm.frame_rbm_loss, has_aux=True)(
        rbm, frames, key, k
    )
    grads, _ = clip_by_global_norm(_decay(grads, rbm, decay), clip)
    rbm, opt_state = apply_update(rbm, grads, opt_state, lr, optimizer, momentum)
    return rbm, opt_state, loss, parts


def _split_batch(mesh: BatchMesh, batch: np.ndarray) -> jax.Array:
    """A host mini-batch as one global array split over the devices along its first axis,
    padded with empty (fully masked, all-zero) rows to a multiple of the device count; this
    process contributes only its own rows."""
    padded = mesh.padded_batch(len(batch))
    if padded > len(batch):
        pad = np.zeros((padded - len(batch), *batch.shape[1:]), batch.dtype)
        batch = np.concatenate([batch, pad])
    return mesh.batch_array(batch[mesh.local_slice(padded)], 0, padded)


# ---------------------------------------------------------------------------------------------
# The loop


def initial_params(
    cfg: TrainingConfig, sequences: Sequence[np.ndarray], n_visible: int, n_context: int = 0
) -> dict[str, jax.Array]:
    return rnn_rbm.init_params(
        jax.random.PRNGKey(cfg.seed),
        n_visible,
        cfg.hidden,
        own(cfg).recurrent_hidden,
        cell=own(cfg).recurrence,
        data_mean=data_mean([s[:, :n_visible] for s in sequences]),
        n_context=n_context,
        previous=own(cfg).previous_step,
    )


def train_rnn_rbm(
    cfg: TrainingConfig,
    sequences: Sequence[np.ndarray],
    *,
    params: dict | None = None,
    pretrain: bool = True,
    n_context: int = 0,
) -> Iterator[StepReport]:
    """Train on `sequences` ([T_i, V] 0/1 arrays, followed by `n_context` given context columns),
    yielding a report after every step.

    `params` continues from an existing model (then no pre-training). Reports carry the live
    params (JAX arrays; copy before keeping them across steps). `cfg` is a checked config
    (`registry.check_request`)."""
    sequences = [np.asarray(s, np.float32) for s in sequences if len(s)]
    if not sequences:
        raise ValueError("no frames to train on")
    V = sequences[0].shape[1] - n_context
    rng = np.random.default_rng(cfg.seed)
    key = jax.random.PRNGKey(cfg.seed + 1)
    t0 = time.perf_counter()
    # parameters replicated on every device, each mini-batch split over them (`sharding`)
    mesh = batch_mesh(cfg.device)
    if params is None:
        params = initial_params(cfg, sequences, V, n_context)
    else:
        pretrain = False
    params = mesh.replicate(dict(params))
    args = dict(k=cfg.cd_k, optimizer=own(cfg).optimizer)

    if pretrain and own(cfg).pretrain_epochs:
        rbm, key = yield from _pretrain(cfg, sequences, params, mesh, rng, key, t0, args)
        params = params | rbm

    yield from _train_epochs(cfg, sequences, params, mesh, rng, key, t0, args)


def _train_epochs(
    cfg: TrainingConfig,
    sequences: list[np.ndarray],
    params: dict,
    mesh: BatchMesh,
    rng: np.random.Generator,
    key: jax.Array,
    t0: float,
    args: dict,
) -> Generator[StepReport, None, None]:
    """The main training: `cfg.epochs` passes over the mini-batches, a report after each step."""
    opt = mesh.replicate(init_optimizer(params))
    for epoch in range(cfg.epochs):
        batches = epoch_batches(sequences, cfg, rng)
        for b, (frames, mask) in enumerate(batches):
            key, sub = jax.random.split(key)
            params, opt, loss, parts = train_step(
                params,
                opt,
                _split_batch(mesh, frames),
                _split_batch(mesh, mask),
                sub,
                cfg.learning_rate,
                own(cfg).grad_clip,
                cfg.weight_decay,
                cfg.momentum_end,
                **args,
            )
            last = b + 1 == len(batches)
            loss, parts = to_host((loss, parts))
            yield StepReport(
                "train",
                epoch + last,
                cfg.epochs,
                b + 1,
                len(batches),
                float(loss),
                float(parts.recon_error),
                float(parts.free_energy),
                last,
                time.perf_counter() - t0,
                params,
            )


def _pretrain(
    cfg: TrainingConfig,
    sequences: list[np.ndarray],
    params: dict,
    mesh: BatchMesh,
    rng: np.random.Generator,
    key: jax.Array,
    t0: float,
    args: dict,
) -> Generator[StepReport, None, tuple[dict, jax.Array]]:
    """Pre-train the RBM's (and context) weights on single frames, yielding a report per step;
    returns the RBM's parameters and the random key to go on with."""
    all_frames = np.concatenate(sequences)
    frame_batch = mesh.padded_batch(cfg.batch_size * 8)
    n_batches = max(len(all_frames) // frame_batch, 1)
    rbm = {k: params[k] for k in rnn_rbm.RBM_KEYS + rnn_rbm.CONTEXT_KEYS if k in params}
    opt = mesh.replicate(init_optimizer(rbm))
    for epoch in range(own(cfg).pretrain_epochs):
        order = rng.permutation(len(all_frames))
        for b in range(n_batches):
            idx = order[b * frame_batch : (b + 1) * frame_batch]
            if len(idx) < frame_batch:  # keep one compiled shape
                idx = np.concatenate([idx, order[: frame_batch - len(idx)]])
            key, sub = jax.random.split(key)
            rbm, opt, loss, parts = pretrain_step(
                rbm,
                opt,
                _split_batch(mesh, all_frames[idx]),
                sub,
                own(cfg).pretrain_learning_rate or cfg.learning_rate * PRETRAIN_LR_FACTOR,
                own(cfg).grad_clip * 10,
                cfg.weight_decay,
                cfg.momentum_end,
                **args,
            )
            loss, parts = to_host((loss, parts))
            yield StepReport(
                "pretrain",
                epoch + (b + 1 == n_batches),
                own(cfg).pretrain_epochs,
                b + 1,
                n_batches,
                float(loss),
                float(parts.recon_error),
                float(parts.free_energy),
                b + 1 == n_batches,
                time.perf_counter() - t0,
                params | rbm,
            )
    return rbm, key
