"""A tiny model really trained on real MIDI files, for the studio tests: a few songs written with
mido (`ui_songs.write_song`), read back, encoded on a one-octave-and-a-half grid and learnt by the
RBM kind for two epochs, so generating from it is quick and what it makes is real."""

from __future__ import annotations

from pathlib import Path

from ui_songs import write_song

from rbm_studio.models import registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.music.encoding import Encoding, StateMatrix, encode
from rbm_studio.music.midi import read_midi

ENCODING = Encoding(steps_per_beat=2, low=36, high=84)


def songs(folder: Path, count: int = 3, bars: int = 4) -> list[StateMatrix]:
    """`count` real MIDI songs written to `folder` and read back as matrices."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_song(folder / f"song-{i}.mid", seed=i, bars=bars) for i in range(count)]
    return [encode(read_midi(p), ENCODING) for p in paths]


def train(folder: Path) -> Model:
    """An RBM trained for two epochs on the songs `songs` writes into `folder`."""
    config = TrainingConfig(hidden=16, window=4, batch_size=8, epochs=20, learning_rate=0.1, seed=0)
    trainer = registry.make_trainer(config, songs(folder), ENCODING)
    for _progress in trainer:
        pass
    return trainer.snapshot()
