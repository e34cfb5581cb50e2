"""A model file written before the RNN-RBM's own knobs moved from `TrainingConfig`'s fields into
the kind's settings (`tests/data/rnn_rbm_fields_format.rbm`, saved by that version: a GRU with
previous-step links and non-default knobs) still loads with every knob, samples, and saves again
with them."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from rbm_studio.models import registry
from rbm_studio.models.base import GenerateRequest
from rbm_studio.models.config import FORMER_FIELDS, TrainingConfig
from rbm_studio.models.model_file import load_model, save_model
from rbm_studio.models.rnn_rbm.spec import KNOB_NAMES

OLD = Path(__file__).resolve().parent / "data" / "rnn_rbm_fields_format.rbm"
KNOBS = {
    "recurrence": "gru",
    "recurrent_hidden": 3,
    "sequence_length": 8,
    "optimizer": "sgd",
    "grad_clip": 2.5,
    "pretrain_epochs": 1,
    "meter": False,
    "previous_step": True,
    "onset_sustain": False,
    "pretrain_learning_rate": 0.02,
}


def test_an_rnn_rbm_file_of_the_old_format_keeps_its_own_knobs(tmp_path):
    model = load_model(OLD)
    assert model.kind == "rnn-rbm" and model.n_hidden == 4
    assert {name: model.config.value(name) for name in KNOBS} == KNOBS
    assert registry.check_config(model.config) == []
    again = load_model(save_model(model, tmp_path / "again.rbm"))
    assert {name: again.config.value(name) for name in KNOBS} == KNOBS
    songs = registry.kind(model.kind).generate(model, GenerateRequest(steps=6, gibbs_steps=2))
    assert songs[0].data.shape == (6, model.encoding.width)


def test_the_former_fields_are_the_rnn_rbm_knobs_and_no_longer_fields():
    """What old files may hold as fields is exactly what moved; a later version's key is still
    ignored, and an old field given next to `extra` overrides it (as a field did)."""
    assert set(FORMER_FIELDS) == set(KNOB_NAMES) == set(KNOBS)
    assert not set(KNOBS) & {f.name for f in fields(TrainingConfig)}
    config = registry.default_config("rnn-rbm")
    assert TrainingConfig.from_dict({**config.to_dict(), "from_the_future": 1}) == config
    off = TrainingConfig.from_dict({**config.to_dict(), "meter": False})
    assert config.value("meter") is True and off.value("meter") is False
