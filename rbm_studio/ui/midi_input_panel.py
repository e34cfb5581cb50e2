"""Play an idea in: choose a MIDI input (a keyboard, or the virtual input "RBM Studio In" any
program can play into), count in, record N bars to the metronome and find them, quantized, as a
new song in the song list — ready to continue, harmonise or regenerate. In answer mode the model
answers the take with as many bars, on the next bar line it can make, while the clicks go on.

The arithmetic is `studio.recording`, the running take `studio.live_take`; this dialog only
chooses, starts and shows. Finding inputs and opening ports run in jobs (ALSA and JACK may
block), and so does the model's answer; a timer follows the take's beat.
"""

from __future__ import annotations

import secrets
import threading

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..music.encoding import DEFAULT_ENCODING
from ..music.song import Song
from ..playback.midi_input import MidiInput, input_choices, list_inputs
from ..playback.output_choice import OutputChoice
from ..playback.player import MidiPlayer
from ..studio.library import GeneratedSong
from ..studio.live_take import LiveTake, answer_for, as_generated
from ..studio.recording import (
    MAX_COUNT_IN_BARS,
    MAX_TAKE_BARS,
    TakeError,
    TakePlan,
    quantize,
    take_matrix,
)
from .workers import Job, finish_job, run_function

POLL_MS = 30
NO_INPUT_TEXT = "No MIDI input: connect a keyboard and click Refresh."


