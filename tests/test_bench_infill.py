"""`rbm-studio bench music --infill` end to end with tiny budgets, on real MIDI chord loops: every
way of writing the cells is scored with every figure, the floors are what chance gives, and the
speed figures come with their limits."""

from __future__ import annotations

import json

import numpy as np
from support.cowrite_songs import ENCODING, chord_song, write_songs

from rbm_studio.benchmarks import music_infill
from rbm_studio.benchmarks.music_infill import METHODS, SPEED_LIMITS, Rewrite
from rbm_studio.cli import main
from rbm_studio.music.encoding import encode
from rbm_studio.music.features import FEATURES

FIGURES = {"note_f1", "pc_f1", "mean_oa", "seam_clash_rate", "clash_rate", "blip_rate"}


def test_bench_infill_scores_every_way_of_writing_and_times_it(tmp_path, capsys):
    folder = tmp_path / "loops"
    write_songs(folder, count=6, bars=12)
    args = ["bench", "music", "--infill", str(folder), "--minutes", "0.02", "--variations", "1"]
    args += ["--speed-runs", "1"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["held_out_songs"] == 1 and result["train_songs"] == 5
    assert result["excerpts"] == 1  # a 12-bar song is one excerpt
    assert result["bars"] == 12 and result["region"] == "5-8"
    assert set(result["infill"]) == set(METHODS)
    for name, row in result["infill"].items():
        assert set(row) == FIGURES | {"drone_rate", "seconds", "oa"}, name
        assert all(0.0 <= row[f] <= 1.0 for f in FIGURES | {"drone_rate"}), (name, row)
        assert row["seconds"] >= 0.0
        # mean_oa is the mean of the per-feature overlaps reported beside it
        assert set(row["oa"]) == set(FEATURES), name
        assert abs(sum(row["oa"].values()) / len(FEATURES) - row["mean_oa"]) < 1e-3, name
    # the loops never clash; chance does, and its notes last one step
    floor = result["infill"]["independent"]
    assert result["held_out"]["clash_rate"] == 0.0 and floor["clash_rate"] > 0.05
    assert floor["blip_rate"] > 0.3 and floor["note_f1"] < 0.5
    speed = result["speed"]
    assert speed["limits"] == SPEED_LIMITS
    assert all(speed[name] > 0.0 for name in SPEED_LIMITS)
    # one excerpt: every bootstrap draw is that excerpt, so the interval is the difference itself
    # (its overlap areas estimated on the grid)
    for name, close in (("pc_f1", 1e-4), ("mean_oa", 0.02)):
        d = result["both_minus_left"][name]
        both, left = result["infill"]["both-neighbours"][name], result["infill"]["left-only"][name]
        assert abs(d["difference"] - (both - left)) < 1e-3
        assert d["p5"] == d["p95"] and abs(d["p5"] - d["difference"]) <= close


def test_a_long_song_gives_excerpts_every_four_bars_with_held_notes_struck_at_their_start():
    m = encode(chord_song(3, bars=22), ENCODING)  # 88 beats: excerpts from bars 1, 5 and 9
    bar = 16
    excerpts = music_infill._excerpts(m)
    assert len(excerpts) == music_infill.EXCERPTS_PER_SONG == 3
    for k, e in enumerate(excerpts):
        start = k * music_infill.HOP * bar
        assert e.steps == music_infill.BARS * bar and e.time_signature == m.time_signature
        assert np.array_equal(e.sounding, m.sounding[start : start + e.steps])
        # every note sounding on the excerpt's first row is struck there
        assert np.array_equal(e.struck[0], e.sounding[0])
    assert len(music_infill._excerpts(encode(chord_song(3, bars=11), ENCODING))) == 0
    assert len(music_infill._excerpts(encode(chord_song(3, bars=16), ENCODING))) == 2


def test_the_paired_difference_sees_a_real_gap_and_no_gap_between_equals():
    songs = [encode(chord_song(i, bars=12), ENCODING) for i in range(8)]

    def rewrite(m, made):
        free, seam = music_infill._bars_cells(m)
        return Rewrite(m, made, free, seam)

    exact = [rewrite(m, [m]) for m in songs]  # the original back: F1 1
    noise = [
        rewrite(m, music_infill._independent(m, songs, music_infill._bars_cells(m)[0], 1, 1))
        for m in songs
    ]
    reference = music_infill._reference(exact)
    exact, noise = ([music_infill._parts(r) for r in rs] for rs in (exact, noise))
    gap = music_infill.paired_difference(exact, noise, reference, seed=0)
    assert gap["pc_f1"]["p5"] > 0.2 and gap["mean_oa"]["p5"] > 0.2
    assert gap["pc_f1"]["p5"] <= gap["pc_f1"]["difference"] <= gap["pc_f1"]["p95"]
    same = music_infill.paired_difference(noise, noise, reference, seed=0)
    assert all(v == 0.0 for d in same.values() for v in d.values())


def test_the_context_figures_count_region_bars_whose_harmony_only_the_bars_after_show():
    loop = encode(chord_song(0, bars=12), ENCODING)  # bars 5-8 repeat bars 1-4 and 9-12
    late = type(loop)(loop.data.copy(), loop.encoding, time_signature=loop.time_signature)
    late.data[: 4 * 16] = 0  # silent before the region: only the bars after show its chords
    assert music_infill.context_relations([loop]) == {
        "region_bars": 4,
        "before": 1.0,
        "after": 1.0,
        "after_only": 0.0,
    }
    both = music_infill.context_relations([loop, late])
    assert both == {"region_bars": 8, "before": 0.5, "after": 1.0, "after_only": 0.5}


def test_the_tunes_bars_after_a_region_rarely_show_harmony_the_bars_before_do_not(shared_data):
    """The README's figure: on the Nottingham tunes' held-out excerpts, a region bar's pitch
    classes are seldom those of a bar after it and of none before it (the tunes repeat a few
    chords on both sides), on the splits of seeds 0-2."""
    from rbm_studio.benchmarks.music_quality import split
    from rbm_studio.data.dataset import import_folder

    report = import_folder(shared_data / "midi" / "nottingham-sample")
    for seed in (0, 1, 2):
        _, held = split(report.matrices, seed)
        excerpts = [e for m in held for e in music_infill._excerpts(m)]
        c = music_infill.context_relations(excerpts)
        assert c["region_bars"] >= 80, (seed, c)
        assert c["after_only"] <= 0.05 and c["before"] >= 0.4, (seed, c)
