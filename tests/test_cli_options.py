"""Every option out of range is refused with argparse's one-line error before any work; a value
of 0 never silently becomes a default; `--distributed` checks its address and fails in one line
within its timeout; two runs never write one `--out` at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from support.crafted_models import with_meta

from rbm_studio import cli
from rbm_studio.commands.saving import OutputBusy, hold_out
from rbm_studio.models import registry
from rbm_studio.models.base import GenerateRequest
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.models.model_file import ModelFileError, load_model, save_model
from rbm_studio.music.encoding import Encoding
from rbm_studio.platform import devices
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
MIDI = str(sorted(sample_midi_dir().glob("*.mid"))[0])


def tiny_model() -> Model:
    rng = np.random.default_rng(0)
    params = {
        "W": rng.normal(size=(72, 5)).astype(np.float32),
        "vbias": np.zeros(72, np.float32),
        "hbias": np.zeros(5, np.float32),
    }
    return Model("rbm", params, TrainingConfig(hidden=5, window=3), Encoding(low=60, high=71))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(argv: list[str], capsys) -> str:
    """argparse's refusal of `argv`: exit status 2 and exactly one error line, naming it."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow
def test_out_of_range_options_are_refused_before_any_work(tmp_path, capsys):
    model = tmp_path / "m.rbm"
    save_model(tiny_model(), model)
    gen = ["generate", str(model), "--out", str(tmp_path / "songs")]
    train = ["train", "--sample", "--out", str(tmp_path / "t.rbm")]
    cases = {
        "--seed": [[*gen, "--seed", str(2**70)], [*gen, "--seed", "-1"], [*gen, "--seed", str(2**32)],
                   ["evaluate", str(model), "--folder", MIDI, "--seed", "-5"]],
        "--program": [[*gen, "--program", "500"], [*gen, "--program", "-1"],
                      ["play", MIDI, "--program", "128"], ["render", MIDI, "--out", "x.wav", "--program", "500"]],
        "--gibbs": [[*gen, "--gibbs", "0"], [*gen, "--gibbs", "-3"]],
        "--temperature": [[*gen, "--temperature", "0"], [*gen, "--temperature", "-1"],
                          [*gen, "--temperature", "nan"], [*gen, "--temperature", "inf"]],
        "--songs": [[*gen, "--songs", "0"]],
        "--steps": [[*gen, "--steps", "-5"], [*gen, "--steps", "many"]],
        "--lowest": [[*gen, "--lowest", "200"]],
        "--highest": [[*gen, "--highest", "-1"]],
        "--tempo": [["play", MIDI, "--tempo", "0"], ["play", MIDI, "--tempo", "nan"]],
        "--delay": [["play", MIDI, "--delay", "-1"], ["play", MIDI, "--delay", "nan"]],
        "--rate": [["render", MIDI, "--out", "x.wav", "--rate", "1000"]],
        "--num-processes": [[*train, "--distributed", "--num-processes", "0"]],
        "--process-id": [[*train, "--distributed", "--process-id", "-1"]],
        "--join-timeout": [[*train, "--distributed", "--join-timeout", "0"]],
    }  # fmt: skip
    for option, argvs in cases.items():
        for argv in argvs:
            line = refused(argv, capsys)
            assert f"argument {option}" in line and "must be" in line, (argv, line)
    assert not (tmp_path / "songs").exists() and not (tmp_path / "t.rbm").exists()
    # the training knobs are checked against the config's ranges, one line each
    for flag, value in (("--epochs", "0"), ("--hidden", "0"), ("--lr", "0"), ("--batch", "0"),
                        ("--cd-k", "0"), ("--minutes", "-1"), ("--seed", str(2**70))):  # fmt: skip
        assert cli.main([*train, flag, value]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error:"), (flag, err)
    # the ends of the ranges are accepted
    assert cli.main([*gen, "--songs", "1", "--steps", "4", "--seed", str(2**32 - 1), "--program", "127", "--gibbs", "1", "--temperature", "0.01"]) == 0  # fmt: skip
    capsys.readouterr()


@pytest.mark.slow
def test_zero_gibbs_steps_or_temperature_are_refused_not_the_defaults():
    """The request's None takes the kind's default; 0 is a value and is refused (it used to
    become the default through `value or default`)."""
    model = tiny_model()
    kind = registry.kind(model.kind)
    for change, word in (({"gibbs_steps": 0}, "gibbs"), ({"temperature": 0.0}, "temperature")):
        with pytest.raises(ValueError, match=word):
            kind.generate(model, GenerateRequest(steps=4, **change))
    assert len(kind.generate(model, GenerateRequest(steps=4))) == 1


def test_cluster_spec_checks_the_address_count_and_id():
    spec = devices.cluster_spec("10.0.0.1:1234", 4, 3)
    assert (spec.num_processes, spec.process_id) == (4, 3)
    assert devices.split_address("[::1]:8476") == ("::1", 8476)
    bad = [
        (("localhost:99999", 2, 0), "port must be in 1..65535"),
        (("localhost:0", 2, 0), "port must be in 1..65535"),
        (("localhost:http", 2, 0), "port must be in 1..65535"),
        ((":1234", 2, 0), "HOST:PORT"),
        (("localhost", 2, 0), "HOST:PORT"),
        (("localhost:1234", 0, 0), "process count must be in 1..65536, not 0"),
        (("localhost:1234", 2, 2), "process id 2 is not in 0..1"),
        (("localhost:1234", 2, -1), "process id -1 is not in 0..1"),
    ]
    for given, message in bad:
        with pytest.raises(devices.DeviceError, match=message.replace(".", r"\.")):
            devices.cluster_spec(*given)
    env = {"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "0", "JAX_PROCESS_ID": "0"}
    with pytest.raises(devices.DeviceError) as info:
        devices.cluster_spec(environ=env)
    assert "0..-1" not in str(info.value) and "count" in str(info.value)


def test_rendezvous_meets_every_process_or_fails_in_one_line_within_its_timeout():
    port = free_port()
    spec = [devices.ClusterSpec(f"127.0.0.1:{port}", 3, pid) for pid in range(3)]
    errors: list[BaseException] = []

    def join(s):
        try:
            devices.rendezvous(s, 30.0)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(s,)) for s in spec]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # process 0 alone: the missing ids, in one line; a peer alone: no coordinator
    with pytest.raises(devices.DeviceError, match=r"1 of 2 processes .* within 0\.5 s"):
        devices.rendezvous(devices.ClusterSpec(f"127.0.0.1:{port}", 2, 0), 0.5)
    with pytest.raises(devices.DeviceError, match="could not join the coordinator") as info:
        devices.rendezvous(devices.ClusterSpec(f"127.0.0.1:{port}", 2, 1), 0.5)
    assert "\n" not in str(info.value)
    # the port is taken by something else: process 0 says so at once
    with socket.socket() as other:
        other.bind(("", port))
        other.listen()
        with pytest.raises(devices.DeviceError, match=f"cannot listen on port {port}"):
            devices.rendezvous(devices.ClusterSpec(f"127.0.0.1:{port}", 2, 0), 30.0)


