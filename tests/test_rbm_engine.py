"""The RBM engine: the CD update against a hand computation, learning, reproducibility, threads,
sampling and windows. Tiny models: every trainer here shares one of three compiled programs."""

from __future__ import annotations

import threading
import time

import jax.numpy as jnp
import numpy as np
import pytest

from rbm_studio.models import registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.energy import RBMParams, free_energy
from rbm_studio.models.rbm.cd import cd_statistics_t, init_params
from rbm_studio.models.rbm.sampler import generate
from rbm_studio.models.rbm.trainer import RbmTrainer as Trainer
from rbm_studio.music.encoding import (
    DEFAULT_ENCODING,
    Encoding,
    StateMatrix,
    canonicalize,
    decode,
    encode,
)
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.windows import augment_windows, extract_windows, model_rows

# The app's default grid, so these trainers share compiled programs with the CLI tests' trainers.
ENC = DEFAULT_ENCODING
WINDOW = 4


def pattern(pitches: list[int]) -> np.ndarray:
    """A canonical 4-step window holding a chord: struck on the first step, sounding throughout."""
    m = np.zeros((WINDOW, ENC.width), np.uint8)
    for p in pitches:
        m[:, p - ENC.low] = 1
        m[0, ENC.span + p - ENC.low] = 1
    return m


PATTERN_A = pattern([60, 64, 67])
PATTERN_B = pattern([62, 65, 69])


def two_pattern_songs() -> list[StateMatrix]:
    rng = np.random.default_rng(1)
    return [
        StateMatrix(
            np.concatenate([PATTERN_A if rng.random() < 0.5 else PATTERN_B for _ in range(20)]),
            ENC,
            title=f"song {i}",
        )
        for i in range(5)
    ]


def tiny_config(**kw) -> TrainingConfig:
    base = dict(hidden=8, window=WINDOW, learning_rate=0.1, batch_size=10, epochs=100, seed=0)
    base.update(kw)
    return TrainingConfig(**base)


def pattern_fraction(matrices: list[StateMatrix]) -> tuple[float, int, int]:
    wins = np.concatenate([m.data for m in matrices]).reshape(-1, WINDOW, ENC.width)
    a = sum(np.array_equal(w, PATTERN_A) for w in wins)
    b = sum(np.array_equal(w, PATTERN_B) for w in wins)
    return (a + b) / len(wins), a, b


@pytest.fixture(scope="session")
def trained_two_pattern():
    trainer = Trainer(tiny_config(), two_pattern_songs(), ENC)
    progress = list(trainer)
    return trainer, progress


# ---------------------------------------------------------------- the update rule by hand


def test_cd_statistics_match_the_tutorial_hand_computation():
    v = jnp.array([[0.0, 1.0, 1.0, 0.0]])
    h = jnp.array([[0.0, 1.0, 1.0]])
    v_neg = jnp.array([[1.0, 0.0, 1.0, 0.0]])
    h_neg = jnp.array([[1.0, 0.0, 1.0]])
    # the trainer's layout: hidden states as [H, B], the weight gradient as [H, V]
    dWT, dv, dh = cd_statistics_t(v, h.T, v_neg, h_neg.T)
    positive = np.array([[0, 0, 0], [0, 1, 1], [0, 1, 1], [0, 0, 0]], np.float32)
    negative = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1], [0, 0, 0]], np.float32)
    np.testing.assert_array_equal(np.asarray(dWT).T, positive - negative)
    np.testing.assert_array_equal(np.asarray(dv), [-1, 1, 0, 0])
    np.testing.assert_array_equal(np.asarray(dh), [-1, 1, 0])


