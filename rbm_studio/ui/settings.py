"""Persistent settings (last folder, hyperparameters, MIDI port, window layout) in one ini file.

The file lives in `rbm_studio.platform.paths.config_dir()`, which tests redirect with
`RBM_STUDIO_CONFIG_DIR`, so a test run never reads or changes the musician's real settings.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ..platform.paths import config_dir

SETTINGS_FILE = "rbm-studio.ini"


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


class AppSettings:
    """Typed accessors over `QSettings` so keys and types are spelled in one place."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()
        self.qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self.qsettings.sync()

    # -- plain values -----------------------------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        value = self.qsettings.value(key, default)
        return str(value) if value is not None else default

    @property
    def last_folder(self) -> str:
        return self._str("files/last_folder")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.qsettings.setValue("files/last_folder", value)

    @property
    def last_export_folder(self) -> str:
        return self._str("files/last_export_folder")

    @last_export_folder.setter
    def last_export_folder(self, value: str) -> None:
        self.qsettings.setValue("files/last_export_folder", value)

    @property
    def last_model(self) -> tuple[str, bool]:
        """The model to reopen at launch: (its file, whether it is an unsaved model's copy)."""
        return self._str("files/last_model"), self._str("files/last_model_unsaved") == "true"

    def set_last_model(self, path: str, unsaved: bool) -> None:
        self.qsettings.setValue("files/last_model", path)
        self.qsettings.setValue("files/last_model_unsaved", "true" if unsaved else "false")

    @property
    def midi_port(self) -> str:
        return self._str("playback/midi_port")

    @midi_port.setter
    def midi_port(self, value: str) -> None:
        self.qsettings.setValue("playback/midi_port", value)

    @property
    def first_launch_done(self) -> bool:
        return self._str("app/first_launch_done", "false") == "true"

    @first_launch_done.setter
    def first_launch_done(self, value: bool) -> None:
        self.qsettings.setValue("app/first_launch_done", "true" if value else "false")

    # -- structured values ------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """The last training form values as a dict ({} when never saved or unreadable)."""
        raw = self._str("training/hyperparameters")
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def set_hyperparameters(self, values: dict) -> None:
        self.qsettings.setValue("training/hyperparameters", json.dumps(values, sort_keys=True))

    def generation(self) -> dict:
        raw = self._str("generation/options")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def set_generation(self, values: dict) -> None:
        self.qsettings.setValue("generation/options", json.dumps(values, sort_keys=True))

    def window_geometry(self) -> QByteArray | None:
        value = self.qsettings.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_geometry(self, value: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", value)

    def window_state(self) -> QByteArray | None:
        value = self.qsettings.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, value: QByteArray) -> None:
        self.qsettings.setValue("window/state", value)
