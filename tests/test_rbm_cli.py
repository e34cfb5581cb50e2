"""`rbm-studio train` / `generate` end to end on tiny settings, including Ctrl-C during training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.models.model_file import load_model
from rbm_studio.music.encoding import encode
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.song import Note, Song, TempoChange

TINY = ["--model", "rbm", "--epochs", "3", "--hidden", "8", "--window", "4", "--batch", "10"]


@pytest.fixture(scope="module")
def song_dir(tmp_path_factory) -> Path:
    """A folder of short two-chord songs written as real MIDI files."""
    folder = tmp_path_factory.mktemp("songs")
    chords = [(60, 64, 67), (62, 65, 69)]
    for i in range(6):
        notes = [
            Note(p, bar * 1.0, bar * 1.0 + 1.0, 90)
            for bar in range(16)
            for p in chords[(bar + i) % 2]
        ]
        write_midi(Song(notes, [TempoChange(0.0, 100.0)], title=f"s{i}"), folder / f"s{i}.mid")
    (folder / "broken.mid").write_bytes(b"MThd not really")
    return folder


@pytest.mark.slow
def test_train_then_generate(song_dir, tmp_path, capsys):
    model_path = tmp_path / "m.rbm"
    assert main(["train", str(song_dir), "--out", str(model_path), "--json", *TINY]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["epochs"] == 3 and not summary["cancelled"]
    assert "skipped broken.mid" in captured.err
    model = load_model(model_path)
    assert model.epochs_trained == 3 and model.dataset["songs"] == 6
    assert model.dataset["bpm"] == pytest.approx(100.0)

    out = tmp_path / "gen"
    args = ["generate", str(model_path), "--out", str(out), "--songs", "2", "--steps", "32"]
    assert main([*args, "--json"]) == 0
    files = [Path(f["path"]) for f in json.loads(capsys.readouterr().out)["files"]]
    assert [f.name for f in files] == ["generated-01.mid", "generated-02.mid"]
    assert main(args) == 0  # again: new names, nothing overwritten
    assert sorted(p.name for p in out.iterdir()) == [
        "generated-01-2.mid", "generated-01.mid", "generated-02-2.mid", "generated-02.mid",
    ]  # fmt: skip
    for f in files:
        song = read_midi(f)
        assert song.first_bpm == pytest.approx(100.0)
        assert song.end_beat <= 32 / 4

    primer = song_dir / "s0.mid"
    cont = ["generate", str(model_path), "--out", str(out), "--primer", str(primer), "--songs", "1"]
    assert main([*cont, "--steps", "16", "--prefix", "cont"]) == 0
    continued = read_midi(out / "cont-01.mid")
    original = read_midi(primer)

    primer_rows = encode(original, model.encoding)
    again = encode(continued, model.encoding)
    assert again.steps > primer_rows.steps  # continued (a last note may ring on into it)
    np.testing.assert_array_equal(again.data[: primer_rows.steps], primer_rows.data)
    np.testing.assert_array_equal(again.velocities[: primer_rows.steps], primer_rows.velocities)


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "m.rbm"), *TINY]) == 1
    assert "no usable MIDI songs" in capsys.readouterr().err
    assert main(["train", "--sample", "--out", str(tmp_path / "m.rbm"), "--hidden", "0"]) == 2
    assert "Hidden units" in capsys.readouterr().err
    (tmp_path / "x.rbm").write_text("nope")
    assert main(["generate", str(tmp_path / "x.rbm"), "--out", str(tmp_path)]) == 1
    assert "not an RBM Studio model" in capsys.readouterr().err
    assert not (tmp_path / "m.rbm").exists()


@pytest.mark.slow
def test_benchmark_frame_level_training(jsb_mat, tmp_path, capsys):
    out = tmp_path / "jsb.rbm"
    args = ["train", "--benchmark", str(jsb_mat), "--model", "rbm", "--frame-level"]
    args += ["--out", str(out)]
    assert main([*args, "--epochs", "1", "--hidden", "8", "--json"]) == 0
    model = load_model(out)
    assert (model.n_visible, model.window, model.encoding.low) == (88, 1, 21)


@pytest.mark.slow
def test_ctrl_c_saves_the_model_trained_so_far(song_dir, tmp_path):
    model_path = tmp_path / "m.rbm"
    cmd = [sys.executable, "-m", "rbm_studio", "train", str(song_dir), "--out", str(model_path)]
    cmd += ["--model", "rbm", "--epochs", "1000000", "--hidden", "8", "--window", "4"]
    cmd += ["--batch", "10"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    trained = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "recon" in line:  # the progress line shows the first epochs are done
                trained.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not trained.wait(timeout=0.2):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=5)
    assert any("interrupted; saved" in line for line in lines), "".join(lines)
    model = load_model(model_path)
    assert model.epochs_trained >= 1
    assert len(model.history) == model.epochs_trained
