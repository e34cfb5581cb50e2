"""The RNN-RBM's musical inputs: bar positions (given, never sampled), previous-step links and the
onset / sustain planes — conversions, training, the model file, generation and evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from support.training import train_to_end

from rbm_studio.models import registry
from rbm_studio.models.base import EvaluateRequest, GenerateRequest
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.model_file import load_model, save_model
from rbm_studio.models.rnn_rbm import evaluator
from rbm_studio.models.rnn_rbm.sampler import model_sequences
from rbm_studio.music import features as F
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize
from rbm_studio.music.windows import (
    MAX_BEATS,
    bar_positions,
    beats_per_bar,
    from_onset_sustain,
    to_onset_sustain,
)

ENC = Encoding(steps_per_beat=2, low=60, high=71)  # 12 pitches, bars of 8 steps in 4/4
SPAN = ENC.span


def beat_song(offset: int, bars: int = 6) -> StateMatrix:
    """Two-note chords struck on every beat and held for the beat (two grid steps), a new chord
    each beat: every onset falls on a beat, every note lasts exactly one beat."""
    steps = bars * 8
    data = np.zeros((steps, 2 * SPAN), np.uint8)
    for beat in range(steps // 2):
        root = (beat + offset) % 4
        for col in (root, root + 4):
            data[2 * beat : 2 * beat + 2, col] = 1
            data[2 * beat, SPAN + col] = 1
    return StateMatrix(canonicalize(data, SPAN), ENC, title=f"beats {offset}")


SONGS = [beat_song(i) for i in range(8)]
CONFIG = registry.default_config(
    "rnn-rbm",
    hidden=16,
    recurrent_hidden=12,
    cd_k=5,
    learning_rate=0.01,
    batch_size=4,
    sequence_length=24,
    epochs=60,
    pretrain_epochs=2,
    holdout_fraction=0.0,
    seed=1,
)


@pytest.fixture(scope="module")
def model():
    assert CONFIG.value("meter") and CONFIG.value("previous_step") and CONFIG.value("onset_sustain")
    return train_to_end(registry.make_trainer(CONFIG, SONGS, ENC))


def test_onset_sustain_planes_round_trip_every_consistent_matrix():
    rng = np.random.default_rng(0)
    for _ in range(20):
        raw = (rng.random((30, 2 * SPAN)) < 0.3).astype(np.uint8)
        rows = canonicalize(raw, SPAN)
        planes = to_onset_sustain(rows, SPAN)
        assert not (planes[:, :SPAN] & planes[:, SPAN:]).any()  # never both struck and held
        np.testing.assert_array_equal(from_onset_sustain(planes, SPAN), rows)


def test_bar_positions_mark_the_step_of_the_beat_and_the_beat_of_the_bar():
    pos = bar_positions(16, 4, beats_per_bar((3, 4)))
    assert pos.shape == (16, 4 + MAX_BEATS) and (pos.sum(axis=1) == 2).all()
    assert list(np.argmax(pos[:, :4], axis=1)) == [0, 1, 2, 3] * 4
    assert list(np.argmax(pos[:, 4:], axis=1)) == [0] * 4 + [1] * 4 + [2] * 4 + [0] * 4
    assert beats_per_bar((6, 8)) == 3 and beats_per_bar((4, 4)) == 4


def test_training_keeps_the_inputs_in_the_model_and_its_file(model, tmp_path):
    V, H = 2 * SPAN, CONFIG.hidden
    assert model.params["Wcv"].shape == (2 + MAX_BEATS, V)
    assert model.params["Wpv"].shape == (V, V) and model.params["Wph"].shape == (V, H)
    path = tmp_path / "inputs.rbm"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.config.value("onset_sustain") and set(loaded.params) == set(model.params)
    request = GenerateRequest(songs=2, steps=32, seed=3)
    a = registry.kind("rnn-rbm").generate(model, request)
    b = registry.kind("rnn-rbm").generate(loaded, request)
    np.testing.assert_array_equal(a[0].data, b[0].data)


def test_generated_songs_strike_on_the_beat_and_hold_for_it(model):
    songs = registry.kind("rnn-rbm").generate(model, GenerateRequest(songs=4, steps=48, seed=2))
    notes = [F.song_notes(s) for s in songs]
    starts = np.concatenate([n.start for n in notes])
    lengths = np.concatenate([n.length for n in notes])
    assert len(starts) > 40
    assert np.mean(starts % 2 == 0) > 0.9  # onsets on beats (two steps per beat)
    assert np.mean(lengths == 2) > 0.8  # held for one beat, not one-step blips


@pytest.mark.slow
def test_evaluation_reads_the_inputs_and_agrees_with_exact_enumeration(model):
    sequences = model_sequences(model, SONGS[:2])
    assert sequences[0].shape[1] == 2 * SPAN + 2 + MAX_BEATS
    exact = evaluator.exact_frame_log_likelihood(model.params, sequences)
    kind = registry.kind("rnn-rbm")
    report = kind.evaluate(model, EvaluateRequest(SONGS[:2], method="ais", betas=2000, chains=64))
    assert report.method == "ais" and report.per_frame == pytest.approx(exact, abs=0.05)
    auto = kind.evaluate(model, EvaluateRequest(SONGS[:2]))  # 16 hidden units: exact
    assert auto.method == "exact" and auto.per_frame == pytest.approx(exact, abs=1e-9)
    assert report.per_frame > -2.0  # the beat songs are easy to predict


def test_continuing_with_other_inputs_is_refused(model):
    cfg = TrainingConfig.from_dict({**CONFIG.to_dict(), "meter": False})
    with pytest.raises(ValueError, match="bar positions"):
        registry.make_trainer(cfg, SONGS, ENC, model=model)


def test_key_and_range_constraints_are_sampled_conditionally(model):
    from rbm_studio.models.generated import key_pitch_classes

    assert key_pitch_classes("C major") == (0, 2, 4, 5, 7, 9, 11)
    assert key_pitch_classes("Bb major") == (0, 2, 3, 5, 7, 9, 10)
    assert 6 in key_pitch_classes("G major") and 7 in key_pitch_classes("a minor")
    with pytest.raises(ValueError, match="major or minor"):
        key_pitch_classes("H dorian")
    kind = registry.kind("rnn-rbm")
    free = kind.generate(model, GenerateRequest(songs=3, steps=48, seed=4))
    assert any(F.song_notes(s).pitch.max() > 65 for s in free)
    request = GenerateRequest(songs=3, steps=48, seed=4, pitch_classes=(0, 4, 7), highest=65)
    songs = kind.generate(model, request)
    pitches = np.concatenate([F.song_notes(s).pitch for s in songs])
    assert len(pitches) > 20
    assert set(np.unique(pitches % 12)) <= {0, 4, 7} and pitches.max() <= 65
    with pytest.raises(ValueError, match="no pitch"):
        kind.generate(model, GenerateRequest(songs=1, steps=8, lowest=100))
