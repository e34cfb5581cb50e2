"""Models that learned every song moved to C major or A minor (the `one_key` setting): which key
each generated song goes back to, and the requests and songs on the model's side of that move.

The model records the training songs' shifts (`dataset["key_shifts"]`). A new song goes to the key
of a training song drawn at random (so the songs come out in the keys the musician's songs use),
to the key a musician asked for, or to a primer's own key; constraints and primers are moved
into the model's key first. numpy only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...music.encoding import StateMatrix
from ...music.keys import SCALES, tonic_shift, transposed
from ..base import EvaluateRequest, GenerateRequest
from ..document import Model

# the pitch classes of C major and A minor (with its raised seventh): the model's key
HOME = frozenset(SCALES["major"]) | {(9 + step) % 12 for step in SCALES["minor"]}
SHIFTS = tuple(range(-5, 7))


def key_shifts(model: Model) -> list[int]:
    """The training songs' shifts to C major / A minor; empty when the model learned the songs in
    their own keys."""
    shifts = model.dataset.get("key_shifts") if isinstance(model.dataset, dict) else None
    return [int(s) for s in shifts] if isinstance(shifts, list) else []


def shift_to(pitch_classes) -> int:
    """The move from the model's key that best covers the asked-for pitch classes (the smallest
    move among equals): D minor's classes give +5, A minor to D minor."""
    wanted = {int(pc) % 12 for pc in pitch_classes}
    return max(SHIFTS, key=lambda d: (len(wanted & {(pc + d) % 12 for pc in HOME}), -abs(d)))


def plan(model: Model, request: GenerateRequest) -> tuple[GenerateRequest, list[int]]:
    """(the request on the model's side, each song's move back out)."""
    shifts = key_shifts(model)
    if request.primer is not None:
        out = [-tonic_shift(request.primer)] * request.songs
    elif request.pitch_classes is not None:
        out = [shift_to(request.pitch_classes)] * request.songs
    else:
        rng = np.random.default_rng(request.seed)
        drawn = [-shifts[int(rng.integers(len(shifts)))] for _ in range(request.songs)]
        # a range constraint is one range for every song: then they share one key
        out = (
            drawn if request.lowest is None and request.highest is None else drawn[:1] * len(drawn)
        )
    d = out[0]
    inside = replace(
        request,
        primer=None if request.primer is None else transposed(request.primer, -d),
        pitch_classes=None
        if request.pitch_classes is None
        else tuple(sorted({(int(pc) - d) % 12 for pc in request.pitch_classes})),
        lowest=None if request.lowest is None else request.lowest - d,
        highest=None if request.highest is None else request.highest - d,
    )
    return inside, out


def back_out(songs: list[StateMatrix], moves: list[int], primer: StateMatrix | None):
    """Each generated song moved to its key; a primer comes back exactly as it was given."""
    out = []
    for song, d in zip(songs, moves, strict=True):
        song = transposed(song, d)
        if primer is not None:
            n = min(primer.steps, song.steps)
            data = song.data.copy()
            data[:n] = primer.data[:n]
            velocities = song.velocities
            if velocities is not None and primer.velocities is not None:
                velocities = velocities.copy()
                velocities[:n] = primer.velocities[:n]
            song = replace(song, data=data, velocities=velocities)
        out.append(song)
    return out


def evaluation_request(model: Model, request: EvaluateRequest) -> EvaluateRequest:
    """The songs to score moved to C major / A minor, as the model learned them."""
    if not key_shifts(model):
        return request
    home = [transposed(m, tonic_shift(m)) for m in request.songs]
    base = request.base
    if base is not None:
        base = home if base is request.songs else [transposed(m, tonic_shift(m)) for m in base]
    return replace(request, songs=home, base=base)
