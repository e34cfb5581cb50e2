"""A packed corpus: every song's state matrix bit-packed in one file, read through a memory map, so
a library of 100,000 songs trains without holding its songs in RAM.

`import_corpus` streams a folder into the file (one song in memory at a time per worker) and
writes it atomically; `Corpus` opens it lazily (a `Sequence[StateMatrix]`: songs are unpacked on
demand) and `WindowSet` gives a trainer any mini-batch of windows by index, from a corpus or from
songs in memory alike.

File layout (little-endian): `MAGIC`, zero padding to `ROWS_AT`, the packed rows
(`np.packbits` of each state-matrix row, `row_bytes` each, songs one after another), a JSON index
(encoding, row offsets, steps, tempo, metre, titles, paths, skipped files), then a trailer: index
offset and length (two uint64) and `END_MAGIC`.

The loader is plain `numpy.memmap` fancy indexing plus one prefetch thread in the trainer: a batch
is a gather of rows the OS pages in, which needs no pipeline library (grain's record formats and
worker processes would add a second copy of the data and a dependency for the same gather).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..music.encoding import DEFAULT_ENCODING, Encoding, StateMatrix, encoding_problem
from ..music.midi import MAX_NOTES, MAX_STEPS
from ..music.song import MAX_STORED_TITLE, metre_problem, tempo_problem
from ..music.windows import model_encoding, model_rows, row_width, transpose_rows
from ..platform import files
from .dataset import (
    MIN_FILES_FOR_POOL,
    POOL_PAYS_OFF_S,
    PROBE_FILES,
    FileResult,
    _import_file,
    _pool_worker,
    default_workers,
    find_midi_files,
    max_workers,
    worker_pool,
)

MAGIC = b"RBMCORP1"
END_MAGIC = b"RBMCEND1"
ROWS_AT = 64
FORMAT_VERSION = 1
SUFFIX = ".rbmc"
_TRAILER = struct.Struct("<QQ8s")
# Limits for an untrusted corpus. The index is JSON parsed whole, and a crafted one can cost many
# times its size in memory; this holds the facts of a few hundred thousand songs.
MAX_INDEX_BYTES = 32 * 2**20
MAX_PATH_CHARS = 32_767  # the longest path Windows allows; POSIX ones are shorter


class CorpusError(ValueError):
    """A corpus file that cannot be used (one line: what is wrong with which file)."""


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass
class CorpusReport:
    """What one `import_corpus` wrote."""

    path: Path
    songs: int = 0
    rows: int = 0
    notes: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    elapsed: float = 0.0
    bytes: int = 0


def _results(
    files_: list[Path], enc: Encoding, keep_drums: bool, workers: int | None
) -> Iterator[FileResult]:
    """Each file's result in path order, parsed here until a pool pays off (the rule of
    `import_folder`), then by worker processes with a bounded number of files in flight."""
    auto = workers is None
    n_workers = default_workers() if auto else min(max(int(workers), 1), max_workers())
    t0 = time.monotonic()
    for i, path in enumerate(files_):
        remaining = len(files_) - i
        pool_size = min(n_workers, remaining)
        if pool_size >= 2 and (
            not auto
            or (
                i >= PROBE_FILES
                and remaining >= MIN_FILES_FOR_POOL
                and (time.monotonic() - t0) / i * remaining > POOL_PAYS_OFF_S
            )
        ):
            yield from _pooled(files_[i:], enc, keep_drums, pool_size)
            return
        yield _import_file(path, enc, keep_drums, False)


def _pooled(
    files_: list[Path], enc: Encoding, keep_drums: bool, pool_size: int
) -> Iterator[FileResult]:
    executor = worker_pool(pool_size)
    in_flight: deque[tuple[Path, cf.Future]] = deque()
    todo = iter(files_)
    try:
        for path in todo:
            in_flight.append(
                (path, executor.submit(_pool_worker, str(path), enc.to_dict(), keep_drums, False))
            )
            if len(in_flight) < 4 * pool_size:
                continue
            yield _settle(*in_flight.popleft(), enc, keep_drums)
        while in_flight:
            yield _settle(*in_flight.popleft(), enc, keep_drums)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _settle(path: Path, future: cf.Future, enc: Encoding, keep_drums: bool) -> FileResult:
    """A worker's result; a file whose worker died is parsed here."""
    try:
        result = future.result()
    except Exception:
        return _import_file(path, enc, keep_drums, False)
    result.path = path
    return result


