"""User directories (cache, data, config, logs, exports) from platformdirs, overridable by
environment variables (`RBM_STUDIO_CACHE_DIR`, `RBM_STUDIO_DATA_DIR`, `RBM_STUDIO_CONFIG_DIR`,
`RBM_STUDIO_LOG_DIR`, `RBM_STUDIO_EXPORT_DIR`) for tests and portable use."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "rbm-studio"
APP_AUTHOR = "RBM Studio"


def _dir(env: str, default: str) -> Path:
    path = Path(os.environ.get(env) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    return _dir("RBM_STUDIO_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    return _dir("RBM_STUDIO_DATA_DIR", platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def config_dir() -> Path:
    return _dir("RBM_STUDIO_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    """Where the log, the faulthandler file and the frozen app's console output go."""
    return _dir("RBM_STUDIO_LOG_DIR", platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def export_dir() -> Path:
    """Where generated songs are exported unless the musician chose elsewhere: a "Generated"
    folder in their music folder (documents when there is no music folder), never beside the
    songs a model learns from."""
    music = Path(platformdirs.user_music_dir())
    base = music if music.is_dir() else Path(platformdirs.user_documents_dir())
    return _dir("RBM_STUDIO_EXPORT_DIR", str(base / "RBM Studio" / "Generated"))
