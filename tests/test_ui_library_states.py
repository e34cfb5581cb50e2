"""Corrupt song libraries through the real window (issue #23: "a window started twice on each
loses no .mid file, and reads and writes nothing outside the library folder").

Each state is a library folder damaged one way, beside an outside folder of the user's own files:
their `.mid` files (one named like a song id), a decoy song that a path-like id would load, the
targets of symlinks. For each state a real main window starts on the library, saves its list,
closes, and a second window does the same. Then every `.mid` file that was there is still there
with the same bytes (except the songs the app itself deleted, in the state that has such), the
outside folder is exactly as it was (names, bytes, mtimes, links), no window listed the decoy,
and every warning was one line in the window's status bar.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from library_songs import generated
from PySide6.QtWidgets import QApplication
from ui_songs import make_song_folder, write_song

from rbm_studio.music.midi import read_midi
from rbm_studio.studio.library import SongLibrary
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

HAS_FIFO = hasattr(os, "mkfifo")
pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the states use symbolic links (privileged on Windows)"
)


@dataclass
class State:
    """One library state under construction."""

    lib: Path  # data/library
    out: Path  # a folder of the user's own, outside the data folder
    ids: list[str]  # the three songs the library lists

    def index(self) -> dict:
        return json.loads((self.lib / "songs.json").read_bytes())

    def write(self, data: dict | bytes | str) -> None:
        path = self.lib / "songs.json"
        if isinstance(data, dict):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)

    def entry(self, i: int, **changes) -> None:
        data = self.index()
        data["songs"][i].update(changes)
        self.write(data)

    def song(self, i: int) -> Path:
        return self.lib / "songs" / f"{self.ids[i]}.mid"


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _replace_with_link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


def _nested(depth: int) -> str:
    return '{"format": 2, "songs": [' + "[" * depth + "]" * depth + "]}"


# (name, how to damage the library, ids of songs the app itself deleted, expect a warning)
STATES: list[tuple[str, Callable[[State], None], bool]] = [
    ("intact", lambda s: None, False),
    ("seed abc", lambda s: s.entry(0, seed="abc"), True),
    ("seed huge", lambda s: s.entry(1, seed=10**30), True),
    (
        "seed NaN",
        lambda s: s.write(json.dumps(s.index()).replace('"seed": 1001', '"seed": NaN')),
        True,
    ),
    (
        "seed 1e400",
        lambda s: s.write(json.dumps(s.index()).replace('"seed": 1001', '"seed": 1e400')),
        True,
    ),
    ("primer_beats bad", lambda s: s.entry(0, primer_beats="half"), True),
    ("encoding bad", lambda s: s.entry(0, encoding={"steps_per_beat": 0, "low": 200}), True),
    ("encoding wrong type", lambda s: s.entry(2, encoding=[4, 24, 101]), True),
    ("temperature hot", lambda s: s.entry(0, settings={"temperature": "hot", "bars": "x"}), False),
    (
        "temperature NaN",
        lambda s: s.write(
            json.dumps(s.index()).replace('"temperature": 1.0', '"temperature": NaN')
        ),
        False,
    ),
    ("settings a string", lambda s: s.entry(1, settings="hot"), True),
    (
        "nested wrong types",
        lambda s: s.entry(0, name={"a": [1]}, starred=[True], program="x"),
        True,
    ),
    (
        "entry a list",
        lambda s: s.write({"format": 2, "songs": [[1, 2], *s.index()["songs"]]}),
        True,
    ),
    ("top-level list", lambda s: s.write(json.dumps(s.index()["songs"])), True),
    ("songs a string", lambda s: s.write({"format": 2, "songs": "abc"}), True),
    ("songs a dict", lambda s: s.write({"format": 2, "songs": {"a": s.index()["songs"][0]}}), True),
    ("songs missing", lambda s: s.write({"format": 2}), True),
    ("format 99", lambda s: s.write({**s.index(), "format": 99}), True),
    ("format '1'", lambda s: s.write({**s.index(), "format": "1"}), True),
    ("truncated JSON", lambda s: s.write((s.lib / "songs.json").read_bytes()[:200]), True),
    ("binary garbage", lambda s: s.write(bytes(range(256)) * 8), True),
    ("empty index", lambda s: s.write(b""), True),
    ("deeply nested", lambda s: s.write(_nested(200_000)), True),
    (
        "5000-digit number",
        lambda s: s.write('{"format": 2, "songs": [], "n": ' + "9" * 5000 + "}"),
        True,
    ),
    (
        "duplicate ids",
        lambda s: s.write({"format": 2, "songs": [*s.index()["songs"], s.index()["songs"][0]]}),
        True,
    ),
    ("missing .mid", lambda s: s.song(1).unlink(), True),
    ("unparsable .mid", lambda s: s.song(0).write_bytes(b"MThd\x00\x00\x00\x06garbage" * 3), True),
    ("truncated .mid", lambda s: s.song(2).write_bytes(s.song(2).read_bytes()[:40]), True),
    ("id absolute path", lambda s: s.entry(0, id=str(s.out / "decoy")), True),
    ("id ../", lambda s: s.entry(0, id="../../../outside/decoy"), True),
    ("model_id a path", lambda s: s.entry(1, model_id="../../../outside/decoy"), True),
    (
        "deleted list a path",
        lambda s: s.write({**s.index(), "deleted": ["../../../outside/decoy"]}),
        True,
    ),
    ("symlinked songs folder", lambda s: _replace_with_link(s.lib / "songs", s.out / "own"), True),
    (
        "symlinked songs.json",
        lambda s: _replace_with_link(s.lib / "songs.json", s.out / "elsewhere.json"),
        True,
    ),
    ("symlinked library", lambda s: _replace_with_link(s.lib, s.out / "library copy"), True),
    ("symlinked models folder", lambda s: (s.lib / "models").symlink_to(s.out / "own"), True),
    ("symlinked song file", lambda s: _replace_with_link(s.song(0), s.out / "decoy.mid"), True),
    (
        "symlinked lock",
        lambda s: _replace_with_link(s.lib / ".lock", s.out / "elsewhere.json"),
        True,
    ),
    (
        "songs folder a file",
        lambda s: (shutil.rmtree(s.lib / "songs"), (s.lib / "songs").write_text("x")),
        True,
    ),
    (
        "songs.json a folder",
        lambda s: ((s.lib / "songs.json").unlink(), (s.lib / "songs.json").mkdir()),
        True,
    ),
    (
        "lost entry: orphans",
        lambda s: s.write({"format": 2, "songs": s.index()["songs"][1:]}),
        False,
    ),
    (
        "unknown keys",
        lambda s: s.write(
            {**s.index(), "future": 1, "songs": [{**e, "x": [1]} for e in s.index()["songs"]]}
        ),
        False,
    ),
]
if HAS_FIFO:
    STATES += [
        ("FIFO songs.json", lambda s: _fifo(s.lib / "songs.json"), True),
        ("FIFO song file", lambda s: _fifo(s.song(1)), True),
    ]
DELETED_BY_APP = "deleted by the app"
STATES.append((DELETED_BY_APP, lambda s: None, False))  # see `build_state`


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under `root`, without following links or opening anything but regular
    files: kind, bytes, mode and mtime."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                out[rel] = ("file", path.read_bytes(), info.st_mode, info.st_mtime_ns)
            else:
                out[rel] = ("other", stat.S_IFMT(info.st_mode), info.st_mtime_ns)
    return out


def midi_files(root: Path) -> dict[str, bytes]:
    """Regular `.mid` files under `root` (not followed through links)."""
    found = {}
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if name.endswith(".mid") and stat.S_ISREG(os.lstat(path).st_mode):
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, list[str]]:
    """A library of three songs written by the library itself, and the user's outside folder."""
    base = tmp_path_factory.mktemp("library-template")
    lib = SongLibrary(base / "data" / "library")
    songs = [generated(base / "src", i) for i in range(3)]
    deleted = generated(base / "src", 3)
    assert lib.commit([*songs, deleted], [*songs, deleted], 1)
    assert lib.commit([], songs, 2)  # deleted in the window; its file goes at the next start
    shutil.rmtree(base / "src")
    (base / "data" / "library" / "songs.deleted.json").write_bytes(
        (base / "data" / "library" / "songs.json").read_bytes()
    )
    out = base / "outside"
    write_song(out / "decoy.mid", seed=4242, bars=3)
    make_song_folder(out / "own", count=2, bars=2)
    shutil.copy(out / "decoy.mid", out / "own" / f"{songs[0].id}.mid")
    (out / "elsewhere.json").write_text('{"format": 2, "songs": []}')
    shutil.copytree(base / "data" / "library", out / "library copy")
    return base, [s.id for s in songs]


