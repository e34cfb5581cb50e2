"""`rbm-studio bench music --infill`: does writing given both sides beat writing from the left, and
does harmonising a melody beat chance?

The songs of a folder (default: the bundled chorales) are split as `bench music` splits them
(`music_quality.split`); its `default` contender trains on the training songs (within
`--minutes`). Each held-out song of at least `BARS` bars gives excerpts of `BARS` bars, starting
every `HOP` bars (at most `EXCERPTS_PER_SONG` of them: a folder holds out few songs, and one region
per song left the comparisons below to chance), and each excerpt is:
- `both-neighbours`: bars 5-8 written again given bars 1-4 and 9-12 (`studio.cowrite.regenerate`);
- `left-only`: bars 5-8 continued from bars 1-4 by the kind's own sampler (a primer), bars 9-12
  put back after them: what the window offered before;
- `harmonise`: everything under the song's top line written again given the line
  (`studio.cowrite.harmonise`);
- `independent` and `independent-harmonise`: the same cells drawn each on its own with its
  frequency in the training songs: the floor.

Each is scored against the original song, in the cells it wrote:
- `note_f1`: F1 of its notes (pitch, onset step) against the original's there;
- `pc_f1`: F1 of the pitch classes sounding in each beat, pooled over the beats;
- `mean_oa`: mean overlap area (`music.features`, Yang & Lerch) of the region's features against
  the held-out songs' same region (`oa`: each feature's, to see which ones a way of writing loses);
- `clash_rate`, `blip_rate`, `drone_rate`: `features.summary` of the region;
- `seam_clash_rate`: the clash rate of the rows next to kept music (a beat on each side of a
  region's edges; for harmonisation, every row, melody and voices together);
- `seconds`: sampling time per excerpt (all its variations).
`context` says, without a model, how much the bars after a region could tell beyond the bars
before it (`context_relations`). `both_minus_left` is how far both neighbours beats left-only on
`pc_f1` and `mean_oa`, with the 5th and 95th percentiles of that difference when the excerpts are
drawn again with replacement (a paired bootstrap, the held-out reference kept): a win whose
interval stays above zero is not the luck of which regions were rewritten.
`speed` times what a musician waits for, warm (after the first call compiled the sampler): one
variation of 4 bars regenerated and of a 16-bar melody harmonised.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..commands.common import fail

BARS = 12
REGION = (4, 7)  # bars 5-8, counted from 0
HOP = 4  # bars between the starts of a song's excerpts: their regions do not overlap
EXCERPTS_PER_SONG = 3
BOOTSTRAP = 200
SPEED_RUNS = 5
SPEED_LIMITS = {"regenerate_4_bars_s": 0.3, "harmonise_16_bars_s": 1.0}


@dataclass
class Rewrite:
    """One held-out song rewritten: the original, its variations, and which cells were written
    ([steps, span] of the sounding plane) with the rows next to kept music."""

    original: object  # StateMatrix
    made: list
    free: np.ndarray
    seam: np.ndarray  # bool [steps]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--infill",
        action="store_true",
        help="instead: regenerate bars 5-8 of held-out songs given both sides, from the left "
        "only, harmonise their top lines, and the floor (--minutes trains the model)",
    )
    parser.add_argument(
        "--variations",
        type=int,
        default=2,
        help="with --infill: variations written per held-out song",
    )
    parser.add_argument(
        "--speed-runs",
        type=int,
        default=SPEED_RUNS,
        help=f"with --infill: timed calls of each co-writing action, after the first "
        f"(default {SPEED_RUNS}; the median is reported)",
    )


def run(args: argparse.Namespace, split, train_default) -> int:
    """`bench music --infill`: `split(songs, seed)` is `bench music`'s split and
    `train_default(songs, encoding)` its default contender's training ((model, seconds)), handed
    in by `music_quality` so both benchmarks measure the same thing."""
    from ..data.dataset import import_folder
    from ..resources import sample_midi_dir

    folder = Path(args.folder) if args.folder else sample_midi_dir()
    report = import_folder(folder)
    if len(report.matrices) < 5:
        return fail(f"{folder} has fewer than 5 usable songs")
    train, held = split(report.matrices, args.seed)
    by_song = [_excerpts(m) for m in held]
    songs = [excerpt for excerpts in by_song for excerpt in excerpts]
    if not songs:
        return fail(f"no held-out song of {folder} is {BARS} bars long")
    print("training…", file=sys.stderr)
    model, train_s = train_default(train, report.encoding)
    result = {
        "folder": str(folder),
        "train_songs": len(train),
        "held_out_songs": sum(1 for excerpts in by_song if excerpts),
        "excerpts": len(songs),
        "bars": BARS,
        "region": f"{REGION[0] + 1}-{REGION[1] + 1}",
        "variations": args.variations,
        "model": {"kind": model.kind, "epochs": model.epochs_trained, "train_s": round(train_s, 1)},
        "infill": {},
    }
    parts, references = {}, {}
    for name, method in METHODS.items():
        print(f"{name}…", file=sys.stderr)
        started = time.perf_counter()
        rewrites = [method(model, m, train, args, i) for i, m in enumerate(songs)]
        seconds = (time.perf_counter() - started) / len(songs)
        parts[name], references[name] = [_parts(r) for r in rewrites], _reference(rewrites)
        result["infill"][name] = {
            **score(parts[name], references[name]),
            "seconds": round(seconds, 3),
        }
    # both ways write the same cells of the same excerpts: one reference
    result["both_minus_left"] = paired_difference(
        parts["both-neighbours"], parts["left-only"], references["left-only"], args.seed
    )
    result["held_out"] = _held_out_rates(songs)
    result["context"] = context_relations(songs)
    result["speed"] = speed(model, report.matrices, args.speed_runs)
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result)
    return 0


def _excerpts(m) -> list:
    """`m`'s excerpts of `BARS` bars, one starting every `HOP` bars while the song lasts (at most
    `EXCERPTS_PER_SONG`); a note held over an excerpt's start is struck there."""
    from dataclasses import replace

    from ..music.encoding import canonicalize
    from ..music.stats import bar_steps

    bar = bar_steps(m)
    out = []
    for start in range(0, m.steps - BARS * bar + 1, HOP * bar)[:EXCERPTS_PER_SONG]:
        rows = slice(start, start + BARS * bar)
        velocities = None if m.velocities is None else m.velocities[rows]
        out.append(
            replace(m, data=canonicalize(m.data[rows], m.encoding.span), velocities=velocities)
        )
    return out


