"""The RNN-RBM (Boulanger-Lewandowski et al., ICML 2012): one RBM per time step whose biases are
set by a recurrent network that has read all previous frames.

Why this shape: a windowed RBM forgets everything older than its window, so long songs wander;
here `u(t)` summarises the whole past and the RBM at step t only has to model the chord given
that summary. The RBM weights `W` are shared across time; only its biases move:

    bv(t) = vbias + u(t-1) Wuv + c(t) Wcv          bh(t) = hbias + u(t-1) Wuh + c(t) Wch
    u(t)  = tanh(bu + v(t) Wvu + u(t-1) Wuu)          (cell "rnn", as the paper)
            or a GRU update of u(t-1) from v(t)         (cell "gru")

Because `u` depends only on the data frames (never on samples), training runs the recurrence once
with `lax.scan` and then treats every frame of every sequence in parallel: all CD-k chains, free
energies and AIS runs are big batched matrix products, with per-frame bias vectors.

Two optional inputs enter the same biases. `c(t)` is context that is given, never sampled: where
step t falls in its bar (`music.windows.bar_positions`). `v(t-1)` is the previous frame itself
(`Wpv` [V, V], `Wph` [V, H], as in Taylor & Hinton's conditional RBM): a held note or an onset
depends on exactly what sounded one step before, which the recurrence only summarises. Frames then carry it in their last columns ([..., V + C]) and the
model has `Wcv` [C, V] and `Wch` [C, H].

Params are a plain dict of arrays (a JAX pytree and `Model.params` as numpy); the cell type is
implied by the keys present (`Wvz` only exists for a GRU, `Wcv` only with context).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..ais import fast_bernoulli
from ..energy import RBMParams, free_energy, hidden_probs, marginal_logits, visible_probs

CELLS = ("rnn", "gru")
RBM_KEYS = ("W", "vbias", "hbias")
CONTEXT_KEYS = ("Wcv", "Wch")  # the pre-training RBM learns these too (not Wpv: single frames)


def init_params(
    key: jax.Array,
    n_visible: int,
    n_hidden: int,
    n_recurrent: int,
    *,
    cell: str = "rnn",
    data_mean: np.ndarray | None = None,
    scale: float = 0.01,
    n_context: int = 0,
    previous: bool = False,
) -> dict[str, jax.Array]:
    """Small random weights; vbias = logit of the data marginals (clipped) so the untrained model
    already predicts the note frequencies; hbias = 0."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, not {cell!r}")
    keys = jax.random.split(key, 12)
    V, H, U = n_visible, n_hidden, n_recurrent

    def normal(k: jax.Array, shape: tuple[int, ...], std: float) -> jax.Array:
        return std * jax.random.normal(k, shape, dtype=jnp.float32)

    if data_mean is None:
        vbias = jnp.zeros((V,), jnp.float32)
    else:
        vbias = jnp.asarray(marginal_logits(data_mean), jnp.float32)
    rec = 1.0 / np.sqrt(U)
    params = {
        "W": normal(keys[0], (V, H), scale),
        "vbias": vbias,
        "hbias": jnp.zeros((H,), jnp.float32),
        "Wuv": normal(keys[1], (U, V), scale),
        "Wuh": normal(keys[2], (U, H), scale),
        "u0": jnp.zeros((U,), jnp.float32),
        "Wvu": normal(keys[3], (V, U), scale),
        "Wuu": normal(keys[4], (U, U), rec * 0.5),
        "bu": jnp.zeros((U,), jnp.float32),
    }
    if previous:
        params |= {
            "Wpv": jnp.zeros((V, V), jnp.float32),
            "Wph": normal(keys[10], (V, H), scale),
        }
    if n_context:
        params |= {
            "Wcv": jnp.zeros((n_context, V), jnp.float32),
            "Wch": normal(keys[9], (n_context, H), scale),
        }
    if cell == "gru":
        params |= {
            "Wvz": normal(keys[5], (V, U), scale),
            "Wuz": normal(keys[6], (U, U), rec * 0.5),
            "bz": jnp.zeros((U,), jnp.float32),
            "Wvr": normal(keys[7], (V, U), scale),
            "Wur": normal(keys[8], (U, U), rec * 0.5),
            "br": jnp.zeros((U,), jnp.float32),
        }
    return params


