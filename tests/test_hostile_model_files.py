"""Crafted model files (tests/support/crafted_models.py: zip bombs, huge declared shapes, wrong
dtypes, NaN/Inf, every metadata field malformed, pickled payloads, traversal names, special
files) through `load_model`, `rbm-studio generate`, `rbm-studio evaluate` and the window's open:
each one works or gives one line, never a traceback, never runs code, and the process that
reads them all stays under 500 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import crafted_models
from support.crafted_models import MARKER, WORKS

from rbm_studio.models.model_file import ModelFileError, load_model
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
PEAK_LIMIT_KIB = 500 * 1024


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crafted")
    files = crafted_models.corpus(folder)
    special = {"special-folder": folder / "special-folder.rbm"}
    special["special-folder"].mkdir()
    if hasattr(os, "mkfifo"):
        special["special-fifo"] = folder / "special-fifo.rbm"
        os.mkfifo(special["special-fifo"])
    special["special-symlink-loop"] = folder / "special-symlink-loop.rbm"
    special["special-symlink-loop"].symlink_to(special["special-symlink-loop"].name)
    return {**files, **special}


@pytest.mark.slow
def test_crafted_files_through_load_generate_and_evaluate(corpus, tmp_path):
    folder = next(iter(corpus.values())).parent
    song = tmp_path / "song.mid"
    write_midi(read_midi(next(sample_midi_dir().glob("*.mid"))), song)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests/support/hostile_worker.py"), str(folder), str(song)]
        + [str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    peak = rows.pop()["peak_kib"]
    seen = {r["file"] for r in rows}
    assert seen == set(corpus), set(corpus) ^ seen
    for r in rows:
        where = f"{r['file']} / {r['step']}"
        assert r["rc"] != "traceback", f"{where}:\n{r['text']}"
        text = r["text"].strip()
        if r["file"] in WORKS:
            assert r["rc"] == 0, f"{where}: {text}"
            continue
        if r["file"] == "metadata-nan-literal":  # a NaN in the history is a gap in the curve
            assert r["rc"] == 0, f"{where}: {text}"
            continue
        assert r["rc"] == 1, f"{where} should fail: {text}"
        assert "\n" not in text and text, f"{where}: not one line: {text!r}"
        assert "Traceback" not in text
        if r["step"] != "load":
            assert text.startswith("error: "), f"{where}: {text}"
    assert not (folder / MARKER).exists(), "a pickled payload ran"
    assert peak < PEAK_LIMIT_KIB, f"peak memory {peak / 1024:.0f} MB reading the corpus"


def test_unusual_but_valid_files_load_their_values(corpus):
    expected = crafted_models.base_params()["W"]
    for name in ("ok-plain", "ok-big-endian-f8", "ok-fortran-order", "ok-unknown-meta-keys"):
        np.testing.assert_array_equal(load_model(corpus[name]).params["W"], expected)
    np.testing.assert_allclose(load_model(corpus["ok-float16"]).params["W"], expected, atol=1e-3)
    ints = load_model(corpus["ok-int-weights"]).params["W"]
    assert ints.dtype == np.float32
    np.testing.assert_array_equal(ints, np.round(expected * 100))
    assert load_model(corpus["ok-window-null-uses-config"]).window == crafted_models.WINDOW


def test_the_reasons_name_the_problem(corpus):
    expect = {
        "bomb-weights-864mb": "zip bomb",
        "bomb-weights-29mb": "zip bomb",
        "array-huge-shape": "MiB",
        "array-pickled": "not numeric",
        "array-nan": "NaN or infinite",
        "array-inf": "NaN or infinite",
        "meta-window-zero-config-zero": "Window",
        "meta-dataset-metre-zero": "time_signature",
        "meta-history-error-str": "recon_error",
        "meta-params-traversal": "bad array name",
        "meta-config-wd-inf": "weight_decay",
        "special-folder": "folder",
    }
    if "special-fifo" in corpus:
        expect["special-fifo"] = "not a regular file"
    for name, words in expect.items():
        with pytest.raises(ModelFileError, match=words):
            load_model(corpus[name])


def test_the_window_opens_each_crafted_file_or_says_why_in_one_line(
    qtbot, corpus, tmp_path, artifacts_dir
):
    from rbm_studio.ui.settings import AppSettings
    from rbm_studio.ui.window_factory import build_main_window

    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    for name, path in sorted(corpus.items()):
        messages: list[str] = []
        window.document.failed.connect(lambda _what, m, out=messages: out.append(m))
        job = window.open_model(path)
        qtbot.waitUntil(lambda job=job: not job.is_running(), timeout=30_000)
        qtbot.wait(10)
        if name in WORKS or name == "metadata-nan-literal":
            assert not messages, f"{name}: {messages}"
            assert window.model is not None
        else:
            assert len(messages) == 1 and "\n" not in messages[0], f"{name}: {messages}"
            status = window.statusBar().currentMessage()
            assert status.startswith("Could not open the model:"), f"{name}: {status}"
    job = window.open_model(corpus["bomb-weights-864mb"])
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30_000)
    qtbot.waitUntil(lambda: "zip bomb" in window.statusBar().currentMessage())
    window.grab().save(str(artifacts_dir / "hostile_model_open.png"))
    window.error_box.grab().save(str(artifacts_dir / "hostile_model_open_box.png"))
