"""The generated songs a musician keeps across restarts: each song's MIDI file, seed, settings and
star, and the model that made it, in the user data folder.

Layout: `library/songs.json` (the list, in order, and the ids the app deleted),
`library/songs/<id>.mid` and `library/models/<model id>.rbm` (one copy per distinct model, so
"again with this seed" works after a restart), `library/.lock` (held while the list is read or
written). No Qt: the panel calls it from worker threads.

Nothing the library cannot read is ever deleted, and nothing outside its folder is read or
written:
- an entry that does not parse is kept aside (its file stays) and written back unchanged;
- a list that does not parse is moved to `songs.json.bad-<time>` and nothing is deleted;
- only files of songs the app itself deleted (the index's `deleted` ids) are removed, at the
  next start, so an undone delete still finds its file until then;
- a `.mid` file named like a song id that the list does not name is adopted back into the list:
  it is one of ours whose entry was lost (a list set aside, a crash between the file and the
  list); a file not named like an id is someone else's and left alone;
- ids are validated names (`is_valid_id`), never paths;
- the library folder, `songs/`, `models/`, the index and every song file must be real files and
  folders, not symbolic links: a symlink disables the library for the session (nothing written
  or deleted), with one line saying why;
- reads never block (FIFOs are refused at once) and every write is atomic;
- two windows (or processes) sharing the folder never lose a song: writes hold a file lock,
  re-read the list and merge by id, and apply only their own deletions.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..music.encoding import Encoding, StateMatrix, encode
from ..music.keys import KEYS, pitch_name
from ..music.song import Song, TempoChange
from ..platform import files

log = logging.getLogger(__name__)

LIBRARY_FORMAT = 2  # 2: adds `deleted`; format 1 lists are read too
READ_FORMATS = (1, 2)
INDEX_NAME = "songs.json"
LOCK_NAME = ".lock"
BAD_SUFFIX = ".bad-"
MAX_INDEX_BYTES = 32 * 2**20
MAX_SEED = 2**32  # generated seeds are below 2**31 plus the variation number
MAX_SPB = 96  # as model files
LOCK_TIMEOUT_S = 10.0

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_DEVICE_NAMES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])", re.IGNORECASE)
_ID_SEED = re.compile(r"-([0-9]{1,10})-[0-9a-f]{8}")
_MODEL_HASH = re.compile(r"[0-9a-f]{16}")


class LibraryError(Exception):
    """The library cannot be used or written; `str()` is one line saying why."""


def is_valid_id(ident: object) -> bool:
    """A song or model id: letters, digits, `-` and `_`, never a path, `.` or a device name."""
    return (
        isinstance(ident, str)
        and _ID.fullmatch(ident) is not None
        and _DEVICE_NAMES.fullmatch(ident) is None
    )


# ---------------------------------------------------------------------------------------------
# Settings that came from a file: typed on use


def _int_in(value: object, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def _number_in(value: object, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def _pitch(value: object) -> tuple[bool, int | None]:
    """(usable, pitch): None is a usable "no limit"."""
    if value is None:
        return True, None
    pitch = _int_in(value, 0, 127)
    return pitch is not None, pitch


def typed_settings(settings: object) -> dict[str, Any]:
    """The generation settings whose values are of the type and range the app makes, others
    left out. A song's `settings` come from a file; `describe` and "again" use only these."""
    if not isinstance(settings, dict):
        return {}
    out: dict[str, Any] = {}
    ints = {
        "songs": (1, 50),
        "bars": (1, 512),
        "gibbs_steps": (1, 10_000),
        "from_bar": (0, 10_000),
        "program": (0, 127),
        "variation": (1, 10_000),
    }
    for key, (low, high) in ints.items():
        value = _int_in(settings.get(key), low, high)
        if value is not None:
            out[key] = value
    temperature = _number_in(settings.get("temperature"), 1e-3, 100.0)
    if temperature is not None:
        out["temperature"] = temperature
    tempo = _number_in(settings.get("tempo"), 20, 400)
    if tempo is not None:
        out["tempo"] = int(round(tempo))
    key = settings.get("key")
    if isinstance(key, str) and (key in ("any", "songs") or key in KEYS):
        out["key"] = key
    if settings.get("song_key") in KEYS:  # the key "Like the songs" drew for this song
        out["song_key"] = settings["song_key"]
    if settings.get("start") in ("silence", "continue"):
        out["start"] = settings["start"]
    for name in ("lowest", "highest"):
        if name in settings:
            usable, pitch = _pitch(settings[name])
            if usable:
                out[name] = pitch
    if isinstance(settings.get("primer"), str):
        out["primer"] = settings["primer"]
    form = settings.get("form")
    if isinstance(form, str) and len(form) < 32 and _form_ok(form):
        out["form"] = form
    return out