class PlayInDialog(QDialog):
    """See the module docstring. `window` is the main window (model, song list, transport);
    `player` plays the clicks (default: the transport's, else one of its own on the built-in
    synth); `apis` limits the MIDI APIs searched for inputs."""

    takeRecorded = Signal(object)  # GeneratedSong: the take, in the song list
    answered = Signal(object)  # GeneratedSong: the take with the model's answer after it

    def __init__(
        self,
        window: QWidget,
        *,
        player: MidiPlayer | None = None,
        apis: list[str] | None = None,
    ) -> None:
        super().__init__(window)
        self.setWindowTitle("Play an Idea In")
        self.setObjectName("playInDialog")
        self.window_ = window
        self.apis = apis
        transport = getattr(window, "transport", None)
        self._own_player = player is None and transport is None
        self.player = player or (transport.player if transport is not None else MidiPlayer())
        self.midi_in = MidiInput()
        self.choices: list[OutputChoice] = []
        self.take: LiveTake | None = None
        self.last_take: GeneratedSong | None = None
        self._last_plan: TakePlan | None = None
        self.answer: GeneratedSong | None = None
        self.refresh_job: Job | None = None
        self.open_job: Job | None = None
        self._shut_down = False  # closed since the last Record: the take it opens for won't start
        self.answer_job: Job | None = None
        self._continued: Song | None = None
        self._opened_key: str | None = None
        self._saved_tempo: float | None = None  # the player's tempo override, put back after
        self._saved_loop = False  # and whether it looped
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._follow)
        self._build()
        self.refresh_inputs()

    # -- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        self.input_combo = QComboBox()
        self.input_combo.setToolTip("The MIDI input to record from")
        self.refresh_button = self._button("Refresh", "Look for MIDI inputs again")
        self.refresh_button.clicked.connect(self.refresh_inputs)
        self.bars_box = self._spin(1, MAX_TAKE_BARS, 4, "Bars to record (and to answer)")
        self.count_in_box = self._spin(0, MAX_COUNT_IN_BARS, 1, "Bars of clicks before the take")
        self.tempo_box = self._spin(30, 300, 100, "Tempo of the metronome, BPM")
        self.answer_box = QCheckBox("The model answers")
        self.answer_box.setToolTip(
            "After your bars, the model plays as many bars continuing them, on the next bar line"
        )
        self.record_button = self._button("Record", "Count in and record to the metronome")
        self.record_button.clicked.connect(self.record)
        self.stop_button = self._button("Stop", "Stop the take; what was played is kept")
        self.stop_button.clicked.connect(self.stop)
        self.continue_button = self._button(
            "Continue It", "Generate songs continuing the last take with the open model"
        )
        self.continue_button.clicked.connect(self.continue_take)
        self.status = QLabel("Looking for MIDI inputs…")
        self.status.setWordWrap(True)
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.input_combo, 1)
        row.addWidget(self.refresh_button)
        form.addRow("Input:", row)
        form.addRow("Bars:", self.bars_box)
        form.addRow("Count-in bars:", self.count_in_box)
        form.addRow("Tempo:", self.tempo_box)
        form.addRow("", self.answer_box)
        buttons = QHBoxLayout()
        for button in (self.record_button, self.stop_button, self.continue_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self._update_enabled()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    def _spin(self, low: int, high: int, value: int, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.setToolTip(tip)
        return box

    # -- inputs -----------------------------------------------------------------------------
    @Slot()
    def refresh_inputs(self) -> Job:
        """Look for MIDI inputs in the background."""
        if self.refresh_job is not None and not self.refresh_job.is_done:
            return self.refresh_job
        apis = self.apis

        def work(_progress, _cancel: threading.Event):
            return list_inputs(apis)

        self.refresh_job = run_function(work, "midi-inputs", self)
        self.refresh_job.finished.connect(self._on_inputs)
        self.refresh_job.failed.connect(lambda message, _d: self._show(message))
        self.refresh_job.done.connect(self._update_enabled)
        return self.refresh_job

    def _on_inputs(self, statuses) -> None:
        key = self.input_combo.currentData()
        self.choices = input_choices(statuses)
        self.input_combo.clear()
        for choice in self.choices:
            self.input_combo.addItem(choice.label, choice.key)
        index = self.input_combo.findData(key) if key is not None else -1
        # a real keyboard first when there is one, else the virtual input
        self.input_combo.setCurrentIndex(max(index, 0))
        reasons = "; ".join(f"{s.display_name}: {s.reason}" for s in statuses if not s.available)
        self._show(NO_INPUT_TEXT + (f" ({reasons})" if reasons else "") if not self.choices else "")

    def choose_input(self, key: str) -> bool:
        """Pick the input whose key is `key` (as `OutputChoice.key`); False when not listed."""
        index = self.input_combo.findData(key)
        if index >= 0:
            self.input_combo.setCurrentIndex(index)
        return index >= 0

    def _choice(self) -> OutputChoice | None:
        index = self.input_combo.currentIndex()
        return self.choices[index] if 0 <= index < len(self.choices) else None

    # -- a take -----------------------------------------------------------------------------
    def plan(self) -> TakePlan:
        """The take the controls ask for, on the open model's grid and metre."""
        model = getattr(self.window_, "model", None)
        grid = model.encoding.steps_per_beat if model is not None else 4
        metre = tuple(model.time_signature) if model is not None else (4, 4)
        return TakePlan(
            bars=self.bars_box.value(),
            count_in=self.count_in_box.value(),
            bpm=float(self.tempo_box.value()),
            time_signature=metre,  # type: ignore[arg-type]
            steps_per_beat=grid,
        )

    def is_busy(self) -> bool:
        opening = self.open_job is not None and not self.open_job.is_done
        return opening or (self.take is not None and not self.take.finished)

    @Slot()
    def record(self) -> bool:
        """Open the input (and, for a player of its own, an output) in a job, then count in."""
        choice = self._choice()
        if self.is_busy() or choice is None:
            return False
        try:
            plan = self.plan()
        except TakeError as exc:
            self._show(str(exc))
            return False
        if self.answer_box.isChecked() and getattr(self.window_, "model", None) is None:
            self._show("Open or train a model for it to answer you.")
            return False
        self._shut_down = False
        midi_in, player, own = self.midi_in, self.player, self._own_player
        reopen = choice.key != self._opened_key or not midi_in.is_open
        model = self.window_.model if self.answer_box.isChecked() else None

        def work(_progress, _cancel: threading.Event) -> str:
            if reopen and not midi_in.open(choice.api, choice.port, virtual=choice.virtual):
                return midi_in.status.message
            unheard = own and not player.status.ready
            if unheard and not player.open_synth() and not player.open_default():
                return player.status.message
            if model is not None:
                # answer a silent take first, so the model's sampler is compiled for this length
                # before the count-in: the real answer is then quick, and the clicks steady
                answer_for(model, quantize([], plan), plan, 0)
            return ""

        self.open_job = run_function(work, "play-in-open", self)
        self.open_job.finished.connect(lambda problem: self._start(plan, choice, problem))
        self.open_job.failed.connect(lambda message, _d: self._show(message))
        self.open_job.done.connect(self._update_enabled)
        self._show("Opening the input…" if model is None else "Getting the model ready…")
        self._update_enabled()
        return True

    def _start(self, plan: TakePlan, choice: OutputChoice, problem: str) -> None:
        if self._shut_down:
            return
        if problem:
            self._opened_key = None
            self._show(problem)
            return
        self._opened_key = choice.key
        self._continued = None
        self._saved_tempo = self.player.tempo_override
        self._saved_loop = self.player.loop
        self.take = LiveTake(self.player, self.midi_in, plan, answer=self.answer_box.isChecked())
        if not self.take.start():
            self._show(f"Nothing plays the metronome: {self.player.status.message}")
            self.take = None
            return
        self._show(f"{self.midi_in.status.message} Count-in…")
        self.timer.start()
        self._update_enabled()

    @Slot()
    def _follow(self) -> None:
        take = self.take
        if take is None:
            self.timer.stop()
            return
        if take.answer and self.answer_job is None and take.beat >= take.plan.end:
            self._ask_for_answer(take)
        if take.finished:
            self.timer.stop()
            self._finish(take)
            return
        self._show(take.status_text())

    def _ask_for_answer(self, take: LiveTake) -> None:
        model, played, plan = self.window_.model, take.recorded(), take.plan
        seed = secrets.randbelow(2**31)

        def work(_progress, _cancel: threading.Event) -> Song:
            return answer_for(model, played, plan, seed)

        self.answer_job = run_function(work, "answer", self)
        self.answer_job.finished.connect(lambda song: self._on_answer(take, song))
        self.answer_job.failed.connect(lambda message, _d: self._show(f"No answer: {message}"))

    def _on_answer(self, take: LiveTake, continued: Song) -> None:
        if take is not self.take or take.finished:
            return
        start = take.answer_with(continued)
        self._continued = continued
        bar = int(start // take.plan.bar_beats) - take.plan.count_in + 1
        self._show(f"The model answers from bar {bar} of the take's clock.")

    @Slot()
    def stop(self) -> None:
        """Stop the take now; what was played so far becomes the song."""
        if self.take is not None and not self.take.finished:
            self.take.stop()

    def _finish(self, take: LiveTake) -> None:
        """The take (and the answer) into the song list, on the open model's grid."""
        self.answer_job = None
        model = getattr(self.window_, "model", None)
        encoding = model.encoding if model is not None else DEFAULT_ENCODING
        played = take.recorded()
        self.take = None
        # the transport's tempo and looping as they were (a take plays at its own tempo, once)
        if self._saved_tempo is not None:
            self.player.set_tempo(self._saved_tempo)
        self.player.set_loop(self._saved_loop)
        if not played.notes:
            self._show("Nothing was played: no song made.")
            self.window_.songShown.emit(self.window_.current_song())  # the shown song again
            self._update_enabled()
            return
        entry = as_generated(played, take.plan, encoding, "")
        panel = self.window_.generation
        songs, note = [entry], ""
        if self._continued is not None:
            answer = as_generated(self._continued, take.plan, encoding, "", bars=2 * take.plan.bars)
            answer.primer_beats = take.plan.length
            answer.model_label = "played in, answered"
            self.answer, note = answer, " and the model's answer"
            songs.append(answer)
        panel.add_songs(songs, "played in", f"Recorded {len(played.notes)} notes{note}.")
        if len(songs) > 1:  # the answer is named after the take it answers
            songs[1].name = songs[1].song.title = f"{entry.name}, answered"
            panel.song_changed(songs[1])
        self.last_take, self._last_plan = entry, take.plan
        self._show(f"Recorded {len(played.notes)} notes{note} into the song list as {entry.name}.")
        self.takeRecorded.emit(entry)
        if len(songs) > 1:
            self.answered.emit(songs[1])
        self._update_enabled()

    @Slot()
    def continue_take(self) -> bool:
        """Generate songs continuing the last take (the generation panel's options)."""
        entry, panel = self.last_take, self.window_.generation
        model = getattr(self.window_, "model", None)
        if entry is None or model is None or self._last_plan is None:
            return False
        # on the grid of the model open now (the take may be older than it)
        panel.set_primer(take_matrix(entry.song, self._last_plan, model.encoding), entry.name)
        return panel.generate(settings={"start": "continue"})

    # -- state ------------------------------------------------------------------------------
    def _show(self, text: str) -> None:
        self.status.setText(text)

    def _update_enabled(self) -> None:
        busy = self.is_busy()
        self.record_button.setEnabled(not busy and bool(self.choices))
        self.stop_button.setEnabled(busy)
        self.refresh_button.setEnabled(not busy)
        for box in (self.input_combo, self.bars_box, self.count_in_box, self.tempo_box):
            box.setEnabled(not busy)
        model = getattr(self.window_, "model", None)
        self.continue_button.setEnabled(self.last_take is not None and model is not None)

    def shutdown(self) -> None:
        """Stop any take and let go of the input (and of a player of its own), once opening
        them has finished: an input opened after it closed would outlive the panel."""
        self._shut_down = True
        finish_job(self.open_job)
        self.timer.stop()
        self.stop()
        self.midi_in.close()
        if self._own_player:
            self.player.close()

    def done(self, result: int) -> None:  # closing the dialog ends the take
        self.shutdown()
        super().done(result)
