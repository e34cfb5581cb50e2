"""Train through what the `Trainer` protocol offers, for tests that hold a trainer from the
registry (the concrete trainers' `run()` is not part of the protocol)."""

from __future__ import annotations

from rbm_studio.models.base import Trainer
from rbm_studio.models.document import Model


def train_to_end(trainer: Trainer) -> Model:
    """Iterate `trainer` to its end (or its own stop) and return the model it keeps."""
    for _ in trainer:
        pass
    return trainer.result()
