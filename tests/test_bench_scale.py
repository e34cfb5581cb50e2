"""Issue 16: the same seed gives the same weights on 1 and 4 devices and on 1 and 2 processes
(both kinds, CPU, forced host devices), and the packed corpus streams what a folder holds.

Device counts are fixed when JAX starts, so the runs are subprocesses, started together in one
module fixture to keep the wall time short.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.data.corpus import Corpus, CorpusError, WindowSet, import_corpus
from rbm_studio.data.dataset import import_folder
from rbm_studio.music.windows import augment_windows, extract_windows
from rbm_studio.platform import devices
from tests.support.scale_worker import RBM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "rbm_studio" / "resources" / "sample_midi"
SONGS = ["chorale_001.mid", "chorale_007.mid", "chorale_012.mid", "chorale_018.mid"]
RUN_TIMEOUT_S = 240


def _env(devices_: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(ROOT)
    if devices_ > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices_}"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """1 device, 4 devices (both kinds, scripts) and 2 processes (`train --distributed`), all
    started at once; returns their weights."""
    tmp = tmp_path_factory.mktemp("scale")
    folder = tmp / "songs"
    folder.mkdir()
    for name in SONGS:
        shutil.copy(SAMPLE / name, folder / name)
    corpus = tmp / "songs.rbmc"
    import_corpus([folder], corpus, workers=1)
    cache = {"RBM_STUDIO_CACHE_DIR": str(tmp / "cache")}
    worker = [sys.executable, "-m", "tests.support.scale_worker", str(folder)]
    procs = {
        "one": subprocess.Popen(
            [*worker, str(tmp / "one.npz"), str(corpus)], env=_env(1) | cache, cwd=ROOT
        ),
        "four": subprocess.Popen([*worker, str(tmp / "four.npz")], env=_env(4) | cache, cwd=ROOT),
    }
    port = _free_port()
    for pid in (0, 1):
        cmd = [sys.executable, "-m", "rbm_studio", "train", str(folder), *RBM_FLAGS]
        cmd += ["--out", str(tmp / "dist-{process}.rbm"), "--distributed"]
        cmd += ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
        cmd += ["--process-id", str(pid)]
        procs[f"p{pid}"] = subprocess.Popen(
            cmd, env=_env(1) | cache, cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
    errors = {}
    for name, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            errors[name] = (proc.returncode, (err or "")[-2000:])
    assert not errors, errors
    from rbm_studio.models.model_file import load_model

    return {
        "one": dict(np.load(tmp / "one.npz")),
        "four": dict(np.load(tmp / "four.npz")),
        "dist": [load_model(tmp / f"dist-{pid}.rbm") for pid in (0, 1)],
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rbm", "rnn-rbm"])
def test_the_same_seed_gives_the_same_weights_on_1_and_4_devices(runs, kind):
    one, four = runs["one"], runs["four"]
    assert int(one["devices"]) == 1 and int(four["devices"]) == 4
    names = sorted(k for k in one if k.startswith(f"{kind}-"))
    assert names and names == sorted(k for k in four if k.startswith(f"{kind}-"))
    for name in names:
        # only the order of the batch sums differs between the layouts
        np.testing.assert_allclose(four[name], one[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # and training moved the weights far more than that tolerance
    assert np.abs(one[f"{kind}-W"]).max() > 1e-2


@pytest.mark.slow
def test_two_processes_end_with_identical_weights_equal_to_one_process(runs):
    first, second = runs["dist"]
    assert first.dataset["devices"] == second.dataset["devices"] == 2
    for name, value in first.params.items():
        np.testing.assert_array_equal(second.params[name], value, err_msg=name)
        np.testing.assert_allclose(
            value, runs["one"][f"rbm-{name}"], rtol=1e-4, atol=1e-5, err_msg=name
        )


@pytest.mark.slow
def test_training_from_a_corpus_gives_the_weights_of_the_folder(runs):
    one = runs["one"]
    for name in ("W", "vbias", "hbias"):
        np.testing.assert_array_equal(one[f"corpus-rbm-{name}"], one[f"rbm-{name}"])


# ---------------------------------------------------------------------------------------------
# The corpus store (numpy only, in this process)


def test_a_corpus_holds_every_song_and_gives_the_windows_a_folder_gives(tmp_path):
    out = tmp_path / "c.rbmc"
    (tmp_path / "in").mkdir()
    for name in SONGS:
        shutil.copy(SAMPLE / name, tmp_path / "in" / name)
    (tmp_path / "in" / "broken.mid").write_bytes(b"MThd garbage")
    report = import_corpus([tmp_path / "in"], out, workers=1)
    assert report.songs == len(SONGS) and [p for p, _ in report.skipped] == [
        str(tmp_path / "in" / "broken.mid")
    ]
    corpus = Corpus(out)
    folder = import_folder(tmp_path / "in", use_cache=False, workers=1).matrices
    assert len(corpus) == len(folder) and corpus.skipped == report.skipped
    for packed, song in zip(corpus, folder, strict=True):
        np.testing.assert_array_equal(packed.data, song.data)
        assert (packed.bpm, packed.time_signature) == (song.bpm, song.time_signature)
    # packed bits: an eighth of a byte per unit, rounded up per row
    assert report.bytes < corpus.n_rows * folder[0].data.shape[1] / 4
    for frame_level, planes in ((False, 2), (True, 1)):
        windows = extract_windows(folder, window=16, stride=4, frame_level=frame_level)
        shifted = augment_windows(windows, 16, 1, planes)
        for source in (
            WindowSet.from_corpus(corpus, window=16, stride=4, frame_level=frame_level),
            WindowSet.from_matrices(folder, window=16, stride=4, frame_level=frame_level),
        ):
            assert source.n == len(windows)
            idx = np.random.default_rng(0).permutation(3 * source.n)[:300]
            shift = np.array([0, 1, -1])[idx // source.n]
            got = source.gather(idx % source.n, shift, planes)
            np.testing.assert_array_equal(got, shifted[idx])


def test_a_bad_corpus_is_one_clear_line_and_a_failed_import_keeps_the_old_one(tmp_path):
    out = tmp_path / "c.rbmc"
    import_corpus([SAMPLE / SONGS[0]], out, workers=1)
    before = out.read_bytes()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no usable MIDI songs"):
        import_corpus([tmp_path / "empty"], out, workers=1)
    assert out.read_bytes() == before and list(tmp_path.glob(".c.rbmc*")) == []
    damaged = tmp_path / "damaged.rbmc"
    damaged.write_bytes(before[:-5])
    with pytest.raises(CorpusError, match="truncated or damaged"):
        Corpus(damaged)
    (tmp_path / "x.rbmc").write_bytes(b"not a corpus at all, just text" * 4)
    with pytest.raises(CorpusError, match="is not an RBM Studio corpus"):
        Corpus(tmp_path / "x.rbmc")


def test_import_corpus_on_the_command_line_then_train_from_it(tmp_path):
    out = tmp_path / "c.rbmc"
    env = _env(1) | {"RBM_STUDIO_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "rbm_studio", "import", str(SAMPLE), "--corpus", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"corpus  {out}" in run.stdout and len(Corpus(out)) == 40
    bad = subprocess.run(
        [sys.executable, "-m", "rbm_studio", "train", "--corpus", str(SAMPLE / SONGS[0])]
        + ["--out", str(tmp_path / "m.rbm")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1] == (
        f"error: {SAMPLE / SONGS[0]} is not an RBM Studio corpus"
    )


# ---------------------------------------------------------------------------------------------
# Devices and clusters


def test_asking_for_a_gpu_jax_did_not_find_says_what_it_found_and_how_to_get_one():
    with pytest.raises(devices.DeviceError) as info:
        devices.mesh_devices("gpu")
    assert "JAX found cpu ×1" in str(info.value) and "rbm-studio[cuda]" in str(info.value)
    assert [d.platform for d in devices.mesh_devices("auto")] == ["cpu"]


def test_the_cluster_comes_from_flags_or_the_usual_environment_variables():
    spec = devices.cluster_spec(
        environ={"MASTER_ADDR": "node0", "MASTER_PORT": "1234"} | {"WORLD_SIZE": "4", "RANK": "2"}
    )
    assert spec == devices.ClusterSpec("node0:1234", 4, 2)
    env = {"JAX_COORDINATOR_ADDRESS": "a:1", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1"}
    assert devices.cluster_spec(process_id=0, environ=env) == devices.ClusterSpec("a:1", 2, 0)
    with pytest.raises(devices.DeviceError, match="needs --num-processes"):
        devices.cluster_spec("a:1", process_id=0, environ={})
    with pytest.raises(devices.DeviceError, match="process id 3 is not in 0..1"):
        devices.cluster_spec("a:1", 2, 3, environ={})
