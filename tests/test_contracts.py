"""The import contracts hold, and they can fail: a copy of the package with `import PySide6`
planted in the application layer (`studio/`) is refused by `lint-imports`, while the same copy
without the plant passes. And tools/ (scripts, not a package `lint-imports` can see) reaches model
kinds only through the registry and `base`, checked by reading each script's imports."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "rbm_studio" / "models"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# A script that still imports a kind's internals, and why; the test fails once it no longer does,
# so the exception cannot outlive its reason.
TOOLS_KNOWN = {
    # Reproduces the RNN-RBM paper's figures from raw parameter arrays saved as .npz; the registry
    # has no hook to train or evaluate from raw parameters yet (the kind-protocol work of #24).
    "quality_rnn_rbm.py",
}


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_a_qt_import_planted_in_studio_breaks_the_contracts(tmp_path):
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    shutil.copytree(
        ROOT / "rbm_studio", copy / "rbm_studio", ignore=shutil.ignore_patterns("__pycache__")
    )
    clean = _lint(copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    target = copy / "rbm_studio" / "studio" / "library.py"
    target.write_text(target.read_text() + "\nimport PySide6  # planted\n")
    planted = _lint(copy)
    assert planted.returncode != 0
    assert "rbm_studio.studio.library -> PySide6" in planted.stdout
    assert "(studio) and playback have no Qt BROKEN" in " ".join(planted.stdout.split())


def _kind_packages() -> set[str]:
    """Every model kind: a subpackage of rbm_studio/models."""
    return {p.parent.name for p in MODELS.glob("*/__init__.py")}


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of everything `path` imports (any depth: a function's imports count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _reaches_a_kind(path: Path, kinds: set[str]) -> list[str]:
    prefixes = tuple(f"rbm_studio.models.{kind}" for kind in kinds)
    return sorted(
        name
        for name in _imported_modules(path)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
    )


def test_tools_reach_model_kinds_only_through_the_registry_and_base():
    kinds = _kind_packages()
    assert {"rbm", "rnn_rbm"} <= kinds
    offenders = {}
    for script in sorted((ROOT / "tools").glob("*.py")):
        reached = _reaches_a_kind(script, kinds)
        if reached:
            offenders[script.name] = reached
    assert set(offenders) == TOOLS_KNOWN, offenders


def test_the_tools_check_sees_a_kind_import(tmp_path):
    """The scanner finds a kind reached from inside a function and through `from ... import`."""
    script = tmp_path / "t.py"
    script.write_text(
        "from rbm_studio.models import registry\n"
        "def f():\n"
        "    from rbm_studio.models.rbm import sampler\n"
        "    import rbm_studio.models.rnn_rbm.training\n"
    )
    assert _reaches_a_kind(script, {"rbm", "rnn_rbm"}) == [
        "rbm_studio.models.rbm",
        "rbm_studio.models.rbm.sampler",
        "rbm_studio.models.rnn_rbm.training",
    ]
