"""Songs with form from a trained RBM: a plan of which bars repeat which, realised by
conditional sampling.

The plan comes from the model's training songs (`music.form`: phrase patterns drawn with their
frequency) or is a loop. Each bar of the plan is then filled on one canvas per song:
- `same@k`: the bar k before, verbatim (every cell clamped);
- `vary@k`: the bar k before with its top line sampled again — the cells from just above the
  accompaniment up to a few semitones over the old tune are free, limited to the bar's pitch
  classes, everything else clamped — so the chords stay and the tune varies;
- `rest`: silence;
- `new`: sampled window by window given what is known on its left (as "continue" does) and,
  when the next bar is already known (it repeats an earlier one), its last rows once more given
  both sides, so the seam into the repeat is sampled, not stitched.
A loop of N bars is planned as a bar of lead-in (not part of the loop: the loop's first bar
then continues music, as every other bar does, instead of opening a song from silence), N new
bars, then the loop's first bar again: its last bar is sampled with its first as right-hand
context; then the rows either side of where the loop comes round
(the end of the last bar, the start of the first) are sampled again given both, and the first N
bars repeat exactly, so a note may hold over the seam as over any other bar line.

Every window is one call of the same compiled Gibbs sampler with a per-cell clamp mask
(conditional sampling: unknown cells start from a draw of the model's marginals), cooled at the
end of the chain and read out at zero temperature (`_fill`), so that the bars the plan repeats
do not repeat the chain's noise.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ...music.encoding import StateMatrix
from ...music.form import PHRASE, Form, label_lag, loop_plan, sample_plan
from ...music.song import steps_per_bar
from ...music.stats import bar_steps
from ..document import Model
from ..energy import bernoulli, hidden_probs, visible_probs
from ..generated import check_request, matrix_from_rows, primer_rows
from . import lateral
from .sampler import _bucket, _gibbs, links_of, rbm_params
from .spec import continuation_split

# a varied top line may move this many semitones above the old tune's highest note
VARY_HEADROOM = 4
# samplings of a bar that keeps coming out other than the plan says
NEW_TRIES = 4
# after each window's Gibbs steps at the request's temperature: a few more at each of these
# fractions of it, then rounds of settling at zero temperature (`_fill`)
ANNEAL = (0.9, 0.8, 0.7)
ANNEAL_STEPS = 5
SETTLE = 5


@partial(jax.jit, static_argnums=7)
def _fill(params, links, v, mask, key, k, temperature, modes: bool):
    """Gibbs-sample the cells of `v` [N, V] where `mask` is 0 given those where it is 1: `k`
    steps at `temperature`, then annealed (`ANNEAL`) and settled (`_settle`, with `modes`). A
    chain's last state still carries its noise — mostly one-step notes the model gives poor
    odds once the notes around them have settled — and a bar that the plan repeats copies that
    noise into every repeat: cooling walks each window to a state the model prefers, given what
    is clamped, as simulated annealing does."""
    v = _gibbs(params, links, v, mask, v, key, k, temperature)
    for i, cool in enumerate(ANNEAL):
        chain = jax.random.fold_in(key, i + 1)
        v = _gibbs(params, links, v, mask, v, chain, ANNEAL_STEPS, temperature * cool)
    return _settle(params, links, v, mask, modes)


def _settle(params, links, v, mask, modes: bool = False):
    """`SETTLE` rounds at zero temperature: each free unit set to whether its probability,
    given the hidden layer, is above one half. The hidden layer is its probabilities for the
    current state (the first round is then the mean-field readout of `sampler.py`) or, with
    `modes`, each hidden unit's likelier state (iterated conditional modes on both layers).
    The probabilities average over the hidden states the notes around allow: where the model
    would put a voice on one of a few pitches, each pitch's probability can fall below one
    half and the voice is dropped (written into chorale context, the mean-field readout
    played about three voices where the chorales have four). One hidden state keeps one
    voicing whole."""
    even = None if links is None else jnp.asarray(lateral.even_units(v.shape[-1]))

    def step(_, v):
        h = hidden_probs(params, v)
        if modes:
            h = (h > 0.5).astype(v.dtype)
        if links is None:
            p = visible_probs(params, h)
        else:
            logits = h @ params.W.T + params.vbias
            p = lateral.visible_sweep(logits, links, even, v, None, 1.0, mask, v, True)
        return mask * v + (1.0 - mask) * (p > 0.5).astype(v.dtype)

    return jax.lax.fori_loop(0, SETTLE, step, v)


def form_problem(model: Model, form: Form) -> str | None:
    """Why this model cannot realise `form` (one line), or None."""
    from ...music.form import has_form

    if form.style == "free":
        return None
    if model.frame_level or model.window < 2:
        return "a model of one grid step at a time cannot sample a bar given its neighbours"
    if form.style == "like-songs" and not has_form(model.dataset.get("form")):
        return "this model was trained before models learned their songs' form (train it again)"
    return None


def generate_with_form(
    model: Model,
    form: Form,
    *,
    songs: int,
    steps: int,
    gibbs_steps: int,
    temperature: float,
    seed: int,
    start: str = "silence",
    primer: StateMatrix | None = None,
) -> list[StateMatrix]:
    """`songs` new state matrices of `steps` rows (after a primer, kept in front) whose bars
    follow a plan (see the module doc)."""
    check_request(songs, steps, gibbs_steps, temperature)
    if form.style == "loop" and primer is not None:
        raise ValueError("a loop starts afresh: it cannot continue a primer song")
    if primer is not None:
        bar = bar_steps(primer)
    else:
        bar = steps_per_bar(model.time_signature, model.encoding.steps_per_beat)
    prefix = primer_rows(model, primer) if primer is not None else np.zeros((0, model.row_width))
    rng = np.random.default_rng(seed)
    if form.style == "loop":
        total = (form.bars + 2) * bar
        plans = [loop_plan(form.bars) for _ in range(songs)]
    else:
        total = len(prefix) + steps
        n_bars = -(-total // bar)
        plans = [sample_plan(model.dataset["form"], n_bars, rng) for _ in range(songs)]
    canvas = _Canvas(model, songs, total, bar, gibbs_steps, temperature, seed, start)
    canvas.known[:, : len(prefix)] = canvas.fixed[:, : len(prefix)] = True
    canvas.rows[:, : len(prefix)] = prefix
    canvas.realise(plans)
    if form.style == "loop":
        cycle = canvas.close_loop(bar, form.bars * bar)
        rows = np.tile(cycle, (1, -(-steps // cycle.shape[1]), 1))[:, :steps].astype(np.uint8)
    else:
        rows = canvas.rows[:, :total].astype(np.uint8)
    return [matrix_from_rows(model, rows[i], primer, i) for i in range(songs)]


class _Canvas:
    """The songs being written: rows [songs, steps, width] and which cells are known."""

    def __init__(self, model, songs, total, bar, k, temperature, seed, start) -> None:
        self.model, self.bar, self.k, self.start = model, bar, k, start
        self.params, self.links = rbm_params(model), links_of(model)
        self.temperature = jnp.float32(temperature)
        self.window, self.width = model.window, model.row_width
        self.keep, self.advance = continuation_split(self.window)
        # a request shorter than a window is sampled on a window's rows and cut
        self.songs, self.total = songs, max(total, self.window)
        self.rows = np.zeros((songs, self.total, self.width), np.float32)
        self.known = np.zeros(self.rows.shape, bool)  # sampled or fixed
        self.fixed = np.zeros(self.rows.shape, bool)  # fixed by the plan or the primer
        self.key = jax.random.PRNGKey(seed)
        self.marginal = np.asarray(jax.nn.sigmoid(self.params.vbias)).reshape(
            self.window, self.width
        )
        span = model.encoding.span
        self.pitch_class = (model.encoding.low + np.arange(self.width) % span) % 12

    def realise(self, plans: list[list[str]]) -> None:
        n_bars = len(plans[0])
        for b in range(n_bars):
            labels = [plan[b] for plan in plans]
            todo = np.zeros(self.songs, bool)
            for s, label in enumerate(labels):
                todo[s] = self._place(s, b, label)
            if todo.any():
                self._sample_bar(b, todo, plans)

    def close_loop(self, start: int, length: int) -> np.ndarray:
        """The loop's rows [songs, `length`] from row `start`, the canvas holding its first bar
        again after its last: the rows either side of where it comes round — the end of its
        last bar, the start of its first — sampled again given the bars on both sides, so a note
        holds over the seam, or ends before it, as the model plays it at any other bar line."""
        seam = max(1, self.window // 4)
        end = start + length
        if seam <= length and end + seam <= self.total:
            self.known[:, end - seam : end + seam] = False
            t = max(0, min(end - self.window // 2, self.total - self.window))
            self._window(t, np.ones(self.songs, bool), end + seam)
            self.rows[:, start : start + seam] = self.rows[:, end : end + seam]
        return self.rows[:, start:end].copy()

    def _span(self, b: int) -> slice:
        return slice(b * self.bar, min((b + 1) * self.bar, self.total))

    def _place(self, s: int, b: int, label: str) -> bool:
        """Fill what the plan fixes of bar `b` of song `s`; True when cells are left to
        sample."""
        here = self._span(b)
        if self.known[s, here].all():
            return False
        lag = label_lag(label)
        if label == "rest":
            self._set(s, here, np.zeros_like(self.rows[s, here]))
            return False
        if lag and b - lag >= 0:
            source = self.rows[s, self._span(b - lag)][: here.stop - here.start]
            if label.startswith("same"):
                self._set(s, here, source)
                return False
            self._set(s, here, source)
            top = self._top_line(source)
            self.known[s, here] &= ~top
            self.fixed[s, here] &= ~top
        return True

    def _set(self, s: int, here: slice, values: np.ndarray) -> None:
        free = ~self.known[s, here]
        self.rows[s, here][free] = values[free]
        self.known[s, here] = self.fixed[s, here] = True

    def _top_line(self, bar_rows: np.ndarray) -> np.ndarray:
        """The cells a varied bar samples again: per step, both planes of the pitches above the
        accompaniment (above the second-highest sounding note) up to a little over the tune's
        highest note, in the bar's pitch classes — except the old tune's notes of a pitch class
        that nothing clamped sounds: the chain need not give the bar its harmony back when they
        are kept, and it often left one out."""
        span = self.model.encoding.span
        sounding = bar_rows[:, :span] > 0
        free = np.zeros(sounding.shape, bool)
        if not sounding.any():
            return np.zeros(bar_rows.shape, bool)
        classes = np.unique(self.pitch_class[:span][sounding.any(axis=0)])
        in_classes = np.isin(self.pitch_class[:span], classes)
        top = int(np.flatnonzero(sounding.any(axis=0))[-1])
        for t in range(len(bar_rows)):
            on = np.flatnonzero(sounding[t])
            floor = on[-2] + 1 if len(on) > 1 else (0 if not len(on) else max(0, on[-1] - 7))
            cols = np.arange(floor, min(span, top + VARY_HEADROOM + 1))
            cols = cols[in_classes[cols]]
            free[t, cols] = True
        held = np.isin(self.pitch_class[:span], self.pitch_class[:span][(sounding & ~free).any(0)])
        free &= ~(sounding & ~held)
        if self.width >= 2 * span:
            planes = np.zeros(bar_rows.shape, bool)
            planes[:, :span] = planes[:, span : 2 * span] = free
            return planes
        return np.pad(free, ((0, 0), (0, bar_rows.shape[1] - span)))

    def _sample_bar(self, b: int, todo: np.ndarray, plans: list[list[str]]) -> None:
        """Sample bar `b` of the songs in `todo`; a bar that came out other than the plan says
        (`_off_plan`) is sampled again, a few times at most."""
        for s in np.flatnonzero(todo):  # the next bar, where it repeats a known one
            nxt = plans[s][b + 1] if b + 1 < len(plans[s]) else "new"
            if label_lag(nxt) >= 2:
                self._place(s, b + 1, nxt)
        here = self._span(b)
        redo = todo
        for _ in range(NEW_TRIES):
            self._fill_bar(b, redo)
            redo = todo & self._off_plan(b, plans)
            if not redo.any():
                return
            for s in np.flatnonzero(redo):
                self.known[s, here] = self.fixed[s, here]

    def _off_plan(self, b: int, plans: list[list[str]]) -> np.ndarray:
        """Per song, whether bar `b` came out other than its label says: a new bar with the
        pitch classes of one of the `PHRASE` bars before it (a repeat the plan did not ask for),
        or a varied bar whose new tune left the pitch classes of the bar it varies."""
        span = self.model.encoding.span
        out = np.zeros(self.songs, bool)
        first = max(0, b - PHRASE)
        classes = [self._classes(self.rows[:, self._span(c), :span]) for c in range(first, b + 1)]
        for s in range(self.songs):
            here, label = classes[-1][s], plans[s][b]
            if label == "new" and here.any():
                out[s] = any(np.array_equal(here, c[s]) for c in classes[:-1])
            elif label.startswith("vary") and b - label_lag(label) >= first:
                out[s] = not np.array_equal(here, classes[b - label_lag(label) - first][s])
        return out

    def _classes(self, sounding: np.ndarray) -> np.ndarray:
        """The pitch classes sounding in each song's bar [songs, 12]."""
        span = self.model.encoding.span
        on = sounding.any(axis=1)
        out = np.zeros((len(on), 12), bool)
        for pc in range(12):
            out[:, pc] = on[:, self.pitch_class[:span] == pc].any(axis=1)
        return out

    def _fill_bar(self, b: int, todo: np.ndarray) -> None:
        """The unknown cells of bar `b` (songs in `todo`) window by window from the left; then,
        for songs whose next bar is already fixed by the plan, the bar's last rows again given
        both sides."""
        here = self._span(b)
        t = max(0, here.start - self.keep)
        while True:
            stop = min(t + self.window, self.total)
            self._window(stop - self.window, todo, here.stop)
            if stop >= here.stop:
                break
            t += self.advance
        # the seam into a known next bar: the last rows of this bar given both sides
        seam = max(1, self.window // 4)
        end = here.stop
        if end + seam > self.total:
            return
        right_known = self.known[:, end : end + seam].all(axis=(1, 2)) & todo
        if not right_known.any():
            return
        w0 = max(0, end + seam - self.window)
        for s in np.flatnonzero(right_known):
            self.known[s, end - seam : end] = self.fixed[s, end - seam : end]
        self._window(w0, right_known, end)

    def _window(self, t: int, which: np.ndarray, upto: int) -> None:
        """One conditional Gibbs run over rows [t, t + window) of the songs in `which`; the
        sampled cells before row `upto` are kept (later ones belong to a later bar)."""
        rows = slice(t, t + self.window)
        n = _bucket(self.songs, 8)
        v = np.zeros((n, self.window, self.width), np.float32)
        mask = np.ones((n, self.window, self.width), np.float32)
        got = self.rows[:, rows]
        known = self.known[:, rows] | ~which[:, None, None]
        self.key, k_draw, k_chain = jax.random.split(self.key, 3)
        if self.start == "silence" and not self.known[:, rows].any():
            fresh = np.zeros_like(got)  # the song's first window, from silence
        else:  # from a draw of the model's marginals, as "continue" starts its new rows
            marginal = jnp.broadcast_to(jnp.asarray(self.marginal), got.shape)
            fresh = np.asarray(bernoulli(k_draw, marginal))
        v[: self.songs] = np.where(known, got, fresh)
        mask[: self.songs] = known
        out = _fill(
            self.params,
            self.links,
            jnp.asarray(v.reshape(n, -1)),
            jnp.asarray(mask.reshape(n, -1)),
            k_chain,
            self.k,
            self.temperature,
            False,  # mean field: songs written from silence already play more notes than theirs
        )
        out = np.asarray(out).reshape(n, self.window, self.width)[: self.songs]
        keep = min(self.window, upto - t)
        self.rows[:, t : t + keep] = np.where(known, got, out)[:, :keep]
        self.known[:, t : t + keep] |= which[:, None, None]
