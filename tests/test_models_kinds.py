"""The model-kind interface: the registry, each kind's own defaults, a third kind driven through
the CLI with no change outside its own module, and the rules of the road (import contracts, no
kind branches outside a kind's own sub-package)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.models import registry
from rbm_studio.models.base import COMMON_SETTINGS, ModelKind
from rbm_studio.models.model_file import load_model
from rbm_studio.music.midi import read_midi
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rbm_studio"


def test_each_registered_kind_satisfies_the_protocol_and_has_its_own_defaults():
    assert set(registry.KINDS) >= {"rbm", "rnn-rbm"}
    for kind in registry.KINDS.values():
        assert isinstance(kind, ModelKind)
        config = registry.default_config(kind.name)
        assert config.model == kind.name
        assert registry.check_config(config) == [], kind.name
        assert kind.gibbs_default >= 1 and kind.modes
    rbm, rnn = registry.default_config("rbm"), registry.default_config("rnn-rbm")
    assert (rbm.hidden, rbm.window, rbm.stride, rbm.cd_k) == (200, 16, 8, 5)
    assert rbm.value("one_key") is True and rbm.value("continue_share") == 0.8
    assert (rnn.hidden, rnn.learning_rate, rnn.batch_size, rnn.cd_k) == (150, 0.001, 16, 15)
    assert rnn.value("recurrent_hidden") == 100 and rnn.value("sequence_length") == 128
    assert rnn.value("meter") and rnn.value("previous_step") and rnn.value("onset_sustain")
    assert registry.DEFAULT_KIND == "rbm"


def test_settings_name_real_knobs_and_bad_values_are_reported_by_the_kind():
    for kind in registry.KINDS.values():
        config = registry.default_config(kind.name)
        for setting in (*COMMON_SETTINGS, *kind.settings):
            assert config.value(setting.name) is not None or setting.optional, setting.name
    bad = registry.default_config("rnn-rbm", recurrent_hidden=0, sequence_length=1)
    problems = registry.check_config(bad)
    assert any(p.startswith("Recurrent units") for p in problems)
    assert any(p.startswith("Sequence steps") for p in problems)
    assert registry.check_config(registry.default_config("rbm", window=0)) == [
        "Window must be between 1 and 4096 steps."
    ]
    assert "hidden" in {s.name for s in COMMON_SETTINGS}
    with pytest.raises(registry.UnknownKindError, match="unknown model kind 'lstm'"):
        registry.kind("lstm")


def test_a_third_kind_runs_through_train_generate_and_evaluate_on_the_cli(
    fake_kind, tmp_path, capsys
):
    model_path = tmp_path / "fake.rbm"
    code = main(
        ["train", "--sample", "--model", fake_kind.name, "--smoothing", "2.5"]
        + ["--epochs", "3", "--out", str(model_path), "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model_kind"] == fake_kind.name and summary["epochs"] == 3
    model = load_model(model_path)
    assert model.kind == fake_kind.name and model.config.value("smoothing") == 2.5
    # not an RBM: it stores its own array (no W, vbias, hbias), its unit counts beside it
    assert set(model.params) == {"vbias"} and model.n_hidden == 1
    assert model.n_visible == model.params["vbias"].size
    assert model.window == 1 and len(model.history) == 3

    out = tmp_path / "songs"
    assert main(["generate", str(model_path), "--out", str(out), "--songs", "2"]) == 0
    files = sorted(out.glob("*.mid"))
    assert len(files) == 2 and all(read_midi(f).notes for f in files)
    capsys.readouterr()

    code = main(["evaluate", str(model_path), "--folder", str(sample_midi_dir()), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == fake_kind.name and report["method"] == "exact"
    # an independent-Bernoulli model scores a frame at Σ log p or log(1 − p): finite, negative
    assert np.isfinite(report["per_frame"]) and report["per_frame"] < 0
    assert report["frames"] > 1000

    # bad values of the kind's own knob are refused before any work, with its message
    code = main(["train", "--sample", "--model", fake_kind.name, "--smoothing", "0"]
                + ["--out", str(tmp_path / "x.rbm")])  # fmt: skip
    assert code == 2
    assert "Smoothing must be greater than 0" in capsys.readouterr().err


def test_an_unknown_kind_in_a_model_file_is_one_clear_line(fake_kind, tmp_path, capsys):
    path = tmp_path / "fake.rbm"
    assert main(["train", "--sample", "--model", fake_kind.name, "--out", str(path)]) == 0
    registry.unregister(fake_kind.name)
    assert main(["generate", str(path), "--out", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: fake.rbm: unknown model kind 'fake-independent'")


# ---------------------------------------------------------------------------------------------
# Rules of the road

# a comparison of a kind (or model) attribute with a string literal, either way round, or a
# membership test of a kind name: outside its own package, code asks the registry instead
BRANCH = re.compile(
    r"""\b\w*kind\s*(==|!=)\s*["']|["'][\w-]+["']\s*(==|!=)\s*[\w.]*kind\b"""
    r"""|\.model\s*(==|!=)\s*["']|\bin\s*[(\[{][^)\]}]*["']rnn-rbm["']"""
)


def kind_branches(root: Path) -> list[str]:
    """`kind ==` style branches outside a kind's own sub-package (models/<kind>/)."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if re.match(r"rbm_studio/models/[a-z_]+/", rel):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BRANCH.search(line.split("#")[0]):
                hits.append(f"{rel}:{number}: {line.strip()}")
    return hits


def test_no_kind_branches_outside_the_kinds_own_packages(tmp_path):
    assert kind_branches(PACKAGE) == []
    # the check itself finds a planted branch
    planted = tmp_path / "rbm_studio" / "ui"
    planted.mkdir(parents=True)
    (planted / "x.py").write_text(
        'if model.kind == "rnn-rbm":\n    pass\nok = kind in ("rbm", "rnn-rbm")\n'
    )
    assert len(kind_branches(tmp_path / "rbm_studio")) == 2


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("lint-imports is not installed (pip install import-linter)")
    return subprocess.run(
        [str(exe), "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_import_contracts_hold_and_a_planted_violation_breaks_them(tmp_path):
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].split("\n")[0].replace(
        "0 broken", ""
    )
    # a copy of the package where the music layer imports JAX must fail the same contracts
    copy = tmp_path / "tree"
    shutil.copytree(PACKAGE, copy / "rbm_studio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    song = copy / "rbm_studio" / "music" / "song.py"
    song.write_text(song.read_text(encoding="utf-8") + "\nimport jax  # planted\n")
    broken = lint_imports(copy)
    assert broken.returncode != 0
    assert "rbm_studio.music.song -> jax" in broken.stdout
