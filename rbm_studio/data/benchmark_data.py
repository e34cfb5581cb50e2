"""The standard polyphonic-music benchmark corpora (JSB Chorales, Nottingham, ... as `.mat`).

These files let our models be compared with the published log-likelihoods: each piece is a 0/1
piano roll `[frames, 88]` (column j = MIDI pitch 21 + j), split into train / valid / test. They
carry no onsets, so when we turn a piece into a `StateMatrix` the struck plane is derived from
the 0→1 transitions of the sounding plane (a repeated note reads as one held note).
"""

from __future__ import annotations

import functools
import math
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..music.encoding import Encoding, StateMatrix, canonicalize
from ..platform import files

BENCHMARK_LOW = 21
BENCHMARK_PITCHES = 88
# One benchmark frame is one grid step (a quarter note for JSB, an eighth for Nottingham).
BENCHMARK_ENCODING = Encoding(
    steps_per_beat=1, low=BENCHMARK_LOW, high=BENCHMARK_LOW + BENCHMARK_PITCHES - 1
)
SPLITS = ("train", "valid", "test")
# Limits for an untrusted corpus: the published ones expand to under 30 MB and hold under a
# thousand pieces a split.
MAX_MAT_BYTES = 128 * 2**20
MAX_MAT_PIECES = 100_000
MI_COMPRESSED = 15
_MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}


class BenchmarkDataError(Exception):
    """A benchmark file that is missing or not in the expected layout; message is one line."""


@dataclass(slots=True)
class BenchmarkFrames:
    """The raw sounding plane of every piece: `float32[frames, 88]` per piece and split."""

    name: str
    train: list[np.ndarray] = field(default_factory=list)
    valid: list[np.ndarray] = field(default_factory=list)
    test: list[np.ndarray] = field(default_factory=list)

    def split(self, which: str) -> list[np.ndarray]:
        if which not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {which!r}")
        return getattr(self, which)


@dataclass(slots=True)
class BenchmarkCorpus:
    """Train / valid / test pieces as state matrices in `BENCHMARK_ENCODING`."""

    name: str
    train: list[StateMatrix] = field(default_factory=list)
    valid: list[StateMatrix] = field(default_factory=list)
    test: list[StateMatrix] = field(default_factory=list)
    encoding: Encoding = BENCHMARK_ENCODING

    def split(self, which: str) -> list[StateMatrix]:
        if which not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {which!r}")
        return getattr(self, which)


def frames_to_matrix(frames: np.ndarray, title: str = "") -> StateMatrix:
    """One benchmark piece as a canonical state matrix (struck where a pitch starts sounding)."""
    sounding = (np.asarray(frames) > 0).astype(np.uint8)
    if sounding.ndim != 2 or sounding.shape[1] != BENCHMARK_PITCHES:
        raise BenchmarkDataError(f"piece has shape {sounding.shape}, expected [frames, 88]")
    data = canonicalize(np.concatenate([sounding, np.zeros_like(sounding)], axis=1))
    return StateMatrix(data=data, encoding=BENCHMARK_ENCODING, title=title)


@functools.lru_cache(maxsize=4)
def _read_mat(path: str, mtime_ns: int, size: int) -> tuple[tuple[np.ndarray, ...], ...]:
    """The three splits as read-only uint8 arrays; cached per file version because the larger
    corpora take a second to parse and experiments reload them often."""
    import scipy.io

    _check_mat(path)
    try:
        for var, shape, _cls in scipy.io.whosmat(path):
            if var in _MAT_KEYS.values() and math.prod(shape) > MAX_MAT_PIECES:
                raise BenchmarkDataError(
                    f"{path}: '{var}' holds {math.prod(shape):,} pieces (at most {MAX_MAT_PIECES:,})"
                )
        mat = scipy.io.loadmat(path)
    except BenchmarkDataError:
        raise
    except Exception as exc:  # scipy raises many types for a bad file
        raise BenchmarkDataError(f"{path}: not a readable MATLAB file ({exc})") from exc
    splits = []
    for split in SPLITS:
        key = _MAT_KEYS[split]
        if key not in mat:
            raise BenchmarkDataError(f"{path}: no '{key}' array; is this a polyphonic benchmark?")
        cells = np.asarray(mat[key]).ravel()
        pieces = []
        for i, cell in enumerate(cells):
            piece = np.asarray(cell)
            if piece.ndim != 2 or piece.shape[1] != BENCHMARK_PITCHES:
                raise BenchmarkDataError(
                    f"{path}: {key}[{i}] has shape {piece.shape}, expected [frames, 88]"
                )
            piece = (piece > 0).astype(np.uint8)
            piece.setflags(write=False)
            pieces.append(piece)
        splits.append(tuple(pieces))
    return tuple(splits)