# ---------------------------------------------------------------------------------------------
# Recurrence


def rnn_step(params: dict, u: jax.Array, v: jax.Array) -> jax.Array:
    """u(t) from u(t-1) and the frame v(t); works on any leading batch shape."""
    if "Wvz" in params:
        z = jax.nn.sigmoid(v @ params["Wvz"] + u @ params["Wuz"] + params["bz"])
        r = jax.nn.sigmoid(v @ params["Wvr"] + u @ params["Wur"] + params["br"])
        c = jnp.tanh(v @ params["Wvu"] + (r * u) @ params["Wuu"] + params["bu"])
        return (1.0 - z) * u + z * c
    return jnp.tanh(v @ params["Wvu"] + u @ params["Wuu"] + params["bu"])


def split_frames(params: dict, frames: jax.Array) -> tuple[jax.Array, jax.Array | None]:
    """(notes [..., V], context [..., C] or None) of frames that may carry context columns."""
    V = params["W"].shape[0]
    if "Wcv" not in params:
        return frames[..., :V], None
    return frames[..., :V], frames[..., V:]


def previous_states(params: dict, frames: jax.Array) -> jax.Array:
    """u(t-1) for every t of `frames` [B, T, V(+C)] → [B, T, U] (u(-1) is the learned `u0`;
    the recurrence reads the notes only)."""
    frames = frames[..., : params["W"].shape[0]]
    B = frames.shape[0]
    u_init = jnp.broadcast_to(params["u0"], (B, params["u0"].shape[0]))

    def step(u: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
        return rnn_step(params, u, v), u

    _, u_prev = jax.lax.scan(step, u_init, jnp.swapaxes(frames, 0, 1))
    return jnp.swapaxes(u_prev, 0, 1)


def frame_biases(
    params: dict,
    u_prev: jax.Array,
    context: jax.Array | None = None,
    v_prev: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """The RBM biases of each step given u(t-1), its context and the frame before it:
    (bv [..., V], bh [..., H])."""
    bv = params["vbias"] + u_prev @ params["Wuv"]
    bh = params["hbias"] + u_prev @ params["Wuh"]
    if context is not None and "Wcv" in params:
        bv = bv + context @ params["Wcv"]
        bh = bh + context @ params["Wch"]
    if v_prev is not None and "Wpv" in params:
        bv = bv + v_prev @ params["Wpv"]
        bh = bh + v_prev @ params["Wph"]
    return bv, bh


def shifted(frames: jax.Array) -> jax.Array:
    """v(t-1) for every t of `frames` [B, T, V] (silence before the first frame)."""
    return jnp.concatenate([jnp.zeros_like(frames[:, :1]), frames[:, :-1]], axis=1)


def context_biases(params: dict, context: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """The biases of the recurrence-free frame RBM (pre-training) with its context."""
    bv, bh = params["vbias"], params["hbias"]
    if context is not None and "Wcv" in params:
        bv = bv + context @ params["Wcv"]
        bh = bh + context @ params["Wch"]
    return bv, bh


# ---------------------------------------------------------------------------------------------
# The conditional RBM of one step (per-frame biases, shared W)


def gibbs_chain(
    W: jax.Array,
    bv: jax.Array,
    bh: jax.Array,
    v: jax.Array,
    key: jax.Array,
    k: int,
    temperature: float | jax.Array = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """k alternating Gibbs steps v→h→v from `v`; returns (binary sample, mean-field probs)."""
    rbm = RBMParams(W, bv, bh)  # per-frame biases broadcast in the RBM's conditionals

    def body(carry: tuple[jax.Array, jax.Array], key: jax.Array):
        v, _ = carry
        kh, kv = jax.random.split(key)
        h = fast_bernoulli(kh, hidden_probs(rbm, v, temperature))
        p = visible_probs(rbm, h, temperature)
        return (fast_bernoulli(kv, p), p), None

    (v, p), _ = jax.lax.scan(body, (v, jnp.zeros_like(v)), jax.random.split(key, k))
    return v, p


class LossParts(NamedTuple):
    """What one CD step reports besides the gradient."""

    recon_error: jax.Array  # mean squared error of the negative sample against the data, per unit
    free_energy: jax.Array  # mean F(v_data) per frame (for the overfitting gap)


def _cd_free_energies(
    W: jax.Array, bv: jax.Array, bh: jax.Array, frames: jax.Array, key: jax.Array, k: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(F(data), F(v̂), v̂) per frame, v̂ from stop_gradient'ed k-step Gibbs chains started at
    the data: the two sides of the CD-k surrogate."""
    sg = jax.lax.stop_gradient
    v_neg = sg(gibbs_chain(sg(W), sg(bv), sg(bh), frames, key, k)[0])
    rbm = RBMParams(W, bv, bh)
    return free_energy(rbm, frames), free_energy(rbm, v_neg), v_neg


def cd_loss(
    params: dict, frames: jax.Array, mask: jax.Array, key: jax.Array, k: int
) -> tuple[jax.Array, LossParts]:
    """Free-energy surrogate whose gradient is the CD-k gradient through time:
    mean_t F_t(v(t)) - F_t(v̂(t)), v̂ from Gibbs chains started at the data."""
    frames, context = split_frames(params, frames)
    u_prev = previous_states(params, frames)
    bv, bh = frame_biases(params, u_prev, context, shifted(frames))
    f_pos, f_neg, v_neg = _cd_free_energies(params["W"], bv, bh, frames, key, k)
    n = jnp.maximum(jnp.sum(mask), 1.0)
    loss = jnp.sum(mask * (f_pos - f_neg)) / n
    recon = jnp.sum(mask * jnp.mean((frames - v_neg) ** 2, axis=-1)) / n
    return loss, LossParts(recon, jnp.sum(mask * f_pos) / n)


def frame_rbm_loss(
    params: dict, frames: jax.Array, key: jax.Array, k: int
) -> tuple[jax.Array, LossParts]:
    """The same surrogate for the plain frame-level RBM (W, vbias, hbias only): the paper's
    pre-training, done before the recurrence is switched on (with the context, if any)."""
    frames, context = split_frames(params, frames)
    bv, bh = context_biases(params, context)
    f_pos, f_neg, v_neg = _cd_free_energies(params["W"], bv, bh, frames, key, k)
    recon = jnp.mean((frames - v_neg) ** 2)
    return jnp.mean(f_pos - f_neg), LossParts(recon, jnp.mean(f_pos))


# ---------------------------------------------------------------------------------------------
# Generation


def canonical_step(
    v: jax.Array, prev: jax.Array, span: int | None, onset_sustain: bool = False
) -> jax.Array:
    """Make a sampled two-plane row canonical against the previous row (struck ⊆ sounding, struck
    at every onset; or, as onset/sustain planes, a sustain only after a sounding step) so the
    recurrence reads the same kind of frames it was trained on."""
    if span is None:
        return v
    if onset_sustain:
        onset, sustain = v[..., :span], v[..., span:]
        before = jnp.maximum(prev[..., :span], prev[..., span:])
        onset = jnp.maximum(onset, sustain * (1.0 - before))
        return jnp.concatenate([onset, sustain * (1.0 - onset)], axis=-1)
    sounding = v[..., :span]
    struck = jnp.maximum(v[..., span:] * sounding, sounding * (1.0 - prev[..., :span]))
    return jnp.concatenate([sounding, struck], axis=-1)


def sample_sequence(
    params: dict,
    key: jax.Array,
    *,
    batch: int,
    steps: int,
    primer: jax.Array | None = None,
    gibbs_steps: int = 25,
    temperature: float = 1.0,
    start: str = "silence",
    span: int | None = None,
    context: jax.Array | None = None,
    onset_sustain: bool = False,
) -> jax.Array:
    """Sample `batch` sequences of `steps` frames [batch, steps, V], one frame at a time.

    The first `len(primer)` frames are the primer, clamped (the recurrence reads them); the rest
    are drawn from each step's RBM with `gibbs_steps` Gibbs steps at `temperature`. Each step's
    chain starts from the previous frame (or noise with `start="noise"`), which keeps held notes
    cheap to continue. `span` (pitches per plane) turns on two-plane canonicalisation.
    `context` [steps, C] is each step's given context (a model with context needs it).
    """
    V = params["vbias"].shape[0]
    n_primer = 0 if primer is None else int(primer.shape[0])
    if n_primer > steps:
        raise ValueError(f"primer has {n_primer} frames, more than the {steps} requested")
    # the scan length is static: round it up so songs of similar length share one compile
    padded = -(-steps // 256) * 256
    clamp = jnp.zeros((padded, V), jnp.float32)
    use_clamp = jnp.zeros((padded,), bool)
    if n_primer:
        clamp = clamp.at[:n_primer].set(jnp.asarray(primer, jnp.float32))
        use_clamp = use_clamp.at[:n_primer].set(True)
    n_context = params["Wcv"].shape[0] if "Wcv" in params else 0
    ctx = jnp.zeros((padded, n_context), jnp.float32)
    if n_context:
        if context is None or context.shape != (steps, n_context):
            raise ValueError(
                f"this model needs {n_context} context values for each of {steps} steps"
            )
        ctx = ctx.at[:steps].set(jnp.asarray(context, jnp.float32))
    return _sample_scan(
        params,
        key,
        clamp,
        use_clamp,
        ctx,
        batch=batch,
        gibbs_steps=gibbs_steps,
        temperature=float(temperature),
        noise_start=start == "noise",
        span=span,
        onset_sustain=onset_sustain,
    )[:, :steps]


@functools.partial(
    jax.jit, static_argnames=("batch", "gibbs_steps", "noise_start", "span", "onset_sustain")
)
def _sample_scan(
    params: dict,
    key: jax.Array,
    clamp: jax.Array,
    use_clamp: jax.Array,
    context: jax.Array,
    *,
    batch: int,
    gibbs_steps: int,
    temperature: float,
    noise_start: bool,
    span: int | None,
    onset_sustain: bool = False,
) -> jax.Array:
    V = params["vbias"].shape[0]
    u = jnp.broadcast_to(params["u0"], (batch, params["u0"].shape[0]))
    prev = jnp.zeros((batch, V), jnp.float32)

    def step(carry, inputs):
        u, prev = carry
        key, target, clamped, ctx = inputs
        k_init, k_chain = jax.random.split(key)
        bv, bh = frame_biases(params, u, ctx if "Wcv" in params else None, prev)
        if noise_start:
            v0 = jax.random.bernoulli(k_init, jax.nn.sigmoid(bv)).astype(jnp.float32)
        else:
            v0 = prev
        v, _ = gibbs_chain(params["W"], bv, bh, v0, k_chain, gibbs_steps, temperature)
        v = canonical_step(v, prev, span, onset_sustain)
        v = jnp.where(clamped, jnp.broadcast_to(target, v.shape), v)
        return (rnn_step(params, u, v), v), v

    keys = jax.random.split(key, clamp.shape[0])
    _, frames = jax.lax.scan(step, (u, prev), (keys, clamp, use_clamp, context))
    return jnp.swapaxes(frames, 0, 1)
