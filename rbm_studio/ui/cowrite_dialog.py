"""Regenerate, More Like This and Harmonise on the song the piano roll shows: one small dialog
per action, its request checked at once (`studio.cowrite_list.Ask`), the sampling in a job, and
the songs it makes added to the song list as new songs (the shown song stays as it was).

Regenerate takes the bars (and, optionally, the pitch range) from the piano roll's selection
when there is one, else from its own bar and pitch boxes. Harmonise takes the shown song's top
line, the selected notes or a melody file. A model kind that cannot condition on the future says
so here, and the Run button stays off.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..music.song import Song
from ..studio import cowrite, cowrite_list
from ..studio.cowrite import CowriteError, Region
from ..studio.cowrite_list import (
    HARMONISE,
    MELODY_FILE,
    MELODY_SOURCES,
    MORE_LIKE_THIS,
    REGENERATE,
    SELECTED_NOTES,
    TOP_LINE,
    Ask,
)
from ..studio.library import GeneratedSong
from .workers import Job, run_function

TITLES = {
    REGENERATE: "Regenerate Bars",
    MORE_LIKE_THIS: "More Like This",
    HARMONISE: "Harmonise a Melody",
}
RUN_TEXT = {REGENERATE: "Regenerate", MORE_LIKE_THIS: "Write Variations", HARMONISE: "Harmonise"}
ANY_PITCH = -1  # the pitch boxes' "any"
MELODY_FILTER = "MIDI files (*.mid *.midi);;All files (*)"


class CowriteDialog(QDialog):
    """One co-writing action (`action`: regenerate, more like this, harmonise) on `window`'s
    shown song with its open model; the songs made go to the song list."""

    songsMade = Signal(list)  # list[GeneratedSong], once they are in the song list

    def __init__(self, window: QWidget, action: str) -> None:
        super().__init__(window)
        self.window_ = window
        self.action = action
        self.job: Job | None = None
        self.next_seed: int | None = None  # a seed asked for (tests); else a fresh one
        self.melody_path: Path | None = None
        self._problem_shown = False
        self.setObjectName(f"cowrite-{action.replace(' ', '-')}")
        self.setWindowTitle(TITLES[action])
        self._build()
        self.refresh()
        if action == REGENERATE:
            self.use_selection()

    # -- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        form = QFormLayout()
        self.variations_box = _spin(1, cowrite_list.MAX_VARIATIONS, 3, "Variations to write")
        if self.action == REGENERATE:
            self._build_region(form)
        elif self.action == MORE_LIKE_THIS:
            self._build_share(form)
        else:
            self._build_melody(form)
        form.addRow("Variations:", self.variations_box)
        self.run_button = QPushButton(RUN_TEXT[self.action])
        self.run_button.setToolTip("Write the variations; they go to the song list")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this dialog (a running job still adds its songs)")
        self.close_button.clicked.connect(self.close)
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def _build_region(self, form: QFormLayout) -> None:
        self.first_bar_box = _spin(1, 9999, 1, "First bar to write again")
        self.last_bar_box = _spin(1, 9999, 1, "Last bar to write again")
        self.lowest_box = _pitch_spin("Lowest pitch to write again (any: all pitches)")
        self.highest_box = _pitch_spin("Highest pitch to write again (any: all pitches)")
        self.selection_button = QPushButton("From Selection")
        self.selection_button.setToolTip("Take the bars and pitches selected in the piano roll")
        self.selection_button.clicked.connect(self.use_selection)
        bars = QHBoxLayout()
        bars.addWidget(self.first_bar_box)
        bars.addWidget(QLabel("to"))
        bars.addWidget(self.last_bar_box)
        bars.addWidget(self.selection_button)
        pitches = QHBoxLayout()
        pitches.addWidget(self.lowest_box)
        pitches.addWidget(QLabel("to"))
        pitches.addWidget(self.highest_box)
        form.addRow("Bars:", bars)
        form.addRow("Pitches:", pitches)

    def _build_share(self, form: QFormLayout) -> None:
        self.share_slider = QSlider(Qt.Orientation.Horizontal)
        self.share_slider.setRange(5, 100)
        self.share_slider.setSingleStep(5)
        self.share_slider.setPageStep(10)
        self.share_slider.setValue(25)
        self.share_slider.setToolTip("How much of the song to write again, given the rest")
        self.share_label = QLabel()
        self.share_slider.valueChanged.connect(
            lambda v: self.share_label.setText(f"{v} % of the bars")
        )
        self.share_label.setText(f"{self.share_slider.value()} % of the bars")
        row = QHBoxLayout()
        row.addWidget(self.share_slider, 1)
        row.addWidget(self.share_label)
        form.addRow("Rewrite:", row)

    def _build_melody(self, form: QFormLayout) -> None:
        self.melody_box = QComboBox()
        self.melody_box.setToolTip("Which notes are the melody the model writes voices under")
        labels = {
            TOP_LINE: "The shown song's top line",
            SELECTED_NOTES: "The selected notes",
            MELODY_FILE: "A melody file",
        }
        for source in MELODY_SOURCES:
            self.melody_box.addItem(labels[source], source)
        self.file_button = QPushButton("Choose File…")
        self.file_button.setToolTip("A MIDI file holding one line of melody")
        self.file_button.clicked.connect(self.choose_melody_file)
        self.file_label = QLabel("no file")
        row = QHBoxLayout()
        row.addWidget(self.file_button)
        row.addWidget(self.file_label, 1)
        form.addRow("Melody:", self.melody_box)
        form.addRow("", row)

    # -- what the window shows --------------------------------------------------------------
    def song(self) -> Song | None:
        return self.window_.piano_roll.song

    def source(self) -> GeneratedSong | None:
        shown = getattr(self.window_, "shown_generated", None)
        return shown if shown is not None and shown.song is self.song() else None

    def selected_notes(self) -> list:
        pick = getattr(self.window_.piano_roll, "selected_notes", None)
        return list(pick()) if callable(pick) else []

    def refresh(self) -> None:
        """Follow the window: the model's ability, the song's length, the roll's selection."""
        song = self.song()
        if self.action == REGENERATE:
            bars = max(1, int(-(-song.bars() // 1))) if song is not None and song.notes else 1
            for box in (self.first_bar_box, self.last_bar_box):
                box.setMaximum(bars)
        problem = self._problem()
        if problem or self._problem_shown:  # what a finished job said stays
            self.message.setText(problem or "")
        self._problem_shown = bool(problem)
        self.run_button.setEnabled(not problem and not self.is_running())

    def _problem(self) -> str | None:
        model = getattr(self.window_, "model", None)
        if model is None:
            return "Open or train a model first."
        problem = cowrite.can_regenerate(model)
        if problem:
            return f"This model cannot do it: {problem}"
        if self.action != HARMONISE and (self.song() is None or not self.song().notes):
            return "Show a song with notes first (select one in a list)."
        return None

    @Slot()
    def use_selection(self) -> bool:
        """Bars and pitches from the piano roll's selection; False when nothing is selected."""
        pick = getattr(self.window_.piano_roll, "selected_region", None)
        region = pick() if callable(pick) else None
        if region is None:
            return False
        first, last, low, high = region
        self.first_bar_box.setValue(first)
        self.last_bar_box.setValue(last)
        self.lowest_box.setValue(low)
        self.highest_box.setValue(high)
        return True

    def set_bars(
        self, first: int, last: int, lowest: int | None = None, highest: int | None = None
    ):
        """Bars `first`..`last` (counted from 1) and an optional pitch range, as the boxes take
        them."""
        self.first_bar_box.setValue(first)
        self.last_bar_box.setValue(last)
        self.lowest_box.setValue(ANY_PITCH if lowest is None else lowest)
        self.highest_box.setValue(ANY_PITCH if highest is None else highest)

    @Slot()
    def choose_melody_file(self) -> None:
        start = getattr(getattr(self.window_, "settings", None), "last_folder", "") or ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a melody", start, MELODY_FILTER)
        if path:
            self.set_melody_file(Path(path))

    def set_melody_file(self, path: Path) -> None:
        self.melody_path = Path(path)
        self.file_label.setText(self.melody_path.name)
        self.melody_box.setCurrentIndex(self.melody_box.findData(MELODY_FILE))

    # -- running ----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def ask(self, seed: int, melody: Song | None = None) -> Ask:
        """The request the controls make (`CowriteError` when they make none)."""
        count = self.variations_box.value()
        if self.action == REGENERATE:
            low, high = self.lowest_box.value(), self.highest_box.value()
            region = Region(
                self.first_bar_box.value() - 1,
                self.last_bar_box.value() - 1,
                None if low == ANY_PITCH else low,
                None if high == ANY_PITCH else high,
            )
            return Ask(REGENERATE, count, seed, region=region)
        if self.action == MORE_LIKE_THIS:
            return Ask(MORE_LIKE_THIS, count, seed, share=self.share_slider.value() / 100)
        source = self.melody_box.currentData()
        label = self.melody_path.stem if source == MELODY_FILE and self.melody_path else source
        return Ask(HARMONISE, count, seed, melody=melody, melody_label=label)

    def _melody(self) -> tuple[Song | None, Path | None]:
        """(the melody now, or None with the file to read in the job)."""
        source = self.melody_box.currentData()
        if source == MELODY_FILE:
            if self.melody_path is None:
                raise CowriteError("choose a melody file first")
            return None, self.melody_path
        return cowrite_list.melody_from(source, self.song(), self.selected_notes(), None), None

    @Slot()
    def run(self) -> bool:
        """Check the request, then sample it in a job; False (with the reason shown) when it is
        refused."""
        self.refresh()
        if not self.run_button.isEnabled():
            return False
        seed = self.next_seed if self.next_seed is not None else secrets.randbelow(2**31)
        self.next_seed = None
        try:
            melody, path = self._melody() if self.action == HARMONISE else (None, None)
            ask = self.ask(seed, melody) if path is None else None
        except CowriteError as exc:
            self.message.setText(str(exc))
            return False
        model, song, source = self.window_.model, self.song(), self.source()
        library, count = self.window_.generation.library, self.variations_box.value()

        def work(_progress, _cancel: threading.Event) -> list[GeneratedSong]:
            request = ask
            if request is None:  # the melody file is read here, off the window's thread
                request = Ask(
                    HARMONISE, count, seed, melody=_read_melody(path), melody_label=path.stem
                )
            return cowrite_list.run(model, song, request, source, library)

        name = (source.name if source is not None else (song.title if song else "")) or "song"
        label = ask.label(name) if ask is not None else f"{path.stem} harmonised"
        self.job = run_function(work, "cowrite", self)
        self.job.finished.connect(lambda songs: self._on_made(songs, label))
        self.job.failed.connect(lambda message, _d: self.message.setText(message))
        self.job.done.connect(self.refresh)
        self.message.setText(f"Writing {self.variations_box.value()} variations (seed {seed})…")
        self.run_button.setEnabled(False)
        return True

    def _on_made(self, songs: list[GeneratedSong], base: str) -> None:
        panel = self.window_.generation
        panel.add_songs(songs, base, f"Wrote {len(songs)} variations: {base}.")
        self.message.setText(f"Wrote {len(songs)} variations into the song list.")
        self.songsMade.emit(songs)


def _read_melody(path: Path | None) -> Song:
    """A melody file read in the job (`CowriteError` with one line when it cannot be)."""
    from ..music.midi import MidiImportError, read_midi

    if path is None:
        raise CowriteError("choose a melody file first")
    try:
        return read_midi(path)
    except MidiImportError as exc:
        raise CowriteError(f"{path.name}: {exc}") from None


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    return box


def _pitch_spin(tip: str) -> QSpinBox:
    box = _spin(ANY_PITCH, 127, ANY_PITCH, tip)
    box.setSpecialValueText("any")
    return box
