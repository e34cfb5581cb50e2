"""`rbm-studio regenerate` and `rbm-studio harmonise` end to end: a tiny RBM really trained on real
MIDI chord loops and saved as a model file writes variations of a real MIDI song and harmonises
a real melody file; what it was not asked to write comes back as it was; bad requests are one
line each, and nothing is written for them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.cowrite_songs import ENCODING, chord_song, train

from rbm_studio.cli import main
from rbm_studio.music.encoding import encode
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.studio.cowrite import top_line

BAR = 16
OLD_RNN_RBM = Path(__file__).resolve().parent / "data" / "rnn_rbm_fields_format.rbm"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(model file, song file, melody file, chords-as-melody file)."""
    folder = tmp_path_factory.mktemp("cli-cowrite")
    _, model = train(folder)
    song = write_midi(chord_song(21, bars=8), folder / "song.mid")
    melody = write_midi(top_line(read_midi(song)), folder / "tune.mid")
    return model, song, melody


def test_regenerate_writes_variations_that_keep_every_other_bar(files, tmp_path, capsys):
    model, song, _ = files
    out = tmp_path / "out"
    args = ["regenerate", str(model), str(song), "--bars", "3-4", "--out", str(out)]
    assert main([*args, "--songs", "2", "--seed", "9", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seed"] == 9 and len(result["files"]) == 2
    before = encode(read_midi(song), ENCODING).data
    for entry in result["files"]:
        assert Path(entry["path"]).parent == out and entry["path"].endswith(".mid")
        after = encode(read_midi(entry["path"]), ENCODING).data
        assert np.array_equal(after[: 2 * BAR], before[: 2 * BAR])
        assert np.array_equal(after[4 * BAR :], before[4 * BAR :])
        assert after[2 * BAR : 4 * BAR].any()
    # a second run never overwrites: two more files
    assert main([*args, "--songs", "2", "--seed", "9"]) == 0
    assert len(list(out.glob("*.mid"))) == 4
    assert "wrote" in capsys.readouterr().err
    # a pitch range: everything under it stays
    assert main([*args, "--lowest", "70", "--songs", "1", "--json"]) == 0
    path = json.loads(capsys.readouterr().out)["files"][0]["path"]
    low = [(n.pitch, n.start, n.end) for n in read_midi(path).notes if n.pitch < 70]
    assert low == [(n.pitch, n.start, n.end) for n in read_midi(song).notes if n.pitch < 70]


def test_harmonise_writes_voices_under_the_melody_file(files, tmp_path, capsys):
    model, song, melody = files
    out = tmp_path / "harm"
    assert main(["harmonise", str(model), str(melody), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["files"]) == 3  # three variations unless told
    tune = [(n.pitch, n.start, n.end, n.velocity) for n in read_midi(melody).notes]
    for entry in result["files"]:
        notes = read_midi(entry["path"]).notes
        mine = [(n.pitch, n.start, n.end, n.velocity) for n in notes]
        assert set(tune) <= set(mine) and len(mine) > len(tune)
    # a file with chords: its top line is harmonised, and the command says so
    assert main(["harmonise", str(model), str(song), "--out", str(out), "--songs", "1"]) == 0
    assert "harmonising its top line" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--bars", "4-2"], "first ≤ last"),
        (["--bars", "x"], "bars like 5-8"),
        (["--bars", "1-2", "--lowest", "80", "--highest", "60"], "not a range of MIDI pitches"),
        (["--bars", "1-2", "--lowest", "100"], "none of the pitches"),
        (["--bars", "1-2", "--songs", "0"], "--songs"),
    ],
)
def test_bad_regenerate_requests_are_one_line(files, tmp_path, capsys, extra, expected):
    model, song, _ = files
    out = tmp_path / "never"
    argv = ["regenerate", str(model), str(song), "--out", str(out), *extra]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses the option itself
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and expected in err[-1], err
    assert not list(out.glob("*.mid")) if out.exists() else True


def test_files_that_cannot_be_used_are_one_line(files, tmp_path, capsys):
    model, song, melody = files
    out = tmp_path / "never"
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really")
    cases = [
        (["regenerate", str(model), str(broken), "--bars", "1"], 1, "broken.mid"),
        (["harmonise", str(tmp_path / "missing.rbm"), str(melody)], 1, "missing.rbm"),
        (["harmonise", str(OLD_RNN_RBM), str(melody)], 2, "left to right"),
        (["regenerate", str(OLD_RNN_RBM), str(song), "--bars", "1"], 2, "left to right"),
    ]
    for argv, code, expected in cases:
        assert main([*argv, "--out", str(out)]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert not out.exists() or not list(out.iterdir())
