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


def loop_song(bars: int, period: int, seed: int = 0) -> StateMatrix:
    """`bars` bars whose chords (three notes a beat) repeat every `period` bars."""
    r = np.random.default_rng(seed)
    roots = r.choice([60, 62, 64, 65, 67, 69], size=(period, 4))
    notes = []
    for b in range(bars):
        for beat, root in enumerate(roots[b % period]):
            t = 16 * b + 4 * beat
            notes += [(int(root), t, 4), (int(root) + 4, t, 4), (int(root) - 12, t, 4)]
    return matrix(notes, 16 * bars)


def test_a_four_bar_loop_repeats_at_four_and_eight_bars_and_copies_what_it_learned():
    song = loop_song(16, 4)
    f = F.form_features(song)
    assert set(f) == set(F.FORM_FEATURES)
    # every bar equals the bar 4 and 8 before: far above what any two bars share
    assert f["repeat_pc_4"] > 0.3 and f["repeat_notes_4"] > 0.3 and f["repeat_notes_8"] > 0.3
    assert f["repeat_notes_4"] > f["repeat_notes_2"] + 0.3
    assert f["structure_long"] > 0.1
    assert F.bar_repeat(song) == 0.75  # all but the first four bars
    assert F.bar_repeat(loop_song(16, 16)) < 0.5
    # a song's spans are all in its own index, in any key; another loop's are not
    index = F.copy_index([song])
    assert F.copy_rate([song], index) == 1.0
    up = matrix([(p + 5, s, n) for p, s, n in _notes_of(song)], song.steps)
    assert F.copy_rate([up], index) == 1.0
    assert F.copy_rate([loop_song(16, 4, seed=7)], index) == 0.0


def _notes_of(m: StateMatrix) -> list[tuple[int, int, int]]:
    n = F.song_notes(m)
    return [(int(p), int(s), int(le)) for p, s, le in zip(n.pitch, n.start, n.length, strict=True)]


def _real_songs_floor_and_ceiling(folder) -> tuple[dict, dict]:
    """(the independent floor's form OA, the training songs' form OA) against the held-out
    songs of `folder`, split as the music benchmark splits it."""
    from rbm_studio.benchmarks.music_quality import independent_songs, split
    from rbm_studio.data.dataset import import_folder

    train, held = split(import_folder(folder).matrices, 0)
    bars = 16
    floor_songs = independent_songs(train, 10, bars * F.song_notes(train[0]).bar, 0)
    held_form = [F.form_features(m, bars) for m in held]
    floor = F.compare_values([F.form_features(m, bars) for m in floor_songs], held_form)
    ceiling = F.compare_values([F.form_features(m, bars) for m in train], held_form)
    return floor, ceiling


@pytest.mark.parametrize("where", ["chorales", "nottingham"])
def test_every_form_feature_tells_independent_notes_from_real_songs(where, request):
    from rbm_studio.resources import sample_midi_dir

    folder = (
        sample_midi_dir() if where == "chorales" else request.getfixturevalue("nottingham_midi_dir")
    )
    floor, ceiling = _real_songs_floor_and_ceiling(folder)
    for name in F.FORM_FEATURES:
        assert floor[name] < 0.7 * ceiling[name], (name, floor[name], ceiling[name])
    assert np.mean(list(floor.values())) < 0.5 * np.mean(list(ceiling.values()))


def test_loop_seams_tell_a_stitched_loop_from_one_that_comes_round_like_its_inner_bar_lines():
    # a 4-bar loop of half-bar-offset notes: every bar line has a note sounding over it
    def loop(stitched: bool) -> StateMatrix:
        notes = [(60 + 2 * b, 16 * b + 8, 16) for b in range(3)]
        if stitched:  # the last bar's note cut at the seam, the first bar's struck anew
            notes += [(66, 56, 8), (61, 64, 8), (60, 63, 2)]
        else:
            notes += [(66, 56, 16)]
        notes = [(p, s + 64 * c, n) for c in range(3) for p, s, n in notes]
        return matrix([(p, s, min(n, 192 - s)) for p, s, n in notes if s < 192], 192)

    seamless = F.loop_seams([loop(False)], 4)
    assert seamless["seam"] == seamless["inner"] == {"clash": 0.0, "length": 16.0}
    stitched = F.loop_seams([loop(True)], 4)
    assert stitched["seam"]["length"] < stitched["inner"]["length"] == 16.0
    assert stitched["seam"]["clash"] > stitched["inner"]["clash"] == 0.0


def test_the_binned_overlap_area_agrees_with_the_exact_one():
    """The bootstrap's estimate on the grid: the same overlap to within the grid's resolution,
    for samples that overlap wholly, partly and not at all, and for one with no spread."""
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 1.0, 3000)
    for y in (rng.gamma(2.0, 1.0, 400), rng.gamma(2.0, 1.0, 400) + 1.5, x + 40.0, np.ones(50)):
        exact = F.overlap_area(x, y)
        assert abs(F.overlap_area(x, y, binned=True) - exact) < 0.01, exact
    assert F.overlap_area(x, x + 40.0, binned=True) < 0.01
    assert F.overlap_area(x, x, binned=True) > 0.99
