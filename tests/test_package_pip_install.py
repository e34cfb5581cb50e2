"""A plain `pip install .` into a fresh virtual environment gives a working app: the built-in synth
renders audible audio and `rbm-studio ports` lists it, with the SoundFont and sample songs found
inside the installed package. No Makefile step, no `--no-deps`, no packages borrowed from the
system (the venv is made without `--system-site-packages`); pip reads the same index
configuration as this machine's pip (its config files and PIP_* variables pass through).

It downloads or reuses wheels and compiles the synth's extension (minutes), so `make test` skips it
and `make package-test` runs it (RBM_STUDIO_PIP_INSTALL_TEST=1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        os.environ.get("RBM_STUDIO_PIP_INSTALL_TEST") != "1",
        reason="installs the project into a fresh venv (minutes); set RBM_STUDIO_PIP_INSTALL_TEST=1 "
        "(make package-test does)",
    ),
]

# What a checkout holds that an install must not see: our venv, builds, caches, an in-place
# build of the extension (pip must compile its own), and the tests.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "tests",
    "*.egg-info",
    "__pycache__",
    "*.so",
    "*.pyd",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)
AUDIBLE_PEAK = 0.05
AUDIBLE_RMS = 0.005


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin") / name


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """This environment without anything that would import the checkout instead of the install."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env |= {"QT_QPA_PLATFORM": "offscreen", "JAX_PLATFORMS": "cpu"}
    for name in ("CACHE", "DATA", "CONFIG"):
        env[f"RBM_STUDIO_{name}_DIR"] = str(tmp_path / "user" / name.lower())
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int) -> str:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _audio(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (2, 2)
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    assert len(audio) / 2 / rate > 1.0, "the render is shorter than a second"
    return audio


def test_plain_pip_install_renders_audio_and_lists_the_builtin_synth(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = tmp_path / "venv"
    env = _clean_env(tmp_path)
    elsewhere = tmp_path / "run"  # not the checkout: `import rbm_studio` must find the install
    elsewhere.mkdir()
    _run([sys.executable, "-m", "venv", str(venv)], env, elsewhere, 300)
    python = _bin(venv, "python")
    _run([str(python), "-m", "pip", "install", "--quiet", str(source)], env, elsewhere, 3000)

    where = json.loads(
        _run(
            [
                str(python),
                "-c",
                "import json, rbm_studio.resources as r, rbm_studio.playback._tsf as t; "
                "print(json.dumps([str(r.resources_dir()), t.__file__]))",
            ],
            env,
            elsewhere,
            120,
        )
    )
    resources, extension = Path(where[0]), Path(where[1])
    assert resources.is_relative_to(venv) and extension.is_relative_to(venv)
    assert (resources / "soundfonts" / "sf_GMbank.sf2").is_file()
    assert (resources / "icons" / "rbm-studio.png").is_file()
    songs = sorted((resources / "sample_midi").glob("*.mid"))
    assert songs, f"no sample songs in {resources / 'sample_midi'}"

    rbm_studio = str(_bin(venv, "rbm-studio"))
    out = elsewhere / "song.wav"
    _run([rbm_studio, "render", str(songs[0]), "--out", str(out)], env, elsewhere, 600)
    audio = _audio(out)
    assert np.abs(audio).max() > AUDIBLE_PEAK
    assert np.sqrt(np.mean(audio**2)) > AUDIBLE_RMS

    listing = _run([rbm_studio, "ports"], env, elsewhere, 120)
    assert listing.startswith("Built-in synth: "), listing
    ports = json.loads(_run([rbm_studio, "ports", "--json"], env, elsewhere, 120))
    assert Path(ports["builtin"]["soundfont"]) == resources / "soundfonts" / "sf_GMbank.sf2"
