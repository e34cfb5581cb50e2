"""Writing: what we write reads back identically, in our reader and in two independent ones."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import pretty_midi
import pytest

from rbm_studio.music.encoding import Encoding, decode, encode
from rbm_studio.music.midi import read_midi, read_midi_bytes, song_to_midi_bytes, write_midi
from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature

# Whole, dotted half, quarter, eighth, triplet eighth, sixteenth, quintuplet, thirty-second notes.
DURATIONS = [4.0, 3.0, 1.0, 0.5, 1 / 3, 0.25, 0.2, 0.125]


def varied_song() -> Song:
    notes = []
    beat = 0.0
    for i, length in enumerate(DURATIONS * 3):
        pitch = 40 + (i * 7) % 48
        notes.append(Note(pitch, beat, beat + length, velocity=1 + (i * 37) % 127))
        notes.append(Note(pitch + 4, beat, beat + length / 2, velocity=100))  # chord, shorter
        beat += length
    # A pitch struck again exactly as it ends, and a note overlapping one of its own pitch.
    notes += [Note(72, beat, beat + 1, 90), Note(72, beat + 1, beat + 2, 30)]
    notes += [Note(74, beat, beat + 2, 60), Note(74, beat + 1, beat + 3, 70)]
    notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    return Song(
        notes=notes,
        tempos=[TempoChange(0.0, 96.0)],
        time_signatures=[TimeSignature(0.0, 7, 8)],
        title="Round Trip",
    )


def key(song: Song) -> list[tuple[int, float, float, int]]:
    return sorted((n.pitch, round(n.start, 9), round(n.end, 9), n.velocity) for n in song.notes)


def test_round_trip_keeps_every_note(tmp_path: Path):
    song = varied_song()
    path = tmp_path / "out.mid"
    write_midi(song, path)
    back = read_midi(path)
    assert key(back) == key(song)
    assert back.title == "Round Trip"
    assert back.tempos == [TempoChange(0.0, 96.0)]
    assert back.time_signatures == [TimeSignature(0.0, 7, 8)]
    assert back.ticks_per_beat == 480


def test_written_file_is_standard_type1(tmp_path: Path):
    path = tmp_path / "std.mid"
    write_midi(varied_song(), path, program=40)
    mid = mido.MidiFile(path)
    assert (mid.type, mid.ticks_per_beat, len(mid.tracks)) == (1, 480, 2)
    programs = [m.program for m in mid.tracks[1] if m.type == "program_change"]
    assert programs == [40]
    tempos = [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(96)]


def test_independent_reader_sees_the_same_notes():
    # pretty_midi ends every sounding note of a pitch at its first note-off, so no overlaps here.
    song = varied_song()
    song.notes = [n for n in song.notes if n.pitch != 74]
    pm = pretty_midi.PrettyMIDI(io.BytesIO(song_to_midi_bytes(song)))
    theirs = sorted(
        (
            n.pitch,
            round(pm.time_to_tick(n.start) / 480, 9),
            round(pm.time_to_tick(n.end) / 480, 9),
            n.velocity,
        )
        for inst in pm.instruments
        for n in inst.notes
    )
    assert theirs == key(song)
    assert pm.instruments[0].program == 0


def test_defaults_when_song_has_no_tempo_or_metre():
    data = song_to_midi_bytes(Song(notes=[Note(60, 0.0, 1.0)]))
    mid = mido.MidiFile(file=io.BytesIO(data))
    metas = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert metas["set_tempo"].tempo == 500000  # 120 BPM
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (4, 4)
    back = read_midi_bytes(data)
    assert back.first_bpm == 120.0


def test_tempo_and_metre_maps_written(tmp_path: Path):
    song = Song(
        notes=[Note(60, 0.0, 8.0)],
        tempos=[TempoChange(0.0, 80.0), TempoChange(4.0, 140.0)],
        time_signatures=[TimeSignature(0.0, 6, 8), TimeSignature(3.0, 9, 8)],
    )
    back = read_midi_bytes(song_to_midi_bytes(song))
    assert back.tempos == song.tempos
    assert back.time_signatures == song.time_signatures


def test_unicode_title_and_file_permissions(tmp_path: Path):
    path = tmp_path / "title.mid"
    write_midi(Song(notes=[Note(60, 0.0, 1.0)], title="Año ♪ 曲"), path)
    assert read_midi(path).title == "Año ♪ 曲"
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    write_midi(Song(notes=[Note(62, 0.0, 1.0)]), path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_first_tempo_set_late_still_opens_the_file():
    song = Song(notes=[Note(60, 0.0, 4.0)], tempos=[TempoChange(2.0, 75.0)])
    back = read_midi_bytes(song_to_midi_bytes(song))
    assert back.first_bpm == 75.0
    with pytest.raises(ValueError, match="tempo"):
        song_to_midi_bytes(Song(tempos=[TempoChange(0.0, 0.0)]))


def test_empty_song_writes_a_valid_file():
    back = read_midi_bytes(song_to_midi_bytes(Song()))
    assert back.notes == []


def test_channels_kept_and_drums_written_on_channel_10():
    song = Song(notes=[Note(36, 0.0, 0.5, channel=9), Note(60, 0.0, 1.0, channel=2)])
    data = song_to_midi_bytes(song)
    back = read_midi_bytes(data, keep_drums=True)
    assert [(n.pitch, n.channel) for n in back.notes] == [(36, 9), (60, 2)]
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert [m.channel for m in mid.tracks[1] if m.type == "program_change"] == [2]


def test_zero_length_and_extreme_velocities_are_made_playable():
    song = Song(notes=[Note(60, 1.0, 1.0, velocity=0), Note(61, 0.0, 1.0, velocity=500)])
    back = read_midi_bytes(song_to_midi_bytes(song))
    assert [(n.pitch, n.start, n.end, n.velocity) for n in back.notes] == [
        (61, 0.0, 1.0, 127),
        (60, 1.0, 1.0 + 1 / 480, 1),
    ]


@pytest.mark.parametrize(
    "note",
    [Note(128, 0.0, 1.0), Note(-1, 0.0, 1.0), Note(60, -1.0, 1.0), Note(60, 0.0, 1.0, channel=16)],
)
def test_invalid_notes_refused_and_existing_file_untouched(tmp_path: Path, note: Note):
    path = tmp_path / "keep.mid"
    write_midi(varied_song(), path)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_midi(Song(notes=[Note(60, 0.0, 1.0), note]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path):
    path = tmp_path / "song.mid"
    write_midi(Song(notes=[Note(60, 0.0, 1.0)]), path)
    write_midi(varied_song(), path)
    assert key(read_midi(path)) == key(varied_song())
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]


def test_state_matrix_round_trip_through_a_file(tmp_path: Path):
    """The path generated songs take: matrix → song → MIDI file → song → same matrix."""
    enc = Encoding(steps_per_beat=4)
    song = Song(notes=[n for n in varied_song().notes if n.duration >= 0.25])
    matrix = encode(song, enc)
    path = tmp_path / "generated.mid"
    write_midi(decode(matrix), path)
    again = encode(read_midi(path), enc)
    assert (again.data == matrix.data).all()
    assert (again.velocities == matrix.velocities).all()
    assert again.bpm == matrix.bpm
