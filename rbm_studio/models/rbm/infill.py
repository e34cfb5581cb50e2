"""Cells of a song sampled again given all the others: a regenerated region, a harmonised melody.

What this model samples well is what it practised in training ("continue"): the second half of a
window given its first half. A window's middle given a quarter on each side, or two windows'
product, comes out sparse and off the metre, so the free cells are written that way: window by
window from the left, each window's second half given its first (the song before, or what was
just written) and every given cell in it (a melody, the pitches outside a range, the bars after
a region where the window reaches them). That is conditioning on the left; the right comes in
by choice among `CANDIDATES` such writings of each song (sampling importance resampling). Read as
the model learned it, a song's probability is the product of its windows' second halves given
their first; the writing from the left drew every factor but those of given cells that follow
written ones (the bars after a region, a melody), so those factors are each writing's weight:
the given cells' log-likelihood under the model's mean-field estimate of the second half given
the writing (`_fit`), and one writing is drawn with odds in proportion to its weight (drawing,
not keeping the best, so that what comes out is a sample given both sides rather than the
writing the right side favours most). The silence around the song counts as given: a
harmonised melody is chosen by how it begins and ends too.

A region that ends where a window ends (bars, at the window's stride) never shares a window
with the given cells after it, so those reach the writing only through the weight. So after
the draw, the last rows before each place where given cells follow written ones (a region's
right seam) are sampled once more given both sides (`_right_seams`), as the form sampler closes
a bar before a known one: a Gibbs move on the drawn writing that sees the bars after it
directly (resample-move: Gilks and Berzuini 2001). Doing it after the draw, not before, keeps
each weight the right one for the writing it weighs (its cells were all drawn from the left).

Every window is one call of the form sampler's compiled conditional Gibbs run
(`form_sampler._fill`) over all candidates at once, settled at the end to the likelier state of
both layers (`modes`): the mean-field readout thinned the voices a region is written in. A model
that learned its songs in one key (`one_key`) reads the song moved there; the cells come back in
the song's own key, and every cell that was not free comes back exactly as given.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ...music.dynamics import with_dynamics
from ...music.encoding import StateMatrix, canonicalize
from ...music.keys import tonic_shift, transposed
from ...music.song import DEFAULT_VELOCITY
from ...music.windows import transpose_rows
from ..document import Model
from ..energy import bernoulli, neighbour_field
from ..generated import check_request
from . import one_key
from .form_sampler import _fill
from .sampler import _bucket, links_of, rbm_params
from .spec import continuation_split, infill_problem

# Gibbs steps per window when the request does not say: fewer than a song from scratch takes,
# so that all the candidates together stay within what a musician waits for (`bench music
# --infill` times it), and more than the fewest that still mix (fewer wrote worse music)
GIBBS_DEFAULT = 50
# continuations sampled for each song asked for; the one that fits best with what is after it
# is kept
CANDIDATES = 8
# mean-field updates of the cells whose probability weighs a candidate
MEAN_FIELD_STEPS = 10


def infill(
    model: Model,
    song: StateMatrix,
    free: np.ndarray,
    *,
    songs: int,
    gibbs_steps: int,
    temperature: float,
    seed: int,
) -> list[StateMatrix]:
    """`songs` copies of `song` with the cells where `free` is True sampled given the rest."""
    problem = infill_problem(model)
    if problem:
        raise ValueError(problem)
    if song.encoding != model.data_encoding:
        raise ValueError(
            f"the song uses encoding {song.encoding}, the model {model.data_encoding}; "
            "encode the song with the model's encoding"
        )
    check_request(songs, max(1, song.steps), gibbs_steps, temperature)
    free = np.asarray(free, bool)
    shift = tonic_shift(song) if one_key.key_shifts(model) else 0
    inside = transposed(song, shift)
    free_inside = transpose_rows(free.astype(np.uint8), shift, planes=2) > 0
    rows = sample_free(model, inside.data, free_inside, songs, gibbs_steps, temperature, seed)
    return [_song_of(model, song, free, r, -shift) for r in rows]


def sample_free(
    model: Model,
    rows: np.ndarray,
    free: np.ndarray,
    songs: int,
    gibbs_steps: int,
    temperature: float,
    seed: int,
) -> np.ndarray:
    """[songs, steps, width] uint8: `rows` with the `free` cells sampled given the others."""
    steps, width = rows.shape
    window = model.window
    keep, advance = continuation_split(window)
    # silence before and after the song: the windows of its first and last rows
    before = keep
    total = before + -(-steps // advance) * advance + window
    n = songs * CANDIDATES
    canvas = np.zeros((n, total, width), np.float32)
    canvas[:, before : before + steps] = rows
    loose = np.zeros((total, width), bool)
    loose[before : before + steps] = free
    starts = range(0, total - window + 1, advance)
    sampler = _Sampler(model, gibbs_steps, temperature, seed)
    written = ~loose  # cells that hold music: given, or sampled already
    for t in starts:  # from the left, as a song is continued
        if loose[t + keep : t + window].any():
            sampler.run(canvas, loose, written, [(t, t + keep, t + window)])
    weight = _fit(model, canvas, loose, list(starts), keep).reshape(songs, CANDIDATES)
    drawn = canvas[np.arange(songs) * CANDIDATES + _resample(weight, seed)]
    seams = _right_seams(loose, window)
    if seams:  # then the rows before each right seam of the drawn writings, given both sides
        sampler.run(drawn, loose, written, seams)
    out = drawn[:, before : before + steps].astype(np.uint8)
    return np.where(free, out, rows.astype(np.uint8))


def _right_seams(loose: np.ndarray, window: int) -> list[tuple[int, int, int]]:
    """(window start, block start, block stop) for each place where free rows end and given
    ones follow: its last `window // 4` free rows, in a window that reaches as far past it
    (the form sampler's closing of a bar before a known one). A seam whose window would
    overlap the one before is left out: the blocks are sampled in one batch."""
    rows = loose.any(axis=1)
    seam = max(1, window // 4)
    blocks: list[tuple[int, int, int]] = []
    for end in np.flatnonzero(rows[:-1] & ~rows[1:]) + 1:
        start = end + seam - window
        if start < 0 or end + seam > len(rows) or rows[end : end + seam].any():
            continue
        if blocks and start < blocks[-1][0] + window:
            continue
        blocks.append((int(start), int(end - seam), int(end)))
    return blocks


def _resample(weight: np.ndarray, seed: int) -> np.ndarray:
    """[songs] the candidate drawn for each song, with odds in proportion to exp(weight)
    ([songs, candidates] log-weights): the resampling step of sampling importance resampling."""
    odds = np.exp(weight - weight.max(axis=1, keepdims=True))
    odds /= odds.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(len(p), p=p) for p in odds])


def _scored(loose: np.ndarray, starts, window: int, keep: int) -> list[int]:
    """The windows whose second half holds given cells after written ones: where the cells
    given after a writing weigh it."""
    return [
        t for t in starts if loose[t : t + window].any() and not loose[t + keep : t + window].all()
    ]


def _fit(
    model: Model, canvas: np.ndarray, loose: np.ndarray, starts: list[int], keep: int
) -> np.ndarray:
    """[n] how well each writing predicts what is given after it, in the terms the model
    learned: it learned each window's second half given its first, so a song's probability is
    the product of those conditionals, and the writing from the left drew every factor but the
    ones of given cells in a second half (the bars after a region, a melody). Their
    log-probability given what was written before them weighs the writings into a sample given
    both sides (importance sampling); each is estimated by mean field (`_predicted`): the given
    cells' log-likelihood under the second half's independent-cell approximation."""
    n, _, width = canvas.shape
    w = model.window
    scored = _scored(loose, starts, w, keep)
    if not scored:
        return np.zeros(n)
    second = np.zeros((w, width), bool)
    second[keep:] = True
    given = np.stack([second & ~loose[t : t + w] for t in scored]).reshape(len(scored), -1)
    v = np.stack([canvas[:, t : t + w].reshape(n, -1) for t in scored], axis=1)
    rows = n * len(scored)
    padded = _bucket(rows, 8)
    pv = np.zeros((padded, v.shape[-1]), np.float32)
    pg = np.zeros_like(pv)
    pv[:rows], pg[:rows] = v.reshape(rows, -1), np.tile(given, (n, 1))
    mask = jnp.asarray(second.reshape(1, -1).astype(np.float32))
    params, links = rbm_params(model), links_of(model)
    got = _predicted(params, links, jnp.asarray(pv), mask, jnp.asarray(pg), MEAN_FIELD_STEPS)
    return np.asarray(got)[:rows].reshape(n, len(scored)).sum(axis=1)


@partial(jax.jit, static_argnums=5)
def _predicted(params, links, v, mask, given, steps: int):
    """[N] log-likelihood of the cells of `v` where `given` is 1 under the mean-field estimate
    of the cells where `mask` is 1 given the others (held at `v`)."""
    start = jnp.broadcast_to(jax.nn.sigmoid(params.vbias), v.shape)
    mu = mask * start + (1.0 - mask) * v

    def body(_, mu):
        field = jax.nn.sigmoid(mu @ params.W + params.hbias) @ params.W.T + params.vbias
        if links is not None:
            field = field + neighbour_field(links, mu)
        return mask * jax.nn.sigmoid(field) + (1.0 - mask) * v

    mu = jnp.clip(jax.lax.fori_loop(0, steps, body, mu), 1e-4, 1.0 - 1e-4)
    return (given * (v * jnp.log(mu) + (1.0 - v) * jnp.log1p(-mu))).sum(axis=-1)


class _Sampler:
    """The form sampler's compiled conditional Gibbs run (`form_sampler._fill`) over a batch of
    windows of every song at once."""

    def __init__(self, model: Model, gibbs_steps: int, temperature: float, seed: int) -> None:
        self.params, self.links = rbm_params(model), links_of(model)
        self.window, self.k = model.window, gibbs_steps
        self.temperature = jnp.float32(temperature)
        self.key = jax.random.PRNGKey(seed)
        self.marginal = jax.nn.sigmoid(self.params.vbias)

    def _call(self, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n = _bucket(len(v), 8)
        self.key, k_draw, k_chain = jax.random.split(self.key, 3)
        draw = np.asarray(bernoulli(k_draw, jnp.broadcast_to(self.marginal, v.shape)))
        padded_mask = np.ones((n, v.shape[1]), np.float32)
        padded_v = np.zeros((n, v.shape[1]), np.float32)
        padded_mask[: len(v)], padded_v[: len(v)] = mask, np.where(mask, v, draw)
        out = _fill(
            self.params,
            self.links,
            jnp.asarray(padded_v),
            jnp.asarray(padded_mask),
            k_chain,
            self.k,
            self.temperature,
            True,  # settled to one voicing: see `form_sampler._settle`
        )
        return np.asarray(out)[: len(v)]

    def run(self, canvas: np.ndarray, loose: np.ndarray, written: np.ndarray, blocks) -> None:
        """Sample the free cells of `blocks` ((window start, block start, block stop), blocks
        that do not overlap) given every cell of their windows that holds music (`written`,
        which they then join); the other free cells of a window start from a draw of the
        model's marginals and are sampled along."""
        songs, _, width = canvas.shape
        w = self.window
        v = np.stack([canvas[:, t : t + w] for t, _, _ in blocks], axis=1)
        v = v.reshape(-1, w * width)
        mask = np.ones((len(blocks), w, width), bool)
        for i, (t, a, b) in enumerate(blocks):
            mask[i] = written[t : t + w]
            mask[i, a - t : b - t] &= ~loose[a:b]
        mask = np.broadcast_to(mask[None], (songs, *mask.shape)).reshape(-1, w * width)
        out = self._call(v, mask)
        out = out.reshape(songs, len(blocks), w, width)
        for i, (t, a, b) in enumerate(blocks):
            canvas[:, a:b] = out[:, i, a - t : b - t]
            written[a:b] = True


def _song_of(
    model: Model, given: StateMatrix, free: np.ndarray, rows: np.ndarray, shift: int
) -> StateMatrix:
    """The sampled rows back in the song's key as a song like `given`: its cells where not free,
    and on the notes the model struck, the velocities the model learned (else the default)."""
    span = given.encoding.span
    back = transpose_rows(rows, shift, planes=2)
    data = np.where(free, canonicalize(np.where(free, back, given.data), span), given.data)
    new_struck = free[:, span:] & (data[:, span:] > 0)
    learned = with_dynamics(
        replace(given, data=data, velocities=None), model.dataset.get("dynamics")
    )
    velocities = (
        np.zeros((given.steps, span), np.uint8)
        if given.velocities is None
        else given.velocities.copy()
    )
    velocities[free[:, :span]] = 0
    fresh = learned.velocities if learned.velocities is not None else None
    velocities[new_struck] = DEFAULT_VELOCITY if fresh is None else fresh[new_struck]
    return replace(given, data=data.astype(np.uint8), velocities=velocities)
