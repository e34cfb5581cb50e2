"""Importing a musician's folder of MIDI songs into state matrices (the tutorial's SongImporter).

Every file gets a `FileResult`: either loaded (with the facts a musician wants to see: length,
notes, tempo, metre, how many notes had to be folded or dropped) or skipped with a one-line reason.
One bad file never stops an import.

Speed: results are cached on disk (`import_cache`: content-hashed song entries plus a per-folder
manifest trusted by file stat), so reopening a folder is near-instant. Songs are encoded with
vectorised numpy (`grid_events`, exactly `encoding.encode`). Cache misses are parsed here while,
when there are enough of them to pay for it, a "spawn" process pool (safe from a GUI process and
a frozen app: no fork of a threaded process) takes files from the other end of the list.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..music.encoding import DEFAULT_ENCODING, Encoding, StateMatrix
from ..music.grid_events import events_from_matrix, events_valid, matrix_arrays, place_notes
from ..music.midi import MAX_FILE_BYTES, MAX_STEPS, MidiImportError, read_midi, read_midi_bytes
from ..music.song import Song
from ..platform.files import NotRegularFileError, open_regular, walk_files
from . import import_cache

log = logging.getLogger(__name__)

MIDI_SUFFIXES = frozenset({".mid", ".midi"})
# A process pool is started only for at least this many uncached files, after timing the first
# PROBE_FILES in this thread shows that parsing the rest here would take over POOL_PAYS_OFF_S:
# starting "spawn" interpreters costs about half a second each on a busy machine.
MIN_FILES_FOR_POOL = 8
PROBE_FILES = 3
POOL_PAYS_OFF_S = 1.5
WORKERS_PER_CPU = 4  # the cap on `workers` (see `max_workers`)
# Bytes of files read in the cache pass that are kept to be parsed without reading them again.
KEEP_READ_BYTES = 64 * 2**20

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
    """`(files, missing)` of `find_midi_files` (entries that cannot be read are left out)."""
    files, missing, _problems = find_midi_files(paths_)
    return files, missing


def find_midi_files(
    paths_: Path | str | Sequence[Path | str],
) -> tuple[list[Path], list[Path], list[FileResult]]:
    """Expand folders (`.mid`/`.midi` in any case; hidden files and folders skipped) with an
    iterative walk that does not follow folder symlinks, and keep explicitly named files
    whatever their suffix. Returns `(files, missing, problems)`: files de-duplicated in a stable
    order (each argument's files sorted by path), and a skipped result with a reason for each
    entry that cannot be read (a symlink loop, a folder we may not open, a FIFO)."""
    if isinstance(paths_, (str, os.PathLike)):
        paths_ = [paths_]
    files: list[Path] = []
    missing: list[Path] = []
    problems: list[FileResult] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        try:
            key = Path(os.path.realpath(p))
        except (OSError, RuntimeError, ValueError):
            key = Path(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in paths_:
        path = Path(raw)
        if path.is_dir():
            found, trouble = walk_files(path, lambda n: Path(n).suffix.lower() in MIDI_SUFFIXES)
            problems.extend(FileResult(t.path, ok=False, reason=t.reason) for t in trouble)
            for p in sorted(found, key=lambda p: str(p).lower()):
                add(p)
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            missing.append(path)
    return files, missing, problems


# ---------------------------------------------------------------------------------------------
# Results to and from the cache


def _song_meta(result: FileResult, encoding: Encoding) -> dict:
    matrix = result.matrix
    assert matrix is not None
    return {
        "encoding": encoding.to_dict(),
        "keep_drums": result.keep_drums,
        "steps": result.steps,
        "notes": result.notes,
        "folded": result.folded,
        "dropped": result.dropped,
        "bpm": result.bpm,
        "time_signature": list(matrix.time_signature),
        "seconds": result.seconds,
        "bars": result.bars,
        "title": result.title,
    }


def _result_from_cache(
    path: Path, events: np.ndarray, meta: dict, enc: Encoding
) -> FileResult | None:
    """Rebuild a loaded result from cached events and facts; None if anything does not fit."""
    try:
        if meta["encoding"] != enc.to_dict():
            return None
        steps = int(meta["steps"])
        if not 1 <= steps <= MAX_STEPS or not events_valid(events, steps, enc):
            return None
        num, den = (int(x) for x in meta["time_signature"])
        data, velocities = matrix_arrays(events, steps, enc)
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
    except (KeyError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Importing one file


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, or `MidiImportError` with a reason a musician understands."""
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise MidiImportError(
                    f"file too large ({size / 2**20:.1f} MiB; "
                    f"the limit is {MAX_FILE_BYTES // 2**20} MiB)"
                )
            return fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MidiImportError("file not found") from None
    except IsADirectoryError:
        raise MidiImportError("not a file") from None
    except PermissionError:
        raise MidiImportError("permission denied") from None
    except NotRegularFileError:
        raise MidiImportError("not a regular file") from None  # a FIFO would block forever
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MidiImportError("symbolic link loop") from None
        raise MidiImportError(f"cannot read file: {exc.strerror or exc}") from None


def _parse_and_encode(
    path: Path,
    content: bytes,
    key: str | None,
    enc: Encoding,
    keep_drums: bool,
    events_out: dict[Path, np.ndarray] | None = None,
) -> FileResult:
    """Parse, check and encode one file's bytes; store the result under `key` when given and
    the song's grid events in `events_out` (for the folder manifest)."""

    def skipped(reason: str) -> FileResult:
        return FileResult(path, ok=False, reason=reason, keep_drums=keep_drums)

    try:
        song = read_midi_bytes(content, name=path.name, keep_drums=keep_drums)
    except MidiImportError as exc:
        return skipped(str(exc))
    except Exception as exc:  # a parser bug must not end the whole import
        log.warning("import: unexpected error reading %s", path, exc_info=True)
        return skipped(f"unexpected error: {type(exc).__name__}: {exc}"[:300])
    if not song.notes:
        return skipped("no notes")
    grid = place_notes(song, enc)
    if grid.steps > MAX_STEPS:
        return skipped(f"song too long ({grid.steps:,} steps; the limit is {MAX_STEPS:,})")
    if grid.dropped == len(song.notes):
        return skipped(
            f"all {len(song.notes)} notes are outside the pitch range {enc.low}..{enc.high}"
        )
    result = _loaded_result(path, song, grid, enc, keep_drums)
    if key is not None:
        import_cache.store_song(key, grid.events, _song_meta(result, enc))
    if events_out is not None:
        events_out[path] = grid.events
    return result


def _loaded_result(path: Path, song: Song, grid, enc: Encoding, keep_drums: bool) -> FileResult:
    """A loaded file's result: its state matrix and the facts the import summary shows."""
    data, velocities = matrix_arrays(grid.events, grid.steps, enc)
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
    return FileResult(
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


def _import_file(path: Path, enc: Encoding, keep_drums: bool, use_cache: bool) -> FileResult:
    """Read and parse one file whose cache lookup already missed (the result is then cached)."""
    try:
        content = _read_bytes(path)
    except MidiImportError as exc:
        return FileResult(path, ok=False, reason=str(exc), keep_drums=keep_drums)
    key = import_cache.content_key(content, enc, keep_drums) if use_cache else None
    return _parse_and_encode(path, content, key, enc, keep_drums)


def _pool_worker(
    path: str, enc: dict, keep_drums: bool, use_cache: bool
) -> FileResult:  # pragma: no cover - runs in a child process
    """Top-level (picklable) entry point for pool processes; the cache was already checked."""
    return _import_file(Path(path), Encoding.from_dict(enc), keep_drums, use_cache)


# ---------------------------------------------------------------------------------------------
# Importing many files


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def max_workers() -> int:
    """The most worker processes an import may ask for. Parsing is CPU work, so processes beyond
    the CPUs only wait their turn while each costs an interpreter's memory and start-up; a few
    per CPU still help when files come slowly off a network or a spinning disk."""
    return WORKERS_PER_CPU * default_workers()


def worker_pool(pool_size: int) -> cf.ProcessPoolExecutor:
    """A "spawn" pool whose processes end when this one does, even when it is killed outright
    (a `kill -9` or a crash runs no clean-up, and idle workers would wait on their queue for
    ever)."""
    return cf.ProcessPoolExecutor(
        max_workers=pool_size,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
    )


def _exit_with_parent() -> None:  # pragma: no cover - runs in a child process
    """Pool initializer: a thread that waits on the parent's sentinel (a pipe end its parent
    holds open on POSIX, the parent's process handle on Windows: ready once the parent is gone,
    however it died) and then ends this worker."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        try:
            multiprocessing.connection.wait([sentinel])
        except (OSError, ValueError):
            return  # nothing to watch: the worker lives as pools always did
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def import_folder(
    paths: Path | str | Sequence[Path | str],
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
    inputs = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    files, missing, problems = find_midi_files(inputs)
    run = _ImportRun(
        encoding,
        keep_drums,
        use_cache,
        total=len(files) + len(missing) + len(problems),
        progress=progress,
        cancel=cancel,
    )
    for path in missing:
        run.finished(FileResult(path, ok=False, reason="file not found", keep_drums=keep_drums))
    for problem in problems:
        problem.keep_drums = keep_drums
        run.finished(problem)

    manifest_key = import_cache.manifest_key(inputs, encoding, keep_drums) if use_cache else ""
    manifest = import_cache.load_manifest(manifest_key) if use_cache else {}
    misses = run.known_files(files, manifest)
    if not run.cancelled() and misses:
        run.parse(misses, workers)

    report = DatasetReport(encoding=encoding, keep_drums=keep_drums)
    order = missing + [p.path for p in problems] + files
    report.results = [run.results[p] for p in order if p in run.results]
    report.cancelled = run.cancelled() and len(report.results) < len(order)
    if use_cache and not report.cancelled:
        _update_manifest(
            manifest_key, manifest, report, run.stats, run.from_manifest, run.events_of
        )
    report.elapsed = time.monotonic() - started
    skipped = len(report.results) - len(report.loaded)
    log.info(
        "import: %d songs, %d skipped%s",
        len(report.loaded),
        skipped,
        report.cancelled * " (cancelled)",
    )
    return report


@dataclass
class _ImportRun:
    """One `import_folder` call: its results so far, progress and cancellation, and what the
    cache pass learns for the folder manifest."""

    encoding: Encoding
    keep_drums: bool
    use_cache: bool
    total: int
    progress: ProgressCallback | None
    cancel: threading.Event | None
    done: int = 0
    results: dict[Path, FileResult] = field(default_factory=dict)
    stats: dict[Path, import_cache.StatSignature] = field(default_factory=dict)  # before reading
    from_manifest: set[Path] = field(default_factory=set)
    events_of: dict[Path, np.ndarray] = field(default_factory=dict)  # grid events, for the manifest
    kept: dict[Path, tuple[bytes, str]] = field(default_factory=dict)  # misses' bytes and keys

    def finished(self, result: FileResult) -> None:
        self.results[result.path] = result
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, result.path)

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def known_files(self, files: list[Path], manifest: dict) -> list[Path]:
        """Pass 1, in this thread: files unchanged since the last import of these inputs, song
        cache hits and unreadable files are all quick. Returns the files left to parse (keeping
        the bytes of the first few, so they are not read twice)."""
        misses: list[Path] = []
        kept_bytes = 0
        for path in files:
            if self.cancelled():
                break
            if not self.use_cache:
                misses.append(path)
                continue
            if self._from_manifest(path, manifest):
                continue
            try:
                content = _read_bytes(path)
            except MidiImportError as exc:
                self.finished(
                    FileResult(path, ok=False, reason=str(exc), keep_drums=self.keep_drums)
                )
                continue
            key = import_cache.content_key(content, self.encoding, self.keep_drums)
            found = import_cache.load_song(key)
            hit = _result_from_cache(path, *found, self.encoding) if found is not None else None
            if hit is None:
                misses.append(path)
                if kept_bytes + len(content) <= KEEP_READ_BYTES:
                    self.kept[path] = (content, key)
                    kept_bytes += len(content)
            else:
                self.events_of[path] = found[0]
                self.finished(hit)
        return misses

    def _from_manifest(self, path: Path, manifest: dict) -> bool:
        """Whether the folder manifest knew `path` unchanged (its stat taken now, for the next)."""
        with contextlib.suppress(OSError):
            self.stats[path] = import_cache.stat_signature(os.stat(path))
        record = manifest.get(os.path.abspath(path))
        if record is None or self.stats.get(path) != record.stat:
            return False
        hit = _result_from_cache(path, record.events, record.meta, self.encoding)
        if hit is None:
            return False
        self.from_manifest.add(path)
        self.finished(hit)
        return True

    def parse(self, misses: list[Path], workers: int | None) -> None:
        """Pass 2: parse the rest here; hand the remainder to a process pool once the files
        parsed so far project enough remaining work to pay for starting interpreters."""
        auto = workers is None
        n_workers = default_workers() if auto else min(max(int(workers), 1), max_workers())
        t0 = time.monotonic()
        enc, keep_drums = self.encoding, self.keep_drums
        for i, path in enumerate(misses):
            if self.cancelled():
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
                self.kept.clear()
                _parse_with_pool(
                    misses[i:],
                    enc,
                    keep_drums,
                    self.use_cache,
                    pool_size,
                    self.finished,
                    self.cancelled,
                )
                break
            if path in self.kept:
                content, key = self.kept.pop(path)
                self.finished(
                    _parse_and_encode(path, content, key, enc, keep_drums, self.events_of)
                )
            else:
                self.finished(_import_file(path, enc, keep_drums, self.use_cache))


def _update_manifest(
    key: str,
    old: dict[str, import_cache.ManifestSong],
    report: DatasetReport,
    stats: dict[Path, import_cache.StatSignature],
    from_manifest: set[Path],
    events_of: dict[Path, np.ndarray],
) -> None:
    """Record this import's loaded songs for the next reopen, unless nothing changed. A file
    whose stat changed while it was being imported is left out (it is re-checked next time)."""
    loaded = [r for r in report.loaded if r.path in stats and r.matrix is not None]
    if {os.path.abspath(r.path) for r in loaded} == set(old) and all(
        r.path in from_manifest for r in loaded
    ):
        return
    songs: dict[str, import_cache.ManifestSong] = {}
    enc = report.encoding
    for r in loaded:
        absolute = os.path.abspath(r.path)
        if r.path in from_manifest:
            songs[absolute] = old[absolute]
            continue
        try:
            if import_cache.stat_signature(os.stat(r.path)) != stats[r.path]:
                continue
        except OSError:
            continue
        events = events_of.get(r.path)
        if events is None:  # parsed in a worker process
            events = events_from_matrix(r.matrix.data, r.matrix.velocities, enc.span)
        songs[absolute] = import_cache.ManifestSong(stats[r.path], _song_meta(r, enc), events)
    import_cache.store_manifest(key, songs)


def _parse_with_pool(
    misses: list[Path],
    enc: Encoding,
    keep_drums: bool,
    use_cache: bool,
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
    executor = worker_pool(pool_size)
    arrived: deque[tuple[int, cf.Future]] = deque()  # appended by the executor's thread
    wake = threading.Event()

    def on_done(i: int, future: cf.Future) -> None:
        arrived.append((i, future))
        wake.set()

    def settle_here(i: int) -> None:
        settled[i] = True
        finished(_import_file(misses[i], enc, keep_drums, use_cache))

    settled = [False] * len(misses)
    try:
        futures = []
        for i, path in enumerate(misses):
            future = executor.submit(_pool_worker, str(path), enc.to_dict(), keep_drums, use_cache)
            future.add_done_callback(lambda f, i=i: on_done(i, f))
            futures.append(future)
        left = len(misses)
        tail = len(misses) - 1
        while left:
            if cancelled():
                return
            wake.clear()
            left -= _take_arrived(arrived, settled, misses, finished, cancelled, settle_here)
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


def _take_arrived(
    arrived: deque[tuple[int, cf.Future]],
    settled: list[bool],
    misses: list[Path],
    finished: Callable[[FileResult], None],
    cancelled: Callable[[], bool],
    settle_here: Callable[[int], None],
) -> int:
    """Settle the files whose worker has answered (parsing here those whose worker failed);
    how many were settled."""
    taken = 0
    while arrived and not cancelled():
        i, future = arrived.popleft()
        if settled[i] or future.cancelled():
            continue
        taken += 1
        if future.exception() is not None:
            settle_here(i)
            continue
        result = future.result()
        result.path = misses[i]  # keep the caller's spelling of the path
        settled[i] = True
        finished(result)
    return taken


def song_for(result: FileResult) -> Song:
    """The original song of an imported file, with real timing and velocities (for the piano
    roll). Raises `MidiImportError` when the file has since gone or changed into garbage."""
    return read_midi(result.path, keep_drums=result.keep_drums)
