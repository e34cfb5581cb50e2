"""The RBM's semitone links (learned weights between visible units a semitone apart) and fresh
starts (continuations practised from where the sampler starts): the maths against brute force,
the sampler against the exact distribution, AIS against exact, and what training learns."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rbm_studio.models import registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.models.model_file import ModelFileError, load_model, model_bytes, save_model
from rbm_studio.models.rbm import evaluator as ev
from rbm_studio.models.rbm import lateral
from rbm_studio.models.rbm.sampler import rbm_params, sample_windows
from rbm_studio.models.rbm.trainer import RbmTrainer
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize

# 3 pitches, one step per window: 6 visible units (sounding + struck), small enough to enumerate
TINY = Encoding(steps_per_beat=1, low=60, high=62, out_of_range="drop")


def tiny_model(links_row, seed=0, hidden=3) -> Model:
    rng = np.random.default_rng(seed)
    params = {
        "W": rng.normal(0, 0.8, (TINY.width, hidden)).astype(np.float32),
        "vbias": rng.normal(0, 0.5, TINY.width).astype(np.float32),
        "hbias": rng.normal(0, 0.5, hidden).astype(np.float32),
        "lateral": np.asarray(links_row, np.float32) * lateral.row_mask(TINY.span),
    }
    return Model(kind="rbm", params=params, config=TrainingConfig(window=1), encoding=TINY)


def exact_distribution(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Every visible configuration and its probability, by brute force over both layers."""
    p = model.params
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=TINY.width)))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=p["W"].shape[1])))
    links = p["lateral"].astype(np.float64)
    pairs = sum(links[u] * vs[:, u] * vs[:, u + 1] for u in range(TINY.width - 1))
    e = (vs @ p["vbias"] + pairs)[:, None] + (hs @ p["hbias"])[None, :] + vs @ p["W"] @ hs.T
    joint = np.exp(e - e.max())
    pv = joint.sum(axis=1)
    return vs, pv / pv.sum()


LINKS = [-3.0, 2.0, 0.0, -1.5, 0.5, 0.0]


def test_free_energy_and_exact_log_z_include_the_links():
    model = tiny_model(LINKS)
    vs, probs = exact_distribution(model)
    log_p = -ev.free_energies(model, vs) - ev.exact_log_partition(model)
    np.testing.assert_allclose(np.exp(log_p), probs, atol=1e-9)
    plain = tiny_model([0.0] * TINY.width)
    assert abs(ev.exact_log_partition(model) - ev.exact_log_partition(plain)) > 0.1


def test_the_top_pitch_of_each_plane_has_no_upper_neighbour():
    assert lateral.row_mask(3).tolist() == [1, 1, 0, 1, 1, 0]
    row = jnp.asarray([1.0, 2.0, 0.0, 4.0, 5.0, 0.0])
    v = jnp.ones((1, 6))
    # unit 1 hears units 0 (weight 1) and 2 (weight 2); unit 2 hears only unit 1
    assert lateral.neighbour_field(row, v)[0].tolist() == [1.0, 3.0, 2.0, 4.0, 9.0, 5.0]


def test_gibbs_with_links_samples_the_exact_distribution():
    """Half sweeps (even units, then odd) leave the linked model's distribution invariant: long
    chains match the brute-force marginals and neighbour co-occurrences."""
    model = tiny_model(LINKS, seed=1)
    vs, probs = exact_distribution(model)
    chains = 4000
    v = sample_windows(
        rbm_params(model),
        jnp.asarray(lateral.of(model)),
        jnp.zeros((chains, TINY.width)),
        jax.random.PRNGKey(0),
        200,
        jnp.float32(1.0),
    )
    v = np.asarray(v)
    np.testing.assert_allclose(v.mean(axis=0), probs @ vs, atol=0.03)
    pair_exact = probs @ (vs[:, :-1] * vs[:, 1:])
    np.testing.assert_allclose((v[:, :-1] * v[:, 1:]).mean(axis=0), pair_exact, atol=0.03)
    # the strongly negative link keeps units 0 and 1 apart far more than independence would
    assert pair_exact[0] < 0.5 * (probs @ vs[:, 0]) * (probs @ vs[:, 1])


