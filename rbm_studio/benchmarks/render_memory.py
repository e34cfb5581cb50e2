"""`rbm-studio bench render`: the built-in synth's WAV export against the song's length.

Each render runs `rbm-studio render` in a fresh child process that reports its own peak RSS
(VmHWM, as `bench scale` does), on the drift benchmark's test song (a melody in sixteenths over
three-note chords) made 1, 10, 30 and 60 minutes long. Rendering streams to the file in blocks,
so the audio adds nothing that grows with the song (a whole-song buffer would grow by the audio
itself: rate × 2 channels × 4 bytes a second, and again for its 16-bit copy). What still grows
is the song's own notes and events (the MIDI file read, the schedule), shown beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from ..commands.common import add_json

NAME = "render"
HELP = "WAV export: peak memory and speed of `render` against the song's length (child processes)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        default=[1.0, 10.0, 30.0, 60.0],
        metavar="M",
        help="song lengths to render (default 1 10 30 60)",
    )
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..music.midi import write_midi
    from .playback_drift import SYNTH_PROGRAM, test_song
    from .scale import _child_env, _measure

    rows = []
    with tempfile.TemporaryDirectory(prefix="rbm-bench-render-") as tmp:
        for minutes in args.minutes:
            song_path = Path(tmp) / "song.mid"
            out = Path(tmp) / "song.wav"
            song = test_song(minutes * 60.0)
            write_midi(song, song_path, program=SYNTH_PROGRAM)
            cmd = [sys.executable, "-m", "rbm_studio", "render", str(song_path), "--out", str(out)]
            _stdout, wall, peak_mib = _measure(cmd, _child_env())
            size = out.stat().st_size
            seconds = (size - 44) / (4 * 44_100)
            rows.append(
                {
                    "minutes": minutes,
                    "notes": len(song.notes),
                    "audio_s": round(seconds, 1),
                    "wav_mb": round(size / 1e6, 1),
                    "peak_rss_mib": round(peak_mib, 1),
                    "wall_s": round(wall, 2),
                    "x_realtime": round(seconds / wall, 1),
                }
            )
            os.unlink(out)
            if not args.json:
                r = rows[-1]
                print(
                    f"{minutes:5g} min ({r['notes']} notes): peak RSS {r['peak_rss_mib']:7.1f} MiB, "
                    f"WAV {r['wav_mb']:7.1f} MB, {r['wall_s']:6.1f} s ({r['x_realtime']}× real time)",
                    flush=True,
                )
    growth = rows[-1]["peak_rss_mib"] - rows[0]["peak_rss_mib"] if rows else 0.0
    if args.json:
        print(json.dumps({"renders": rows, "peak_growth_mib": round(growth, 1)}))
    else:
        print(f"peak RSS growth from the shortest to the longest song: {growth:+.1f} MiB")
    return 0
