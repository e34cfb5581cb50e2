"""`rbm-studio render FILE.mid --out FILE.wav`: MIDI to audio through the built-in synth.

The built-in synth (TinySoundFont and the bundled or a chosen SoundFont) needs no other program,
so this works in the frozen app; `--fluidsynth` uses the `fluidsynth` program instead, for people
who prefer its sound.
"""

from __future__ import annotations

import argparse

from . import options
from .common import BAD_REQUEST, fail

NAME = "render"
HELP = "render a MIDI file to WAV with the built-in synth (or fluidsynth)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.mid", help="MIDI file to render")
    parser.add_argument(
        "--soundfont",
        help="SoundFont (.sf2/.sf3); default: the bundled General MIDI SoundFont "
        "(with --fluidsynth: the first one found in the system folders)",
    )
    parser.add_argument("--out", required=True, metavar="FILE.wav", help="WAV file to write")
    parser.add_argument(
        "--rate",
        type=options.int_range(8_000, 192_000),
        default=44_100,
        help="sample rate 8000-192000 (default 44100)",
    )
    parser.add_argument(
        "--program", type=options.program, default=0, help="GM program 0-127 (0 = piano)"
    )
    parser.add_argument(
        "--fluidsynth", action="store_true", help="render with the fluidsynth program instead"
    )


def _fluidsynth(args: argparse.Namespace) -> int:
    from ..playback.render import RenderError, find_soundfonts, render_midi_file

    soundfont = args.soundfont
    if soundfont is None:
        found = find_soundfonts()
        if not found:
            return fail("no SoundFont found; pass --soundfont FILE.sf2", BAD_REQUEST, label=None)
        soundfont = found[0]
    try:
        result = render_midi_file(args.file, soundfont, args.out, sample_rate=args.rate)
    except RenderError as exc:
        return fail(f"cannot render: {exc}", label=None)
    print(f"wrote {result.path} ({result.seconds:.1f} s, {result.sample_rate} Hz)")
    return 0


def run(args: argparse.Namespace) -> int:
    from .saving import OutputBusy, check_out, hold_out

    problem = check_out(args.out)  # a device, a FIFO, a folder: refused before any work
    if problem:
        return fail(f"cannot render: {problem}", BAD_REQUEST, label=None)
    try:
        with hold_out(args.out):
            return _fluidsynth(args) if args.fluidsynth else _builtin(args)
    except OutputBusy as exc:
        return fail(f"cannot render: {exc}", BAD_REQUEST, label=None)


def _builtin(args: argparse.Namespace) -> int:
    from ..music.midi import MidiImportError, read_midi
    from ..playback.synth import SynthError, render_song_wav

    try:
        song = read_midi(args.file)
    except MidiImportError as exc:
        return fail(f"cannot render {args.file}: {exc}", BAD_REQUEST, label=None)
    try:
        result = render_song_wav(
            song, args.out, program=args.program, soundfont=args.soundfont, sample_rate=args.rate
        )
    except SynthError as exc:
        return fail(f"cannot render: {exc}", label=None)
    print(
        f"wrote {result.path} ({result.seconds:.1f} s, {result.sample_rate} Hz, "
        f"peak {result.peak:.2f})"
    )
    return 0
