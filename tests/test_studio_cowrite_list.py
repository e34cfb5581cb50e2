"""The window's co-writing requests without a window or a model (`studio.cowrite_list`): a
request is checked before any sampling, names the songs it makes and records how; the melody
to harmonise comes from a song's top line, the selected notes or a file's song."""

from __future__ import annotations

import pytest

from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature
from rbm_studio.studio.cowrite import CowriteError, Region
from rbm_studio.studio.cowrite_list import (
    HARMONISE,
    MELODY_FILE,
    MORE_LIKE_THIS,
    REGENERATE,
    SELECTED_NOTES,
    TOP_LINE,
    Ask,
    melody_from,
    written_bars,
)
from rbm_studio.studio.library import typed_settings

CHORDS = Song(
    notes=[Note(p, 0.0, 2.0) for p in (48, 55, 64)] + [Note(p, 2.0, 4.0) for p in (50, 57, 65)],
    tempos=[TempoChange(0.0, 90.0)],
    time_signatures=[TimeSignature(0.0, 3, 4)],
    title="chords",
)


def test_a_request_is_refused_before_any_sampling_in_one_line():
    tune = Song(notes=[Note(60, 0.0, 1.0)])
    for bad in (
        dict(action="remix"),
        dict(action=REGENERATE),  # no bars
        dict(action=REGENERATE, region=Region(0, 1), count=0),
        dict(action=REGENERATE, region=Region(0, 1), count=99),
        dict(action=MORE_LIKE_THIS, share=0.0),
        dict(action=MORE_LIKE_THIS, share=1.5),
        dict(action=HARMONISE),
        dict(action=HARMONISE, melody=Song()),
    ):
        with pytest.raises(CowriteError) as caught:
            Ask(**bad)
        assert "\n" not in str(caught.value)
    assert Ask(HARMONISE, melody=tune).melody is tune
    with pytest.raises(CowriteError):
        Region(3, 1)


def test_the_songs_are_named_after_what_was_asked():
    assert Ask(REGENERATE, region=Region(1, 2)).label("loop 1") == "loop 1, bars 2–3 regenerated"
    assert Ask(REGENERATE, region=Region(4, 4)).label("x") == "x, bar 5 regenerated"
    assert Ask(MORE_LIKE_THIS, share=0.35).label("x") == "x, 35 % rewritten"
    tune = Song(notes=[Note(60, 0.0, 1.0)])
    assert Ask(HARMONISE, melody=tune, melody_label=TOP_LINE).label("x") == "x, top line harmonised"
    assert Ask(HARMONISE, melody=tune, melody_label="tune").label("x") == "tune harmonised"


def test_what_a_song_records_is_not_mistaken_for_generation_options():
    ask = Ask(REGENERATE, count=2, region=Region(1, 2, 48, 72))
    settings = ask.settings()
    assert settings["region"] == [2, 3] and settings["region_pitches"] == [48, 72]
    # "again" and the song's description read only generation options: none of these
    assert set(typed_settings(settings)) == set()
    assert Ask(MORE_LIKE_THIS, share=0.5).settings()["share"] == 0.5


def test_the_melody_comes_from_the_top_line_the_selection_or_a_file():
    top = melody_from(TOP_LINE, CHORDS, [], None)
    assert [(n.pitch, n.start, n.end) for n in top.notes] == [(64, 0.0, 2.0), (65, 2.0, 4.0)]
    assert top.first_time_signature.numerator == 3 and top.first_bpm == 90.0
    picked = melody_from(SELECTED_NOTES, CHORDS, [CHORDS.notes[4], CHORDS.notes[0]], None)
    assert [n.pitch for n in picked.notes] == [48, 57]  # one line: in order of time
    assert picked.first_bpm == 90.0
    tune = Song(notes=[Note(67, 0.0, 1.0)])
    assert melody_from(MELODY_FILE, CHORDS, [], tune) is tune
    for source, song, selected, file_song in (
        (TOP_LINE, None, [], None),
        (SELECTED_NOTES, CHORDS, [], None),
        (MELODY_FILE, CHORDS, [], None),
        (MELODY_FILE, CHORDS, [], Song()),
        ("somewhere", CHORDS, [], None),
    ):
        with pytest.raises(CowriteError):
            melody_from(source, song, selected, file_song)


def test_written_bars_are_read_back_only_from_settings_in_their_own_shape():
    ask_settings = {"cowrite": REGENERATE, "region": [2, 3], "region_pitches": [None, None]}
    assert written_bars(ask_settings) == (2, 3)
    for bad in ([3, 2], [0, 2], [2], [2, 3, 4], ["2", "3"], [True, 2], [2.0, 3], "2-3", None):
        assert written_bars({"region": bad}) is None, bad
    assert written_bars({}) is None and written_bars([2, 3]) is None