def build_state(template: tuple[Path, list[str]], where: Path, name: str, damage) -> State:
    base, ids = template
    shutil.copytree(base, where, symlinks=True)
    state = State(lib=where / "data" / "library", out=where / "outside", ids=ids)
    deleted_index = state.lib / "songs.deleted.json"
    if name == DELETED_BY_APP:
        deleted_index.replace(state.lib / "songs.json")
    else:
        deleted_index.unlink()
        # The plain list: the three songs, nothing deleted (the fourth file is an orphan only
        # in the "deleted by the app" state).
        data = state.index()
        data["deleted"] = []
        state.write(data)
        for extra in (state.lib / "songs").glob("*.mid"):
            if extra.stem not in ids:
                extra.unlink()
    damage(state)
    return state


def start_window(qtbot, where: Path, songs_folder: Path) -> tuple[list, str, list[str]]:
    """A real window started on the data folder: it loads the library, saves its list once (as
    any star or delete does) and closes. Returns its songs, the library's line and what the
    status bar showed."""
    window = build_main_window(AppSettings(where / "settings.ini"), midi_apis=[])
    window.training.autosave_to = where / "autosave.rbm"
    window.document.autosave = where / "autosave.rbm"
    qtbot.addWidget(window)
    window.show()
    generation = window.generation
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.start(folder=songs_folder)
    qtbot.waitUntil(lambda: not generation.library_job.is_running(), timeout=30_000)
    songs = generation.list.songs()
    saved = generation.library_changed()
    qtbot.waitUntil(lambda: not saved.is_running(), timeout=30_000)
    line = generation.library_status
    if line:
        assert generation.message.text() == line  # also kept in the panel
    jobs = list(generation._library_jobs)
    window.close()
    # Closing waited for every library job: no worker thread outlives the window.
    assert not any(job.thread.isRunning() for job in jobs)
    window.deleteLater()
    QApplication.processEvents()
    return songs, line, shown


