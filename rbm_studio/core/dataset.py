"""Importing a musician's folder of MIDI songs into state matrices (the tutorial's SongImporter).

Every file gets a `FileResult`: either loaded (with the facts a musician wants to see: length,
notes, tempo, metre, how many notes had to be folded or dropped) or skipped with a one-line reason.
One bad file never stops an import.

Speed: encoded songs are cached on disk (`paths.cache_dir()/songs-v<N>/`), keyed by a blake2b hash
of the file's bytes plus everything that changes the result (encoding, keep_drums, cache format,
app version). We always hash the content rather than trusting (mtime, size): it is cheap next to
parsing and makes a renamed, copied or touched file still hit and an edited one never go stale.
A cache entry is an `.npz` (loaded with `allow_pickle=False`) holding the notes as grid events plus
a small JSON blob; the matrix is built from the events with a few vectorised numpy calls, both
after parsing and from the cache (exactly what `encoding.encode` gives, only faster).
Cache misses are parsed in parallel: the calling thread works on files itself while a "spawn"
process pool (safe from a GUI process and a frozen app, no fork of a threaded process) takes the
others; for a handful of files no pool is started at all.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from . import paths
from .encoding import DEFAULT_ENCODING, Encoding, StateMatrix
from .midi import MAX_FILE_BYTES, MAX_STEPS, MidiImportError, read_midi, read_midi_bytes
from .song import Song

CACHE_FORMAT_VERSION = 1
MIDI_SUFFIXES = frozenset({".mid", ".midi"})
# A process pool is started only for at least this many uncached files, after timing the first
# PROBE_FILES in this thread shows that parsing the rest here would take over POOL_PAYS_OFF_S:
# starting "spawn" interpreters costs about half a second each on a busy machine.
MIN_FILES_FOR_POOL = 8
PROBE_FILES = 3
POOL_PAYS_OFF_S = 1.5

ProgressCallback = Callable[[int, int, Path], None]


@dataclass(slots=True)
class FileResult:
    """The outcome of importing one file; `matrix` is set only when `ok`."""

    path: Path
    ok: bool
    reason: str = ""
    steps: int = 0
    notes: int = 0
    folded: int = 0
    dropped: int = 0
    bpm: float = 0.0
    time_signature: str = ""
    seconds: float = 0.0
    bars: float = 0.0
    matrix: StateMatrix | None = None
    title: str = ""
    keep_drums: bool = False
    cached: bool = False


@dataclass(slots=True)
class DatasetReport:
    """All files of one import, in path order. `cancelled` means `results` is incomplete."""

    results: list[FileResult] = field(default_factory=list)
    encoding: Encoding = DEFAULT_ENCODING
    keep_drums: bool = False
    cancelled: bool = False
    elapsed: float = 0.0

    @property
    def loaded(self) -> list[FileResult]:
        return [r for r in self.results if r.ok]

    @property
    def skipped(self) -> list[FileResult]:
        return [r for r in self.results if not r.ok]

    @property
    def matrices(self) -> list[StateMatrix]:
        return [r.matrix for r in self.results if r.ok and r.matrix is not None]

    @property
    def cache_hits(self) -> int:
        return sum(1 for r in self.results if r.cached)

    @property
    def total_steps(self) -> int:
        return sum(r.steps for r in self.results if r.ok)

    @property
    def total_notes(self) -> int:
        return sum(r.notes for r in self.results if r.ok)

    def summary(self) -> dict:
        """A JSON-safe description of the data set (stored in a model file's metadata)."""
        return {
            "files": len(self.results),
            "loaded": len(self.loaded),
            "skipped": len(self.skipped),
            "steps": self.total_steps,
            "notes": self.total_notes,
            "encoding": self.encoding.to_dict(),
            "keep_drums": self.keep_drums,
            "songs": [str(r.path) for r in self.loaded],
        }


# ---------------------------------------------------------------------------------------------
# Finding files


def collect_midi_files(paths_: Path | str | Sequence[Path | str]) -> tuple[list[Path], list[Path]]:
    """Expand folders (recursively; `.mid`/`.midi` in any case; hidden files and folders skipped)
    and keep explicitly named files whatever their suffix. Returns `(files, missing)`, files
    de-duplicated in a stable order: each argument's files sorted by path."""
    if isinstance(paths_, (str, os.PathLike)):
        paths_ = [paths_]
    files: list[Path] = []
    missing: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in paths_:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.extend(
                    Path(root, n)
                    for n in names
                    if not n.startswith(".") and Path(n).suffix.lower() in MIDI_SUFFIXES
                )
            for p in sorted(found, key=lambda p: str(p).lower()):
                add(p)
        elif path.exists():
            add(path)
        else:
            missing.append(path)
    return files, missing


# ---------------------------------------------------------------------------------------------
# Cache


def _cache_root() -> Path:
    return paths.cache_dir() / f"songs-v{CACHE_FORMAT_VERSION}"


def cache_key(content: bytes, encoding: Encoding, keep_drums: bool) -> str:
    """Hex key of a file's encoded form: its bytes plus every setting that changes the result."""
    h = hashlib.blake2b(digest_size=20)
    h.update(
        json.dumps(
            {
                "format": CACHE_FORMAT_VERSION,
                "app": __version__,
                "encoding": encoding.to_dict(),
                "keep_drums": bool(keep_drums),
            },
            sort_keys=True,
        ).encode()
    )
    h.update(b"\0")
    h.update(content)
    return h.hexdigest()


def _entry_path(root: Path, key: str) -> Path:
    return root / key[:2] / f"{key}.npz"


@dataclass(frozen=True, slots=True)
class _GridNotes:
    """A song's notes placed on the grid: `events` int32[n, 4] rows (on, off, column, velocity)
    for the notes kept, plus what `encode` reports: total steps and folded / dropped counts."""

    events: np.ndarray
    steps: int
    folded: int
    dropped: int


def _grid_notes(song: Song, enc: Encoding) -> _GridNotes:
    """Vectorised equivalent of `encoding.encode`'s note placement (same rounding, minimum length
    of one step, octave folding, velocity clamp); tests check the two agree exactly."""
    n = len(song.notes)
    table = np.fromiter(
        (v for note in song.notes for v in (note.start, note.end, note.pitch, note.velocity)),
        dtype=np.float64,
        count=4 * n,
    ).reshape(n, 4)
    spb = enc.steps_per_beat
    on = np.round(table[:, 0] * spb).astype(np.int64)
    off = np.maximum(np.round(table[:, 1] * spb).astype(np.int64), on + 1)
    pitch = table[:, 2].astype(np.int64)
    outside = (pitch < enc.low) | (pitch > enc.high)
    if enc.out_of_range == "drop":
        keep = ~outside
        folded = 0
    else:
        keep = np.ones(n, dtype=bool)
        up = -((pitch - enc.low) // 12)  # octaves needed to reach `low` (ceil division)
        down = -((enc.high - pitch) // 12)
        pitch = np.where(pitch < enc.low, pitch + 12 * up, pitch)
        pitch = np.where(pitch > enc.high, pitch - 12 * down, pitch)
        folded = int(outside.sum())
    velocity = np.clip(table[:, 3].astype(np.int64), 1, 127)
    events = np.stack([on, off, pitch - enc.low, velocity], axis=1)[keep].astype(np.int32)
    return _GridNotes(
        events=events,
        steps=int(off.max()) if n else 0,
        folded=folded,
        dropped=int(n - keep.sum()),
    )


def _matrix_arrays(events: np.ndarray, steps: int, enc: Encoding) -> tuple[np.ndarray, np.ndarray]:
    """State matrix data and velocities from grid events (the inverse of `_note_events`)."""
    span = enc.span
    on, off, col, vel = (events[:, i] for i in range(4))
    edges = np.zeros((steps + 1, span), dtype=np.int32)
    np.add.at(edges, (on, col), 1)
    np.add.at(edges, (off, col), -1)
    data = np.zeros((steps, 2 * span), dtype=np.uint8)
    data[:, :span] = np.cumsum(edges[:steps], axis=0) > 0
    data[on, span + col] = 1
    velocities = np.zeros((steps, span), dtype=np.uint8)
    np.maximum.at(velocities, (on, col), vel.astype(np.uint8))
    return data, velocities


def _store_entry(root: Path, key: str, events: np.ndarray, meta: dict) -> None:
    """Write one cache entry atomically; a cache that cannot be written is simply not used."""
    target = _entry_path(root, key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    events=events,
                    meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                )
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _load_entry(root: Path, key: str, path: Path, enc: Encoding) -> FileResult | None:
    """The cached result for `key`, or None when absent or unreadable in any way (then the file
    is parsed again and the entry rewritten)."""
    entry = _entry_path(root, key)
    try:
        with np.load(entry, allow_pickle=False) as npz:
            events = np.asarray(npz["events"], dtype=np.int32)
            meta = json.loads(npz["meta"].tobytes().decode())
        if meta.get("key") != key or Encoding.from_dict(meta["encoding"]) != enc:
            return None
        steps = int(meta["steps"])
        if events.ndim != 2 or events.shape[1] != 4 or steps < 1:
            return None
        if len(events) and (
            events[:, 0].min() < 0
            or (events[:, 1] <= events[:, 0]).any()
            or events[:, 1].max() > steps
            or events[:, 2].min() < 0
            or events[:, 2].max() >= enc.span
        ):
            return None
        data, velocities = _matrix_arrays(events, steps, enc)
        num, den = (int(x) for x in meta["time_signature"])
        matrix = StateMatrix(
            data=data,
            encoding=enc,
            bpm=float(meta["bpm"]),
            velocities=velocities,
            time_signature=(num, den),
            folded=int(meta["folded"]),
            dropped=int(meta["dropped"]),
            title=str(meta["title"]),
        )
        return FileResult(
            path=path,
            ok=True,
            steps=steps,
            notes=int(meta["notes"]),
            folded=matrix.folded,
            dropped=matrix.dropped,
            bpm=matrix.bpm,
            time_signature=f"{num}/{den}",
            seconds=float(meta["seconds"]),
            bars=float(meta["bars"]),
            matrix=matrix,
            title=matrix.title,
            keep_drums=bool(meta["keep_drums"]),
            cached=True,
        )
    except FileNotFoundError:
        return None
    except Exception:  # any corruption: truncated zip, bad JSON, wrong types, ...
        return None


# ---------------------------------------------------------------------------------------------
# Importing one file


def _read_bytes(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise MidiImportError("not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MidiImportError(
                f"file too large ({size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB)"
            )
        with path.open("rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MidiImportError("file not found") from None
    except PermissionError:
        raise MidiImportError("permission denied") from None
    except OSError as exc:
        raise MidiImportError(f"cannot read file: {exc.strerror or exc}") from None


def _parse_and_encode(
    path: Path, content: bytes, key: str, enc: Encoding, keep_drums: bool, root: Path | None
) -> FileResult:
    """Parse, check and encode one file's bytes; store the result in the cache when `root`."""
    try:
        song = read_midi_bytes(content, name=path.name, keep_drums=keep_drums)
    except MidiImportError as exc:
        return FileResult(path, ok=False, reason=str(exc), keep_drums=keep_drums)
    except Exception as exc:  # a parser bug must not end the whole import
        return FileResult(
            path, ok=False, reason=f"unexpected error: {type(exc).__name__}: {exc}"[:300]
        )
    song.source = path
    if not song.notes:
        return FileResult(path, ok=False, reason="no notes", keep_drums=keep_drums)
    grid = _grid_notes(song, enc)
    if grid.steps > MAX_STEPS:
        return FileResult(
            path,
            ok=False,
            reason=f"song too long ({grid.steps:,} steps; the limit is {MAX_STEPS:,})",
            keep_drums=keep_drums,
        )
    if grid.dropped == len(song.notes):
        return FileResult(
            path,
            ok=False,
            reason=f"all {len(song.notes)} notes are outside the pitch range {enc.low}..{enc.high}",
            keep_drums=keep_drums,
        )
    data, velocities = _matrix_arrays(grid.events, grid.steps, enc)
    sig = song.first_time_signature
    matrix = StateMatrix(
        data=data,
        encoding=enc,
        bpm=song.first_bpm,
        velocities=velocities,
        time_signature=(sig.numerator, sig.denominator),
        folded=grid.folded,
        dropped=grid.dropped,
        title=song.title,
    )
    result = FileResult(
        path=path,
        ok=True,
        steps=matrix.steps,
        notes=len(song.notes),
        folded=matrix.folded,
        dropped=matrix.dropped,
        bpm=matrix.bpm,
        time_signature=f"{sig.numerator}/{sig.denominator}",
        seconds=song.duration_seconds,
        bars=song.bars(),
        matrix=matrix,
        title=song.title,
        keep_drums=keep_drums,
    )
    if root is not None:
        meta = {
            "key": key,
            "encoding": enc.to_dict(),
            "keep_drums": keep_drums,
            "steps": result.steps,
            "notes": result.notes,
            "folded": result.folded,
            "dropped": result.dropped,
            "bpm": result.bpm,
            "time_signature": [sig.numerator, sig.denominator],
            "seconds": result.seconds,
            "bars": result.bars,
            "title": result.title,
        }
        _store_entry(root, key, grid.events, meta)
    return result


def _import_file(
    path: Path, enc: Encoding, keep_drums: bool, root: Path | None, *, lookup: bool = True
) -> FileResult:
    """Read one file, answer from the cache when possible, otherwise parse it."""
    try:
        content = _read_bytes(path)
    except MidiImportError as exc:
        return FileResult(path, ok=False, reason=str(exc), keep_drums=keep_drums)
    key = cache_key(content, enc, keep_drums)
    if root is not None and lookup:
        hit = _load_entry(root, key, path, enc)
        if hit is not None:
            return hit
    return _parse_and_encode(path, content, key, enc, keep_drums, root)


def _pool_worker(
    path: str, enc: dict, keep_drums: bool, root: str | None
) -> FileResult:  # pragma: no cover - runs in a child process
    """Top-level (picklable) entry point for pool processes; the cache was already checked."""
    return _import_file(
        Path(path),
        Encoding.from_dict(enc),
        keep_drums,
        Path(root) if root else None,
        lookup=False,
    )


# ---------------------------------------------------------------------------------------------
# Importing many files


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def import_folder(
    paths_: Path | str | Sequence[Path | str],
    encoding: Encoding = DEFAULT_ENCODING,
    *,
    keep_drums: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    use_cache: bool = True,
    workers: int | None = None,
) -> DatasetReport:
    """Import a folder (recursively) or a list of files and folders.

    `progress(done, total, path)` is called from the calling thread after each file. Setting
    `cancel` stops the import soon after (files in flight are abandoned) and returns the report
    so far with `cancelled=True`. `workers=None` uses all CPUs but starts worker processes only
    when the work is big enough to pay for them; an explicit `workers=N` (N > 1) always uses this
    thread plus N-1 processes; `workers=1` stays in this process.
    """
    started = time.monotonic()
    files, missing = collect_midi_files(paths_)
    total = len(files) + len(missing)
    report = DatasetReport(encoding=encoding, keep_drums=keep_drums)
    results: dict[Path, FileResult] = {}
    root = _cache_root() if use_cache else None
    done = 0

    def finished(result: FileResult) -> None:
        nonlocal done
        results[result.path] = result
        done += 1
        if progress is not None:
            progress(done, total, result.path)

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    for path in missing:
        finished(FileResult(path, ok=False, reason="file not found", keep_drums=keep_drums))

    # Pass 1, in this thread: cache hits and unreadable files are quick.
    misses: list[Path] = []
    for path in files:
        if cancelled():
            break
        if root is None:
            misses.append(path)
            continue
        result = _probe(path, encoding, keep_drums, root)
        if result is None:
            misses.append(path)
        else:
            finished(result)

    # Pass 2: parse the rest here; hand the remainder to a process pool once the files parsed
    # so far project enough remaining work to pay for starting interpreters.
    if not cancelled() and misses:
        auto = workers is None
        n_workers = default_workers() if auto else max(int(workers), 1)
        t0 = time.monotonic()
        for i, path in enumerate(misses):
            if cancelled():
                break
            remaining = len(misses) - i
            pool_size = min(n_workers - 1, remaining - 1)
            if pool_size >= 1 and (
                not auto
                or (
                    i >= PROBE_FILES
                    and remaining >= MIN_FILES_FOR_POOL
                    and (time.monotonic() - t0) / i * remaining > POOL_PAYS_OFF_S
                )
            ):
                _parse_with_pool(
                    misses[i:], encoding, keep_drums, root, pool_size, finished, cancelled
                )
                break
            finished(_import_file(path, encoding, keep_drums, root, lookup=False))

    order = missing + files
    report.results = [results[p] for p in order if p in results]
    report.cancelled = cancelled() and len(report.results) < len(order)
    report.elapsed = time.monotonic() - started
    return report


def _probe(path: Path, enc: Encoding, keep_drums: bool, root: Path) -> FileResult | None:
    """A final result for `path` from the cache or a read error, else None (must be parsed)."""
    try:
        content = _read_bytes(path)
    except MidiImportError as exc:
        return FileResult(path, ok=False, reason=str(exc), keep_drums=keep_drums)
    return _load_entry(root, cache_key(content, enc, keep_drums), path, enc)


def _parse_with_pool(
    misses: list[Path],
    enc: Encoding,
    keep_drums: bool,
    root: Path | None,
    pool_size: int,
    finished: Callable[[FileResult], None],
    cancelled: Callable[[], bool],
    *,
    help_here: bool = True,
) -> None:
    """Pool processes take files from the front of the list while this thread (`help_here`)
    takes them from the back. When this thread reaches files the pool already holds, it parses
    them too and the first answer wins, so nothing waits on a slow-starting worker process.
    A file whose worker failed (e.g. the process was killed) is parsed here."""
    executor = cf.ProcessPoolExecutor(
        max_workers=pool_size, mp_context=multiprocessing.get_context("spawn")
    )
    arrived: deque[tuple[int, cf.Future]] = deque()  # appended by the executor's thread
    wake = threading.Event()

    def on_done(i: int, future: cf.Future) -> None:
        arrived.append((i, future))
        wake.set()

    def settle_here(i: int) -> None:
        settled[i] = True
        finished(_import_file(misses[i], enc, keep_drums, root, lookup=False))

    settled = [False] * len(misses)
    try:
        futures = []
        for i, path in enumerate(misses):
            future = executor.submit(
                _pool_worker, str(path), enc.to_dict(), keep_drums, str(root) if root else None
            )
            future.add_done_callback(lambda f, i=i: on_done(i, f))
            futures.append(future)
        left = len(misses)
        tail = len(misses) - 1
        while left:
            if cancelled():
                return
            wake.clear()
            while arrived:
                i, future = arrived.popleft()
                if settled[i] or future.cancelled():
                    continue
                left -= 1
                if future.exception() is not None:
                    settle_here(i)
                    continue
                result = future.result()
                result.path = misses[i]  # keep the caller's spelling of the path
                settled[i] = True
                finished(result)
            while tail >= 0 and settled[tail]:
                tail -= 1
            if help_here and tail >= 0:
                futures[tail].cancel()
                settle_here(tail)
                left -= 1
                tail -= 1
            elif left:
                wake.wait(0.1)
    finally:
        # Never wait for workers to exit: that would add their start-up time to a job this
        # thread may already have finished alone.
        executor.shutdown(wait=False, cancel_futures=True)


def song_for(result: FileResult) -> Song:
    """The original song of an imported file, with real timing and velocities (for the piano
    roll). Raises `MidiImportError` when the file has since gone or changed into garbage."""
    return read_midi(result.path, keep_drums=result.keep_drums)
