"""Playing an idea in, without a port or a clock (`studio.recording`): a take's plan and
metronome, played notes (stamped in beats) quantized onto the grid, the take as a song-list entry
and the model's answer scheduled on a bar line after the take."""

from __future__ import annotations

import numpy as np
import pytest
from support.tiny_model import ENCODING, train

from rbm_studio.music.encoding import encode
from rbm_studio.music.song import Note
from rbm_studio.playback.scheduling import DRUM_CHANNEL
from rbm_studio.studio import recording as R
from rbm_studio.studio.live_take import answer_for, as_generated
from rbm_studio.studio.recording import TakeError, TakePlan

ON, OFF = 0x90, 0x80


def stamped(plan: TakePlan, notes, jitter=()):
    """(beat, message) pairs for (pitch, start, end, velocity) in take beats, each onset and
    release moved by the matching entry of `jitter` (beats), as a musician's hands would."""
    events = []
    for i, (pitch, start, end, velocity) in enumerate(notes):
        j = jitter[i] if i < len(jitter) else 0.0
        events.append((plan.start + start + j, (ON, pitch, velocity)))
        events.append((plan.start + end - j, (OFF, pitch, 0)))
    return events


def test_a_plan_knows_where_the_take_is_and_refuses_what_cannot_be_played():
    plan = TakePlan(bars=2, count_in=1, bpm=90, time_signature=(3, 4), steps_per_beat=2)
    assert (plan.start, plan.length, plan.end, plan.steps) == (3.0, 6.0, 9.0, 12)
    assert [plan.phase(b) for b in (0.0, 2.9, 3.0, 8.9, 9.0)] == [
        "count-in",
        "count-in",
        "recording",
        "recording",
        "after",
    ]
    assert plan.beat_text(0.0) == "count-in 3" and plan.beat_text(2.5) == "count-in 1"
    assert plan.beat_text(3.0) == "bar 1 of 2" and plan.beat_text(6.5) == "bar 2 of 2"
    for bad in (dict(bars=0), dict(count_in=9), dict(bpm=5), dict(time_signature=(4, 3))):
        with pytest.raises(TakeError):
            TakePlan(**bad)


def test_the_metronome_counts_in_and_accents_each_bar_on_the_drum_channel():
    plan = TakePlan(bars=2, count_in=1, time_signature=(3, 4))
    song = R.metronome(plan)
    assert {n.channel for n in song.notes} == {DRUM_CHANNEL}
    assert [n.start for n in song.notes] == [float(b) for b in range(9)]
    assert song.end_beat == plan.end  # the clicks last to the take's last bar line
    accents = [n.start for n in song.notes if n.pitch == R.ACCENT_KEY]
    assert accents == [0.0, 3.0, 6.0]
    assert song.first_bpm == plan.bpm and song.first_time_signature.numerator == 3
    # answer mode: the clicks run on past the take while the model answers
    assert R.metronome(plan, answer=True).end_beat > song.end_beat + 2 * plan.length


def test_sloppy_playing_quantizes_to_the_phrase_as_written():
    plan = TakePlan(bars=2, count_in=1, steps_per_beat=4)
    phrase = [(60, 0.0, 1.0, 90), (64, 1.0, 1.5, 70), (67, 1.5, 2.0, 100), (72, 2.0, 4.0, 64)]
    phrase += [(48, 4.0, 8.0, 80), (55, 4.0, 8.0, 80), (60, 6.75, 7.0, 110)]
    jitter = [-0.1, 0.08, -0.05, 0.11, 0.0, -0.12, 0.06]  # all under half a step (0.125)
    song = R.take_song(stamped(plan, phrase, jitter), plan)
    got = sorted((n.pitch, n.start, n.end, n.velocity) for n in song.notes)
    assert got == sorted(phrase)
    assert song.first_bpm == plan.bpm and song.end_beat == plan.length


