"""How good is an RNN-RBM on held-out songs: mean log-likelihood per frame and frame accuracy.

Each frame t has its own RBM (biases from u(t-1)), so each needs its own partition function.
`ais.ais_arrays` estimates them all at once — frames × chains vectorised, scanned over the inverse
temperatures, each frame annealed from its own visible-bias model — and log p(v(t) | past) =
−F_t(v(t)) − log Z_t. The numbers are the ones the literature reports (natural log, averaged over
every frame of the split). `evaluate` also runs reverse AIS (RAISE) from every frame: forward AIS
errs high and RAISE low, so the figure is reported as converged only where the two agree; the
trainer's held-out score is RAISE alone, the side that cannot flatter a sharpening model.

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

from ...music.encoding import StateMatrix
from ..ais import MAX_EXACT_UNITS, ais_arrays, exact_log_partition_arrays, raise_arrays
from ..base import EvaluateRequest, EvaluationReport
from ..document import Model
from ..energy import free_energy_np
from . import network as rnn_rbm
from .training import pad_sequences

DEFAULT_BETAS = 1000
DEFAULT_CHAINS = 32


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
    (frames [N, V], bv [N, V], bh [N, H]), sequences concatenated in order (context columns, if
    the model reads any, go into the biases)."""
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
            chunks[i] = (frames[j, :n, : bv.shape[-1]], bv[j, :n], bh[j, :n])
    for i in range(len(sequences)):
        f, v, h = chunks[i]
        frames_out.append(f)
        bv_out.append(v)
        bh_out.append(h)
    return np.concatenate(frames_out), np.concatenate(bv_out), np.concatenate(bh_out)


@jax.jit
def _biases(params: dict, frames: jax.Array) -> tuple[jax.Array, jax.Array]:
    notes, context = rnn_rbm.split_frames(params, frames)
    u_prev = rnn_rbm.previous_states(params, notes)
    return rnn_rbm.frame_biases(params, u_prev, context, rnn_rbm.shifted(notes))


