"""`rbm-studio bench train` at a tiny shape: every peer really runs, at each BLAS thread count,
and the report carries the ratios; the hand-tuned numpy CD-1 peer really learns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rbm_studio.benchmarks.numpy_cd1 import NumpyCD1
from rbm_studio.benchmarks.train_speed import thread_counts
from rbm_studio.cli import main


def test_numpy_cd1_peer_lowers_the_reconstruction_error():
    rng = np.random.default_rng(0)
    prototypes = rng.random((4, 60)) < 0.3
    X = prototypes[rng.integers(0, 4, 400)] ^ (rng.random((400, 60)) < 0.02)
    model = NumpyCD1(X.astype(np.float32), hidden=8, batch=32)
    first = model.train_epoch()
    for _ in range(30):
        last = model.train_epoch()
    assert last < 0.5 * first
    assert model.WT.dtype == np.float32 and model.epoch == 31


@pytest.mark.slow
def test_bench_train_json_reports_every_peer_and_ratio(capsys):
    code = main(
        ["bench", "train", "--shapes", "8x16", "--repeat", "1", "--seconds", "0.2", "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    [shape] = result["shapes"]
    counts = [str(n) for n in thread_counts()]
    assert result["blas_thread_counts"] == thread_counts()
    for peer in ("numpy_cd1", "sklearn"):
        by_threads = shape[f"{peer}_epochs_per_s_by_threads"]
        assert list(by_threads) == counts and all(v > 0 for v in by_threads.values())
        assert str(shape[f"{peer}_threads"]) in counts
        assert shape[f"{peer}_epochs_per_s"] > 0
        ratio = shape["ours_epochs_per_s"] / shape[f"{peer}_epochs_per_s"]
        assert abs(shape[f"ratio_{peer}"] - ratio) < 0.01
    assert (shape["n_hidden"], shape["batch"], shape["n_visible"]) == (8, 16, 2340)
    assert shape["windows"] >= 4 * 16
    assert set(result["targets"]) == {"ratio_numpy_cd1", "ratio_sklearn"}
    assert 0 < shape["peak_fraction"] < 1
