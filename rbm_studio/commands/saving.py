"""Keeping a command's result when its final write fails (a full disk, a read-only folder, a
device at `--out`): the error is one line and the work is written somewhere else, named. And
one writer per `--out` at a time (`hold_out`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ..platform import files

LOCK_SUFFIX = ".lock"
_LOCK_BYTE = 1 << 20  # Windows: the locked byte, past the holder's id so others can read it


class OutputBusy(Exception):
    """Another run holds the `--out` file; `str()` is one line naming its process."""


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


def _try_lock(fd: int) -> bool:
    """An exclusive lock on the open file `fd` without waiting; False when another holds it."""
    if sys.platform.startswith("win"):
        import msvcrt

        os.lseek(fd, _LOCK_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def hold_out(path: str | Path) -> Iterator[None]:
    """Be the only run writing `path` while the block runs: `OutputBusy` (one line, naming the
    other run's process) when another run holds it.

    Why a lock and not compare-before-replace: a second `train --out same.rbm` is refused before
    it spends minutes or hours training a model that would overwrite (or be overwritten by) the
    first; comparing only at the end would tell the user after the work is done. The lock is an
    OS file lock (`flock`; `msvcrt.locking` on Windows) on `.NAME.lock` beside the file, so a
    killed run never leaves a stale lock behind: the OS drops it with the process. The lock
    file is removed on release; a run that locked a lock file just removed by its holder sees
    that the name no longer leads to its file, and tries again. Where no lock file can be made
    (a read-only folder) the run goes on without one: its save will find a place anyway."""
    try:
        target, _mode = files.write_target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield
        return
    lock = target.with_name(f".{target.name}{LOCK_SUFFIX}")
    fd = -1
    for _attempt in range(100):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError:
            yield
            return
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise OutputBusy(
                f"{target} is being written by another run ({who}); wait for it to finish "
                "or choose another --out"
            )
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed this lock file while we waited for it
        fd = -1
    if fd < 0:
        yield
        return
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still locked, so no one locks a name we are removing
        os.close(fd)


def _holder(fd: int) -> int | None:
    """The process id the lock's holder wrote into it, if it can be read."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
