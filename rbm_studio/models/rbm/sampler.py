"""New songs from a trained RBM.

Two ways, both as jit-compiled Gibbs loops:
- "windows" (the tutorial's): independent windows, each from an all-zero (or noise) visible layer
  through k Gibbs steps, concatenated. Quick, but windows do not know about each other.
- "continue": slide the window forward by half its length; the known part is clamped and only the
  new part is Gibbs-sampled given it (conditional sampling), so each window continues the last.
  Starts from silence, noise, or a primer song, which is kept verbatim at the start of the output.
Temperature divides all energies: > 1 is wilder, < 1 more conservative.

"continue" reads each window's new rows out mean-field after its Gibbs steps: the visible units
whose probability given the hidden layer's probabilities is above one half (Hinton's guide
reconstructs with probabilities). A last Bernoulli draw instead adds isolated one-step notes — the
sixteenth-note blips the music benchmark counted — that the model gives less than even odds.
Each slide's chains start their new rows from a draw of the model's visible marginals, not from
silence: Gibbs chains mix slowly, and from silence they settle on sparse, held-note states (fewer
voices, longer drones in the music benchmark). The trainer's `continue_share` practises exactly
this conditional step, and with `fresh_start` from the same starting draw. A model with semitone
links (`lateral.py`) updates its visible units in two half sweeps.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ...music.encoding import StateMatrix
from ..document import Model
from ..energy import RBMParams, bernoulli, hidden_probs, visible_probs
from ..generated import check_request, matrix_from_rows, primer_rows
from . import lateral
from .spec import continuation_split

MODES = ("windows", "continue")
STARTS = ("silence", "noise", "primer")


def rbm_params(model: Model) -> RBMParams:
    """The model's parameters as a JAX pytree."""
    return RBMParams(*(jnp.asarray(model.params[k], jnp.float32) for k in RBMParams._fields))


def links_of(model: Model) -> jax.Array | None:
    """The model's semitone links over its window, or None for a plain RBM."""
    links = lateral.of(model)
    return None if links is None else jnp.asarray(links)


def _gibbs(params, links, v, clamp_mask, clamp_values, key, k, temperature, mean_field=False):
    """k Gibbs steps from `v`; entries where `clamp_mask` is 1 are held at `clamp_values`.
    With `mean_field`, the result is the visible units whose probability given the last hidden
    probabilities is above one half. `k` may be traced: one compiled sampler serves every number
    of Gibbs steps. With semitone `links`, each visible update is two half sweeps."""
    even = None if links is None else jnp.asarray(lateral.even_units(v.shape[-1]))

    def visible(h, v, key, mean_field=False):
        if links is None:
            pv = visible_probs(params, h, temperature)
            return pv if mean_field else bernoulli(key, pv)
        logits = h @ params.W.T + params.vbias
        return lateral.visible_sweep(
            logits, links, even, v, key, temperature, clamp_mask, clamp_values, mean_field
        )

    def body(i, v):
        kh, kv = jax.random.split(jax.random.fold_in(key, i))
        h = bernoulli(kh, hidden_probs(params, v, temperature))
        v = visible(h, v, kv)
        return clamp_mask * clamp_values + (1.0 - clamp_mask) * v

    v = jax.lax.fori_loop(0, k, body, v)
    if mean_field:
        pv = visible(hidden_probs(params, v, temperature), v, key, mean_field=True)
        v = clamp_mask * clamp_values + (1.0 - clamp_mask) * (pv > 0.5).astype(v.dtype)
    return v


@jax.jit
def sample_windows(params: RBMParams, links, v0: jax.Array, key: jax.Array, k, temperature):
    """Free-running k-step Gibbs chains from `v0` [N, V] (no clamping)."""
    zeros = jnp.zeros_like(v0)
    return _gibbs(params, links, v0, zeros, zeros, key, k, temperature)


@jax.jit
def sample_settled(params: RBMParams, links, v0: jax.Array, key: jax.Array, k, temperature):
    """Free-running chains from `v0` read out mean-field: the first window of "continue"."""
    zeros = jnp.zeros_like(v0)
    return _gibbs(params, links, v0, zeros, zeros, key, k, temperature, mean_field=True)


@partial(jax.jit, static_argnames=("window", "advance", "slides"))
def sample_continuation(
    params: RBMParams,
    links,
    context: jax.Array,
    key: jax.Array,
    temperature,
    k,
    *,
    window: int,
    advance: int,
    slides: int,
):
    """Extend `context` [S, window-advance, w] by `slides` × `advance` new rows per song, each time
    clamping the last window-advance rows and Gibbs-sampling the next `advance` given them.
    Returns [S, slides·advance, w]."""
    songs, keep, width = context.shape
    clamp = jnp.concatenate(
        [jnp.ones((keep * width,), jnp.float32), jnp.zeros((advance * width,), jnp.float32)]
    )
    clamp = jnp.broadcast_to(clamp, (songs, window * width))
    # each chain's new rows start from the model's own visible marginals (a draw from the
    # sigmoid of their biases): from silence, chains stay near sparse, held-note states
    marginal = jnp.broadcast_to(
        jax.nn.sigmoid(params.vbias.reshape(window, width)[keep:]), (songs, advance, width)
    )

    def slide(ctx, kk):
        k_start, k_chain = jax.random.split(kk)
        fresh = bernoulli(k_start, marginal)
        v = jnp.concatenate([ctx, fresh], axis=1).reshape(songs, window * width)
        rows = _gibbs(params, links, v, clamp, v, k_chain, k, temperature, True).reshape(
            songs, window, width
        )
        return rows[:, advance:], rows[:, keep:]

    _, new = jax.lax.scan(slide, context, jax.random.split(key, slides))
    return jnp.transpose(new, (1, 0, 2, 3)).reshape(songs, slides * advance, width)


