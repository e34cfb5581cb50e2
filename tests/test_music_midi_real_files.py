"""The 52 real Nottingham tunes (type 1, 1024 ticks per beat, 2/4 … 9/8) import to their full length."""

from __future__ import annotations

from pathlib import Path

import mido
import pretty_midi
import pytest

from rbm_studio.music.midi import read_midi


def mido_note_extent(mid: mido.MidiFile) -> tuple[int, int]:
    """(number of note-ons with velocity > 0, tick of the last note-off) counted with mido."""
    count = last_off = 0
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                count += 1
            elif msg.type in ("note_on", "note_off"):
                last_off = max(last_off, tick)
    return count, last_off


def test_every_tune_reads_to_its_full_length(nottingham_midi_dir: Path):
    paths = sorted(nottingham_midi_dir.glob("*.mid"))
    assert len(paths) == 52
    metres = set()
    for path in paths:
        song = read_midi(path)
        mid = mido.MidiFile(path)
        count, last_off = mido_note_extent(mid)
        assert len(song.notes) == count, path.name
        assert song.end_beat == last_off / song.ticks_per_beat, path.name
        assert song.ticks_per_beat == 1024
        # No tempo events in these files: mido plays them at 120 BPM, 2 beats per second.
        assert song.end_beat <= mid.length * 2 + 1e-6, path.name
        metres |= {(s.numerator, s.denominator) for s in song.time_signatures}
    assert {(6, 8), (9, 8), (3, 4), (2, 4), (4, 4)} <= metres


def test_notes_match_an_independent_reader(nottingham_midi_dir: Path):
    for path in sorted(nottingham_midi_dir.glob("*.mid"))[::4]:
        pm = pretty_midi.PrettyMIDI(str(path))
        theirs = sorted(
            (n.pitch, pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.velocity)
            for inst in pm.instruments
            for n in inst.notes
        )
        song = read_midi(path)
        tpb = song.ticks_per_beat
        ours = sorted(
            (n.pitch, round(n.start * tpb), round(n.end * tpb), n.velocity) for n in song.notes
        )
        assert ours == theirs, path.name


@pytest.fixture(autouse=True)
def _quiet_pretty_midi():
    """pretty_midi warns about metre events outside track 0, which these files have."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
