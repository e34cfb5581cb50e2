"""Per-song musical features and the overlap-area comparison of two sets of songs.

The method is Yang & Lerch's ("On the evaluation of generative models in music", 2018), with
features from MusPy (Dong et al. 2020): for each feature, the distances between a generated song
and each held-out song form one distribution, the distances between held-out songs another; the
overlap area (OA) of their kernel density estimates says how much the generated songs look like
the held-out ones *as much as those look like each other* (1: indistinguishable, 0: disjoint).

Everything here is numpy: the benchmark, the tests and the window can all use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .encoding import StateMatrix, note_spans
from .stats import bar_steps

# inter-onset intervals in grid steps: 1..16, then "longer"
IOI_BINS = 17
# note lengths in grid steps: bin edges (a note of length L falls in the first bin with L < edge)
LENGTH_EDGES = np.array([2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 65, np.inf])
ONSET_SLOTS = 16
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor; the raised 7th is counted below
HARMONIC_MINOR_EXTRA = 11

SCALAR_FEATURES = (
    "notes_per_bar",
    "polyphony",
    "pitch_range",
    "mean_interval",
    "scale_consistency",
    "clash_rate",
    "drone_rate",
    "empty_beat_rate",
    "bar_repetition",
)
VECTOR_FEATURES = (
    "pitch_classes",
    "pitch_class_transitions",
    "inter_onset_intervals",
    "note_lengths",
    "onset_positions",
)
FEATURES = SCALAR_FEATURES + VECTOR_FEATURES


@dataclass(frozen=True)
class SongNotes:
    """A song's notes as arrays in grid steps: pitch (MIDI), start, length; plus its grid."""

    pitch: np.ndarray
    start: np.ndarray
    length: np.ndarray
    sounding: np.ndarray  # [steps, pitches] bool
    low: int
    bar: int  # steps per bar
    beat: int  # steps per beat


def song_notes(matrix: StateMatrix) -> SongNotes:
    """The notes of a state matrix (a note starts at `struck` or a silent→sounding change and
    ends at the next silence or re-strike), in grid steps."""
    enc = matrix.encoding
    sounding = np.asarray(matrix.data[:, : enc.span]) > 0
    col, start, end = note_spans(matrix.data, enc.span)
    pitch, length = enc.low + col, end - start
    beat = max(1, int(enc.steps_per_beat))
    return SongNotes(pitch, start, length, sounding, enc.low, bar_steps(matrix), beat)


