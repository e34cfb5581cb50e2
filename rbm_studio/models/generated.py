"""What the RBM and RNN-RBM samplers share outside JAX: the limits on a generation request, a
primer's rows in the model's layout, and turning generated rows back into a `StateMatrix`. Kept in
one place so both kinds refuse the same requests and label their songs alike."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..music.dynamics import with_dynamics
from ..music.encoding import StateMatrix, canonicalize
from ..music.keys import SCALES, key_pitch_classes  # noqa: F401 (re-exported)
from ..music.windows import model_rows, rows_to_state_data
from .document import Model

MAX_STEPS = 100_000
# a visible bias this low makes a unit's "on" probability underflow to zero: the same as clamping
# it off in every Gibbs step, which is conditional sampling given "this pitch does not sound"
CLAMPED_OFF = -1.0e4


def constrained(model: Model, pitch_classes, lowest, highest) -> Model:
    """`model` with the visible units of pitches outside the allowed classes and range clamped
    off (the caller samples from it as usual); the model itself when nothing is constrained."""
    if pitch_classes is None and lowest is None and highest is None:
        return model
    span = model.encoding.span
    pitches = model.encoding.low + np.arange(model.row_width) % span
    allowed = np.ones(model.row_width, bool)
    if pitch_classes is not None:
        allowed &= np.isin(pitches % 12, [int(pc) % 12 for pc in pitch_classes])
    if lowest is not None:
        allowed &= pitches >= lowest
    if highest is not None:
        allowed &= pitches <= highest
    if not allowed.any():
        raise ValueError("no pitch of the model's range is allowed by the key and range given")
    per_unit = np.tile(allowed, model.window)
    vbias = np.where(per_unit, model.params["vbias"], CLAMPED_OFF).astype(np.float32)
    return replace(model, params={**model.params, "vbias": vbias})


# Songs × steps of one request: each step costs the sampler its visible units in float32 several
# times over, so this keeps a request of the widest model within a few GB.
MAX_REQUEST_STEPS = 2_000_000


def or_default(value, default):
    """A request's value, or the kind's default when it is None. Not `value or default`: a
    given 0 must reach `check_request` and be refused, not silently become the default."""
    return default if value is None else value


def check_request(songs: int, steps: int, gibbs_steps: int, temperature: float) -> None:
    """Refuse counts that are out of range before any sampling work starts."""
    if not 1 <= songs <= 1000:
        raise ValueError("songs must be between 1 and 1000")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}")
    if not 1 <= gibbs_steps <= 10_000:
        raise ValueError("gibbs_steps must be between 1 and 10000")
    if not 0.0 < temperature <= 100.0:  # also refuses NaN
        raise ValueError("temperature must be greater than 0 and at most 100")
    if songs * steps > MAX_REQUEST_STEPS:
        raise ValueError(
            f"{songs} songs × {steps} steps is {songs * steps:,} steps; one request makes at "
            f"most {MAX_REQUEST_STEPS:,} (fewer songs or shorter ones)"
        )


def primer_rows(model: Model, primer: StateMatrix) -> np.ndarray:
    """The primer as float32 rows the model reads; refuses another encoding or an empty song."""
    if not model.frame_level and primer.encoding != model.encoding:
        raise ValueError(
            f"the primer uses encoding {primer.encoding}, the model {model.encoding}; "
            "encode the primer with the model's encoding"
        )
    rows = model_rows(primer, model.frame_level).astype(np.float32)
    if rows.shape[0] == 0:
        raise ValueError("the primer song is empty")
    return rows


def matrix_from_rows(
    model: Model, rows: np.ndarray, primer: StateMatrix | None, i: int
) -> StateMatrix:
    """Song `i` of a request from its rows (primer included), with tempo, metre and title taken
    from the primer when there is one, else from the training data."""
    data = canonicalize(
        rows_to_state_data(rows, model.encoding, model.frame_level), model.encoding.span
    )
    if primer is not None:
        bpm, sig = float(primer.bpm), primer.time_signature
        title = f"{primer.title or 'primer'} (continued {i + 1})"
    else:
        bpm = float(model.dataset.get("bpm", 120.0))
        sig = model.time_signature
        title = f"Generated {i + 1}"
    velocities = None
    if primer is not None and primer.velocities is not None and primer.encoding == model.encoding:
        # the primer keeps its dynamics; generated notes get the default velocity
        velocities = np.zeros((data.shape[0], model.encoding.span), np.uint8)
        velocities[: primer.steps] = primer.velocities[: data.shape[0]]
    matrix = StateMatrix(
        data, model.encoding, bpm=bpm, velocities=velocities, time_signature=sig, title=title
    )
    # generated notes get the training songs' accents (where the model learned them)
    stored = model.dataset.get("dynamics") if isinstance(model.dataset, dict) else None
    return with_dynamics(matrix, stored, first_step=0 if primer is None else primer.steps)
