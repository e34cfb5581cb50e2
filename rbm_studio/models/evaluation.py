"""How good is a trained RBM? Reconstruction error, free energy and the log-likelihood of data.

The log-likelihood needs the partition function Z. For small models (≤ 20 units in the smaller
layer) we sum it exactly; otherwise we estimate it by Annealed Importance Sampling (Salakhutdinov &
Murray 2008, "On the quantitative analysis of deep belief networks"): chains start in a base-rate
model (visible biases = logit of the data marginals, W = 0), are annealed through ≥ 10,000
intermediate models towards the trained one, and their importance weights average to Z.

AIS is unbiased for Z, hence biased *low* for log Z on average (Jensen): a too-short schedule makes
log-likelihoods look too good, never too bad. The spread we report is ±3σ of log Ẑ, σ from the
standard error of the importance weights (delta method: σ(log Ẑ) ≈ sem(w) / mean(w)); `AISResult`
also carries the paper's interval log(mean(w) ± 3·sem(w)).

The AIS core is batched over "cases": each case has its own visible/hidden biases and base-rate
biases but shares W, so the RNN-RBM (one conditional RBM per frame) reuses it unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..music.encoding import StateMatrix

MAX_EXACT_UNITS = 20
DEFAULT_N_BETAS = 10_000
DEFAULT_N_CHAINS = 100
# Base-rate marginals are clipped so a pitch never seen in the data keeps a finite bias.
MARGINAL_CLIP = 1e-4
# Rows per free-energy batch: bounds memory for long songs and big windows.
_FREE_ENERGY_BATCH = 4096


# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True, slots=True)
class RBMArrays:
    """The three arrays that define a Bernoulli RBM, as float64 numpy (precision for evaluation)."""

    W: np.ndarray  # [V, H]
    vbias: np.ndarray  # [V]
    hbias: np.ndarray  # [H]

    @property
    def n_visible(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.W.shape[1])


def as_arrays(params: Any) -> RBMArrays:
    """Accept an `RBMParams` (or any object with W/vbias/hbias), a name→array mapping, a `Model`
    of kind "rbm", or `RBMArrays`; return float64 arrays with checked shapes."""
    if isinstance(params, RBMArrays):
        return params
    kind = getattr(params, "kind", None)
    if kind is not None and isinstance(getattr(params, "params", None), Mapping):
        if kind != "rbm":
            raise ValueError(
                f"a {kind!r} model has no single partition function; use its own evaluation"
            )
        params = params.params
    if isinstance(params, Mapping):
        try:
            W, vbias, hbias = params["W"], params["vbias"], params["hbias"]
        except KeyError as exc:
            raise ValueError(f"RBM parameters lack {exc.args[0]!r}") from None
    else:
        W, vbias, hbias = params.W, params.vbias, params.hbias
    W = np.asarray(W, dtype=np.float64)
    vbias = np.asarray(vbias, dtype=np.float64).reshape(-1)
    hbias = np.asarray(hbias, dtype=np.float64).reshape(-1)
    if W.ndim != 2 or W.shape != (vbias.size, hbias.size):
        raise ValueError(
            f"inconsistent RBM shapes: W {W.shape}, vbias {vbias.shape}, hbias {hbias.shape}"
        )
    return RBMArrays(W, vbias, hbias)


def base_rate_biases(data_mean: np.ndarray, clip: float = MARGINAL_CLIP) -> np.ndarray:
    """Visible biases of the independent-Bernoulli model with these marginals (clipped)."""
    p = np.clip(np.asarray(data_mean, dtype=np.float64), clip, 1.0 - clip)
    return np.log(p) - np.log1p(-p)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


# ---------------------------------------------------------------------------------------------
# Free energy and reconstruction


def free_energies(params: Any, v: np.ndarray) -> np.ndarray:
    """F(v) = −v·b − Σ_j softplus(c_j + v·W_j) for every row of `v` (float64 [N])."""
    p = as_arrays(params)
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != p.n_visible:
        raise ValueError(f"data has shape {v.shape}, the model has {p.n_visible} visible units")
    out = np.empty(v.shape[0], dtype=np.float64)
    W32 = p.W.astype(np.float32)
    for start in range(0, v.shape[0], _FREE_ENERGY_BATCH):
        rows = v[start : start + _FREE_ENERGY_BATCH].astype(np.float32)
        x = (rows @ W32).astype(np.float64) + p.hbias
        out[start : start + rows.shape[0]] = -(rows @ p.vbias) - _softplus(x).sum(axis=1)
    return out


def free_energy(params: Any, v: np.ndarray) -> float:
    """Mean free energy of the rows of `v` (lower = the model finds the data more probable)."""
    return float(np.mean(free_energies(params, v)))


def reconstruction_error(params: Any, v: np.ndarray) -> float:
    """Mean squared error per visible unit of the mean-field reconstruction v → p(h|v) → p(v|h).

    Deterministic (no sampling), so two models can be compared on the same data without noise.
    """
    p = as_arrays(params)
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != p.n_visible:
        raise ValueError(f"data has shape {v.shape}, the model has {p.n_visible} visible units")
    total = 0.0
    for start in range(0, v.shape[0], _FREE_ENERGY_BATCH):
        rows = v[start : start + _FREE_ENERGY_BATCH]
        h = 1.0 / (1.0 + np.exp(-(rows @ p.W + p.hbias)))
        recon = 1.0 / (1.0 + np.exp(-(h @ p.W.T + p.vbias)))
        total += float(np.sum((rows - recon) ** 2))
    return total / max(v.size, 1)


# ---------------------------------------------------------------------------------------------
# Exact partition function


def _all_states(n: int, start: int, stop: int) -> np.ndarray:
    """Binary configurations `start..stop-1` of `n` units as float64 rows."""
    idx = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((idx >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def exact_log_partition_arrays(
    W: np.ndarray,
    vbias: np.ndarray,
    hbias: np.ndarray,
    *,
    max_units: int = MAX_EXACT_UNITS,
    chunk: int = 1 << 15,
) -> np.ndarray:
    """log Z of RBMs sharing W with biases `vbias` [..., V] and `hbias` [..., H], by enumerating the
    smaller layer and summing the other out analytically. Returns log Z with the batch shape."""
    W = np.asarray(W, dtype=np.float64)
    vbias = np.asarray(vbias, dtype=np.float64)
    hbias = np.asarray(hbias, dtype=np.float64)
    n_v, n_h = W.shape
    vb2, hb2 = np.broadcast_arrays(vbias[..., :, None], hbias[..., None, :])
    batch_shape = vb2.shape[:-2]
    vb = vb2[..., :, 0].reshape(-1, n_v)
    hb = hb2[..., 0, :].reshape(-1, n_h)
    if min(n_v, n_h) > max_units:
        raise ValueError(
            f"exact log Z needs a layer of at most {max_units} units (model is {n_v}×{n_h}); use AIS"
        )
    # Enumerate layer A (size n) and sum layer B out: log Z = logsumexp_a [a·bias_a + Σ softplus(bias_b + a·M)].
    if n_h <= n_v:
        n, M, bias_a, bias_b = n_h, W.T, hb, vb
    else:
        n, M, bias_a, bias_b = n_v, W, vb, hb
    total = 1 << n
    out = np.full(vb.shape[0], -np.inf)
    for start in range(0, total, chunk):
        a = _all_states(n, start, min(total, start + chunk))  # [S, n]
        am = a @ M  # [S, other]
        for i in range(vb.shape[0]):
            terms = a @ bias_a[i] + _softplus(am + bias_b[i]).sum(axis=1)
            out[i] = np.logaddexp(out[i], _logsumexp(terms))
    return out.reshape(batch_shape)


def _logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + math.log(float(np.sum(np.exp(x - m))))


def exact_log_partition(params: Any, *, max_units: int = MAX_EXACT_UNITS) -> float:
    """log Z of an RBM with at most `max_units` units in its smaller layer, exactly."""
    p = as_arrays(params)
    return float(exact_log_partition_arrays(p.W, p.vbias, p.hbias, max_units=max_units))


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
    n_betas: int
    n_chains: int


def _ais_fn():
    """Build (once) the jitted AIS sweep; JAX is imported here so `import evaluation` stays light.

    Random numbers come from a counter-based integer hash (two rounds of "lowbias32" keyed by seed,
    step and stream) instead of `jax.random`: AIS draws (V + H) uniforms per chain at each of
    ≥ 10,000 steps, and threefry made that the bulk of the run time and of the compile time."""
    global _AIS_JIT
    if _AIS_JIT is not None:
        return _AIS_JIT
    import jax
    import jax.numpy as jnp

    def mix(x):
        x = x ^ (x >> 16)
        x = x * jnp.uint32(0x7FEB352D)
        x = x ^ (x >> 15)
        x = x * jnp.uint32(0x846CA68B)
        return x ^ (x >> 16)

    def uniform(seed, step, stream, shape):
        """Uniforms in [0, 1) with 24-bit resolution, a pure function of (seed, step, stream)."""
        key = mix(seed ^ mix(step * jnp.uint32(4) + jnp.uint32(stream)))
        n = math.prod(shape)
        x = mix(mix(jax.lax.iota(jnp.uint32, n) ^ key) + key)
        return ((x >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)).reshape(shape)

    def sweep(W, vb_target, hb, vb_base, betas, seed, n_chains):
        # Shapes: W [V,H]; vb_target, vb_base [F,V]; hb [F,H]; betas [K+1]. Chains are [F,C,·].
        n_cases, n_v = vb_target.shape
        seed = mix(seed + jnp.uint32(0x9E3779B9))
        p0 = jax.nn.sigmoid(vb_base)[:, None, :]
        v0 = uniform(seed, jnp.uint32(0), 3, (n_cases, n_chains, n_v)) < p0
        bias_diff = (vb_target - vb_base)[:, None, :]  # [F,1,V]

        def step(carry, x):
            v, logw = carry
            b_prev, b_cur, k = x
            x_h = jnp.einsum("fcv,vh->fch", v, W) + hb[:, None, :]
            # log p*_k(v) − log p*_{k−1}(v), computed as one difference to keep float32 precise.
            logw = (
                logw
                + (b_cur - b_prev) * jnp.sum(v * bias_diff, axis=-1)
                + jnp.sum(jax.nn.softplus(b_cur * x_h) - jax.nn.softplus(b_prev * x_h), axis=-1)
            )
            # One Gibbs sweep that leaves p_k invariant.
            u_h = uniform(seed, k, 0, x_h.shape)
            h = (u_h < jax.nn.sigmoid(b_cur * x_h)).astype(jnp.float32)
            act = (1.0 - b_cur) * vb_base[:, None, :] + b_cur * (
                jnp.einsum("fch,vh->fcv", h, W) + vb_target[:, None, :]
            )
            v = (uniform(seed, k, 1, v.shape) < jax.nn.sigmoid(act)).astype(jnp.float32)
            return (v, logw), None

        steps = jnp.arange(1, betas.shape[0], dtype=jnp.uint32)
        logw0 = jnp.zeros((n_cases, n_chains), jnp.float32)
        carry = (v0.astype(jnp.float32), logw0)
        (_, logw), _ = jax.lax.scan(step, carry, (betas[:-1], betas[1:], steps))
        return logw

    _AIS_JIT = jax.jit(sweep, static_argnums=(6,))
    return _AIS_JIT


_AIS_JIT = None


def ais_arrays(
    W: np.ndarray,
    vbias: np.ndarray,
    hbias: np.ndarray,
    base_vbias: np.ndarray,
    *,
    n_betas: int = DEFAULT_N_BETAS,
    n_chains: int = DEFAULT_N_CHAINS,
    seed: int = 0,
    betas: np.ndarray | None = None,
) -> AISResult:
    """AIS for RBMs sharing W: `vbias` [F,V] or [V], `hbias` [F,H] or [H], `base_vbias` [F,V] or
    [V] (visible biases of each case's base-rate model). One jitted `lax.scan` over the betas,
    chains and cases vectorised."""
    import jax.numpy as jnp

    W = np.asarray(W, dtype=np.float32)
    n_v, n_h = W.shape
    vbias = np.atleast_2d(np.asarray(vbias, dtype=np.float32))
    hbias = np.atleast_2d(np.asarray(hbias, dtype=np.float32))
    base = np.atleast_2d(np.asarray(base_vbias, dtype=np.float32))
    n_cases = max(vbias.shape[0], hbias.shape[0], base.shape[0])
    vbias = np.broadcast_to(vbias, (n_cases, n_v))
    hbias = np.broadcast_to(hbias, (n_cases, n_h))
    base = np.broadcast_to(base, (n_cases, n_v))
    if n_chains < 2:
        raise ValueError("AIS needs at least 2 chains to estimate its spread")
    betas = paper_betas(n_betas) if betas is None else np.asarray(betas, dtype=np.float64)
    if betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) < 0):
        raise ValueError("betas must rise from 0 to 1")

    logw = _ais_fn()(
        jnp.asarray(W),
        jnp.asarray(vbias),
        jnp.asarray(hbias),
        jnp.asarray(base),
        jnp.asarray(betas, dtype=jnp.float32),
        jnp.uint32(int(seed) % 2**32),
        int(n_chains),
    )
    logw = np.asarray(logw, dtype=np.float64)
    # log Z_0 of the base model with the hidden layer included at β = 0: Σ softplus(b_A) + H log 2.
    log_z_base = _softplus(base.astype(np.float64)).sum(axis=1) + n_h * math.log(2.0)
    top = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - top)
    mean = w.mean(axis=1)
    sem = w.std(axis=1, ddof=1) / math.sqrt(n_chains)
    log_mean = np.log(mean) + top[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(mean - 3 * sem > 0, np.log(np.maximum(mean - 3 * sem, 1e-300)), -np.inf)
    return AISResult(
        log_z=log_z_base + log_mean,
        spread=3.0 * sem / mean,
        log_z_low=log_z_base + low + top[:, 0],
        log_z_high=log_z_base + np.log(mean + 3 * sem) + top[:, 0],
        log_z_base=log_z_base,
        log_weights=logw,
        n_betas=len(betas) - 1,
        n_chains=int(n_chains),
    )


def ais_log_partition(
    params: Any,
    data_mean: np.ndarray,
    *,
    n_betas: int = DEFAULT_N_BETAS,
    n_chains: int = DEFAULT_N_CHAINS,
    seed: int = 0,
) -> tuple[float, float]:
    """(log Z, ±3σ spread) of an RBM by AIS from the base-rate model of `data_mean`."""
    p = as_arrays(params)
    base = base_rate_biases(np.asarray(data_mean).reshape(-1))
    if base.size != p.n_visible:
        raise ValueError(f"data_mean has {base.size} units, the model has {p.n_visible}")
    result = ais_arrays(p.W, p.vbias, p.hbias, base, n_betas=n_betas, n_chains=n_chains, seed=seed)
    return float(result.log_z[0]), float(result.spread[0])


# ---------------------------------------------------------------------------------------------
# Log-likelihood of data under a model


@dataclass(slots=True)
class LikelihoodReport:
    """Mean log-likelihood (nats) of data under a model, per window (visible vector) and per frame
    (grid step). `*_spread` is ±3σ from the log Z estimate (0 when exact); `per_frame_sem` is the
    standard error over windows (how much the figure would move with other data)."""

    per_window: float
    per_frame: float
    per_window_spread: float
    per_frame_spread: float
    per_frame_sem: float
    log_z: float
    log_z_spread: float
    log_z_method: str  # "exact" or "ais"
    mean_free_energy: float
    n_windows: int
    n_frames: int
    window: int
    n_betas: int | None = None
    n_chains: int | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def visible_rows(model: Any, matrices: Sequence[StateMatrix]) -> np.ndarray:
    """The visible vectors a model sees in these songs: non-overlapping windows (stride = window)
    so every frame counts once, or single sounding-plane frames for a frame-level model."""
    from ..music.windows import extract_windows

    window = int(model.window)
    return extract_windows(
        matrices, window=window, stride=window, frame_level=bool(model.frame_level)
    )


def log_likelihood(
    model: Any,
    matrices: Sequence[StateMatrix] | np.ndarray,
    *,
    method: str = "auto",
    data_mean: np.ndarray | None = None,
    n_betas: int = DEFAULT_N_BETAS,
    n_chains: int = DEFAULT_N_CHAINS,
    seed: int = 0,
    log_z: tuple[float, float] | None = None,
) -> LikelihoodReport:
    """Mean log p(v) = −F(v) − log Z over the windows of `matrices` (or over the rows of an array
    already in the model's visible layout), per window and per frame.

    `method`: "exact" (small models), "ais", or "auto" (exact when possible). `data_mean`: marginals
    of the AIS base-rate model — best the training data's; defaults to the evaluated data's, which
    only changes the estimator's variance, not what it estimates. `log_z=(value, spread)` reuses a
    partition function computed earlier (e.g. for several splits).
    """
    if method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be auto, exact or ais, not {method!r}")
    p = as_arrays(model)
    window = int(getattr(model, "window", 1) or 1) if hasattr(model, "kind") else 1
    rows = matrices if isinstance(matrices, np.ndarray) else visible_rows(model, matrices)
    if rows.shape[0] == 0:
        raise ValueError("no complete window to evaluate: the songs are shorter than the window")
    fe = free_energies(p, rows)
    used_betas = used_chains = used_seed = None
    if log_z is not None:
        lz, lz_spread = float(log_z[0]), float(log_z[1])
        z_method = "given"
    elif method == "exact" or (method == "auto" and min(p.W.shape) <= MAX_EXACT_UNITS):
        lz, lz_spread, z_method = exact_log_partition(p), 0.0, "exact"
    else:
        mean = rows.mean(axis=0) if data_mean is None else np.asarray(data_mean)
        lz, lz_spread = ais_log_partition(p, mean, n_betas=n_betas, n_chains=n_chains, seed=seed)
        z_method, used_betas, used_chains, used_seed = "ais", n_betas, n_chains, seed
    ll = -fe - lz
    per_window = float(ll.mean())
    sem = float(ll.std(ddof=1) / math.sqrt(ll.size)) if ll.size > 1 else 0.0
    return LikelihoodReport(
        per_window=per_window,
        per_frame=per_window / window,
        per_window_spread=lz_spread,
        per_frame_spread=lz_spread / window,
        per_frame_sem=sem / window,
        log_z=lz,
        log_z_spread=lz_spread,
        log_z_method=z_method,
        mean_free_energy=float(fe.mean()),
        n_windows=int(rows.shape[0]),
        n_frames=int(rows.shape[0]) * window,
        window=window,
        n_betas=used_betas,
        n_chains=used_chains,
        seed=used_seed,
    )