# ---------------------------------------------------------------------------------------------
# The ways to write the cells


def _region_rows(m) -> tuple[int, int]:
    from ..music.stats import bar_steps

    bar = bar_steps(m)
    return REGION[0] * bar, (REGION[1] + 1) * bar


def _bars_cells(m) -> tuple[np.ndarray, np.ndarray]:
    """(free [steps, span], seam [steps]) of the bars region: a beat on each side of its edges."""
    start, stop = _region_rows(m)
    free = np.zeros((m.steps, m.encoding.span), bool)
    free[start:stop] = True
    beat = m.encoding.steps_per_beat
    seam = np.zeros(m.steps, bool)
    seam[max(0, start - beat) : start + beat] = seam[stop - beat : stop + beat] = True
    return free, seam


def _melody_cells(m) -> tuple[object, np.ndarray, np.ndarray]:
    """(the song's top line, the cells under it, every row a seam)."""
    from ..music.encoding import decode, encode
    from ..studio import cowrite

    melody = cowrite.top_line(decode(m))
    line = encode(melody, m.encoding).sounding
    line = np.concatenate([line, np.zeros((m.steps - len(line), line.shape[1]), line.dtype)])
    return melody, cowrite.below_line(line[: m.steps]), np.ones(m.steps, bool)


def _matrices(songs, like) -> list:
    """Songs back on the grid of `like`, as long as it."""
    from ..music.encoding import encode

    out = []
    for song in songs:
        data = np.zeros_like(like.data)
        got = encode(song, like.encoding).data[: like.steps]
        data[: len(got)] = got
        out.append(type(like)(data, like.encoding, time_signature=like.time_signature))
    return out


