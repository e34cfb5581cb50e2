"""Real MIDI files for the GUI tests, written with mido (small, seeded, musically plausible)."""

from __future__ import annotations

import random
from pathlib import Path

import mido

TICKS = 480


def write_song(path: Path, seed: int, bars: int = 8) -> Path:
    """A 4/4 song at 100 BPM: an eighth-note melody over a half-note bass, varied velocities."""
    rng = random.Random(seed)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("track_name", name=f"Test song {seed}", time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    mid.tracks.append(meta)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    events: list[tuple[int, str, int, int]] = []
    for step in range(bars * 8):
        pitch = rng.choice(scale) + rng.choice([0, 0, 12])
        start = step * TICKS // 2
        vel = rng.randint(40, 120)
        events.append((start, "note_on", pitch, vel))
        events.append((start + TICKS // 2 - 10, "note_off", pitch, 0))
    for half in range(bars * 2):
        pitch = rng.choice([36, 41, 43, 45])
        start = half * TICKS * 2
        events.append((start, "note_on", pitch, 70))
        events.append((start + TICKS * 2 - 10, "note_off", pitch, 0))
    events.sort(key=lambda e: (e[0], e[1] == "note_on"))
    track = mido.MidiTrack()
    now = 0
    for tick, kind, pitch, vel in events:
        track.append(mido.Message(kind, note=pitch, velocity=vel, time=tick - now))
        now = tick
    mid.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(path)
    return path


def make_song_folder(folder: Path, count: int = 6, bars: int = 8) -> Path:
    for i in range(count):
        write_song(folder / f"song{i:02d}.mid", seed=i, bars=bars)
    return folder


def make_broken_folder(folder: Path) -> Path:
    """Three good songs and three files that must be skipped with a reason."""
    make_song_folder(folder, count=3)
    (folder / "not_midi.mid").write_text("this is a text file, not MIDI\n")
    (folder / "empty.mid").write_bytes(b"")
    good = (folder / "song00.mid").read_bytes()
    (folder / "truncated.mid").write_bytes(good[:30])
    return folder
