"""RBM training as an iterator of progress records, fast enough to watch live.

Every mini-batch update (CD-k / PCD-k, momentum, weight decay, sparsity, learning-rate decay,
end-of-epoch metrics) runs inside one jit-compiled `lax.scan` over a fixed number of steps (a
*chunk*), so Python dispatches once per chunk, not once per batch. The shuffled mini-batches are
gathered on the host (seeded per epoch; windows by index from the songs' rows or a corpus's
memory map, one chunk ahead on a prefetch thread) and passed in as the scan's input, split over
every device of the chosen kind (`models.sharding`). The chunk length is a static shape picked from a FLOP estimate; the last partial
chunk is masked, so a run never recompiles for its tail. The second group of chunks is timed and,
if a chunk misses ~0.08 s badly, the length is changed once: the new program compiles on a
background thread while training goes on with the old one, so no epoch waits for it. The trainer then
dispatches as many chunks back to back as fit in ~0.15 s before it reports, so a listener hears
progress at least 5× per second and pause/cancel take effect within one group.

Randomness is keyed by the global step (`fold_in(key, step)`), so the weights depend only on the
seed, the data and the machine — not on how steps were grouped into chunks. Arrays are padded to
size buckets so that similar data sets share one compiled program.

The trainer keeps a numpy copy of the parameters after every group, so `snapshot()`, `weights()`
and `hidden_activations()` never touch JAX and are safe to call from the GUI thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...data.corpus import Corpus, WindowSet
from ...music.dynamics import learn_dynamics
from ...music.encoding import Encoding, StateMatrix
from ...music.form import MAX_FORM_SONGS, learn_form
from ...music.keys import tonic_shift, transposed
from ..base import TrainingProgress
from ..config import TrainingConfig
from ..document import Model
from ..energy import RBMParams, bernoulli, free_energy
from ..sharding import batch_mesh, to_host
from ..trainer_base import REPORT_INTERVAL_S, TrainerControls
from . import lateral
from .cd import cd_statistics_t, init_params
from .evaluator import as_arrays, free_energies
from .spec import SPEC as KIND
from .spec import continuation_split

ASSUMED_FLOPS_PER_S = 3e10  # only to pick a chunk length before anything has been measured
MAX_CHUNK_S = 0.25  # a first chunk slower than this is re-sized (one recompile)
MIN_CHUNK_S = 0.025  # ... and one faster than this too, when the run is long enough to pay
TARGET_CHUNK_S = 0.08  # per dispatched chunk; per-call overhead is ~1 ms, so keep chunks long
MAX_CHUNK = 256
MAX_METRIC_WINDOWS = 2000  # windows used for the free-energy gap at each epoch end
MAX_SCORE_WINDOWS = 1000  # held-out windows of the pseudo-likelihood score
SCORE_FLIPS = 4  # units flipped per window for the pseudo-likelihood
MAX_KEY_SHIFTS = 10_000  # training songs' keys kept in the model (to draw generated songs' keys)
ACTIVATION_SAMPLE = 500  # windows used for the hidden-activation histogram


class StaticSpec(NamedTuple):
    """Everything that fixes the compiled program's shapes and structure (hashable)."""

    batch: int
    chunk: int
    cd_k: int
    pcd: bool
    sparsity: bool
    gap: bool = True  # compute the free-energy gap at epoch ends (False: no held-out windows)
    # conditional CD: the first `context_rows` batch rows keep their first `context_units`
    # visible units at the data in the negative phase (0: plain CD)
    context_rows: int = 0
    context_units: int = 0
    # of those rows, the first `fresh_rows` start their free units from a draw of the model's
    # visible marginals, as the sampler's new rows do, instead of from the data
    fresh_rows: int = 0
    # semitone links (`lateral.py`): visible half sweeps and a fourth parameter array
    lateral: bool = False
    window: int = 1


class Hyper(NamedTuple):
    """Dynamic scalars: changing them does not recompile."""

    learning_rate: jax.Array
    lr_decay: jax.Array
    momentum_start: jax.Array
    momentum_end: jax.Array
    momentum_switch_epoch: jax.Array
    weight_decay: jax.Array
    sparsity_target: jax.Array
    sparsity_cost: jax.Array


class TrainData(NamedTuple):
    holdout: jax.Array  # uint8 [m, V] held-out windows (rows padded to a size bucket)
    train_sample: jax.Array  # uint8 [m, V] training windows compared against the holdout
    metric_weights: jax.Array  # float32 [m]: 1 for real rows, 0 for padding
    step_key: jax.Array  # folded with the global step: sampling noise


class TrainParams(NamedTuple):
    """The trainer's own layout: weights as [H, V] (faster XLA CPU matmuls with the long visible
    axis last; with hidden probabilities [H, B] and samples [B, H] all five CD-1 products are
    plain row-major dots). `RBMParams` (W [V, H]) is what everything outside the trainer sees."""

    WT: jax.Array
    vbias: jax.Array
    hbias: jax.Array
    lateral: jax.Array  # [row width] semitone links shared by the window's steps (0 when off)


def _hidden_probs_t(p: TrainParams, v: jax.Array) -> jax.Array:
    """p(h=1 | v) as [H, B]: WT @ vᵀ runs on XLA CPU's fast dot kernel (YNNPACK), v @ WTᵀ
    ([B, H] out) on a slower one, and the [H, B] result feeds the weight gradient untransposed."""
    return jax.nn.sigmoid(p.WT @ v.T + p.hbias[:, None])


