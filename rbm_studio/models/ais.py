"""The partition function Z of Bernoulli RBMs, for every kind: exactly for small models, otherwise
by Annealed Importance Sampling (Salakhutdinov & Murray 2008, "On the quantitative analysis of deep
belief networks"). Chains start in a base-rate model (its own visible biases, W = 0), are annealed
through intermediate models towards the target, and their importance weights average to Z.

AIS is unbiased for Z, hence biased *low* for log Z on average (Jensen): a too-short schedule makes
log-likelihoods look too good, never too bad. `AISResult.spread` is ±3σ of log Ẑ, σ from the
standard error of the importance weights (delta method: σ(log Ẑ) ≈ sem(w) / mean(w)); it also
carries the paper's interval log(mean(w) ± 3·sem(w)).

Everything is batched over "cases" that share W, each with its own visible/hidden biases and its
own base-rate visible biases: a windowed RBM is one case, the RNN-RBM one case per frame (its
base is the frame's own visible biases, so only the hidden term is annealed).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .energy import even_units, marginal_logits, neighbour_field, pair_sum

MAX_EXACT_UNITS = 20
# Base-rate marginals are clipped so a pitch never seen in the data keeps a finite bias.
BASE_RATE_CLIP = 1e-4


def base_rate_biases(data_mean, clip: float = BASE_RATE_CLIP) -> np.ndarray:
    """Visible biases of the independent-Bernoulli model with these marginals (clipped)."""
    return marginal_logits(data_mean, clip)


# ---------------------------------------------------------------------------------------------
# Exact partition function


def _all_states(n: int, start: int, stop: int) -> np.ndarray:
    """Binary configurations `start..stop-1` of `n` units as float64 rows."""
    idx = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((idx >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def _logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + math.log(float(np.sum(np.exp(x - m))))


def exact_log_partition_arrays(
    W: np.ndarray,
    vbias: np.ndarray,
    hbias: np.ndarray,
    *,
    max_units: int = MAX_EXACT_UNITS,
    chunk: int = 1 << 15,
    lateral: np.ndarray | None = None,
) -> np.ndarray:
    """log Z of RBMs sharing W with biases `vbias` [..., V] and `hbias` [..., H], by enumerating the
    smaller layer and summing the other out analytically. Returns log Z with the batch shape.
    With `lateral` [V] (links between neighbouring visible units) the visible layer is the one
    enumerated."""
    W = np.asarray(W, dtype=np.float64)
    vbias = np.asarray(vbias, dtype=np.float64)
    hbias = np.asarray(hbias, dtype=np.float64)
    n_v, n_h = W.shape
    vb2, hb2 = np.broadcast_arrays(vbias[..., :, None], hbias[..., None, :])
    batch_shape = vb2.shape[:-2]
    vb = vb2[..., :, 0].reshape(-1, n_v)
    hb = hb2[..., 0, :].reshape(-1, n_h)
    if (n_v if lateral is not None else min(n_v, n_h)) > max_units:
        raise ValueError(
            f"exact log Z needs a layer of at most {max_units} units (model is {n_v}×{n_h}); use AIS"
        )
    # Enumerate layer A, sum layer B out: log Z = logsumexp_a [a·bias_a + Σ softplus(bias_b + aM)].
    if n_h <= n_v and lateral is None:
        n, M, bias_a, bias_b = n_h, W.T, hb, vb
    else:
        n, M, bias_a, bias_b = n_v, W, vb, hb
    total = 1 << n
    out = np.full(vb.shape[0], -np.inf)
    for start in range(0, total, chunk):
        a = _all_states(n, start, min(total, start + chunk))  # [S, n]
        am = a @ M  # [S, other]
        for i in range(vb.shape[0]):
            terms = a @ bias_a[i] + np.logaddexp(0.0, am + bias_b[i]).sum(axis=1)
            if lateral is not None:
                terms = terms + pair_sum(np.asarray(lateral, np.float64), a)
            out[i] = np.logaddexp(out[i], _logsumexp(terms))
    return out.reshape(batch_shape)


# ---------------------------------------------------------------------------------------------
# Random numbers


def _fmix32(x: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finaliser: a cheap bijective mixer of uint32 counters."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * jnp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def hash_uniform(stream: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform [0, 1) floats from a counter hash of (stream, position).

    Why not `jax.random`: on CPU, threefry costs several times the matrix products of an AIS or
    Gibbs step, which need fresh numbers for every unit of every chain. A hashed counter has ample
    statistical quality for Monte Carlo here; `stream` must differ for every draw."""
    counter = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    x = _fmix32(counter ^ _fmix32(stream.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)))
    return (x >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


def fast_bernoulli(key: jax.Array, p: jax.Array) -> jax.Array:
    """0/1 samples with probabilities `p`, drawn with `hash_uniform` (one threefry draw for the
    stream, not one per unit)."""
    stream = jax.random.bits(key, (), jnp.uint32)
    return (hash_uniform(stream, p.shape) < p).astype(p.dtype)


# ---------------------------------------------------------------------------------------------
# Annealed Importance Sampling


def paper_betas(n_betas: int) -> np.ndarray:
    """`n_betas` annealing steps (n_betas + 1 inverse temperatures from 0 to 1) spaced like
    Salakhutdinov & Murray: 500 steps to 0.5, 4,000 to 0.9 and 10,000 to 1, scaled to `n_betas`.
    The dense end matters: that is where the model's structure appears."""
    if n_betas < 3:
        raise ValueError("AIS needs at least 3 inverse temperatures")
    n1 = max(1, round(n_betas * 500 / 14_500))
    n2 = max(1, round(n_betas * 4_000 / 14_500))
    n3 = max(1, n_betas - n1 - n2)
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, n1, endpoint=False),
            np.linspace(0.5, 0.9, n2, endpoint=False),
            np.linspace(0.9, 1.0, n3 + 1),
        ]
    )