def both_neighbours(model, m, train, args, i) -> Rewrite:
    from ..music.encoding import decode
    from ..studio import cowrite

    region = cowrite.Region(*REGION)
    made = cowrite.regenerate(model, decode(m), region, args.variations, args.seed + i)
    return Rewrite(m, _matrices(made, m), *_bars_cells(m))


def left_only(model, m, train, args, i) -> Rewrite:
    from ..models import registry
    from ..models.base import GenerateRequest
    from ..music.encoding import head

    start, stop = _region_rows(m)
    request = GenerateRequest(
        songs=args.variations,
        steps=stop - start,
        seed=args.seed + i,
        primer=head(m, start),
        form="free",
    )
    made = []
    for song in registry.kind(model.kind).generate(model, request):
        data = m.data.copy()
        data[start:stop] = song.data[start:stop]
        made.append(type(m)(data, m.encoding, time_signature=m.time_signature))
    return Rewrite(m, made, *_bars_cells(m))


def harmonise(model, m, train, args, i) -> Rewrite:
    from ..studio import cowrite

    melody, free, seam = _melody_cells(m)
    made = cowrite.harmonise(model, melody, args.variations, args.seed + i)
    return Rewrite(m, _matrices(made, m), free, seam)


def _independent(m, train, free, seed: int, n: int) -> list:
    """`m` with the `free` cells drawn each on its own with its frequency in `train`."""
    from ..music.encoding import StateMatrix, canonicalize

    span = m.encoding.span
    p = np.concatenate([t.data for t in train]).mean(axis=0)
    rng = np.random.default_rng(seed)
    both = np.concatenate([free, free], axis=1)
    out = []
    for _ in range(n):
        drawn = (rng.random(m.data.shape) < p).astype(np.uint8)
        data = np.where(both, canonicalize(np.where(both, drawn, m.data), span), m.data)
        out.append(StateMatrix(data, m.encoding, time_signature=m.time_signature))
    return out


def independent(model, m, train, args, i) -> Rewrite:
    free, seam = _bars_cells(m)
    return Rewrite(m, _independent(m, train, free, args.seed + i, args.variations), free, seam)


def independent_harmonise(model, m, train, args, i) -> Rewrite:
    _, free, seam = _melody_cells(m)
    return Rewrite(m, _independent(m, train, free, args.seed + i, args.variations), free, seam)


METHODS = {
    "both-neighbours": both_neighbours,
    "left-only": left_only,
    "harmonise": harmonise,
    "independent": independent,
    "independent-harmonise": independent_harmonise,
}


# ---------------------------------------------------------------------------------------------
# Scores


def _f1(tp: int, a: int, b: int) -> float:
    return 2 * tp / (a + b) if a + b else 1.0


def _onsets(m, free: np.ndarray) -> set[tuple[int, int]]:
    """(onset step, pitch column) of the notes struck on `free` cells."""
    from ..music.encoding import note_spans

    col, on, _ = note_spans(m.data, m.encoding.span)
    return {(int(t), int(c)) for c, t in zip(col, on, strict=True) if free[t, c]}


def _beat_classes(m, free: np.ndarray) -> list[set[int]]:
    """The pitch classes sounding on `free` cells in each beat that has free cells."""
    enc = m.encoding
    beat = enc.steps_per_beat
    classes = (enc.low + np.arange(enc.span)) % 12
    out = []
    for t in range(0, m.steps - beat + 1, beat):
        cells = free[t : t + beat]
        if cells.any():
            on = (m.sounding[t : t + beat] > 0) & cells
            out.append(set(classes[on.any(axis=0)].tolist()))
    return out


def _crop(m, free: np.ndarray):
    """The rows of `m` that hold free cells."""
    from ..music.encoding import StateMatrix

    rows = free.any(axis=1)
    return StateMatrix(m.data[rows], m.encoding, time_signature=m.time_signature)


@dataclass
class Parts:
    """One rewrite's share of the scores: (hits, written, original) counts of notes and of pitch
    classes per beat, and the features of each variation's written cells."""

    notes: np.ndarray
    classes: np.ndarray
    features: list
    crops: list
    seams: list


