"""Where bundled files (sample songs, icons) live, from source and in a frozen PyInstaller build."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The `resources/` folder: beside the executable's data when frozen, the repo root otherwise."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. `resource_path("sample_midi")`."""
    return resources_dir().joinpath(*parts)


def sample_midi_dir() -> Path:
    return resource_path("sample_midi")
