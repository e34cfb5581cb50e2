"""Bad input: every broken file raises `MidiImportError` with a one-line reason, nothing else."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import mido
import pytest

from rbm_studio.music.midi import (
    MAX_FILE_BYTES,
    MAX_STEPS,
    MidiImportError,
    read_midi,
    read_midi_bytes,
)


def raw_smf(tracks: list[bytes], *, fmt: int = 0, division: int = 480, n_tracks=None) -> bytes:
    n = len(tracks) if n_tracks is None else n_tracks
    out = b"MThd" + struct.pack(">LHHH", 6, fmt, n, division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">L", len(body)) + body
    return out


NOTE = bytes([0, 0x90, 60, 64, 0x83, 0x60, 0x80, 60, 0, 0, 0xFF, 0x2F, 0])
TWO_TRACKS = raw_smf([NOTE, NOTE], fmt=1)  # second chunk header at byte 35


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    return bytes(out)


def refuses(data: bytes, pattern: str) -> str:
    with pytest.raises(MidiImportError, match=pattern) as info:
        read_midi_bytes(data)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_valid_reference_file_reads():
    assert len(read_midi_bytes(raw_smf([NOTE])).notes) == 1


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"empty file"),
        (b"hello, this is a text file\n" * 4, r"not a MIDI file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), r"not a MIDI file"),
        (b"MThd\x00\x00", r"truncated"),
        (b"MThd" + struct.pack(">LHHH", 2, 0, 1, 480), r"corrupt header"),
        (raw_smf([NOTE], fmt=3), r"unknown MIDI format 3"),
        (raw_smf([NOTE], division=0), r"0 ticks per beat"),
        (raw_smf([], n_tracks=0), r"no tracks"),
        (raw_smf([NOTE], n_tracks=2), r"truncated .*announces 2 tracks, found 1"),
        (raw_smf([NOTE])[:-3], r"truncated .*track 1 should be"),
        (TWO_TRACKS[:35] + b"\xff\xfe\xfd\xfc" + TWO_TRACKS[39:], r"garbage"),
        (raw_smf([bytes([0, 60, 64])]), r"data byte without a status byte"),
        (raw_smf([bytes([0, 0xF4])]), r"undefined status byte 0xF4"),
        (raw_smf([bytes([0, 0x90, 60])]), r"ends inside an event"),
        (raw_smf([bytes([0x81, 0x80])]), r"ends inside a delta time"),
        (raw_smf([bytes([0x81, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 64])]), r"longer than 4 bytes"),
        (raw_smf([bytes([0, 0xFF, 0x03, 0x7F, 65])]), r"meta event longer than its track"),
        (raw_smf([bytes([0, 0xF0, 0x8F, 0xFF, 0xFF, 0x7F])]), r"system exclusive event longer"),
    ],
    ids=[
        "zero-bytes",
        "text",
        "png",
        "short-header",
        "header-length",
        "format-3",
        "division-0",
        "no-tracks",
        "missing-track",
        "truncated-track",
        "garbage-chunk",
        "running-status-without-status",
        "undefined-status",
        "event-cut",
        "delta-cut",
        "delta-too-long",
        "meta-too-long",
        "sysex-too-long",
    ],
)
def test_broken_files_raise_import_error(data: bytes, pattern: str):
    refuses(data, pattern)


def test_wrong_track_length_cannot_read_into_the_next_track():
    """mido reads on past a too-short MTrk length into the next chunk; we stop at the chunk."""
    data = bytearray(raw_smf([NOTE, NOTE], fmt=1))
    struct.pack_into(">L", data, 18, len(NOTE) - 5)  # first track claims to be 5 bytes shorter
    refuses(bytes(data), r"(corrupt|garbage|truncated)")


def test_smpte_reason_names_the_frame_rate():
    division = ((256 - 30) << 8) | 80
    message = refuses(raw_smf([NOTE], division=division), r"^unsupported timing: SMPTE")
    assert "30 frames/s" in message


def test_file_over_size_limit_refused_before_reading(tmp_path: Path):
    path = tmp_path / "huge.mid"
    with path.open("wb") as fh:  # sparse: big on paper, nothing to read
        fh.write(raw_smf([NOTE]))
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(MidiImportError, match=r"file too large \(16\.0 MiB; the limit is 16 MiB\)"):
        read_midi(path)
    with pytest.raises(MidiImportError, match=r"file too large"):
        read_midi_bytes(bytes(MAX_FILE_BYTES + 1))


def test_song_longer_than_step_limit_refused():
    limit_beats = MAX_STEPS // 4
    tpb = 96
    # A note at tick 0..480, then one starting just inside the limit (accepted) or just past it.
    for beats, ok in ((limit_beats - 1, True), (limit_beats + 1, False)):
        body = NOTE[:-4] + vlq(beats * tpb - 480) + bytes([0x90, 62, 64, 1, 0x80, 62, 0])
        data = raw_smf([body], division=tpb)
        if ok:
            assert read_midi_bytes(data).end_beat == pytest.approx(limit_beats - 1 + 1 / tpb)
        else:
            refuses(data, r"song too long \(more than 100,000 steps")


def test_huge_delta_times_refused_without_allocating():
    # Delta times at the 4-byte maximum, 4,000 of them: ~10^12 ticks in all; refused at the first.
    body = b"".join(vlq(0x0FFFFFFF) + bytes([0x90, 60, 64]) for _ in range(4000))
    refuses(raw_smf([body], division=24), r"song too long")


def test_note_left_hanging_until_a_far_end_of_track_is_refused():
    body = bytes([0, 0x90, 60, 64]) + vlq(0x0FFFFFFF) + bytes([0xFF, 0x2F, 0])
    refuses(raw_smf([body], division=24), r"song too long")


def test_far_end_of_track_after_the_music_is_harmless():
    body = bytes([0, 0x90, 60, 64, 24, 0x80, 60, 0]) + vlq(0x0FFFFFFF) + bytes([0xFF, 0x2F, 0])
    assert read_midi_bytes(raw_smf([body], division=24)).end_beat == 1.0


def test_paths_that_are_no_midi_files(tmp_path: Path):
    with pytest.raises(MidiImportError, match="file not found"):
        read_midi(tmp_path / "missing.mid")
    with pytest.raises(MidiImportError, match="folder"):
        read_midi(tmp_path)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MidiImportError, match="empty file"):
        read_midi(empty)
    pipe = tmp_path / "pipe.mid"
    os.mkfifo(pipe)  # opening it for reading would block until someone writes
    with pytest.raises(MidiImportError, match="not a regular file"):
        read_midi(pipe)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path):
    path = tmp_path / "locked.mid"
    path.write_bytes(raw_smf([NOTE]))
    path.chmod(0)
    with pytest.raises(MidiImportError, match="permission denied"):
        read_midi(path)


def test_mido_agrees_these_are_valid():
    """Guard the fixtures: the reference file is one mido reads too."""
    mid = mido.MidiFile(file=io.BytesIO(raw_smf([NOTE])))
    assert [m.type for m in mid.tracks[0]] == ["note_on", "note_off", "end_of_track"]


def test_too_many_notes_refused_while_reading(monkeypatch):
    """The cap (2,000,000 notes) would take seconds to reach; a lower one tests the mechanism."""
    import rbm_studio.music.midi as midi

    monkeypatch.setattr(midi, "MAX_NOTES", 100)
    # 60 notes in each of two tracks: the second track crosses the budget.
    body = bytes([0, 0x90, 60, 64]) + bytes([1, 61, 64] * 59) + bytes([0, 0xFF, 0x2F, 0])
    assert len(read_midi_bytes(raw_smf([body], fmt=1)).notes) == 60
    refuses(raw_smf([body, body], fmt=1), r"too many notes \(more than 100\)")
