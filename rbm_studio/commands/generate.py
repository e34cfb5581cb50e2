"""`rbm-studio generate`: sample new songs from a `.rbm` model and write them as MIDI files.

Never overwrites: a name already taken gets a numbered suffix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options
from .common import BAD_REQUEST, CommandError, add_device, add_json, add_seed, fail

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
    add_seed(parser)
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
    add_json(parser, help="print the written files as JSON")
    add_device(parser)


def _out_dir(args: argparse.Namespace) -> Path:
    """The folder for the songs, made if need be, once `--prefix` is known to be a plain name."""
    from ..platform import files

    if Path(args.prefix).name != args.prefix or args.prefix in ("", ".", ".."):
        raise CommandError(f"--prefix {args.prefix!r} must be a plain file name", BAD_REQUEST)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot use {out} for the songs: {files.reason(exc)}") from None
    return out


def _primer(args: argparse.Namespace, model):
    """The `--primer` song in the model's encoding, or None."""
    from ..music.encoding import encode
    from ..music.midi import MidiImportError, read_midi

    if not args.primer:
        return None
    try:
        song = read_midi(args.primer)
    except MidiImportError as exc:
        raise CommandError(f"primer {args.primer}: {exc}") from None
    return encode(song, model.data_encoding)


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from ..models.base import GenerateRequest
    from ..music.encoding import decode
    from ..music.keys import key_pitch_classes
    from ..music.midi import unique_path, write_midi
    from .common import choose_device, load_model_or_exit
    from .saving import write_or_keep

    choose_device(args.device)
    out = _out_dir(args)
    model = load_model_or_exit(args.model)
    primer = _primer(args, model)
    try:
        pitch_classes = key_pitch_classes(args.key) if args.key else None
    except ValueError as exc:
        return fail(exc, BAD_REQUEST)
    request = GenerateRequest(
        pitch_classes=pitch_classes,
        lowest=args.lowest,
        highest=args.highest,
        songs=args.songs,
        steps=args.steps,
        gibbs_steps=args.gibbs,
        temperature=args.temperature,
        seed=args.seed,
        mode=args.mode,
        start=args.start,
        primer=primer,
    )
    try:
        matrices = registry.kind(model.kind).generate(model, request)
    except (ValueError, MemoryError) as exc:
        return fail(exc or "not enough memory for this request")
    written = []
    failed = False
    for i, matrix in enumerate(matrices, start=1):
        path = unique_path(out, f"{args.prefix}-{i:02d}")
        song = decode(matrix)
        kept, error = write_or_keep(path, lambda p, s=song: write_midi(s, p, program=args.program))
        if error:
            failed = True
            fail(f"cannot write {path.name}: {error}")
        if kept is None:
            continue
        written.append({"path": str(kept), "notes": len(song.notes), "steps": matrix.steps})
        if not error:
            print(f"wrote {kept} ({len(song.notes)} notes)", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": written}))
    return 1 if failed else 0
