"""Sound never depends on python-rtmidi (it has no wheels past Python 3.12): with `rtmidi`
unimportable, `rbm-studio ports` still lists the built-in synth and says why there are no MIDI
ports, and `rbm-studio render` still writes audible audio. One child process runs both."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
sys.modules["rtmidi"] = None  # `import rtmidi` now raises ImportError, as without the package
from rbm_studio.cli import main

assert main(["ports"]) == 0
assert main(["render", sys.argv[1], "--out", sys.argv[2]]) == 0
"""


def test_ports_and_render_work_without_rtmidi(tmp_path):
    out = tmp_path / "song.wav"
    song = sorted(sample_midi_dir().glob("*.mid"))[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(song), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Built-in synth: ")
    assert any(line.startswith("MIDI ports need python-rtmidi") for line in lines)
    with wave.open(str(out), "rb") as wav:
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32768.0
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds > 1.0 and np.abs(audio).max() > 0.05
