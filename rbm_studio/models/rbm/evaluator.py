"""How good is a trained windowed RBM? The log-likelihood of songs, per window and per frame.

A window's log-likelihood is −F(v) − log Z with one partition function for the whole model: exact
for small models (at most `ais.MAX_EXACT_UNITS` units in the smaller layer), otherwise by AIS
from the base-rate model of the data (see `models/ais.py`), with many β because that one log Z
sets every window's figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ...music.encoding import StateMatrix
from ..ais import MAX_EXACT_UNITS, ais_arrays, base_rate_biases, exact_log_partition_arrays
from ..base import EvaluateRequest, EvaluationReport
from ..energy import free_energy_np
from . import lateral
from .spec import NAME

DEFAULT_N_BETAS = 10_000
DEFAULT_N_CHAINS = 100


# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True, slots=True)
class RBMArrays:
    """The arrays that define a Bernoulli RBM, as float64 numpy (precision for evaluation)."""

    W: np.ndarray  # [V, H]
    vbias: np.ndarray  # [V]
    hbias: np.ndarray  # [H]
    lateral: np.ndarray | None = None  # [V] semitone links over the window (`lateral.py`)

    @property
    def n_visible(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.W.shape[1])


def as_arrays(params: Any) -> RBMArrays:
    """Accept an `RBMParams` (or any object with W/vbias/hbias), a name→array mapping, a `Model`
    of this kind, or `RBMArrays`; return float64 arrays with checked shapes. A mapping's or
    model's one row of semitone links is spread over the window."""
    if isinstance(params, RBMArrays):
        return params
    kind = getattr(params, "kind", None)
    if kind is not None and isinstance(getattr(params, "params", None), Mapping):
        if kind != NAME:
            raise ValueError(
                f"a {kind!r} model has no single partition function; use its own evaluation"
            )
        params = params.params
    links = None
    if isinstance(params, Mapping):
        try:
            W, vbias, hbias = params["W"], params["vbias"], params["hbias"]
        except KeyError as exc:
            raise ValueError(f"RBM parameters lack {exc.args[0]!r}") from None
        links = params.get(lateral.PARAM)
    else:
        W, vbias, hbias = params.W, params.vbias, params.hbias
    W = np.asarray(W, dtype=np.float64)
    vbias = np.asarray(vbias, dtype=np.float64).reshape(-1)
    hbias = np.asarray(hbias, dtype=np.float64).reshape(-1)
    if W.ndim != 2 or W.shape != (vbias.size, hbias.size):
        raise ValueError(
            f"inconsistent RBM shapes: W {W.shape}, vbias {vbias.shape}, hbias {hbias.shape}"
        )
    if links is not None:
        row = np.asarray(links, dtype=np.float64).reshape(-1)
        if row.size == 0 or vbias.size % row.size:
            raise ValueError(f"{row.size} semitone links do not fit {vbias.size} visible units")
        links = lateral.tiled(row, vbias.size // row.size)
    return RBMArrays(W, vbias, hbias, links)


def free_energies(params: Any, v: np.ndarray) -> np.ndarray:
    """F(v) for every row of `v` (float64 [N]), with the width checked against the model."""
    p = as_arrays(params)
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != p.n_visible:
        raise ValueError(f"data has shape {v.shape}, the model has {p.n_visible} visible units")
    f = free_energy_np(p.W, p.vbias, p.hbias, v)
    if p.lateral is not None:
        f = f - lateral.pair_sum(p.lateral, v.astype(np.float64))
    return f


def exact_log_partition(params: Any, *, max_units: int = MAX_EXACT_UNITS) -> float:
    """log Z of an RBM with at most `max_units` units in its smaller layer (its visible layer
    when it has semitone links), exactly."""
    p = as_arrays(params)
    return float(
        exact_log_partition_arrays(p.W, p.vbias, p.hbias, max_units=max_units, lateral=p.lateral)
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
    result = ais_arrays(
        p.W, p.vbias, p.hbias, base, n_betas=n_betas, n_chains=n_chains, seed=seed,
        lateral=p.lateral,
    )  # fmt: skip
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
    from ...music.windows import extract_windows

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
) -> LikelihoodReport:
    """Mean log p(v) = −F(v) − log Z over the windows of `matrices` (or over the rows of an array
    already in the model's visible layout), per window and per frame.

    `method`: "exact" (small models), "ais", or "auto" (exact when possible). `data_mean`: marginals
    of the AIS base-rate model — best the training data's; defaults to the evaluated data's, which
    only changes the estimator's variance, not what it estimates.
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
    exact_units = p.n_visible if p.lateral is not None else min(p.W.shape)
    if method == "exact" or (method == "auto" and exact_units <= MAX_EXACT_UNITS):
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


_EXTRA_KEYS = (
    "per_window",
    "per_window_spread",
    "per_frame_spread",
    "log_z",
    "log_z_spread",
    "log_z_method",
    "mean_free_energy",
    "n_windows",
    "n_frames",
    "window",
)


def _report_lines(r: LikelihoodReport) -> tuple[str, str, str]:
    """The three lines `evaluate` prints: log Z (and how it was found), then per frame and
    per window."""
    if r.log_z_method == "ais":
        how = f"AIS, {r.n_betas} betas, {r.n_chains} chains, seed {r.seed}"
        z_line = f"log Z: {r.log_z:.4f} ± {r.log_z_spread:.4f} ({how}; ± = 3σ)"
    else:
        z_line = f"log Z: {r.log_z:.4f} (exact)"
    return (
        z_line,
        f"log-likelihood per frame:  {r.per_frame:.4f} ± {r.per_frame_spread:.4f}"
        f"  (standard error over windows {r.per_frame_sem:.4f})",
        f"log-likelihood per window: {r.per_window:.4f} ± {r.per_window_spread:.4f}",
    )


def _convergence(r: LikelihoodReport, tolerance: float) -> tuple[bool, str]:
    """Whether the reading can be trusted, and why: exact always is; AIS when log Z is known
    to within `tolerance` per frame and no frame reads a probability above 1."""
    converged, why = True, "exact"
    if r.log_z_method == "ais":
        converged = r.per_frame <= 0.0 and r.per_frame_spread <= tolerance
        why = (
            f"log Z is known to ±{r.per_frame_spread:.3f} per frame (3σ of the AIS weights), "
            f"tolerance {tolerance:g}"
        )
        if not converged:
            why = (
                f"AIS reads {r.per_frame:.3f} per frame, but its weights put log Z only within "
                f"±{r.per_frame_spread:.3f} per frame (3σ; tolerance {tolerance:g})"
                + (" and no frame has a probability above 1" if r.per_frame > 0.0 else "")
                + " — rerun with more --betas or --chains"
            )
    return converged, why


def evaluate(model: Any, request: EvaluateRequest) -> EvaluationReport:
    """The kind's `evaluate`: the songs' non-overlapping windows scored against one log Z, the AIS
    base rates taken from `request.base` (the training split) when given."""
    rows = visible_rows(model, request.songs)
    base = request.base
    base_rows = rows if base is None or base is request.songs else visible_rows(model, base)
    if rows.shape[1] != model.n_visible:
        raise ValueError(
            f"the songs give {rows.shape[1]} visible units, the model has {model.n_visible}"
        )
    r = log_likelihood(
        model,
        rows,
        method=request.method,
        data_mean=base_rows.mean(axis=0) if base_rows.shape[0] else None,
        n_betas=request.betas or DEFAULT_N_BETAS,
        n_chains=request.chains or DEFAULT_N_CHAINS,
        seed=request.seed,
    )
    lines = _report_lines(r)
    extras = {key: getattr(r, key) for key in _EXTRA_KEYS}
    converged, why = _convergence(r, request.tolerance)
    return EvaluationReport(
        converged=converged,
        convergence=why,
        kind=NAME,
        per_frame=r.per_frame,
        per_frame_sem=r.per_frame_sem,
        frames=r.n_frames,
        method=r.log_z_method,
        n_betas=r.n_betas,
        n_chains=r.n_chains,
        seed=r.seed,
        extras=extras,
        lines=lines,
    )
