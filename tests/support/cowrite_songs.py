"""Real MIDI songs and a tiny RBM really trained on them, for the co-writing tests: four-part
chord loops (bass, two inner voices, a tune on top) in C major written with the app's MIDI
writer and read back, learnt for a few seconds, so what the model writes into a region or under
a melody is real sampling from a real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rbm_studio.models import registry
from rbm_studio.models.document import Model
from rbm_studio.models.model_file import save_model
from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature

ENCODING = Encoding(steps_per_beat=4, low=36, high=84)
BAR_BEATS = 4.0
ROOTS = (0, 5, 7, 9, 2)  # C F G A D: the chords of C major the loops use
TRIADS = {0: (0, 4, 7), 5: (0, 4, 7), 7: (0, 4, 7), 9: (0, 3, 7), 2: (0, 3, 7)}


def chord_song(seed: int, bars: int = 12) -> Song:
    """A four-bar loop of two chords a bar (bass, two inner voices) under a tune of quarter
    notes from each chord, repeated for `bars` bars; downbeats louder."""
    r = np.random.default_rng(seed)
    roots = [int(x) for x in r.choice(ROOTS, size=8)]
    picks = r.integers(0, 3, size=(4, 4))
    notes: list[Note] = []
    for b in range(bars):
        for half in range(2):
            root = roots[(b % 4) * 2 + half]
            t = b * BAR_BEATS + half * 2.0
            third, fifth = (60 + root + i for i in TRIADS[root][1:])
            notes += [Note(36 + root, t, t + 2.0, 90), Note(third - 12, t, t + 2.0, 70)]
            notes.append(Note(fifth - 12, t, t + 2.0, 70))
        for beat in range(4):
            root = roots[(b % 4) * 2 + beat // 2]
            pitch = 72 + root + TRIADS[root][int(picks[b % 4, beat])]
            start = b * BAR_BEATS + beat
            notes.append(Note(min(pitch, 84), start, start + 1.0, 100 if beat == 0 else 75))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return Song(notes, [TempoChange(0.0, 90.0)], [TimeSignature(0.0, 4, 4)], title=f"loop {seed}")


def write_songs(folder: Path, count: int = 6, bars: int = 8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(write_midi(chord_song(i, bars), folder / f"loop-{i}.mid"))
    return paths


def train(folder: Path) -> tuple[Model, Path]:
    """(the model, its file) learnt from the songs `write_songs` puts in `folder/songs`."""
    matrices = [encode(read_midi(p), ENCODING) for p in write_songs(folder / "songs")]
    config = registry.default_config(
        "rbm",
        hidden=32,
        epochs=15,
        batch_size=8,
        learning_rate=0.02,
        cd_k=1,
        patience=None,
        minutes=None,
        seed=1,
    )
    trainer = registry.make_trainer(config, matrices, ENCODING)
    for _ in trainer:
        pass
    model = trainer.result()
    return model, save_model(model, folder / "loops.rbm")
