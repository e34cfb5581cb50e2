"""Reading and writing files a person points us at, safely.

Reads open regular files only (a FIFO or device named `x.mid` could block or never end), without
blocking on the open itself. Writes go to a temp file beside the target, are fsynced, keep the
target's permissions and replace it atomically; they refuse to replace anything that is not a
regular file (a device node, a FIFO, a folder). Folder walks are iterative (no recursion limit)
and report every entry they cannot use with a one-line reason instead of giving up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
TEMP_MARK = ".rbms-"  # our temp files: .<name>.rbms-<pid>-<random>.tmp
ORPHAN_AGE_S = 3600.0  # a temp file of a live process older than this is abandoned too


class WriteError(OSError):
    """A file could not be written; `str()` is one line that names the file and says why."""


class NotRegularFileError(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a socket)."""


def reason(exc: BaseException) -> str:
    """A short human reason for an OS error ("no space left on device", "permission denied")."""
    if isinstance(exc, (WriteError, NotRegularFileError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Reading


def open_regular(path: str | Path) -> BinaryIO:
    """Open `path` for binary reading; `NotRegularFileError` for anything but a regular file.
    The open itself never blocks (a FIFO with no writer would wait forever)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"{Path(path).name}: not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# ---------------------------------------------------------------------------------------------
# Writing

_umask_lock = threading.Lock()
_umask: int | None = None


def _default_mode() -> int:
    """What `open()` would give a new file: 0o666 less the process umask (read once)."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
    return 0o666 & ~_umask


def write_target(path: str | Path) -> tuple[Path, int]:
    """Where a write to `path` lands (a symlink to a file writes that file) and the mode the new
    file gets; `WriteError` when the target is not something we may replace."""
    path = Path(path)
    if str(path) in ("", "."):
        raise WriteError("no file name given")
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        info = os.stat(target)
    except FileNotFoundError:
        if path.is_symlink():
            raise WriteError(f"{path}: is a symbolic link to nothing; not replaced") from None
        return target, _default_mode()
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {reason(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise WriteError(f"cannot write {path}: it is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"cannot write {path}: it is not a regular file (left as it is)")
    return target, stat.S_IMODE(info.st_mode)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(fh)` on a temp file beside `path`, fsync it and replace `path` with it; the
    target keeps its mode (a new file gets the umask's). Returns the file written (a symlink's
    target). Any failure raises `WriteError` with one line; the old file is then untouched."""
    target, mode = write_target(path)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {reason(exc)}") from None
    clean_orphans(folder, target.name)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}{TEMP_MARK}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=folder
        )
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {reason(exc)}") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise WriteError(f"cannot write {path}: {reason(exc)}") from None
        raise
    _fsync_dir(folder)
    return target


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    if sys.platform.startswith("win"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def pid_alive(pid: int, *, unknown: bool = True) -> bool:
    """Whether process `pid` runs; `unknown` where there is no harmless probe (Windows)."""
    if pid == os.getpid():
        return True
    if sys.platform.startswith("win"):
        return unknown
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_orphans(folder: Path, name: str) -> int:
    """Remove our temp files for `name` in `folder` left by a process that died mid-write (or
    older than an hour); returns how many went."""
    removed = 0
    prefix = f".{name}{TEMP_MARK}"
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            pid = int(entry.name[len(prefix) :].split("-", 1)[0])
            info = entry.stat(follow_symlinks=False)
        except (ValueError, OSError):
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        if not pid_alive(pid) or now - info.st_mtime > ORPHAN_AGE_S:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def beside(path: str | Path, fallback_dir: Path | None = None) -> list[Path]:
    """Places to keep work whose write to `path` failed, best first: a numbered name beside it,
    then the same name in `fallback_dir` (the user data folder) and the temp folder."""
    path = Path(path)
    stem, suffix = path.stem or "result", path.suffix
    out = [path.with_name(f"{stem}-saved{suffix}")] if path.name else []
    for folder in (fallback_dir, Path(tempfile.gettempdir())):
        if folder is not None:
            out.append(folder / f"{stem}-{os.getpid()}{suffix}")
    return out


# ---------------------------------------------------------------------------------------------
# Walking folders


@dataclass(frozen=True, slots=True)
class Problem:
    """An entry a walk could not use and why, in one line."""

    path: Path
    reason: str


def walk_files(root: Path, keep: Callable[[str], bool]) -> tuple[list[Path], list[Problem]]:
    """Files under `root` whose name `keep` accepts (hidden entries skipped), without recursion
    and without following folder symlinks. Entries that fail (a symlink loop, a folder we may
    not read, something that is not a regular file) come back as `Problem`s."""
    files: list[Path] = []
    problems: list[Problem] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            problems.append(Problem(folder, f"cannot read folder: {reason(exc)}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(Path(entry.path))
                continue
            if not keep(entry.name):
                continue
            try:
                info = os.stat(entry.path)
            except OSError as exc:
                why = "symbolic link loop" if exc.errno == errno.ELOOP else reason(exc)
                problems.append(Problem(Path(entry.path), why))
                continue
            if stat.S_ISDIR(info.st_mode):
                continue  # a symlink to a folder: not followed
            if not stat.S_ISREG(info.st_mode):
                problems.append(Problem(Path(entry.path), "not a regular file"))
                continue
            files.append(Path(entry.path))
        stack.extend(sorted(subfolders, reverse=True))
    return files, problems


def iter_chunks(fh: BinaryIO, size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Up to `size` bytes of `fh` in chunks (never one allocation of an untrusted size)."""
    left = size
    while left > 0:
        block = fh.read(min(chunk, left))
        if not block:
            return
        left -= len(block)
        yield block
