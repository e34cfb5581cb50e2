"""End to end through a real JACK server (dummy driver): what MidiPlayer sends is what a synth hears.

Arrival times are JACK's own (delivered once per 128-frame period, 2.7 ms), so timing is checked
to the 5 ms the issue asks for, never against wall-clock sleeps.
"""

from __future__ import annotations

import itertools
import time

import pytest
import rtmidi

from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.jack_server import JackListener
from rbm_studio.playback.player import MidiPlayer
from rbm_studio.playback.ports import VIRTUAL_PORT_NAME, list_outputs
from rbm_studio.playback.scheduling import build_schedule

pytestmark = pytest.mark.jack

TOLERANCE_S = 0.005
_names = itertools.count()


def is_note_on(m: tuple[int, ...]) -> bool:
    return m[0] & 0xF0 == 0x90 and m[2] > 0


def is_note_off(m: tuple[int, ...]) -> bool:
    return m[0] & 0xF0 == 0x80 or (m[0] & 0xF0 == 0x90 and m[2] == 0)


def notes_only(messages):
    return [(t, m) for t, m in messages if is_note_on(m) or is_note_off(m)]


def still_sounding(messages) -> set[tuple[int, int]]:
    """(channel, pitch) left on at the end: a note-on with no later note-off and no CC123/120."""
    on: set[tuple[int, int]] = set()
    for _, m in messages:
        ch = m[0] & 0x0F
        if is_note_on(m):
            on.add((ch, m[1]))
        elif is_note_off(m):
            on.discard((ch, m[1]))
    return on


def assert_onsets_match(received: list[float], score: list[float]) -> None:
    """Onsets relative to the first one, and every inter-onset interval, within 5 ms of the score."""
    assert len(received) == len(score)
    for i in range(len(score)):
        drift = (received[i] - received[0]) - (score[i] - score[0])
        assert abs(drift) < TOLERANCE_S, f"onset {i} is {drift * 1000:.2f} ms off the score"
    for i in range(1, len(score)):
        err = (received[i] - received[i - 1]) - (score[i] - score[i - 1])
        assert abs(err) < TOLERANCE_S, f"interval {i} is {err * 1000:.2f} ms off the score"


@pytest.fixture
def listener(jack_server):
    with JackListener(client_name=f"rbm-listener-{next(_names)}") as lis:
        yield lis


@pytest.fixture
def player(jack_server):
    p = MidiPlayer(client_name=f"rbm-player-{next(_names)}")
    yield p
    p.close()


def known_song() -> Song:
    """A small two-channel tune with a chord, uneven rhythm, a re-struck pitch and a tempo change."""
    melody = [(0.0, 0.5, 67), (0.5, 0.75, 69), (0.75, 1.0, 71), (1.0, 2.0, 72), (2.0, 2.5, 72)]
    melody += [(2.5, 2.75, 71), (2.75, 3.0, 69), (3.0, 4.0, 67), (4.0, 4.5, 64), (4.5, 5.0, 62)]
    notes = [Note(p, s, e, 70 + i) for i, (s, e, p) in enumerate(melody)]
    notes += [Note(p, 0.0, 2.0, 60, channel=1) for p in (48, 52, 55)]
    notes += [Note(p, 2.0, 5.0, 55, channel=1) for p in (43, 50)]
    return Song(notes=notes, tempos=[TempoChange(0.0, 150.0), TempoChange(3.0, 180.0)])


def steady_song(count: int, step: float = 0.5, length: float = 0.4, bpm: float = 120.0) -> Song:
    notes = [Note(60 + i, i * step, i * step + length, 90) for i in range(count)]
    return Song(notes=notes, tempos=[TempoChange(0.0, bpm)])


def play_to_end(player: MidiPlayer, listener: JackListener, song: Song) -> list:
    assert player.open("jack", listener.port_name), player.status.message
    player.load(song)
    assert player.play()
    assert player.wait(timeout=30)
    listener.settle()
    return listener.messages()


def test_every_note_arrives_in_order_and_on_time(player, listener):
    song = known_song()
    finished: list[bool] = []
    player.on_finished = lambda: finished.append(True)
    received = play_to_end(player, listener, song)
    schedule = build_schedule(song)
    got = notes_only(received)
    assert [m for _, m in got] == [e.message for e in schedule.events]
    on_times = [t for t, m in got if is_note_on(m)]
    assert_onsets_match(on_times, [e.seconds for e in schedule.events if e.is_note_on])
    assert finished == [True] and player.state == "stopped"
    assert not still_sounding(received)
    # the natural end releases the notes but does not cut their sound with All Sound Off
    assert not any(m[0] & 0xF0 == 0xB0 for _, m in received)
    # program changes went out first, on both melodic channels
    assert {m for _, m in received[:4]} >= {(0xC0, 0), (0xC1, 0)}


def test_stop_mid_song_leaves_no_sounding_note(player, listener):
    song = Song(notes=[Note(p, 0.0, 8.0) for p in (48, 55, 64)] + [Note(72, 0.5, 8.0, channel=3)])
    assert player.open("jack", listener.port_name)
    player.load(song)
    player.play()
    assert listener.wait_for(5)  # program changes + first chord
    time.sleep(0.35)  # beat 0.5 passed: the channel-3 note sounds too
    player.stop()
    listener.settle()
    received = listener.messages()
    assert sum(is_note_on(m) for _, m in received) == 4
    assert not still_sounding(received)
    for ch in (0, 3):
        assert (0xB0 | ch, 123, 0) in [m for _, m in received]
        assert (0xB0 | ch, 120, 0) in [m for _, m in received]
    assert player.sounding_notes == [] and player.position == 0.0


