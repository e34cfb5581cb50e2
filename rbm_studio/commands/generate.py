"""`rbm-studio generate`: sample new songs from a `.rbm` model and write them as MIDI files.

Never overwrites: a name already taken gets a numbered suffix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..platform.devices import DEVICE_NAMES
from . import options

NAME = "generate"
HELP = "generate new songs from a trained .rbm model and write them as .mid files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.rbm")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the .mid files")
    parser.add_argument("--songs", type=options.positive_int, default=5)
    parser.add_argument(
        "--steps",
        type=options.positive_int,
        default=256,
        help="grid steps per song (new steps after a primer)",
    )
    parser.add_argument(
        "--gibbs",
        type=options.positive_int,
        default=None,
        help="Gibbs steps per window or step (default: the model kind's)",
    )
    parser.add_argument(
        "--temperature",
        type=options.positive_number,
        default=None,
        help="below 1 tamer, above 1 wilder (default: the model kind's)",
    )
    parser.add_argument("--seed", type=options.seed, default=0, help="random seed (0..2**32-1)")
    parser.add_argument(
        "--mode",
        choices=("windows", "continue"),
        default=None,
        help="windowed kinds: independent windows or each continuing the last (default: the "
        "kind's first mode); recurrent kinds always continue",
    )
    parser.add_argument("--start", choices=("silence", "noise"), default="silence")
    parser.add_argument(
        "--primer", metavar="FILE.mid", help="continue this song (implies --mode continue)"
    )
    parser.add_argument(
        "--key",
        metavar="'D minor'",
        help="only the notes of this key's scale (sampled given the others stay silent)",
    )
    parser.add_argument(
        "--lowest", type=options.pitch, metavar="PITCH", help="lowest MIDI pitch allowed"
    )
    parser.add_argument(
        "--highest", type=options.pitch, metavar="PITCH", help="highest MIDI pitch allowed"
    )
    parser.add_argument(
        "--program", type=options.program, default=0, help="General MIDI program 0-127 (0 = piano)"
    )
    parser.add_argument("--prefix", default="generated", help="file name prefix")
    parser.add_argument("--json", action="store_true", help="print the written files as JSON")
    parser.add_argument(
        "--device",
        choices=DEVICE_NAMES,
        default="auto",
        help="where JAX runs: auto (a GPU when JAX finds one), cpu or gpu",
    )


def run(args: argparse.Namespace) -> int:
    from ..models.model_file import ModelFileError, load_model
    from ..music.encoding import decode, encode
    from ..music.midi import MidiImportError, read_midi, unique_path, write_midi
    from ..platform import files
    from ..platform.devices import DeviceError
    from ..platform.devices import use as use_device
    from ..studio import generation
    from ..studio.generation import GenerationOptions
    from .saving import write_or_keep

    try:
        use_device(args.device)
    except DeviceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if Path(args.prefix).name != args.prefix or args.prefix in ("", ".", ".."):
        print(f"error: --prefix {args.prefix!r} must be a plain file name", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot use {out} for the songs: {files.reason(exc)}", file=sys.stderr)
        return 1
    try:
        model = load_model(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    primer = None
    if args.primer:
        try:
            song = read_midi(args.primer)
        except MidiImportError as exc:
            print(f"error: primer {args.primer}: {exc}", file=sys.stderr)
            return 1
        primer = encode(song, model.data_encoding)
    options = GenerationOptions(
        songs=args.songs,
        steps=args.steps,
        gibbs_steps=args.gibbs,
        temperature=args.temperature,
        mode=args.mode,
        start="continue" if primer is not None else args.start,
        key=args.key,
        lowest=args.lowest,
        highest=args.highest,
        program=args.program,
        tempo=None,
    )
    try:
        request = generation.plan(model, options, seed=args.seed, primer=primer).request
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        matrices = generation.sample(model, request)
    except (ValueError, MemoryError) as exc:
        print(f"error: {exc or 'not enough memory for this request'}", file=sys.stderr)
        return 1
    written = []
    failed = False
    for i, matrix in enumerate(matrices, start=1):
        path = unique_path(out, f"{args.prefix}-{i:02d}")
        song = decode(matrix)
        kept, error = write_or_keep(path, lambda p, s=song: write_midi(s, p, program=args.program))
        if error:
            failed = True
            print(f"error: cannot write {path.name}: {error}", file=sys.stderr)
        if kept is None:
            continue
        written.append({"path": str(kept), "notes": len(song.notes), "steps": matrix.steps})
        if not error:
            print(f"wrote {kept} ({len(song.notes)} notes)", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": written}))
    return 1 if failed else 0
