"""Folder import: per-file results and reasons, the on-disk cache, cancellation, progress, workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rbm_studio.data import dataset, import_cache
from rbm_studio.data.benchmark_data import load_benchmark
from rbm_studio.data.dataset import (
    collect_midi_files,
    import_folder,
    song_for,
)
from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.grid_events import events_from_matrix, matrix_arrays, place_notes
from rbm_studio.music.midi import MAX_STEPS, read_midi
from rbm_studio.music.song import Note, Song
from rbm_studio.resources import sample_midi_dir

TPB = 480


def write_song(
    path: Path,
    notes: list[tuple[int, float, float]],
    *,
    bpm: float = 120.0,
    sig: tuple[int, int] = (4, 4),
    velocity: int = 90,
) -> Path:
    """A type 1 file written with mido itself: conductor track + one note track.
    `notes` are (pitch, start_beat, end_beat)."""
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("time_signature", numerator=sig[0], denominator=sig[1], time=0),
        ]
    )
    events = []
    for pitch, start, end in notes:
        events.append(
            (round(start * TPB), 1, mido.Message("note_on", note=pitch, velocity=velocity))
        )
        events.append((round(end * TPB), 0, mido.Message("note_off", note=pitch, velocity=0)))
    track = mido.MidiTrack()
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    path.parent.mkdir(parents=True, exist_ok=True)
    mido.MidiFile(type=1, ticks_per_beat=TPB, tracks=[conductor, track]).save(path)
    return path


def scale(n: int, offset: int = 0) -> list[tuple[int, float, float]]:
    return [(60 + (i + offset) % 12, i * 0.5, i * 0.5 + 0.5) for i in range(n)]


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Good songs, broken files, an empty song and files the folder scan must ignore."""
    root = tmp_path / "songs"
    write_song(root / "a_good.mid", scale(16), bpm=90, sig=(3, 4))
    write_song(root / "sub" / "deeper" / "B_GOOD.MIDI", scale(8, 3))
    write_song(root / "c_wide.mid", [(10, 0, 1), (60, 1, 2), (120, 2, 3)])
    write_song(root / "d_no_notes.mid", [])
    good = (root / "a_good.mid").read_bytes()
    (root / "e_truncated.mid").write_bytes(good[: len(good) // 2])
    (root / "f_empty.mid").write_bytes(b"")
    (root / "g_text.mid").write_text("these are my lyrics, not a MIDI file\n")
    (root / "notes.txt").write_text("ignored: not .mid")
    (root / ".hidden.mid").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "x.mid").write_bytes(b"junk")
    return root


def by_name(report) -> dict:
    return {r.path.name: r for r in report.results}


def test_mixed_folder_reports_every_file_and_bad_ones_do_not_stop_it(mixed_folder):
    report = import_folder(mixed_folder, workers=1)
    results = by_name(report)
    assert sorted(results) == [
        "B_GOOD.MIDI",
        "a_good.mid",
        "c_wide.mid",
        "d_no_notes.mid",
        "e_truncated.mid",
        "f_empty.mid",
        "g_text.mid",
    ]
    assert {r.path.name for r in report.loaded} == {"a_good.mid", "B_GOOD.MIDI", "c_wide.mid"}
    assert results["d_no_notes.mid"].reason == "no notes"
    assert "truncated" in results["e_truncated.mid"].reason
    assert "empty" in results["f_empty.mid"].reason
    assert "not a MIDI file" in results["g_text.mid"].reason
    for r in report.skipped:
        assert r.matrix is None and "\n" not in r.reason and r.reason
    assert len(report.matrices) == 3

    a = results["a_good.mid"]
    assert (a.steps, a.notes, a.bpm, a.time_signature) == (32, 16, 90.0, "3/4")
    assert a.seconds == pytest.approx(8 * 60 / 90)
    assert a.bars == pytest.approx(8 / 3)
    assert a.matrix.steps == 32 and a.matrix.time_signature == (3, 4)
    assert a.matrix.struck.sum() == 16
    # The matrix is exactly what encoding the re-read song gives.
    assert np.array_equal(a.matrix.data, encode(song_for(a)).data)
    assert len(song_for(a).notes) == 16

    wide = results["c_wide.mid"]
    assert (wide.folded, wide.dropped) == (2, 0)
    summary = report.summary()
    assert (summary["files"], summary["loaded"], summary["skipped"]) == (7, 3, 4)


def test_drop_policy_counts_dropped_notes_and_all_dropped_is_skipped(tmp_path):
    write_song(tmp_path / "wide.mid", [(10, 0, 1), (60, 1, 2), (120, 2, 3)])
    write_song(tmp_path / "low.mid", [(5, 0, 1), (7, 1, 2)])
    report = import_folder(tmp_path, Encoding(out_of_range="drop"), workers=1)
    results = by_name(report)
    assert (results["wide.mid"].folded, results["wide.mid"].dropped) == (0, 2)
    assert results["wide.mid"].matrix.sounding.sum() == 4
    assert not results["low.mid"].ok and "outside the pitch range" in results["low.mid"].reason


def test_explicit_files_any_suffix_and_missing_paths(tmp_path):
    song = write_song(tmp_path / "take1.kar", scale(4))
    folder = tmp_path / "more"
    write_song(folder / "x.mid", scale(5))
    missing = tmp_path / "gone.mid"
    report = import_folder([song, missing, folder, song], workers=1)
    assert [r.path.name for r in report.results] == ["gone.mid", "take1.kar", "x.mid"]
    assert report.results[0].reason == "file not found"
    assert [r.notes for r in report.loaded] == [4, 5]


def test_too_long_song_is_refused_with_a_reason(tmp_path):
    # 12,600 beats at 8 steps per beat is 100,800 steps: over the limit on this grid only.
    write_song(tmp_path / "drone.mid", [(60, 0, 12_600)])
    report = import_folder(tmp_path, Encoding(steps_per_beat=8), workers=1)
    (result,) = report.results
    assert not result.ok and "too long" in result.reason and f"{MAX_STEPS:,}" in result.reason
    assert import_folder(tmp_path, workers=1).results[0].ok


def test_collect_finds_mid_and_midi_in_any_case_recursively(tmp_path):
    for name in ["a.mid", "b.MID", "c/d.Midi", "c/e.midi", "f.mp3", "c/.g.mid"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    files, missing = collect_midi_files(tmp_path)
    assert sorted(f.relative_to(tmp_path).as_posix() for f in files) == [
        "a.mid",
        "b.MID",
        "c/d.Midi",
        "c/e.midi",
    ]
    assert missing == []


def song_entries() -> list[Path]:
    root = import_cache.cache_root()
    return sorted(p for p in root.rglob("*.npz") if p.parent.name != "folders")


def manifests() -> list[Path]:
    return sorted((import_cache.cache_root() / "folders").glob("*.npz"))


def same_results(a, b) -> None:
    assert [r.path for r in a.results] == [r.path for r in b.results]
    for x, y in zip(a.results, b.results, strict=True):
        assert (x.ok, x.steps, x.notes, x.bpm, x.time_signature, x.seconds, x.bars, x.title) == (
            y.ok,
            y.steps,
            y.notes,
            y.bpm,
            y.time_signature,
            y.seconds,
            y.bars,
            y.title,
        )
        if x.ok:
            assert np.array_equal(x.matrix.data, y.matrix.data)
            assert np.array_equal(x.matrix.velocities, y.matrix.velocities)
            assert (x.matrix.bpm, x.matrix.time_signature) == (
                y.matrix.bpm,
                y.matrix.time_signature,
            )


@pytest.fixture
def cached_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RBM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "songs"
    for i in range(3):
        write_song(folder / f"s{i}.mid", scale(6 + i, i), bpm=100 + i, sig=(6, 8))
    write_song(folder / "overlap.mid", [(60, 0, 4), (60, 1, 2), (60, 2, 6), (62, 0, 0)])
    (folder / "bad.mid").write_bytes(b"MThd junk")
    return folder


def test_song_cache_hits_and_corrupt_entries_are_rebuilt(cached_folder):
    first = import_folder(cached_folder, workers=1)
    assert [r.cached for r in first.results] == [False] * 5
    entries = song_entries()
    assert len(entries) == 4  # one per loaded song; the broken file is simply parsed again

    # Naming the files one by one is another import (no folder manifest): song entries answer.
    files = sorted(cached_folder.iterdir())
    second = import_folder(files, workers=1)
    assert [r.cached for r in second.results] == [False, True, True, True, True]
    same_results(first, second)

    entries[0].write_bytes(entries[0].read_bytes()[:40])  # truncated zip
    entries[1].write_bytes(b"PK\x03\x04 definitely not a zip")
    third = import_folder(files[::-1], workers=1)
    assert sum(r.cached for r in third.results) == 2
    assert all(r.ok for r in third.results if r.path.name != "bad.mid")
    # The bad entries were rewritten: every song hits again.
    assert sum(r.cached for r in import_folder(files, workers=1).results) == 4


def test_tampered_song_entry_is_not_trusted(cached_folder):
    import_folder(cached_folder / "s0.mid", workers=1)
    (entry,) = song_entries()
    with np.load(entry, allow_pickle=False) as npz:
        events = npz["events"].copy()
        meta = npz["meta"].copy()
    events[0, 2] = 10_000  # a pitch column far outside the range
    np.savez(entry, events=events, meta=meta)
    for manifest in manifests():
        manifest.unlink()
    result = import_folder([cached_folder / "s0.mid"], workers=1).results[0]
    assert result.ok and not result.cached and result.matrix.struck.sum() == 6


def test_folder_manifest_answers_reopens_without_reading_songs(cached_folder):
    first = import_folder(cached_folder, workers=1)
    assert len(manifests()) == 1
    for entry in song_entries():
        entry.unlink()
    # Nothing but the manifest is left, yet every song comes back identical.
    second = import_folder(cached_folder, workers=1)
    assert [r.cached for r in second.results] == [False, True, True, True, True]
    same_results(first, second)

    # Same size, same mtime, new content: ctime gives it away and the song is parsed again.
    target = cached_folder / "s1.mid"
    before = target.stat()
    time.sleep(0.02)
    data = bytearray(target.read_bytes())
    data[data.index(b"\x90") + 2] = 11  # the first note-on's velocity
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    third = import_folder(cached_folder, workers=1)
    changed = by_name(third)["s1.mid"]
    assert not changed.cached and changed.matrix.velocities.max() == 90
    assert changed.matrix.velocities[changed.matrix.velocities > 0].min() == 11

    # A new song and a deleted one: the manifest follows the folder.
    (cached_folder / "s2.mid").unlink()
    write_song(cached_folder / "new.mid", scale(3))
    fourth = import_folder(cached_folder, workers=1)
    assert sorted(by_name(fourth)) == ["bad.mid", "new.mid", "overlap.mid", "s0.mid", "s1.mid"]
    assert not by_name(fourth)["new.mid"].cached
    fifth = import_folder(cached_folder, workers=1)
    assert [r.cached for r in fifth.loaded] == [True] * 4
    same_results(fourth, fifth)


def test_corrupt_manifest_falls_back_to_song_entries(cached_folder):
    first = import_folder(cached_folder, workers=1)
    (manifest,) = manifests()
    manifest.write_bytes(manifest.read_bytes()[:-30])
    second = import_folder(cached_folder, workers=1)
    assert sum(r.cached for r in second.results) == 4
    same_results(first, second)


def test_cache_keys_follow_settings(cached_folder):
    import_folder(cached_folder, workers=1)
    assert not any(r.cached for r in import_folder(cached_folder, keep_drums=True).results)
    assert not any(
        r.cached for r in import_folder(cached_folder, Encoding(steps_per_beat=2)).results
    )
    assert not any(r.cached for r in import_folder(cached_folder, use_cache=False).results)


def test_progress_is_called_once_per_file_in_order(mixed_folder):
    calls = []
    report = import_folder(mixed_folder, workers=1, progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == list(range(1, 8))
    assert {c[1] for c in calls} == {7}
    assert {c[2] for c in calls} == {r.path for r in report.results}


def test_cancel_stops_the_import_and_says_so(tmp_path):
    for i in range(10):
        write_song(tmp_path / f"s{i:02}.mid", scale(4, i))
    cancel = threading.Event()

    def progress(done, total, path):
        if done == 3:
            cancel.set()

    report = import_folder(tmp_path, workers=1, progress=progress, cancel=cancel, use_cache=False)
    assert report.cancelled
    assert len(report.results) == 3 and all(r.ok for r in report.results)
    cancel.clear()
    assert not import_folder(tmp_path, workers=1, cancel=cancel).cancelled


def test_process_pool_gives_the_same_results_and_can_be_cancelled(mixed_folder, tmp_path):
    for i in range(12):
        write_song(mixed_folder / "many" / f"m{i:02}.mid", scale(10 + i, i))
    alone = import_folder(mixed_folder, workers=1, use_cache=False)
    pooled = import_folder(mixed_folder, workers=2, use_cache=False)
    assert [(r.path, r.ok, r.reason, r.steps, r.notes) for r in alone.results] == [
        (r.path, r.ok, r.reason, r.steps, r.notes) for r in pooled.results
    ]
    for a, b in zip(alone.loaded, pooled.loaded, strict=True):
        assert np.array_equal(a.matrix.data, b.matrix.data)

    cancel = threading.Event()
    cancel.set()
    report = import_folder(mixed_folder, workers=2, cancel=cancel, use_cache=False)
    assert report.cancelled and report.results == []


def test_pool_workers_alone_parse_and_fill_the_cache(mixed_folder, tmp_path, monkeypatch):
    """Every file through a spawned worker process (this thread only waits), then all cached."""
    monkeypatch.setenv("RBM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    files, _ = collect_midi_files(mixed_folder)
    got = []
    dataset._parse_with_pool(
        files,
        Encoding(),
        False,
        True,
        2,
        got.append,
        lambda: False,
        help_here=False,
    )
    assert sorted(r.path for r in got) == sorted(files)
    assert sorted(r.path.name for r in got if r.ok) == ["B_GOOD.MIDI", "a_good.mid", "c_wide.mid"]
    assert len(song_entries()) == 3
    assert [r.cached for r in import_folder(mixed_folder, workers=1).loaded] == [True] * 3

    # Cancelling while the workers run stops collecting at once.
    partial = []
    dataset._parse_with_pool(
        files,
        Encoding(),
        False,
        False,
        1,
        partial.append,
        lambda: len(partial) >= 2,
        help_here=False,
    )
    assert len(partial) == 2


def test_song_for_rereads_the_original_with_velocities(tmp_path):
    path = write_song(tmp_path / "v.mid", scale(5), velocity=33)
    (result,) = import_folder(tmp_path, workers=1).results
    song = song_for(result)
    assert [n.velocity for n in song.notes] == [33] * 5
    assert song.source == path
    assert len(read_midi(path).notes) == result.notes


@st.composite
def songs(draw):
    notes = []
    for _ in range(draw(st.integers(1, 25))):
        start = draw(st.floats(0, 40, allow_nan=False)) / draw(st.sampled_from([1, 3, 7]))
        length = draw(st.sampled_from([0.0, 0.01, 0.125, 0.25, 0.3, 1.0, 2.5]))
        notes.append(
            Note(
                pitch=draw(st.integers(0, 127)),
                start=start,
                end=start + length,
                velocity=draw(st.integers(1, 127)),
            )
        )
    return Song(notes=notes)


@settings(max_examples=150, deadline=None)
@given(
    songs(),
    st.sampled_from(
        [Encoding(), Encoding(out_of_range="drop"), Encoding(steps_per_beat=3, low=40, high=60)]
    ),
)
def test_fast_grid_placement_equals_encode(song, enc):
    """The importer's vectorised encoder must be exactly `encoding.encode`, on any notes:
    overlaps, re-strikes, sub-step and zero-length notes, folding and dropping."""
    expected = encode(song, enc)
    grid = place_notes(song, enc)
    data, velocities = matrix_arrays(grid.events, grid.steps, enc)
    assert grid.steps == expected.steps
    assert (grid.folded, grid.dropped) == (expected.folded, expected.dropped)
    assert np.array_equal(data, expected.data)
    assert np.array_equal(velocities, expected.velocities)
    # What the folder manifest stores rebuilds the same matrix too.
    events = events_from_matrix(expected.data, expected.velocities, enc.span)
    again = matrix_arrays(events, expected.steps, enc)
    assert np.array_equal(again[0], expected.data) and np.array_equal(again[1], expected.velocities)
    assert len(events) == int(expected.struck.sum())


def test_bundled_sample_songs_all_load_in_full():
    folder = sample_midi_dir()
    report = import_folder(folder, workers=1)
    assert len(report.loaded) == 40 and report.skipped == []
    for r in report.loaded:
        assert r.title.startswith("Chorale ") and r.bpm == 90.0 and r.time_signature == "4/4"
        # one benchmark frame (a quarter note) is 4 grid steps
        assert r.steps % 4 == 0 and r.steps >= 4 * 16


def test_sample_song_tool_reproduces_the_bundled_files(jsb_mat, tmp_path):
    tool = Path(__file__).resolve().parent.parent / "tools" / "make_sample_midi.py"
    proc = subprocess.run(
        [sys.executable, str(tool), "--source", str(jsb_mat), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in tmp_path.glob("*.mid"))
    bundled = sorted(p.name for p in sample_midi_dir().glob("*.mid"))
    assert made == bundled and len(made) == 40
    for name in made:
        assert (tmp_path / name).read_bytes() == (sample_midi_dir() / name).read_bytes(), name
    # The songs are the benchmark's pieces: chorale_001 is train piece 0, frame by frame.
    piece = load_benchmark(jsb_mat).train[0]
    song = read_midi(tmp_path / "chorale_001.mid")
    assert song.end_beat == piece.steps
    frames = encode(song, Encoding(steps_per_beat=1, low=21, high=108)).sounding
    assert np.array_equal(frames, piece.sounding)
