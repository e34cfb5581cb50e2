"""A kind extends the shared training base through its public hooks only: no kind's trainer (the
test kind's included) reaches a `_`-prefixed member of `TrainerControls`, so the base can change
its insides without breaking a kind."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from rbm_studio.models import trainer_base
from rbm_studio.models.trainer_base import TrainerControls

ROOT = Path(__file__).resolve().parents[1]
KIND_TRAINERS = [
    ROOT / "tests" / "support" / "fake_kind.py",
    ROOT / "rbm_studio" / "models" / "rbm" / "trainer.py",
    ROOT / "rbm_studio" / "models" / "rnn_rbm" / "trainer.py",
]


def base_private_members() -> set[str]:
    """Every `_name` the base defines: its methods and class attributes, and the attributes its
    methods set on `self`."""
    names = {n for n in vars(TrainerControls) if n.startswith("_") and not n.startswith("__")}
    tree = ast.parse(inspect.getsource(trainer_base))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            names.add(node.attr)
    return names


def private_base_accesses(path: Path, private: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in private
    ]


def test_the_scan_knows_the_base_private_members():
    """The scan below must be able to fail: the base's own insides are found."""
    private = base_private_members()
    assert {"_lock", "_host_params", "_pause", "_cancel", "_wake", "_check_model_shape"} <= private
    planted = ROOT / "tests" / "artifacts" / "planted_kind.py"
    planted.parent.mkdir(exist_ok=True)
    planted.write_text("class T:\n    def go(self):\n        self._pause.is_set()\n")
    assert private_base_accesses(planted, private) == ["planted_kind.py:3: ._pause"]


@pytest.mark.parametrize("path", KIND_TRAINERS, ids=lambda p: p.name)
def test_kind_trainers_use_only_public_hooks_of_the_base(path):
    assert private_base_accesses(path, base_private_members()) == []
