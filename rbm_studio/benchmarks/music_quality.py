"""`rbm-studio bench music`: do the songs a setting generates sound like the music it learned?

The songs of a folder (default: the bundled chorales) are split into training and held-out songs
(80/20, seeded). Each contender trains on the training songs (within `--minutes`) and generates
`--songs` songs of `--bars` bars, which are compared with the held-out songs the way the
symbolic-music evaluation literature does (Yang & Lerch 2018; MusPy's features): per feature, the
overlap area (OA) of generated-to-held-out against held-out-to-held-out distances, and its mean.
The training songs measured the same way give the ceiling real music reaches, and their notes
per bar and clash, drone and blip rates are reported beside the held-out songs': a model that
learns its training songs well plays at their rates, which a small folder's split can set apart
from the held-out songs'.

Contenders: `default` (the window's default kind and settings; songs "like the songs" in form),
`default-free` (its songs through-composed), each kind's own defaults,
`tutorial` (the tutorial's RBM: windows, 50 hidden, CD-1, 200 epochs, one Gibbs step) as the
baseline, and `independent` (every pitch of every step drawn on its own from the training songs'
frequencies) as the floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..commands.common import BAD_REQUEST, CommandError, add_json, add_seed, fail

NAME = "music"
HELP = "how much generated songs resemble held-out songs (overlap area of musical features)"

HEADLINE = ("notes_per_bar", "clash_rate", "drone_rate", "blip_rate")
LOOP_BARS = 4


@dataclass
class Contender:
    """A setting to compare: a kind's training settings and how to sample from it."""

    name: str
    kind: str | None  # None: the independent-pitch floor (no model)
    overrides: dict = field(default_factory=dict)
    request: dict = field(default_factory=dict)
    same_as: str | None = None  # reuse another contender's model (same training settings)
    in_key: bool = False  # sample only the training songs' key and range (conditional sampling)
    loop: bool = False  # also generate `LOOP_BARS`-bar loops and measure how they come round


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", help="MIDI folder (default: the bundled chorales)")
    add_json(parser)
    parser.add_argument(
        "--minutes", type=float, default=5.0, help="training time budget per contender"
    )
    parser.add_argument("--songs", type=int, default=10, help="songs generated per contender")
    parser.add_argument("--bars", type=int, default=16, help="bars per generated song")
    add_seed(parser, help="split, training and sampling seed")
    parser.add_argument("--plot", metavar="DIR", help="write one piano-roll PNG per contender")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these contenders (and the ceiling)"
    )
    from . import music_infill

    music_infill.add_arguments(parser)


def contenders() -> list[Contender]:
    from ..models import registry

    out = [Contender("default", registry.DEFAULT_KIND, loop=True)]
    for name in registry.KINDS:
        same = "default" if name == registry.DEFAULT_KIND else None
        out.append(Contender(name, name, same_as=same))
    out.append(
        Contender(
            "tutorial",
            "rbm",
            dict(next(p.values for p in registry.presets("rbm") if p.name == "tutorial")),
            {"gibbs_steps": 1, "temperature": 1.0, "mode": "windows"},
        )
    )
    # the RNN-RBM as it was before it read bar positions, the step before and onset/sustain
    plain = {"meter": False, "previous_step": False, "onset_sustain": False}
    out.append(Contender("rnn-rbm-plain", "rnn-rbm", plain, {"temperature": 1.0}))
    out.append(Contender("default-in-key", registry.DEFAULT_KIND, same_as="default", in_key=True))
    # the default's songs without a planned form: what the plan adds
    out.append(
        Contender(
            "default-free", registry.DEFAULT_KIND, same_as="default", request={"form": "free"}
        )
    )
    out.append(Contender("independent", None))
    return out


def split(songs: list, seed: int) -> tuple[list, list]:
    """(training, held-out) songs: a seeded fifth held out (at least one of each)."""
    order = np.random.default_rng(seed).permutation(len(songs))
    n_hold = min(max(1, round(len(songs) / 5)), len(songs) - 1)
    return [songs[i] for i in sorted(order[n_hold:])], [songs[i] for i in sorted(order[:n_hold])]


def key_and_range(songs: list) -> dict:
    """The training songs' best-fitting major or minor scale and their pitch range, as the
    constraint a musician would choose for songs like them."""
    from ..music.keys import best_key, key_pitch_classes

    key, low, high = best_key(songs) or ("C major", 0, 127)
    best = key_pitch_classes(key)
    return {"pitch_classes": best, "lowest": low, "highest": high}


