"""The player's clock without a thread or a port: beats ⇄ output-clock seconds, tempo overrides
that keep the beat, loop regions, where Play and Stop go, and the transport's position text."""

from __future__ import annotations

import pytest

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.playback.clock import PlayClock, clock_seconds, position_text
from rbm_studio.playback.scheduling import build_schedule


def song(bpm: float = 120.0, beats: int = 14) -> Song:
    """A note a beat; 120 BPM, then half as fast from beat 8."""
    notes = [Note(60, float(i), i + 0.5) for i in range(beats)]
    return Song(notes, [TempoChange(0.0, bpm), TempoChange(8.0, bpm / 2)])


def clock(s: Song | None = None) -> PlayClock:
    c = PlayClock()
    c.load(build_schedule(s or song()))
    return c


def test_beats_and_seconds_follow_the_tempo_map():
    c = clock()
    c.start_at(0.0, when=100.0)
    assert c.beat_at(100.0) == 0.0
    assert c.beat_at(102.0) == pytest.approx(4.0)  # 2 s at 120 BPM
    assert c.beat_at(106.0) == pytest.approx(10.0)  # 4 s to beat 8, then 2 s at 60 BPM
    assert c.deadline(c.song_seconds(10.0)) == pytest.approx(106.0)
    assert c.beat_at(50.0) == 0.0  # never before the start


def test_a_start_elsewhere_moves_the_origin_not_the_song():
    c = clock()
    c.start_at(4.0, when=10.0)
    assert c.beat_at(10.0) == pytest.approx(4.0) and c.restart == 10.0
    assert c.deadline(c.song_seconds(6.0)) == pytest.approx(11.0)


def test_a_tempo_override_scales_the_song_and_keeps_the_beat_playing():
    c = clock()
    assert c.tempo_bpm == 120.0 and c.factor() == 1.0
    c.start_at(0.0, when=0.0)
    c.set_tempo(240.0, now=1.0, playing=True)  # at beat 2
    assert c.tempo_bpm == 240.0 and c.factor() == 2.0
    assert c.beat_at(1.0) == pytest.approx(2.0)
    assert c.beat_at(2.0) == pytest.approx(6.0)  # twice as fast from there
    c.set_tempo(None, now=2.0, playing=True)
    assert c.tempo_override is None and c.beat_at(2.0) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="outside 1..1000"):
        c.set_tempo(0.5, now=0.0, playing=False)


def test_the_heard_playhead_lags_by_the_latency_but_not_past_a_restart():
    c = clock()
    c.start_at(4.0, when=10.0)
    assert c.heard(10.05, latency=0.1) == 10.0  # not before the restart
    assert c.heard(11.0, latency=0.1) == pytest.approx(10.9)
    assert c.heard(11.0, latency=0.0) == 11.0


def test_loop_regions_and_where_play_and_stop_go():
    c = clock()
    assert c.loop_range == (0.0, 16.0)  # the whole song, to the end of its last bar
    assert c.loop_end() is None and not c.outside_loop(20.0)
    c.set_loop(True, 4.0, 8.0)
    assert c.loop_range == (4.0, 8.0) == c.loop_region and c.loop_end() == 8.0
    assert c.outside_loop(8.0) and c.outside_loop(3.9) and not c.outside_loop(4.0)
    assert c.stop_beat() == 4.0
    assert c.start_beat(c.end_beat) == 4.0 and c.start_beat(5.0) == 5.0
    c.set_loop(True, end=12.0)
    assert c.loop_range == (0.0, 12.0)
    with pytest.raises(ValueError, match="must be after"):
        c.set_loop(True, 8.0, 8.0)
    c.set_loop(False)
    assert c.stop_beat() == 0.0 and c.start_beat(c.end_beat) == 0.0 and c.loop_region is None
    c.set_loop(True, 2.0, 6.0)
    c.load(build_schedule(song(beats=4)))  # a new song forgets the region
    assert c.loop_region is None and c.loop and c.loop_range == (0.0, 4.0)


def test_an_empty_clock_is_at_the_start():
    c = PlayClock()
    assert c.beat_at(123.0) == 0.0 and c.song_seconds(5.0) == 0.0
    assert c.tempo_bpm == 120.0 and c.loop_range == (0.0, 0.0) and c.end_beat == 0.0


def test_position_text_reads_bars_beats_and_the_playback_clock():
    s = Song(
        [Note(60, 0, 40)],
        tempos=[TempoChange(0.0, 120.0), TempoChange(16.0, 60.0)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(8.0, 3, 4)],
    )
    assert position_text(s, 12.0, None) == "4:2 · 0:06"
    assert position_text(s, 12.0, 60.0) == "4:2 · 0:12"  # half the song's tempo
    assert clock_seconds(s, -1.0, None) == 0.0
    assert clock_seconds(None, 8.0, None) == 4.0
    assert position_text(None, 9.0, None) == "3:2 · 0:04"
