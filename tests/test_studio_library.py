"""The song library (`rbm_studio.studio.library`) on real files: it never deletes what it cannot
read, keeps entries it cannot parse, uses ids as names only, refuses symlinks and FIFOs, and two
library objects sharing a folder never lose a song."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from pathlib import Path

import pytest
from library_songs import generated, index, song_files

from rbm_studio.studio.library import (
    GeneratedSong,
    LibraryError,
    SongLibrary,
    is_valid_id,
    typed_settings,
)


def library(tmp_path: Path) -> SongLibrary:
    return SongLibrary(tmp_path / "data" / "library")


def saved(tmp_path: Path, count: int = 3) -> tuple[SongLibrary, list[GeneratedSong]]:
    lib = library(tmp_path)
    songs = [generated(tmp_path, i) for i in range(count)]
    assert lib.commit(songs, songs, 1)
    return lib, songs


def test_a_saved_list_loads_back_in_order_with_what_made_each_song(tmp_path):
    lib, songs = saved(tmp_path)
    songs[1].starred = True
    songs[2].extra = {"from_a_newer_version": [1, 2]}
    assert lib.commit([], songs, 2)
    loaded = SongLibrary(lib.folder).load()
    assert loaded.problems == [] and loaded.warnings == [] and loaded.status() == ""
    assert [(s.id, s.name, s.seed, s.starred) for s in loaded.songs] == [
        (s.id, s.name, s.seed, s.starred) for s in songs
    ]
    assert [n.pitch for n in loaded.songs[0].song.notes] == [n.pitch for n in songs[0].song.notes]
    assert index(lib.folder)["songs"][2]["from_a_newer_version"] == [1, 2]


BAD_FIELDS = [
    ("seed", "abc"),
    ("seed", -1),
    ("seed", 10**30),
    ("seed", 1.5),
    ("seed", True),
    ("primer_beats", "x"),
    ("primer_beats", float("inf")),
    ("encoding", {"steps_per_beat": "4", "low": 24, "high": 101}),
    ("encoding", {"steps_per_beat": 10**9, "low": 24, "high": 101}),
    ("encoding", "fold"),
    ("program", 500),
    ("starred", "yes"),
    ("name", ["a"]),
    ("settings", "hot"),
    ("model_id", "../../models/x"),
    ("id", "/etc/passwd"),
    ("id", "../../outside"),
    ("id", None),
]


@pytest.mark.parametrize(
    ("key", "value"), BAD_FIELDS, ids=[f"{k}={v!r}"[:30] for k, v in BAD_FIELDS]
)
def test_an_entry_that_does_not_parse_is_kept_aside_with_its_file(tmp_path, key, value):
    lib, songs = saved(tmp_path)
    files_before = song_files(lib.folder)
    data = index(lib.folder)
    data["songs"][1][key] = value
    (lib.folder / "songs.json").write_text(json.dumps(data))
    bad_entry = json.loads(json.dumps(data["songs"][1]))  # as it reads back (inf stays inf)

    again = SongLibrary(lib.folder)
    loaded = again.load()
    listed = [s.id for s in loaded.songs]
    if key == "id":  # its file, named like an id the list no longer has, is added back
        assert listed == [songs[0].id, songs[2].id, songs[1].id] and loaded.adopted == 1
    else:
        assert listed == [songs[0].id, songs[2].id]
    assert len(loaded.problems) == 1 and "\n" not in loaded.status()
    assert "kept aside" in loaded.status()
    assert song_files(lib.folder) == files_before
    # Saved again (a star, a delete): the entry goes back unchanged and its file stays.
    loaded.songs[0].starred = True
    assert again.commit([], [s for s in loaded.songs if s.id != songs[2].id], 1)
    assert bad_entry in index(lib.folder)["songs"]
    assert SongLibrary(lib.folder).load().problems == loaded.problems
    assert set(song_files(lib.folder)) >= set(files_before) - {f"{songs[2].id}.mid"}


ODD_SETTINGS = [
    {"temperature": "hot"},
    {"temperature": float("nan"), "bars": float("inf")},
    {"lowest": "C4", "highest": 999, "key": 7},
    {"gibbs_steps": [1], "primer": {"a": 1}, "tempo": "fast"},
    {"bars": True, "key": "Q major", "lowest": -5},
    {"temperature": 1e308, "tempo": -1e308},
]


@pytest.mark.parametrize("settings", ODD_SETTINGS)
def test_describe_never_raises_on_odd_settings(tmp_path, settings):
    song = generated(tmp_path, 0)
    song.settings = settings
    text = song.describe()
    assert text.startswith("RBM Studio:") and "\n" not in text and text.isascii()
    for key, value in typed_settings(settings).items():
        assert value is None or isinstance(value, int | float | str), key
        if isinstance(value, float):
            assert math.isfinite(value)


def test_ids_are_names_never_paths(tmp_path):
    for good in ("0123456789abcdef-42-1a2b3c4d", "song-7-deadbeef"):
        assert is_valid_id(good)
    for bad in ("", "/etc/passwd", "../x", "a/b", "a.b", ".hidden", "NUL", "con", "x" * 200, 5):
        assert not is_valid_id(bad), bad
    with pytest.raises(LibraryError):
        library(tmp_path).song_path("../../x")


def test_a_deleted_song_keeps_its_file_until_the_next_start(tmp_path):
    lib, songs = saved(tmp_path)
    gone = lib.song_path(songs[0].id)
    assert lib.commit([], songs[1:], 2)
    assert gone.is_file(), "an undo in this session still finds the file"
    assert lib.commit([], songs, 3)  # undo
    assert lib.commit([], songs[1:], 4)  # deleted again
    assert index(lib.folder)["deleted"] == [songs[0].id]
    loaded = SongLibrary(lib.folder).load()
    assert not gone.exists()
    assert [s.id for s in loaded.songs] == [s.id for s in songs[1:]]


def test_orphans_named_like_ids_come_back_and_other_files_are_left_alone(tmp_path):
    lib, songs = saved(tmp_path)
    data = index(lib.folder)
    data["songs"] = data["songs"][1:]  # the list lost song 0 (a crash between file and list)
    (lib.folder / "songs.json").write_text(json.dumps(data))
    mine = lib.folder / "songs" / "my own song.mid"
    mine.write_bytes(lib.song_path(songs[1].id).read_bytes())
    junk = lib.folder / "songs" / "notes.txt"
    junk.write_text("keep me")
    loaded = SongLibrary(lib.folder).load()
    assert sorted(s.id for s in loaded.songs) == sorted(s.id for s in songs)
    assert loaded.adopted == 1 and "added back" in loaded.status()
    recovered = next(s for s in loaded.songs if s.id == songs[0].id)
    assert recovered.seed == songs[0].seed and recovered.model_id == songs[0].model_id
    assert mine.is_file() and junk.read_text() == "keep me"


BAD_INDEXES = [
    b"",
    b"{",
    b'{"format": 2, "songs": [',
    b"\x00\xff\xfe garbage \x89PNG",
    b"[]",
    b'{"format": 2, "songs": "abc"}',
    b'{"format": 2, "songs": {"a": 1}}',
    b'{"format": 2}',
    b'{"format": 99, "songs": []}',
    b'{"format": "1", "songs": []}',
    b'{"format": 2, "songs": [], "deleted": ["../x"]}',
    b"[" * 100_000,
    b'{"format": 2, "songs": [], "x": ' + b"9" * 5000 + b"}",
]


@pytest.mark.parametrize("data", BAD_INDEXES, ids=[repr(d[:20]) for d in BAD_INDEXES])
def test_a_list_that_does_not_parse_is_set_aside_and_nothing_is_deleted(tmp_path, data):
    lib, songs = saved(tmp_path)
    files_before = song_files(lib.folder)
    (lib.folder / "songs.json").write_bytes(data)
    loaded = SongLibrary(lib.folder).load()
    (warning,) = loaded.warnings
    assert "songs.json could not be read" in warning and "\n" not in warning
    (bad,) = lib.folder.glob("songs.json.bad-*")
    assert bad.read_bytes() == data and bad.name in warning
    assert song_files(lib.folder) == files_before
    # Its songs are found again from their files, and the next save lists them.
    assert sorted(s.id for s in loaded.songs) == sorted(s.id for s in songs)


NO_SYMLINKS = pytest.mark.skipif(
    sys.platform == "win32", reason="symbolic links are privileged on Windows"
)


@NO_SYMLINKS
def test_a_symlinked_songs_folder_disables_the_library_and_deletes_nothing(tmp_path):
    own = tmp_path / "my music"
    own.mkdir()
    (own / "tune.mid").write_bytes(b"MThd not really")
    (own / "0123456789abcdef-1-00000000.mid").write_bytes(b"MThd")
    lib = library(tmp_path)
    lib.folder.mkdir(parents=True)
    (lib.folder / "songs").symlink_to(own, target_is_directory=True)
    (lib.folder / "songs.json").write_text(
        '{"format": 2, "songs": [], "deleted": ["0123456789abcdef-1-00000000"]}'
    )
    loaded = lib.load()
    assert loaded.songs == [] and "symbolic link" in loaded.warnings[0]
    assert sorted(p.name for p in own.iterdir()) == ["0123456789abcdef-1-00000000.mid", "tune.mid"]
    song = generated(tmp_path, 1)
    assert lib.commit([song], [song], 1) is False
    assert sorted(p.name for p in own.iterdir()) == ["0123456789abcdef-1-00000000.mid", "tune.mid"]


@NO_SYMLINKS
def test_a_symlinked_index_is_not_written_through(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text('{"format": 2, "songs": []}')
    lib = library(tmp_path)
    lib.folder.mkdir(parents=True)
    (lib.folder / "songs.json").symlink_to(target)
    assert "symbolic link" in lib.load().warnings[0]
    song = generated(tmp_path, 1)
    assert lib.commit([song], [song], 1) is False
    assert target.read_text() == '{"format": 2, "songs": []}'
    assert not (lib.folder / "songs").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.timeout(60)
def test_a_fifo_index_is_refused_at_once(tmp_path):
    lib = library(tmp_path)
    lib.folder.mkdir(parents=True)
    os.mkfifo(lib.folder / "songs.json")
    loaded = lib.load()  # returns (a blocking read would hang until the timeout)
    assert "not a regular file" in loaded.warnings[0]
    assert lib.commit([], [generated(tmp_path, 0)], 1) is False


def test_an_older_list_never_replaces_a_newer_one(tmp_path):
    lib, songs = saved(tmp_path)
    assert lib.commit([], songs[:1], 5)
    assert lib.commit([], songs, 4) is False
    assert [e["id"] for e in index(lib.folder)["songs"]] == [songs[0].id]


def test_two_libraries_saving_interleaved_lose_no_song(tmp_path):
    lib, songs = saved(tmp_path)
    a, b = SongLibrary(lib.folder), SongLibrary(lib.folder)
    list_a, list_b = a.load().songs, b.load().songs
    new_a, new_b = generated(tmp_path, 10), generated(tmp_path, 11)
    assert a.commit([new_a], [*list_a, new_a], 1)  # A generates
    assert b.commit([new_b], [*list_b, new_b], 1)  # B generates, not knowing A's song
    list_a = [s for s in list_a if s.id != songs[0].id]  # A deletes song 0
    assert a.commit([], [*list_a, new_a], 2)
    list_b[1].starred = True  # B stars song 1, still showing song 0
    assert b.commit([], [*list_b, new_b], 2)
    listed = [e["id"] for e in index(lib.folder)["songs"]]
    assert set(listed) == {s.id for s in songs} | {new_a.id, new_b.id}, (
        "B never deleted song 0, so its list keeps it: no window loses a song it shows"
    )
    list_b = [s for s in list_b if s.id != songs[0].id]  # now B deletes it too
    assert b.commit([], [*list_b, new_b], 3)
    assert a.commit([], [*list_a, new_a], 3)  # A saves its unchanged, unstarred copy again
    loaded = SongLibrary(lib.folder).load()
    ids = {s.id for s in loaded.songs}
    assert ids == {songs[1].id, songs[2].id, new_a.id, new_b.id}
    assert next(s for s in loaded.songs if s.id == songs[1].id).starred
    assert not lib.song_path(songs[0].id).exists()


def test_two_libraries_saving_at_once_from_threads_keep_every_song(tmp_path):
    lib, _ = saved(tmp_path, count=1)
    writers = [SongLibrary(lib.folder), SongLibrary(lib.folder)]
    made = [[generated(tmp_path, 100 * w + i) for i in range(12)] for w in range(2)]

    def write(w: int) -> None:
        shown = writers[w].load().songs
        for version, song in enumerate(made[w], start=1):
            shown.append(song)
            assert writers[w].commit([song], list(shown), version)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaded = SongLibrary(lib.folder).load()
    assert loaded.problems == []
    assert {s.id for s in made[0] + made[1]} <= {s.id for s in loaded.songs}


@pytest.mark.skipif(os.name == "nt", reason="the test holds the lock with fcntl")
def test_a_write_waits_for_the_lock_another_writer_holds(tmp_path):
    import fcntl

    lib, songs = saved(tmp_path)
    before = (lib.folder / "songs.json").read_bytes()
    other = SongLibrary(lib.folder)
    other.lock_timeout_s = 0.2
    shown = other.load().songs
    new = generated(tmp_path, 9)
    fd = os.open(lib.folder / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another RBM Studio is writing
        with pytest.raises(LibraryError, match="busy"):
            other.commit([new], [*shown, new], 1)
        assert (lib.folder / "songs.json").read_bytes() == before
        assert not other.song_path(new.id).exists()
    finally:
        os.close(fd)
    assert other.commit([new], [*shown, new], 1)  # the lock is free again
    assert new.id in [e["id"] for e in index(lib.folder)["songs"]]


def test_a_shown_song_whose_file_another_window_removed_is_written_again(tmp_path):
    """Window A deleted a song and a later start removed its file, while window B still shows
    it: B's next save writes the file again from the song it holds."""
    lib, songs = saved(tmp_path)
    lib.song_path(songs[1].id).unlink()
    assert lib.commit([], songs, 2)
    loaded = SongLibrary(lib.folder).load()
    assert loaded.problems == []
    back = next(s for s in loaded.songs if s.id == songs[1].id)
    assert [(n.pitch, n.start) for n in back.song.notes] == [
        (n.pitch, n.start) for n in songs[1].song.notes
    ]