# The per-song lists of the index, in the order they are written.
_COLUMNS = ("offsets", "steps", "bpm", "sig", "titles", "paths", "notes")


def _song_problem(result: FileResult) -> str | None:
    """Why a loaded song's facts could not be stored (the reader's checks, applied before
    writing, so a corpus that writes always opens)."""
    m = result.matrix
    assert m is not None
    if not 1 <= m.steps <= MAX_STEPS:
        return f"song of {m.steps:,} steps (the limit is {MAX_STEPS:,})"
    return tempo_problem(float(m.bpm)) or metre_problem(*m.time_signature)


def import_corpus(
    paths: Sequence[Path | str],
    out: Path | str,
    encoding: Encoding = DEFAULT_ENCODING,
    *,
    keep_drums: bool = False,
    progress: Callable[[int, int, Path], None] | None = None,
    workers: int | None = None,
) -> CorpusReport:
    """Import MIDI folders/files into the packed corpus `out`, written through
    `platform.files.atomic_write` (a temp file beside it, renamed over it; never over a device,
    a FIFO or a folder, and temp files of an import that was killed are removed). Raises
    `CorpusError` when no song loads and `files.WriteError` when `out` cannot be written, both
    one line; an existing `out` is then left as it was."""
    started = time.monotonic()
    found, missing, problems = find_midi_files([Path(p) for p in paths])
    report = CorpusReport(Path(out), files=len(found) + len(missing) + len(problems))
    report.skipped = [(str(p), "file not found") for p in missing]
    report.skipped += [(str(p.path), p.reason) for p in problems]
    first = len(report.skipped)

    def write(fh: BinaryIO) -> None:
        fh.write(MAGIC.ljust(ROWS_AT, b"\0"))
        results = _results(found, encoding, keep_drums, workers)
        index, rows = _write_rows(fh, results, report, progress, first)
        if not index["offsets"]:
            raise CorpusError(f"no usable MIDI songs in {', '.join(str(p) for p in paths)}")
        _write_index(fh, index, rows, report, encoding, keep_drums, out)
        report.songs, report.rows = len(index["offsets"]), rows

    written = files.atomic_write(Path(out), write)
    report.bytes = written.stat().st_size
    report.elapsed = time.monotonic() - started
    return report


def _write_rows(
    fh: BinaryIO,
    results: Iterator[FileResult],
    report: CorpusReport,
    progress: Callable[[int, int, Path], None] | None,
    first: int,
) -> tuple[dict[str, list], int]:
    """Pack each usable song's rows into `fh` and its facts into the index (the others go to
    `report.skipped`); the index and the number of rows written."""
    index: dict[str, list] = {k: [] for k in _COLUMNS}
    rows = 0
    for done, result in enumerate(results, 1):
        if progress is not None:
            progress(done + first, report.files, result.path)
        if not result.ok or result.matrix is None:
            report.skipped.append((str(result.path), result.reason))
            continue
        problem = _song_problem(result)
        if problem:
            report.skipped.append((str(result.path), problem))
            continue
        m = result.matrix
        fh.write(np.packbits(m.data, axis=1).tobytes())
        index["offsets"].append(rows)
        index["steps"].append(m.steps)
        index["bpm"].append(float(m.bpm))
        index["sig"].append(list(m.time_signature))
        index["titles"].append(m.title[:MAX_STORED_TITLE])
        index["paths"].append(str(result.path)[:MAX_PATH_CHARS])
        index["notes"].append(min(int(result.notes), MAX_NOTES))
        rows += m.steps
        report.notes += result.notes
    return index, rows


def _write_index(
    fh: BinaryIO,
    index: dict[str, list],
    rows: int,
    report: CorpusReport,
    encoding: Encoding,
    keep_drums: bool,
    out: Path | str,
) -> None:
    """The JSON index after the rows, then the trailer that says where it starts."""
    row_bytes = (encoding.width + 7) // 8
    meta = {
        "format": FORMAT_VERSION,
        "encoding": encoding.to_dict(),
        "keep_drums": keep_drums,
        "row_bytes": row_bytes,
        "rows": rows,
        **index,
        "skipped": report.skipped,
    }
    blob = json.dumps(meta).encode()
    if len(blob) > MAX_INDEX_BYTES:
        raise CorpusError(
            f"cannot write {out}: the index of {len(index['offsets']):,} songs is over "
            f"{MAX_INDEX_BYTES // 2**20} MiB; import the folder as several corpora"
        )
    at = ROWS_AT + rows * row_bytes
    fh.write(blob)
    fh.write(_TRAILER.pack(at, len(blob), END_MAGIC))