def _visible_probs(p: TrainParams, h: jax.Array) -> jax.Array:
    """p(v=1 | h) [B, V] from hidden samples [B, H] (sampled from `_hidden_probs_t(...).T`, so
    h @ WT is again a plain product)."""
    return jax.nn.sigmoid(h @ p.WT + p.vbias)


class TrainState(NamedTuple):
    params: TrainParams
    velocity: TrainParams
    chains: jax.Array  # PCD persistent chains [batch, V] (a dummy [1, 1] for CD)
    err_sum: jax.Array  # reconstruction error summed over this epoch's windows so far
    err_count: jax.Array


class Schedule(NamedTuple):
    """Per-step inputs of one chunk, built on the host (shuffling there keeps the compiled
    program small): the windows and 0/1 weights of each mini-batch, and where each step is."""

    v: jax.Array  # uint8 [chunk, batch, V]: each step's mini-batch (split over the devices)
    weights: jax.Array  # float32 [chunk, batch]; 0 pads a partial last batch
    step: jax.Array  # int32 [chunk] global step (keys the sampling noise)
    epoch: jax.Array  # int32 [chunk] global epoch (learning-rate and momentum schedules)
    active: jax.Array  # bool [chunk]; False past the last step of the run
    epoch_end: jax.Array  # bool [chunk]


def _free_energy_gap(spec: StaticSpec, params: TrainParams, data: TrainData) -> jax.Array:
    """mean F(held-out) − mean F(training sample): grows when the model overfits."""
    w = data.metric_weights
    n = jnp.sum(w)
    rbm = RBMParams(params.WT.T, params.vbias, params.hbias)

    def f(v):
        out = free_energy(rbm, v)
        if spec.lateral:
            out = out - lateral.pair_sum(lateral.tiled(params.lateral, spec.window), v)
        return out

    f_hold = jnp.sum(w * f(data.holdout.astype(jnp.float32)))
    f_train = jnp.sum(w * f(data.train_sample.astype(jnp.float32)))
    return jnp.where(n > 0, (f_hold - f_train) / jnp.maximum(n, 1.0), jnp.nan)


