"""`rbm-studio play SONG --api jack --port PORT` as a child process, for the tests that stop it
from outside (Ctrl-C, a JACK server that dies)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_play(song: Path, port: str, *, ctrl_c: bool = False) -> subprocess.Popen:
    """The child, its output piped as text. With `ctrl_c` it answers SIGINT as a program run
    from a terminal does: a suite started as a background job ignores SIGINT, a child would
    inherit that, and a handler set here around its start becomes the default one in it."""
    command = [sys.executable, "-m", "rbm_studio", "play", str(song), "--api", "jack"]
    command += ["--port", port]
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if ctrl_c else None
    try:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
