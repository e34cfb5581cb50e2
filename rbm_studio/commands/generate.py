"""`rbm-studio generate`: sample new songs from a `.rbm` model and write them as MIDI files.

Never overwrites: a name already taken gets a numbered suffix.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

from . import options
from .common import (
    BAD_REQUEST,
    CommandError,
    add_device,
    add_json,
    add_seed,
    fail,
    songs_folder,
    write_song_files,
)

NAME = "generate"
HELP = "generate new songs from a trained .rbm model and write them as .mid files"


def _add_length_options(parser: argparse.ArgumentParser) -> None:
    """How long each song is, and its form."""
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
        default=None,
        metavar="like-songs|loop:N|free",
        help="like-songs: bars repeat and vary as in the training songs (default, where the model "
        "learned its songs' form); loop:N: a seamless N-bar loop, repeated; free: "
        "through-composed",
    )


def _add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """How the model samples: Gibbs steps, temperature, seed, mode, start and primer."""
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
    add_seed(
        parser,
        help="random seed (0..2**32-1; default: a fresh one each run, printed and written into "
        "each file)",
        default=None,
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


def _add_note_options(parser: argparse.ArgumentParser) -> None:
    """Which notes may sound, and the instrument they play on."""
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.rbm")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the .mid files")
    parser.add_argument("--songs", type=options.positive_int, default=5)
    _add_length_options(parser)
    _add_sampling_options(parser)
    _add_note_options(parser)
    parser.add_argument("--prefix", default="generated", help="file name prefix")
    add_json(parser, help="print the written files as JSON")
    add_device(parser)


def _out_dir(args: argparse.Namespace) -> Path:
    """The folder for the songs, made if need be, once `--prefix` is known to be a plain name."""
    if Path(args.prefix).name != args.prefix or args.prefix in ("", ".", ".."):
        raise CommandError(f"--prefix {args.prefix!r} must be a plain file name", BAD_REQUEST)
    return songs_folder(args.out)


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
    from ..music.song import steps_per_bar

    metre = primer.time_signature if primer is not None else model.time_signature
    return args.bars * steps_per_bar(metre, model.data_encoding.steps_per_beat)


def _announce(kind, model, request, model_name: str, asked: bool) -> tuple[str, str]:
    """The form the songs get and the text each file carries (seed and form, so a song can be
    made again); says why not the form asked for when `--form` asked for one."""
    from ..models.base import form_for

    form, note = form_for(kind, model, request)
    if note and asked:
        print(f"note: {note}", file=sys.stderr)
    return form, f"rbm-studio generate: model {model_name}, seed {request.seed}, form {form}"


def _write_songs(args: argparse.Namespace, out: Path, matrices, text: str, seed: int, form: str):
    """Write each sampled matrix as a .mid file in `out`; return (written entries, any failed)."""
    from ..music.encoding import decode

    songs = [decode(matrix) for matrix in matrices]
    kept, failed = write_song_files(out, args.prefix, songs, program=args.program, text=text)
    steps = {id(song): matrix.steps for song, matrix in zip(songs, matrices, strict=True)}
    written = []
    for path, song, where_asked in kept:
        written.append(
            {"path": str(path), "notes": len(song.notes), "steps": steps[id(song)], "seed": seed}
        )
        if where_asked:
            print(
                f"wrote {path} ({len(song.notes)} notes, seed {seed}, form {form})", file=sys.stderr
            )
    return written, failed


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from ..studio import generation
    from ..studio.generation import GenerationOptions
    from .common import choose_device, load_model_or_exit

    choose_device(args.device)
    out = _out_dir(args)
    model = load_model_or_exit(args.model)
    primer = _primer(args, model)
    seed = secrets.randbelow(2**32) if args.seed is None else args.seed
    options = GenerationOptions(
        songs=args.songs,
        steps=_steps(args, model, primer),
        gibbs_steps=args.gibbs,
        temperature=args.temperature,
        mode=args.mode,
        start="continue" if primer is not None else args.start,
        key=args.key,
        lowest=args.lowest,
        highest=args.highest,
        program=args.program,
        tempo=None,
        form=args.form or "like-songs",
    )
    try:
        request = generation.plan(model, options, seed=seed, primer=primer).request
    except ValueError as exc:
        return fail(exc, BAD_REQUEST)
    kind = registry.kind(model.kind)
    form, text = _announce(kind, model, request, Path(args.model).name, args.form is not None)
    try:
        matrices = generation.sample(model, request)
    except (ValueError, MemoryError) as exc:
        return fail(exc or "not enough memory for this request")
    written, failed = _write_songs(args, out, matrices, text, seed, form)
    if args.json:
        print(json.dumps({"files": written, "seed": seed, "form": form}))
    return 1 if failed else 0