def test_seek_releases_and_continues_from_the_new_beat(player, listener):
    song = steady_song(16, step=0.5, length=0.45)  # a note every 250 ms, pitches 60..75
    assert player.open("jack", listener.port_name)
    player.load(song)
    player.play()
    time.sleep(0.6)
    player.seek(6.0)
    assert player.wait(timeout=10)
    listener.settle()
    got = notes_only(listener.messages())
    pitches = [m[1] for _, m in got if is_note_on(m)]
    k = pitches.index(72)
    assert pitches[:k] == list(range(60, 60 + k)) and k >= 2
    assert pitches[k:] == [72, 73, 74, 75]
    before = got[: [m for _, m in got].index((0x90, 72, 90))]
    assert not still_sounding(before), "the note sounding at the seek was not released"
    onsets = [t for t, m in got if is_note_on(m) and m[1] >= 72]
    assert_onsets_match(onsets, [0.0, 0.25, 0.5, 0.75])


def test_loop_repeats_the_region_seamlessly(player, listener):
    notes = [Note(60 + i, i * 0.5, i * 0.5 + 0.4) for i in range(3)]
    notes += [Note(63, 1.5, 2.5), Note(70, 2.0, 2.5)]  # 63 crosses the loop end; 70 is outside
    song = Song(notes=notes, tempos=[TempoChange(0.0, 240.0)])
    assert player.open("jack", listener.port_name)
    player.load(song)
    player.set_loop(True, 0.0, 2.0)  # one pass = 0.5 s
    player.play()
    time.sleep(1.3)
    player.stop()
    listener.settle()
    got = notes_only(listener.messages())
    ons = [(t, m[1]) for t, m in got if is_note_on(m)]
    pitches = [p for _, p in ons]
    assert pitches[:10] == [60, 61, 62, 63] * 2 + [60, 61]
    assert 70 not in pitches
    # 63 is released at every loop turn, before 60 starts again
    seq = [(m[0] & 0xF0 == 0x90 and m[2] > 0, m[1]) for _, m in got]
    for i, (is_on, pitch) in enumerate(seq):
        if is_on and pitch == 60 and i > 0:
            assert (False, 63) in seq[:i][-3:]
    assert_onsets_match(
        [t for t, _ in ons[:10]], [0.125 * (i % 4) + 0.5 * (i // 4) for i in range(10)]
    )
    assert not still_sounding(listener.messages())


def test_tempo_override_scales_time(player, listener):
    player.set_tempo(240.0)  # twice the song's 120 BPM
    received = play_to_end(player, listener, steady_song(6, step=0.5, length=0.4))
    onsets = [t for t, m in received if is_note_on(m)]
    assert_onsets_match(onsets, [0.125 * i for i in range(6)])


def test_port_change_silences_the_old_port(player, listener, jack_server):
    with JackListener(client_name=f"rbm-listener-{next(_names)}") as second:
        song = Song(notes=[Note(60, 0.0, 3.0), Note(64, 0.0, 3.0), Note(67, 2.0, 2.5)])
        assert player.open("jack", listener.port_name)
        player.load(song)
        player.play()
        assert listener.wait_for(4)
        time.sleep(0.2)
        assert player.open("jack", second.port_name)
        assert player.state == "playing"
        assert player.wait(timeout=10)
        listener.settle()
        second.settle()
        first_msgs = listener.messages()
        assert not still_sounding(first_msgs)
        assert (0xB0, 123, 0) in [m for _, m in first_msgs]
        # the new port picks up what comes after the switch (1 s later): the beat-2 note
        assert (0x90, 67, 80) in [m for _, m in second.messages()]
        assert not still_sounding(second.messages())


def test_virtual_port_can_be_connected_to(player, jack_server):
    assert player.open("jack", virtual=True), player.status.message
    assert player.status.virtual and VIRTUAL_PORT_NAME in player.status.message
    midi_in = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=f"rbm-synth-{next(_names)}")
    try:
        ports = midi_in.get_ports()
        ours = [i for i, p in enumerate(ports) if p.startswith(f"{player.client_name}:")]
        assert len(ours) == 1, ports
        midi_in.open_port(ours[0])
        player.load(steady_song(3, step=0.25, length=0.2))
        player.play()
        assert player.wait(timeout=10)
        time.sleep(0.1)
        got = []
        while (item := midi_in.get_message()) is not None:
            got.append(tuple(item[0]))
        assert [m[1] for m in got if is_note_on(m)] == [60, 61, 62]
    finally:
        midi_in.close_port()
        midi_in.delete()


def test_audition_sounds_a_pitch_briefly(player, listener):
    assert player.open("jack", listener.port_name)
    assert player.audition(69, velocity=100, duration=0.3)
    assert listener.wait_for(3)
    listener.settle(quiet=0.45)
    got = notes_only(listener.messages())
    assert [m for _, m in got] == [(0x9F, 69, 100), (0x8F, 69, 0)]
    assert got[1][0] - got[0][0] == pytest.approx(0.3, abs=TOLERANCE_S)


def test_port_listing_shows_jack_ports(listener):
    [jack] = list_outputs(["jack"])
    assert jack.available and jack.supports_virtual
    assert listener.port_name in jack.ports
