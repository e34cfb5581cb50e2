"""Keeping a command's result when its final write fails (a full disk, a read-only folder, a
device at `--out`): the error is one line and the work is written somewhere else, named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..platform import files


def check_out(path: str | Path) -> str | None:
    """Why `path` cannot take a result (a folder, a device, a FIFO, no name), before any work
    is done; None when it can."""
    try:
        files.write_target(path)
    except files.WriteError as exc:
        return str(exc)
    return None


def write_or_keep(path: Path, write: Callable[[Path], Path]) -> tuple[Path | None, str | None]:
    """`write(path)`; when it fails, `write` to a numbered name beside it, then the user data
    folder, then the temp folder. Returns (where it went or None, one-line error or None)."""
    try:
        return write(path), None
    except OSError as exc:
        first = files.reason(exc)
    from ..platform.paths import data_dir

    try:
        fallback = data_dir()
    except OSError:
        fallback = None
    for other in files.beside(path, fallback):
        try:
            kept = write(other)
        except OSError:
            continue
        return kept, f"{first}; kept it at {kept} instead"
    return None, f"{first}; nowhere else could take it either"
