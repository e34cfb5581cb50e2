"""The infill sampler's two steps given the right side, without a model: which rows are written
again before a seam into given music, and how one writing is drawn among the candidates."""

from __future__ import annotations

import numpy as np

from rbm_studio.models.rbm.infill import _resample, _right_seams

WINDOW = 16


def _loose(rows: int, *spans: tuple[int, int]) -> np.ndarray:
    loose = np.zeros((rows, 4), bool)
    for a, b in spans:
        loose[a:b, 1:3] = True
    return loose


def test_the_last_quarter_window_before_given_rows_is_written_again_in_a_window_past_it():
    # free rows 20-35, given rows from 36 on: rows 32-35 again, in the window 24-39
    assert _right_seams(_loose(64, (20, 36)), WINDOW) == [(24, 32, 36)]
    # two regions far apart: one seam each
    assert _right_seams(_loose(96, (8, 24), (50, 70)), WINDOW) == [(12, 20, 24), (58, 66, 70)]


def test_no_seam_without_given_rows_after_it_or_where_windows_would_overlap():
    # free up to the last row: nothing given after it
    assert _right_seams(_loose(40, (20, 40)), WINDOW) == []
    # only two given rows before more free ones: not a seam into given music
    assert _right_seams(_loose(64, (8, 30), (32, 40)), WINDOW) == [(28, 36, 40)]
    # two seams whose windows overlap: the second is left out (one batch, one write per row)
    assert _right_seams(_loose(64, (8, 20), (26, 30)), WINDOW) == [(8, 16, 20)]


def test_a_writing_is_drawn_with_odds_by_its_weight():
    # a far better weight is (all but) always drawn; equal weights are drawn alike
    weight = np.array([[0.0, -50.0, -60.0], [-50.0, 0.0, -60.0]])
    assert _resample(weight, seed=0).tolist() == [0, 1]
    even = np.zeros((4000, 2))
    share = _resample(even, seed=1).mean()
    assert 0.45 < share < 0.55
    # two to one odds: log 2 apart
    odds = np.tile([np.log(2.0), 0.0], (4000, 1))
    assert 0.3 < _resample(odds, seed=2).mean() < 0.37
    # the same seed draws the same writings
    assert (_resample(odds, seed=3) == _resample(odds, seed=3)).all()


def test_settling_to_one_hidden_state_keeps_a_voice_the_mean_field_readout_drops():
    """A voice the model puts on one of two pitches, through two hidden units it slightly
    prefers one of: the mean-field readout averages the two and drops both pitches; settling
    both layers to their likelier states plays the preferred one. Clamped cells stay."""
    import jax.numpy as jnp

    from rbm_studio.models.energy import RBMParams
    from rbm_studio.models.rbm.form_sampler import _settle

    # visible: [pitch A, pitch B, a clamped cell]; hidden: h1 -> A, h2 -> B
    w = jnp.array([[4.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    params = RBMParams(w, jnp.array([-3.0, -3.0, 0.0]), jnp.array([0.4, -0.4]))
    v = jnp.array([[0.0, 0.0, 1.0]])
    mask = jnp.array([[0.0, 0.0, 1.0]])
    assert np.asarray(_settle(params, None, v, mask)).tolist() == [[0.0, 0.0, 1.0]]
    assert np.asarray(_settle(params, None, v, mask, True)).tolist() == [[1.0, 0.0, 1.0]]
