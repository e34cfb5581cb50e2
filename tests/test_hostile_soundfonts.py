"""Crafted SoundFonts never crash the app: 180+ mutations of the bundled font (tests/support/
crafted_soundfonts.py), a folder and a FIFO go through `rbm-studio render`, `rbm-studio play`
(built-in synth, Null audio device) and the window's SoundFont choice and start-up, each surface
in one child process (tests/support/soundfont_worker.py). Every font is refused in one line that
names it, or played; no signal, no traceback; a refused font is never remembered and the bundled
one stays in use. A sample also goes through the real `python -m rbm_studio` commands.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.crafted_soundfonts import crc_reference, variants

from rbm_studio.music.midi import write_midi
from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.soundfont_check import (
    SoundFontError,
    check_soundfont,
    ogg_crc,
    read_soundfont,
)
from rbm_studio.playback.synth import bundled_soundfont

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "support" / "soundfont_worker.py"
# The classes that crashed TinySoundFont's loader before the check existed.
CRASH_CLASSES = ("igen-sample-id", "pgen-instrument", "-decreasing", "-ffff", "bitflip", "sf3-")
CRASH_CLASSES += ("cut-in-shdr",)
STARTUP_STEP = 6


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    """The fonts (written once for the module, removed after it: they are large) and a short
    song to play with them."""
    folder = tmp_path_factory.mktemp("soundfonts")
    for name, data in variants(bundled_soundfont().read_bytes()).items():
        (folder / f"{name}.sf2").write_bytes(data)
    (folder / "a-folder.sf2").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "a-fifo.sf2")
    song = tmp_path_factory.mktemp("song") / "tune.mid"
    notes = [Note(60 + 4 * i, i * 0.1, i * 0.1 + 0.1, 90) for i in range(2)]
    write_midi(Song(notes=notes, tempos=[TempoChange(0.0, 240.0)]), song)
    yield folder, song
    shutil.rmtree(folder, ignore_errors=True)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["RBM_STUDIO_AUDIO_BACKEND"] = "null"  # a real audio thread, no sound card
    env["JACK_DEFAULT_SERVER"] = "rbm-studio-no-such-server"
    return env


class Worker:
    """One surface's child process over every font, started at once so the three overlap."""

    def __init__(self, surface: str, folder: Path, song: Path, out_dir: Path, *extra: str):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.surface = surface
        self.stdout = (out_dir / "stdout.txt").open("w+")
        self.stderr = (out_dir / "stderr.txt").open("w+")
        argv = [sys.executable, str(WORKER), surface, str(folder), str(song), str(out_dir)]
        self.proc = subprocess.Popen(
            [*argv, *extra],
            stdout=self.stdout,
            stderr=self.stderr,
            text=True,
            env=child_env(),
            cwd=ROOT,
        )

    def records(self) -> list[dict]:
        try:
            returncode = self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.stdout.seek(0)
        self.stderr.seek(0)
        lines, err = self.stdout.read().splitlines(), self.stderr.read()
        started = [line[6:] for line in lines if line.startswith("START ")]
        if returncode < 0:
            name = signal.Signals(-returncode).name
            where = started[-1] if started else "?"
            pytest.fail(f"{self.surface}: killed by {name} on {where}\n{err[-3000:]}")
        assert returncode == 0, f"{self.surface} worker failed:\n{err[-3000:]}"
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture(scope="module")
def workers(crafted, tmp_path_factory) -> Iterator[dict[str, Worker]]:
    folder, song = crafted
    out = tmp_path_factory.mktemp("surfaces")
    # Every font through the chooser; every sixth one remembered at a start (each start opens
    # the synth on the Null device, the slow part).
    started = {
        "render": Worker("render", folder, song, out / "render"),
        "play": Worker("play", folder, song, out / "play"),
        "window": Worker("window", folder, song, out / "window", str(STARTUP_STEP)),
    }
    yield started
    for worker in started.values():
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()


def assert_one_line_naming(record: dict, text: str) -> None:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"{record['font']}: {text!r}"
    assert "Traceback" not in text, f"{record['font']}: {text}"
    assert record["font"] in lines[0], f"{record['font']}: the reason does not name it: {text}"


def test_the_bundled_font_passes_and_every_crash_class_is_refused_by_the_check(crafted):
    folder, _song = crafted
    summary = check_soundfont(read_soundfont(bundled_soundfont()))
    assert summary.presets > 128 and summary.samples > 0 and not summary.compressed
    for name in ("igen-sample-id-65535", "pgen-instrument-218", "pbag-gen-decreasing"):
        with pytest.raises(SoundFontError):
            check_soundfont((folder / f"{name}.sf2").read_bytes())
    for name in ("sf3-start-past-smpl", "cut-in-shdr-4181415", "ibag-gen-ffff-middle"):
        with pytest.raises(SoundFontError):
            check_soundfont((folder / f"{name}.sf2").read_bytes())
    sf3 = check_soundfont((folder / "plays-sf3-vorbis.sf2").read_bytes())  # real Vorbis
    assert sf3.compressed and sf3.samples == 11025 * 488  # its 488 samples, one stream each
    data = bytes(range(256)) * 7
    assert ogg_crc(data) == crc_reference(data)  # zlib's reflected CRC turned into Ogg's