@dataclass(frozen=True, slots=True)
class AISResult:
    """log Z estimates for a batch of RBMs (shape [cases]; a plain RBM is one case)."""

    log_z: np.ndarray
    spread: np.ndarray  # ±3σ of log Ẑ (delta method)
    log_z_low: np.ndarray  # log(mean(w) − 3·sem(w)); −inf when that is ≤ 0
    log_z_high: np.ndarray  # log(mean(w) + 3·sem(w))
    log_z_base: np.ndarray
    log_weights: np.ndarray  # [cases, chains]
    marginals: np.ndarray  # [cases, V] mean-field p(v=1) of the final β = 1 chains
    n_betas: int
    n_chains: int


def _softplus_step_and_sigmoid(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(softplus(a) - softplus(b), sigmoid(a)) with two exps and one log instead of the five
    transcendentals of the plain formulas: the hidden term dominates an AIS step."""
    ea = jnp.exp(-jnp.abs(a))
    eb = jnp.exp(-jnp.abs(b))
    diff = jnp.maximum(a, 0.0) - jnp.maximum(b, 0.0) + jnp.log((1.0 + ea) / (1.0 + eb))
    r = 1.0 / (1.0 + ea)
    return diff, jnp.where(a >= 0.0, r, ea * r)


def _make_sweep(W, lateral, even, base_c, diff_c, start, draws):
    """The Gibbs sweep of `_ais_kernel`, closed over the kernel's arrays."""

    def sweep(v, x, p_h, beta, i):
        """One Gibbs sweep that leaves p_β invariant; each step draws the hidden layer and one or
        two visible halves from its own streams."""
        stream = start + jnp.uint32(draws) * i.astype(jnp.uint32) + jnp.uint32(1)
        h = (hash_uniform(stream, x.shape) < p_h).astype(jnp.float32)
        act = h @ W.T if diff_c is None else h @ W.T + diff_c
        if lateral is None:
            p = jax.nn.sigmoid(base_c + beta * act)
            v = (hash_uniform(stream + jnp.uint32(1), p.shape) < p).astype(jnp.float32)
            return v, p
        marginal = jnp.zeros_like(v)
        for j, half in enumerate((even, 1.0 - even)):
            p = jax.nn.sigmoid(base_c + beta * (act + neighbour_field(lateral, v)))
            draw = (hash_uniform(stream + jnp.uint32(1 + j), p.shape) < p).astype(jnp.float32)
            v = half * draw + (1.0 - half) * v
            marginal = marginal + half * p
        return v, marginal

    return sweep


def _make_step(W, lateral, hb_c, diff_c, sweep, hidden_base):
    """The `lax.scan` body of `_ais_kernel`: one weight increment, then one sweep."""

    def step(carry, inputs):
        v, logw, _ = carry
        beta_prev, beta, i = inputs
        if hidden_base:
            x = v @ W
            a, b = hb_c + beta * x, hb_c + beta_prev * x
        else:
            x = v @ W + hb_c
            a, b = beta * x, beta_prev * x
        # log p*_k(v) − log p*_{k−1}(v), as one difference to keep float32 precise.
        increment, p_h = _softplus_step_and_sigmoid(a, b)
        logw = logw + jnp.sum(increment, axis=-1)
        if diff_c is not None:
            logw = logw + (beta - beta_prev) * jnp.sum(v * diff_c, axis=-1)
        if lateral is not None:
            logw = logw + (beta - beta_prev) * pair_sum(lateral, v)
        v, p = sweep(v, x, p_h, beta, i)
        return (v, logw, p), None

    return step


@functools.partial(jax.jit, static_argnames=("n_chains", "hidden_base"))
def _ais_kernel(
    W: jax.Array,
    vbias: jax.Array,
    hbias: jax.Array,
    base_vbias: jax.Array | None,
    betas: jax.Array,
    seed: jax.Array,
    n_chains: int,
    lateral: jax.Array | None = None,
    start_v: jax.Array | None = None,
    hidden_base: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """One `lax.scan` over the betas, chains and cases vectorised: W [V, H], vbias [F, V], hbias
    [F, H], base_vbias [F, V] or None (each case's own visible biases, so the visible term of the
    weights vanishes), lateral [V] or None (links between neighbouring visible units, annealed
    with the weights; the visible layer is then sampled in two halves). Returns (log-weights
    [F, C], final visible marginals [F, V]).

    `start_v` [F, V] runs the chains the other way (RAISE, see `raise_arrays`): every chain of a
    case starts at that case's visible vector, takes one sweep at the first β (the target), and
    the scan then anneals down the (falling) betas with the same weight increments."""
    n_cases, n_v = vbias.shape
    start = _fmix32(seed.astype(jnp.uint32) + jnp.uint32(0x632BE5AB)) * jnp.uint32(4099)
    base = vbias if base_vbias is None else base_vbias
    base_c = base[:, None, :]
    hb_c = hbias[:, None, :]
    # p_β(v, h) ∝ exp(v·base + β (v·(vbias − base) + h·hbias + vᵀWh [+ links])); the hidden layer
    # is kept at β = 0 too, so Z_0 includes its 2^H.
    diff_c = None if base_vbias is None else (vbias - base_vbias)[:, None, :]
    draws = 2 if lateral is None else 3
    even = None if lateral is None else jnp.asarray(even_units(n_v))
    sweep = _make_sweep(W, lateral, even, base_c, diff_c, start, draws)
    step = _make_step(W, lateral, hb_c, diff_c, sweep, hidden_base)
    if start_v is None:
        v = hash_uniform(start, (n_cases, n_chains, n_v)) < jax.nn.sigmoid(base_c)
        v = v.astype(jnp.float32)
    else:
        v = jnp.broadcast_to(start_v[:, None, :], (n_cases, n_chains, n_v)).astype(jnp.float32)
        x = v @ W + hb_c
        # the first sweep's streams sit past the scan's (betas.shape[0] − 1 steps)
        last = jnp.asarray(betas.shape[0] - 1)
        v, _ = sweep(v, x, jax.nn.sigmoid(x), betas[0], last)
    steps = jnp.arange(betas.shape[0] - 1)
    init = (v, jnp.zeros((n_cases, n_chains), jnp.float32), jnp.zeros_like(v))
    (_, logw, p), _ = jax.lax.scan(step, init, (betas[:-1], betas[1:], steps))
    return logw, jnp.mean(p, axis=1)


def ais_arrays(
    W: np.ndarray,
    vbias: np.ndarray,
    hbias: np.ndarray,
    base_vbias: np.ndarray | None = None,
    *,
    n_betas: int | None = None,
    n_chains: int,
    seed: int = 0,
    betas: np.ndarray | None = None,
    block: int | None = None,
    lateral: np.ndarray | None = None,
    hidden_base: bool = False,
) -> AISResult:
    """AIS for RBMs sharing W: `vbias` [F,V] or [V], `hbias` [F,H] or [H], `base_vbias` [F,V] or
    [V] (visible biases of each case's base-rate model; None: the case's own `vbias`). Betas are
    `paper_betas(n_betas)` unless given. `block` runs the cases in padded groups of that many (one
    compiled shape however many cases, bounded memory); each group draws its own numbers.
    `lateral` [V]: links between neighbouring visible units (see `energy.pair_sum`).
    `hidden_base`: the base model keeps each case's hidden biases (p_0(v, h) = Bernoulli(v; base)
    × Bernoulli(h; sigmoid(hbias))) and only W is annealed; without it the hidden biases are
    annealed with W from uniform hidden units. Both reach the same Z; which path the chains
    follow better depends on the model (large, case-specific hidden biases favour the former)."""
    return _annealed(
        W,
        vbias,
        hbias,
        base_vbias,
        None,
        n_betas,
        n_chains,
        seed,
        betas,
        block,
        lateral,
        hidden_base,
    )


def raise_arrays(
    W: np.ndarray,
    vbias: np.ndarray,
    hbias: np.ndarray,
    v: np.ndarray,
    base_vbias: np.ndarray | None = None,
    *,
    n_betas: int | None = None,
    n_chains: int,
    seed: int = 0,
    betas: np.ndarray | None = None,
    block: int | None = None,
    hidden_base: bool = False,
) -> AISResult:
    """Reverse AIS (RAISE: Burda, Grosse & Salakhutdinov 2015, "Accurate and conservative
    estimates of MRF log-likelihood using reverse annealing") for each case's visible vector
    `v` [F, V]: the chains start at v, anneal from the target down to the base, and their
    weights average to p_ann(v) / exp(−F(v)), where p_ann is the distribution of forward AIS's
    final samples. Returned as `log_z`, the log Z that gives log p_ann(v) = −F(v) − log_z.

    Why: forward AIS is unbiased for Z, so a schedule too short for a sharp model makes
    log-likelihoods look too *good* (and a per-frame score can pass 0). RAISE errs the other
    way: log p_ann(v) is a probability (never above 0), its estimate is biased low by Jensen, and
    p_ann puts little mass where short annealing cannot reach. The two together bracket the
    true value; their gap says whether the schedule has converged. The Gibbs kernel (hidden
    layer, then the whole visible layer) is reversible on v, which RAISE needs; visible links
    (`lateral`) are swept in halves, which is not, so they are not offered here."""
    v = np.atleast_2d(np.asarray(v, np.float32))
    if betas is None:
        if n_betas is None:
            raise ValueError("RAISE needs n_betas or betas")
        betas = paper_betas(n_betas)
    return _annealed(
        W, vbias, hbias, base_vbias, v, None, n_chains, seed, betas, block, None, hidden_base
    )


def _annealed(
    W,
    vbias,
    hbias,
    base_vbias,
    start_v,
    n_betas,
    n_chains,
    seed,
    betas,
    block,
    lateral,
    hidden_base=False,
) -> AISResult:
    """Forward AIS (`start_v` None) or RAISE from `start_v` (see `ais_arrays`, `raise_arrays`)."""
    W = np.asarray(W, dtype=np.float32)
    n_v, n_h = W.shape
    vbias = np.atleast_2d(np.asarray(vbias, dtype=np.float32))
    hbias = np.atleast_2d(np.asarray(hbias, dtype=np.float32))
    base = None if base_vbias is None else np.atleast_2d(np.asarray(base_vbias, np.float32))
    n_cases = max(vbias.shape[0], hbias.shape[0], 1 if base is None else base.shape[0])
    if start_v is not None:
        n_cases = max(n_cases, start_v.shape[0])
        start_v = np.broadcast_to(start_v, (n_cases, n_v))
    vbias = np.broadcast_to(vbias, (n_cases, n_v))
    hbias = np.broadcast_to(hbias, (n_cases, n_h))
    if base is not None:
        base = np.broadcast_to(base, (n_cases, n_v))
    if n_chains < 2:
        raise ValueError("AIS needs at least 2 chains to estimate its spread")
    betas = _checked_betas(n_betas, betas)
    # RAISE anneals from the target (β = 1) down to the base
    run_betas = betas if start_v is None else betas[::-1].copy()

    size = n_cases if block is None else int(block)
    W_j = jnp.asarray(W)
    betas_j = jnp.asarray(run_betas, dtype=jnp.float32)
    logw = np.empty((n_cases, n_chains), np.float64)
    marginals = np.empty((n_cases, n_v), np.float64)
    for start in range(0, n_cases, size):
        stop = min(start + size, n_cases)
        pad = ((0, size - (stop - start)), (0, 0))
        group_seed = jnp.uint32((int(seed) * 1_000_003 + start) % 2**32)
        lw, p = _ais_kernel(
            W_j,
            jnp.asarray(np.pad(vbias[start:stop], pad)),
            jnp.asarray(np.pad(hbias[start:stop], pad)),
            None if base is None else jnp.asarray(np.pad(base[start:stop], pad)),
            betas_j,
            group_seed,
            int(n_chains),
            None if lateral is None else jnp.asarray(lateral, jnp.float32),
            None if start_v is None else jnp.asarray(np.pad(start_v[start:stop], pad)),
            hidden_base,
        )
        logw[start:stop] = np.asarray(lw)[: stop - start]
        marginals[start:stop] = np.asarray(p)[: stop - start]

    b_a = (vbias if base is None else base).astype(np.float64)
    return _result(logw, marginals, b_a, hbias, len(betas) - 1, hidden_base, start_v is not None)


def _checked_betas(n_betas, betas) -> np.ndarray:
    """The β schedule: the given one (checked to rise from 0 to 1) or the paper's of `n_betas`."""
    if betas is None:
        if n_betas is None:
            raise ValueError("AIS needs n_betas or betas")
        betas = paper_betas(n_betas)
    betas = np.asarray(betas, dtype=np.float64)
    if betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) < 0):
        raise ValueError("betas must rise from 0 to 1")
    return betas


