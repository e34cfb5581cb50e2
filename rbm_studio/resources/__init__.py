"""Where bundled files (sample songs, SoundFont, icons, the .desktop template) live.

They are package data of `rbm_studio.resources`, so the same path works in a checkout, in an
installed wheel (`pip install .`, pipx) and in the frozen PyInstaller app, whose spec copies them to
the same place under its data folder (`sys._MEIPASS`).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_PATH = ("rbm_studio", "resources")


def resources_dir() -> Path:
    """This package's folder, which holds the files (beside the frozen app's data when frozen)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root).joinpath(*PACKAGE_PATH)
    return Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. `resource_path("sample_midi")`."""
    return resources_dir().joinpath(*parts)


def sample_midi_dir() -> Path:
    return resource_path("sample_midi")