@pytest.mark.slow
def test_distributed_train_without_its_peers_fails_in_one_line(tmp_path):
    """Not JAX's 300 s wait and C++ abort: the check runs first and the command exits 1."""
    out = tmp_path / "m.rbm"
    base = [sys.executable, "-m", "rbm_studio", "train", "--sample", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    port = free_port()
    runs = [
        (["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", "0"], 1),
        (["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", "1"], 1),
        (["--coordinator", "127.0.0.1:99999", "--num-processes", "2", "--process-id", "0"], 2),
        (["--coordinator", "127.0.0.1:1234", "--num-processes", "2", "--process-id", "2"], 2),
    ]
    for extra, code in runs:
        cmd = [*base, "--distributed", "--join-timeout", "2", *extra]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == code, proc.stderr
        assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert not out.exists()


def test_a_second_writer_of_one_out_is_refused_naming_the_first(tmp_path, capsys):
    out = tmp_path / "same.rbm"
    with hold_out(out):
        with pytest.raises(OutputBusy, match=f"process {os.getpid()}"), hold_out(out):
            pass
        train = ["train", "--sample", "--epochs", "1", "--hidden", "4", "--out", str(out)]
        assert cli.main(train) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"process {os.getpid()}" in err, err
        assert cli.main(["render", MIDI, "--out", str(tmp_path / "x.wav")]) == 0  # another name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]  # the lock file is gone
    # a holder killed with -9 leaves no stale lock: the OS drops it with the process
    code = (
        "import sys; from rbm_studio.commands.saving import hold_out\n"
        f"with hold_out({str(out)!r}):\n    print('held', flush=True); sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout.readline().strip() == b"held"
        with pytest.raises(OutputBusy, match=f"process {child.pid}"), hold_out(out):
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with hold_out(out):
        pass


def test_a_model_format_version_given_as_text_is_named(tmp_path):
    path = tmp_path / "m.rbm"
    path.write_bytes(with_meta(lambda meta: meta.update(format_version="1")))
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert "must be a whole number, not '1'" in str(info.value)