def test_cd_statistics_average_over_the_batch_and_ignore_masked_rows():
    v = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    h = jnp.array([[1.0], [1.0], [1.0]])
    zeros_v, zeros_h = jnp.zeros_like(v), jnp.zeros_like(h)
    dWT, _, _ = cd_statistics_t(v, h.T, zeros_v, zeros_h.T, weights=jnp.array([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(np.asarray(dWT).T, [[0.5], [0.5]])


def test_init_params_follow_the_data_marginals():
    import jax

    mean = np.array([0.5, 0.1, 0.0, 1.0])
    p = init_params(jax.random.PRNGKey(0), 4, 1000, mean)
    np.testing.assert_allclose(np.asarray(p.vbias)[:2], [0.0, np.log(0.1 / 0.9)], rtol=1e-5)
    assert np.all(np.isfinite(np.asarray(p.vbias)))
    assert abs(float(np.std(np.asarray(p.W))) - 0.01) < 0.001  # std 0.01, not mean 0.01
    assert abs(float(np.mean(np.asarray(p.W)))) < 0.001
    assert not np.asarray(p.hbias).any()


def test_free_energy_matches_the_formula():
    rng = np.random.default_rng(0)
    W, a, b = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    v = rng.integers(0, 2, size=(4, 5)).astype(np.float32)
    expected = -(v @ a) - np.log1p(np.exp(v @ W + b)).sum(axis=1)
    params = RBMParams(*(jnp.asarray(x, jnp.float32) for x in (W, a, b)))
    np.testing.assert_allclose(np.asarray(free_energy(params, jnp.asarray(v))), expected, rtol=1e-5)


# ---------------------------------------------------------------- windows


def test_windows_stride_transpose_and_frame_level():
    data = np.zeros((10, ENC.width), np.uint8)
    data[np.arange(10), np.arange(10)] = 1  # a rising line, one pitch per step
    m = StateMatrix(data, ENC)
    assert extract_windows([m], window=4, stride=4).shape == (2, 4 * ENC.width)
    every = extract_windows([m], window=4, stride=1)
    assert every.shape == (7, 4 * ENC.width)
    np.testing.assert_array_equal(every[3].reshape(4, ENC.width), data[3:7])

    up_down = augment_windows(every, 4, transpose=1, planes=2)
    assert up_down.shape[0] == 3 * 7
    up = up_down[7].reshape(4, ENC.width)  # first window shifted +1 semitone
    np.testing.assert_array_equal(up[:, 1 : ENC.span], data[0:4, : ENC.span - 1])
    assert not up[:, ENC.span :].any()  # the struck plane stays in its own plane

    frames = model_rows(m, frame_level=True)
    assert frames.shape == (10, 88)
    assert frames[0, ENC.low - 21] == 1 and frames.sum() == 10
    assert extract_windows([m], window=20, stride=1).shape[0] == 0


# ---------------------------------------------------------------- training


def test_a_tiny_model_learns_two_patterns_and_samples_them(trained_two_pattern):
    trainer, progress = trained_two_pattern
    phases = [p.phase for p in progress]
    assert phases[0] == "compiling" and phases[-1] == "done"
    ends = [p for p in progress if p.epoch_end]
    assert [p.epoch for p in ends] == list(range(1, 101))
    model = trainer.snapshot()
    assert len(model.history) == 100
    assert model.history[-1]["recon_error"] < 0.2 * model.history[0]["recon_error"]
    songs = generate(model, songs=4, steps=40, gibbs_steps=20, seed=1)
    frac, a, b = pattern_fraction(songs)
    assert frac >= 0.8 and a > 0 and b > 0, (frac, a, b)


def test_same_seed_gives_identical_weights_and_another_seed_does_not(trained_two_pattern):
    first, _ = trained_two_pattern
    again = Trainer(tiny_config(), two_pattern_songs(), ENC).run()
    np.testing.assert_array_equal(first.weights(), again.params["W"])
    other = Trainer(tiny_config(seed=1, epochs=2), two_pattern_songs(), ENC).run()
    assert not np.array_equal(other.params["W"], again.params["W"])


def test_weights_do_not_depend_on_how_steps_are_chunked():
    """The trainer may re-size its chunks after timing them; results must not change."""
    whole = Trainer(tiny_config(epochs=3), two_pattern_songs(), ENC)
    pieces = Trainer(tiny_config(epochs=3), two_pattern_songs(), ENC)
    pieces.spec = pieces.spec._replace(chunk=4)  # 27 steps: 7 chunks, the last one partial
    np.testing.assert_array_equal(whole.run().params["W"], pieces.run().params["W"])
    assert [h["epoch"] for h in pieces.snapshot().history] == [1, 2, 3]


def test_without_held_out_windows_the_gap_is_left_out_and_weights_are_unchanged(
    trained_two_pattern,
):
    """The epoch-end free-energy gap needs held-out windows; without them the compiled step leaves
    that branch out, which must not change the weights (the branch only reads them)."""
    trainer, progress = trained_two_pattern
    assert trainer.spec.gap
    assert any(p.free_energy_gap is not None for p in progress if p.epoch_end)

    config = tiny_config(epochs=3, holdout_fraction=0.0)
    lean = Trainer(config, two_pattern_songs(), ENC)
    assert not lean.spec.gap
    full = Trainer(config, two_pattern_songs(), ENC)
    full.spec = full.spec._replace(gap=True)
    lean_model, full_model = lean.run(), full.run()
    np.testing.assert_array_equal(lean_model.params["W"], full_model.params["W"])
    assert [h["free_energy_gap"] for h in lean_model.history] == [None, None, None]


def test_pcd_with_weight_decay_sparsity_and_lr_decay_runs():
    cfg = tiny_config(
        pcd=True, learning_rate=0.02, weight_decay=1e-4, sparsity_target=0.1,
        sparsity_cost=0.1, lr_decay=0.01, epochs=150,
    )  # fmt: skip
    trainer = Trainer(cfg, two_pattern_songs(), ENC)
    start = trainer.weights()
    model = trainer.run()
    assert trainer.finished and len(model.history) == 150
    assert not np.array_equal(start, model.params["W"])
    assert all(np.isfinite(h["recon_error"]) for h in model.history)
    assert np.isfinite(model.params["W"]).all()
    assert model.history[-1]["recon_error"] < model.history[0]["recon_error"]


def test_pause_resume_cancel_from_another_thread_keeps_the_model():
    trainer = Trainer(tiny_config(epochs=1_000_000), two_pattern_songs(), ENC)
    seen: list = []
    worker = threading.Thread(target=lambda: seen.extend(trainer), daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    while not any(p.epoch_end for p in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(p.epoch_end for p in seen), "no epoch finished"

    trainer.pause()
    while (not seen or seen[-1].phase != "paused") and time.monotonic() < deadline:
        time.sleep(0.02)
    paused_weights = trainer.weights()
    paused_epochs = len(trainer.snapshot().history)
    time.sleep(0.5)
    assert seen[-1].phase == "paused"
    np.testing.assert_array_equal(trainer.weights(), paused_weights)
    assert len(trainer.snapshot().history) == paused_epochs

    trainer.resume()
    while len(trainer.snapshot().history) <= paused_epochs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(trainer.snapshot().history) > paused_epochs

    trainer.cancel()
    worker.join(timeout=5.0)  # generous: cancel takes effect between ~0.15 s groups
    assert not worker.is_alive(), "training did not stop after cancel()"
    assert seen[-1].phase == "cancelled" and not trainer.finished
    model = trainer.snapshot()
    assert model.history and np.isfinite(model.params["W"]).all()
    assert generate(model, songs=1, steps=8)[0].steps == 8


@pytest.mark.slow
def test_continue_training_extends_history_and_frame_level_uses_88_keys(trained_two_pattern):
    trained, _ = trained_two_pattern
    more = Trainer(tiny_config(epochs=3), two_pattern_songs(), ENC, model=trained.snapshot()).run()
    assert [h["epoch"] for h in more.history[-4:]] == [100, 101, 102, 103]

    piano = Encoding(steps_per_beat=1, low=21, high=108)
    rng = np.random.default_rng(0)
    frames = [StateMatrix(canonicalize((rng.random((30, 176)) < 0.05).astype(np.uint8)), piano)]
    cfg = TrainingConfig(hidden=6, frame_level=True, batch_size=10, epochs=2)
    model = Trainer(cfg, frames, piano).run()
    assert (model.n_visible, model.window, model.encoding) == (88, 1, piano)
    assert model.receptive_fields().shape == (6, 1, 88)
    out = generate(model, songs=2, steps=16, mode="continue")
    assert out[0].data.shape == (16, 176) and out[0].encoding == piano


def test_bad_settings_and_too_short_songs_are_clear_errors():
    problems = registry.check_config(TrainingConfig(hidden=0, learning_rate=-1, momentum_end=1.5))
    assert len(problems) == 3 and problems[-1].startswith("Momentum end")
    with pytest.raises(registry.SettingsError, match="Hidden units"):
        registry.make_trainer(TrainingConfig(hidden=0), two_pattern_songs(), ENC)
    short = [StateMatrix(np.zeros((3, ENC.width), np.uint8), ENC)]
    with pytest.raises(ValueError, match="at least 15 steps"):
        Trainer(TrainingConfig(), short, ENC)
    cfg = TrainingConfig(stride=3, sparsity_target=0.05, transpose=2)
    assert TrainingConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg


# ---------------------------------------------------------------- sampling


@pytest.mark.slow
def test_continuation_keeps_the_primer_and_output_is_canonical(trained_two_pattern):
    trainer, _ = trained_two_pattern
    model = trainer.snapshot()
    primer = two_pattern_songs()[0]
    primer = StateMatrix(primer.data[:32], ENC, bpm=90.0, title="primer")
    out = generate(model, songs=2, steps=32, mode="continue", primer=primer, gibbs_steps=5, seed=3)
    for m in out:
        assert m.steps == 64 and m.encoding == ENC and m.bpm == 90.0
        np.testing.assert_array_equal(m.data[:32], primer.data)
        np.testing.assert_array_equal(canonicalize(m.data), m.data)
    silence = generate(model, songs=1, steps=30, mode="continue", start="noise", seed=0)[0]
    assert silence.steps == 30
    with pytest.raises(ValueError, match="mode='continue'"):
        generate(model, primer=primer, mode="windows")
    with pytest.raises(ValueError, match="temperature"):
        generate(model, temperature=0)


def test_generated_songs_survive_a_midi_round_trip(trained_two_pattern, tmp_path):
    trainer, _ = trained_two_pattern
    model = trainer.snapshot()
    for i, matrix in enumerate(generate(model, songs=2, steps=40, gibbs_steps=5, temperature=1.3)):
        song = decode(matrix)
        path = tmp_path / f"g{i}.mid"
        write_midi(song, path)
        again = encode(read_midi(path), ENC)
        assert len(read_midi(path).notes) == len(song.notes) > 0
        steps = again.steps
        np.testing.assert_array_equal(again.data, matrix.data[:steps])
        assert not matrix.data[steps:].any()  # only trailing silence may be lost


def test_a_key_constraint_keeps_every_generated_note_in_the_scale(trained_two_pattern):
    from rbm_studio.models import registry
    from rbm_studio.models.base import GenerateRequest
    from rbm_studio.models.generated import key_pitch_classes

    model = trained_two_pattern[0].snapshot()
    scale = key_pitch_classes("D minor")
    request = GenerateRequest(songs=3, steps=40, seed=2, temperature=1.0, pitch_classes=scale)
    songs = registry.kind(model.kind).generate(model, request)
    notes = [n for s in songs for n in decode(s).notes]
    assert notes and all(n.pitch % 12 in scale for n in notes)