def generate(
    model: Model,
    *,
    songs: int = 1,
    steps: int = 256,
    gibbs_steps: int = 1,
    temperature: float = 1.0,
    seed: int = 0,
    mode: str = "windows",
    start: str = "silence",
    primer: StateMatrix | None = None,
) -> list[StateMatrix]:
    """`songs` new state matrices of `steps` rows (a primer is kept in front: primer + steps).

    Output matrices are canonical and carry the model's encoding."""
    start = _checked_start(mode, start, primer)
    check_request(songs, steps, gibbs_steps, temperature)

    params = rbm_params(model)
    links = links_of(model)
    window, width = model.window, model.row_width
    key = jax.random.PRNGKey(seed)
    k_init, k_first, k_rest = jax.random.split(key, 3)
    temp = jnp.float32(temperature)

    def initial(n: int) -> jax.Array:
        if start == "noise":
            marg = jax.nn.sigmoid(params.vbias)
            return bernoulli(k_init, jnp.broadcast_to(marg, (n, model.n_visible)))
        return jnp.zeros((n, model.n_visible), jnp.float32)

    def first_windows(n: int) -> np.ndarray:
        """n free-running windows [n, window, width] (shape bucketed: one compile serves all)."""
        sampler = sample_windows if mode == "windows" else sample_settled
        v = sampler(params, links, initial(_bucket(n, 64)), k_first, gibbs_steps, temp)
        return np.asarray(v, dtype=np.float32)[:n].reshape(n, window, width)

    prefix = None
    if mode == "windows":
        n_win = math.ceil(steps / window)
        wins = first_windows(songs * n_win)
        rows = wins.astype(np.uint8).reshape(songs, n_win * window, width)[:, :steps]
    else:
        if primer is not None:
            prefix = primer_rows(model, primer)
        rows = _continued_rows(
            params, links, window, width, prefix, first_windows, songs, steps, gibbs_steps,
            k_rest, temp,
        )  # fmt: skip
    if prefix is not None:
        rows = np.concatenate(
            [np.broadcast_to(prefix.astype(np.uint8), (songs, *prefix.shape)), rows], axis=1
        )
    return [matrix_from_rows(model, rows[i], primer, i) for i in range(songs)]


def _checked_start(mode: str, start: str, primer: StateMatrix | None) -> str:
    """The start to use ("primer" whenever a primer is given), after checking the request."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if primer is not None:
        start = "primer"
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, not {start!r}")
    if start == "primer" and primer is None:
        raise ValueError("start='primer' needs a primer song")
    if start == "primer" and mode != "continue":
        raise ValueError("continuing a primer song needs mode='continue'")
    return start


def _continued_rows(
    params, links, window, width, prefix, first_windows, songs, steps, gibbs_steps, k_rest, temp
) -> np.ndarray:
    """The "continue" mode's generated rows [songs, steps, width] (uint8): after the primer's
    `prefix` rows when given, else after a first free-running window from `first_windows`."""
    keep, advance = continuation_split(window)
    if prefix is not None:
        context = np.zeros((songs, max(keep, 1), width), np.float32)
        tail = prefix[-max(keep, 1) :]
        context[:, context.shape[1] - len(tail) :] = tail
        first = np.zeros((songs, 0, width), np.float32)
        todo = steps
    else:
        first = first_windows(songs)
        context = first[:, advance:] if keep else first[:, -1:]
        todo = max(0, steps - window)
    slides = math.ceil(todo / advance)
    gen = first
    if slides:
        padded = np.zeros((_bucket(songs, 8), *context.shape[1:]), np.float32)
        padded[:songs] = context
        new = _continue(
            params, links, jnp.asarray(padded), k_rest, temp, gibbs_steps, window, advance, keep,
            _bucket(slides, 8),
        )  # fmt: skip
        gen = np.concatenate([first, np.asarray(new)[:songs]], axis=1)
    return gen.astype(np.uint8)[:, :steps]


def _bucket(n: int, minimum: int) -> int:
    """Round a static length up to a power of two (at least `minimum`) so that similar requests
    share one compiled sampler instead of compiling one per length."""
    return max(minimum, 1 << (n - 1).bit_length())


def _continue(params, links, context, key, temp, k, window, advance, keep, slides):
    """Conditional continuation; with nothing to clamp (window 1), each new frame's chain starts
    from the previous frame instead, so consecutive frames stay related."""
    if keep:
        return sample_continuation(
            params, links, context, key, temp, k, window=window, advance=advance, slides=slides
        )
    return _chain_frames(params, links, context[:, -1], key, temp, k, slides=slides)


@partial(jax.jit, static_argnames=("slides",))
def _chain_frames(params, links, last, key, temperature, k, *, slides: int):
    zeros = jnp.zeros_like(last)

    def step(v, kk):
        v = _gibbs(params, links, v, zeros, zeros, kk, k, temperature)
        return v, v

    _, frames = jax.lax.scan(step, last, jax.random.split(key, slides))
    return jnp.transpose(frames, (1, 0, 2))