def form_words(text: str) -> str:
    """A form setting as a song's info says it: "form like the songs", "4-bar loop", "free
    form"."""
    from ..music.form import parse_form

    form = parse_form(text)
    if form.style == "loop":
        return f"{form.bars}-bar loop"
    return "form like the songs" if form.style == "like-songs" else "free form"


def _form_ok(text: str) -> bool:
    from ..music.form import parse_form

    try:
        parse_form(text)
    except ValueError:
        return False
    return True


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
    extra: dict = field(default_factory=dict)  # entry keys of a newer version, written back

    @property
    def tempo(self) -> float:
        return self.song.first_bpm

    def set_tempo(self, bpm: float) -> None:
        self.song.tempos = [TempoChange(0.0, float(bpm))]

    def describe(self) -> str:
        """One line of plain ASCII (any DAW shows it): which model, seed and settings made it;
        the tooltip and the MIDI file's text event. Settings of an odd type are left out."""
        s = typed_settings(self.settings)
        parts = [f"RBM Studio: {self.name}"]
        if self.model_label:
            parts.append(f"model {self.model_label}")
        parts.append(f"seed {self.seed}")
        if s.get("bars"):
            parts.append(f"{s['bars']} bars")
        if s.get("temperature") is not None:
            parts.append(f"temperature {s['temperature']:.2f}")
        if s.get("gibbs_steps"):
            parts.append(f"{s['gibbs_steps']} Gibbs steps")
        key = s.get("key")
        if key == "songs":
            drawn = s.get("song_key")
            parts.append(f"in {drawn}, like the songs" if drawn else "in the songs' key")
        elif key and key != "any":
            parts.append(f"in {key}")
        if s.get("form"):
            parts.append(form_words(s["form"]))
        if s.get("lowest") is not None or s.get("highest") is not None:
            low, high = s.get("lowest"), s.get("highest")
            low_name = pitch_name(low) if low is not None else "any"
            high_name = pitch_name(high) if high is not None else "any"
            parts.append(f"notes {low_name} to {high_name}")
        if s.get("primer"):
            parts.append(f"continues {s['primer']}")
        parts.append(f"{self.tempo:.0f} BPM")
        text = " ".join("; ".join(parts).split())  # one line, whatever the name holds
        return text.encode("ascii", "replace").decode("ascii")