def _histogram(values: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(values, minlength=bins)[:bins].astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def scale_consistency(pitch: np.ndarray) -> float:
    """Share of notes in the best-fitting major or (natural or harmonic) minor scale."""
    if not len(pitch):
        return 0.0
    counts = np.bincount(pitch % 12, minlength=12).astype(np.float64)
    best = 0.0
    for tonic in range(12):
        major = counts[(MAJOR + tonic) % 12].sum()
        minor = counts[(MINOR + tonic) % 12].sum()
        harmonic = minor + counts[(tonic + HARMONIC_MINOR_EXTRA) % 12]
        best = max(best, major, harmonic)
    return float(best / counts.sum())


def clash_rate(sounding: np.ndarray) -> float:
    """Share of sounding steps on which two pitches a semitone apart sound together."""
    active = sounding.any(axis=1)
    if not active.any():
        return 0.0
    clash = (sounding[:, 1:] & sounding[:, :-1]).any(axis=1)
    return float(clash[active].mean())


def features(matrix: StateMatrix) -> dict[str, np.ndarray | float]:
    """Every feature of one song (see `FEATURES`): scalars as floats, histograms as vectors."""
    n = song_notes(matrix)
    steps = n.sounding.shape[0]
    bars = max(steps / n.bar, 1e-9)
    counts = n.sounding.sum(axis=1)
    active = counts[counts > 0]
    out: dict[str, np.ndarray | float] = {}
    out["notes_per_bar"] = len(n.pitch) / bars
    out["polyphony"] = float(active.mean()) if len(active) else 0.0
    out["pitch_range"] = float(n.pitch.max() - n.pitch.min()) if len(n.pitch) else 0.0
    # the highest note at each onset time (the "skyline") carries the melody
    onset_times, first = np.unique(n.start, return_index=True)
    last = np.append(first[1:], len(n.start)) - 1
    skyline = n.pitch[last] if len(n.pitch) else n.pitch
    out["mean_interval"] = float(np.abs(np.diff(skyline)).mean()) if len(skyline) > 1 else 0.0
    out["scale_consistency"] = scale_consistency(n.pitch)
    out["clash_rate"] = clash_rate(n.sounding)
    out["drone_rate"] = float((n.length >= 2 * n.bar).mean()) if len(n.length) else 0.0
    beats = steps // n.beat
    if beats:
        per_beat = n.sounding[: beats * n.beat].reshape(beats, n.beat, -1).any(axis=(1, 2))
        out["empty_beat_rate"] = float(1.0 - per_beat.mean())
    else:
        out["empty_beat_rate"] = 1.0
    out["bar_repetition"] = _bar_repetition(n.sounding, n.bar)
    out["pitch_classes"] = _histogram(n.pitch % 12, 12)
    transitions = np.zeros((12, 12))
    if len(skyline) > 1:
        np.add.at(transitions, (skyline[:-1] % 12, skyline[1:] % 12), 1.0)
        transitions /= transitions.sum()
    out["pitch_class_transitions"] = transitions.ravel()
    ioi = np.diff(onset_times)
    out["inter_onset_intervals"] = _histogram(np.minimum(ioi, IOI_BINS) - 1, IOI_BINS)
    out["note_lengths"] = _histogram(
        np.searchsorted(LENGTH_EDGES, n.length, side="right"), len(LENGTH_EDGES)
    )
    slots = (n.start % n.bar) * ONSET_SLOTS // n.bar
    out["onset_positions"] = _histogram(slots, ONSET_SLOTS)
    return out


def _bar_repetition(sounding: np.ndarray, bar: int) -> float:
    """Share of non-empty bars identical to the bar before them."""
    bars = sounding.shape[0] // bar
    if bars < 2:
        return 0.0
    blocks = sounding[: bars * bar].reshape(bars, -1)
    filled = blocks.any(axis=1)
    same = (blocks[1:] == blocks[:-1]).all(axis=1) & filled[1:]
    return float(same.sum() / max(filled[1:].sum(), 1))


# ---------------------------------------------------------------------------------------------
# Overlap area


def distances(a: Sequence[np.ndarray | float], b: Sequence[np.ndarray | float], *, same: bool):
    """Euclidean distances between every feature value of `a` and of `b` (without the pairs of
    a song with itself when `a` and `b` are one set)."""
    xa = np.array([np.atleast_1d(np.asarray(x, np.float64)) for x in a])
    xb = np.array([np.atleast_1d(np.asarray(x, np.float64)) for x in b])
    d = np.sqrt(((xa[:, None, :] - xb[None, :, :]) ** 2).sum(axis=-1))
    if same:
        d = d[~np.eye(len(xa), dtype=bool)]
    return d.ravel()


def _kde(sample: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    z = (grid[:, None] - sample[None, :]) / bandwidth
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(sample) * bandwidth * math.sqrt(2 * math.pi))


def _scott(sample: np.ndarray) -> float:
    """Scott's rule bandwidth (the one scipy's gaussian_kde uses in one dimension)."""
    spread = float(np.std(sample, ddof=1)) if len(sample) > 1 else 0.0
    return spread * len(sample) ** (-1 / 5)


def _binned_kde(sample: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """`_kde` with the sample first shared out linearly between its two nearest grid points,
    then the grid smoothed with the kernel: the same density to within the grid's resolution,
    at a cost that does not grow with sample times grid (a bootstrap's thousands of calls)."""
    step = grid[1] - grid[0]
    pos = np.clip((sample - grid[0]) / step, 0, len(grid) - 1)
    low = np.minimum(pos.astype(np.int64), len(grid) - 2)
    frac = pos - low
    counts = np.bincount(low, 1 - frac, len(grid)) + np.bincount(low + 1, frac, len(grid))
    reach = int(np.ceil(6 * bandwidth / step))
    z = np.arange(-reach, reach + 1) * step / bandwidth
    kernel = np.exp(-0.5 * z * z) / (len(sample) * bandwidth * math.sqrt(2 * math.pi))
    full = np.convolve(counts, kernel)
    return full[reach : reach + len(grid)]


def overlap_area(x: np.ndarray, y: np.ndarray, points: int = 1024, binned: bool = False) -> float:
    """Overlap area of the Gaussian KDEs of two samples of distances (1 identical, 0 disjoint).
    A sample with no spread gets the other sample's bandwidth (or a small floor), so a set of
    identical songs still has a density. `binned` estimates the densities on the grid
    (`_binned_kde`): for repeated calls on large samples."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if not len(x) or not len(y):
        return 0.0
    scale = max(np.abs(np.concatenate([x, y])).max(), 1e-9)
    floor = 1e-3 * scale
    bx, by = _scott(x), _scott(y)
    bx = bx if bx > floor else max(by, floor)
    by = by if by > floor else max(bx, floor)
    lo = min(x.min() - 6 * bx, y.min() - 6 * by)
    hi = max(x.max() + 6 * bx, y.max() + 6 * by)
    grid = np.linspace(lo, hi, points)
    kde = _binned_kde if binned else _kde
    overlap = np.minimum(kde(x, grid, bx), kde(y, grid, by))
    return float(min(1.0, np.trapezoid(overlap, grid)))


def compare_sets(
    candidate: Sequence[dict], reference: Sequence[dict], names: Sequence[str] = FEATURES
) -> dict[str, float]:
    """OA per feature between candidate-to-reference distances and reference-to-reference
    distances (Yang & Lerch); `candidate` and `reference` are lists of `features()` dicts."""
    out = {}
    for name in names:
        ref = [f[name] for f in reference]
        intra = distances(ref, ref, same=True)
        inter = distances([f[name] for f in candidate], ref, same=candidate is reference)
        out[name] = overlap_area(inter, intra)
    return out


def summary(matrices: Sequence[StateMatrix]) -> dict[str, float]:
    """The headline figures of a set of songs, pooled over all of them: notes per bar, and the
    clash, drone and blip (one-step note) rates."""
    bars = notes = active = clashes = drones = blips = 0.0
    for m in matrices:
        n = song_notes(m)
        s = n.sounding
        bars += s.shape[0] / n.bar
        notes += len(n.pitch)
        on = s.any(axis=1)
        active += int(on.sum())
        clashes += int(((s[:, 1:] & s[:, :-1]).any(axis=1) & on).sum())
        drones += int((n.length >= 2 * n.bar).sum())
        blips += int((n.length == 1).sum())
    return {
        "notes_per_bar": notes / bars if bars else 0.0,
        "clash_rate": clashes / active if active else 0.0,
        "drone_rate": drones / notes if notes else 0.0,
        "blip_rate": blips / notes if notes else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# Form: which bars repeat which, how self-similar a song is, and whether it copies its teachers

FORM_LAGS = (2, 4, 8)
FORM_FEATURES = (
    *(f"repeat_pc_{lag}" for lag in FORM_LAGS),
    *(f"repeat_notes_{lag}" for lag in FORM_LAGS),
    "structure_short",
    "structure_long",
)
COPY_BARS = 2
# a span with fewer onsets says too little to call it a copy (one held chord matches anywhere)
COPY_MIN_ONSETS = 4


def bar_blocks(matrix: StateMatrix, bars: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pitch-class sets [bars, 12] bool, sounding blocks [bars, bar·span] bool) of a song's
    whole bars (its first `bars` when given)."""
    n = song_notes(matrix)
    count = n.sounding.shape[0] // n.bar
    if bars is not None:
        count = min(count, bars)
    blocks = n.sounding[: count * n.bar].reshape(count, n.bar, -1)
    pcs = np.zeros((count, 12), bool)
    for col in range(blocks.shape[2]):
        pcs[:, (n.low + col) % 12] |= blocks[:, :, col].any(axis=1)
    return pcs, blocks.reshape(count, -1)


def _jaccard(sets: np.ndarray) -> np.ndarray:
    """Jaccard similarity of every pair of rows of a bool matrix (0 where both are empty)."""
    x = sets.astype(np.float64)
    inter = x @ x.T
    size = x.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def lag_contrast(ssm: np.ndarray, lags) -> list[float]:
    """Per lag: how much more alike the blocks `lag` apart are than any two blocks of the song
    (the mean of one diagonal of a self-similarity matrix minus the mean of its off-diagonal
    cells; 0 for a lag the song is too short for). Independent notes are as alike at every lag,
    so they score about zero however alike their bars are; a song that repeats its bars 4 apart
    scores high at 4."""
    n = len(ssm)
    if n < 3:
        return [0.0 for _ in lags]
    off = ssm[~np.eye(n, dtype=bool)].mean()
    return [float(np.diagonal(ssm, lag).mean() - off) if lag < n else 0.0 for lag in lags]


def bar_repeat(matrix: StateMatrix, bars: int | None = None) -> float:
    """Share of non-empty bars whose pitch classes are those of the bar 2, 4 or 8 before: a
    repeated progression, riff or phrase (what a producer hears as a loop)."""
    pcs, _ = bar_blocks(matrix, bars)
    filled = pcs.any(axis=1)
    hit = np.zeros(len(pcs), bool)
    for lag in FORM_LAGS:
        if len(pcs) > lag:
            hit[lag:] |= (pcs[lag:] == pcs[:-lag]).all(axis=1)
    hit &= filled
    return float(hit.sum() / max(filled.sum(), 1))


def _chroma(sounding: np.ndarray, low: int, size: int) -> np.ndarray:
    """Sounding steps per pitch class in blocks of `size` steps, as unit vectors [blocks, 12]
    (an empty block is all zero)."""
    count = sounding.shape[0] // size
    per_col = sounding[: count * size].reshape(count, size, -1).sum(axis=1).astype(np.float64)
    chroma = np.zeros((count, 12))
    for col in range(per_col.shape[1]):
        chroma[:, (low + col) % 12] += per_col[:, col]
    norm = np.linalg.norm(chroma, axis=1, keepdims=True)
    return np.divide(chroma, norm, out=np.zeros_like(chroma), where=norm > 0)


def structureness(chroma: np.ndarray, lags: range) -> float:
    """The chroma self-similarity matrix's `lag_contrast` at its most telling lag. A simplified
    form of Wu & Yang's (2020) structureness indicator: their fitness scape plot rates every
    segment by how well its repeats cover the song; rating lags needs no segment search and
    keeps the floor honest."""
    lags = [lag for lag in lags if lag < len(chroma)]
    if len(chroma) < 3 or not lags:
        return 0.0
    return max(lag_contrast(chroma @ chroma.T, lags))


def form_features(matrix: StateMatrix, bars: int | None = None) -> dict[str, float]:
    """The form features of a song's first `bars` bars (all when None; see `FORM_FEATURES`):
    repetition at 2, 4 and 8 bars beyond what any two bars share (the `lag_contrast` of the
    Jaccard similarity of the bars' pitch-class sets, and of their notes), and structureness
    within two bars (beat chroma, lags of a beat to two bars) and across phrases (bar chroma,
    lags of 2 bars or more)."""
    n = song_notes(matrix)
    pcs, blocks = bar_blocks(matrix, bars)
    out: dict[str, float] = {}
    for name, sets in (("pc", pcs), ("notes", blocks)):
        for lag, value in zip(FORM_LAGS, lag_contrast(_jaccard(sets), FORM_LAGS), strict=True):
            out[f"repeat_{name}_{lag}"] = value
    cut = n.sounding[: len(pcs) * n.bar]
    beats_per_bar = max(1, n.bar // n.beat)
    out["structure_short"] = structureness(
        _chroma(cut, n.low, n.beat), range(1, 2 * beats_per_bar + 1)
    )
    out["structure_long"] = structureness(_chroma(cut, n.low, n.bar), range(2, len(pcs)))
    return out


def compare_values(
    candidate: Sequence[dict], reference: Sequence[dict], names: Sequence[str] = FORM_FEATURES
) -> dict[str, float]:
    """OA per scalar feature between the candidate songs' values and the reference songs'
    values. The form features are compared by value, not by Yang & Lerch's distances: a floor
    that sits at one end of real music's range (no repetition beyond chance) has distances to
    the real songs like theirs to each other whenever real songs differ much among
    themselves, and would pass as real."""
    return {
        name: overlap_area([f[name] for f in candidate], [f[name] for f in reference])
        for name in names
    }


def span_keys(matrix: StateMatrix, hop: int, bars: int = COPY_BARS) -> list[bytes]:
    """A key per span of `bars` bars starting every `hop` steps: its onsets (step in the span,
    pitch above the span's lowest onset), so a span moved to another key has the same key;
    spans with fewer than `COPY_MIN_ONSETS` onsets are left out."""
    enc = matrix.encoding
    struck = (matrix.data[:, enc.span :] > 0) & (matrix.data[:, : enc.span] > 0)
    length = bars * bar_steps(matrix)
    keys = []
    for start in range(0, matrix.steps - length + 1, max(1, hop)):
        t, col = np.nonzero(struck[start : start + length])
        if len(t) < COPY_MIN_ONSETS:
            continue
        keys.append(np.stack([t, col - col.min()]).astype(np.int16).tobytes())
    return keys


def copy_index(training: Sequence[StateMatrix]) -> set[bytes]:
    """Every span of the training songs, starting on every beat (a copy need not keep the bar
    lines)."""
    index: set[bytes] = set()
    for m in training:
        index.update(span_keys(m, max(1, int(m.encoding.steps_per_beat))))
    return index


def copy_rate(songs: Sequence[StateMatrix], index: set[bytes]) -> float:
    """Mean over songs of the share of their bar-aligned 2-bar spans found verbatim (in any
    key) in the training songs' `copy_index`."""
    shares = []
    for m in songs:
        keys = span_keys(m, bar_steps(m))
        if keys:
            shares.append(sum(k in index for k in keys) / len(keys))
    return float(np.mean(shares)) if shares else 0.0


def loop_seams(songs: Sequence[StateMatrix], loop_bars: int) -> dict[str, dict[str, float]]:
    """Whether a loop comes round like its inner bar lines: `{"seam": ..., "inner": ...}`, each
    the clash rate of the two steps either side of the bar lines (two pitches a semitone apart)
    and the mean length in steps of the notes sounding over them or starting in the two steps
    after — at the line where the loop's last bar goes back to its first, and at the
    loop's other bar lines. A loop stitched together cuts its notes and clashes at the seam."""
    out = {}
    if not songs:
        return {}
    bar = song_notes(songs[0]).bar
    seams = {"seam": [loop_bars * bar], "inner": [b * bar for b in range(1, loop_bars)]}
    for name, lines in seams.items():
        clashes = steps = 0
        lengths: list[int] = []
        for m in songs:
            n = song_notes(m)
            for line in lines:
                around = n.sounding[max(0, line - 2) : line + 2]
                on = around.any(axis=1)
                steps += int(on.sum())
                clashes += int(((around[:, 1:] & around[:, :-1]).any(axis=1) & on).sum())
                crossing = (n.start < line) & (n.start + n.length > line)
                starting = (n.start >= line) & (n.start < line + 2)
                lengths += [int(x) for x in n.length[crossing | starting]]
        out[name] = {
            "clash": clashes / steps if steps else 0.0,
            "length": float(np.mean(lengths)) if lengths else 0.0,
        }
    return out
