"""`rbm-studio generate`: sample new songs from a `.rbm` model and write them as MIDI files.

Never overwrites: a name already taken gets a numbered suffix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAME = "generate"
HELP = "generate new songs from a trained .rbm model and write them as .mid files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.rbm")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the .mid files")
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument(
        "--steps", type=int, default=256, help="grid steps per song (new steps after a primer)"
    )
    parser.add_argument(
        "--gibbs",
        type=int,
        default=None,
        help="Gibbs steps per window (default 1; an rnn-rbm model: 25 per step)",
    )
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("windows", "continue"), default="windows")
    parser.add_argument("--start", choices=("silence", "noise"), default="silence")
    parser.add_argument(
        "--primer", metavar="FILE.mid", help="continue this song (implies --mode continue)"
    )
    parser.add_argument("--program", type=int, default=0, help="General MIDI program (0 = piano)")
    parser.add_argument("--prefix", default="generated", help="file name prefix")
    parser.add_argument("--json", action="store_true", help="print the written files as JSON")


def unique_path(folder: Path, stem: str, suffix: str = ".mid") -> Path:
    """`folder/stem.mid`, or `stem-2.mid`, `stem-3.mid`… if taken."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def run(args: argparse.Namespace) -> int:
    from ..models.model_file import ModelFileError, load_model
    from ..models.rbm.sampler import generate
    from ..music.encoding import decode, encode
    from ..music.midi import MidiImportError, read_midi, write_midi

    try:
        model = load_model(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    primer = None
    mode = args.mode
    if args.primer:
        try:
            song = read_midi(args.primer)
        except MidiImportError as exc:
            print(f"error: primer {args.primer}: {exc}", file=sys.stderr)
            return 1
        data_enc = model.encoding
        if model.frame_level and "data_encoding" in model.dataset:
            from ..music.encoding import Encoding

            data_enc = Encoding.from_dict(model.dataset["data_encoding"])
        primer = encode(song, data_enc)
        mode = "continue"
    try:
        matrices = generate(
            model,
            songs=args.songs,
            steps=args.steps,
            gibbs_steps=args.gibbs or (25 if model.kind == "rnn-rbm" else 1),
            temperature=args.temperature,
            seed=args.seed,
            mode=mode,
            start=args.start,
            primer=primer,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, matrix in enumerate(matrices, start=1):
        path = unique_path(out, f"{args.prefix}-{i:02d}")
        song = decode(matrix)
        write_midi(song, path, program=args.program)
        written.append({"path": str(path), "notes": len(song.notes), "steps": matrix.steps})
        print(f"wrote {path} ({len(song.notes)} notes)", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": written}))
    return 0
