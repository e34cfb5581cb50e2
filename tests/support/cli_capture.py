"""`run_cli` for the hostile-input workers (run as scripts, so they import it from this folder):
one CLI call in this process, its stderr captured, a traceback returned instead of raised."""

from __future__ import annotations

import contextlib
import io
import traceback


def run_cli(argv: list[str]) -> tuple[int | str, str]:
    from rbm_studio import cli

    err = io.StringIO()
    out = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc: int | str = cli.main(argv)
    except BaseException:  # noqa: BLE001 - what the test is looking for
        return "traceback", err.getvalue() + traceback.format_exc()
    return rc, err.getvalue()
