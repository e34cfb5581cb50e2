"""RNN-RBM core: gradients through time, learning a sequence, AIS against exact enumeration.

Tiny models (8 visible units, so every frame's partition function can be enumerated) keep this
file within a few tens of seconds, most of it compilation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rbm_studio.models import ais, registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.rnn_rbm import evaluator as rnn_rbm_eval
from rbm_studio.models.rnn_rbm import network as rnn_rbm
from rbm_studio.models.rnn_rbm import training as rnn_rbm_training
from rbm_studio.music.encoding import Encoding, StateMatrix

V, H, U = 8, 6, 5

# four distinct chords in a fixed cycle: each frame is determined by the previous one, but every
# chord is equally frequent, so any model that ignores the past scores at most -log 4 per frame
CYCLE = np.array(
    [
        [1, 0, 0, 1, 0, 0, 0, 0],
        [0, 1, 0, 0, 1, 0, 0, 0],
        [0, 0, 1, 0, 0, 1, 0, 1],
        [0, 0, 0, 0, 0, 0, 1, 1],
    ],
    np.float32,
)


def cycle_songs(n: int = 12, length: int = 24) -> list[np.ndarray]:
    return [np.roll(np.tile(CYCLE, (length // 4, 1)), -(i % 4), axis=0) for i in range(n)]


CYCLE_ENCODING = Encoding(steps_per_beat=2, low=60, high=60 + V - 1, out_of_range="drop")


def cycle_matrices() -> list[StateMatrix]:
    """`cycle_songs` as songs the app imports (a sounding and an onset column per pitch)."""
    return [
        StateMatrix(np.concatenate([s, s], axis=1).astype(np.uint8), CYCLE_ENCODING)
        for s in cycle_songs()
    ]


def random_params(seed: int, cell: str = "rnn", scale: float = 1.0) -> dict:
    """Untrained parameters with large weights, so the conditional RBMs are far from the base
    model and AIS has real work to do."""
    params = rnn_rbm.init_params(jax.random.PRNGKey(seed), V, H, U, cell=cell, scale=scale)
    rng = np.random.default_rng(seed)
    params["vbias"] = jnp.asarray(rng.normal(-1.0, 1.0, V), jnp.float32)
    params["hbias"] = jnp.asarray(rng.normal(0.0, 1.0, H), jnp.float32)
    return params


CFG = TrainingConfig().with_values(
    model="rnn-rbm",
    hidden=H,
    recurrent_hidden=U,
    cd_k=5,
    learning_rate=0.02,
    batch_size=4,
    sequence_length=12,
    epochs=60,
    pretrain_epochs=3,
    pretrain_learning_rate=0.02,
    seed=3,
)


@pytest.fixture(scope="module")
def trained() -> dict:
    params = None
    for report in rnn_rbm_training.train_rnn_rbm(CFG, cycle_songs()):
        params = report.params
    return {k: np.asarray(v) for k, v in params.items()}


def test_gradients_through_time_are_finite_and_reach_the_recurrence():
    params = random_params(0, scale=0.3)
    frames, mask = rnn_rbm_training.pad_sequences(cycle_songs(3, 16))
    loss = jax.jit(lambda p: rnn_rbm.cd_loss(p, frames, mask, jax.random.PRNGKey(1), 3)[0])
    grads = jax.jit(jax.grad(loss))(params)
    assert np.isfinite(float(loss(params)))
    for name, g in grads.items():
        assert np.all(np.isfinite(np.asarray(g))), name
    # the recurrent weights only affect the loss through later frames' biases: a non-zero
    # gradient there means the gradient really flows back through the scan
    for name in ("Wuu", "Wvu", "Wuv", "Wuh", "u0"):
        assert float(jnp.abs(grads[name]).max()) > 1e-6, name


def test_padding_frames_do_not_change_the_loss():
    params = random_params(1, scale=0.3)
    songs = cycle_songs(2, 8)
    short = rnn_rbm_training.pad_sequences(songs)
    long = rnn_rbm_training.pad_sequences(songs, length=14)
    key = jax.random.PRNGKey(4)
    loss = jax.jit(rnn_rbm.cd_loss, static_argnames="k")
    a = loss(params, *short, key, k=1)[1].free_energy
    b = loss(params, *long, key, k=1)[1].free_energy
    assert float(a) == pytest.approx(float(b), rel=1e-5)


def test_training_learns_the_sequence_beyond_any_memoryless_model(trained):
    songs = cycle_songs(4)
    before = rnn_rbm_eval.exact_frame_log_likelihood(
        rnn_rbm_training.initial_params(CFG, cycle_songs(), V), songs
    )
    after = rnn_rbm_eval.exact_frame_log_likelihood(trained, songs)
    assert after > before + 1.0
    # better than the best model without memory (-log 4 ≈ -1.386 per frame)
    assert after > -1.0


def test_training_is_reproducible(trained):
    again = None
    for report in rnn_rbm_training.train_rnn_rbm(CFG, cycle_songs()):
        again = report.params
    for name, value in trained.items():
        np.testing.assert_array_equal(value, np.asarray(again[name]), err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_ais_log_likelihood_matches_exact_enumeration(cell):
    params = random_params(7, cell=cell, scale=1.0)
    rng = np.random.default_rng(0)
    songs = [(rng.random((n, V)) < 0.3).astype(np.float32) for n in (5, 9, 3)]
    exact = rnn_rbm_eval.exact_frame_log_likelihood(params, songs)
    report = rnn_rbm_eval.evaluate_frames(params, songs, n_chains=64, n_betas=400, block=32)
    assert report.frames == 17
    assert report.log_likelihood == pytest.approx(exact, abs=0.03)
    assert 0.0 <= report.accuracy <= 1.0


def test_ais_partition_per_frame_matches_exact():
    params = random_params(11, scale=1.0)
    frames = np.asarray(cycle_songs(1, 8)[0])
    _, bv, bh = rnn_rbm_eval.frame_conditionals(params, [frames])
    exact = ais.exact_log_partition_arrays(np.asarray(params["W"]), bv, bh)
    result = ais.ais_arrays(params["W"], bv, bh, n_betas=1000, n_chains=64, seed=5)
    np.testing.assert_allclose(result.log_z, exact, atol=0.05)
    assert np.all(result.spread >= 0)
    assert result.marginals.shape == bv.shape


def test_frame_accuracy_of_a_learned_sequence_is_high(trained):
    report = rnn_rbm_eval.evaluate_frames(trained, cycle_songs(4), n_chains=16, n_betas=100)
    untrained = rnn_rbm_eval.evaluate_frames(
        rnn_rbm_training.initial_params(CFG, cycle_songs(), V),
        cycle_songs(4),
        n_chains=16,
        n_betas=100,
    )
    assert report.accuracy > 0.6
    assert report.accuracy > untrained.accuracy + 0.2


def test_sampling_continues_the_learned_cycle(trained):
    params = {k: jnp.asarray(v) for k, v in trained.items()}
    primer = jnp.asarray(CYCLE[:2])
    out = np.asarray(
        rnn_rbm.sample_sequence(
            params, jax.random.PRNGKey(0), batch=3, steps=14, primer=primer, gibbs_steps=20
        )
    )
    assert out.shape == (3, 14, V)
    np.testing.assert_array_equal(out[:, :2], np.broadcast_to(CYCLE[:2], (3, 2, V)))
    expected = np.tile(CYCLE, (4, 1))[:14]
    agreement = (out[:, 2:] == expected[2:]).mean()
    assert agreement > 0.85


def test_config_validation_names_bad_values():
    bad = TrainingConfig().with_values(
        model="rnn-rbm", hidden=0, recurrence="lstm", optimizer="rmsprop", grad_clip=0
    )
    problems = " ".join(registry.check_config(bad)).lower()
    for word in ("hidden", "recurrence", "optimizer", "clip"):
        assert word in problems
    # the training run's entry point refuses the request before a trainer exists
    with pytest.raises(registry.SettingsError, match="Hidden units"):
        registry.make_trainer(bad, cycle_matrices(), CYCLE_ENCODING)
