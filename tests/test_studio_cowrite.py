"""Writing with the model (`studio.cowrite`): a tiny RBM really trained on real MIDI chord loops
writes bars of a song again given both sides, rewrites a share of it, and harmonises a melody;
everything outside what it was asked to write comes back bit-identical, in the song and in the
MIDI file written from it; kinds that cannot condition on the future say so in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.cowrite_songs import ENCODING, chord_song, train

from rbm_studio.models import registry
from rbm_studio.models.base import InfillRequest, infill, infill_problem
from rbm_studio.models.model_file import load_model
from rbm_studio.music.encoding import encode
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.song import Note, Song
from rbm_studio.studio import cowrite as C
from rbm_studio.studio.cowrite import CowriteError, Region

BAR = 16  # grid rows of a 4/4 bar at four steps a beat
OLD_RNN_RBM = Path(__file__).resolve().parent / "data" / "rnn_rbm_fields_format.rbm"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("cowrite"))[0]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A song the model never saw, as a real MIDI file read back."""
    path = tmp_path_factory.mktemp("song") / "unseen.mid"
    return read_midi(write_midi(chord_song(20, bars=8), path))


def outside(notes, first_beat: float, end_beat: float) -> list[Note]:
    return [n for n in notes if n.end <= first_beat or n.start >= end_beat]


def grid(song) -> np.ndarray:
    return encode(song, ENCODING).data


def test_regenerated_bars_are_new_and_everything_outside_them_is_bit_identical(
    model, song, tmp_path
):
    made = C.regenerate(model, song, Region(2, 4), count=3, seed=4)
    assert len(made) == 3
    start, stop = 2 * BAR, 5 * BAR
    before = grid(song)
    changed = 0
    for i, new in enumerate(made):
        # the notes outside bars 3-5 are the very same notes, and no other note is outside them
        kept = outside(song.notes, 8.0, 20.0)
        assert all(any(n is k for n in new.notes) for k in kept)
        assert sorted(outside(new.notes, 8.0, 20.0), key=repr) == sorted(kept, key=repr)
        assert all(n.start >= 8.0 and n.end <= 20.0 for n in new.notes if n not in kept)
        after = grid(new)
        assert np.array_equal(after[:start], before[:start])
        assert np.array_equal(after[stop:], before[stop : len(after)])
        # ... and so is the MIDI file written from it, outside the bars
        written = read_midi(write_midi(new, tmp_path / f"new-{i}.mid"))
        again = grid(written)
        assert np.array_equal(again[:start], before[:start])
        assert np.array_equal(again[stop:], before[stop:])
        assert new.tempos == song.tempos and new.time_signatures == song.time_signatures
        region = after[start:stop, : ENCODING.span]
        assert region.any(), "the model wrote nothing in the region"
        changed += not np.array_equal(after[start:stop], before[start:stop])
    assert changed >= 2  # resampled, not copied back
    assert not np.array_equal(grid(made[0])[start:stop], grid(made[1])[start:stop])
    # the same seed gives the same variations
    again = C.regenerate(model, song, Region(2, 4), count=3, seed=4)
    assert [n.notes for n in again] == [n.notes for n in made]


def test_a_pitch_range_keeps_every_note_outside_it(model, song):
    (new,) = C.regenerate(model, song, Region(2, 4, lowest=66), seed=1)
    low_before = [n for n in song.notes if n.pitch < 66]
    low_after = [n for n in new.notes if n.pitch < 66]
    assert low_after == low_before and all(any(a is b for a in low_after) for b in low_before)
    changed = [n for n in new.notes if not any(n is o for o in song.notes)]
    assert changed and all(n.pitch >= 66 and 8.0 <= n.start < 20.0 for n in changed)


def test_a_note_held_into_the_region_keeps_its_part_outside(model, song):
    held = Note(50, 6.0, 10.0, 64, channel=3, track=0)  # from bar 2 into bar 3
    song = C.dataclasses.replace(song, notes=sorted([*song.notes, held], key=lambda n: n.start))
    (new,) = C.regenerate(model, song, Region(2, 2), seed=2)
    mine = [n for n in new.notes if n.pitch == 50 and n.start == 6.0]
    assert len(mine) == 1
    part = mine[0]
    assert (part.velocity, part.channel) == (64, 3) and 8.0 <= part.end <= 12.0
    assert np.array_equal(grid(new)[: BAR * 2], grid(song)[: BAR * 2])


def test_bars_past_the_end_are_new_bars_after_the_song(model, song):
    (new,) = C.regenerate(model, song, Region(8, 9), seed=3)
    assert all(any(n is o for o in new.notes) for n in song.notes)
    added = [n for n in new.notes if n.start >= 32.0]
    assert added and all(n.end <= 40.0 for n in added)


