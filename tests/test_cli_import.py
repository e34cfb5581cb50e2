"""`rbm-studio import` as a user runs it (a real subprocess), and the shared progress bar."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import mido
from test_data_dataset import scale, write_song

from rbm_studio.commands.progress import ProgressBar


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RBM_STUDIO_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "rbm_studio", "import", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_json_schema_reasons_and_exit_codes(tmp_path):
    folder = tmp_path / "songs"
    write_song(folder / "good.mid", scale(8))
    write_song(folder / "wide.mid", [(10, 0, 1), (60, 1, 2)])
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00")
    write_song(folder / "silent.mid", [])

    proc = run_cli(str(folder), "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # exactly one JSON document on stdout
    assert set(out) == {"loaded", "skipped", "songs"}
    assert out["loaded"] == 2
    assert out["songs"] == [
        {"path": str(folder / "good.mid"), "steps": 16, "notes": 8},
        {"path": str(folder / "wide.mid"), "steps": 8, "notes": 2},
    ]
    skipped = {Path(s["path"]).name: s["reason"] for s in out["skipped"]}
    assert set(skipped) == {"broken.mid", "silent.mid"}
    assert "truncated" in skipped["broken.mid"] and skipped["silent.mid"] == "no notes"
    assert all(set(s) == {"path", "reason"} for s in out["skipped"])

    dropped = run_cli(
        str(folder / "wide.mid"),
        "--json",
        "--drop-out-of-range",
        "--no-cache",
        cache=tmp_path / "c2",
    )
    assert json.loads(dropped.stdout)["songs"][0]["notes"] == 2

    human = run_cli(str(folder), cache=tmp_path / "cache")
    assert human.returncode == 0
    assert "loaded      2" in human.stdout and "skipped     2" in human.stdout
    assert "broken.mid" in human.stdout and "no notes" in human.stdout
    assert "folded" in human.stdout
    assert "importing" in human.stderr  # progress goes to stderr, not into the table

    nothing = run_cli(
        str(folder / "broken.mid"),
        str(tmp_path / "missing.mid"),
        "--json",
        cache=tmp_path / "cache",
    )
    assert nothing.returncode == 1
    out = json.loads(nothing.stdout)
    assert out["loaded"] == 0 and out["songs"] == []
    assert {s["reason"] for s in out["skipped"]} >= {"file not found"}


def last_note_end_steps(path: Path, steps_per_beat: int = 4) -> int:
    """Independent of our reader: the grid step where the last note ends, straight from mido."""
    midi = mido.MidiFile(path)
    end = 0
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type in ("note_on", "note_off") and msg.channel != 9:
                end = max(end, tick)
    return round(end / midi.ticks_per_beat * steps_per_beat)


def test_nottingham_sample_loads_every_file_at_full_length(nottingham_midi_dir, tmp_path):
    proc = run_cli(str(nottingham_midi_dir), "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["loaded"] == 52 and out["skipped"] == []
    assert len(out["songs"]) == 52
    for song in out["songs"]:
        assert song["steps"] == last_note_end_steps(Path(song["path"])), song["path"]
        assert song["notes"] > 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_one_line_on_a_terminal_and_few_lines_in_logs():
    tty = Terminal()
    with ProgressBar(4, "import", stream=tty) as bar:
        for i in range(1, 5):
            bar.update(i, f"song{i}.mid")
    text = tty.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert "\r" in text and "4/4 100%" in text and "[" + "#" * 10 in text

    log = io.StringIO()
    bar = ProgressBar(1000, "import", stream=log)
    for i in range(1, 1001):
        bar.update(i)
    bar.close()
    lines = log.getvalue().splitlines()
    assert 2 <= len(lines) <= 3  # first update, maybe one timed update, and the final state
    assert lines[-1].startswith("import 1000/1000 100%")
    assert "\r" not in log.getvalue()

    silent = io.StringIO()
    ProgressBar(3, stream=silent, enabled=False).close()
    assert silent.getvalue() == ""


def test_bench_import_reports_ratios_against_pretty_midi(tmp_path):
    folder = tmp_path / "songs"
    for i in range(3):
        write_song(folder / f"s{i}.mid", scale(12, i))
    (folder / "junk.mid").write_bytes(b"junk")
    env = dict(os.environ, RBM_STUDIO_CACHE_DIR=str(tmp_path / "user-cache"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rbm_studio",
            "bench",
            "import",
            str(folder),
            "--json",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["files"], out["loaded"], out["notes"], out["pretty_midi_failed"]) == (4, 3, 36, 1)
    for key in ("pretty_midi", "cold", "warm", "warm_song_cache"):
        assert set(out[key]) == {"seconds", "files_per_s", "notes_per_s", "ratio"}
        assert out[key]["seconds"] > 0
    assert out["pretty_midi"]["ratio"] == 1.0
    assert isinstance(out["meets_targets"], bool)
    # The benchmark uses its own throw-away cache, never the user's.
    assert not (tmp_path / "user-cache").exists() or not any(
        (tmp_path / "user-cache").rglob("*.npz")
    )