def _parts(r: Rewrite) -> Parts:
    from ..music import features as F

    notes, classes = np.zeros(3, np.int64), np.zeros(3, np.int64)
    truth = _onsets(r.original, r.free)
    truth_pc = _beat_classes(r.original, r.free)
    crops, seams = [], []
    for made in r.made:
        got = _onsets(made, r.free)
        notes += (len(got & truth), len(got), len(truth))
        for a, b in zip(_beat_classes(made, r.free), truth_pc, strict=True):
            classes += (len(a & b), len(a), len(b))
        crops.append(_crop(made, r.free))
        seams.append(made.sounding[r.seam] > 0)
    return Parts(notes, classes, [F.features(c) for c in crops], crops, seams)


def _reference(rewrites: list[Rewrite]) -> list:
    """The features of the original songs' written cells: what each way of writing is held to."""
    from ..music import features as F

    return [F.features(_crop(r.original, r.free)) for r in rewrites]


def _pooled(parts: list[Parts], reference: list) -> tuple[float, float, dict]:
    """(pc_f1, mean_oa, each feature's OA) of `parts` pooled."""
    from ..music import features as F

    classes = np.sum([p.classes for p in parts], axis=0)
    oa = F.compare_sets([f for p in parts for f in p.features], reference)
    return _f1(*classes), float(np.mean(list(oa.values()))), oa


def score(parts: list[Parts], reference: list) -> dict:
    """The figures of one way of writing (see the module doc), pooled over the excerpts
    (`_parts` of each rewrite), against the originals' (`_reference`)."""
    from ..music import features as F

    pc_f1, mean_oa, oa = _pooled(parts, reference)
    summary = F.summary([c for p in parts for c in p.crops])
    return {
        "note_f1": round(_f1(*np.sum([p.notes for p in parts], axis=0)), 4),
        "pc_f1": round(pc_f1, 4),
        "mean_oa": round(mean_oa, 4),
        "seam_clash_rate": round(
            F.clash_rate(np.concatenate([s for p in parts for s in p.seams])), 4
        ),
        "clash_rate": round(summary["clash_rate"], 4),
        "blip_rate": round(summary["blip_rate"], 4),
        "drone_rate": round(summary["drone_rate"], 4),
        "oa": {name: round(value, 4) for name, value in oa.items()},
    }


def paired_difference(a: list[Parts], b: list[Parts], reference: list, seed: int) -> dict:
    """`a` minus `b` on pc_f1 and mean_oa (the same excerpts written two ways; `_parts` of each
    rewrite, `_reference` of the originals), with the 5th and 95th percentiles of the difference
    over `BOOTSTRAP` draws of the excerpts with replacement, each way scored on the same draw
    against the whole reference (the draws' overlap areas estimated on the grid,
    `features.overlap_area(binned=True)`)."""
    from ..music import features as F

    whole = np.subtract(_pooled(a, reference)[:2], _pooled(b, reference)[:2])
    ref = {f: [r[f] for r in reference] for f in F.FEATURES}
    intra = {f: F.distances(ref[f], ref[f], same=True) for f in F.FEATURES}

    def to_reference(parts: Parts) -> dict:
        return {
            f: F.distances([x[f] for x in parts.features], ref[f], same=False) for f in F.FEATURES
        }

    dist_a, dist_b = [to_reference(p) for p in a], [to_reference(p) for p in b]

    def drawn(parts: list[Parts], dists: list[dict], pick: np.ndarray) -> np.ndarray:
        classes = np.sum([parts[i].classes for i in pick], axis=0)
        oa = [
            F.overlap_area(np.concatenate([dists[i][f] for i in pick]), intra[f], binned=True)
            for f in F.FEATURES
        ]
        return np.array([_f1(*classes), np.mean(oa)])

    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(a), len(a))
        draws.append(drawn(a, dist_a, pick) - drawn(b, dist_b, pick))
    low, high = np.percentile(draws, [5, 95], axis=0)
    return {
        name: {
            "difference": round(float(whole[k]), 4),
            "p5": round(float(low[k]), 4),
            "p95": round(float(high[k]), 4),
        }
        for k, name in enumerate(("pc_f1", "mean_oa"))
    }