def _step_keys(data: TrainData, step: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(first hidden sample, negative chain, PCD chain) keys of global step `step`."""
    k_h0, k_neg, k_chain = jax.random.split(jax.random.fold_in(data.step_key, step), 3)
    return k_h0, k_neg, k_chain


def _h0_noise(data: TrainData, steps: jax.Array, batch: int, hidden: int) -> jax.Array:
    """The uniforms of every step's first hidden sample [chunk, B, H], drawn for the whole chunk
    in one vectorised call before the scan (the same draws as step by step; the per-step RNG was
    ~12 % of a CD-1 step, mostly small-kernel overhead)."""

    def one(step):
        return jax.random.uniform(_step_keys(data, step)[0], (batch, hidden), jnp.float32)

    return jax.vmap(one)(steps)


def _train_step(
    spec: StaticSpec,
    hyper: Hyper,
    data: TrainData,
    state: TrainState,
    xs: tuple[Schedule, jax.Array],
):
    """One mini-batch CD-k / PCD-k update with momentum, weight decay, sparsity and lr decay.

    Positive phase uses hidden probabilities; the last reconstruction of CD is mean-field (visible
    probabilities, Hinton's practical guide), which removes a B×V random draw per update; PCD keeps
    sampled persistent chains. Returns (state, per-step metrics)."""
    x, u_h0 = xs
    _, k_neg, k_chain = _step_keys(data, x.step)
    weights = x.weights
    v0 = x.v.astype(jnp.float32)
    params = state.params

    # hidden probabilities are [H, B] (see `_hidden_probs_t`), hidden samples [B, H]
    ph0 = _hidden_probs_t(params, v0)
    h0 = (u_h0 < ph0.T).astype(jnp.float32)  # = bernoulli(k_h0, ph0.T)
    v, h, keep, k_neg = _chain_start(spec, params, state, v0, h0, k_neg, k_chain)
    v, ph, first_pv = _negative_phase(spec, params, v0, v, h, ph0, keep, k_neg)
    recon = _visible_probs(params, h0) if spec.pcd else first_pv
    n = jnp.maximum(jnp.sum(weights), 1.0)
    row_err = jnp.mean((v0 - recon) ** 2, axis=1)
    batch_err = jnp.sum(row_err * weights) / n
    g = _gradients(spec, hyper, params, v0, ph0, v, ph, weights, n)
    lr = hyper.learning_rate / (1.0 + hyper.lr_decay * x.epoch.astype(jnp.float32))
    mom = jnp.where(x.epoch < hyper.momentum_switch_epoch, hyper.momentum_start, hyper.momentum_end)
    g = g._replace(WT=g.WT - hyper.weight_decay * params.WT)
    velocity = TrainParams(*(mom * u + lr * d for u, d in zip(state.velocity, g, strict=True)))
    new_params = TrainParams(*(p + u for p, u in zip(params, velocity, strict=True)))
    chains = v if spec.pcd else state.chains

    err_sum = state.err_sum + batch_err * n
    err_count = state.err_count + n
    epoch_err = err_sum / jnp.maximum(err_count, 1.0)
    # without held-out windows the gap is undefined (NaN): leave the per-step branch out
    gap = (
        jax.lax.cond(
            x.epoch_end,
            lambda: _free_energy_gap(spec, new_params, data),
            lambda: jnp.float32(jnp.nan),
        )
        if spec.gap
        else jnp.float32(jnp.nan)
    )
    reset = x.epoch_end
    new_state = TrainState(
        new_params,
        velocity,
        chains,
        jnp.where(reset, 0.0, err_sum),
        jnp.where(reset, 0.0, err_count),
    )
    return new_state, {"recon": batch_err, "epoch_recon": epoch_err, "gap": gap}


def _chain_start(spec: StaticSpec, params: TrainParams, state: TrainState, v0, h0, k_neg, k_chain):
    """Where the negative chain starts: at the data (CD) or the persistent chains (PCD); with
    conditional CD, the kept units of the first rows (`keep`), the free ones of the fresh rows
    started where the sampler starts. Returns (v, h, keep, k_neg)."""
    h = bernoulli(k_chain, _hidden_probs_t(params, state.chains).T) if spec.pcd else h0
    v = state.chains if spec.pcd else v0
    keep = None
    if spec.context_rows and not spec.pcd:
        # the sampler's task: the rest of a window given its start (a conditional RBM's CD)
        rows = jnp.arange(v0.shape[0])[:, None] < spec.context_rows
        keep = (rows & (jnp.arange(v0.shape[1])[None, :] < spec.context_units)).astype(v0.dtype)
        if spec.fresh_rows:
            # the free units start where the sampler's do: short-run chains from there learn
            # to reach the music in as many steps as the sampler takes
            k_fresh, k_fresh_h, k_neg = jax.random.split(k_neg, 3)
            fresh = jnp.arange(v0.shape[0])[:, None] < spec.fresh_rows
            start = bernoulli(k_fresh, jnp.broadcast_to(jax.nn.sigmoid(params.vbias), v0.shape))
            v = jnp.where(fresh, keep * v0 + (1.0 - keep) * start, v0)
            h = jnp.where(fresh, bernoulli(k_fresh_h, _hidden_probs_t(params, v).T), h)
    return v, h, keep, k_neg


def _negative_phase(spec: StaticSpec, params: TrainParams, v0, v, h, ph0, keep, k_neg):
    """`cd_k` Gibbs steps from (v, h); the last reconstruction of CD is mean-field. Returns
    (v, p(h|v) [H, B], the first reconstruction's visible probabilities)."""
    if spec.lateral:
        links = lateral.tiled(params.lateral, spec.window)
        even = jnp.asarray(lateral.even_units(v0.shape[1]))
    ph, first_pv = ph0, None
    for i, kk in enumerate(jax.random.split(k_neg, spec.cd_k)):
        k_v, k_h = jax.random.split(kk)
        last = i == spec.cd_k - 1
        mean_field = last and not spec.pcd
        if spec.lateral:
            logits = h @ params.WT + params.vbias
            if first_pv is None:  # the reconstruction the error curve reports
                pv = jax.nn.sigmoid(logits + lateral.neighbour_field(links, v))
            v = lateral.visible_sweep(
                logits, links, even, v, k_v, keep=keep, kept=v0, mean_field=mean_field
            )
        else:
            pv = _visible_probs(params, h)
            v = pv if mean_field else bernoulli(k_v, pv)
            if keep is not None:
                v = keep * v0 + (1.0 - keep) * v
        first_pv = pv if first_pv is None else first_pv
        ph = _hidden_probs_t(params, v)
        if not last:
            h = bernoulli(k_h, ph.T)
    return v, ph, first_pv


def _gradients(spec: StaticSpec, hyper: Hyper, params: TrainParams, v0, ph0, v, ph, weights, n):
    """The CD statistics (and the links' where they are learned) with the sparsity penalty."""
    if spec.lateral:
        # links are only learned for two-plane rows: a plane spans half a grid row
        mask = jnp.asarray(lateral.row_mask(v0.shape[1] // spec.window // 2))
        g_links = mask * (
            lateral.pair_statistics(v0, weights, spec.window)
            - lateral.pair_statistics(v, weights, spec.window)
        )
    else:
        g_links = jnp.zeros_like(params.lateral)
    g = TrainParams(*cd_statistics_t(v0, ph0, v, ph, weights), g_links)
    if spec.sparsity:
        q = (ph0 @ weights) / n
        pen = hyper.sparsity_cost * (q - hyper.sparsity_target)
        v_mean = jnp.sum(v0 * weights[:, None], axis=0) / n
        g = g._replace(WT=g.WT - pen[:, None] * v_mean[None, :], hbias=g.hbias - pen)
    return g


def _skip_step(state: TrainState, xs):
    nan = jnp.float32(jnp.nan)
    return state, {"recon": nan, "epoch_recon": nan, "gap": nan}


@partial(jax.jit, static_argnames="spec")
def run_chunk(
    state: TrainState, data: TrainData, hyper: Hyper, schedule: Schedule, spec: StaticSpec
):
    """`spec.chunk` training steps in one compiled scan; inactive steps do nothing."""

    def body(st, xs):
        step = partial(_train_step, spec, hyper, data)
        return jax.lax.cond(xs[0].active, step, _skip_step, st, xs)

    noise = _h0_noise(data, schedule.step, spec.batch, state.params.WT.shape[0])

    return jax.lax.scan(body, state, (schedule, noise))


def _has_avx512() -> bool:
    """True on x86 CPUs with AVX-512F (numpy's runtime CPU-feature table; False if absent)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        return False
    return bool(__cpu_features__.get("AVX512F"))


def compile_with_cpu_options(lowered):
    """Compile `lowered` with 512-bit vector code on AVX-512 CPUs. XLA CPU emits 256-bit code by
    default (older Intel parts slow their clock on 512-bit instructions); here it makes the
    trainer's elementwise passes (sigmoid over B×V, the momentum update) ~30 % faster, ~3 % of a
    CD-1 step. An XLA that lacks the option compiles with its defaults."""
    if _has_avx512():
        try:
            return lowered.compile(compiler_options={"xla_cpu_prefer_vector_width": 512})
        except jax.errors.JaxRuntimeError:
            pass
    return lowered.compile()


def cd_flops_per_step(batch: int, n_visible: int, n_hidden: int, cd_k: int) -> float:
    """Matmul FLOPs of one CD-k update: v→h, k·(h→v, v→h), two gradient outer products."""
    return 2.0 * batch * n_visible * n_hidden * (1 + 2 * cd_k + 2)


def size_bucket(n: int, minimum: int = 64) -> int:
    """`n` rounded up to 1/8 of its next power of two (at least `minimum`): datasets of similar
    size get identical array shapes, so they share one compiled program (≤ 12.5 % padding)."""
    if n <= minimum:
        return minimum
    step = max(1, (1 << (n - 1).bit_length()) // 8)
    return -(-n // step) * step


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """`a` with zero rows appended up to `rows` (padding is never indexed or is weighted 0)."""
    if a.shape[0] >= rows:
        return a
    return np.concatenate([a, np.zeros((rows - a.shape[0], *a.shape[1:]), a.dtype)])


def _form_and_dynamics(songs: Sequence[StateMatrix]) -> dict:
    """Which bars repeat which in the songs (the plans of songs "like the songs") and their
    accents (the velocities of generated notes), from at most `MAX_FORM_SONGS` songs spread
    evenly over them (a corpus unpacks each one it gives)."""
    picks = np.unique(np.linspace(0, len(songs) - 1, min(len(songs), MAX_FORM_SONGS)).astype(int))
    sample = [songs[int(i)] for i in picks] if len(songs) else []
    dynamics = learn_dynamics(sample)
    return {"form": learn_form(sample), **({"dynamics": dynamics} if dynamics else {})}


def _pow2_floor(x: float) -> int:
    return 1 << max(0, int(math.floor(math.log2(max(x, 1.0)))))


def _host_copy(params: TrainParams, links: bool) -> dict[str, np.ndarray]:
    """numpy {"W" [V, H], "vbias", "hbias"} (and "lateral" with semitone links) from the
    trainer's `TrainParams`."""
    W = np.ascontiguousarray(np.asarray(params.WT).T)
    out = {"W": W, "vbias": np.asarray(params.vbias), "hbias": np.asarray(params.hbias)}
    if links:
        out[lateral.PARAM] = np.asarray(params.lateral)
    return out


class RbmTrainer(TrainerControls):
    """Iterate it to train; `pause()`, `resume()`, `cancel()`, `snapshot()` work from any thread."""

    KIND = KIND

    def __init__(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
    ) -> None:
        corpus = matrices if isinstance(matrices, Corpus) else None
        self.take_inputs(config, [] if corpus else matrices, encoding)
        matrices, key_shifts = self._windows_of(config, matrices, encoding, corpus)
        window = config.effective_window
        rng = np.random.default_rng(config.seed)
        hold_idx, train_idx = self.split_held_out(self._source.n, rng)
        n_hold = len(hold_idx)
        self._planes = 1 if config.frame_level else 2
        self._train_base = train_idx
        self._shifts = np.array([0] + [s for k in range(1, config.transpose + 1) for s in (k, -k)])
        n_train = len(train_idx) * len(self._shifts)
        self.n_train = n_train
        self.n_visible = window * self._source.width
        self.n_hidden = int(config.hidden)
        n_metric = min(n_hold, MAX_METRIC_WINDOWS, n_train)
        samples = self._metric_samples(rng, hold_idx, n_metric)
        self._mesh = batch_mesh(config.device)

        init_key, run_key = jax.random.split(jax.random.PRNGKey(config.seed))
        params, links = self._start_params(config, model, init_key, n_train)

        batch = min(config.batch_size, n_train)
        self.batches_per_epoch = math.ceil(n_train / batch)
        self.total_steps = config.epochs * self.batches_per_epoch
        # each device takes an equal slice of every mini-batch: the padding rows weigh 0
        self._batch = batch
        self.spec = self._static_spec(config, self._mesh.padded_batch(batch), n_metric)
        self._hyper = self._mesh.replicate(_hyper_of(config))
        m = size_bucket(n_metric, minimum=16)
        hold_sample, train_sample = samples
        self._data = self._mesh.replicate(
            TrainData(
                pad_rows(hold_sample, m),
                pad_rows(train_sample, m),
                (np.arange(m) < n_metric).astype(np.float32),
                np.asarray(run_key),
            )
        )
        params = TrainParams(params.W.T, params.vbias, params.hbias, jnp.asarray(links))
        host_params = _host_copy(params, self._links)
        self._state = self._initial_state(params, batch)
        self._perm_epoch = -1
        self._perm = np.zeros(0, np.int64)
        self._perm_lock = threading.Lock()
        self._prefetch = ThreadPoolExecutor(1, thread_name_prefix="rbm-batches")
        self._pending: tuple[tuple[int, int], Future] | None = None
        # a re-sized chunk program compiles here while training goes on with the old one
        self._compiler = ThreadPoolExecutor(1, thread_name_prefix="rbm-compile")
        self._resizing: Future | None = None
        self._describe_dataset(config, matrices, corpus, key_shifts, n_train, n_hold)

        self.init_controls(host_params)

    def _start_params(
        self, config: TrainingConfig, model: Model | None, init_key: jax.Array, n_train: int
    ) -> tuple[RBMParams, np.ndarray]:
        """The parameters to start from (the continued model's, else fresh ones from `init_key`)
        and the semitone links; sets `_links`, whether the model trains links."""
        previous = self.continue_from(model)
        if previous is not None:
            params = RBMParams(*(jnp.asarray(previous[k]) for k in RBMParams._fields))
        else:
            params = init_params(init_key, self.n_visible, self.n_hidden, self._train_mean(n_train))
        # links only between a pitch's neighbours of a two-plane grid row (not frame-level)
        self._links = bool(config.value("semitone_links")) and self._planes == 2
        links = np.zeros(self._source.width, np.float32)
        if previous is not None and lateral.PARAM in previous:
            links = previous[lateral.PARAM]
        return params, links

    def _describe_dataset(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        corpus: Corpus | None,
        key_shifts: list[int],
        n_train: int,
        n_hold: int,
    ) -> None:
        """Set `dataset_summary`: the songs, windows, key shifts and turned-off options."""
        window = config.effective_window
        summary_of = corpus.summary() if corpus is not None else self.summary_common(matrices)
        self.dataset_summary = self._summarise(summary_of, self._source.n, n_train, n_hold)
        if key_shifts:
            self.dataset_summary["key_shifts"] = key_shifts[:MAX_KEY_SHIFTS]
        turned_off = self._turned_off(config, window, corpus is not None)
        if turned_off:
            self.dataset_summary["turned_off"] = turned_off
        self.dataset_summary.update(_form_and_dynamics(matrices if corpus is None else corpus))

    def _windows_of(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        corpus: Corpus | None,
    ) -> tuple[Sequence[StateMatrix], list[int]]:
        """Set `_source`, the windows to train on; returns the songs (moved to one key with the
        one-key option) and each song's shift."""
        key_shifts: list[int] = []
        if corpus is None and config.value("one_key") and not config.frame_level:
            # every song in C major or A minor: the keys share one set of pitches, so
            # each window teaches harmony, not which key a song was in (songs move back
            # to the training songs' keys when generated)
            key_shifts = [tonic_shift(m) for m in matrices]
            matrices = [transposed(m, s) for m, s in zip(matrices, key_shifts, strict=True)]
        if corpus is not None and corpus.encoding != encoding:
            raise ValueError(f"the corpus uses encoding {corpus.encoding}, expected {encoding}")
        window, stride = config.effective_window, config.effective_stride
        # windows are gathered by index from the songs' rows (or a corpus's memory map) as
        # each chunk needs them, never all held at once
        make = partial(WindowSet.from_matrices, matrices) if corpus is None else None
        if corpus is not None:
            make = partial(WindowSet.from_corpus, corpus)
        self._source = make(window=window, stride=stride, frame_level=config.frame_level)
        if self._source.n == 0:
            raise ValueError(
                f"no song is at least {window} steps long, so there is nothing to learn from"
            )
        return matrices, key_shifts

    def _metric_samples(
        self, rng: np.random.Generator, hold_idx: np.ndarray, n_metric: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Set the scored held-out windows, their flips and the activation sample; returns the
        (held-out, training) windows the epoch-end metrics compare."""
        hold_sample = self._source.gather(hold_idx[:n_metric])
        self._score_windows = hold_sample[:MAX_SCORE_WINDOWS].astype(np.float32)
        # the same units are flipped at every measurement, so scores compare across epochs
        self._score_flips = rng.integers(
            0, hold_sample.shape[1], size=(SCORE_FLIPS, len(self._score_windows))
        )
        n_train = self.n_train
        train_sample = self._train_windows(rng.choice(n_train, n_metric, replace=False))
        self._activation_sample = self._train_windows(
            rng.choice(n_train, min(ACTIVATION_SAMPLE, n_train), replace=False)
        ).astype(np.float32)
        return hold_sample, train_sample

    def _static_spec(self, config: TrainingConfig, padded: int, n_metric: int) -> StaticSpec:
        """What the compiled step depends on (shapes and switches)."""
        window = config.effective_window
        flops = cd_flops_per_step(padded, self.n_visible, self.n_hidden, config.cd_k)
        # depends only on the shapes, so trainers with equal shapes share one compiled program
        chunk = min(_pow2_floor(ASSUMED_FLOPS_PER_S * TARGET_CHUNK_S / flops), MAX_CHUNK)
        share = float(config.value("continue_share") or 0.0)
        if continuation_split(window)[0] == 0:
            share = 0.0  # a one-frame window has no first half to continue from
        return StaticSpec(
            batch=padded,
            chunk=chunk,
            cd_k=config.cd_k,
            pcd=config.pcd,
            sparsity=config.sparsity_target is not None and config.sparsity_cost > 0,
            gap=n_metric > 0,
            context_rows=round(padded * share),
            context_units=continuation_split(window)[0] * self._source.width,
            fresh_rows=round(padded * share) if config.value("fresh_start") else 0,
            lateral=self._links,
            window=window,
        )

    def _initial_state(self, params: TrainParams, batch: int) -> TrainState:
        """The replicated training state: parameters, zero velocities, and with PCD the
        persistent chains (starting at the first training windows, split over devices)."""
        zeros = TrainParams(*(jnp.zeros_like(p) for p in params))
        state = self._mesh.replicate(
            TrainState(params, zeros, np.zeros((1, 1), np.float32), np.float32(0), np.float32(0))
        )
        if self.config.pcd:
            padded = self.spec.batch
            first = pad_rows(self._train_windows(np.arange(batch)), padded).astype(np.float32)
            chains = self._mesh.batch_array(first[self._mesh.local_slice(padded)], 0, padded)
            state = state._replace(chains=chains)
        return state

    @staticmethod
    def _turned_off(config: TrainingConfig, window: int, corpus: bool) -> list[str]:
        """The options this recipe asks for that mean nothing for its windows, so training leaves
        them out (the CLI prints them, the model file keeps them): continuing a window's first
        half needs a window of two rows or more, semitone links a two-plane grid row, and one
        key a grid of whole songs (not the benchmark's frames or a corpus read in pieces)."""
        off = []
        share = float(config.value("continue_share") or 0.0)
        if continuation_split(window)[0] == 0 and share > 0.0:
            off.append("continue_share")
            if config.value("fresh_start"):
                off.append("fresh_start")
        if config.value("semitone_links") and config.frame_level:
            off.append("semitone_links")
        if config.value("one_key") and (config.frame_level or corpus):
            off.append("one_key")
        return off

    def training_rows(self) -> np.ndarray:
        """Every training window in order, one visible vector a row (`base.TrainingRows`)."""
        return self._train_windows(np.arange(self.n_train))

    def hidden_activations(self) -> np.ndarray:
        """Mean p(h=1|v) of each hidden unit over a fixed sample of training windows [H]."""
        W, hb = self.read_params("W", "hbias")
        x = self._activation_sample @ W + hb
        return (0.5 + 0.5 * np.tanh(0.5 * x)).mean(axis=0)  # sigmoid, no overflow

    # ----- the training loop -----
    def __iter__(self) -> Iterator[TrainingProgress]:
        self.start_once()
        self._epochs_done = self.epoch_offset
        run = _Run(self, self.epoch_offset + self.config.epochs)
        yield run.progress("compiling", keep=False)
        compiled = self._compile()
        self.compile_seconds = self._last_compile_seconds
        groups = 0
        run.active = self._last_compile_seconds or 0.0  # compiling is part of the wait
        calls_per_group = 1
        while run.steps_done < self.total_steps:
            if self.cancelled or self.time_up(run.active):
                break
            resized = self._resized()
            if resized is not None:  # the re-sized program is ready: train on with it
                compiled, calls_per_group = resized, 1
                continue
            if self.paused:
                yield from self.wait_paused(run.progress("paused"), REPORT_INTERVAL_S)
                continue
            t_start = time.perf_counter()
            dispatched, host_out, host_params = self._dispatch(
                compiled, run.steps_done, calls_per_group
            )
            dt = time.perf_counter() - t_start
            run.active += dt
            per_call = dt / len(dispatched)
            if self.chunk_seconds is None:
                self.chunk_seconds = per_call
            calls_per_group = max(1, int(REPORT_INTERVAL_S / max(per_call, 1e-6)))
            records = self._records(run, dispatched, host_out)
            groups += 1
            shown = self._epochs_done > self.epoch_offset
            if (
                groups >= 2
                and shown
                and self._resizing is None
                and run.steps_done < self.total_steps
            ):
                # at most one re-size, decided after the first epoch is shown (its compile would
                # slow it) and not on the first group: the first call carries start-up costs
                remaining_s = (self.total_steps - run.steps_done) * per_call / self.spec.chunk
                self._resize_in_background(self._better_chunk(per_call, remaining_s))
            host = _host_copy(host_params, self._links)
            stop = self._score_group(records, host)
            self.publish(host, records)
            # the minutes budget is wall time: scoring and bookkeeping count too
            run.active += time.perf_counter() - t_start - dt
            yield from self._group_reports(run, records, stop)
            if stop:
                break
        self._prefetch.shutdown(wait=True, cancel_futures=True)
        self._compiler.shutdown(wait=False, cancel_futures=True)
        self.finished = run.steps_done >= self.total_steps or self.stop_reason is not None
        yield run.progress(
            "done" if self.finished else "cancelled", eta=0.0 if self.finished else None
        )

    def _dispatch(self, compiled, start: int, calls: int) -> tuple[list, list, TrainParams]:
        """Run up to `calls` compiled chunks from step `start`, keep the new state, and bring
        their outputs and the parameters to the host: (dispatched, outputs, parameters)."""
        state = self._state
        dispatched = []
        for _ in range(calls):
            schedule = self._next_schedule(start)
            state, out = compiled(state, self._data, self._hyper, schedule)
            dispatched.append((start, self.spec.chunk, out))
            start += self.spec.chunk
            if start >= self.total_steps:
                break
        host_out = to_host([o for _, _, o in dispatched])
        host_params = to_host(state.params)
        self._state = state
        return dispatched, host_out, host_params

    def _records(self, run: _Run, dispatched: list, host_out: list) -> list[dict]:
        """The finished epochs' records of a group of chunks; advances `run` past its steps."""
        bpe = self.batches_per_epoch
        records = []
        for (chunk_start, chunk, _), out in zip(dispatched, host_out, strict=True):
            steps = chunk_start + np.arange(chunk)
            active = steps < self.total_steps
            ends = np.flatnonzero(active & (steps % bpe == bpe - 1))
            for i in ends:
                gap = float(out["gap"][i])
                records.append(
                    {
                        "epoch": self.epoch_offset + int(steps[i]) // bpe + 1,
                        "recon_error": float(out["epoch_recon"][i]),
                        "free_energy_gap": None if math.isnan(gap) else gap,
                        "elapsed": round(run.active, 4),
                    }
                )
            n_active = int(active.sum())
            run.steps_done = chunk_start + n_active
            run.last_recon = float(out["recon"][n_active - 1])
        return records

    def _score_group(self, records: list[dict], host: dict[str, np.ndarray]) -> bool:
        """Score the group's last epoch on held-out windows; True when patience says stop.
        One score per reporting group (a few a second), on the weights of that moment: scoring
        every epoch of a tiny data set would cost more than the training."""
        if not records:
            return False
        last = records[-1]
        last["held_out"] = self._held_out_score(host)
        return self.track_best(last["epoch"], last["held_out"], host)

    def _group_reports(
        self, run: _Run, records: list[dict], stop: bool
    ) -> Iterator[TrainingProgress]:
        """One report per finished epoch, then (unless stopping) one for the steps into the
        next epoch."""
        bpe = self.batches_per_epoch
        eta = run.active / run.steps_done * (self.total_steps - run.steps_done)
        for rec in records:
            self._epochs_done = rec["epoch"]
            run.last_gap = rec["free_energy_gap"]
            yield run.progress(
                "training",
                batch=bpe,
                recon_error=rec["recon_error"],
                epoch_end=True,
                eta=eta,
                held_out=rec.get("held_out"),
                best_epoch=self.best_epoch,
            )
        if stop:
            return
        in_epoch = run.steps_done % bpe
        if not records or in_epoch:
            yield run.progress("training", batch=in_epoch, eta=eta)

    def _held_out_score(self, params: dict[str, np.ndarray]) -> float | None:
        """Mean log pseudo-likelihood per grid step of the held-out windows (higher is better):
        V · log σ(F(ṽ) − F(v)) with one unit of v flipped (Besag 1975; scikit-learn's
        `BernoulliRBM.score_samples`), averaged over a few fixed flips. None without held-out
        windows. numpy on the host copy: it runs beside the compiled chunks, not inside them."""
        v = self._score_windows
        if len(v) == 0:
            return None
        if not all(np.isfinite(a).all() for a in params.values()):
            return None  # a diverged model has no score (the trainer stops on it)
        arrays = as_arrays(params)  # checked and converted once for the five evaluations
        f = free_energies(arrays, v)
        rows = np.arange(len(v))
        total = 0.0
        for flips in self._score_flips:
            flipped = v.copy()
            flipped[rows, flips] = 1.0 - flipped[rows, flips]
            gap = free_energies(arrays, flipped) - f
            total += float(np.mean(-np.logaddexp(0.0, -gap)))
        per_window = v.shape[1] * total / len(self._score_flips)
        return per_window / self.config.effective_window

    def _compile(self, spec: StaticSpec | None = None):
        """AOT-compile the chunk program for `spec` (the current one by default). JAX keeps
        it in memory for the process (and on disk), so a trainer of equal shapes — Train after
        `compile_ahead` — gets it back without tracing or compiling again."""
        spec = spec or self.spec
        t0 = time.perf_counter()
        schedule = self._schedule(0, spec.chunk)
        lowered = run_chunk.lower(self._state, self._data, self._hyper, schedule, spec=spec)
        compiled = compile_with_cpu_options(lowered)
        self._last_compile_seconds = time.perf_counter() - t0
        return compiled

    def compile_ahead(self) -> None:
        """Compile the training program this trainer would start with, and train nothing: a
        window does it in the background when songs arrive, so that Train finds it compiled."""
        self._compile()
        self._prefetch.shutdown(wait=False, cancel_futures=True)
        self._compiler.shutdown(wait=False, cancel_futures=True)

    def _resize_in_background(self, chunk: int | None) -> None:
        """Start compiling the program for chunks of `chunk` steps (None: keep the length)."""
        if chunk is None:
            self._resizing = Future()  # decided: keep the length
        elif self._resizing is None:
            spec = self.spec._replace(chunk=chunk)
            self._resizing = self._compiler.submit(lambda: (spec, self._compile(spec)))

    def _resized(self):
        """The re-sized program once its background compile is done (then used from the next
        chunk on), else None; a failed compile keeps the old length."""
        job = self._resizing
        if job is None or not job.done() or job.cancelled():
            return None
        self._resizing = Future()  # never again: one re-size per run
        if job.exception() is not None:
            return None
        self.spec, compiled = job.result()
        return compiled

    def _better_chunk(self, per_call: float, remaining_s: float) -> int | None:
        """A chunk length for ~TARGET_CHUNK_S per call when the first measured call missed it
        badly: shorter when a call is too slow to report 5× per second, longer when dispatch
        overhead would dominate a long run (worth one more compile)."""
        chunk = self.spec.chunk
        if per_call > MAX_CHUNK_S and chunk > 1:
            return max(1, _pow2_floor(chunk * TARGET_CHUNK_S / per_call))
        if (
            per_call < MIN_CHUNK_S
            and chunk < MAX_CHUNK
            and remaining_s > 10 * max(self._last_compile_seconds, 0.5)
        ):
            return min(MAX_CHUNK, _pow2_floor(chunk * TARGET_CHUNK_S / max(per_call, 1e-6)))
        return None

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """Shuffled window order of global epoch `epoch`, padded to whole batches (seeded)."""
        with self._perm_lock:  # the prefetch thread and a recompile may both ask
            if epoch != self._perm_epoch:
                B = self._batch
                order = np.random.default_rng([self.config.seed, epoch]).permutation(self.n_train)
                padded = np.zeros(self.batches_per_epoch * B, np.int64)
                padded[: self.n_train] = order
                self._perm, self._perm_epoch = padded.reshape(-1, B), epoch
            return self._perm

    def _next_schedule(self, start: int) -> Schedule:
        """The chunk at `start` (built ahead by the prefetch thread when it guessed right), and
        the next one started in the background while this one trains."""
        chunk = self.spec.chunk
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == (start, chunk):
            schedule = pending[1].result()
        else:
            schedule = self._schedule(start, chunk)
        if start + chunk < self.total_steps:
            job = self._prefetch.submit(self._schedule, start + chunk, chunk)
            self._pending = ((start + chunk, chunk), job)
        return schedule

    def _schedule(self, start: int, chunk: int | None = None) -> Schedule:
        """Inputs for the chunk (of `chunk` steps, the spec's by default) at local step `start`."""
        C, B, bpe = chunk or self.spec.chunk, self._batch, self.batches_per_epoch
        padded = self.spec.batch
        steps = start + np.arange(C)
        active = steps < self.total_steps
        idx = np.zeros((C, padded), np.int64)
        weights = np.zeros((C, padded), np.float32)
        local_epoch = steps // bpe
        batch = steps % bpe
        valid = (batch[:, None] * B + np.arange(B)[None, :]) < self.n_train
        for e in np.unique(local_epoch[active]):
            rows = active & (local_epoch == e)
            idx[rows, :B] = self._epoch_order(self.epoch_offset + int(e))[batch[rows]]
            weights[rows, :B] = valid[rows]
        # this process reads only its own slice of every mini-batch
        mine = self._mesh.local_slice(padded)
        v = self._train_windows(idx[:, mine].reshape(-1)).reshape(C, -1, self.n_visible)
        mesh = self._mesh
        replicated = mesh.replicate(
            (
                (self.epoch_offset * bpe + steps).astype(np.int32),
                (self.epoch_offset + local_epoch).astype(np.int32),
                active,
                active & (batch == bpe - 1),
            )
        )
        return Schedule(
            mesh.batch_array(v, 1, padded),
            mesh.batch_array(weights[:, mine], 1, padded),
            *replicated,
        )

    # ----- helpers -----
    def _train_windows(self, idx: np.ndarray) -> np.ndarray:
        """Training windows by index: the training split, then each transposed copy of it."""
        idx = np.asarray(idx, np.int64)
        n_base = len(self._train_base)
        return self._source.gather(
            self._train_base[idx % n_base], self._shifts[idx // n_base], self._planes
        )

    def _train_mean(self, n_train: int, block: int = 8192) -> np.ndarray:
        """Mean of every training window (the visible biases' start), a block at a time."""
        total = np.zeros(self.n_visible, np.float64)
        for start in range(0, n_train, block):
            total += self._train_windows(np.arange(start, min(start + block, n_train))).sum(0)
        return total / max(n_train, 1)

    def _summarise(self, common: dict, n_windows: int, n_train: int, n_hold: int) -> dict:
        return {
            **common,
            "devices": self._mesh.size,
            "windows": int(n_windows),
            "train_windows": int(n_train),
            "holdout_windows": int(n_hold),
        }


def _hyper_of(config: TrainingConfig) -> Hyper:
    """The run's hyperparameters as device scalars (traced, so changing them never recompiles)."""
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    return Hyper(
        learning_rate=f32(config.learning_rate),
        lr_decay=f32(config.lr_decay),
        momentum_start=f32(config.momentum_start),
        momentum_end=f32(config.momentum_end),
        momentum_switch_epoch=jnp.asarray(config.momentum_switch_epoch, jnp.int32),
        weight_decay=f32(config.weight_decay),
        sparsity_target=f32(config.sparsity_target or 0.0),
        sparsity_cost=f32(config.sparsity_cost),
    )


@dataclass
class _Run:
    """What one `RbmTrainer.__iter__` keeps between groups of chunks."""

    trainer: RbmTrainer
    total_epochs: int
    active: float = 0.0  # training seconds (compiling counted, paused time not)
    steps_done: int = 0  # steps finished (synced to the host)
    last_recon: float = float("nan")
    last_gap: float | None = None

    def progress(self, phase: str, *, keep: bool = True, **kw) -> TrainingProgress:
        """A report at the trainer's epoch; with `keep`, the latest error, gap and training
        time unless `kw` says otherwise."""
        if keep:
            kw = {
                "recon_error": self.last_recon,
                "free_energy_gap": self.last_gap,
                "elapsed": self.active,
                **kw,
            }
        return TrainingProgress(
            phase=phase,
            epoch=self.trainer._epochs_done,
            epochs=self.total_epochs,
            batches_per_epoch=self.trainer.batches_per_epoch,
            **kw,
        )
