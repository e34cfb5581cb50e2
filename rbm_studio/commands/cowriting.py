"""What `rbm-studio regenerate` and `rbm-studio harmonise` share: their options, reading the song
or melody they work on, and writing the songs the model made (never over a file: a name already
taken gets a numbered suffix; each file written whole or not at all)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options
from .common import (
    BAD_REQUEST,
    CommandError,
    add_device,
    add_json,
    add_seed,
    songs_folder,
    write_song_files,
)


def add_arguments(parser: argparse.ArgumentParser, song: str) -> None:
    """The model, the song (`song` is its metavar), and the options both commands take."""
    parser.add_argument("model", metavar="MODEL.rbm")
    parser.add_argument("song", metavar=song)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the .mid files")
    parser.add_argument(
        "--songs", type=options.int_range(1, 100), default=3, help="variations to write (1-100)"
    )
    parser.add_argument(
        "--gibbs",
        type=options.int_range(1, 10_000),
        default=None,
        help="Gibbs steps per window (default: the model kind's)",
    )
    parser.add_argument(
        "--temperature",
        type=options.float_range(0.0, 100.0, low_open=True),
        default=None,
        help="below 1 tamer, above 1 wilder (default: the model kind's)",
    )
    add_seed(parser)
    add_json(parser, help="print the written files as JSON")
    add_device(parser)


def prepared(args: argparse.Namespace):
    """(model, song) once the device is chosen, the model loaded and able to write given the
    notes on both sides, and the song read; `CommandError` with one line otherwise."""
    from ..music.midi import MidiImportError, read_midi
    from ..studio.cowrite import can_regenerate
    from .common import choose_device, load_model_or_exit

    choose_device(args.device)
    model = load_model_or_exit(args.model)
    problem = can_regenerate(model)
    if problem:
        raise CommandError(f"{Path(args.model).name}: {problem}", BAD_REQUEST)
    try:
        song = read_midi(args.song)
    except MidiImportError as exc:
        raise CommandError(f"{args.song}: {exc}") from None
    return model, song


def write_songs(args: argparse.Namespace, songs: list, stem: str, text: str) -> int:
    """Write `songs` as `stem-NN.mid` in `--out` (as `generate` writes its songs); print what
    was written (JSON with `--json`). Returns the exit status."""
    out = songs_folder(args.out)
    kept, failed = write_song_files(out, stem, songs, program=0, text=text)
    written = [{"path": str(p), "notes": len(s.notes), "seed": args.seed} for p, s, _ in kept]
    for path, song, where_asked in kept:
        if where_asked:
            print(f"wrote {path} ({len(song.notes)} notes, seed {args.seed})", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": written, "seed": args.seed}))
    return 1 if failed else 0


def sampled(make) -> list:
    """`make()`'s songs; a region or melody that cannot be written with (exit status 2) or a
    request the model refuses is a one-line error."""
    from ..studio.cowrite import CowriteError

    try:
        return make()
    except CowriteError as exc:
        raise CommandError(str(exc), BAD_REQUEST) from None
    except (ValueError, MemoryError) as exc:
        raise CommandError(str(exc) or "not enough memory for this request") from None