def test_ais_with_links_matches_exact():
    model = tiny_model(LINKS, seed=2)
    exact = ev.exact_log_partition(model)
    log_z, spread = ev.ais_log_partition(model, np.full(TINY.width, 0.3), n_betas=500, n_chains=200)
    assert abs(log_z - exact) < max(spread, 0.05)


def alternating_song(bars: int = 8) -> StateMatrix:
    """Two neighbours a semitone apart that take turns, each struck every other step: never
    together, although each sounds half the time."""
    enc = Encoding(steps_per_beat=4, low=58, high=65, out_of_range="drop")
    rows = np.zeros((bars * 16, enc.width), np.uint8)
    for t in range(bars * 16):
        pitch = 60 + t % 2
        rows[t, pitch - enc.low] = 1
        rows[t, enc.span + pitch - enc.low] = 1
    return StateMatrix(canonicalize(rows, enc.span), enc, title="alternating")


def test_training_learns_that_alternating_neighbours_never_sound_together(tmp_path):
    song = alternating_song()
    config = TrainingConfig(
        hidden=4, window=4, stride=1, learning_rate=0.05, batch_size=16, epochs=60, seed=0
    ).with_values(semitone_links=True, continue_share=0.5, fresh_start=True)
    model = RbmTrainer(config, [song], song.encoding).run()
    row = model.params["lateral"]
    assert row.shape == (song.encoding.width,)
    assert row[lateral.row_mask(song.encoding.span) == 0].tolist() == [0.0, 0.0]
    # sounding-plane link between MIDI 60 and 61: learned strongly negative; links between
    # pitches that never sound stay near zero
    assert row[60 - song.encoding.low] < -1.0
    assert abs(row[63 - song.encoding.low]) < 0.1
    # the links travel in the model file and are checked on load
    path = tmp_path / "links.rbm"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).params["lateral"], row)
    bad = Model(
        kind="rbm", params={**model.params, "lateral": row[:-1]}, config=model.config,
        encoding=model.encoding,
    )  # fmt: skip
    with pytest.raises(ModelFileError, match="not saved: .*semitone links"):
        save_model(bad, tmp_path / "bad.rbm")  # a model that would not load is never saved
    assert not (tmp_path / "bad.rbm").exists()
    (tmp_path / "bad.rbm").write_bytes(model_bytes(bad))  # as another version might write it
    with pytest.raises(ModelFileError, match="semitone links"):
        load_model(tmp_path / "bad.rbm")


def test_the_default_recipe_links_semitones_and_starts_fresh_but_the_tutorial_does_not():
    defaults = registry.kind("rbm").defaults
    assert defaults["semitone_links"] is True and defaults["fresh_start"] is True
    tutorial = next(p for p in registry.presets("rbm") if p.name == "tutorial").values
    assert tutorial["semitone_links"] is False and tutorial["fresh_start"] is False


@pytest.mark.slow
def test_fresh_starts_keep_the_context_clamped_and_change_what_is_learned():
    """Fresh starts replace the data with a draw of the marginals in the free half only: the
    first half's visible biases still get no gradient, and the free half learns differently."""
    enc = alternating_song().encoding
    song = alternating_song()
    config = TrainingConfig(
        hidden=16, window=4, stride=1, learning_rate=0.3, batch_size=8, epochs=30, cd_k=3,
        seed=0, patience=None,
    ).with_values(continue_share=1.0)  # fmt: skip
    ends = {}
    for fresh in (False, True):
        trainer = RbmTrainer(config.with_values(fresh_start=fresh), [song], enc)
        start = trainer.snapshot().params["vbias"].copy()
        ends[fresh] = trainer.run().params["vbias"]
        half = 2 * enc.width
        assert np.array_equal(start[:half], ends[fresh][:half])
    assert np.abs(ends[False][half:] - ends[True][half:]).max() > 0.05
