"""`rbm-studio bench music` end to end on the bundled chorales, with tiny budgets."""

from __future__ import annotations

import json

import pytest

from rbm_studio.cli import main


@pytest.mark.slow
def test_bench_music_reports_every_contender_against_the_real_ceiling(tmp_path, capsys):
    plots = tmp_path / "plots"
    args = ["bench", "music", "--json", "--minutes", "0.05", "--songs", "3", "--bars", "4"]
    assert main([*args, "--plot", str(plots)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["train_songs"] + result["held_out_songs"] == 40
    assert 0.5 < result["real_mean_oa"] <= 1.0
    assert 0.5 < result["real_form_oa"] <= 1.0 and len(result["real_form"]) == 8
    held = result["held_out"]
    assert 5 < held["notes_per_bar"] < 20 and held["blip_rate"] < 0.05
    # the training songs' own rates, the reference a faithful model plays at
    training = result["training"]
    assert set(training) | {"copy_rate"} == set(held) and training != held
    assert 0.0 <= held["bar_repeat"] <= 1.0 and 0.0 <= training["bar_repeat"] <= 1.0
    assert 0.0 <= held["copy_rate"] < 0.2
    assert 5 < training["notes_per_bar"] < 20 and training["clash_rate"] < 0.05
    names = set(result["contenders"])
    assert {"default", "tutorial", "independent", "rbm", "rnn-rbm"} <= names
    for name, c in result["contenders"].items():
        assert set(c) >= {"mean_oa", "oa", "notes_per_bar", "clash_rate", "drone_rate"}
        assert set(c) >= {"blip_rate", "train_s", "generate_s"}
        assert 0.0 <= c["mean_oa"] <= 1.0, name
        assert len(c["oa"]) == 14
        assert 0.0 <= c["form_oa"] <= 1.0 and len(c["form"]) == 8, name
        assert 0.0 <= c["bar_repeat"] <= 1.0 and 0.0 <= c["copy_rate"] <= 1.0, name
        assert (plots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the floor sprays independent noise: far more notes and clashes than the chorales
    floor = result["contenders"]["independent"]
    assert floor["clash_rate"] > 3 * held["clash_rate"]
    # the default's loops: how they come round, beside their inner bar lines
    seams = result["contenders"]["default"]["loop_seam"]
    assert set(seams) == {"seam", "inner"} and all(0.0 <= s["clash"] <= 1.0 for s in seams.values())
    assert floor["mean_oa"] < result["real_mean_oa"]


def test_bench_music_table_and_unknown_contender(capsys):
    assert main(["bench", "music", "--only", "nothing"]) == 2
    assert "no contender named nothing" in capsys.readouterr().err
    args = ["bench", "music", "--minutes", "0.02", "--songs", "2", "--bars", "2"]
    assert main([*args, "--only", "independent"]) == 0
    out = capsys.readouterr().out
    assert "real music's mean OA" in out and "independent" in out
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"held-out", "training", "independent"} <= rows


def _split_gaps(folder, seeds: int = 20) -> list[tuple[float, float]]:
    """(held-out, training) bar repeat of `bench music`'s split at each seed."""
    from rbm_studio.benchmarks.music_quality import _bar_repeat, split
    from rbm_studio.data.dataset import import_folder

    songs = import_folder(folder).matrices
    return [tuple(_bar_repeat(s, 16) for s in split(songs, seed)[::-1]) for seed in range(seeds)]


def test_a_fifth_of_the_chorales_held_out_can_repeat_far_less_or_more_than_the_rest():
    """The README's figures: a model that repeats bars as its training chorales do is more than
    25 % away from the held-out chorales in 7 of the first 20 splits (seed 1 among them)."""
    from rbm_studio.resources import sample_midi_dir

    gaps = _split_gaps(sample_midi_dir())
    far = [seed for seed, (held, train) in enumerate(gaps) if abs(train / held - 1) > 0.25]
    assert len(far) == 7 and 1 in far and 0 not in far
    held, train = gaps[1]
    assert round(held, 2) == 0.15 and round(train, 2) == 0.20


def test_the_tunes_held_out_repeat_as_their_training_tunes_do_in_every_split(shared_data):
    gaps = _split_gaps(shared_data / "midi" / "nottingham-sample")
    assert all(abs(train / held - 1) <= 0.25 for held, train in gaps)
