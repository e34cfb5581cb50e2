"""The polyphonic benchmark corpora (.mat) as state matrices and raw frames."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from rbm_studio.data.benchmark_data import (
    BENCHMARK_ENCODING,
    BenchmarkDataError,
    frames_to_matrix,
    load_benchmark,
    load_benchmark_frames,
)
from rbm_studio.music.encoding import decode_notes


def test_jsb_shapes_and_struck_from_onsets(jsb_mat):
    corpus = load_benchmark(jsb_mat)
    assert corpus.name == "JSB_Chorales"
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (229, 76, 77)
    assert sum(m.steps for m in corpus.train) == 13_807
    assert corpus.encoding == BENCHMARK_ENCODING
    assert (BENCHMARK_ENCODING.low, BENCHMARK_ENCODING.high) == (21, 108)
    raw = scipy.io.loadmat(jsb_mat)["traindata"][0, 0]
    first = corpus.train[0]
    assert first.data.shape == (raw.shape[0], 176)
    assert np.array_equal(first.sounding, raw > 0)
    onsets = (raw > 0) & ~np.vstack([np.zeros((1, 88), bool), raw[:-1] > 0])
    assert np.array_equal(first.struck, onsets)
    assert max(int(m.sounding.sum(axis=1).max()) for m in corpus.train) == 4

    frames = load_benchmark_frames(jsb_mat)
    assert (len(frames.train), len(frames.valid), len(frames.test)) == (229, 76, 77)
    assert frames.test[5].dtype == np.float32 and frames.test[5].shape[1] == 88
    assert np.array_equal(frames.test[5], corpus.test[5].sounding.astype(np.float32))
    # Callers get their own arrays: changing one does not change the next load.
    frames.train[0][:] = 7
    assert load_benchmark_frames(jsb_mat).train[0].max() == 1


def test_nottingham_splits(nottingham_mat):
    corpus = load_benchmark(nottingham_mat)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (694, 173, 170)
    assert sum(m.steps for m in corpus.train) == 176_561


def test_held_and_repeated_notes_read_as_one_note():
    frames = np.zeros((6, 88), np.float32)
    frames[0:3, 39] = 1  # middle C (MIDI 60) for three frames
    frames[4:6, 39] = 1
    notes = decode_notes(frames_to_matrix(frames).data, BENCHMARK_ENCODING)
    assert [(n.pitch, n.start, n.end) for n in notes] == [(60, 0, 3), (60, 4, 6)]


def test_bad_files_raise_one_clear_error(tmp_path):
    with pytest.raises(BenchmarkDataError, match="cannot open"):
        load_benchmark(tmp_path / "nope.mat")
    (tmp_path / "junk.mat").write_bytes(b"not matlab at all")
    with pytest.raises(BenchmarkDataError, match="not a readable MATLAB file"):
        load_benchmark(tmp_path / "junk.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros((2, 2))})
    with pytest.raises(BenchmarkDataError, match="traindata"):
        load_benchmark(tmp_path / "other.mat")
