"""The Bernoulli–Bernoulli RBM's maths, once, for every kind: conditionals and the free energy.

Energy E(v, h) = -v·vbias - h·hbias - vᵀWh. `temperature` divides energies, so every conditional
probability is sigmoid(input / temperature); 1.0 is the model itself.

Biases broadcast per row: a plain RBM passes vectors, the RNN-RBM one bias row per frame (its
conditional RBMs share W), so the same functions serve both.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

INIT_MARGINAL_CLIP = 1e-3  # keeps logit(p) finite for pitches that never (or always) sound
_NUMPY_BATCH = 4096  # rows per numpy free-energy batch: bounds memory for long songs


class RBMParams(NamedTuple):
    """Weights [V, H], visible biases [..., V], hidden biases [..., H] (float32; a pytree)."""

    W: jax.Array
    vbias: jax.Array
    hbias: jax.Array


def marginal_logits(data_mean, clip: float = INIT_MARGINAL_CLIP) -> np.ndarray:
    """log(p / (1 - p)) of clipped marginals (float64): the visible biases of the independent
    model with these note frequencies, where both kinds start and where AIS starts."""
    p = np.clip(np.asarray(data_mean, dtype=np.float64), clip, 1.0 - clip)
    return np.log(p / (1.0 - p))


def hidden_probs(params: RBMParams, v: jax.Array, temperature: float = 1.0) -> jax.Array:
    """p(h=1 | v), batched over leading axes."""
    return jax.nn.sigmoid((v @ params.W + params.hbias) / temperature)


def visible_probs(params: RBMParams, h: jax.Array, temperature: float = 1.0) -> jax.Array:
    """p(v=1 | h), batched over leading axes."""
    return jax.nn.sigmoid((h @ params.W.T + params.vbias) / temperature)


def free_energy(params: RBMParams, v: jax.Array) -> jax.Array:
    """F(v) = -v·vbias - Σ softplus(vW + hbias); lower means more probable. Shape: v's batch."""
    x = v @ params.W + params.hbias
    return -jnp.sum(v * params.vbias, axis=-1) - jnp.sum(jax.nn.softplus(x), axis=-1)


def free_energy_np(W, vbias, hbias, v) -> np.ndarray:
    """`free_energy` in numpy for evaluation (float64 [N] for the rows of `v`); the product runs in
    float32 on row batches so that a whole benchmark split stays fast and small."""
    W32 = np.asarray(W, dtype=np.float32)
    vbias = np.asarray(vbias, dtype=np.float64)
    hbias = np.asarray(hbias, dtype=np.float64)
    v = np.asarray(v)
    out = np.empty(v.shape[0], dtype=np.float64)
    for start in range(0, v.shape[0], _NUMPY_BATCH):
        rows = slice(start, start + _NUMPY_BATCH)
        x32 = v[rows].astype(np.float32)
        vb = vbias if vbias.ndim == 1 else vbias[rows]
        hb = hbias if hbias.ndim == 1 else hbias[rows]
        x = (x32 @ W32).astype(np.float64) + hb
        out[rows] = -np.sum(x32 * vb, axis=-1) - np.logaddexp(0.0, x).sum(axis=-1)
    return out


# Links between neighbouring visible units (unit u with u+1, weight links[u]; the RBM's semitone
# links, `rbm/lateral.py`): the units of even and odd index are the two halves of a bipartite
# graph, so each half can be sampled at once given the other.


def even_units(n_visible: int) -> np.ndarray:
    """1.0 for units of even index: links join only units next to each other, so neither half
    has a link inside itself."""
    return (np.arange(n_visible) % 2 == 0).astype(np.float32)


def pair_sum(links, v):
    """Σ_p L_p·v_p·v_{p+1} over the last axis (numpy or JAX): the links' share of −energy."""
    return (links[:-1] * v[..., :-1] * v[..., 1:]).sum(axis=-1)


def neighbour_field(links: jax.Array, v: jax.Array) -> jax.Array:
    """Each unit's input from its linked neighbours: L_p·v_{p+1} + L_{p−1}·v_{p−1}. Rolls, not
    pads: XLA's CPU backend fuses them into the sigmoid that follows (pads made a visible half
    sweep several times slower); the last unit's link is zeroed so nothing wraps around."""
    links = jnp.concatenate([links[:-1], jnp.zeros((1,), links.dtype)])
    return links * jnp.roll(v, -1, axis=-1) + jnp.roll(links * v, 1, axis=-1)


def bernoulli(key: jax.Array, p: jax.Array) -> jax.Array:
    """Float 0/1 samples with probabilities `p`."""
    return (jax.random.uniform(key, p.shape, dtype=p.dtype) < p).astype(p.dtype)
