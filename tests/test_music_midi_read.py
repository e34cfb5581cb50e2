"""Reading real-world MIDI: every fixture is a file the test writes itself (mido or raw bytes)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mido
import pytest

from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.midi import MidiImportError, read_midi, read_midi_bytes
from rbm_studio.music.song import TempoChange, TimeSignature


def midi_bytes(tracks: list[list], *, type: int = 1, ticks_per_beat: int = 480) -> bytes:
    """A MIDI file from lists of mido messages (times are delta ticks)."""
    mid = mido.MidiFile(type=type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def on(note: int, time: int = 0, velocity: int = 64, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=velocity, time=time, channel=channel)


def off(note: int, time: int = 0, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", note=note, velocity=0, time=time, channel=channel)


def meta(kind: str, time: int = 0, **kw) -> mido.MetaMessage:
    return mido.MetaMessage(kind, time=time, **kw)


def raw_smf(tracks: list[bytes], *, fmt: int = 0, division: int = 480) -> bytes:
    """A MIDI file from raw track bodies, for what mido would not write."""
    out = b"MThd" + struct.pack(">LHHH", 6, fmt, len(tracks), division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">L", len(body)) + body
    return out


def spans(song) -> list[tuple[int, float, float, int]]:
    return [(n.pitch, n.start, n.end, n.velocity) for n in song.notes]


def test_type0_merges_channels_and_keeps_them(tmp_path: Path):
    path = tmp_path / "type0.mid"
    path.write_bytes(
        midi_bytes(
            [
                [
                    meta("track_name", name="Type Zero"),
                    on(60, channel=0, velocity=90),
                    on(48, channel=3, velocity=50),
                    off(60, 480, channel=0),
                    off(48, 480, channel=3),
                ]
            ],
            type=0,
        )
    )
    song = read_midi(path)
    assert song.title == "Type Zero"
    assert song.source == path
    assert song.ticks_per_beat == 480
    assert [(n.pitch, n.start, n.end, n.velocity, n.channel) for n in song.notes] == [
        (48, 0.0, 2.0, 50, 3),
        (60, 0.0, 1.0, 90, 0),
    ]


def test_type1_many_tracks_and_channels_merged():
    conductor = [meta("set_tempo", tempo=mido.bpm2tempo(100)), meta("time_signature")]
    parts = [
        [mido.Message("program_change", channel=ch, program=ch)]
        + [
            msg
            for beat in range(4)
            for msg in (on(50 + ch, 0, channel=ch), off(50 + ch, 480, channel=ch))
        ]
        for ch in range(8)
    ]
    song = read_midi_bytes(midi_bytes([conductor, *parts]), name="many.mid")
    assert song.title == "many"
    assert song.tempos == [TempoChange(0.0, 100.0)]
    assert len(song.notes) == 32
    by_track = {n.track: n for n in song.notes}
    assert sorted(by_track) == list(range(1, 9))
    assert all(n.channel == n.track - 1 and n.pitch == 50 + n.channel for n in song.notes)
    assert song.end_beat == 4.0


def test_type2_tracks_play_one_after_another():
    first = [on(60), off(60, 960), meta("end_of_track", 960)]  # 4 beats long
    second = [meta("set_tempo", tempo=mido.bpm2tempo(90)), on(67, 240), off(67, 480)]
    song = read_midi_bytes(midi_bytes([first, second], type=2))
    assert spans(song) == [(60, 0.0, 2.0, 64), (67, 4.5, 5.5, 64)]
    assert [n.track for n in song.notes] == [0, 1]
    assert song.tempos == [TempoChange(4.0, 90.0)]


def test_drum_channel_left_out_unless_asked():
    data = midi_bytes([[on(36, channel=9), on(60), off(36, 240, channel=9), off(60, 240)]], type=0)
    assert [n.pitch for n in read_midi_bytes(data).notes] == [60]
    kept = read_midi_bytes(data, keep_drums=True)
    assert [(n.pitch, n.channel) for n in kept.notes] == [(36, 9), (60, 0)]


def test_note_on_velocity_zero_is_note_off():
    data = midi_bytes([[on(64, velocity=100), on(64, 480, velocity=0), on(64, 0, velocity=30)]])
    song = read_midi_bytes(data)
    # The second strike is never released: it ends with the track.
    assert spans(song) == [(64, 0.0, 1.0, 100), (64, 1.0, 1.0, 30)]


def test_overlapping_notes_of_one_pitch_pair_first_in_first_out():
    data = midi_bytes(
        [[on(60, 0, 100), on(60, 240, 50), off(60, 240), off(60, 480), on(62, 0), off(62, 480)]]
    )
    song = read_midi_bytes(data)
    assert spans(song) == [(60, 0.0, 1.0, 100), (60, 0.5, 2.0, 50), (62, 2.0, 3.0, 64)]


def test_notes_still_on_are_closed_at_end_of_track():
    data = midi_bytes([[on(60), on(64, 480), off(64, 480), meta("end_of_track", 960)]])
    song = read_midi_bytes(data)
    assert spans(song) == [(60, 0.0, 4.0, 64), (64, 1.0, 2.0, 64)]


@pytest.mark.parametrize("metres", [[(6, 8)], [(9, 8)], [(7, 8)], [(4, 4), (6, 8), (9, 8), (7, 8)]])
def test_any_metre_and_tempo_changes_import_completely(metres):
    """Beats are quarter notes whatever the metre; changes in mid-song must not stop the import."""
    track = []
    expected = []
    beat = 0.0
    for bar, (num, den) in enumerate(metres * 3):
        track.append(meta("time_signature", numerator=num, denominator=den))
        track.append(meta("set_tempo", tempo=mido.bpm2tempo(80 + 10 * bar)))
        eighths = num * 8 // den
        for _ in range(eighths):
            pitch = 60 + len(expected) % 12
            track += [on(pitch), off(pitch, 240)]
            expected.append((pitch, beat, beat + 0.5, 64))
            beat += 0.5
    song = read_midi_bytes(midi_bytes([track]))
    assert spans(song) == expected
    assert song.end_beat == beat
    sigs = [(s.numerator, s.denominator) for s in song.time_signatures]
    assert sigs == (metres * 3 if len(metres) > 1 else metres)  # repeats of one metre collapse
    assert [t.bpm for t in song.tempos] == [80 + 10 * bar for bar in range(len(metres) * 3)]
    assert song.bars() == pytest.approx(len(metres) * 3)


def test_running_status_written_as_raw_bytes():
    body = bytes(
        [0x00, 0x90, 60, 100]  # note on, status given
        + [0x00, 64, 90]  # running status: note on 64
        + [0x83, 0x60, 60, 0]  # 480 ticks later, running status: velocity 0 = off
        + [0x00, 64, 0]
        + [0x00, 0xFF, 0x2F, 0x00]
    )
    song = read_midi_bytes(raw_smf([body]))
    assert spans(song) == [(60, 0.0, 1.0, 100), (64, 0.0, 1.0, 90)]


@pytest.mark.parametrize("tpb", [96, 100, 128, 1024])
def test_ticks_per_beat_not_a_multiple_of_the_grid(tpb: int):
    # Notes every third of a beat: ticks fall between sixteenth-note steps for every tpb here.
    track = []
    ticks = [round(i * tpb / 3) for i in range(13)]
    last = 0
    for i in range(12):
        track += [on(60 + i, ticks[i] - last), off(60 + i, ticks[i + 1] - ticks[i])]
        last = ticks[i + 1]
    song = read_midi_bytes(midi_bytes([track], ticks_per_beat=tpb))
    assert song.ticks_per_beat == tpb
    assert [n.start for n in song.notes] == [t / tpb for t in ticks[:12]]
    assert song.end_beat == 4.0
    matrix = encode(song, Encoding(steps_per_beat=4))
    assert matrix.steps == 16
    assert int(matrix.struck.sum()) == 12


def test_song_without_notes_is_empty_not_an_error():
    data = midi_bytes([[meta("set_tempo", tempo=400000), meta("text", text="only words")]])
    song = read_midi_bytes(data, name="silent.mid")
    assert song.notes == []
    assert song.end_beat == 0.0
    assert song.tempos == [TempoChange(0.0, 150.0)]
    assert song.title == "silent"


def test_smpte_division_is_refused():
    division = ((256 - 25) << 8) | 40  # -25 frames/s, 40 ticks per frame
    data = raw_smf([bytes([0, 0x90, 60, 64, 10, 0x80, 60, 0])], division=division)
    with pytest.raises(MidiImportError, match=r"^unsupported timing: SMPTE 25 frames/s"):
        read_midi_bytes(data)


def test_odd_meta_events_do_not_stop_the_import():
    body = bytes(
        [0, 0xFF, 0x59, 2, 0x40, 9]  # key signature mido cannot decode
        + [0, 0xFF, 0x58, 1, 5]  # time signature cut short
        + [0, 0xFF, 0x51, 2, 1, 2]  # tempo cut short
        + [0, 0xFF, 0x03, 4]
        + list("Café".encode("latin-1"))
        + [0, 0xF0, 3, 1, 2, 0xF7]  # sysex
        + [0, 0x90, 60, 200]  # data byte > 127: clipped
        + [0x60, 0x80, 60, 0]
    )
    song = read_midi_bytes(raw_smf([body]))
    assert spans(song) == [(60, 0.0, 0.2, 127)]
    assert song.title == "Café"
    assert song.tempos == [] and song.time_signatures == []


def test_rmid_wrapped_file():
    inner = midi_bytes([[on(60), off(60, 480)]])
    rmid = b"RIFF" + struct.pack("<L", 12 + len(inner)) + b"RMID"
    rmid += b"data" + struct.pack("<L", len(inner)) + inner
    assert spans(read_midi_bytes(rmid)) == [(60, 0.0, 1.0, 64)]


def test_title_from_track_name_in_utf8_or_file_name(tmp_path: Path):
    path = tmp_path / "Fallback Name.MID"
    path.write_bytes(midi_bytes([[meta("track_name", name="  "), on(60), off(60, 480)]]))
    assert read_midi(path).title == "Fallback Name"
    name = "Año ♪".encode()
    body = bytes([0, 0xFF, 0x03, len(name)]) + name + bytes([0, 0xFF, 0x2F, 0])
    assert read_midi_bytes(raw_smf([body])).title == "Año ♪"


def test_tempo_changes_between_notes_do_not_move_beats():
    track = [
        on(60),
        off(60, 480),
        meta("set_tempo", tempo=mido.bpm2tempo(60)),
        on(62),
        off(62, 480),
    ]
    song = read_midi_bytes(midi_bytes([track]))
    assert spans(song) == [(60, 0.0, 1.0, 64), (62, 1.0, 2.0, 64)]
    assert song.tempos == [TempoChange(1.0, 60.0)]
    assert song.duration_seconds == pytest.approx(0.5 + 1.0)
    assert song.time_signatures == []
    assert song.first_time_signature == TimeSignature(0.0, 4, 4)