def test_more_like_this_writes_a_share_of_the_bars_again(model, song):
    before = grid(song)
    new = C.more_like_this(model, song, 0.25, count=2, seed=5)
    for variation in new:
        after = grid(variation)
        bars = [
            not np.array_equal(after[b * BAR : (b + 1) * BAR], before[b * BAR : (b + 1) * BAR])
            for b in range(8)
        ]
        assert 1 <= sum(bars) <= 2  # two bars of eight were free (one may come back the same)
    with pytest.raises(CowriteError, match="share"):
        C.more_like_this(model, song, 0.0)


def test_harmonise_keeps_the_melody_and_writes_voices_under_it(model, song):
    melody = C.top_line(song)
    assert C.is_one_line(model, melody)
    assert [n.pitch for n in melody.notes] == [n.pitch for n in song.notes if n.pitch >= 72]
    made = C.harmonise(model, melody, count=2, seed=6)
    for new in made:
        assert all(any(n is m for n in new.notes) for m in melody.notes)
        voices = [n for n in new.notes if not any(n is m for m in melody.notes)]
        assert len(voices) >= 8
        (track,) = {n.track for n in voices}
        assert track not in {m.track for m in melody.notes}
        assert new.track_names[track] == "Harmony"
        assert {new.track_names[m.track] for m in melody.notes} == {"Melody"}
        for v in voices:  # under the tune wherever it sounds
            over = [m.pitch for m in melody.notes if m.start <= v.start < m.end]
            assert all(v.pitch < p for p in over)
        in_c = np.isin([v.pitch % 12 for v in voices], [0, 2, 4, 5, 7, 9, 11]).mean()
        assert in_c >= 0.8  # the chords of the songs it learnt, not noise
    with pytest.raises(CowriteError, match="sound together"):
        C.harmonise(model, song)
    with pytest.raises(CowriteError, match="no notes"):
        C.harmonise(model, C.dataclasses.replace(song, notes=[]))


def test_the_kind_gives_back_every_cell_it_was_not_asked_to_write(model, song):
    matrix = encode(song, ENCODING)
    free = np.zeros(matrix.data.shape, bool)
    free[40:60, 10:30] = free[40:60, ENCODING.span + 10 : ENCODING.span + 30] = True
    kind = registry.kind(model.kind)
    (out,) = infill(kind, model, InfillRequest(matrix, free, seed=1))
    assert np.array_equal(out.data[~free], matrix.data[~free])
    kept = ~free[:, : ENCODING.span]
    assert np.array_equal(out.velocities[kept], matrix.velocities[kept])
    with pytest.raises(ValueError, match="cells to resample are"):
        infill(kind, model, InfillRequest(matrix, free[:-1]))
    with pytest.raises(ValueError, match="no cell to resample"):
        infill(kind, model, InfillRequest(matrix, np.zeros_like(free)))


def test_regions_that_are_not_one_are_refused_in_one_line(model, song):
    for bad in (lambda: Region(3, 2), lambda: Region(-1, 2), lambda: Region(0, 1, 90, 80)):
        with pytest.raises(CowriteError) as exc:
            bad()
        assert "\n" not in str(exc.value)
    with pytest.raises(CowriteError, match="none of the pitches"):
        C.regenerate(model, song, Region(0, 1, lowest=100))


def test_a_kind_that_cannot_condition_on_the_future_says_so(model, song, fake_kind):
    assert C.can_regenerate(model) is None
    rnn = load_model(OLD_RNN_RBM)
    reason = C.can_regenerate(rnn)
    assert reason and "\n" not in reason and "left to right" in reason
    with pytest.raises(CowriteError, match="left to right"):
        C.regenerate(rnn, song, Region(0, 0))
    with pytest.raises(CowriteError, match="left to right"):
        C.harmonise(rnn, C.top_line(song))
    # a kind with no infill at all
    assert "cannot sample notes given the notes around them" in infill_problem(fake_kind, model)


def test_the_top_line_is_the_highest_note_sounding_at_each_onset():
    chords = Song(
        [Note(60, 0, 4), Note(72, 0, 1), Note(67, 0, 2), Note(64, 2, 3), Note(55, 3, 4)]
        + [Note(62, 4, 5), Note(62, 4, 5), Note(70, 4.5, 6)]
    )
    line = C.top_line(chords)
    # 55 starts under the held 60; the doubled 62 is one note, cut where 70 comes in
    assert [(n.pitch, n.start, n.end) for n in line.notes] == [
        (72, 0, 1), (64, 2, 3), (62, 4, 4.5), (70, 4.5, 6)
    ]  # fmt: skip
