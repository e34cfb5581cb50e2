"""Side by side: songs from a windowed RBM (continuation mode) and from an RNN-RBM, both trained on
the same songs. Writes each generated song as MIDI and as a piano-roll PNG, and prints statistics
against the training songs (pitch-class histogram distance, polyphony, rhythm, bar repetition).

    .venv/bin/python tools/compare_models.py --rbm /tmp/rbm.rbm --rnn /tmp/rnn.rbm \
        --songs-dir rbm_studio/resources/sample_midi --out tests/artifacts/compare
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rbm_studio.data.dataset import import_folder  # noqa: E402
from rbm_studio.models import registry  # noqa: E402
from rbm_studio.models.base import GenerateRequest  # noqa: E402
from rbm_studio.models.model_file import load_model  # noqa: E402
from rbm_studio.music.encoding import StateMatrix, decode  # noqa: E402
from rbm_studio.music.midi import write_midi  # noqa: E402
from rbm_studio.music.stats import histogram_distance, music_stats  # noqa: E402


def write_png(path: Path, rgb: np.ndarray) -> None:
    """A minimal PNG writer (8-bit RGB, no filtering): enough for piano-roll pictures."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def piano_roll_rgb(m: StateMatrix, step_px: int = 2, pitch_px: int = 3) -> np.ndarray:
    """Pitch upwards, time to the right; held notes blue, onsets dark, bar lines and C's grey."""
    span, steps = m.encoding.span, m.steps
    img = np.full((span * pitch_px, steps * step_px, 3), 255, np.uint8)
    for j in range(span):
        if (m.encoding.low + j) % 12 == 0:  # every C: a faint line
            y = (span - 1 - j) * pitch_px + pitch_px - 1
            img[y, :] = (225, 225, 225)
    num, den = m.time_signature
    per_bar = max(1, round(num * 4 / den * m.encoding.steps_per_beat))
    img[:, :: per_bar * step_px] = (200, 200, 200)
    ys, xs = np.nonzero(m.sounding.T[::-1])
    for y, x in zip(ys, xs, strict=True):
        img[y * pitch_px : (y + 1) * pitch_px - 1, x * step_px : (x + 1) * step_px] = (70, 110, 200)
    ys, xs = np.nonzero(m.struck.T[::-1])
    for y, x in zip(ys, xs, strict=True):
        img[y * pitch_px : (y + 1) * pitch_px - 1, x * step_px] = (20, 30, 80)
    return img


def crop_to_used_pitches(img: np.ndarray, matrices: list[StateMatrix], pitch_px: int = 3):
    """Keep the band of pitch rows any of `matrices` uses (plus a little margin)."""
    used = np.zeros(matrices[0].encoding.span, bool)
    for m in matrices:
        used |= m.sounding.any(axis=0)
    cols = np.flatnonzero(used)
    if not len(cols):
        return img
    span = len(used)
    top = (span - 1 - min(cols[-1] + 3, span - 1)) * pitch_px
    bottom = (span - max(cols[0] - 3, 0)) * pitch_px
    return img[top:bottom]


def generate(model, **request) -> list[StateMatrix]:
    """Songs from `model` through its kind's registry entry, as the app and the CLI draw them."""
    return registry.kind(model.kind).generate(model, GenerateRequest(**request))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rbm", type=Path, required=True, help="windowed RBM .rbm model")
    ap.add_argument("--rnn", type=Path, required=True, help="RNN-RBM .rbm model")
    ap.add_argument("--songs-dir", type=Path, required=True, help="the songs both learned from")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--songs", type=int, default=3)
    ap.add_argument("--bars", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rbm-gibbs", type=int, default=25)
    ap.add_argument("--rnn-gibbs", type=int, default=25)
    ap.add_argument("--temperature", type=float, default=1.0)
    args = ap.parse_args()

    report = import_folder(args.songs_dir)
    training = report.matrices
    rbm, rnn = load_model(args.rbm), load_model(args.rnn)
    steps_per_bar = 4 * rbm.encoding.steps_per_beat
    steps = args.bars * steps_per_bar
    made = {
        "rbm": generate(
            rbm,
            songs=args.songs,
            steps=steps,
            gibbs_steps=args.rbm_gibbs,
            temperature=args.temperature,
            seed=args.seed,
            mode="continue",
        ),
        "rnn-rbm": generate(
            rnn,
            songs=args.songs,
            steps=steps,
            gibbs_steps=args.rnn_gibbs,
            temperature=args.temperature,
            seed=args.seed,
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    everything = training + made["rbm"] + made["rnn-rbm"]
    for kind, matrices in made.items():
        for i, m in enumerate(matrices, start=1):
            stem = args.out / f"{kind}-{i}"
            write_midi(decode(m), stem.with_suffix(".mid"))
            write_png(stem.with_suffix(".png"), crop_to_used_pitches(piano_roll_rgb(m), everything))
    reference = music_stats(training)
    rows = {"training songs": reference} | {k: music_stats(v) for k, v in made.items()}
    print(f"{len(training)} training songs from {args.songs_dir}; {args.songs} × {args.bars} bars")
    header = "| songs | pitch-class distance | mean polyphony | silence | onsets/step | "
    header += "bars repeated | range |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for name, s in rows.items():
        dist = histogram_distance(s.pitch_classes, reference.pitch_classes)
        print(
            f"| {name} | {dist:.3f} | {s.mean_polyphony:.2f} | {100 * s.silence:.1f}% | "
            f"{s.onsets_per_step:.2f} | {100 * s.bar_repetition:.1f}% | "
            f"{s.pitch_range[0]}–{s.pitch_range[1]} |"
        )
        summary[name] = s.to_dict() | {"pitch_class_distance": dist}
    (args.out / "stats.json").write_text(json.dumps(summary, indent=1))
    print(f"MIDI, PNG and stats.json in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