def independent_songs(train: list, n: int, steps: int, seed: int) -> list:
    """The floor: every unit of every step drawn on its own with its frequency in the training
    songs (both planes), then made a consistent matrix."""
    from ..music.encoding import StateMatrix, canonicalize

    rows = np.concatenate([m.data for m in train])
    p = rows.mean(axis=0)
    rng = np.random.default_rng(seed)
    first = train[0]
    return [
        StateMatrix(
            canonicalize((rng.random((steps, p.size)) < p).astype(np.uint8), first.encoding.span),
            first.encoding,
            bpm=first.bpm,
            time_signature=first.time_signature,
            title=f"independent {i + 1}",
        )
        for i in range(n)
    ]


def train_model(contender: Contender, train: list, encoding, minutes: float, seed: int):
    """(model, seconds) of one contender trained on `train` within `minutes`."""
    from ..models import registry

    config = registry.default_config(contender.kind, **contender.overrides)
    config = config.with_values(seed=seed, minutes=minutes)
    trainer = registry.make_trainer(config, train, encoding)
    started = time.perf_counter()
    for _ in trainer:
        pass
    return trainer.result(), time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    from ..data.dataset import import_folder
    from ..music import features as F
    from ..resources import sample_midi_dir

    if args.infill:
        return _infill(args)
    folder = Path(args.folder) if args.folder else sample_midi_dir()
    report = import_folder(folder)
    if len(report.matrices) < 5:
        return fail(f"{folder} has fewer than 5 usable songs")
    train, held = split(report.matrices, args.seed)
    steps = args.bars * _typical_bar(train)
    held_features = [F.features(m) for m in held]
    ceiling = F.compare_sets([F.features(m) for m in train], held_features)
    held_form = [F.form_features(m, args.bars) for m in held]
    form_ceiling = F.compare_values([F.form_features(m, args.bars) for m in train], held_form)
    copies = F.copy_index(train)
    result = {
        "folder": str(folder),
        "train_songs": len(train),
        "held_out_songs": len(held),
        "real_mean_oa": float(np.mean(list(ceiling.values()))),
        "real_oa": ceiling,
        "real_form_oa": float(np.mean(list(form_ceiling.values()))),
        "real_form": form_ceiling,
        "held_out": {
            **F.summary(held),
            "bar_repeat": _bar_repeat(held, args.bars),
            "copy_rate": F.copy_rate(held, copies),
        },
        "training": {**F.summary(train), "bar_repeat": _bar_repeat(train, args.bars)},
        "contenders": {},
    }
    models: dict[str, tuple] = {}
    plots: list[tuple[str, object]] = []
    for contender in _chosen(args.only):
        print(f"{contender.name}: training…", file=sys.stderr)
        songs, extra, train_s, generate_s = _contender_songs(
            contender, train, report.encoding, steps, models, args
        )
        result["contenders"][contender.name] = {
            **_measure(songs, held_features, held_form, copies, args.bars),
            "train_s": round(train_s, 2),
            "generate_s": round(generate_s, 2),
            **extra,
        }
        plots.append((contender.name, songs[0]))
    if args.plot:
        _plot(Path(args.plot), held[0], plots, steps)
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result)
    return 0


def _infill(args: argparse.Namespace) -> int:
    """`--infill`: the co-writing benchmark, on this benchmark's split and default contender."""
    from ..models import registry
    from . import music_infill

    default = Contender("default", registry.DEFAULT_KIND)
    return music_infill.run(
        args, split, lambda songs, enc: train_model(default, songs, enc, args.minutes, args.seed)
    )


def _typical_bar(train: list) -> int:
    """Steps per bar of the training songs' most common metre: the bars the models generate in
    (a model keeps that metre), so `--bars` bars of theirs are `--bars` bars as measured."""
    from ..music.features import song_notes

    sigs = [m.time_signature for m in train]
    typical = max(set(sigs), key=sigs.count)
    return song_notes(next(m for m in train if m.time_signature == typical)).bar


def _chosen(only: list[str] | None) -> list:
    """The contenders `--only` names (all when it names none)."""
    chosen = contenders()
    if only:
        unknown = set(only) - {c.name for c in chosen}
        if unknown:
            raise CommandError(f"no contender named {', '.join(sorted(unknown))}", BAD_REQUEST)
        chosen = [c for c in chosen if c.name in only]
    return chosen


