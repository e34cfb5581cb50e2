"""A training request is checked in one place, the registry (`registry.make_trainer`): each
setting has one rule, and a bad value reaches the user as the same one line from the CLI, the
studio's training run and the registry itself. Trainers trust the checked config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.tiny_model import ENCODING, songs

from rbm_studio.cli import main
from rbm_studio.models import registry
from rbm_studio.studio.training import TrainingRun

RULE_CALL = re.compile(r"(?<!`)\b(config|cfg)\.validate\(\)|\.check_settings\(")
PACKAGE = Path(__file__).resolve().parents[1] / "rbm_studio"

# (kind, CLI flag, bad value, the knob's name as the message starts): a common knob and each
# kind's own, so both halves of the check (`config.validate`, the kind's `check_settings`) count
BAD = [
    ("rbm", "--hidden", "0", "hidden", 0, "Hidden units"),
    ("rbm", "--lr", "-1", "learning_rate", -1.0, "Learning rate"),
    ("rnn-rbm", "--recurrent", "0", "recurrent_hidden", 0, "Recurrent"),
]


@pytest.fixture(scope="module")
def matrices(tmp_path_factory):
    return songs(tmp_path_factory.mktemp("songs"), count=2, bars=2)


@pytest.mark.parametrize(("kind", "flag", "text", "name", "value", "starts"), BAD)
def test_a_bad_value_reads_the_same_one_line_everywhere(
    kind, flag, text, name, value, starts, matrices, tmp_path, capsys
):
    config = registry.default_config(kind, **{name: value})
    with pytest.raises(registry.SettingsError) as raised:
        registry.make_trainer(config, matrices, ENCODING)
    line = str(raised.value)
    assert "\n" not in line and line.startswith("invalid training settings: ")
    assert raised.value.problems == registry.check_config(config)
    assert raised.value.problems[0].lower().startswith(starts.lower())

    run = TrainingRun(config, matrices, ENCODING, plots=False)
    with pytest.raises(registry.SettingsError) as from_run:
        run.prepare()
    assert str(from_run.value) == line and run.trainer is None

    # the CLI says it before reading a single song (the folder does not even exist)
    out = tmp_path / "m.rbm"
    missing = str(tmp_path / "no such folder")
    assert main(["train", missing, "--model", kind, flag, text, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {line}\n"
    assert not out.exists()


def test_each_setting_has_one_rule_and_one_caller():
    """Only the registry runs the settings' rules; the trainers and the RNN-RBM's loop, which
    used to repeat them, trust what it passed."""
    callers = []
    for path in PACKAGE.rglob("*.py"):
        for number, source_line in enumerate(path.read_text().splitlines(), 1):
            code = source_line.split("#")[0]
            if RULE_CALL.search(code) and "def " not in code:
                callers.append((path.relative_to(PACKAGE).as_posix(), number))
    assert [p for p, _n in callers] == ["models/registry.py"], callers
    rules = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "Hidden units must be" in p.read_text()
    ]
    assert rules == ["models/config.py"]
