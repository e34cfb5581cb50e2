"""On-disk cache of imported songs, so reopening a folder does not parse it again.

Two layers, both `.npz` files (events as int32 plus a JSON blob as uint8, loaded with
`allow_pickle=False`) under `paths.cache_dir()/songs-v<N>/`, written atomically:

- Song entries, keyed by a blake2b hash of the file's bytes plus everything that changes the
  result (encoding, keep_drums, cache format, app version). Content keys make a renamed, copied
  or touched file still hit and an edited one never go stale.
- Folder manifests, keyed by the import's inputs and settings: every loaded song of the last
  import of those inputs, with the (size, mtime, ctime, inode) each file had then. A file whose
  stat is unchanged is taken from the manifest without even being read, so reopening a folder of
  a thousand songs is a directory walk plus one file load. Any change sends that file back to the
  content-keyed entries.

Anything unreadable (truncated, tampered, wrong version) counts as a miss and is rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..music.encoding import Encoding
from ..platform import files, paths

CACHE_FORMAT_VERSION = 1

StatSignature = tuple[int, int, int, int]
# No real entry comes near this (a manifest of thousands of songs is a few MB); a bigger one is
# damage or tampering and is not read.
MAX_ENTRY_BYTES = 256 * 2**20


_root_memo: tuple[str | None, Path] | None = None


def cache_root() -> Path:
    """`paths.cache_dir()/songs-v<N>`, resolved once per value of the override variable (the
    platformdirs lookup and mkdir would otherwise cost more than a cache hit)."""
    global _root_memo
    env = os.environ.get("RBM_STUDIO_CACHE_DIR")
    if _root_memo is None or _root_memo[0] != env:
        _root_memo = (env, paths.cache_dir() / f"songs-v{CACHE_FORMAT_VERSION}")
    return _root_memo[1]


def _settings(encoding: Encoding, keep_drums: bool) -> bytes:
    return json.dumps(
        {
            "format": CACHE_FORMAT_VERSION,
            "app": __version__,
            "encoding": encoding.to_dict(),
            "keep_drums": bool(keep_drums),
        },
        sort_keys=True,
    ).encode()


def content_key(content: bytes, encoding: Encoding, keep_drums: bool) -> str:
    """Hex key of a file's encoded form: its bytes plus every setting that changes the result."""
    h = hashlib.blake2b(_settings(encoding, keep_drums), digest_size=20)
    h.update(b"\0")
    h.update(content)
    return h.hexdigest()


def manifest_key(inputs: Sequence[Path], encoding: Encoding, keep_drums: bool) -> str:
    h = hashlib.blake2b(_settings(encoding, keep_drums), digest_size=20)
    for p in inputs:
        h.update(b"\0" + os.path.abspath(p).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def stat_signature(st: os.stat_result) -> StatSignature:
    """What must not change for a file to be trusted unread: size, mtime, ctime (which no tool
    can set back) and inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _write_npz(target: Path, events: np.ndarray, meta: dict) -> None:
    """Atomic write (`files.atomic_write`); a cache that cannot be written is simply not used."""

    def write(fh) -> None:
        np.savez(
            fh,
            events=np.ascontiguousarray(events, dtype=np.int32),
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )

    with contextlib.suppress(OSError):
        files.atomic_write(target, write)


def _read_npz(source: Path) -> tuple[np.ndarray, dict] | None:
    """Events and facts of one entry; None for anything unusable (absent, not a regular file,
    larger than any real entry, truncated, tampered)."""
    try:
        with files.open_regular(source) as fh:
            if os.fstat(fh.fileno()).st_size > MAX_ENTRY_BYTES:
                return None
            with np.load(fh, allow_pickle=False) as npz:
                if any(
                    npz.zip.getinfo(f"{k}.npy").file_size > MAX_ENTRY_BYTES
                    for k in ("events", "meta")
                ):
                    return None
                events = np.asarray(npz["events"], dtype=np.int32)
                meta = json.loads(npz["meta"].tobytes().decode())
    except FileNotFoundError:
        return None
    except Exception:  # truncated zip, bad JSON, missing arrays, a FIFO, ...
        return None
    if not isinstance(meta, dict) or events.ndim != 2 or events.shape[1] != 4:
        return None
    return events, meta


def _entry_path(key: str) -> Path:
    return cache_root() / key[:2] / f"{key}.npz"


def store_song(key: str, events: np.ndarray, meta: dict) -> None:
    _write_npz(_entry_path(key), events, {**meta, "key": key})


def load_song(key: str) -> tuple[np.ndarray, dict] | None:
    """`(events, meta)` stored under `key`, or None (absent or unreadable)."""
    found = _read_npz(_entry_path(key))
    if found is None or found[1].get("key") != key:
        return None
    return found


@dataclass(slots=True)
class ManifestSong:
    stat: StatSignature
    meta: dict
    events: np.ndarray


def _manifest_path(key: str) -> Path:
    return cache_root() / "folders" / f"{key}.npz"


def store_manifest(key: str, songs: dict[str, ManifestSong]) -> None:
    """Write the loaded songs of one import (`songs` maps absolute path to its record)."""
    records = []
    chunks = []
    for path, song in songs.items():
        records.append(
            {"path": path, "stat": list(song.stat), "meta": song.meta, "events": len(song.events)}
        )
        chunks.append(song.events)
    events = np.concatenate(chunks) if chunks else np.zeros((0, 4), np.int32)
    _write_npz(_manifest_path(key), events, {"key": key, "songs": records})


def load_manifest(key: str) -> dict[str, ManifestSong]:
    """The songs of the last import with these inputs, or {} when there is none or it is bad."""
    found = _read_npz(_manifest_path(key))
    if found is None:
        return {}
    events, meta = found
    try:
        if meta.get("key") != key:
            return {}
        out: dict[str, ManifestSong] = {}
        start = 0
        for record in meta["songs"]:
            n = int(record["events"])
            if n < 0 or start + n > len(events):
                return {}
            stat = tuple(int(x) for x in record["stat"])
            if len(stat) != 4 or not isinstance(record["meta"], dict):
                return {}
            out[str(record["path"])] = ManifestSong(stat, record["meta"], events[start : start + n])  # type: ignore[arg-type]
            start += n
        return out if start == len(events) else {}
    except (KeyError, TypeError, ValueError):
        return {}
