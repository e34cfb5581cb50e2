"""A trained model as plain numpy data: what the model file stores and the GUI shows.

Deliberately free of JAX so the GUI thread can open, inspect and save models without touching the
accelerator runtime. `params` is a name → array dict so other model kinds (the RNN-RBM's extra
recurrent weights) are stored the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ..music.encoding import Encoding
from .config import TrainingConfig


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Model:
    """One trained model: the arrays its kind keeps (an RBM-shaped kind W [V, H], vbias [V],
    hbias [H], float32; another kind its own, with `units`); `window` is how many grid rows one
    visible vector holds (set by the kind's trainer)."""

    kind: str
    params: dict[str, np.ndarray]
    config: TrainingConfig
    encoding: Encoding
    history: list[dict] = field(default_factory=list)
    dataset: dict = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    window: int = 0  # 0: the config's window (files and callers that predate the field)
    # (visible, hidden) units, for a kind whose arrays hold no W [V, H] to read them from
    units: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.window:
            self.window = self.config.effective_window

    @property
    def n_visible(self) -> int:
        return int(self.params["W"].shape[0]) if "W" in self.params else self._units()[0]

    @property
    def n_hidden(self) -> int:
        return int(self.params["W"].shape[1]) if "W" in self.params else self._units()[1]

    def _units(self) -> tuple[int, int]:
        if self.units is None:
            raise ValueError(f"a {self.kind!r} model without 'W' must say its units")
        return int(self.units[0]), int(self.units[1])

    @property
    def frame_level(self) -> bool:
        return bool(self.config.frame_level)

    @property
    def time_signature(self) -> tuple[int, int]:
        """The metre most of the training songs were in (4/4 when unknown): generated songs and
        their bar positions use it."""
        sig = self.dataset.get("time_signature", "4/4") if isinstance(self.dataset, dict) else ""
        try:
            num, den = (int(x) for x in str(sig).split("/"))
        except ValueError:
            return (4, 4)
        return (num, den) if num > 0 and den > 0 else (4, 4)

    @property
    def data_encoding(self) -> Encoding:
        """The encoding songs must be read in for this model (a frame-level model re-places
        pitches on the piano keys, so its own encoding is not the songs' one)."""
        stored = self.dataset.get("data_encoding") if isinstance(self.dataset, dict) else None
        if isinstance(stored, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return Encoding.from_dict(stored)
        return self.encoding

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
        if "W" not in self.params:  # a kind without RBM weights has no receptive fields
            return np.zeros((self.n_hidden, self.window, self.encoding.span), np.float32)
        W = np.asarray(self.params["W"])
        fields_ = W.T.reshape(self.n_hidden, self.window, self.row_width)
        return fields_[:, :, : self.encoding.span].copy()
