"""A trained model as plain numpy data: what the model file stores and the GUI shows.

Deliberately free of JAX so the GUI thread can open, inspect and save models without touching the
accelerator runtime. `params` is a name → array dict so other model kinds (the RNN-RBM's extra
recurrent weights) are stored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ..music.encoding import Encoding
from .config import TrainingConfig


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Model:
    """kind "rbm" params: W [V, H], vbias [V], hbias [H] (float32)."""

    kind: str
    params: dict[str, np.ndarray]
    config: TrainingConfig
    encoding: Encoding
    history: list[dict] = field(default_factory=list)
    dataset: dict = field(default_factory=dict)
    created: str = field(default_factory=now_iso)

    @property
    def n_visible(self) -> int:
        return int(self.params["W"].shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.params["W"].shape[1])

    @property
    def frame_level(self) -> bool:
        return bool(self.config.frame_level)

    @property
    def window(self) -> int:
        # an RNN-RBM's visible layer is one grid row (its memory is the recurrence)
        return 1 if self.kind == "rnn-rbm" else self.config.effective_window

    @property
    def row_width(self) -> int:
        """Visible units per grid row (both planes, or the sounding plane in frame-level mode)."""
        return self.n_visible // self.window

    @property
    def epochs_trained(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    def receptive_fields(self) -> np.ndarray:
        """Each hidden unit's weights on the sounding plane as [H, window, pitches]: what it
        "listens for", for the GUI heatmap."""
        W = np.asarray(self.params["W"])
        fields_ = W.T.reshape(self.n_hidden, self.window, self.row_width)
        return fields_[:, :, : self.encoding.span].copy()
