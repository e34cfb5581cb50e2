"""Generation without a window (`studio.generation`): options → request → songs from a tiny model
really trained on real MIDI files, the bar and metre arithmetic they rest on (`music.song`), and
songs written out as real MIDI files."""

from __future__ import annotations

import copy
from dataclasses import replace

import mido
import numpy as np
import pytest
from support.tiny_model import songs, train

from rbm_studio.models import registry
from rbm_studio.music.keys import key_pitch_classes
from rbm_studio.music.midi import read_midi
from rbm_studio.music.song import TimeSignature, bars_to_steps, beats_per_bar
from rbm_studio.music.windows import beats_per_bar as context_beats
from rbm_studio.studio import generation as G
from rbm_studio.studio.generation import GenerationError, GenerationOptions
from rbm_studio.studio.library import SongLibrary


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("songs"))


@pytest.fixture(scope="module")
def made(model):
    """Two adventurous songs in C major from one press (seed 5), kept in a real library."""
    options = GenerationOptions(songs=2, bars=2, key="C major", temperature=1.6, gibbs_steps=20)
    plan = G.plan(model, options, seed=5)
    return plan, G.run(plan)


# -- bars, beats and steps (music.song) ------------------------------------------------------


@pytest.mark.parametrize(
    ("metre", "beats", "context"), [((4, 4), 4.0, 4), ((6, 8), 3.0, 3), ((7, 8), 3.5, 4)]
)
def test_a_bar_is_one_length_everywhere(metre, beats, context):
    assert beats_per_bar(metre) == beats
    assert TimeSignature(0.0, *metre).beats_per_bar == beats
    assert context_beats(metre) == context  # whole beats the sampler's bar context tells apart


def test_bars_become_grid_steps_in_the_metre():
    assert bars_to_steps(16, (4, 4), 4) == 256
    assert bars_to_steps(2, (6, 8), 4) == 24
    assert bars_to_steps(1, (7, 8), 1) == 4  # 3.5 steps round to the nearest


# -- constraints -----------------------------------------------------------------------------


def test_a_key_becomes_its_scale_and_like_the_songs_fills_in_the_range():
    assert G.constraints("any", None, 72) == (None, None, 72)
    assert G.constraints(None, 40, None) == (None, 40, None)
    assert G.constraints("D minor", 50, 70) == (key_pitch_classes("D minor"), 50, 70)
    songs_key = ("G major", 43, 79)
    assert G.constraints("songs", None, None, songs_key) == (
        key_pitch_classes("G major"),
        43,
        79,
    )
    assert G.constraints("songs", 48, None, songs_key)[1:] == (48, 79)
    assert G.constraints("songs", None, None, None) == (None, None, None)  # no dataset yet
    with pytest.raises(ValueError):
        G.constraints("H major", None, None)


# -- planning --------------------------------------------------------------------------------


def test_a_plan_counts_bars_in_the_models_metre_and_records_the_options(model):
    options = GenerationOptions(songs=2, bars=3, key="A minor", tempo=90, program=40)
    plan = G.plan(model, options, seed=7)
    spb = model.encoding.steps_per_beat
    assert plan.request.steps == bars_to_steps(3, model.time_signature, spb)
    assert plan.request.seed == 7 and plan.request.songs == 2
    assert plan.request.pitch_classes == key_pitch_classes("A minor")
    assert plan.request.primer is None and plan.primer_beats is None
    assert plan.name == "generated"
    assert plan.settings == {**options.settings(), "primer": ""}
    assert plan.model_label == f"{registry.kind(model.kind).label}, {model.epochs_trained} epochs"
    # the CLI counts steps, not bars
    assert G.plan(model, GenerationOptions(steps=33), seed=0).request.steps == 33


def test_continuing_cuts_the_primer_after_the_bar_asked_for(model, tmp_path):
    primer = songs(tmp_path, count=1, bars=4)[0]
    spb = model.encoding.steps_per_beat
    options = GenerationOptions(start="continue", from_bar=2)
    plan = G.plan(model, options, seed=0, primer=primer, primer_title="Tune")
    assert plan.request.primer.steps == bars_to_steps(2, model.time_signature, spb)
    assert np.array_equal(plan.request.primer.data, primer.data[: plan.request.primer.steps])
    assert plan.primer_beats == plan.request.primer.steps / spb
    assert plan.name == "continued Tune" and plan.settings["primer"] == "Tune"
    whole = G.plan(model, GenerationOptions(start="continue"), seed=0, primer=primer)
    assert whole.request.primer.steps == primer.steps
    # a primer is only used when asked to continue it
    assert G.plan(model, GenerationOptions(), seed=0, primer=primer).request.primer is None


def test_a_plan_refuses_what_it_cannot_sample(model):
    with pytest.raises(GenerationError, match="no song to continue"):
        G.plan(model, GenerationOptions(start="continue"), seed=0)
    with pytest.raises(ValueError):
        G.plan(model, GenerationOptions(key="no such key"), seed=0)


