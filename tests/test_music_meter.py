"""Bars along the time-signature map (ruler, position label, loop a bar), note names and loop
snapping: the musical helpers the piano roll and the transport share. No Qt."""

from __future__ import annotations

import pytest

from rbm_studio.music.keys import is_black_key, pitch_name
from rbm_studio.music.meter import (
    bar_and_beat,
    bar_at,
    bar_count,
    bar_lines,
    signature_at,
    snap_loop,
)
from rbm_studio.music.song import Note, Song, TimeSignature


def changing_metre() -> Song:
    """Two bars of 4/4, then 3/4 from beat 8."""
    return Song(
        [Note(60, 0, 40)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(8.0, 3, 4)],
    )


def test_note_names_follow_c4_is_60():
    assert pitch_name(60) == "C4"
    assert pitch_name(21) == "A0"
    assert pitch_name(61) == "C#4"
    assert pitch_name(108) == "C8"


def test_black_keys_are_the_sharps():
    black = [p for p in range(60, 72) if is_black_key(p)]
    assert black == [61, 63, 66, 68, 70]
    assert all("#" in pitch_name(p) for p in black)
    assert not is_black_key(21) and is_black_key(22)  # A0 white, A#0 black


def test_bar_lines_follow_time_signature_changes():
    song = Song(
        [Note(60, 0, 12)],
        time_signatures=[TimeSignature(0, 3, 4), TimeSignature(6, 6, 8)],
    )
    assert bar_lines(song, 12) == [(0, 1), (3, 2), (6, 3), (9, 4)]


def test_a_song_without_a_metre_is_in_four_four():
    assert bar_lines(None, 10) == [(0.0, 1), (4.0, 2), (8.0, 3)]
    assert bar_lines(Song([Note(60, 0, 1)]), 8) == [(0.0, 1), (4.0, 2)]  # bars before the end
    assert signature_at(None, 5.0) == TimeSignature(0.0, 4, 4)


def test_bar_at_finds_the_bar_holding_a_beat_across_a_metre_change():
    song = changing_metre()
    assert bar_at(song, 0.0) == (0.0, 4.0, 1)
    assert bar_at(song, 5.5) == (4.0, 8.0, 2)
    assert bar_at(song, 8.0) == (8.0, 11.0, 3)  # 3/4 from bar 3
    assert bar_at(song, 12.0) == (11.0, 14.0, 4)
    assert bar_at(song, -3.0) == (0.0, 4.0, 1)  # before the start: the first bar
    assert signature_at(song, 9.0).numerator == 3 and signature_at(song, 7.9).numerator == 4


def test_a_map_that_starts_late_has_an_unnumbered_bar_before_it():
    song = Song([Note(60, 0, 8)], time_signatures=[TimeSignature(2.0, 3, 4)])
    assert bar_at(song, 1.0) == (0.0, 2.0, None)
    assert bar_at(song, 2.5) == (2.0, 5.0, 1)
    assert bar_and_beat(song, 1.0) == (1, 2)


def test_bar_and_beat_count_from_one():
    song = changing_metre()
    assert bar_and_beat(song, 0.0) == (1, 1)
    assert bar_and_beat(song, 5.5) == (2, 2)
    assert bar_and_beat(song, 12.0) == (4, 2)
    assert bar_and_beat(song, 76.0) == (25, 3)
    assert bar_and_beat(None, 9.0) == (3, 2)


def test_bar_count_follows_the_map():
    song = changing_metre()
    assert bar_count(song, 8.0) == 2.0
    assert bar_count(song, 14.0) == 4.0  # two of 4/4, two of 3/4
    assert bar_count(song, 6.0) == 1.5
    assert bar_count(None, 6.0) == 1.5
    assert bar_count(song, 0.0) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "region"),
    [
        (4.2, 11.8, (4.0, 12.0)),  # ends snap to the nearest beats
        (9.0, 2.9, (3.0, 9.0)),  # dragged right to left
        (5.1, 5.3, (5.0, 6.0)),  # at least one beat long
        (-2.0, 3.4, (0.0, 3.0)),  # never before the start
        (-5.0, -1.0, (0.0, 1.0)),
    ],
)
def test_snap_loop(a, b, region):
    assert snap_loop(a, b) == region