# ---------------------------------------------------------------------------------------------
# Reading


def _show(value: Any) -> str:
    """A value from an untrusted index, short and on one line, for an error message."""
    plain = isinstance(value, (str, int, float, bool, type(None)))
    short = isinstance(value, list) and len(value) <= 4 and all(_plain(v) for v in value)
    text = json.dumps(value) if plain or short else ""
    text = text or type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _plain(value: Any) -> bool:
    return isinstance(value, (int, float, bool, type(None))) or (
        isinstance(value, str) and len(value) <= 40
    )


def _whole(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


class Corpus(Sequence[StateMatrix]):
    """An opened corpus file: song facts in memory, rows memory-mapped and unpacked on demand.

    A corpus is untrusted input, checked the way model files are before anything trains on it:
    a regular file only (opened without blocking, so a FIFO is refused at once), header and
    trailer, an index of bounded size, every song's offset and length against the packed rows
    (songs one after another, each within the step limit of a MIDI import) and every fact (tempo,
    metre, encoding, titles, paths). Anything else raises `CorpusError`: one line that names the
    file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            fh = files.open_regular(self.path)
        except FileNotFoundError:
            raise CorpusError(f"{self.path}: no such corpus file") from None
        except IsADirectoryError:
            raise CorpusError(f"{self.path} is a folder, not a corpus file") from None
        except OSError as exc:
            if isinstance(exc, files.NotRegularFileError):
                raise CorpusError(
                    f"{self.path} is not a regular file (a FIFO or a device); not read"
                ) from None
            raise CorpusError(f"cannot read {self.path}: {files.reason(exc)}") from None
        with fh:
            try:
                meta, at = self._read_index(fh)
            except OSError as exc:
                raise CorpusError(f"cannot read {self.path}: {files.reason(exc)}") from None
            self._take_index(meta, at)
            # mapped from the file checked above, not reopened by name
            self.packed = np.memmap(
                fh, np.uint8, "r", offset=ROWS_AT, shape=(self.n_rows, self.row_bytes)
            )

    def _error(self, problem: str) -> CorpusError:
        return CorpusError(f"{self.path}: {problem}")

    def _read_index(self, fh: BinaryIO) -> tuple[Any, int]:
        """The parsed index and where the packed rows end, after the header and trailer."""
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(ROWS_AT)
        if not head.startswith(MAGIC[:7]):
            raise CorpusError(f"{self.path} is not an RBM Studio corpus")
        if not head.startswith(MAGIC):
            raise self._error(
                f"a corpus of another format ({_show(head[:8].decode('latin-1'))}); this "
                f"version reads {MAGIC.decode()} (import the folder again)"
            )
        if size < ROWS_AT + _TRAILER.size:
            raise self._error(f"truncated or damaged ({size} bytes)")
        if head[len(MAGIC) :].strip(b"\0"):
            raise self._error("damaged header")
        fh.seek(size - _TRAILER.size)
        at, length, end = _TRAILER.unpack(fh.read(_TRAILER.size))
        if end != END_MAGIC:
            raise self._error("truncated or damaged (no end marker)")
        if not ROWS_AT <= at <= size - _TRAILER.size or at + length + _TRAILER.size != size:
            raise self._error(f"truncated or damaged (index at {at} of {size} bytes)")
        if length > MAX_INDEX_BYTES:
            raise self._error(
                f"an index of {length / 2**20:.0f} MiB is over the {MAX_INDEX_BYTES // 2**20} MiB "
                "limit; not read"
            )
        fh.seek(at)
        raw = fh.read(length)
        if len(raw) != length:
            raise self._error("truncated while reading")
        try:
            return json.loads(raw.decode("utf-8")), at
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
            raise self._error(f"damaged index ({reason})") from None

    def _take_index(self, meta: Any, at: int) -> None:
        """Check every field of the index against the file, then keep it."""
        if not isinstance(meta, dict):
            raise self._error("damaged index (not an object)")
        self._check_format(meta.get("format"))
        problem = encoding_problem(meta.get("encoding"))
        if problem:
            raise self._error(f"damaged index: encoding {problem}")
        self.encoding = Encoding.from_dict(meta["encoding"])
        row_bytes = (self.encoding.width + 7) // 8
        if meta.get("row_bytes") != row_bytes or not _whole(meta.get("row_bytes"), 1, 2**10):
            raise self._error(
                f"damaged index: row_bytes {_show(meta.get('row_bytes'))} does not fit the "
                f"encoding ({row_bytes})"
            )
        rows = meta.get("rows")
        data_rows = (at - ROWS_AT) // row_bytes
        if not _whole(rows, 1, 2**62) or (at - ROWS_AT) % row_bytes or rows != data_rows:
            raise self._error(
                f"damaged index: {_show(rows)} rows, but the file holds {data_rows:,} rows of "
                f"{row_bytes} bytes"
            )
        if not isinstance(meta.get("keep_drums"), bool):
            raise self._error("damaged index: keep_drums is not true or false")
        columns = self._columns(meta, rows)
        self._check_songs(columns, rows)
        skipped = meta.get("skipped")
        if not isinstance(skipped, list) or not all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s)
            for s in skipped
        ):
            raise self._error("damaged index: skipped is not a list of (path, reason)")
        self.row_bytes = row_bytes
        self.n_rows = rows
        self.offsets = np.asarray(columns["offsets"], np.int64)
        self.steps = np.asarray(columns["steps"], np.int64)
        self.bpm = np.asarray(columns["bpm"], np.float64)
        self.time_signatures = [(int(a), int(b)) for a, b in columns["sig"]]
        self.titles = list(columns["titles"])
        self.paths = list(columns["paths"])
        self.notes = np.asarray(columns["notes"], np.int64)
        self.skipped = [(p, r) for p, r in skipped]

    def _check_format(self, fmt: Any) -> None:
        """Refuse a corpus of another format version, saying which way to go."""
        if _whole(fmt, FORMAT_VERSION, FORMAT_VERSION):
            return
        if _whole(fmt, FORMAT_VERSION + 1, 2**31):
            raise self._error(
                f"corpus format {fmt} is newer than this version reads ({FORMAT_VERSION}); "
                "update RBM Studio or import the folder again"
            )
        raise self._error(
            f"corpus format {_show(fmt)} is not one this version reads ({FORMAT_VERSION}); "
            "import the folder again"
        )

    def _columns(self, meta: dict, rows: int) -> dict[str, list]:
        """The per-song lists of the index: each a list, all of one length, at most one song
        per row."""
        columns = {}
        for key in _COLUMNS:
            value = meta.get(key)
            if not isinstance(value, list):
                raise self._error(f"damaged index: {key} is not a list")
            columns[key] = value
        n = len(columns["offsets"])
        if n == 0:
            raise self._error("damaged index: no songs")
        for key, value in columns.items():
            if len(value) != n:
                raise self._error(f"damaged index: {len(value):,} {key} for {n:,} songs")
        if n > rows:
            raise self._error(f"damaged index: {n:,} songs in {rows:,} rows")
        return columns

    def _check_songs(self, c: dict[str, list], rows: int) -> None:
        """Each song where the one before it ends, within the import's step limit, and its
        facts ones a song can have; the last song ends at the last row."""
        end = 0
        for i, (offset, steps) in enumerate(zip(c["offsets"], c["steps"], strict=True)):
            song = f"damaged index: song {i + 1}"
            if not _whole(offset, 0, rows - 1) or offset != end:
                raise self._error(
                    f"{song} starts at row {_show(offset)}, not where the songs before it end "
                    f"({end:,})"
                )
            if not _whole(steps, 1, MAX_STEPS):
                raise self._error(f"{song} is {_show(steps)} steps long (1..{MAX_STEPS:,})")
            end = offset + steps
            if end > rows:
                raise self._error(f"{song} ends at row {end:,}, past the {rows:,} in the file")
            problem = tempo_problem(c["bpm"][i])
            sig = c["sig"][i]
            if problem is None:
                problem = (
                    metre_problem(*sig)
                    if isinstance(sig, list) and len(sig) == 2
                    else f"metre {_show(sig)} is not [beats, beat unit]"
                )
            if problem is None and not isinstance(c["titles"][i], str):
                problem = "title is not text"
            if problem is None and not (
                isinstance(c["paths"][i], str) and len(c["paths"][i]) <= MAX_PATH_CHARS
            ):
                problem = "path is not a file name"
            if problem is None and not _whole(c["notes"][i], 0, MAX_NOTES):
                problem = f"{_show(c['notes'][i])} notes (0..{MAX_NOTES:,})"
            if problem:
                raise self._error(f"{song}: {problem}")
        if end != rows:
            raise self._error(f"damaged index: the songs end at row {end:,} of {rows:,}")

    def __len__(self) -> int:
        return len(self.offsets)

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """Packed rows [..., row_bytes] → state rows [..., width] uint8."""
        return np.unpackbits(packed, axis=-1, count=self.encoding.width)

    def rows(self, start: int, stop: int) -> np.ndarray:
        return self.unpack(np.asarray(self.packed[start:stop]))

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        start = int(self.offsets[i])
        return StateMatrix(
            data=self.rows(start, start + int(self.steps[i])),
            encoding=self.encoding,
            bpm=float(self.bpm[i]),
            time_signature=self.time_signatures[i],
            title=self.titles[i],
        )

    def summary(self) -> dict:
        """What a trainer records about its data, without unpacking a song."""
        sigs = [f"{a}/{b}" for a, b in self.time_signatures]
        return {
            "songs": len(self),
            "steps": int(self.steps.sum()),
            "bpm": float(np.median(self.bpm)),
            "time_signature": max(set(sigs), key=sigs.count),
            "titles": [t[:MAX_STORED_TITLE] for t in self.titles[:200]],
            "data_encoding": self.encoding.to_dict(),
            "corpus": str(self.path),
        }


# ---------------------------------------------------------------------------------------------
# Windows by index


class WindowSet:
    """Every `window`-row window (a start every `stride` rows) of some songs, flattened as the
    windowed RBM sees them, gathered by index on demand. Windows are numbered song by song, in
    the order `music.windows.extract_windows` lists them; memory is one entry per song."""

    def __init__(
        self,
        take: Callable[[np.ndarray], np.ndarray],
        offsets: np.ndarray,
        steps: np.ndarray,
        *,
        window: int,
        stride: int,
        width: int,
    ) -> None:
        self._take = take  # row indices [...] → model rows [..., width]
        self.window, self.stride, self.width = int(window), int(stride), int(width)
        steps = np.asarray(steps, np.int64)
        counts = np.where(steps >= window, (steps - window) // stride + 1, 0)
        self._first = np.concatenate([[0], np.cumsum(counts)])  # first window of each song
        self._offsets = np.asarray(offsets, np.int64)
        self.n = int(self._first[-1])

    @classmethod
    def from_matrices(
        cls, matrices: Sequence[StateMatrix], *, window: int, stride: int, frame_level: bool
    ) -> WindowSet:
        """Windows of songs in memory (their model rows, once each)."""
        enc = model_encoding(matrices[0].encoding, frame_level) if matrices else DEFAULT_ENCODING
        width = row_width(enc, frame_level)
        parts = [model_rows(m, frame_level) for m in matrices]
        steps = np.array([len(p) for p in parts], np.int64)
        rows = np.concatenate(parts) if parts else np.zeros((0, width), np.uint8)
        offsets = np.concatenate([[0], np.cumsum(steps)[:-1]]) if len(steps) else steps
        return cls(rows.__getitem__, offsets, steps, window=window, stride=stride, width=width)

    @classmethod
    def from_corpus(
        cls, corpus: Corpus, *, window: int, stride: int, frame_level: bool
    ) -> WindowSet:
        """Windows of a corpus file, unpacked from its memory map per gather."""
        enc = corpus.encoding
        width = row_width(model_encoding(enc, frame_level), frame_level)

        def take(idx: np.ndarray) -> np.ndarray:
            rows = corpus.unpack(corpus.packed[idx.reshape(-1)])
            if frame_level:
                rows = model_rows(StateMatrix(rows, enc), True)
            return rows.reshape(*idx.shape, width)

        return cls(take, corpus.offsets, corpus.steps, window=window, stride=stride, width=width)

    def gather(self, idx: np.ndarray, shift: np.ndarray | None = None, planes: int = 2):
        """Windows `idx` as uint8 [len(idx), window·width], each transposed by `shift[i]`
        semitones (notes shifted off the range vanish)."""
        idx = np.asarray(idx, np.int64)
        song = np.searchsorted(self._first, idx, side="right") - 1
        starts = self._offsets[song] + (idx - self._first[song]) * self.stride
        rows = self._take(starts[:, None] + np.arange(self.window)[None, :])
        if shift is not None:
            shift = np.asarray(shift)
            for s in np.unique(shift):
                if s:
                    sel = shift == s
                    block = rows[sel].reshape(-1, self.width)
                    rows[sel] = transpose_rows(block, int(s), planes).reshape(-1, *rows.shape[1:])
        return np.ascontiguousarray(rows.reshape(len(idx), self.window * self.width), np.uint8)