def test_the_count_in_the_edges_and_stray_messages_are_handled():
    plan = TakePlan(bars=1, count_in=1, steps_per_beat=4)
    events = [
        (1.0, (ON, 50, 80)),  # during the count-in: not the take's
        (1.5, (OFF, 50, 0)),
        (3.9, (ON, 60, 90)),  # a hair early for the take's first step: counts, at 0
        (4.5, (ON, 60, 0)),  # a note-on of velocity 0 is a release
        (5.0, (0xB0, 64, 127)),  # a sustain pedal: no note
        (5.0, (ON | 3, 62, 70)),  # another channel: recorded on one
        (5.5, (ON | 3, 62, 71)),  # struck again while it sounds: the first ends here
        (6.0, (OFF | 3, 62, 0)),
        (7.5, (ON, 65, 99)),  # held past the take's end: cut there
        (9.5, (OFF, 65, 0)),
        (8.1, (ON, 70, 99)),  # after the take
    ]
    song = R.take_song(events, plan)
    got = [(n.pitch, n.start, n.end, n.velocity, n.channel) for n in song.notes]
    assert got == [
        (60, 0.0, 0.5, 90, 0),
        (62, 1.0, 1.5, 70, 0),
        (62, 1.5, 2.0, 71, 0),
        (65, 3.5, 4.0, 99, 0),
    ]
    # a blip shorter than a step lasts one step; a note never let go lasts to the take's end
    short = R.take_song([(4.0, (ON, 60, 90)), (4.01, (OFF, 60, 0)), (4.5, (ON, 61, 90))], plan)
    assert [(n.start, n.end) for n in short.notes] == [(0.0, 0.25), (0.5, 4.0)]
    # without a take's end, a held note lasts to the last event
    assert [(n.start, n.end) for n in R.played_notes([(1.0, (ON, 60, 9)), (2.0, (ON, 61, 9))])] == [
        (1.0, 2.0),
        (2.0, 2.0),
    ]


def test_the_take_matrix_is_as_long_as_the_take_with_its_silent_bars():
    plan = TakePlan(bars=2, steps_per_beat=2)
    song = R.quantize([Note(60, plan.start, plan.start + 1.0, 90)], plan)
    matrix = R.take_matrix(song, plan, ENCODING)
    assert matrix.steps == 16 and matrix.bpm == plan.bpm
    assert np.array_equal(matrix.data[:2], encode(song, ENCODING).data)
    assert not matrix.data[2:].any()
    assert matrix.velocities is not None and matrix.velocities[0, 60 - ENCODING.low] == 90


def test_the_answer_starts_on_the_first_bar_line_it_can_make_in_time():
    plan = TakePlan(bars=2, count_in=1)  # the take: beats 4..12
    assert R.answer_start(11.0, plan) == 12.0  # ready before the take ends: straight after it
    assert R.answer_start(11.9, plan) == 16.0  # too close to the bar line: the next one
    assert R.answer_start(12.5, plan) == 16.0
    assert R.answer_start(16.0, plan, lead_beats=0.0) == 16.0


def test_the_answer_is_the_models_bars_after_the_take_moved_onto_the_clock():
    plan = TakePlan(bars=1, count_in=1)
    take = [Note(60, 0.0, 4.0)]
    model_bars = [Note(62, 4.0, 5.0, 70), Note(64, 7.5, 8.5, 71), Note(65, 8.0, 9.0)]
    continued = R.quantize([], plan)
    continued.notes = take + model_bars
    answer = R.answer_notes(continued, plan, start=12.0)
    assert [(n.pitch, n.start, n.end) for n in answer] == [(62, 12.0, 13.0), (64, 15.5, 16.0)]
    song = R.with_answer(plan, answer, 12.0)
    clicks = [n for n in song.notes if n.channel == DRUM_CHANNEL]
    assert [n.start for n in clicks] == [float(b) for b in range(16)]  # on to the answer's end
    assert [n for n in song.notes if n.channel == 0] == answer


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("songs"))


def test_a_take_becomes_a_song_list_entry_the_model_can_answer(model):
    plan = TakePlan(bars=1, count_in=1, bpm=110, steps_per_beat=2)
    phrase = [(60, 0.0, 1.0, 90), (64, 1.0, 2.0, 90), (67, 2.0, 4.0, 90)]
    take = R.take_song(stamped(plan, phrase), plan)
    entry = as_generated(take, plan, model.encoding, "played in 1")
    assert entry.matrix.steps == plan.steps and entry.id and entry.song.title == "played in 1"
    assert "played in" in entry.describe() and "110 BPM" in entry.describe()
    continued = answer_for(model, take, plan, seed=3)
    # the take comes back unchanged in front of the model's bar, at the take's tempo
    assert [(n.pitch, n.start, n.end) for n in continued.notes if n.start < plan.length] == [
        (p, s, e) for p, s, e, _v in phrase
    ]
    assert continued.first_bpm == plan.bpm
    assert R.answer_notes(continued, plan, 12.0) == [
        Note(n.pitch, n.start + 8.0, min(n.end, 8.0) + 8.0, n.velocity)
        for n in continued.notes
        if n.start >= plan.length
    ]
