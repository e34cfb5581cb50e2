"""`rbm-studio --self-test` in a fresh process, as a packaged app would run it."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage


def test_self_test_exits_zero_and_writes_screenshot(artifacts_dir):
    shot = artifacts_dir / "self_test.png"
    shot.unlink(missing_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "rbm_studio", "--self-test", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("self-test ok: imported"), proc.stdout
    assert "generated 1 song" in proc.stdout
    # The transport bar finished its search: an output is open, or it says why there is none.
    assert "MIDI output" in proc.stdout, proc.stdout
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 800


def test_self_test_reports_failure(tmp_path):
    # A bundle without its sample songs must fail loudly, not hang or crash.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = (
        "import sys; import rbm_studio.resources as r; "
        f"r.sample_midi_dir = lambda: __import__('pathlib').Path({str(tmp_path / 'none')!r}); "
        "from rbm_studio.cli import main; sys.exit(main(['--self-test']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 1
    assert "self-test FAILED while importing the bundled songs" in proc.stderr
