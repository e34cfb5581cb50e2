"""`rbm-studio bench music --infill` end to end with tiny budgets, on real MIDI chord loops: every
way of writing the cells is scored with every figure, the floors are what chance gives, and the
speed figures come with their limits."""

from __future__ import annotations

import json

from support.cowrite_songs import write_songs

from rbm_studio.benchmarks.music_infill import METHODS, SPEED_LIMITS
from rbm_studio.cli import main
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