def evaluate_frames(
    params: dict,
    sequences: Sequence[np.ndarray],
    *,
    n_chains: int = 100,
    n_betas: int = 1000,
    seed: int = 0,
    block: int = 256,
    reverse: bool = False,
) -> FrameLikelihoodReport:
    """Mean log p(v(t) | v(<t)) over every frame of `sequences`, by AIS (see module doc), or with
    `reverse` by RAISE (`ais.raise_arrays`): the conservative side, log p_ann, which a schedule too
    short for the model pulls down, never up (its frame accuracy is nan: its chains end at the
    base model)."""
    if not sequences or not any(len(s) for s in sequences):
        raise ValueError("no frames to evaluate")
    frames, bv, bh = frame_conditionals(params, [s for s in sequences if len(s)])
    W = np.asarray(params["W"], np.float32)
    # each frame's base model keeps its own hidden biases too, so only the weights are annealed:
    # the recurrent biases are large, and annealing them from uniform hidden units leaves the
    # chains far from the frame's modes (a much wider forward-reverse gap at the same β)
    kw = {"n_betas": n_betas, "n_chains": n_chains, "seed": seed, "block": block}
    if reverse:
        ais = raise_arrays(W, bv, bh, frames, hidden_base=True, **kw)
    else:
        ais = ais_arrays(W, bv, bh, hidden_base=True, **kw)
    log_p = -free_energy_np(W, bv, bh, frames) - ais.log_z
    n = len(frames)
    y = frames.astype(np.float64)
    tp = float(np.sum(y * ais.marginals))
    fp = float(np.sum((1 - y) * ais.marginals))
    fn = float(np.sum(y * (1 - ais.marginals)))
    return FrameLikelihoodReport(
        log_likelihood=float(log_p.mean()),
        stderr=float(log_p.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
        accuracy=float("nan") if reverse else tp / max(tp + fp + fn, 1e-12),
        frames=n,
        ais_spread=float(ais.log_weights.std(axis=1).mean()),
        n_chains=n_chains,
        n_betas=ais.n_betas,
    )


def exact_frame_log_p(params: dict, sequences: Sequence[np.ndarray]) -> np.ndarray:
    """log p(v(t) | v(<t)) of every frame with every log Z by enumeration (small models)."""
    frames, bv, bh = frame_conditionals(params, sequences)
    W = np.asarray(params["W"], np.float64)
    log_z = exact_log_partition_arrays(W, bv, bh)
    return -free_energy_np(W, bv, bh, frames) - log_z


def exact_frame_log_likelihood(params: dict, sequences: Sequence[np.ndarray]) -> float:
    """The mean of `exact_frame_log_p`: what AIS estimates, exactly."""
    return float(np.mean(exact_frame_log_p(params, sequences)))


def mean_free_energy(params: dict, sequences: Sequence[np.ndarray]) -> float:
    """Mean conditional free energy F_t(v(t)) per frame (for the training overfitting gap)."""
    frames, bv, bh = frame_conditionals(params, sequences)
    return float(free_energy_np(params["W"], bv, bh, frames).mean())


def _checked_sequences(model: Model, matrices: Sequence[StateMatrix]) -> list[np.ndarray]:
    """The model's input sequences of these songs (empty ones dropped), after checking the songs'
    encoding and width match the model."""
    from .sampler import context_width, model_sequences

    if not model.frame_level and any(m.encoding != model.encoding for m in matrices):
        raise ValueError(
            f"the songs use encoding {matrices[0].encoding}, the model {model.encoding}"
        )
    sequences = [s for s in model_sequences(model, matrices) if len(s)]
    width = model.n_visible + context_width(model.params)
    if sequences and sequences[0].shape[1] != width:
        raise ValueError(
            f"the songs give {sequences[0].shape[1]} visible units, the model has {model.n_visible}"
        )
    return sequences


def _exact_report(model: Model, sequences: list[np.ndarray]) -> EvaluationReport:
    """Every frame scored against its exact log Z."""
    log_p = exact_frame_log_p(model.params, sequences)
    value, frames = float(log_p.mean()), int(log_p.size)
    return EvaluationReport(
        kind=model.kind,
        per_frame=value,
        per_frame_sem=float(log_p.std(ddof=1) / np.sqrt(frames)) if frames > 1 else 0.0,
        frames=frames,
        method="exact",
        extras={"frames": frames},
        lines=(f"log-likelihood per frame {value:.3f} (every frame's log Z exact)",),
        converged=True,
        convergence="exact",
    )


def _ais_report(
    model: Model, request: EvaluateRequest, sequences: list[np.ndarray]
) -> EvaluationReport:
    """Every frame scored by forward AIS and by RAISE, converged when the two agree."""
    betas = request.betas or DEFAULT_BETAS
    chains = request.chains or DEFAULT_CHAINS
    result = evaluate_frames(
        model.params, sequences, n_chains=chains, n_betas=betas, seed=request.seed
    )
    low = evaluate_frames(
        model.params, sequences, n_chains=chains, n_betas=betas, seed=request.seed, reverse=True
    )
    converged, why = bracket_converged(result.log_likelihood, low.log_likelihood, request.tolerance)
    return EvaluationReport(
        kind=model.kind,
        per_frame=result.log_likelihood,
        per_frame_sem=result.stderr,
        frames=result.frames,
        method="ais",
        n_betas=result.n_betas,
        n_chains=chains,
        seed=request.seed,
        extras={
            "frame_accuracy": result.accuracy,
            "ais_spread": result.ais_spread,
            "frames": result.frames,
            "per_frame_raise": low.log_likelihood,
            "bracket": result.log_likelihood - low.log_likelihood,
            "tolerance": request.tolerance,
        },
        lines=(
            result.summary(),
            f"reverse AIS (RAISE, the conservative side) {low.log_likelihood:.3f} per frame: "
            f"the true value lies about between the two",
        ),
        converged=converged,
        convergence=why,
    )


def evaluate(model: Model, request: EvaluateRequest) -> EvaluationReport:
    """The kind's `evaluate`: every frame of the songs scored by per-frame AIS, plus the frame
    accuracy. The songs must be in the model's encoding (a frame-level model reads the sounding
    plane of any grid)."""
    sequences = _checked_sequences(model, request.songs)
    if request.method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be auto, exact or ais, not {request.method!r}")
    small = min(model.n_visible, model.n_hidden) <= MAX_EXACT_UNITS
    if request.method == "exact" and not small:
        raise ValueError(f"exact log Z needs a layer of at most {MAX_EXACT_UNITS} units; use AIS")
    if request.method == "exact" or (request.method == "auto" and small):
        return _exact_report(model, sequences)
    return _ais_report(model, request, sequences)


def bracket_converged(forward: float, reverse: float, tolerance: float) -> tuple[bool, str]:
    """Whether forward AIS (biased up) and RAISE (biased down) agree to `tolerance` nats per frame,
    and if not, a line that says so. A forward figure above 0 is never converged: no binary frame
    has a probability above 1."""
    gap = forward - reverse
    if forward > 0.0 or not np.isfinite(gap) or gap > tolerance:
        return False, (
            f"forward AIS reads {forward:.3f} per frame and reverse AIS {reverse:.3f}, "
            f"{gap:.3f} apart (tolerance {tolerance:g}); the true value lies between them "
            "only roughly — rerun with more --betas"
        )
    return True, f"forward and reverse AIS agree within {tolerance:g} per frame ({gap:.3f})"
