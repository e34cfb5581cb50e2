"""The log a bug report needs, from a real process: `start_logging` writes a start line, what
the modules log and the traceback of an uncaught exception in a thread to `rbm-studio.log` in the
log folder, and `faulthandler` leaves a native crash's stack in `faulthandler.log`. A second
launch appends to both rather than starting them afresh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import faulthandler, logging, sys, threading
from rbm_studio.platform.logs import start_logging

print(start_logging("9.9-test"))
logging.getLogger("rbm_studio.studio.library").warning("launch %s: a song was kept aside", sys.argv[1])

def worker():
    raise KeyError("missing-" + sys.argv[1])

thread = threading.Thread(target=worker, name="import-worker")
thread.start()
thread.join()
faulthandler._sigsegv()  # a native crash, as a broken C library would cause
"""


def launch(n: int, log_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONFAULTHANDLER",)}
    env |= {"RBM_STUDIO_LOG_DIR": str(log_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(n)], env=env, capture_output=True, text=True, timeout=60
    )


def test_log_holds_start_lines_warnings_thread_tracebacks_and_native_crashes(tmp_path):
    log_dir = tmp_path / "logs"
    for n in (1, 2):
        proc = launch(n, log_dir)
        assert proc.returncode != 0, "the child was meant to crash"
        assert proc.stdout.strip() == str(log_dir / "rbm-studio.log")

    text = (log_dir / "rbm-studio.log").read_text(encoding="utf-8")
    assert text.count("rbm-studio 9.9-test started: Python") == 2
    for n in (1, 2):
        assert f"WARNING rbm_studio.studio.library: launch {n}: a song was kept aside" in text
        assert f"KeyError: 'missing-{n}'" in text
    assert text.count("ERROR rbm_studio: uncaught exception in thread import-worker") == 2
    assert text.count("Traceback (most recent call last)") == 2 and "in worker" in text

    crashes = (log_dir / "faulthandler.log").read_text(encoding="utf-8")
    assert crashes.count("--- pid ") == 2
    assert crashes.count("Fatal Python error: Segmentation fault") == 2
    crash_line = next(i for i, line in enumerate(CHILD.splitlines(), 1) if "_sigsegv" in line)
    assert f'File "<string>", line {crash_line} in <module>' in crashes
