"""The transport's SoundFont choice and WAV export: a SoundFont is used (and remembered) only once
a background check has opened it and heard it sound; WAV export renders with the built-in synth
in the background, needing no audio device.

`SoundFontAndExport` is a mixin of `TransportBar`, apart so the bar stays readable: it uses the
bar's `settings`, `player`, `song`, `soundfont_button`, `export_wav_button`, its signals
`soundfontChecked`, `wavExported` and `wavFailed`, and `_open`/`_update_enabled` to reopen the
built-in synth and refresh the buttons.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..playback.audio import BUILTIN_API
from ..playback.output_choice import BUILTIN_CHOICE
from ..playback.synth import bundled_soundfont, probe_soundfont, render_song_wav
from .workers import Job, run_function

SOUNDFONT_KEY = "playback/soundfont"


class SoundFontAndExport:
    """See the module docstring."""

    soundfont_job: Job | None
    export_job: Job | None
    soundfont_notice: str  # the one-line reason a SoundFont was refused, "" when none was

    def soundfont(self) -> Path:
        """The SoundFont the person chose (while the file exists), else the bundled one."""
        saved = str(self.settings.qsettings.value(SOUNDFONT_KEY, "") or "")
        if saved and Path(saved).is_file():
            return Path(saved)
        return bundled_soundfont()

    def _check_remembered_soundfont(self) -> str:
        """Start-up: the remembered SoundFont must still open and sound, else it is forgotten
        and the bundled one used. Returns the one-line notice ("" when nothing was dropped)."""
        saved = str(self.settings.qsettings.value(SOUNDFONT_KEY, "") or "")
        if not saved:
            return ""
        reason = probe_soundfont(saved)
        if reason is None:
            return ""
        self.settings.qsettings.remove(SOUNDFONT_KEY)
        return f"Using the bundled SoundFont: {reason}"

    def choose_soundfont(self) -> None:
        start = str(self.soundfont().parent)
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a SoundFont", start, "SoundFonts (*.sf2 *.sf3);;All files (*)"
        )
        if path:
            self.set_soundfont(Path(path))

    def set_soundfont(self, path: Path | None) -> Job | None:
        """Use `path` (None: the bundled SoundFont) for the built-in synth and Export WAV once it
        has opened and sounded in a background check; only then is it remembered and the
        built-in synth reopened with it. A font that fails changes nothing: `soundfontChecked`
        (False, reason) and the window shows the one-line reason."""
        if path is None:
            self._use_soundfont(None)
            return None
        path = Path(path)

        def work(_progress, _cancel: threading.Event) -> str | None:
            return probe_soundfont(path)

        def checked(reason: str | None) -> None:
            if reason is None:
                self._use_soundfont(path)
            else:
                self.soundfont_notice = f"SoundFont not used: {reason}"
                self.soundfontChecked.emit(False, self.soundfont_notice)

        self.soundfont_button.setEnabled(False)
        job = run_function(work, "soundfont-check", self)
        job.finished.connect(checked)
        job.failed.connect(lambda message, _d: checked(message or "it could not be checked"))
        job.done.connect(self._update_enabled)
        self.soundfont_job = job
        return job

    def _use_soundfont(self, path: Path | None) -> None:
        self.settings.qsettings.setValue(SOUNDFONT_KEY, str(path) if path else "")
        self.soundfont_notice = ""
        self.player.soundfont = self.soundfont()
        self.soundfont_button.setToolTip(f"SoundFont: {self.player.soundfont.name}")
        if self._open_key == BUILTIN_API and not self._busy:
            self._open(BUILTIN_CHOICE)
        self.soundfontChecked.emit(True, "")

    def choose_and_export_wav(self) -> None:
        if self.song is None:
            return
        folder = self.settings.last_export_folder or str(Path.home())
        name = (self.song.title or "song").replace("/", "_") + ".wav"
        out, _ = QFileDialog.getSaveFileName(
            self, "Export WAV", str(Path(folder) / name), "WAV audio (*.wav)"
        )
        if out:
            self.export_wav(Path(out))

    def export_wav(self, out: Path, soundfont: Path | None = None) -> Job | None:
        """Render the current song to `out` with the built-in synth in the background
        (`soundfont`: the chosen one by default)."""
        if self.song is None:
            return None
        song, program = self.song, self.player.program
        soundfont = soundfont or self.soundfont()
        self.export_wav_button.setEnabled(False)

        def work(_progress, _cancel: threading.Event) -> Path:
            return render_song_wav(song, out, program=program, soundfont=soundfont).path

        job = run_function(work, "export-wav", self)
        job.finished.connect(self.wavExported)
        job.failed.connect(lambda message, _d: self.wavFailed.emit(message))
        job.done.connect(self._update_enabled)
        self.export_job = job
        return job