def test_options_round_trip_through_the_settings_a_song_keeps():
    options = GenerationOptions(songs=4, bars=8, key="E major", lowest=48, tempo=120)
    assert GenerationOptions.from_settings(options.settings()) == options
    noisy = {**options.settings(), "primer": "x", "variation": 2}
    assert GenerationOptions.from_settings(noisy) == options


# -- running ---------------------------------------------------------------------------------


def test_each_song_has_its_own_seed_and_can_be_made_again_from_it(model, made):
    plan, result = made
    assert [s.seed for s in result] == [5, 6]
    assert [s.settings["variation"] for s in result] == [1, 2]
    again = G.run(G.plan(model, replace(plan.options, songs=1), seed=6))
    assert np.array_equal(again[0].matrix.data, result[1].matrix.data)


def test_songs_stay_in_the_key_and_carry_tempo_and_instrument(made):
    plan, result = made
    scale = set(key_pitch_classes("C major"))
    notes = [n for s in result for n in s.song.notes]
    assert notes, "an adventurous sampler plays something"
    assert {n.pitch % 12 for n in notes} <= scale
    for generated in result:
        assert generated.tempo == 100 and generated.program == 0
        assert generated.model_label == plan.model_label
        assert generated.id and generated.name == ""


def test_running_keeps_the_model_in_the_library_for_again(model, tmp_path):
    library = SongLibrary(tmp_path / "library")
    empty = SongLibrary(tmp_path / "empty")
    result = G.run(G.plan(model, GenerationOptions(songs=1, bars=1), seed=3), library)
    assert library.model_path(result[0].model_id).is_file()
    kept = library.load_model(result[0].model_id)
    assert all(np.array_equal(kept.params[k], model.params[k]) for k in model.params)
    song = result[0]
    assert G.again_from(song, model, empty) == "open"
    assert G.again_from(song, None, library) == "library"
    assert G.again_from(song, None, empty) is None
    song.model_id = "../../etc/passwd"  # ids come from a file: never a path
    assert G.again_from(song, None, library) is None


def test_songs_are_named_counting_on(made):
    _plan, result = made
    copies = [copy.deepcopy(s) for s in result]
    last = G.name_songs(copies, "generated", 11)
    assert last == 13
    assert [s.name for s in copies] == ["generated 12", "generated 13"]
    assert [s.song.title for s in copies] == ["generated 12", "generated 13"]
    assert [G.song_number(s.name) for s in copies] == [12, 13]
    assert G.song_number("continued Tune") == 0
    assert "★" not in G.song_text(copies[0]) and "seed 5" in G.song_text(copies[0])


def test_again_takes_the_songs_sound_not_its_count_or_primer(made):
    _plan, result = made
    song = copy.deepcopy(result[0])
    song.settings = {**song.settings, "start": "continue", "tempo": "fast", "lowest": 999}
    again = G.again_settings(song)
    assert again["songs"] == 1 and again["start"] == "silence"
    assert again["key"] == "C major" and again["temperature"] == 1.6
    assert "tempo" not in again and "lowest" not in again  # values from a file of the wrong kind


def test_a_phrase_is_as_long_as_asked(model):
    song = G.phrase(model, 2, seed=1)
    assert song.end_beat <= 2 * beats_per_bar(model.time_signature) + 1e-9


def test_ab_plays_the_same_bars_of_both_songs_in_turn(made):
    _plan, (a, b) = made
    song, caption, b_start = G.compare(a, b, None, bars=1)
    bar = a.song.first_time_signature.beats_per_bar
    assert caption == f"A/B, bars 1–1: {a.name} then {b.name} (B from bar 2)"
    assert b_start == bar
    expect = sum(1 for n in a.song.notes if n.start < bar) + sum(
        1 for n in b.song.notes if n.start < bar
    )
    assert len(song.notes) == expect
    assert all(n.end <= 2 * bar + 1e-9 for n in song.notes)
    _song, caption, b_start = G.compare(a, b, (bar, 3 * bar))
    assert caption.startswith("A/B, bars 2–3:") and caption.endswith("(B from bar 3)")
    assert b_start == 2 * bar


# -- writing songs out -----------------------------------------------------------------------


def test_export_never_overwrites_and_writes_what_made_each_song(made, tmp_path):
    result = [copy.deepcopy(s) for s in made[1]]
    for s in result:
        s.name, s.program = 'a/b:c*"d', 40
    (tmp_path / "a_b_c_d.mid").write_bytes(b"not mine")
    written = G.export_songs(result, tmp_path)
    assert [p.name for p in written] == ["a_b_c_d-2.mid", "a_b_c_d-3.mid"]
    assert (tmp_path / "a_b_c_d.mid").read_bytes() == b"not mine"
    for path, generated in zip(written, result, strict=True):
        midi = mido.MidiFile(path)
        messages = [m for track in midi.tracks for m in track]
        assert {m.program for m in messages if m.type == "program_change"} == {40}
        assert generated.describe() in [m.text for m in messages if m.type == "text"]
        assert len(read_midi(path).notes) == len(generated.song.notes)
    assert G.safe_stem(" ..") == "song" and G.safe_stem("x\x00y") == "x_y"
