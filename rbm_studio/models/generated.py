"""What the RBM and RNN-RBM samplers share outside JAX: the limits on a generation request, a
primer's rows in the model's layout, and turning generated rows back into a `StateMatrix`. Kept in
one place so both kinds refuse the same requests and label their songs alike."""

from __future__ import annotations

import numpy as np

from ..music.encoding import StateMatrix, canonicalize
from ..music.windows import model_rows, rows_to_state_data
from .document import Model

MAX_STEPS = 100_000


def check_request(songs: int, steps: int, gibbs_steps: int, temperature: float) -> None:
    """Refuse counts that are out of range before any sampling work starts."""
    if not 1 <= songs <= 1000:
        raise ValueError("songs must be between 1 and 1000")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}")
    if not 1 <= gibbs_steps <= 10_000:
        raise ValueError("gibbs_steps must be between 1 and 10000")
    if not 0.0 < temperature <= 100.0:
        raise ValueError("temperature must be greater than 0 and at most 100")


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
        sig = _signature(model.dataset)
        title = f"Generated {i + 1}"
    velocities = None
    if primer is not None and primer.velocities is not None and primer.encoding == model.encoding:
        # the primer keeps its dynamics; generated notes get the default velocity
        velocities = np.zeros((data.shape[0], model.encoding.span), np.uint8)
        velocities[: primer.steps] = primer.velocities[: data.shape[0]]
    return StateMatrix(
        data, model.encoding, bpm=bpm, velocities=velocities, time_signature=sig, title=title
    )


def _signature(dataset: dict) -> tuple[int, int]:
    try:
        num, den = str(dataset.get("time_signature", "4/4")).split("/")
        return int(num), int(den)
    except ValueError:
        return (4, 4)
