"""What the RBM's default recipe adds: songs learned in one key (C major / A minor) and sent back to
their own keys or a chosen one, and conditional training that practises continuing a window."""

from __future__ import annotations

import numpy as np
import pytest
from support.training import train_to_end

from rbm_studio.models import registry
from rbm_studio.models.base import GenerateRequest
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.model_file import load_model, save_model
from rbm_studio.models.rbm import one_key
from rbm_studio.models.rbm.trainer import RbmTrainer
from rbm_studio.music.encoding import DEFAULT_ENCODING as ENC
from rbm_studio.music.encoding import StateMatrix, canonicalize
from rbm_studio.music.keys import key_pitch_classes, tonic_shift, transposed

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10, 11)


def scale_song(tonic: int, steps=(0, 2, 4, 5, 7, 9, 11, 12), *, bars: int = 4) -> StateMatrix:
    """Quarter notes up a scale from MIDI `tonic`, with the tonic held below as a bass."""
    rows = np.zeros((bars * 16, ENC.width), np.uint8)
    for i in range(bars * 4):
        pitch = tonic + steps[i % len(steps)]
        rows[4 * i : 4 * i + 4, pitch - ENC.low] = 1
        rows[4 * i, ENC.span + pitch - ENC.low] = 1
    rows[:, tonic - 12 - ENC.low] = 1
    rows[0, ENC.span + tonic - 12 - ENC.low] = 1
    return StateMatrix(canonicalize(rows, ENC.span), ENC, title=f"scale on {tonic}")


def pitch_classes(song: StateMatrix) -> set[int]:
    return set(((np.flatnonzero(song.sounding.any(axis=0)) + ENC.low) % 12).tolist())


def test_tonic_shift_moves_each_key_to_c_major_or_a_minor():
    assert tonic_shift(scale_song(60)) == 0  # C major
    assert tonic_shift(scale_song(62)) == -2  # D major → C major
    assert tonic_shift(scale_song(67)) == 5  # G major → C major, the smaller move up
    assert tonic_shift(scale_song(64, (0, 2, 3, 5, 7, 8, 11, 12))) == 5  # E minor → A minor
    d_major = scale_song(62)
    home = transposed(d_major, tonic_shift(d_major))
    assert pitch_classes(home) <= set(MAJOR)
    assert np.array_equal(transposed(home, 2).data, d_major.data)  # nothing lost on the way


def test_transposed_leaves_out_notes_past_the_range():
    song = scale_song(60)
    up = transposed(song, ENC.high - 60)  # the bass lands on the top note, the scale above it
    assert up.sounding.sum() < song.sounding.sum()
    assert up.sounding[:, -1].any()


def test_shift_to_finds_the_key_asked_for():
    assert one_key.shift_to(key_pitch_classes("C major")) == 0
    assert one_key.shift_to(key_pitch_classes("A minor")) == 0
    assert one_key.shift_to(key_pitch_classes("D minor")) == 5
    assert one_key.shift_to(key_pitch_classes("Eb major")) == 3
    assert one_key.shift_to(key_pitch_classes("F# minor")) == -3


@pytest.fixture(scope="module")
def one_key_model(tmp_path_factory):
    """A small default-recipe model on scales in D, G and Bb major."""
    songs = [scale_song(t, bars=8) for t in (62, 67, 70, 62, 67, 70)]
    config = registry.default_config("rbm").with_values(
        hidden=16, epochs=30, patience=None, minutes=None, seed=0
    )
    trainer = registry.make_trainer(config, songs, ENC)
    model = train_to_end(trainer)
    path = save_model(model, tmp_path_factory.mktemp("one_key") / "m.rbm")
    return load_model(path)


def test_the_model_records_the_training_keys(one_key_model):
    assert one_key_model.config.value("one_key") is True
    assert one_key.key_shifts(one_key_model) == [-2, 5, 2, -2, 5, 2]


def test_songs_come_back_in_the_training_songs_keys(one_key_model):
    songs = registry.kind("rbm").generate(
        one_key_model, GenerateRequest(songs=12, steps=64, seed=3)
    )
    keys = set()
    for song in songs:
        used = pitch_classes(song)
        assert used, "a generated song is silent"
        fits = [t for t in (2, 7, 10) if used <= {(t + pc) % 12 for pc in MAJOR}]
        assert fits, f"{sorted(used)} is in none of the training keys"
        keys.add(fits[0])
    assert len(keys) >= 2  # not every song in one key


def test_a_chosen_key_is_honoured(one_key_model):
    wanted = key_pitch_classes("E minor")
    songs = registry.kind("rbm").generate(
        one_key_model,
        GenerateRequest(songs=4, steps=64, seed=1, pitch_classes=wanted, lowest=40, highest=84),
    )
    for song in songs:
        used = np.flatnonzero(song.sounding.any(axis=0)) + ENC.low
        assert len(used)
        assert set((used % 12).tolist()) <= set(wanted)
        assert used.min() >= 40 and used.max() <= 84


def test_a_primer_is_continued_in_its_own_key_and_kept_verbatim(one_key_model):
    primer = scale_song(69, (0, 2, 3, 5, 7, 8, 11, 12), bars=2)  # A minor, already home
    primer = transposed(primer, -2)  # G minor
    songs = registry.kind("rbm").generate(
        one_key_model, GenerateRequest(songs=2, steps=64, seed=0, primer=primer)
    )
    for song in songs:
        assert np.array_equal(song.data[: primer.steps], primer.data)
        new = song.sounding[primer.steps :].any(axis=0)
        g_minor = {(7 + pc) % 12 for pc in MINOR}
        assert set(((np.flatnonzero(new) + ENC.low) % 12).tolist()) <= g_minor


def test_conditional_training_leaves_the_context_biases_alone():
    """With every batch row conditional, the negative phase keeps the first half of each window
    at the data, so the first half's visible biases get no gradient at all; plain CD moves them."""
    songs = [scale_song(t, bars=4) for t in (60, 62, 64, 65)]
    config = TrainingConfig(
        hidden=8, window=8, stride=8, learning_rate=0.1, batch_size=8, epochs=5, seed=0
    )
    biases = {}
    for share in (0.0, 1.0):
        trainer = RbmTrainer(config.with_values(continue_share=share), songs, ENC)
        start = trainer.snapshot().params["vbias"].copy()
        end = trainer.run().params["vbias"]
        biases[share] = (start, end)
    half = 4 * ENC.width
    start, end = biases[1.0]
    assert np.array_equal(start[:half], end[:half])
    assert not np.allclose(start[half:], end[half:])
    start, end = biases[0.0]
    assert not np.allclose(start[:half], end[:half])