def test_corrupt_libraries_lose_nothing_and_touch_nothing_outside(
    qtbot, tmp_path, monkeypatch, template
):
    assert len(STATES) >= 30
    songs_folder = make_song_folder(tmp_path / "import", count=1, bars=2)
    decoy = [(n.pitch, n.start) for n in read_midi(template[0] / "outside" / "decoy.mid").notes]
    failures = []
    for number, (name, damage, warns) in enumerate(STATES):
        where = tmp_path / f"state{number:02d}"
        state = build_state(template, where, name, damage)
        monkeypatch.setenv("RBM_STUDIO_DATA_DIR", str(where / "data"))
        outside_before = snapshot(state.out)
        kept_before = midi_files(where / "data")
        first = start_window(qtbot, where, songs_folder)
        second = start_window(qtbot, where, songs_folder)

        problems = []
        kept_after = midi_files(where / "data")
        lost = sorted(set(kept_before) - set(kept_after))
        expected_lost = (
            [f"library/songs/{f}" for f in _deleted_ids(template, state)]
            if name == DELETED_BY_APP
            else []
        )
        if lost != expected_lost:
            problems.append(f"lost {lost} (expected {expected_lost})")
        changed = [k for k in kept_before if k in kept_after and kept_before[k] != kept_after[k]]
        if changed:
            problems.append(f"rewrote {changed}")
        if snapshot(state.out) != outside_before:
            problems.append("changed the outside folder")
        for songs, _line, _status in (first, second):
            if any([(n.pitch, n.start) for n in s.song.notes] == decoy for s in songs):
                problems.append("listed the decoy from outside the library")
        line, shown = first[1], first[2]
        if warns and not line:
            problems.append("said nothing")
        if "\n" in line or (line and shown.count(line) != 1):
            problems.append(f"warning not shown once, on one line: {line!r} / {shown!r}")
        if name == "intact" and len(first[0]) != 3:
            problems.append(f"listed {len(first[0])} songs, not 3")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def _deleted_ids(template, state: State) -> list[str]:
    base, ids = template
    data = json.loads((base / "data" / "library" / "songs.deleted.json").read_bytes())
    return [f"{d}.mid" for d in data["deleted"]]


def open_window(qtbot, where: Path, songs_folder: Path):
    window = build_main_window(AppSettings(where / "settings.ini"), midi_apis=[])
    window.training.autosave_to = where / "autosave.rbm"
    window.document.autosave = where / "autosave.rbm"
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.start(folder=songs_folder)
    qtbot.waitUntil(lambda: not window.generation.library_job.is_running(), timeout=30_000)
    return window


def settle(qtbot, window) -> None:
    job = window.generation.library_job
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30_000)


def test_two_windows_on_one_library_lose_no_song(qtbot, tmp_path, monkeypatch, template):
    """Two windows open at once on one library, generating, deleting and starring in turn:
    a third window finds every song either kept and the star, and nothing kept aside."""
    state = build_state(template, tmp_path / "shared", "intact", lambda s: None)
    monkeypatch.setenv("RBM_STUDIO_DATA_DIR", str(tmp_path / "shared" / "data"))
    songs_folder = make_song_folder(tmp_path / "import", count=1, bars=2)
    a = open_window(qtbot, tmp_path / "shared", songs_folder)
    b = open_window(qtbot, tmp_path / "shared", songs_folder)
    made = [generated(tmp_path / "src", i) for i in range(10, 14)]
    for window, songs in ((a, made[:2]), (b, made[2:3])):
        window.generation._on_generated(songs, "generated")  # what Generate's result does
        settle(qtbot, window)
    a.generation.list.clearSelection()
    a.generation.list.item(0).setSelected(True)
    a.generation.delete_button.click()  # A deletes the first song
    settle(qtbot, a)
    b.generation.list.clearSelection()
    b.generation.list.item(1).setSelected(True)
    b.generation.star_button.click()  # B stars the second, still showing the first
    settle(qtbot, b)
    a.generation._on_generated(made[3:], "generated")
    settle(qtbot, a)
    a.close()
    b.close()

    c = open_window(qtbot, tmp_path / "shared", songs_folder)
    shown = {s.id: s for s in c.generation.list.songs()}
    assert c.generation.library_status == ""
    assert {state.ids[1], state.ids[2]} | {s.id for s in made} <= set(shown)
    assert shown[state.ids[1]].starred
    # B never deleted the first song and saved after A did: B's list keeps it.
    assert state.ids[0] in shown
