"""Semitone links: learned weights between visible units a semitone apart in the same step and
plane (a semi-restricted Boltzmann machine, Osindero & Hinton 2008, with lateral links only
between pitch neighbours).

An RBM's hidden units can only say "not both" of two notes through many units each; at the
chorales' four voices a plain RBM either plays fewer voices or lets neighbours clash. One weight
per pitch pair, shared by every step of the window, learns how often the pair sounds together.
The links join a pitch to its neighbours only, so even and odd pitches form the two halves of a
bipartite graph: given the hidden layer, each half is sampled at once given the other (two half
sweeps per Gibbs step), and the free energy keeps its closed form plus Σ L·v_p·v_{p+1}.

The model file keeps one row (`params["lateral"]`, a weight per unit of a grid row, 0 at each
plane's highest pitch, which has no upper neighbour); `tiled` spreads it over the window.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..ais import hash_uniform
from ..energy import even_units, neighbour_field, pair_sum

__all__ = ["even_units", "neighbour_field", "pair_sum"]  # the links' maths, shared with AIS

PARAM = "lateral"


def row_mask(span: int, planes: int = 2) -> np.ndarray:
    """1 for units with an upper pitch neighbour in their plane, 0 at each plane's top pitch."""
    return np.tile((np.arange(span) < span - 1).astype(np.float32), planes)


def tiled(row, window: int):
    """The row of link weights [row_width] repeated over the window's steps: [window·row_width]."""
    xp = jnp if isinstance(row, jax.Array) else np
    return xp.tile(row, window)


def of(model: Any) -> np.ndarray | None:
    """A model's links spread over its window ([V] float32), or None for a plain RBM."""
    row = getattr(model, "params", {}).get(PARAM)
    return None if row is None else tiled(np.asarray(row, np.float32), int(model.window))


def pair_statistics(v: jax.Array, weights: jax.Array, window: int) -> jax.Array:
    """Weighted batch mean of v_p·v_{p+1}, summed over the window's steps: [row_width], the
    sufficient statistic of the shared links (the last unit, which has no neighbour, reads 0)."""
    n = jnp.maximum(jnp.sum(weights), 1.0)
    pairs = jnp.pad(v[:, :-1] * v[:, 1:], ((0, 0), (0, 1)))
    per_unit = (weights @ pairs) / n
    return per_unit.reshape(window, -1).sum(axis=0)


def visible_sweep(
    logits: jax.Array,
    links: jax.Array,
    even: jax.Array,
    v: jax.Array,
    key: jax.Array,
    temperature=1.0,
    keep: jax.Array | None = None,
    kept: jax.Array | None = None,
    mean_field: bool = False,
) -> jax.Array:
    """v given the hidden layer's input `logits` (h·Wᵀ + vbias): even units given their odd
    neighbours in `v`, then odd given even. Units where `keep` is 1 stay at `kept`. With
    `mean_field`, each half is its probabilities instead of a draw. Every unit is drawn in one
    half only, so one counter-hash uniform per unit serves both (threefry draws cost more than
    the sweep itself on a CPU)."""
    u = None if mean_field else hash_uniform(jax.random.bits(key, (), jnp.uint32), v.shape)
    for half in (even, 1.0 - even):
        p = jax.nn.sigmoid((logits + neighbour_field(links, v)) / temperature)
        new = p if u is None else (u < p).astype(p.dtype)
        v = half * new + (1.0 - half) * v
        if keep is not None:
            v = keep * kept + (1.0 - keep) * v
    return v
