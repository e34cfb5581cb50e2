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
from ...music.windows import model_rows
from ..document import Model
from ..generated import MAX_STEPS, check_request, matrix_from_rows, primer_rows
from .params import check_params


def model_sequences(model_or_frame_level: Model | bool, matrices: Sequence[StateMatrix]):
    """The float32 row sequences a model reads from `matrices`."""
    frame_level = (
        model_or_frame_level.frame_level
        if isinstance(model_or_frame_level, Model)
        else bool(model_or_frame_level)
    )
    return [model_rows(m, frame_level).astype(np.float32) for m in matrices]


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

    if start not in ("silence", "noise", "primer"):
        raise ValueError(f"start must be silence, noise or primer, not {start!r}")
    if start == "primer" and primer is None:
        raise ValueError("start='primer' needs a primer song")
    check_request(songs, steps, gibbs_steps, temperature)
    problems = check_params(model.params)
    if problems:
        raise ValueError(problems[0])

    prefix = None
    if primer is not None:
        prefix = primer_rows(model, primer)
        if prefix.shape[0] + steps > MAX_STEPS:
            raise ValueError(f"primer plus new steps exceed {MAX_STEPS} rows")
    params = {k: jnp.asarray(v, jnp.float32) for k, v in model.params.items()}
    n_primer = 0 if prefix is None else prefix.shape[0]
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
    )
    rows = np.asarray(frames, dtype=np.uint8)
    if prefix is not None:
        rows[:, :n_primer] = prefix.astype(np.uint8)  # exactly the primer, not a float round trip
    return [matrix_from_rows(model, rows[i], primer, i) for i in range(songs)]
