"""Playback without a MIDI port: event lists, tempo maps, panic messages, and the no-output state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.playback import ports
from rbm_studio.playback.panic import SoundingNotes, panic_messages, silence
from rbm_studio.playback.player import MidiPlayer
from rbm_studio.playback.scheduling import TempoMap, build_schedule, program_messages


def test_tempo_map_follows_tempo_changes_both_ways():
    song = Song(tempos=[TempoChange(0.0, 120.0), TempoChange(4.0, 60.0), TempoChange(6.0, 240.0)])
    tm = TempoMap(song)
    assert tm.seconds_at(0) == 0
    assert tm.seconds_at(4) == pytest.approx(2.0)  # 4 beats at 120
    assert tm.seconds_at(6) == pytest.approx(4.0)  # + 2 beats at 60
    assert tm.seconds_at(10) == pytest.approx(5.0)  # + 4 beats at 240
    for beat in (0.0, 1.3, 4.0, 5.5, 6.0, 9.75):
        assert tm.beat_at(tm.seconds_at(beat)) == pytest.approx(beat)
        assert tm.seconds_at(beat) == pytest.approx(song.seconds_at(beat))


def test_tempo_map_without_tempos_is_120_bpm():
    tm = TempoMap(Song())
    assert tm.first_bpm == 120.0
    assert tm.seconds_at(3) == pytest.approx(1.5)


def test_schedule_orders_offs_before_ons_and_times_in_seconds():
    song = Song(
        notes=[Note(60, 0.0, 1.0, 100), Note(60, 1.0, 2.0, 70), Note(64, 0.5, 1.5, 50, channel=2)],
        tempos=[TempoChange(0.0, 60.0)],
    )
    sched = build_schedule(song)
    assert [(e.beat, e.message) for e in sched.events] == [
        (0.0, (0x90, 60, 100)),
        (0.5, (0x92, 64, 50)),
        (1.0, (0x80, 60, 0)),
        (1.0, (0x90, 60, 70)),
        (1.5, (0x82, 64, 0)),
        (2.0, (0x80, 60, 0)),
    ]
    assert [e.seconds for e in sched.events] == [0.0, 0.5, 1.0, 1.0, 1.5, 2.0]
    assert sched.channels == [0, 2]
    assert sched.index_at(1.0) == 2
    assert sched.index_at(1.2) == 4


def test_overlapping_same_pitch_restrikes_and_releases_once():
    song = Song(notes=[Note(60, 0.0, 3.0), Note(60, 1.0, 2.0)])
    msgs = [(e.beat, e.message[0] & 0xF0) for e in build_schedule(song).events]
    # on, re-strike (off+on) at 1, the inner note's end at 2 does not cut the sound, one off at 3
    assert msgs == [(0.0, 0x90), (1.0, 0x80), (1.0, 0x90), (3.0, 0x80)]


def test_bar_end_rounds_up_to_whole_bars():
    song = Song(notes=[Note(60, 0, 4.5)], time_signatures=[TimeSignature(0, 3, 4)])
    assert build_schedule(song).bar_end() == 6.0


def test_program_changes_skip_drum_channel():
    assert program_messages([0, 9, 3], 40) == [(0xC0, 40), (0xC3, 40)]


def test_panic_releases_sounding_notes_and_sends_cc123_cc120_per_channel():
    notes = SoundingNotes()
    for m in [(0x90, 60, 90), (0x91, 62, 90), (0x90, 64, 90), (0x80, 64, 0)]:
        notes.observe(m)
    assert notes.sounding() == [(0, 60), (1, 62)]
    msgs = panic_messages(notes, channels=[3])
    assert msgs[:2] == [(0x80, 60, 0), (0x81, 62, 0)]
    assert set(msgs[2:]) == {(0xB0 | ch, cc, 0) for ch in (0, 1, 3) for cc in (120, 123)}
    sent: list[tuple[int, ...]] = []

    def flaky_send(m):
        if m == (0x80, 60, 0):
            raise OSError("port vanished")
        sent.append(m)

    # One failing send must not stop the rest of the note-offs.
    assert silence(flaky_send, notes, [3]) == len(msgs) - 1
    assert (0x81, 62, 0) in sent and len(notes) == 0


def test_resolve_port_by_index_name_or_unique_substring():
    names = ["Midi Through:Midi Through Port-0 14:0", "FLUID Synth (123):Synth input port 128:0"]
    assert ports.resolve_port(names, 1) == 1
    assert ports.resolve_port(names, "0") == 0
    assert ports.resolve_port(names, "fluid") == 1
    with pytest.raises(ports.PortError, match="no output port matches"):
        ports.resolve_port(names, "timidity")
    with pytest.raises(ports.PortError, match="several ports"):
        ports.resolve_port(names, "port")
    with pytest.raises(ports.PortError, match="no output port 5"):
        ports.resolve_port(names, 5)


def test_unknown_api_is_a_port_error():
    with pytest.raises(ports.PortError, match="unknown MIDI API"):
        ports.api_constant("oss")


@pytest.fixture
def no_jack_server(monkeypatch):
    """Point libjack at a server name nobody runs, so JACK reliably has no outputs."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")


def test_player_without_output_reports_status_instead_of_raising(no_jack_server):
    statuses: list = []
    player = MidiPlayer(on_status=statuses.append)
    try:
        assert player.open("jack") is False
        assert not player.status.ready
        assert "JACK" in player.status.message
        assert statuses and statuses[-1] == player.status
        player.load(Song(notes=[Note(60, 0, 1)]))
        assert player.play() is False
        assert player.state == "stopped"
        assert player.audition(60) is False
        assert player.open_default(prefer=["jack"]) is False
        message = player.status.message
        assert "Export the song as MIDI or WAV" in message and "connect a synth" in message
        assert "`" not in message.split(" (")[0]  # no shell commands in the sentence itself
    finally:
        player.close()


def test_jack_probe_without_server_is_unavailable_with_reason(no_jack_server):
    [status] = ports.list_outputs(["jack"])
    assert not status.available
    assert status.reason == "no JACK server running"
    assert not ports.has_any_output([status])


def test_player_rejects_bad_tempo_and_program():
    player = MidiPlayer()
    try:
        with pytest.raises(ValueError):
            player.set_tempo(0)
        with pytest.raises(ValueError):
            player.set_program(128)
        player.set_tempo(90)
        player.load(Song(notes=[Note(60, 0, 1)], tempos=[TempoChange(0, 120)]))
        assert player.tempo_bpm == 90
        player.set_tempo(None)
        assert player.tempo_bpm == 120
    finally:
        player.close()


note_strategy = st.builds(
    lambda pitch, start, length, channel: Note(pitch, start / 4, (start + length) / 4, 64, channel),
    st.integers(58, 62),  # few pitches, so overlaps of one pitch are common
    st.integers(0, 40),
    st.integers(0, 12),  # zero-length notes too
    st.integers(0, 1),
)


@given(st.lists(note_strategy, max_size=40))
@settings(max_examples=200, deadline=None)
def test_schedule_never_leaves_a_note_hanging(notes):
    events = build_schedule(Song(notes=notes)).events
    assert [e.beat for e in events] == sorted(e.beat for e in events)
    sounding: set[tuple[int, int]] = set()
    for e in events:
        key = (e.message[0] & 0x0F, e.message[1])
        if e.is_note_on:
            assert key not in sounding, "note-on for a pitch already sounding"
            sounding.add(key)
        else:
            assert key in sounding, "note-off for a pitch that is not sounding"
            sounding.discard(key)
    assert not sounding
    # every note is struck once
    assert sum(e.is_note_on for e in events) == len(notes)
