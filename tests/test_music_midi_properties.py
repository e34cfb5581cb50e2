"""Properties over generated files: our byte reader agrees with mido's parser, and writing then
reading gives back the same notes."""

from __future__ import annotations

import io
from collections import defaultdict, deque

import mido
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rbm_studio.music.midi import read_midi_bytes, song_to_midi_bytes
from rbm_studio.music.song import Note, Song, TempoChange

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

channel_message = st.one_of(
    st.builds(
        lambda ch, n, v, t: mido.Message("note_on", channel=ch, note=n, velocity=v, time=t),
        st.sampled_from([0, 1, 9, 15]),
        st.integers(50, 56),
        st.integers(0, 127),
        st.integers(0, 600),
    ),
    st.builds(
        lambda ch, n, t: mido.Message("note_off", channel=ch, note=n, velocity=64, time=t),
        st.sampled_from([0, 1, 9, 15]),
        st.integers(50, 56),
        st.integers(0, 600),
    ),
    st.builds(
        lambda ch, c, v: mido.Message("control_change", channel=ch, control=c, value=v),
        st.integers(0, 15),
        st.integers(0, 127),
        st.integers(0, 127),
    ),
    st.builds(lambda p: mido.Message("pitchwheel", pitch=p), st.integers(-8192, 8191)),
    st.builds(lambda p: mido.Message("program_change", program=p), st.integers(0, 127)),
    st.builds(lambda d: mido.Message("sysex", data=d), st.lists(st.integers(0, 127), max_size=5)),
    st.builds(lambda t: mido.MetaMessage("set_tempo", tempo=t, time=7), st.integers(1, 0xFFFFFF)),
    st.builds(lambda s: mido.MetaMessage("text", text=s), st.text("abc é", max_size=6)),
    st.builds(
        lambda n, d: mido.MetaMessage("time_signature", numerator=n, denominator=d),
        st.integers(1, 13),
        st.sampled_from([2, 4, 8, 16]),
    ),
)

midi_file = st.builds(
    lambda fmt, tpb, tracks: (fmt, tpb, tracks),
    st.sampled_from([0, 1, 2]),
    st.sampled_from([24, 96, 100, 480, 1024, 32767]),
    st.lists(st.lists(channel_message, max_size=40), min_size=1, max_size=4),
)


def mido_reference(mid: mido.MidiFile, keep_drums: bool) -> list[tuple]:
    """Notes in ticks from mido's own parse: FIFO per (track, channel, pitch), open notes end with
    their track, format 2 tracks one after another."""
    notes = []
    offset = 0
    for index, track in enumerate(mid.tracks):
        tick = offset
        pending: dict[tuple[int, int], deque] = defaultdict(deque)
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                pending[key].append((tick, msg.velocity))
            elif pending[key]:
                start, velocity = pending[key].popleft()
                notes.append((start, tick, msg.note, velocity, msg.channel, index))
        for (channel, pitch), queue in pending.items():
            notes += [(start, tick, pitch, vel, channel, index) for start, vel in queue]
        if mid.type == 2:
            offset = tick
    return sorted(n for n in notes if keep_drums or n[4] != 9)


@SETTINGS
@given(midi_file, st.booleans())
def test_reader_agrees_with_mido(spec, keep_drums: bool):
    fmt, tpb, tracks = spec
    if fmt == 0:
        tracks = tracks[:1]
    mid = mido.MidiFile(type=fmt, ticks_per_beat=tpb)
    mid.tracks.extend(mido.MidiTrack(t) for t in tracks)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    data = buffer.getvalue()

    song = read_midi_bytes(data, keep_drums=keep_drums)
    ours = sorted(
        (round(n.start * tpb), round(n.end * tpb), n.pitch, n.velocity, n.channel, n.track)
        for n in song.notes
    )
    assert ours == mido_reference(mido.MidiFile(file=io.BytesIO(data)), keep_drums)


def non_overlapping_notes(draw_list: list[tuple[int, int, int, int, int]]) -> list[Note]:
    """Keep each (channel, pitch)'s notes apart: MIDI cannot tell nested notes of one pitch apart."""
    notes = []
    busy_until: dict[tuple[int, int], int] = {}
    for start, length, pitch, velocity, channel in sorted(draw_list):
        if start >= busy_until.get((channel, pitch), 0):
            notes.append(Note(pitch, start / 480, (start + length) / 480, velocity, channel))
            busy_until[(channel, pitch)] = start + length
    return notes


song_notes = st.lists(
    st.tuples(
        st.integers(0, 480 * 64),
        st.integers(1, 480 * 8),
        st.integers(0, 127),
        st.integers(1, 127),
        st.sampled_from([0, 3, 9]),
    ),
    max_size=60,
).map(non_overlapping_notes)


@settings(SETTINGS, max_examples=40)
@given(song_notes, st.floats(20, 300), st.text(max_size=10))
def test_write_then_read_gives_back_the_notes(notes: list[Note], bpm: float, title: str):
    song = Song(notes=notes, tempos=[TempoChange(0.0, bpm)], title=title)
    back = read_midi_bytes(song_to_midi_bytes(song), keep_drums=True)

    def key(s: Song):
        return sorted((n.pitch, n.start, n.end, n.velocity, n.channel) for n in s.notes)

    assert key(back) == key(song)
    assert abs(back.first_bpm - bpm) < 0.01 * bpm / 100 + 1e-3
    assert back.title == title.replace("\x00", "").strip()
