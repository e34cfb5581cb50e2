"""A hand-tuned numpy CD-1 trainer: the honest peer of `bench train`.

The same update as our JAX trainer's CD-1 step (`models/rbm/trainer.py`): hidden probabilities
from the data, one sampled hidden state, a mean-field reconstruction, the five products, momentum
(0.5 for the first epochs, then 0.9) on weights and both biases, the reconstruction error of every
batch, and a fresh shuffle every epoch. Written the way a careful numpy programmer would: float32
throughout, every buffer allocated once, `out=` on every product and ufunc, scipy's one-pass
`expit` for the sigmoid, and the weights kept as [H, V] so each product is a plain BLAS call.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..models.config import TrainingConfig


class NumpyCD1:
    """`NumpyCD1(X, hidden, batch).train_epoch()` trains one epoch on the rows of `X` [n, V]."""

    def __init__(
        self, X: np.ndarray, hidden: int, batch: int, config: TrainingConfig | None = None
    ) -> None:
        config = config or TrainingConfig()
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        n, V = self.X.shape
        B, H = min(int(batch), n), int(hidden)
        self.n, self.n_visible, self.n_hidden, self.batch = n, V, H, B
        self.lr = np.float32(config.learning_rate)
        self.momentum = (config.momentum_start, config.momentum_end, config.momentum_switch_epoch)
        self.rng = np.random.default_rng(config.seed)
        f32 = np.float32
        self.WT = (0.01 * self.rng.standard_normal((H, V))).astype(f32)
        mean = np.clip(self.X.mean(axis=0), 1e-3, 1 - 1e-3)
        self.vbias = np.log(mean / (1 - mean)).astype(f32)
        self.hbias = np.zeros(H, f32)
        self.vel_W, self.vel_v, self.vel_h = (
            np.zeros((H, V), f32),
            np.zeros(V, f32),
            np.zeros(H, f32),
        )
        self._v0, self._pv = np.empty((B, V), f32), np.empty((B, V), f32)
        self._ph0, self._ph1 = np.empty((H, B), f32), np.empty((H, B), f32)
        self._u, self._h0 = np.empty((B, H), f32), np.empty((B, H), f32)
        self._g, self._g_neg = np.empty((H, V), f32), np.empty((H, V), f32)
        self._sv, self._sv_neg = np.empty(V, f32), np.empty(V, f32)
        self._sh, self._sh_neg = np.empty(H, f32), np.empty(H, f32)
        self.epoch = 0
        self.recon_error = float("nan")

    def _step(self, idx: np.ndarray, momentum: float) -> float:
        """One CD-1 update on the windows `idx`; returns the summed squared reconstruction error."""
        b = len(idx)
        v0, pv, ph0, ph1 = self._v0[:b], self._pv[:b], self._ph0[:, :b], self._ph1[:, :b]
        u, h0, WT = self._u[:b], self._h0[:b], self.WT
        np.take(self.X, idx, axis=0, out=v0)
        np.matmul(WT, v0.T, out=ph0)
        ph0 += self.hbias[:, None]
        expit(ph0, out=ph0)
        self.rng.random(out=u, dtype=np.float32)
        np.less(u, ph0.T, out=h0)
        np.matmul(h0, WT, out=pv)
        pv += self.vbias
        expit(pv, out=pv)
        np.matmul(WT, pv.T, out=ph1)
        ph1 += self.hbias[:, None]
        expit(ph1, out=ph1)
        step = self.lr / np.float32(b)
        # weights: g = ph0 v0 - ph1 pv; velocity = momentum velocity + lr g / b; W += velocity
        np.matmul(ph0, v0, out=self._g)
        np.matmul(ph1, pv, out=self._g_neg)
        self._g -= self._g_neg
        self._g *= step
        self.vel_W *= momentum
        self.vel_W += self._g
        np.sum(v0, axis=0, out=self._sv)
        np.sum(pv, axis=0, out=self._sv_neg)
        self._sv -= self._sv_neg
        self._sv *= step
        self.vel_v *= momentum
        self.vel_v += self._sv
        np.sum(ph0, axis=1, out=self._sh)
        np.sum(ph1, axis=1, out=self._sh_neg)
        self._sh -= self._sh_neg
        self._sh *= step
        self.vel_h *= momentum
        self.vel_h += self._sh
        WT += self.vel_W
        self.vbias += self.vel_v
        self.hbias += self.vel_h
        np.subtract(v0, pv, out=pv)  # the reconstruction is spent: reuse its buffer
        np.square(pv, out=pv)
        return float(pv.sum())

    def train_epoch(self) -> float:
        """One shuffled epoch; returns (and keeps) its mean squared reconstruction error."""
        start_m, end_m, switch = self.momentum
        momentum = np.float32(start_m if self.epoch < switch else end_m)
        order = self.rng.permutation(self.n)
        total = 0.0
        for start in range(0, self.n, self.batch):
            total += self._step(order[start : start + self.batch], momentum)
        self.epoch += 1
        self.recon_error = total / (self.n * self.n_visible)
        return self.recon_error
