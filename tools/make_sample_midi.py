"""Write the bundled sample songs: Bach chorales from the JSB Chorales benchmark as MIDI files.

    .venv/bin/python tools/make_sample_midi.py [--source JSB_Chorales.mat] [--out DIR] [--count 40]

Pieces are taken evenly spaced from the benchmark's train split and written with our own
decoder and MIDI writer: one benchmark frame is one quarter note, 90 BPM, 4/4, default velocity,
title "Chorale NNN" where NNN is the piece's 1-based index in the train split. The output is
deterministic, so re-running it reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rbm_studio.data.benchmark_data import load_benchmark  # noqa: E402
from rbm_studio.music.encoding import decode  # noqa: E402
from rbm_studio.music.midi import write_midi  # noqa: E402
from rbm_studio.music.song import TempoChange, TimeSignature  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "polyphonic" / "JSB_Chorales.mat"
DEFAULT_OUT = ROOT / "rbm_studio" / "resources" / "sample_midi"
BPM = 90.0


def chosen_indices(available: int, count: int) -> list[int]:
    """`count` train-split indices spread evenly over `available` pieces."""
    count = min(count, available)
    return sorted({round(i * available / count) for i in range(count)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args(argv)

    corpus = load_benchmark(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("chorale_*.mid"):
        stale.unlink()
    for index in chosen_indices(len(corpus.train), args.count):
        matrix = corpus.train[index]
        song = decode(matrix)  # one grid step of the benchmark encoding is one quarter note
        number = index + 1
        song.title = f"Chorale {number:03}"
        song.tempos = [TempoChange(0.0, BPM)]
        song.time_signatures = [TimeSignature(0.0, 4, 4)]
        write_midi(song, args.out / f"chorale_{number:03}.mid")
    written = sorted(args.out.glob("chorale_*.mid"))
    print(f"wrote {len(written)} chorales to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
