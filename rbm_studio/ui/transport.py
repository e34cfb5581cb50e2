"""Transport toolbar: play/pause, stop, loop, tempo, instrument, output chooser, Export WAV.

The `MidiPlayer` runs its own thread; its callbacks become Qt signals (`PlayerBridge`), so the
piano-roll playhead moves on the GUI thread. Port discovery and opening talk to ALSA/JACK, so they
run as background jobs; the GUI never waits on them. The built-in synth (a SoundFont on the
default audio device) is listed first and chosen unless the person saved another output; ports
named "Through" are never chosen for them. With nothing that can sound, Play is disabled and one
plain sentence says what to do, with the details behind its "How?" link.

The bar binds controls and draws; the arithmetic is elsewhere and Qt-free: positions and tempo in
`playback.clock`, which output to open in `playback.output_choice`, where the playhead is in view
in `studio.roll`. Finding and opening outputs (`transport_outputs`) and the SoundFont and WAV
export (`transport_sound`) are the bar's mixins, each in its own module.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..music.song import Song
from ..playback.audio import backends_from_env
from ..playback.clock import position_text
from ..playback.gm_programs import GM_PROGRAMS
from ..playback.output_choice import NO_SOUND_TEXT, OutputChoice, output_choices
from ..playback.player import MidiPlayer
from ..playback.ports import ApiStatus
from .settings import AppSettings
from .transport_outputs import OutputChooser
from .transport_sound import SOUNDFONT_KEY, SoundFontAndExport
from .workers import Job, finish_job

__all__ = [
    "NO_SOUND_TEXT",
    "SOUNDFONT_KEY",
    "PlayerBridge",
    "TransportBar",
    "install_transport",
    "output_choices",
    "position_text",
]

SONG_TEMPO = 19  # the tempo spin box's minimum, shown as "Song": play at the song's own tempo
PROGRAM_KEY = "playback/program"


class PlayerBridge(QObject):
    """Player callbacks (any thread) → signals delivered on the GUI thread."""

    positionChanged = Signal(float)
    stateChanged = Signal(str)
    statusChanged = Signal(object)


class TransportBar(OutputChooser, SoundFontAndExport, QWidget):
    """See the module docstring. `player` and `apis` are injectable for tests."""

    outputsRefreshed = Signal()
    outputOpened = Signal(bool)
    wavExported = Signal(object)  # Path
    wavFailed = Signal(str)
    soundfontChecked = Signal(bool, str)  # used?, the one-line reason when not

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        apis: list[str] | None = None,
        audio_backends: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("transportBar")
        self.settings = settings or AppSettings()
        self.apis = apis
        self.bridge = PlayerBridge(self)
        self.soundfont_notice = self._check_remembered_soundfont()
        self.soundfont_job: Job | None = None
        self.player = MidiPlayer(
            on_position=self.bridge.positionChanged.emit,
            on_state=self.bridge.stateChanged.emit,
            on_status=self.bridge.statusChanged.emit,
            soundfont=self.soundfont(),
            audio_backends=audio_backends if audio_backends is not None else backends_from_env(),
        )
        self.piano_roll = None
        self.song: Song | None = None
        self.statuses: list[ApiStatus] = []
        self.choices: list[OutputChoice] = []
        self.refresh_job: Job | None = None
        self.open_job: Job | None = None
        self.export_job: Job | None = None
        self._busy = False  # discovering or opening ports
        self._shut_down = False  # the app is closing: no output opens any more
        self._open_key: str | None = None  # settings key of the output last opened
        self._fallbacks: list[OutputChoice] = []  # tried in turn when the default fails to open
        self._help_details = ""
        self._list_error = ""
        self.help_box: QMessageBox | None = None
        self._moving_playhead = False
        self._scroll_pending = False
        self._build()
        self.bridge.positionChanged.connect(self._on_position)
        self.bridge.stateChanged.connect(self._on_state)
        self.bridge.statusChanged.connect(self._on_status)
        self._update_enabled()
        self.refresh_outputs()

    @property
    def busy(self) -> bool:
        """Looking for or opening an output in the background."""
        return self._busy

    @property
    def ready(self) -> bool:
        """An output is open and nothing is pending: Play works when there is a song."""
        return self.player.status.ready and not self._busy

    # -- construction -----------------------------------------------------------------------
    def _button(self, text: str, tip: str, *, checkable: bool = False) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setStatusTip(tip)
        button.setCheckable(checkable)
        button.setAutoRaise(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _build(self) -> None:
        self._build_play_controls()
        self._build_tempo_and_instrument()
        self._build_outputs()
        self._build_labels()
        self._build_layout()

    def _build_play_controls(self) -> None:
        self.play_action = QAction("Play / Pause", self)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.play_action.setToolTip("Play or pause the song in the piano roll (Space)")
        self.play_action.triggered.connect(self.toggle_play)
        self.play_button = self._button("▶ Play", "Play or pause the song (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = self._button("■ Stop", "Stop and go back to the start")
        self.stop_button.clicked.connect(self.stop)
        self.loop_button = self._button(
            "⟲ Loop",
            "Repeat the whole song, or the region dragged on the piano roll's ruler",
            checkable=True,
        )
        self.loop_button.toggled.connect(self._on_loop_toggled)
        self.follow_button = self._button(
            "Follow",
            "Scroll the piano roll with the playhead (turns off when you scroll; click to resume)",
            checkable=True,
        )
        self.follow_button.setChecked(True)
        self.follow_button.toggled.connect(self._on_follow_toggled)

    def _build_tempo_and_instrument(self) -> None:
        self.tempo_spin = QSpinBox(self)
        self.tempo_spin.setRange(SONG_TEMPO, 400)
        self.tempo_spin.setSpecialValueText("Song")
        self.tempo_spin.setSuffix(" BPM")
        self.tempo_spin.setValue(SONG_TEMPO)
        self.tempo_spin.setToolTip("Playback tempo; “Song” plays at the song's own tempo")
        self.tempo_spin.valueChanged.connect(self._on_tempo_changed)
        self.program_combo = QComboBox(self)
        for number, name in enumerate(GM_PROGRAMS):
            self.program_combo.addItem(f"{number + 1:3}  {name}", number)
        self.program_combo.setToolTip("General MIDI instrument the synth plays the song with")
        program = self._int_setting(PROGRAM_KEY, 0)
        self.program_combo.setCurrentIndex(program)
        self.player.set_program(program)
        self.program_combo.currentIndexChanged.connect(self._on_program_changed)
        self.program_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def _build_outputs(self) -> None:
        self.output_combo = QComboBox(self)
        self.output_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.output_combo.setMinimumContentsLength(16)
        self.output_combo.setToolTip(
            "Output: the built-in synth (your speakers), a synth's MIDI port, or a virtual port"
        )
        self.output_combo.activated.connect(self._on_output_chosen)
        self.refresh_button = self._button("⟳ Refresh", "Look for audio and MIDI outputs again")
        self.refresh_button.clicked.connect(self.refresh_outputs)
        self.soundfont_button = self._button(
            "SoundFont…", "Choose the .sf2/.sf3 SoundFont the built-in synth and Export WAV use"
        )
        self.soundfont_button.clicked.connect(self.choose_soundfont)
        self.export_wav_button = self._button(
            "Export WAV…", "Render the song to a WAV file with the built-in synth's SoundFont"
        )
        self.export_wav_button.clicked.connect(self.choose_and_export_wav)

    def _build_labels(self) -> None:
        self.position_label = QLabel(position_text(None, 0.0, None), self)
        self.position_label.setToolTip(
            "Playhead position: bar:beat · minutes:seconds at the playback tempo"
        )
        self.position_label.setMinimumWidth(
            self.position_label.fontMetrics().horizontalAdvance("888:8 · 88:88") + 8
        )
        self.message = QLabel(self)
        self.message.setObjectName("transportMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.message.setOpenExternalLinks(False)
        self.message.linkActivated.connect(self.show_output_help)
        self.message.setStyleSheet("QLabel#transportMessage { color: palette(highlight); }")
        self.message.hide()

    def _build_layout(self) -> None:
        # Two groups side by side; on a narrow window the outputs move under the controls
        # (`resizeEvent`), so the bar never forces the window wider than the screen.
        self.controls_group = self._group(
            self.play_button,
            self.stop_button,
            self.loop_button,
            self.position_label,
            QLabel("Tempo", self),
            self.tempo_spin,
            self.follow_button,
            QLabel("Instrument", self),
            self.program_combo,
        )
        self.outputs_group = self._group(
            QLabel("Output", self),
            self.output_combo,
            self.refresh_button,
            self.soundfont_button,
            self.export_wav_button,
        )
        self.rows = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(6)
        self.rows.addWidget(self.controls_group)
        self.rows.addWidget(self.outputs_group)
        self.rows.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(self.rows)
        layout.addWidget(self.message)

    def _group(self, *widgets: QWidget) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            row.addWidget(widget)
        return group

    @property
    def stacked(self) -> bool:
        """True when the outputs sit under the controls (a narrow window)."""
        return self.rows.direction() == QBoxLayout.Direction.TopToBottom

    def _side_by_side_width(self) -> int:
        margins = self.layout().contentsMargins()
        return (
            self.controls_group.sizeHint().width()
            + self.outputs_group.sizeHint().width()
            + self.rows.spacing()
            + margins.left()
            + margins.right()
        )

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        margins = self.layout().contentsMargins()
        widest = max(
            self.controls_group.minimumSizeHint().width(),
            self.outputs_group.minimumSizeHint().width(),
        )
        return QSize(widest + margins.left() + margins.right(), hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        direction = (
            QBoxLayout.Direction.LeftToRight
            if event.size().width() >= self._side_by_side_width()
            else QBoxLayout.Direction.TopToBottom
        )
        if direction != self.rows.direction():
            self.rows.setDirection(direction)
            self.updateGeometry()

    def _int_setting(self, key: str, default: int) -> int:
        try:
            return int(self.settings.qsettings.value(key, default))
        except (TypeError, ValueError):
            return default

    # -- wiring -----------------------------------------------------------------------------
    def attach_to_window(self, window: QWidget) -> None:
        """Space toggles play anywhere in `window`; closing the window silences the synth and
        releases the MIDI output."""
        window.addAction(self.play_action)
        window.installEventFilter(self)

    def attach_piano_roll(self, piano_roll) -> None:
        """Drive `piano_roll`'s playhead, audition its key clicks, seek where its ruler is
        clicked and loop the region dragged on it."""
        self.piano_roll = piano_roll
        piano_roll.keyClicked.connect(self.audition)
        piano_roll.seekRequested.connect(self.seek)
        piano_roll.loopRegionChanged.connect(self.set_loop_region)
        piano_roll.loopRegionCleared.connect(lambda: self.loop_button.setChecked(False))
        view = piano_roll.view
        view.horizontalScrollBar().valueChanged.connect(self._on_user_scroll)
        view.zoomChanged.connect(self._on_zoom)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            # The window closing ends the app: silence the synth and end the player thread now
            # rather than at aboutToQuit (which never comes when windows are built and closed
            # one after another, as in the tests).
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Silence and release the output (the app is closing). Looking for outputs and opening
        one finish first, and none starts after: an audio device opened after the player closed
        would outlive the window, its thread still starting while the app tears down."""
        self._shut_down = True
        for job in (self.refresh_job, self.open_job):
            finish_job(job)
        self.player.close()

    # -- song -------------------------------------------------------------------------------
    @Slot(object)
    def set_song(self, song: Song | None) -> None:
        """Make `song` the one Play plays (stops the previous one, silencing it)."""
        self.song = song
        self.player.load(song)
        self.follow_button.setChecked(True)
        if song is not None:
            self.tempo_spin.setToolTip(
                f"Playback tempo; “Song” plays at the song's own {song.first_bpm:.0f} BPM"
            )
        self._update_enabled()

    # -- transport --------------------------------------------------------------------------
    @Slot()
    def toggle_play(self) -> None:
        if not self.play_button.isEnabled():
            return
        if self.player.state != "playing":
            self.follow_button.setChecked(True)
        self.player.toggle()

    def play_from_start(self) -> None:
        """Play the song just shown from its start (a training sample, an A/B pair)."""
        if self.play_button.isEnabled() and self.player.state != "playing":
            self.follow_button.setChecked(True)
            self.player.toggle()

    @Slot()
    def stop(self) -> None:
        self.player.stop()

    @Slot(float)
    def seek(self, beat: float) -> None:
        """Move the playhead to `beat` (playing goes on from there)."""
        self.player.seek(beat)

    @Slot(float, float)
    def set_loop_region(self, start: float, end: float) -> None:
        """Loop `start`..`end` beats: turns Loop on and shows the region on the piano roll."""
        self.loop_button.blockSignals(True)
        self.loop_button.setChecked(True)
        self.loop_button.blockSignals(False)
        self.player.set_loop(True, start, end)
        if self.piano_roll is not None:
            self.piano_roll.set_loop_region(start, end)

    def _on_loop_toggled(self, checked: bool) -> None:
        if checked:
            self.player.set_loop(True)  # the whole song, until a region is dragged
        else:
            self.player.set_loop(False)
            if self.piano_roll is not None:
                self.piano_roll.set_loop_region(None)

    @Slot(int)
    def audition(self, pitch: int) -> None:
        """Clicking a piano key: hear that pitch (when an output is open)."""
        self.player.audition(pitch)

    def _on_tempo_changed(self, value: int) -> None:
        self.player.set_tempo(None if value <= SONG_TEMPO else float(value))
        self._show_position(self.player.position)  # the same bar, another time

    def _on_program_changed(self, index: int) -> None:
        program = int(self.program_combo.itemData(index))
        self.player.set_program(program)
        self.settings.qsettings.setValue(PROGRAM_KEY, program)

    # -- playhead ---------------------------------------------------------------------------
    @Slot(float)
    def _on_position(self, beat: float) -> None:
        self._show_position(beat)
        if self.piano_roll is None:
            return
        playing = self.player.state == "playing"
        following = self.follow_button.isChecked()
        # Following resumes by itself when the playhead enters the part being looked at.
        if playing and not following and self.piano_roll.view.model.follow_resumes(beat):
            self.follow_button.setChecked(True)
        self._moving_playhead = True
        try:
            shown = beat if (playing or beat > 0) else None
            self.piano_roll.set_playhead(shown, follow=self.follow_button.isChecked())
        finally:
            self._moving_playhead = False

    def _show_position(self, beat: float) -> None:
        self.position_label.setText(position_text(self.song, beat, self.player.tempo_override))

    def _on_user_scroll(self, _value: int) -> None:
        if self._moving_playhead or self.player.state != "playing":
            return
        # A zoom also moves the scroll bar; it announces itself with zoomChanged right after,
        # so decide once the current event is done.
        self._scroll_pending = True
        QTimer.singleShot(0, self._settle_user_scroll)

    def _on_zoom(self) -> None:
        self._scroll_pending = False

    def _settle_user_scroll(self) -> None:
        if self._scroll_pending and self.player.state == "playing":
            self.follow_button.setChecked(False)
        self._scroll_pending = False

    def _on_follow_toggled(self, checked: bool) -> None:
        if checked and self.piano_roll is not None and self.player.state == "playing":
            self._moving_playhead = True
            try:
                self.piano_roll.set_playhead(self.player.position, follow=True)
            finally:
                self._moving_playhead = False

    @Slot(str)
    def _on_state(self, state: str) -> None:
        self.play_button.setText("❚❚ Pause" if state == "playing" else "▶ Play")
        if state == "stopped" and self.piano_roll is not None:
            self.piano_roll.set_playhead(None, follow=False)

    def _update_enabled(self) -> None:
        ready = self.ready
        has_song = self.song is not None and bool(self.song.notes)
        self.play_button.setEnabled(ready and has_song)
        self.play_action.setEnabled(ready and has_song)
        self.stop_button.setEnabled(ready and has_song)
        self.refresh_button.setEnabled(not self._busy)
        self.output_combo.setEnabled(not self._busy)
        checking = self.soundfont_job is not None and not self.soundfont_job.is_done
        self.soundfont_button.setEnabled(not self._busy and not checking)
        exporting = self.export_job is not None and not self.export_job.is_done
        self.export_wav_button.setEnabled(has_song and not exporting)


def install_transport(window, *, apis: list[str] | None = None) -> TransportBar:
    """Put a transport on `window` (a MainWindow): plays the song it shows, drives its playhead.
    `apis` limits the MIDI APIs searched (default: every one this rtmidi build has)."""
    transport = TransportBar(window.settings, apis=apis, parent=window)
    transport.attach_piano_roll(window.piano_roll)
    transport.attach_to_window(window)
    window.songShown.connect(transport.set_song)
    transport.wavExported.connect(lambda path: window.show_status(f"Exported {path}"))
    transport.wavFailed.connect(lambda message: window.show_status(f"WAV export failed: {message}"))
    transport.soundfontChecked.connect(
        lambda used, message: None if used else window.show_status(message)
    )
    if transport.soundfont_notice:  # the remembered SoundFont was refused at start-up
        window.show_status(transport.soundfont_notice)
    window.add_transport(transport)  # its own toolbar row under the main toolbar
    if window.current_song() is not None:
        transport.set_song(window.current_song())
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(transport.shutdown)
    return transport
