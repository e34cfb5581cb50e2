"""`rbm-studio generate`: sample new songs from a `.rbm` model and write them as MIDI files.

Never overwrites: a name already taken gets a numbered suffix.
"""

from __future__ import annotations

import argparse
import json
import secrets
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
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--steps",
        type=options.positive_int,
        default=None,
        help="grid steps per song (new steps after a primer; default 256)",
    )
    length.add_argument(
        "--bars",
        type=options.positive_int,
        default=None,
        help="bars per song, in the model's metre (instead of --steps)",
    )
    parser.add_argument(
        "--form",
        type=_form,
        default="like-songs",
        metavar="like-songs|loop:N|free",
        help="like-songs: bars repeat and vary as in the training songs (default); loop:N: a "
        "seamless N-bar loop, repeated; free: through-composed",
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
    parser.add_argument(
        "--seed",
        type=options.seed,
        default=None,
        help="random seed (0..2**32-1; default: a fresh one each run, printed and written into "
        "each file)",
    )
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


def _form(text: str) -> str:
    from ..music.form import parse_form

    try:
        return str(parse_form(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _steps(args: argparse.Namespace, model, primer) -> int:
    """`--steps` (256 by default), or `--bars` in the primer's metre (else the model's)."""
    if not args.bars:
        return args.steps or 256
    num, den = primer.time_signature if primer is not None else model.time_signature
    return args.bars * max(1, round(num * 4 / den * model.data_encoding.steps_per_beat))


def _announce(kind, model, request, model_name: str) -> tuple[str, str]:
    """Say which seed and form the songs get (and why not the form asked for); returns the form
    and the text each file carries."""
    from ..models.base import form_for

    form, note = form_for(kind, model, request)
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(f"seed {request.seed}, form {form}", file=sys.stderr)
    return form, f"rbm-studio generate: model {model_name}, seed {request.seed}, form {form}"


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from ..models.base import GenerateRequest
    from ..models.model_file import ModelFileError, load_model
    from ..music.encoding import decode, encode
    from ..music.keys import key_pitch_classes
    from ..music.midi import MidiImportError, read_midi, unique_path, write_midi
    from ..music.parts import split_parts
    from ..platform import files
    from ..platform.devices import DeviceError
    from ..platform.devices import use as use_device
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
    try:
        pitch_classes = key_pitch_classes(args.key) if args.key else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seed = secrets.randbelow(2**32) if args.seed is None else args.seed
    request = GenerateRequest(
        pitch_classes=pitch_classes,
        lowest=args.lowest,
        highest=args.highest,
        songs=args.songs,
        steps=_steps(args, model, primer),
        gibbs_steps=args.gibbs,
        temperature=args.temperature,
        seed=seed,
        mode=args.mode,
        start=args.start,
        primer=primer,
        form=args.form,
    )
    kind = registry.kind(model.kind)
    form, text = _announce(kind, model, request, Path(args.model).name)
    try:
        matrices = kind.generate(model, request)
    except (ValueError, MemoryError) as exc:
        print(f"error: {exc or 'not enough memory for this request'}", file=sys.stderr)
        return 1
    written = []
    failed = False
    for i, matrix in enumerate(matrices, start=1):
        path = unique_path(out, f"{args.prefix}-{i:02d}")
        # melody, chords and bass on named tracks of their own: what a DAW works with
        song = split_parts(decode(matrix))
        kept, error = write_or_keep(
            path, lambda p, s=song: write_midi(s, p, program=args.program, text=text)
        )
        if error:
            failed = True
            print(f"error: cannot write {path.name}: {error}", file=sys.stderr)
        if kept is None:
            continue
        written.append(
            {"path": str(kept), "notes": len(song.notes), "steps": matrix.steps, "seed": seed}
        )
        if not error:
            print(f"wrote {kept} ({len(song.notes)} notes)", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": written, "seed": seed, "form": form}))
    return 1 if failed else 0
