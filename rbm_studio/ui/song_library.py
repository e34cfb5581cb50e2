"""The generated songs a musician keeps across restarts: each song's MIDI file, seed, settings and
star, and the model that made it, in the user data folder.

Layout: `library/songs.json` (the list, in order), `library/songs/<id>.mid` and
`library/models/<model id>.rbm` (one copy per distinct model, so "again with this seed" works
after a restart). No Qt: the panel calls it from worker threads; every write is atomic and the
newest list wins when saves overlap.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..music.encoding import Encoding, StateMatrix, encode
from ..music.keys import pitch_name
from ..music.song import Song, TempoChange

LIBRARY_FORMAT = 1
INDEX_NAME = "songs.json"


@dataclass
class GeneratedSong:
    """One generated song and everything needed to explain and remake it."""

    name: str
    song: Song
    matrix: StateMatrix
    seed: int = 0
    settings: dict = field(default_factory=dict)  # the generation options that made it
    model_id: str = ""  # the model's content hash (its copy in the library)
    model_label: str = ""  # "RBM (windows), 1067 epochs"
    starred: bool = False
    program: int = 0  # General MIDI instrument of playback and export
    primer_beats: float | None = None  # a continued song: where the primer ends
    id: str = ""  # file name in the library

    @property
    def tempo(self) -> float:
        return self.song.first_bpm

    def set_tempo(self, bpm: float) -> None:
        self.song.tempos = [TempoChange(0.0, float(bpm))]

    def describe(self) -> str:
        """One line of plain ASCII (any DAW shows it): which model, seed and settings made it;
        the tooltip and the MIDI file's text event."""
        s = self.settings
        parts = [f"RBM Studio: {self.name}"]
        if self.model_label:
            parts.append(f"model {self.model_label}")
        parts.append(f"seed {self.seed}")
        if s.get("bars"):
            parts.append(f"{s['bars']} bars")
        if s.get("temperature") is not None:
            parts.append(f"temperature {float(s['temperature']):.2f}")
        if s.get("gibbs_steps"):
            parts.append(f"{s['gibbs_steps']} Gibbs steps")
        key = s.get("key")
        if key == "songs":
            parts.append("in the songs' key")
        elif key and key != "any":
            parts.append(f"in {key}")
        if s.get("lowest") is not None or s.get("highest") is not None:
            low, high = s.get("lowest"), s.get("highest")
            low_name = pitch_name(low) if low is not None else "any"
            high_name = pitch_name(high) if high is not None else "any"
            parts.append(f"notes {low_name} to {high_name}")
        if s.get("primer"):
            parts.append(f"continues {s['primer']}")
        parts.append(f"{self.tempo:.0f} BPM")
        text = "; ".join(parts)
        return text.encode("ascii", "replace").decode("ascii")


def model_id(params: dict[str, np.ndarray], kind: str) -> str:
    """A short content hash of a model's weights: equal weights, equal id."""
    digest = hashlib.sha256(kind.encode())
    for name in sorted(params):
        array = np.ascontiguousarray(params[name])
        digest.update(name.encode() + str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


class SongLibrary:
    """Reads and writes the library folder. Thread-safe: saves are serialised and a save of an
    older list never replaces a newer one."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._written_version = -1

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_NAME

    def model_path(self, model_id: str) -> Path:
        return self.folder / "models" / f"{model_id}.rbm"

    def song_path(self, song_id: str) -> Path:
        return self.folder / "songs" / f"{song_id}.mid"

    # -- writing ------------------------------------------------------------------------------
    def keep_model(self, model, ident: str) -> Path:
        """Save `model` as the library's copy of model `ident` (once)."""
        from ..models.model_file import save_model

        path = self.model_path(ident)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            save_model(model, path)
        return path

    def add_songs(self, songs: list[GeneratedSong]) -> None:
        """Write each new song's MIDI file (with its instrument and how it was made)."""
        from ..music.midi import write_midi

        (self.folder / "songs").mkdir(parents=True, exist_ok=True)
        for song in songs:
            if not song.id:
                song.id = new_id(song)
            write_midi(
                song.song, self.song_path(song.id), program=song.program, text=song.describe()
            )

    def save_index(self, songs: list[GeneratedSong], version: int) -> bool:
        """Write the list (order, names, stars, seeds, settings); False when a newer list was
        already written. Files of songs no longer listed stay until the next start (`load`), so
        an undone delete finds its file."""
        from ..platform.files import atomic_write_bytes

        entries = [_entry(s) for s in songs]
        data = json.dumps({"format": LIBRARY_FORMAT, "songs": entries}, indent=1).encode()
        with self._lock:
            if version < self._written_version:
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.index_path, data)
            self._written_version = version
        return True

    # -- reading ------------------------------------------------------------------------------
    def load(self) -> tuple[list[GeneratedSong], list[str]]:
        """The listed songs whose files read back, and one line per entry that did not."""
        from ..music.midi import read_midi

        try:
            raw = json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return [], []
        except (OSError, ValueError) as exc:
            return [], [f"{self.index_path.name}: cannot read the song list ({exc})"]
        songs, problems = [], []
        for entry in raw.get("songs", []) if isinstance(raw, dict) else []:
            try:
                songs.append(self._read_entry(entry, read_midi))
            except Exception as exc:  # noqa: BLE001 - one bad entry must not hide the others
                name = entry.get("name", "?") if isinstance(entry, dict) else "?"
                problems.append(f"{name}: {exc}")
        # Files of songs deleted in an earlier session (kept then for undo) go now.
        listed = {s.id for s in songs}
        for path in (self.folder / "songs").glob("*.mid"):
            if path.stem not in listed:
                path.unlink(missing_ok=True)
        return songs, problems

    def _read_entry(self, entry: dict, read_midi) -> GeneratedSong:
        song = read_midi(self.song_path(str(entry["id"])))
        song.title = str(entry["name"])
        encoding = Encoding.from_dict(entry.get("encoding") or {})
        matrix = encode(song, encoding)
        primer = entry.get("primer_beats")
        return GeneratedSong(
            name=str(entry["name"]),
            song=song,
            matrix=matrix,
            seed=int(entry.get("seed", 0)),
            settings=dict(entry.get("settings") or {}),
            model_id=str(entry.get("model_id", "")),
            model_label=str(entry.get("model_label", "")),
            starred=bool(entry.get("starred", False)),
            program=int(entry.get("program", 0)) % 128,
            primer_beats=None if primer is None else float(primer),
            id=str(entry["id"]),
        )

    def load_model(self, ident: str):
        from ..models.model_file import load_model

        return load_model(self.model_path(ident))


def _entry(song: GeneratedSong) -> dict:
    return {
        "id": song.id,
        "name": song.name,
        "seed": song.seed,
        "settings": song.settings,
        "model_id": song.model_id,
        "model_label": song.model_label,
        "starred": song.starred,
        "program": song.program,
        "primer_beats": song.primer_beats,
        "encoding": song.matrix.encoding.to_dict(),
    }


def new_id(song: GeneratedSong) -> str:
    """A file name no other song has: the model, the seed and a random tail."""
    return f"{song.model_id or 'song'}-{song.seed}-{uuid.uuid4().hex[:8]}"
