"""The .rbm model file: exact round trip, atomic writes, and clear errors for files we cannot read."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.models.model_file import ModelFileError, load_model, model_bytes, save_model
from rbm_studio.music.encoding import Encoding


def make_model() -> Model:
    rng = np.random.default_rng(0)
    cfg = TrainingConfig(hidden=5, window=3, stride=1, pcd=True, sparsity_target=0.1, seed=7)
    enc = Encoding(steps_per_beat=4, low=60, high=71)
    params = {
        "W": rng.normal(size=(3 * 24, 5)).astype(np.float32),
        "vbias": rng.normal(size=72).astype(np.float32),
        "hbias": rng.normal(size=5).astype(np.float32),
    }
    history = [{"epoch": 1, "recon_error": 0.1, "free_energy_gap": None, "elapsed": 0.5}]
    return Model("rbm", params, cfg, enc, history, {"songs": 3, "titles": ["a", "b"]})


def test_round_trip_is_exact(tmp_path):
    model = make_model()
    path = tmp_path / "m.rbm"
    save_model(model, path)
    again = load_model(path)
    assert again.kind == "rbm" and again.config == model.config and again.encoding == model.encoding
    assert again.history == model.history and again.dataset == model.dataset
    assert again.created == model.created
    for name, array in model.params.items():
        np.testing.assert_array_equal(again.params[name], array)
        assert again.params[name].dtype == np.float32
    assert again.receptive_fields().shape == (5, 3, 12)
    assert [p.name for p in tmp_path.iterdir()] == ["m.rbm"]  # no temp file left behind


def test_params_are_a_name_to_array_dict_and_unknown_kinds_are_refused(tmp_path):
    model = make_model()
    model.params["extra"] = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_model(model, tmp_path / "x.rbm")
    np.testing.assert_array_equal(
        load_model(tmp_path / "x.rbm").params["extra"], model.params["extra"]
    )
    model.kind = "something-else"
    (tmp_path / "y.rbm").write_bytes(model_bytes(model))  # as another version might write it
    with pytest.raises(ModelFileError, match="kind"):
        load_model(tmp_path / "y.rbm")
    with pytest.raises(ModelFileError, match="not saved: z.rbm: unknown model kind"):
        save_model(model, tmp_path / "z.rbm")
    assert not (tmp_path / "z.rbm").exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("bpm", float("nan"), "tempo nan BPM"),
        ("bpm", 0.0, "tempo 0.0 BPM"),
        ("bpm", -90.0, "tempo -90.0 BPM"),
        ("bpm", 1e308, "tempo 1e+308 BPM"),
        ("bpm", "fast", "tempo 'fast' is not a number"),
        ("time_signature", "4/3", 'time_signature "4/3"'),
        ("time_signature", "0/0", 'time_signature "0/0"'),
        ("time_signature", "256/4", 'time_signature "256/4"'),
        ("time_signature", "\u00b2/4", "time_signature"),
    ],
)
def test_a_model_that_would_not_load_is_not_saved(tmp_path, field, value, words):
    path = tmp_path / "m.rbm"
    save_model(make_model(), path)
    before = path.read_bytes()
    model = make_model()
    model.dataset[field] = value
    with pytest.raises(ModelFileError, match=re.escape(words)):
        save_model(model, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.rbm"]


def test_every_tempo_and_metre_a_midi_file_can_state_saves_and_loads(tmp_path):
    for bpm, metre in ((60e6 / 0xFFFFFF, "255/64"), (60e6, "1/1"), (1.0, "7/8")):
        model = make_model()
        model.dataset.update(bpm=bpm, time_signature=metre)
        save_model(model, tmp_path / "m.rbm")
        loaded = load_model(tmp_path / "m.rbm").dataset
        assert (loaded["bpm"], loaded["time_signature"]) == (bpm, metre)


def test_saving_over_a_model_replaces_it_atomically(tmp_path):
    path = tmp_path / "m.rbm"
    save_model(make_model(), path)
    model = make_model()
    model.history.append({"epoch": 2, "recon_error": 0.05, "free_energy_gap": 1.0, "elapsed": 1.0})
    save_model(model, path)
    assert len(load_model(path).history) == 2


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_file_is_a_clear_error(tmp_path, cut):
    path = tmp_path / "m.rbm"
    save_model(make_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelFileError, match="m.rbm"):
        load_model(path)


def test_corrupt_member_is_a_clear_error(tmp_path):
    path = tmp_path / "m.rbm"
    model = make_model()
    model.params["W"] = np.zeros((72, 5), np.float32)  # compresses well: a small, findable member
    save_model(model, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("params/W.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start, start + info.compress_size):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged|unreadable"):
        load_model(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.rbm"
    text.write_text("hello, I am not a model")
    with pytest.raises(ModelFileError, match="not an RBM Studio model"):
        load_model(text)
    other_zip = tmp_path / "other.rbm"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "a zip of something else")
    with pytest.raises(ModelFileError, match="not an RBM Studio model"):
        load_model(other_zip)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.rbm")


def _rewrite_metadata(path, change) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["metadata.json"])
    change(meta)
    members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_newer_format_asks_for_an_update(tmp_path):
    path = tmp_path / "m.rbm"
    save_model(make_model(), path)
    _rewrite_metadata(path, lambda m: m.update(format_version=99))
    with pytest.raises(ModelFileError, match="newer RBM Studio"):
        load_model(path)


def pickled_npy(obj: object) -> bytes:
    """A hostile `.npy`: an object-dtype header followed by a pickle, the bytes an attacker's
    file would carry (built by hand; nothing in the project writes or reads pickles)."""
    import io
    import pickle

    buf = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    np.lib.format.write_array_header_1_0(buf, header)
    pickle.dump(np.array([obj], dtype=object), buf, protocol=3)
    return buf.getvalue()


def test_pickled_or_inconsistent_arrays_are_refused(tmp_path):
    path = tmp_path / "m.rbm"
    save_model(make_model(), path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["params/hbias.npy"] = pickled_npy({"evil": 1})
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ModelFileError, match="hbias"):
        load_model(path)

    save_model(make_model(), path)
    _rewrite_metadata(path, lambda m: m["encoding"].update(low=200))
    with pytest.raises(ModelFileError, match="encoding low"):
        load_model(path)
