"""The windowed RBM's own training maths: its initial parameters and the contrastive-divergence
statistics, in the layouts its trainer keeps (the RNN-RBM differentiates a free-energy surrogate
instead, so none of this is shared)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..energy import RBMParams, marginal_logits


def init_params(key: jax.Array, n_visible: int, n_hidden: int, data_mean=None) -> RBMParams:
    """W ~ N(0, 0.01²); visible biases log(p/(1-p)) of the data marginals (clipped); hidden 0."""
    W = 0.01 * jax.random.normal(key, (n_visible, n_hidden), dtype=jnp.float32)
    if data_mean is None:
        vbias = jnp.zeros((n_visible,), jnp.float32)
    else:
        vbias = jnp.asarray(marginal_logits(data_mean), dtype=jnp.float32)
    return RBMParams(W, vbias, jnp.zeros((n_hidden,), jnp.float32))


def cd_statistics_t(
    v_pos: jax.Array,
    hT_pos: jax.Array,
    v_neg: jax.Array,
    hT_neg: jax.Array,
    weights: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """CD statistics (dWᵀ [H, V], dvbias, dhbias) with the hidden states given as [H, B], the
    trainer's layout: the weight gradient is then a plain [H, B] @ [B, V] product, which XLA's CPU
    dot library (YNNPACK) handles; a transposed left operand falls back to a slower kernel.

    The row weights ride along as one extra hidden row, so each product also yields Σ_b w_b v_b,
    the visible-bias statistic, in place of a separate B×V subtraction and reduction."""
    if weights is None:
        weights = jnp.ones((v_pos.shape[0],), v_pos.dtype)
    n = jnp.maximum(jnp.sum(weights), 1.0)
    w_row = weights[None, :]
    wh_pos = hT_pos * w_row
    wh_neg = hT_neg * w_row
    pos = jnp.concatenate([wh_pos, w_row]) @ v_pos  # [H + 1, V]
    neg = jnp.concatenate([wh_neg, w_row]) @ v_neg
    dWT = (pos[:-1] - neg[:-1]) / n
    dv = (pos[-1] - neg[-1]) / n
    dh = jnp.sum(wh_pos - wh_neg, axis=1) / n
    return dWT, dv, dh