def _result(logw, marginals, b_a, hbias, n_betas: int, hidden_base: bool, reverse: bool):
    """log Z and its interval from the chains' log weights (`reverse`: RAISE's, which
    estimate 1/Z)."""
    n_chains = logw.shape[1]
    n_h = hbias.shape[1]
    # log Z_0 of the base model with the hidden layer included at β = 0: Σ softplus(b_A) + H log 2.
    log_z_base = np.logaddexp(0.0, b_a).sum(axis=1) + n_h * math.log(2.0)
    if hidden_base:
        log_z_base = np.logaddexp(0.0, b_a).sum(axis=1) + np.logaddexp(
            0.0, hbias.astype(np.float64)
        ).sum(axis=1)
    top = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - top)
    mean = w.mean(axis=1)
    sem = w.std(axis=1, ddof=1) / math.sqrt(n_chains)
    log_mean = np.log(mean) + top[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(mean - 3 * sem > 0, np.log(np.maximum(mean - 3 * sem, 1e-300)), -np.inf)
    high = np.log(mean + 3 * sem) + top[:, 0]
    if reverse:
        # the weights estimate 1/Z (as seen from v): log Z = log Z_0 − log mean(w), and the
        # interval turns over
        return AISResult(
            log_z=log_z_base - log_mean,
            spread=3.0 * sem / mean,
            log_z_low=log_z_base - high,
            log_z_high=log_z_base - (low + top[:, 0]),
            log_z_base=log_z_base,
            log_weights=logw,
            marginals=marginals,
            n_betas=n_betas,
            n_chains=int(n_chains),
        )
    return AISResult(
        log_z=log_z_base + log_mean,
        spread=3.0 * sem / mean,
        log_z_low=log_z_base + low + top[:, 0],
        log_z_high=log_z_base + high,
        log_z_base=log_z_base,
        log_weights=logw,
        marginals=marginals,
        n_betas=n_betas,
        n_chains=int(n_chains),
    )
