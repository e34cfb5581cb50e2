"""Generated songs and library folders for the song-library tests (real MIDI files, no model)."""

from __future__ import annotations

import json
from pathlib import Path

from ui_songs import write_song

from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.midi import read_midi
from rbm_studio.studio.library import GeneratedSong, new_id


def generated(tmp: Path, seed: int, name: str | None = None) -> GeneratedSong:
    """A song as Generate makes it (read from a real MIDI file), with a fresh library id."""
    song = read_midi(write_song(tmp / f"src-{seed}.mid", seed=seed, bars=2))
    out = GeneratedSong(
        name=name or f"generated {seed + 1}",
        song=song,
        matrix=encode(song, Encoding()),
        seed=1000 + seed,
        settings={"bars": 2, "temperature": 1.0, "tempo": 100, "program": 0},
        model_id="0123456789abcdef",
        model_label="RBM (windows), 10 epochs",
    )
    out.id = new_id(out)
    return out


def index(library_folder: Path) -> dict:
    return json.loads((library_folder / "songs.json").read_bytes())


def song_files(library_folder: Path) -> dict[str, bytes]:
    """Every file under `songs/`, by name."""
    folder = library_folder / "songs"
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
