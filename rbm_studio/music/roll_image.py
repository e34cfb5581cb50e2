"""Piano-roll pictures as PNG files without a GUI toolkit (benchmarks and headless checks).

Each note is a bar of colour on a pitch × time grid with its onset drawn darker, so sixteenth-
note blips, held drones and clashes are visible at a glance. Written with zlib only.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoding import StateMatrix
from .stats import bar_steps

BACKGROUND = (250, 250, 250)
BAR_LINE = (205, 205, 205)
OCTAVE_LINE = (232, 232, 232)
SEPARATOR = (40, 40, 40)


def roll_pixels(
    matrix: StateMatrix,
    *,
    low: int,
    high: int,
    steps: int,
    colour: tuple[int, int, int],
    cell: tuple[int, int] = (3, 4),
) -> np.ndarray:
    """RGB pixels [rows, cols, 3] of `steps` grid steps and pitches `low..high` (high on top)."""
    enc = matrix.encoding
    span = enc.span
    sounding = np.zeros((steps, high - low + 1), bool)
    struck = np.zeros_like(sounding)
    n = min(steps, matrix.steps)
    for pitch in range(max(low, enc.low), min(high, enc.high) + 1):
        col = pitch - enc.low
        sounding[:n, pitch - low] = matrix.data[:n, col] > 0
        struck[:n, pitch - low] = matrix.data[:n, span + col] > 0
    cw, ch = cell
    img = np.empty(((high - low + 1) * ch, steps * cw, 3), np.uint8)
    img[:] = BACKGROUND
    for pitch in range(low, high + 1):
        if pitch % 12 == 0:
            img[(high - pitch) * ch + ch - 1, :] = OCTAVE_LINE
    bar = bar_steps(matrix)
    img[:, :: bar * cw] = BAR_LINE
    dark = tuple(int(c * 0.55) for c in colour)
    for t, p in zip(*np.nonzero(sounding), strict=True):
        y, x = (high - low - p) * ch, t * cw
        img[y : y + ch - 1, x : x + cw] = dark if struck[t, p] else colour
    return img


def side_by_side(
    panels: Sequence[tuple[StateMatrix, tuple[int, int, int]]], *, steps: int
) -> np.ndarray:
    """Panels stacked top to bottom on a shared pitch range, separated by a dark line."""
    pitches = [
        m.encoding.low + np.flatnonzero(m.data[:steps, : m.encoding.span].any(axis=0))
        for m, _ in panels
    ]
    used = np.concatenate([p for p in pitches if len(p)] or [np.array([60])])
    low, high = int(used.min()) - 2, int(used.max()) + 2
    parts = []
    for i, (matrix, colour) in enumerate(panels):
        if i:
            parts.append(np.full((3, steps * 3, 3), SEPARATOR, np.uint8))
        parts.append(roll_pixels(matrix, low=low, high=high, steps=steps, colour=colour))
    return np.concatenate(parts, axis=0)


def write_png(pixels: np.ndarray, path: str | Path) -> None:
    """Write RGB uint8 pixels [rows, cols, 3] as a PNG file."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    rows, cols, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(rows))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", cols, rows, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)