def _contender_songs(contender, train, encoding, steps: int, models: dict, args):
    """(songs, extra facts, training seconds, generation seconds) of one contender; a model
    trained for one contender is kept in `models` for those that are `same_as` it."""
    from ..models import registry
    from ..models.base import GenerateRequest, form_for

    if contender.kind is None:
        started = time.perf_counter()
        songs = independent_songs(train, args.songs, steps, args.seed)
        return songs, {}, 0.0, time.perf_counter() - started
    if contender.same_as in models:
        model, train_s = models[contender.same_as]
    else:
        model, train_s = train_model(contender, train, encoding, args.minutes, args.seed)
    models[contender.name] = (model, train_s)
    started = time.perf_counter()
    constraint = key_and_range(train) if contender.in_key else {}
    request = GenerateRequest(
        songs=args.songs, steps=steps, seed=args.seed + 1, **contender.request, **constraint
    )
    kind = registry.kind(model.kind)
    songs = kind.generate(model, request)
    form_used = form_for(kind, model, request)[0]
    extra = {"kind": model.kind, "epochs": model.epochs_trained, "form_used": form_used}
    generate_s = time.perf_counter() - started
    if contender.loop:
        extra["loop_seam"] = _loop_seams(kind, model, request)
    return songs, extra, train_s, generate_s


def _loop_seams(kind, model, request) -> dict:
    """How the model's `LOOP_BARS`-bar loops come round (`features.loop_seams`), or {} where it
    cannot loop."""
    from dataclasses import replace

    from ..models.base import form_for
    from ..music.features import loop_seams

    loop = replace(request, form=f"loop:{LOOP_BARS}")
    if form_for(kind, model, loop)[0] == "free":
        return {}
    return loop_seams(kind.generate(model, loop), LOOP_BARS)


def _measure(songs: list, held_features: list, held_form: list, copies: set, bars: int) -> dict:
    """A contender's songs against the held-out songs: OA of the features and of the form
    features, bar repeats, copies of training spans and the headline rates."""
    from ..music import features as F

    oa = F.compare_sets([F.features(m) for m in songs], held_features)
    form = F.compare_values([F.form_features(m, bars) for m in songs], held_form)
    return {
        "mean_oa": float(np.mean(list(oa.values()))),
        "oa": oa,
        "form_oa": float(np.mean(list(form.values()))),
        "form": form,
        "bar_repeat": _bar_repeat(songs, bars),
        "copy_rate": F.copy_rate(songs, copies),
        **F.summary(songs),
    }


def _bar_repeat(songs: list, bars: int) -> float:
    from ..music.features import bar_repeat

    return float(np.mean([bar_repeat(m, bars) for m in songs]))


def _plot(folder: Path, held_song, plots: list, steps: int) -> None:
    from ..music.roll_image import side_by_side, write_png

    folder.mkdir(parents=True, exist_ok=True)
    for name, song in plots:
        pixels = side_by_side([(held_song, (90, 90, 90)), (song, (30, 110, 200))], steps=steps)
        write_png(pixels, folder / f"{name}.png")


def _print_table(result: dict) -> None:
    print(
        f"{result['train_songs']} training / {result['held_out_songs']} held-out songs from "
        f"{result['folder']}; real music's mean OA (training vs held-out): "
        f"{result['real_mean_oa']:.3f}, form OA {result['real_form_oa']:.3f}"
    )
    header = f"{'contender':<12} {'mean OA':>8} {'form OA':>8} {'notes/bar':>10} {'clash':>7} "
    header += f"{'drone':>7} {'blip':>7} {'bar rep':>8} {'copy':>6} {'train s':>8} {'gen s':>6}"
    print(header)
    for name, songs in (("held-out", result["held_out"]), ("training", result["training"])):
        copy = f"{songs['copy_rate']:>6.3f}" if "copy_rate" in songs else f"{'':>6}"
        print(
            f"{name:<12} {'':>8} {'':>8} {songs['notes_per_bar']:>10.1f} "
            f"{songs['clash_rate']:>7.3f} {songs['drone_rate']:>7.3f} {songs['blip_rate']:>7.3f} "
            f"{songs['bar_repeat']:>8.3f} {copy}"
        )
    for name, c in result["contenders"].items():
        print(
            f"{name:<12} {c['mean_oa']:>8.3f} {c['form_oa']:>8.3f} {c['notes_per_bar']:>10.1f} "
            f"{c['clash_rate']:>7.3f} {c['drone_rate']:>7.3f} {c['blip_rate']:>7.3f} "
            f"{c['bar_repeat']:>8.3f} {c['copy_rate']:>6.3f} {c['train_s']:>8.1f} "
            f"{c['generate_s']:>6.1f}"
        )
    for name, c in result["contenders"].items():
        if c.get("loop_seam"):
            seam, inner = c["loop_seam"]["seam"], c["loop_seam"]["inner"]
            print(
                f"{name}'s {LOOP_BARS}-bar loops: notes over the seam last {seam['length']:.1f} "
                f"steps (inner bar lines {inner['length']:.1f}), clash {seam['clash']:.3f} "
                f"({inner['clash']:.3f})"
            )
