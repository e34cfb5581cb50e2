"""Shared fixtures: paths to bundled and shared data, and a place for screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "tests" / "artifacts"

# XLA compiling is most of what the model tests cost, and the same tiny programs are compiled
# again on every run: JAX's persistent compile cache (as the app keeps one in the user cache)
# lets a rerun read them back. It lives with the other git-ignored test output, is keyed by the
# compiled program itself (so a code change misses, never reuses). `make clean` empties it. Set
# JAX_COMPILATION_CACHE_DIR to choose another folder, or to "" for a run with none.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(ARTIFACTS / "jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared reference data not found at {SHARED_DATA} (only present on dev/CI machines)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def nottingham_midi_dir(shared_data: Path) -> Path:
    path = shared_data / "midi" / "nottingham-sample"
    if not path.is_dir():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def jsb_mat(shared_data: Path) -> Path:
    path = shared_data / "polyphonic" / "JSB_Chorales.mat"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def nottingham_mat(shared_data: Path) -> Path:
    path = shared_data / "polyphonic" / "Nottingham.mat"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep caches, autosaves and QSettings of tests out of the real user directories."""
    base = tmp_path_factory.getbasetemp() / "userdirs"
    monkeypatch.setenv("RBM_STUDIO_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("RBM_STUDIO_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("RBM_STUDIO_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("RBM_STUDIO_LOG_DIR", str(base / "logs"))
    monkeypatch.setenv("RBM_STUDIO_EXPORT_DIR", str(base / "exports"))


@pytest.fixture(scope="session")
def jack_server():
    """A private JACK server (dummy driver) for real MIDI traffic; skips when jackd is missing."""
    from rbm_studio.playback.jack_server import JackServer, JackUnavailable

    server = JackServer()
    try:
        server.start()
    except JackUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def fake_kind():
    """A third model kind (tests/support/fake_kind.py) registered for one test, then removed."""
    from support.fake_kind import KIND

    from rbm_studio.models import registry

    registry.register(KIND)
    yield KIND
    registry.unregister(KIND.name)


def pytest_collection_modifyitems(config, items):
    """Mark what a test needs from the fixtures it uses, so no one has to remember to:
    `gui` for every test with a Qt application (`qtbot` and `qapp`; qtbot asks for qapp) and
    every test of the window (`test_ui_*.py`: the self-test starts one in a child process), and
    `jack` for every test on the private JACK server. `pytest -m "not gui and not slow"` then
    runs the music, model and studio tests alone."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        window = item.path.name.startswith("test_ui_")
        if window or "qapp" in fixtures or "qtbot" in fixtures:
            item.add_marker(pytest.mark.gui)
        if "jack_server" in fixtures:
            item.add_marker(pytest.mark.jack)
