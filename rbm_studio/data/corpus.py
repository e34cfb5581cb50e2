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
import contextlib
import json
import multiprocessing
import os
import struct
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..music.encoding import DEFAULT_ENCODING, Encoding, StateMatrix
from ..music.windows import model_encoding, model_rows, row_width, transpose_rows
from .dataset import (
    MIN_FILES_FOR_POOL,
    POOL_PAYS_OFF_S,
    PROBE_FILES,
    FileResult,
    _import_file,
    _pool_worker,
    collect_midi_files,
    default_workers,
)

MAGIC = b"RBMCORP1"
END_MAGIC = b"RBMCEND1"
ROWS_AT = 64
FORMAT_VERSION = 1
SUFFIX = ".rbmc"
_TRAILER = struct.Struct("<QQ8s")


class CorpusError(ValueError):
    """A corpus file that cannot be used (one line: what is wrong with which file)."""


# ---------------------------------------------------------------------------------------------
# Writing


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """`write(fh)` into a temp file beside `path`, fsynced, then renamed over it: a failed or
    interrupted import leaves any earlier corpus as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise CorpusError(f"cannot write {path}: it is a folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


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
    files: list[Path], enc: Encoding, keep_drums: bool, workers: int | None
) -> Iterator[FileResult]:
    """Each file's result in path order, parsed here until a pool pays off (the rule of
    `import_folder`), then by worker processes with a bounded number of files in flight."""
    auto = workers is None
    n_workers = default_workers() if auto else max(int(workers), 1)
    t0 = time.monotonic()
    for i, path in enumerate(files):
        remaining = len(files) - i
        pool_size = min(n_workers, remaining)
        if pool_size >= 2 and (
            not auto
            or (
                i >= PROBE_FILES
                and remaining >= MIN_FILES_FOR_POOL
                and (time.monotonic() - t0) / i * remaining > POOL_PAYS_OFF_S
            )
        ):
            yield from _pooled(files[i:], enc, keep_drums, pool_size)
            return
        yield _import_file(path, enc, keep_drums, False)


def _pooled(
    files: list[Path], enc: Encoding, keep_drums: bool, pool_size: int
) -> Iterator[FileResult]:
    executor = cf.ProcessPoolExecutor(
        max_workers=pool_size, mp_context=multiprocessing.get_context("spawn")
    )
    in_flight: deque[tuple[Path, cf.Future]] = deque()
    todo = iter(files)
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


def import_corpus(
    paths: Sequence[Path | str],
    out: Path | str,
    encoding: Encoding = DEFAULT_ENCODING,
    *,
    keep_drums: bool = False,
    progress: Callable[[int, int, Path], None] | None = None,
    workers: int | None = None,
) -> CorpusReport:
    """Import MIDI folders/files into the packed corpus `out` (replaced atomically). Raises
    `CorpusError` when no song loads (an existing `out` is then left as it was)."""
    started = time.monotonic()
    files, missing = collect_midi_files([Path(p) for p in paths])
    report = CorpusReport(Path(out), files=len(files) + len(missing))
    report.skipped = [(str(p), "file not found") for p in missing]
    row_bytes = (encoding.width + 7) // 8

    def write(fh: BinaryIO) -> None:
        fh.write(MAGIC.ljust(ROWS_AT, b"\0"))
        index: dict[str, list] = {
            k: [] for k in ("offsets", "steps", "bpm", "sig", "titles", "paths", "notes")
        }
        rows = 0
        for done, result in enumerate(_results(files, encoding, keep_drums, workers), 1):
            if progress is not None:
                progress(done + len(missing), report.files, result.path)
            if not result.ok or result.matrix is None:
                report.skipped.append((str(result.path), result.reason))
                continue
            m = result.matrix
            fh.write(np.packbits(m.data, axis=1).tobytes())
            index["offsets"].append(rows)
            index["steps"].append(m.steps)
            index["bpm"].append(float(m.bpm))
            index["sig"].append(list(m.time_signature))
            index["titles"].append(m.title)
            index["paths"].append(str(result.path))
            index["notes"].append(result.notes)
            rows += m.steps
            report.notes += result.notes
        if not index["offsets"]:
            raise CorpusError(f"no usable MIDI songs in {', '.join(str(p) for p in paths)}")
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
        at = ROWS_AT + rows * row_bytes
        fh.write(blob)
        fh.write(_TRAILER.pack(at, len(blob), END_MAGIC))
        report.songs, report.rows = len(index["offsets"]), rows

    written = _atomic_write(Path(out), write)
    report.bytes = written.stat().st_size
    report.elapsed = time.monotonic() - started
    return report


# ---------------------------------------------------------------------------------------------
# Reading


class Corpus(Sequence[StateMatrix]):
    """An opened corpus file: song facts in memory, rows memory-mapped and unpacked on demand."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as fh:
                head = fh.read(len(MAGIC))
                if head != MAGIC or size < ROWS_AT + _TRAILER.size:
                    raise CorpusError(f"{self.path} is not an RBM Studio corpus")
                fh.seek(size - _TRAILER.size)
                at, length, end = _TRAILER.unpack(fh.read(_TRAILER.size))
                if end != END_MAGIC or at + length + _TRAILER.size != size:
                    raise CorpusError(f"{self.path} is truncated or damaged")
                fh.seek(at)
                meta = json.loads(fh.read(length))
        except OSError as exc:
            raise CorpusError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CorpusError(f"{self.path} has a damaged index") from None
        try:
            if meta["format"] != FORMAT_VERSION:
                raise CorpusError(
                    f"{self.path} is corpus format {meta['format']}; this version reads "
                    f"{FORMAT_VERSION} (import the folder again)"
                )
            self.encoding = Encoding.from_dict(meta["encoding"])
            self.row_bytes = int(meta["row_bytes"])
            self.n_rows = int(meta["rows"])
            self.offsets = np.asarray(meta["offsets"], np.int64)
            self.steps = np.asarray(meta["steps"], np.int64)
            self.bpm = np.asarray(meta["bpm"], np.float64)
            self.time_signatures = [(int(a), int(b)) for a, b in meta["sig"]]
            self.titles = [str(t) for t in meta["titles"]]
            self.paths = [str(p) for p in meta["paths"]]
            self.notes = np.asarray(meta["notes"], np.int64)
            self.skipped = [(str(p), str(r)) for p, r in meta["skipped"]]
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CorpusError):
                raise
            raise CorpusError(f"{self.path} has a damaged index ({exc})") from None
        consistent = (
            self.row_bytes == (self.encoding.width + 7) // 8
            and ROWS_AT + self.n_rows * self.row_bytes == at
            and len(self.offsets) == len(self.steps) == len(self.titles)
            and (len(self.offsets) == 0 or self.offsets[-1] + self.steps[-1] == self.n_rows)
        )
        if not consistent or len(self.offsets) == 0:
            raise CorpusError(f"{self.path} has an inconsistent index")
        self.packed = np.memmap(
            self.path, np.uint8, "r", offset=ROWS_AT, shape=(self.n_rows, self.row_bytes)
        )

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
            "titles": self.titles[:200],
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