def context_relations(songs: list) -> dict:
    """Model-free, on the excerpts themselves: of the region's bars that sound, the share whose
    pitch classes (`music.form.bar_pitch_classes`) are exactly those of a bar before the region
    (`before`), of a bar after it (`after`), and of a bar after it and of none before
    (`after_only`): how much the bars after a region could add to its harmony beyond what the
    bars before it already show. A tune that repeats a few chords shows them on both sides."""
    from ..music.form import bar_pitch_classes

    counts = np.zeros(4, np.int64)  # bars, before, after, after only
    for m in songs:
        pcs = bar_pitch_classes(m)
        before, after = pcs[: REGION[0]], pcs[REGION[1] + 1 : BARS]
        for bar in pcs[REGION[0] : REGION[1] + 1]:
            if not bar.any():
                continue
            left = bool((before == bar).all(axis=1).any())
            right = bool((after == bar).all(axis=1).any())
            counts += (1, left, right, right and not left)
    share = counts[1:] / max(int(counts[0]), 1)
    return {
        "region_bars": int(counts[0]),
        **{
            k: round(float(v), 4)
            for k, v in zip(("before", "after", "after_only"), share, strict=True)
        },
    }


def _held_out_rates(songs: list) -> dict:
    """The held-out songs' own rates in the bars region, for comparison."""
    from ..music import features as F

    summary = F.summary([_crop(m, _bars_cells(m)[0]) for m in songs])
    return {k: round(v, 4) for k, v in summary.items()}


# ---------------------------------------------------------------------------------------------
# Speed


def speed(model, songs: list, runs: int = SPEED_RUNS) -> dict:
    """Median seconds (of `runs`, after a first call that compiles) to regenerate 4 bars
    of a song and to harmonise a 16-bar melody, one variation each."""
    from ..music.encoding import decode, head
    from ..music.stats import bar_steps
    from ..studio import cowrite

    song = max(songs, key=lambda m: m.steps)
    bar = bar_steps(song)
    reps = -(-16 * bar // song.steps)
    long = type(song)(
        np.tile(song.data, (reps, 1)), song.encoding, time_signature=song.time_signature
    )
    melody = cowrite.top_line(decode(head(long, 16 * bar)))
    region = cowrite.Region(4, 7)
    whole = decode(head(long, 12 * bar))
    calls = {
        "regenerate_4_bars_s": lambda: cowrite.regenerate(model, whole, region),
        "harmonise_16_bars_s": lambda: cowrite.harmonise(model, melody),
    }
    out: dict = {}
    for name, call in calls.items():
        call()
        times, cpu = [], []
        for _ in range(max(runs, 1)):
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        out[name] = round(float(np.median(times)), 4)
        # CPU seconds of every thread: what the work costs when other programs share the cores
        out[name.replace("_s", "_cpu_s")] = round(float(np.median(cpu)), 4)
    out["limits"] = SPEED_LIMITS
    out["load_average"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return out


def _print_table(result: dict) -> None:
    print(
        f"{result['excerpts']} excerpts of {result['bars']} bars from {result['held_out_songs']} "
        f"held-out songs of {result['folder']}, {result['variations']} variations each; the "
        f"model: {result['model']}"
    )
    names = ("note_f1", "pc_f1", "mean_oa", "seam_clash_rate", "clash_rate", "blip_rate")
    print(f"{'':<22}" + "".join(f"{n:>16}" for n in (*names, "drone_rate", "seconds")))
    for name, row in result["infill"].items():
        cells = [row[n] for n in (*names, "drone_rate", "seconds")]
        print(f"{name:<22}" + "".join(f"{v:>16.3f}" for v in cells))
    for name, d in result["both_minus_left"].items():
        print(
            f"both neighbours minus left-only, {name}: {d['difference']:+.3f} "
            f"(bootstrap 5-95 %: {d['p5']:+.3f} to {d['p95']:+.3f})"
        )
    print(f"held-out bars 5-8: {result['held_out']}")
    c = result["context"]
    print(
        f"of the {c['region_bars']} region bars that sound, the pitch classes of a bar before: "
        f"{c['before']:.0%}, of a bar after: {c['after']:.0%}, of a bar after and none before: "
        f"{c['after_only']:.0%}"
    )
    print(f"speed (warm): {result['speed']}")
