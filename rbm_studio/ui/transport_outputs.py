"""The transport's output chooser: finding MIDI outputs and opening one happen in background jobs
(they talk to ALSA/JACK and may block), the remembered output is reopened, and with nothing that
can sound one plain sentence says what to do, with the details behind its "How?" link.

`OutputChooser` is a mixin of `TransportBar`, apart so the bar stays readable: it uses the bar's
`settings`, `player`, `apis`, `output_combo`, `message`, its `outputsRefreshed`/`outputOpened`
signals and `_update_enabled`, and keeps the output state (`statuses`, `choices`, `refresh_job`,
`open_job`, `help_box`) on the bar.
"""

from __future__ import annotations

import html
import threading

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QMessageBox

from ..playback.audio import BUILTIN_API
from ..playback.output_choice import (
    NO_OUTPUT_CHOSEN_TEXT,
    NO_SOUND_TEXT,
    OutputChoice,
    choose_output,
    output_choices,
    output_reasons,
)
from ..playback.player import NO_OUTPUT_DETAILS, PlayerStatus
from ..playback.ports import ApiStatus, list_outputs
from .workers import Job, run_function


class OutputChooser:
    """See the module docstring."""

    _busy: bool  # discovering or opening ports
    _open_key: str | None  # settings key of the output last opened
    _shut_down: bool  # the app is closing: no output opens any more
    _fallbacks: list[OutputChoice]  # tried in turn when the default fails to open
    _help_details: str
    _list_error: str

    @Slot()
    def refresh_outputs(self) -> Job | None:
        """Look for MIDI outputs in the background, then reopen the remembered output (default:
        the built-in synth)."""
        if self.refresh_job is not None and not self.refresh_job.is_done:
            return self.refresh_job
        if self._shut_down:
            return None
        self._busy = True
        self._update_enabled()
        self._set_message("Looking for outputs…", details=False)
        apis = self.apis

        def work(_progress, _cancel: threading.Event) -> list[ApiStatus]:
            return list_outputs(apis)

        job = run_function(work, "midi-ports", self)
        job.finished.connect(self._on_outputs_listed)
        job.failed.connect(lambda message, _d: self._on_outputs_listed([], message))
        self.refresh_job = job
        return job

    def _on_outputs_listed(self, statuses: list[ApiStatus], error: str = "") -> None:
        self.statuses = list(statuses)
        self._list_error = error
        self.choices = output_choices(self.statuses)
        self.output_combo.blockSignals(True)
        self.output_combo.clear()
        self.output_combo.addItem("No output", None)
        for choice in self.choices:
            self.output_combo.addItem(choice.label, choice.key)
        self.output_combo.blockSignals(False)
        chosen, self._fallbacks = choose_output(self.choices, self.settings.midi_port)
        self.outputsRefreshed.emit()
        self.output_combo.setCurrentIndex(self.choices.index(chosen) + 1)
        if chosen.key == self._open_key and self.player.status.ready:
            # Refreshing must not interrupt a song playing on the output that is still there.
            self._busy = False
            self.message.hide()
            self._update_enabled()
            self.outputOpened.emit(True)
            return
        self._open(chosen)

    def _set_message(self, sentence: str, *, details: bool = True) -> None:
        """One plain sentence in the bar; `details` adds the "How?" link to the explanations."""
        text = html.escape(sentence)
        if details:
            text += ' <a href="how">How?</a>'
        self.message.setText(text)
        self.message.show()

    def _reasons(self) -> str:
        status = self.player.status
        problem = status.message if not status.ready else ""
        return output_reasons(problem, self.statuses, self._list_error)

    def _show_no_output(self) -> None:
        self._help_details = NO_OUTPUT_DETAILS
        self._set_message(NO_SOUND_TEXT)

    @Slot(str)
    def show_output_help(self, _link: str = "") -> QMessageBox:
        """The "How?" link: what was found and the ways to get sound, in a non-modal box."""
        if self.help_box is None:
            self.help_box = QMessageBox(self)
            self.help_box.setWindowTitle("Getting sound out of RBM Studio")
            self.help_box.setIcon(QMessageBox.Icon.Information)
            self.help_box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.help_box.setModal(False)
        self.help_box.setText(self._help_details or NO_OUTPUT_DETAILS)
        self.help_box.setDetailedText(self._reasons())
        self.help_box.show()
        return self.help_box

    def _on_output_chosen(self, index: int) -> None:
        key = self.output_combo.itemData(index)
        self._fallbacks = []
        if key is None:
            self.settings.midi_port = ""
            self._open_key = None
            self.player.close_output()
            self._help_details = NO_OUTPUT_DETAILS
            self._set_message(NO_OUTPUT_CHOSEN_TEXT, details=False)
            self._update_enabled()
            return
        choice = next(c for c in self.choices if c.key == key)
        self.settings.midi_port = choice.key
        self._open(choice)

    def select_output(self, key: str) -> None:
        """Choose the output with settings key `key` (what picking it in the combo box does)."""
        index = self.output_combo.findData(key)
        if index < 0:
            raise KeyError(key)
        self.output_combo.setCurrentIndex(index)
        self._on_output_chosen(index)

    def _open(self, choice: OutputChoice) -> None:
        if self._shut_down:
            return
        self._open_key = choice.key
        self._busy = True
        self._update_enabled()
        player = self.player

        def work(_progress, _cancel: threading.Event) -> bool:
            return player.open(choice.api, choice.port, virtual=choice.virtual)

        job = run_function(work, "midi-open", self)
        job.finished.connect(self._on_opened)
        job.failed.connect(lambda message, _d: self._on_opened(False, message))
        self.open_job = job

    def _on_opened(self, ok: bool, error: str = "") -> None:
        if not ok and self._fallbacks:
            # The default did not open (no audio device): try a port that may be a synth.
            choice = self._fallbacks.pop(0)
            self.output_combo.setCurrentIndex(self.output_combo.findData(choice.key))
            self._open(choice)
            return
        self._busy = False
        if ok:
            self.message.hide()
        elif self._open_key == BUILTIN_API:
            self._show_no_output()
        else:
            reason = (error or self.player.status.message).splitlines()[0]
            self._help_details = NO_OUTPUT_DETAILS
            self._set_message(f"Could not open {self.output_combo.currentText()}: {reason}")
        self._update_enabled()
        self.outputOpened.emit(bool(ok))

    @Slot(object)
    def _on_status(self, status: PlayerStatus) -> None:
        self.output_combo.setToolTip(status.message)
        if not status.ready and not self._busy and self.output_combo.currentIndex() > 0:
            self._help_details = NO_OUTPUT_DETAILS
            self._set_message(status.message)
        self._update_enabled()
