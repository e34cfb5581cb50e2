"""`rbm-studio harmonise`: keep a melody and let a model write the voices under it. The melody is
a one-line MIDI file, or the top line of any other; its notes come out unchanged."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cowriting

NAME = "harmonise"
HELP = "write the voices under a melody with a .rbm model (the melody's notes stay as they are)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cowriting.add_arguments(parser, "MELODY.mid")


def run(args: argparse.Namespace) -> int:
    from ..studio import cowrite

    model, melody = cowriting.prepared(args)
    if not cowrite.is_one_line(model, melody):
        print(
            f"note: {Path(args.song).name} has notes that sound together: harmonising its top line",
            file=sys.stderr,
        )
        melody = cowrite.top_line(melody)
    songs = cowriting.sampled(
        lambda: cowrite.harmonise(
            model,
            melody,
            args.songs,
            args.seed,
            gibbs_steps=args.gibbs,
            temperature=args.temperature,
        )
    )
    text = f"rbm-studio harmonise: model {Path(args.model).name}, seed {args.seed}"
    return cowriting.write_songs(args, songs, f"{Path(args.song).stem}-harmonised", text)
