"""`rbm-studio render FILE.mid --soundfont SF2 --out FILE.wav`: MIDI to audio with FluidSynth."""

from __future__ import annotations

import argparse
import sys

NAME = "render"
HELP = "render a MIDI file to WAV with fluidsynth and a SoundFont"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.mid", help="MIDI file to render")
    parser.add_argument(
        "--soundfont",
        help="SoundFont (.sf2/.sf3); default: the first one found in the system folders",
    )
    parser.add_argument("--out", required=True, metavar="FILE.wav", help="WAV file to write")
    parser.add_argument("--rate", type=int, default=44_100, help="sample rate (default 44100)")


def run(args: argparse.Namespace) -> int:
    from ..playback.render import RenderError, find_soundfonts, render_midi_file

    soundfont = args.soundfont
    if soundfont is None:
        found = find_soundfonts()
        if not found:
            print("no SoundFont found; pass --soundfont FILE.sf2", file=sys.stderr)
            return 2
        soundfont = found[0]
    try:
        result = render_midi_file(args.file, soundfont, args.out, sample_rate=args.rate)
    except RenderError as exc:
        print(f"cannot render: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result.path} ({result.seconds:.1f} s, {result.sample_rate} Hz)")
    return 0