@pytest.mark.slow
def test_render_refuses_each_crafted_font_in_one_line_or_renders_it(crafted, workers):
    folder, _song = crafted
    records = workers["render"].records()
    fonts = {p.name for p in folder.iterdir()}
    assert {r["font"] for r in records} == fonts and len(fonts) >= 100
    for crash_class in CRASH_CLASSES:  # what crashed the loader before the check is here
        assert any(crash_class in name for name in fonts), crash_class
    played = 0
    for record in records:
        assert record["rc"] in (0, 1), f"{record['font']}: {record}"
        if record["rc"] == 0:
            played += 1
            assert record["wrote"] and record["err"] == "", record
        else:
            assert not record["wrote"], record
            assert_one_line_naming(record, record["err"])
    refused = [r["font"] for r in records if r["rc"] == 1]
    assert any(n.startswith("igen-sample-id") for n in refused)
    assert any("silent" in n for n in refused)
    assert "not a regular file" in next(r for r in records if r["font"] == "a-fifo.sf2")["err"]
    assert "folder" in next(r for r in records if r["font"] == "a-folder.sf2")["err"]
    assert played >= 5  # harmless bit flips (a preset name, a generator amount) still play
    assert next(r for r in records if r["font"] == "plays-latin1-preset-names.sf2")["rc"] == 0


@pytest.mark.slow
def test_play_refuses_each_crafted_font_in_one_line_or_plays_it(crafted, workers):
    folder, _song = crafted
    records = workers["play"].records()
    assert len(records) == len(list(folder.iterdir()))
    for record in records:
        if record["played"]:
            assert record["rc"] == 0, record
        else:
            assert record["rc"] == 2, record
            assert_one_line_naming(record, record["err"])


@pytest.mark.gui  # a window in a worker process, no qtbot here
@pytest.mark.slow
def test_the_window_never_remembers_or_reopens_a_refused_font(crafted, workers):
    folder, _song = crafted
    records = workers["window"].records()
    chosen = [r for r in records if r["surface"] == "choose"]
    started = [r for r in records if r["surface"] == "startup"]
    count = len(list(folder.iterdir()))
    assert len(chosen) == count and len(started) == len(range(0, count, STARTUP_STEP))
    bundled = str(bundled_soundfont())
    for record in chosen:
        assert record["used"] in (True, False), record
        if record["used"]:
            assert record["remembered"], record
        else:
            assert not record["remembered"] and record["player_font"] == bundled, record
            assert record["err"].startswith("SoundFont not used: "), record
            assert_one_line_naming(record, record["err"])
    for record in started:
        assert "err" not in record, record["err"]
        if record["notice"]:
            assert record["remembered"] == "" and record["uses"] == bundled, record
            assert_one_line_naming(record, record["notice"])
        else:
            assert record["uses"] != bundled, record
    used = {r["font"] for r in chosen if r["used"]}
    kept = {r["font"] for r in started if not r["notice"]}
    assert kept == used & {r["font"] for r in started}  # start-up keeps what the chooser took
    assert any(r["notice"] for r in started) and kept


@pytest.mark.parametrize(
    "font, expect",
    [
        ("igen-sample-id-65535.sf2", "names sample 65535"),
        ("a-fifo.sf2", "not a regular file"),
        ("bitflip-pdta-seed-0.sf2", None),
    ],
)
def test_the_real_commands_in_a_sample(crafted, tmp_path, font, expect):
    folder, song = crafted
    path = folder / font
    out = tmp_path / "out.wav"
    commands = {
        "render": ["render", str(song), "--soundfont", str(path), "--out", str(out)],
        "play": ["play", str(song), "--synth", "--soundfont", str(path)],
    }
    for command, argv in commands.items():
        proc = subprocess.run(
            [sys.executable, "-m", "rbm_studio", *argv, "--audio-backend", "null"][
                : None if command == "play" else -2
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=child_env(),
            cwd=ROOT,
        )
        assert proc.returncode >= 0, f"{command} {font}: killed by a signal"
        if expect is None:
            assert proc.returncode == 0, f"{command} {font}: {proc.stderr}"
            continue
        err = proc.stderr.strip()
        assert proc.returncode in (1, 2) and len(err.splitlines()) == 1, f"{command}: {err}"
        assert expect in err and font in err and "Traceback" not in err, f"{command}: {err}"
    assert (expect is None) == out.exists()
