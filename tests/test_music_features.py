"""The music benchmark's features and overlap area on hand-made songs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from rbm_studio.music import features as F
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize

ENC = Encoding(steps_per_beat=4, low=48, high=84)


def matrix(notes: list[tuple[int, int, int]], steps: int) -> StateMatrix:
    """A song from (pitch, start step, length in steps) triples."""
    data = np.zeros((steps, 2 * ENC.span), np.uint8)
    for pitch, start, length in notes:
        col = pitch - ENC.low
        data[start : start + length, col] = 1
        data[start, ENC.span + col] = 1
    return StateMatrix(canonicalize(data, ENC.span), ENC)


C_MAJOR_SCALE = [(p, 4 * i, 4) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]


def test_a_major_scale_is_fully_in_its_scale_with_quarter_notes():
    f = F.features(matrix(C_MAJOR_SCALE, 32))
    assert f["scale_consistency"] == 1.0
    assert f["notes_per_bar"] == 4.0 and f["polyphony"] == 1.0
    assert f["pitch_range"] == 12.0
    assert f["clash_rate"] == 0.0 and f["drone_rate"] == 0.0
    assert f["empty_beat_rate"] == 0.0
    # every onset four steps apart, every note four steps long, onsets on the beats
    assert f["inter_onset_intervals"][3] == 1.0
    assert f["note_lengths"].sum() == pytest.approx(1.0) and f["note_lengths"][3] == 1.0
    assert set(np.flatnonzero(f["onset_positions"])) == {0, 4, 8, 12}
    # steps of a major scale: 2,2,1,2,2,2,1
    assert f["mean_interval"] == pytest.approx(12 / 7)
    pcs = f["pitch_classes"]
    assert pcs.sum() == pytest.approx(1.0) and pcs[0] == pytest.approx(2 / 8)


def test_a_chromatic_cluster_clashes_on_every_step_and_a_held_chord_drones():
    cluster = F.features(matrix([(60 + i, 0, 16) for i in range(5)], 16))
    assert cluster["clash_rate"] == 1.0
    assert cluster["scale_consistency"] < 1.0
    drone = F.features(matrix([(60, 0, 32), (64, 0, 32), (67, 0, 32)], 48))
    assert drone["drone_rate"] == 1.0 and drone["clash_rate"] == 0.0
    assert drone["empty_beat_rate"] == pytest.approx(4 / 12)


def test_blips_repetition_and_summary():
    blips = matrix([(60 + (i % 3), i, 1) for i in range(32)], 32)
    s = F.summary([blips])
    assert s["blip_rate"] == 1.0 and s["notes_per_bar"] == 16.0
    f = F.features(matrix([(60, 0, 4), (64, 16, 4), (60, 32, 4), (64, 48, 4)], 64))
    assert f["bar_repetition"] == 0.0
    same = F.features(matrix([(60, 16 * b, 4) for b in range(4)], 64))
    assert same["bar_repetition"] == 1.0


def test_overlap_area_is_one_for_a_set_against_itself_and_falls_for_other_music():
    rng = np.random.default_rng(0)

    def chorale(seed: int) -> StateMatrix:
        r = np.random.default_rng(seed)
        notes = []
        for beat in range(16):
            root = int(r.choice([60, 62, 64, 65, 67]))
            notes += [(root, 4 * beat, 4), (root + 4, 4 * beat, 4), (root - 12, 4 * beat, 4)]
        return matrix(notes, 64)

    def noise(seed: int) -> StateMatrix:
        data = (np.random.default_rng(seed).random((64, ENC.span)) < 0.3).astype(np.uint8)
        return StateMatrix(canonicalize(np.concatenate([data, data], 1), ENC.span), ENC)

    real = [F.features(chorale(i)) for i in range(8)]
    oa_self = F.compare_sets(real, real)
    assert all(v == pytest.approx(1.0) for v in oa_self.values())
    other = [F.features(chorale(100 + i)) for i in range(8)]
    similar = np.mean(list(F.compare_sets(other, real).values()))
    junk = np.mean(list(F.compare_sets([F.features(noise(i)) for i in range(8)], real).values()))
    assert similar > 0.8 and junk < 0.5 and similar - junk > 0.4
    d = rng.normal(size=200)
    assert F.overlap_area(d, d) == pytest.approx(1.0)
    assert F.overlap_area(d, d + 100) < 1e-6
