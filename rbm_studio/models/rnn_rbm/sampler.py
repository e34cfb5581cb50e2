"""New songs from an RNN-RBM `Model`, drawn one grid step at a time.

The visible layer is one grid row: both planes of the app's state matrix (so a repeated note, a new
`struck` while `sounding`, survives), or with `frame_level` the sounding plane on the 88 piano keys
(the benchmark's frames). Rows go in and out through `windows.model_rows` / `rows_to_state_data`,
the same conversions the windowed RBM uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...music.encoding import StateMatrix
from ...music.windows import (
    bar_positions,
    beats_per_bar,
    from_onset_sustain,
    model_rows,
    to_onset_sustain,
)
from ..document import Model
from ..generated import MAX_STEPS, check_request, matrix_from_rows, primer_rows
from .params import check_params
from .spec import own


def context_width(params) -> int:
    """Given context columns a model reads after the notes (0: none)."""
    return int(params["Wcv"].shape[0]) if "Wcv" in params else 0


def song_context(matrix: StateMatrix, steps: int | None = None) -> np.ndarray:
    """Where each step of a song (or of `steps` steps in its metre) falls in its bar."""
    return bar_positions(
        matrix.steps if steps is None else steps,
        matrix.encoding.steps_per_beat,
        beats_per_bar(matrix.time_signature),
    )


def model_sequences(
    model_or_frame_level: Model | bool,
    matrices: Sequence[StateMatrix],
    *,
    context: bool = False,
    onset_sustain: bool = False,
):
    """The float32 row sequences a model reads from `matrices`: the notes (as onset/sustain
    planes when the model reads those), followed by the bar positions when the model reads them
    (a `Model` says both itself)."""
    if isinstance(model_or_frame_level, Model):
        frame_level = model_or_frame_level.frame_level
        context = context_width(model_or_frame_level.params) > 0
        onset_sustain = own(model_or_frame_level.config).onset_sustain
    else:
        frame_level = bool(model_or_frame_level)
    rows = [model_rows(m, frame_level).astype(np.float32) for m in matrices]
    if onset_sustain and not frame_level:
        rows = [to_onset_sustain(r, m.encoding.span) for r, m in zip(rows, matrices, strict=True)]
    if not context:
        return rows
    return [
        np.concatenate([r, song_context(m)], axis=1) for r, m in zip(rows, matrices, strict=True)
    ]


def generate_rnn_rbm(
    model: Model,
    *,
    songs: int = 1,
    steps: int = 256,
    gibbs_steps: int = 25,
    temperature: float = 1.0,
    seed: int = 0,
    start: str = "silence",
    primer: StateMatrix | None = None,
) -> list[StateMatrix]:
    """`songs` new songs of `steps` rows drawn one step at a time (a primer is kept in front and
    read by the recurrence first: primer + steps rows). Canonical, in the model's encoding."""
    import jax
    import jax.numpy as jnp

    from . import network as rnn_rbm

    _check_request(model, start, primer, songs, steps, gibbs_steps, temperature)
    two_planes = own(model.config).onset_sustain and not model.frame_level
    prefix = None if primer is None else _primer_prefix(model, primer, steps, two_planes)
    params = {k: jnp.asarray(v, jnp.float32) for k, v in model.params.items()}
    n_primer = 0 if prefix is None else prefix.shape[0]
    context = _bar_context(model, primer, n_primer + steps)
    frames = rnn_rbm.sample_sequence(
        params,
        jax.random.PRNGKey(seed),
        batch=songs,
        steps=n_primer + steps,
        primer=None if prefix is None else jnp.asarray(prefix),
        gibbs_steps=gibbs_steps,
        temperature=temperature,
        start=start,
        span=None if model.frame_level else model.encoding.span,
        context=context,
        onset_sustain=two_planes,
    )
    rows = np.asarray(frames, dtype=np.uint8)
    if prefix is not None:
        rows[:, :n_primer] = prefix.astype(np.uint8)  # exactly the primer, not a float round trip
    if two_planes:
        rows = np.stack([from_onset_sustain(r, model.encoding.span) for r in rows])
    return [matrix_from_rows(model, rows[i], primer, i) for i in range(songs)]


def _check_request(model, start, primer, songs, steps, gibbs_steps, temperature) -> None:
    """Raise ValueError for a start, request or model `generate_rnn_rbm` cannot sample."""
    if start not in ("silence", "noise", "primer"):
        raise ValueError(f"start must be silence, noise or primer, not {start!r}")
    if start == "primer" and primer is None:
        raise ValueError("start='primer' needs a primer song")
    check_request(songs, steps, gibbs_steps, temperature)
    problems = check_params(model.params)
    if problems:
        raise ValueError(problems[0])


def _primer_prefix(model: Model, primer: StateMatrix, steps: int, two_planes: bool) -> np.ndarray:
    """The primer's rows as the model reads them (onset/sustain planes when `two_planes`)."""
    prefix = primer_rows(model, primer)
    if two_planes:
        prefix = to_onset_sustain(prefix, model.encoding.span)
    if prefix.shape[0] + steps > MAX_STEPS:
        raise ValueError(f"primer plus new steps exceed {MAX_STEPS} rows")
    return prefix


def _bar_context(model: Model, primer: StateMatrix | None, n_rows: int):
    """The bar positions of `n_rows` steps for a model that reads them, else None: the bars of the
    primer, or of the training songs' most common metre."""
    if not context_width(model.params):
        return None
    import jax.numpy as jnp

    metre = primer.time_signature if primer is not None else model.time_signature
    positions = bar_positions(n_rows, model.encoding.steps_per_beat, beats_per_bar(metre))
    return jnp.asarray(positions)