def model_id(params: dict[str, np.ndarray], kind: str) -> str:
    """A short content hash of a model's weights: equal weights, equal id."""
    digest = hashlib.sha256(kind.encode())
    for name in sorted(params):
        array = np.ascontiguousarray(params[name])
        digest.update(name.encode() + str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def new_id(song: GeneratedSong) -> str:
    """A file name no other song has: the model, the seed and a random tail."""
    prefix = song.model_id if is_valid_id(song.model_id) and len(song.model_id) <= 64 else "song"
    seed = song.seed if 0 <= song.seed < MAX_SEED else 0
    return f"{prefix}-{seed}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# Entries


class EntryError(ValueError):
    """A list entry that does not parse; one line."""


_ENTRY_KEYS = (
    "id",
    "name",
    "seed",
    "settings",
    "model_id",
    "model_label",
    "starred",
    "program",
    "primer_beats",
    "encoding",
)


def _entry(song: GeneratedSong) -> dict:
    entry = {k: v for k, v in song.extra.items() if k not in _ENTRY_KEYS}
    entry.update(
        {
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
    )
    return entry


def _encoding(value: object) -> Encoding:
    if value is None or value == {}:
        return Encoding()
    if not isinstance(value, dict):
        raise EntryError("encoding is not a table")
    spb = _int_in(value.get("steps_per_beat"), 1, MAX_SPB)
    low = _int_in(value.get("low"), 0, 127)
    high = _int_in(value.get("high"), 0, 127)
    out_of_range = value.get("out_of_range", "fold")
    if spb is None or low is None or high is None or out_of_range not in ("fold", "drop"):
        raise EntryError("encoding has a missing or out-of-range value")
    try:
        return Encoding(steps_per_beat=spb, low=low, high=high, out_of_range=out_of_range)
    except ValueError as exc:
        raise EntryError(f"encoding: {exc}") from None


@dataclass
class _Fields:
    """An entry's fields, checked; the song file is read afterwards."""

    id: str
    name: str
    seed: int
    settings: dict
    model_id: str
    model_label: str
    starred: bool
    program: int
    primer_beats: float | None
    encoding: Encoding
    extra: dict


def _fields(entry: object) -> _Fields:
    if not isinstance(entry, dict):
        raise EntryError("entry is not a table")
    ident = entry.get("id")
    if not is_valid_id(ident):
        raise EntryError(f"id {str(ident)[:60]!r} is not a song id")
    name = entry.get("name")
    if not isinstance(name, str):
        raise EntryError("name is not text")
    seed = _int_in(entry.get("seed", 0), 0, MAX_SEED - 1)
    if seed is None:
        raise EntryError(f"seed {str(entry.get('seed'))[:40]!r} is not a seed")
    settings = entry.get("settings") or {}
    if not isinstance(settings, dict):
        raise EntryError("settings are not a table")
    model = entry.get("model_id", "")
    if not (model == "" or (is_valid_id(model) and len(model) <= 64)):
        raise EntryError(f"model id {str(model)[:60]!r} is not a model id")
    label = entry.get("model_label", "")
    if not isinstance(label, str):
        raise EntryError("model label is not text")
    starred = entry.get("starred", False)
    if not isinstance(starred, bool):
        raise EntryError("starred is not true or false")
    program = _int_in(entry.get("program", 0), 0, 127)
    if program is None:
        raise EntryError("program is not 0..127")
    primer = entry.get("primer_beats")
    primer_beats = None if primer is None else _number_in(primer, 0.0, 1e6)
    if primer is not None and primer_beats is None:
        raise EntryError(f"primer_beats {str(primer)[:40]!r} is not a beat")
    return _Fields(
        id=ident,
        name=name,
        seed=seed,
        settings=settings,
        model_id=model,
        model_label=label,
        starred=starred,
        program=program,
        primer_beats=primer_beats,
        encoding=_encoding(entry.get("encoding")),
        extra={k: v for k, v in entry.items() if k not in _ENTRY_KEYS},
    )


def _canonical(entry: object) -> str:
    """A key for "the same raw entry" (entries without a usable id)."""
    try:
        return json.dumps(entry, sort_keys=True)
    except (TypeError, ValueError):
        return repr(entry)


# ---------------------------------------------------------------------------------------------
# The index


class BadIndex(ValueError):
    """The list file does not parse; one line."""


@dataclass
class Index:
    songs: list[object] = field(default_factory=list)  # raw entries, in order
    deleted: list[str] = field(default_factory=list)


def parse_index(data: bytes) -> Index:
    """Check the list's shape and types (not its entries: one bad entry is not a bad list)."""
    try:
        raw = json.loads(data)
    except RecursionError:
        raise BadIndex("nested too deeply") from None
    except ValueError as exc:  # bad JSON, bad UTF-8, an integer too long to convert
        raise BadIndex(f"not JSON ({str(exc)[:80]})") from None
    if not isinstance(raw, dict):
        raise BadIndex(f"a {type(raw).__name__}, not a table")
    fmt = raw.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt not in READ_FORMATS:
        raise BadIndex(f"format {str(fmt)[:20]!r}; this version reads formats 1 and 2")
    songs = raw.get("songs")
    if not isinstance(songs, list):
        raise BadIndex("its songs are missing or not a list")
    deleted = raw.get("deleted", [])
    if not isinstance(deleted, list) or not all(is_valid_id(d) for d in deleted):
        raise BadIndex("its deleted ids are not a list of song ids")
    return Index(songs=list(songs), deleted=list(dict.fromkeys(deleted)))


@dataclass
class Loaded:
    """What `SongLibrary.load` found: the songs to list, one line per entry kept aside, and
    library-wide warnings (a list set aside, a library disabled)."""

    songs: list[GeneratedSong]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    adopted: int = 0

    def status(self) -> str:
        """One line for the window's status bar ("" when all is well)."""
        parts = list(self.warnings)
        if self.problems:
            n = len(self.problems)
            parts.append(
                f"{n} kept song{'s' if n != 1 else ''} could not be read and "
                f"{'are' if n != 1 else 'is'} kept aside, untouched: {self.problems[0]}"
            )
        if self.adopted:
            parts.append(f"{self.adopted} song files missing from the list were added back")
        return " · ".join(parts)


# ---------------------------------------------------------------------------------------------
# Files


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file that is not a symlink, at most `limit` (`OSError` else);
    never blocks on a FIFO."""
    info = _lstat(path)
    if info is None:
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    if stat.S_ISLNK(info.st_mode):
        raise files.NotRegularFileError(f"{path.name}: is a symbolic link (not followed)")
    if not stat.S_ISREG(info.st_mode):
        raise files.NotRegularFileError(f"{path.name}: not a regular file")
    if info.st_size > limit:
        raise files.NotRegularFileError(f"{path.name}: too large ({info.st_size} bytes)")
    with files.open_regular(path) as fh:
        now = os.fstat(fh.fileno())
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            raise files.NotRegularFileError(f"{path.name}: replaced while being read")
        return fh.read(limit + 1)[:limit]


@contextlib.contextmanager
def _file_lock(
    path: Path, cancel: threading.Event | None, timeout_s: float = LOCK_TIMEOUT_S
) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created empty; never written). Locks are per open file,
    so two library objects in one process exclude each other as two processes do."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    info = _lstat(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise LibraryError(f"{path.name} in the library is not a regular file")
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise LibraryError(f"cannot lock the song library: {files.reason(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LibraryError(f"{path.name} in the library is not a regular file")
        deadline = time.monotonic() + timeout_s
        while not _try_lock(fd):
            if cancel is not None and cancel.is_set():
                raise LibraryError("cancelled")
            if time.monotonic() > deadline:
                raise LibraryError(
                    "the song library is busy (another RBM Studio holds its lock); not saved now"
                )
            time.sleep(0.02)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        raise LibraryError(f"cannot lock the song library: {files.reason(exc)}") from None
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if os.name == "nt":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# The library


class SongLibrary:
    """Reads and writes the library folder. Thread-safe: saves are serialised and a save of an
    older list never replaces a newer one; across windows and processes a file lock and a merge
    by id keep every window's songs."""

    def __init__(self, folder: Path, *, root: Path | None = None) -> None:
        self.folder = Path(folder)
        self.root = Path(root) if root is not None else self.folder.parent  # the user data folder
        self._lock = threading.Lock()
        self._written_version = -1
        # Each song this object listed, as it last loaded or saved it: a song it no longer lists
        # is its own deletion, and a song it did not change takes another writer's changes.
        self._synced: dict[str, str] = {}
        self._aside: list[object] = []  # entries that did not parse, written back unchanged
        self.disabled: str | None = None  # why the library is off for this session
        self.lock_timeout_s = LOCK_TIMEOUT_S  # how long a write waits for another writer

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_NAME

    def model_path(self, model_id: str) -> Path:
        if not is_valid_id(model_id):
            raise LibraryError(f"{str(model_id)[:60]!r} is not a model id")
        return self.folder / "models" / f"{model_id}.rbm"

    def song_path(self, song_id: str) -> Path:
        if not is_valid_id(song_id):
            raise LibraryError(f"{str(song_id)[:60]!r} is not a song id")
        return self.folder / "songs" / f"{song_id}.mid"

    # -- the layout -----------------------------------------------------------------------------
    def layout_problem(self) -> str | None:
        """Why the folder may not be used (a symlink or a file where a folder belongs), or None."""
        try:
            if self.folder.parent.resolve() != self.root.resolve():
                return f"the song library {self.folder} is not inside the user data folder"
            checks = (
                (self.folder, stat.S_ISDIR, "folder"),
                (self.folder / "songs", stat.S_ISDIR, "folder"),
                (self.folder / "models", stat.S_ISDIR, "folder"),
                (self.index_path, stat.S_ISREG, "file"),
                (self.folder / LOCK_NAME, stat.S_ISREG, "file"),
            )
            for path, is_kind, what in checks:
                info = _lstat(path)
                if info is None:
                    if path == self.folder:
                        return None  # a new library: nothing below exists either
                    continue
                name = path.relative_to(self.folder.parent)  # library/songs, …
                if stat.S_ISLNK(info.st_mode):
                    return f"{name} is a symbolic link; the song library does not follow links"
                if not is_kind(info.st_mode):
                    return f"{name} is not a regular {what}"
        except OSError as exc:
            return f"cannot check the song library {self.folder}: {files.reason(exc)}"
        return None

    def _disable(self, why: str) -> str:
        self.disabled = why
        log.warning("song library disabled for this session: %s", why)
        return f"{why}; songs are not kept this session and nothing there is changed"

    def _usable(self) -> bool:
        """Before a write: False when disabled; `LibraryError` (once) when the layout turned bad."""
        if self.disabled is not None:
            return False
        why = self.layout_problem()
        if why is not None:
            raise LibraryError(self._disable(why))
        return True

    def _make_folder(self, path: Path) -> None:
        try:
            if path == self.folder:
                self.root.mkdir(parents=True, exist_ok=True)
            path.mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create {path}: {files.reason(exc)}") from None
        info = _lstat(path)
        if info is None or stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise LibraryError(self._disable(f"{path} is not a regular folder"))

    # -- writing --------------------------------------------------------------------------------
    def keep_model(self, model, ident: str) -> Path | None:
        """Save `model` as the library's copy of model `ident` (once); None when the library is
        off this session (generating goes on without a kept model)."""
        from ..models.model_file import save_model

        with self._lock:
            if not self._usable():
                return None
            path = self.model_path(ident)
            self._make_folder(self.folder)
            self._make_folder(self.folder / "models")
            info = _lstat(path)
            if info is not None:
                if not stat.S_ISREG(info.st_mode):
                    raise LibraryError(f"{path} is not a regular file; the model is not kept")
                return path
            save_model(model, path)
            return path

    def commit(
        self,
        fresh: list[GeneratedSong],
        songs: list[GeneratedSong] | None,
        version: int,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Write the new songs' files and (unless `songs` is None) the list of `songs`, merged
        with what other windows wrote since; False when a newer list of this object was already
        written or the library is off. Files of songs no longer listed stay until the next
        start, so an undone delete finds its file."""
        with self._lock:
            if not self._usable():
                return False
            if songs is not None and version < self._written_version:
                return False
            self._make_folder(self.folder)
            self._make_folder(self.folder / "songs")
            with _file_lock(self.folder / LOCK_NAME, cancel, self.lock_timeout_s):
                for song in fresh:
                    if not song.id:
                        song.id = new_id(song)
                    self._write_song(song)
                if songs is None:
                    return True
                # A listed song whose file went (deleted by another window's start) comes back.
                for song in songs:
                    if _lstat(self.song_path(song.id)) is None:
                        self._write_song(song)
                self._write_index(songs)
                self._written_version = version
                self._synced = {s.id: _canonical(_entry(s)) for s in songs}
        return True

    def _write_song(self, song: GeneratedSong) -> None:
        from ..music.parts import daw_midi_bytes

        path = self.song_path(song.id)
        info = _lstat(path)
        if info is not None and (stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode)):
            raise LibraryError(f"{path.name} in the library is not a regular file; not replaced")
        # the file an export writes: a song dragged out of the list is the same file
        data = daw_midi_bytes(song.song, program=song.program, text=song.describe())
        files.atomic_write_bytes(path, data)

    def _write_index(self, songs: list[GeneratedSong]) -> None:
        """Merge (under the file lock): this object's list in its order (a song it did not change
        since it last read or wrote it takes the version on disk), then its entries kept aside,
        then every entry another writer listed that this one did not delete."""
        disk = self._read_index_for_merge()
        mine = {s.id for s in songs}
        own_deleted = set(self._synced) - mine
        on_disk: dict[str, object] = {}
        for raw in disk.songs:
            if isinstance(raw, dict) and is_valid_id(raw.get("id")):
                on_disk.setdefault(raw["id"], raw)
        entries: list[object] = []
        for song in songs:
            entry = _entry(song)
            theirs = on_disk.get(song.id)
            if theirs is not None and _canonical(entry) == self._synced.get(song.id):
                entry = theirs  # unchanged here: another window's star or rename stands
            entries.append(entry)
        taken_ids = set(mine)
        taken_raw: set[str] = set()
        for raw in self._aside:  # written back unchanged, whatever their id
            key = _canonical(raw)
            if key not in taken_raw:
                taken_raw.add(key)
                entries.append(raw)
        for raw in disk.songs:
            key = _canonical(raw)
            if key in taken_raw:
                continue
            ident = raw.get("id") if isinstance(raw, dict) else None
            if is_valid_id(ident):
                if ident in taken_ids or ident in own_deleted:
                    continue  # this object's version, or its own deletion
                taken_ids.add(ident)
            taken_raw.add(key)
            entries.append(raw)
        listed = {e["id"] for e in entries if isinstance(e, dict) and is_valid_id(e.get("id"))}
        deleted = [
            d
            for d in dict.fromkeys([*disk.deleted, *sorted(own_deleted)])
            if d not in listed and _lstat(self.song_path(d)) is not None
        ]
        data = {"format": LIBRARY_FORMAT, "songs": entries, "deleted": deleted}
        files.atomic_write_bytes(self.index_path, json.dumps(data, indent=1).encode())

    def _read_index_for_merge(self) -> Index:
        try:
            return parse_index(_read_regular(self.index_path, MAX_INDEX_BYTES))
        except FileNotFoundError:
            return Index()
        except (OSError, BadIndex) as exc:
            moved = self._set_aside_index(str(exc))
            if moved is None:
                raise LibraryError(
                    f"{INDEX_NAME} could not be read and not be set aside; not saved"
                ) from None
            return Index()

    def _set_aside_index(self, why: str) -> str | None:
        """Move a list that does not parse to `songs.json.bad-<time>` (a rename: atomic, needs
        no space, and the next start does not set it aside again); the new name, or None."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(100):
            name = f"{INDEX_NAME}{BAD_SUFFIX}{stamp}" + (f"-{n}" if n else "")
            target = self.folder / name
            if _lstat(target) is not None:
                continue
            info = _lstat(self.index_path)
            if info is None or not stat.S_ISREG(info.st_mode):
                return None
            try:
                os.rename(self.index_path, target)
            except OSError as exc:
                log.warning("cannot set %s aside: %s", self.index_path, files.reason(exc))
                return None
            log.warning("%s could not be read (%s); kept as %s", INDEX_NAME, why, name)
            return name
        return None

    # -- reading --------------------------------------------------------------------------------
    def load(self, cancel: threading.Event | None = None) -> Loaded:
        """The listed songs whose files read back (and song files the list lost), with one line
        per entry kept aside and library-wide warnings. Deletes only files of songs the app
        deleted in an earlier session."""
        with self._lock:
            why = self.layout_problem()
            if why is not None:
                return Loaded([], warnings=[self._disable(why)])
            if _lstat(self.folder) is None:
                return Loaded([])
            try:
                with _file_lock(self.folder / LOCK_NAME, cancel, self.lock_timeout_s):
                    return self._load(cancel, locked=True)
            except LibraryError as exc:
                if cancel is not None and cancel.is_set():
                    return Loaded([])
                # Not lockable (a read-only folder, a stuck writer): read, but change nothing.
                loaded = self._load(cancel, locked=False)
                loaded.warnings.append(f"{exc}; the library is read-only this session")
                self.disabled = str(exc)
                return loaded

    def _load(self, cancel: threading.Event | None, *, locked: bool) -> Loaded:
        loaded = Loaded([])
        index = Index()
        try:
            index = parse_index(_read_regular(self.index_path, MAX_INDEX_BYTES))
        except FileNotFoundError:
            pass
        except (OSError, BadIndex) as exc:
            why = files.reason(exc) if isinstance(exc, OSError) else str(exc)
            moved = self._set_aside_index(why) if locked else None
            if moved is None:
                loaded.warnings.append(
                    self._disable(f"{INDEX_NAME} could not be read ({why}) nor set aside")
                )
                return loaded
            loaded.warnings.append(
                f"{INDEX_NAME} could not be read ({why}); kept as {moved}, no song file deleted"
            )
        seen: set[str] = set()
        aside_ids: set[str] = set()
        for raw in index.songs:
            if cancel is not None and cancel.is_set():
                break
            try:
                song = self._read_entry(raw, seen)
            except Exception as exc:  # noqa: BLE001 - one bad entry must not hide the others
                name = raw.get("name") if isinstance(raw, dict) else None
                label = name[:60] if isinstance(name, str) and name else "an entry"
                problem = f"{label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                log.warning("song library: kept aside %s", problem)
                loaded.problems.append(problem)
                self._aside.append(raw)
                if isinstance(raw, dict) and is_valid_id(raw.get("id")):
                    aside_ids.add(raw["id"])
                continue
            seen.add(song.id)
            loaded.songs.append(song)
        tombstones = [d for d in index.deleted if d not in seen and d not in aside_ids]
        if locked:
            for ident in tombstones:
                path = self.song_path(ident)
                info = _lstat(path)
                if info is not None and stat.S_ISREG(info.st_mode):
                    with contextlib.suppress(OSError):
                        path.unlink()
        if cancel is None or not cancel.is_set():
            self._adopt(loaded, seen | aside_ids | set(tombstones))
        self._synced = {s.id: _canonical(_entry(s)) for s in loaded.songs}
        return loaded

    def _read_entry(self, raw: object, seen: set[str]) -> GeneratedSong:
        from ..music.midi import MAX_FILE_BYTES, MAX_STEPS, read_midi_bytes

        f = _fields(raw)
        if f.id in seen:
            raise EntryError(f"id {f.id} is listed twice")
        path = self.song_path(f.id)
        try:
            data = _read_regular(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise EntryError(f"its file {path.name} is missing") from None
        except OSError as exc:
            raise EntryError(f"{files.reason(exc)}") from None
        song = read_midi_bytes(data, name=path.name)
        if song.end_beat * f.encoding.steps_per_beat > MAX_STEPS:
            raise EntryError("too long for its grid")
        song.title = f.name
        return GeneratedSong(
            name=f.name,
            song=song,
            matrix=encode(song, f.encoding),
            seed=f.seed,
            settings=f.settings,
            model_id=f.model_id,
            model_label=f.model_label,
            starred=f.starred,
            program=f.program,
            primer_beats=f.primer_beats,
            id=f.id,
            extra=f.extra,
        )

    def _adopt(self, loaded: Loaded, skip: set[str]) -> None:
        """List again the song files named like our ids that the list lost."""
        from ..music.midi import MAX_FILE_BYTES, MAX_STEPS, read_midi_bytes

        try:
            with os.scandir(self.folder / "songs") as it:
                names = sorted(e.name for e in it)
        except OSError:
            return
        for name in names:
            ident = name[: -len(".mid")] if name.endswith(".mid") else ""
            if not is_valid_id(ident) or ident in skip:
                continue
            try:
                song = read_midi_bytes(
                    _read_regular(self.song_path(ident), MAX_FILE_BYTES), name=name
                )
                if song.end_beat * Encoding().steps_per_beat > MAX_STEPS:
                    raise EntryError("too long")
                matrix = encode(song, Encoding())
            except Exception as exc:  # noqa: BLE001 - a file we cannot read is left alone
                log.info("song library: %s not added back (%s)", name, exc)
                continue
            seed = _ID_SEED.search(ident)
            prefix = ident.split("-", 1)[0]
            loaded.songs.append(
                GeneratedSong(
                    name=f"recovered {song.title or ident}",
                    song=song,
                    matrix=matrix,
                    seed=int(seed.group(1)) if seed else 0,
                    model_id=prefix if _MODEL_HASH.fullmatch(prefix) else "",
                    program=0,
                    id=ident,
                )
            )
            loaded.adopted += 1

    def load_model(self, ident: str):
        from ..models.model_file import ModelFileError, load_model

        path = self.model_path(ident)
        if self.layout_problem() is not None:
            raise LibraryError("the song library is not usable this session")
        info = _lstat(path)
        if info is not None and stat.S_ISLNK(info.st_mode):
            raise ModelFileError(f"{path.name}: is a symbolic link (not followed)")
        return load_model(path)