def _check_mat(path: str) -> None:
    """Refuse what is not a regular file, too big a file, or a MAT v5 file whose variables
    expand beyond `MAX_MAT_BYTES` (counted by streaming through each compressed element, so a
    zlib bomb is found without holding what it expands to)."""
    try:
        fh = files.open_regular(path)
    except OSError as exc:
        raise BenchmarkDataError(f"{path}: cannot open ({files.reason(exc)})") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_MAT_BYTES:
            raise BenchmarkDataError(f"{path}: {size / 2**20:.0f} MiB is too large for a corpus")
        head = fh.read(128)
        if len(head) < 128 or head[126:128] not in (b"IM", b"MI"):
            return  # MAT v4 (never compressed) or not a MAT file: scipy decides
        endian = "<" if head[126:128] == b"IM" else ">"
        if struct.unpack(endian + "H", head[124:126])[0] != 0x0100:
            return  # v7.3 (HDF5): scipy refuses it with its own reason
        total = 0
        while True:
            tag = fh.read(8)
            if len(tag) < 8:
                return
            mtype, nbytes = struct.unpack(endian + "II", tag)
            if mtype >> 16:
                continue  # a small element: its data sits in the tag
            if mtype != MI_COMPRESSED:
                total += nbytes
                fh.seek(nbytes + (-nbytes) % 8, os.SEEK_CUR)
            else:
                unpack = zlib.decompressobj()
                left = nbytes
                while left > 0:
                    data = fh.read(min(left, 2**20))
                    if not data:
                        break
                    left -= len(data)
                    while data:
                        try:
                            total += len(unpack.decompress(data, 2**20))
                        except zlib.error:
                            return  # damaged: scipy says so
                        data = unpack.unconsumed_tail
                        if total > MAX_MAT_BYTES:
                            break
                    if total > MAX_MAT_BYTES:
                        break
            if total > MAX_MAT_BYTES:
                raise BenchmarkDataError(
                    f"{path}: its arrays expand beyond {MAX_MAT_BYTES // 2**20} MiB; not loaded"
                )


def _load_splits(path: str | Path) -> tuple[str, tuple[tuple[np.ndarray, ...], ...]]:
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BenchmarkDataError(f"{path}: cannot open ({exc.strerror})") from exc
    return path.stem, _read_mat(str(path.resolve()), st.st_mtime_ns, st.st_size)


def load_benchmark_frames(path: str | Path) -> BenchmarkFrames:
    """The pieces as `float32[frames, 88]` sounding planes (what the research models consume)."""
    name, splits = _load_splits(path)
    out = BenchmarkFrames(name=name)
    for split, pieces in zip(SPLITS, splits, strict=True):
        setattr(out, split, [p.astype(np.float32) for p in pieces])
    return out


def load_benchmark(path: str | Path) -> BenchmarkCorpus:
    """The pieces as state matrices in `BENCHMARK_ENCODING`, titled e.g. "JSB_Chorales train 7"."""
    name, splits = _load_splits(path)
    out = BenchmarkCorpus(name=name)
    for split, pieces in zip(SPLITS, splits, strict=True):
        setattr(
            out,
            split,
            [frames_to_matrix(p, f"{name} {split} {i}") for i, p in enumerate(pieces)],
        )
    return out
