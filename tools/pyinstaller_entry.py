"""Entry point of the frozen (PyInstaller) RBM Studio: the same `rbm_studio.cli.main` as from source.

Two things only a frozen app needs: `multiprocessing.freeze_support()` (the song importer uses
worker processes; a frozen child must run the worker, not a second copy of the app), and a place for
output when the OS gives a windowed app no console (Windows: `sys.stdout` is None), so that
`--self-test` still leaves its one-line summary somewhere: `console.log` in the user log folder,
appended to at each launch (one older copy kept), beside the app's own rotating `rbm-studio.log`.
"""

from __future__ import annotations

import multiprocessing
import sys


def _attach_missing_streams() -> None:
    """Send output to a log file when the OS gave the windowed app no stdout/stderr."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    from rbm_studio.platform.logs import console_stream

    log = console_stream()
    if sys.stdout is None:
        sys.stdout = log
    if sys.stderr is None:
        sys.stderr = log


if __name__ == "__main__":
    multiprocessing.freeze_support()
    _attach_missing_streams()
    from rbm_studio.cli import main

    sys.exit(main())
