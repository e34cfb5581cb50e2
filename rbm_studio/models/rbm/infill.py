"""Cells of a song sampled again given all the others: a regenerated region, a harmonised melody.

The free cells are covered by windows half a window apart, the first reaching back to known rows
before them. The windows go in two groups that do not overlap (every other window): each group
is one batched call of the form sampler's compiled conditional Gibbs run (`form_sampler._fill`),
every window's free cells sampled given every known cell in it. The first sweep starts the free
cells from a draw of the model's marginals (as "continue" starts its new rows); `SWEEPS` more
sweeps sample them again from where they are, now given what the other group wrote on both
sides: blocked Gibbs sampling with windows as blocks, the way Coconet (Huang et al. 2017)
resamples parts of a chorale given the rest. What is after a region reaches it as surely as
what is before it.

A model that learned its songs in one key (`one_key`) reads the song moved there; the cells come
back in the song's own key, and every cell that was not free comes back exactly as given.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from ...music.dynamics import with_dynamics
from ...music.encoding import StateMatrix, canonicalize
from ...music.keys import tonic_shift, transposed
from ...music.song import DEFAULT_VELOCITY
from ...music.windows import transpose_rows
from ..document import Model
from ..energy import bernoulli
from ..generated import check_request
from . import one_key
from .form_sampler import _fill
from .sampler import _bucket, links_of, rbm_params
from .spec import continuation_split, infill_problem

# Gibbs steps per window when the request does not say: known cells on both sides hold the
# chains near the music, so they settle in far fewer steps than a song sampled from nothing
GIBBS_DEFAULT = 30
# sweeps over the free cells after the first: each lets what is known reach half a window
# further into a region
SWEEPS = 2


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
    total = max(steps, window)  # past a short song's end: known silence
    canvas = np.zeros((songs, total, width), np.float32)
    canvas[:, :steps] = rows
    loose = np.zeros((total, width), bool)
    loose[:steps] = free
    groups = _apart(window_starts(loose, window, keep, advance, total), window)
    sampler = _Sampler(model, gibbs_steps, temperature, seed)
    for sweep in range(SWEEPS + 1):
        for starts in groups:
            sampler.run(canvas, loose, starts, fresh=sweep == 0)
    return np.where(free, canvas[:, :steps].astype(np.uint8), rows.astype(np.uint8))


def window_starts(free: np.ndarray, window: int, keep: int, advance: int, total: int) -> list[int]:
    """The first rows of the windows that cover every free cell, `advance` apart, the first
    starting `keep` rows before the first free row (so it has known rows on its left) and none
    past the last row (`total`)."""
    rows = np.flatnonzero(free.any(axis=1))
    if not len(rows):
        return []
    last_start = max(0, total - window)
    starts: list[int] = []
    t = max(0, int(rows[0]) - keep)
    while True:
        s = min(t, last_start)
        if free[s : s + window].any() and (not starts or s != starts[-1]):
            starts.append(s)
        if s + window > rows[-1] or s == last_start:
            return starts
        t += advance


def _apart(starts: list[int], window: int) -> list[list[int]]:
    """The windows in groups whose windows do not overlap (each group is one batched call):
    with windows half a window apart, every other window."""
    groups: list[list[int]] = []
    for t in starts:
        for group in groups:
            if group[-1] + window <= t:
                group.append(t)
                break
        else:
            groups.append([t])
    return groups


class _Sampler:
    """The form sampler's compiled conditional Gibbs run over a batch of windows of every
    song at once."""

    def __init__(self, model: Model, gibbs_steps: int, temperature: float, seed: int) -> None:
        self.params, self.links = rbm_params(model), links_of(model)
        self.window, self.k = model.window, gibbs_steps
        self.temperature = jnp.float32(temperature)
        self.key = jax.random.PRNGKey(seed)
        self.marginal = jax.nn.sigmoid(self.params.vbias)

    def run(self, canvas: np.ndarray, loose: np.ndarray, starts: list[int], fresh: bool) -> None:
        """Sample the free cells of the windows at `starts` (not overlapping) given the rest;
        with `fresh` they start from a draw of the model's marginals, else from where they
        are."""
        songs, _, width = canvas.shape
        w = self.window
        v = np.stack([canvas[:, t : t + w] for t in starts], axis=1).reshape(-1, w * width)
        mask = np.stack([~loose[t : t + w] for t in starts]).reshape(1, -1, w * width)
        mask = np.broadcast_to(mask, (songs, len(starts), w * width)).reshape(-1, w * width)
        n = _bucket(len(v), 8)
        self.key, k_draw, k_chain = jax.random.split(self.key, 3)
        if fresh:
            draw = np.asarray(bernoulli(k_draw, jnp.broadcast_to(self.marginal, v.shape)))
            v = np.where(mask, v, draw)
        padded = np.ones((n, w * width), np.float32)
        padded_v = np.zeros((n, w * width), np.float32)
        padded[: len(v)], padded_v[: len(v)] = mask, v
        out = _fill(
            self.params,
            self.links,
            jnp.asarray(padded_v),
            jnp.asarray(padded),
            k_chain,
            self.k,
            self.temperature,
        )
        out = np.asarray(out)[: len(v)].reshape(songs, len(starts), w, width)
        for i, t in enumerate(starts):
            canvas[:, t : t + w] = out[:, i]


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
