"""`rbm-studio regenerate`: write some bars of a song again with a model, given the bars on both
sides of them; everything outside the bars (and the pitch range, when given) stays as it was."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from . import cowriting, options

NAME = "regenerate"
HELP = "write bars of a song again with a .rbm model, given the music on both sides of them"


def bars(text: str) -> tuple[int, int]:
    """`5-8` (or `5`): bars counted from 1, as (first, last) counted from 0."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*(?:[-–]\s*(\d{1,6}))?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"must be bars like 5-8 or 5, not {text!r}")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 1 <= first <= last:
        raise argparse.ArgumentTypeError(f"must be bars from 1 up, first ≤ last, not {text!r}")
    return first - 1, last - 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cowriting.add_arguments(parser, "SONG.mid")
    parser.add_argument(
        "--bars", type=bars, required=True, metavar="5-8", help="the bars to write again (from 1)"
    )
    parser.add_argument(
        "--lowest", type=options.pitch, metavar="PITCH", help="only notes from this MIDI pitch up"
    )
    parser.add_argument(
        "--highest", type=options.pitch, metavar="PITCH", help="only notes up to this MIDI pitch"
    )


def run(args: argparse.Namespace) -> int:
    from ..studio import cowrite
    from .common import BAD_REQUEST, CommandError

    try:
        region = cowrite.Region(*args.bars, args.lowest, args.highest)
    except cowrite.CowriteError as exc:
        raise CommandError(str(exc), BAD_REQUEST) from None
    model, song = cowriting.prepared(args)
    songs = cowriting.sampled(
        lambda: cowrite.regenerate(
            model,
            song,
            region,
            args.songs,
            args.seed,
            gibbs_steps=args.gibbs,
            temperature=args.temperature,
        )
    )
    first, last = args.bars
    text = (
        f"rbm-studio regenerate: model {Path(args.model).name}, bars {first + 1}-{last + 1}, "
        f"seed {args.seed}"
    )
    return cowriting.write_songs(
        args, songs, f"{Path(args.song).stem}-bars-{first + 1}-{last + 1}", text
    )
