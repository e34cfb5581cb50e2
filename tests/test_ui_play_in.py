"""Play an Idea In in the window, through a private JACK server: the dialog finds the virtual
input "RBM Studio In", counts in on the metronome, a test keyboard plays a phrase into it, the
take lands in the song list quantized to the model's grid, and the model's answer follows it as a
second song whose first bars are the take."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from support.keyboard import play_along
from support.tiny_model import train

from rbm_studio.music.song import Note
from rbm_studio.playback.jack_server import JackListener
from rbm_studio.playback.midi_input import VIRTUAL_INPUT_NAME
from rbm_studio.playback.player import MidiPlayer
from rbm_studio.studio import recording as R
from rbm_studio.ui.cowrite_actions import play_in
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

pytestmark = pytest.mark.jack

# Two beats of melody on the model's grid (half beats), then a held chord tone.
PHRASE = [(60, 0.0, 0.5), (64, 0.5, 1.0), (67, 1.0, 2.0), (72, 2.0, 4.0)]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("songs"))


@pytest.fixture
def ports(jack_server):
    listener = JackListener(client_name="rbm-ui-ears")
    player = MidiPlayer(client_name="rbm-ui-clicks")
    keyboard = MidiPlayer(client_name="rbm-ui-keyboard")
    assert player.open("jack", listener.port_name), player.status.message
    yield listener, player, keyboard
    for thing in (keyboard, player, listener):
        thing.close()


def make_window(qtbot, tmp_path: Path, model):
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.set_model(model, path=None, modified=False)
    return window


def test_a_phrase_played_in_becomes_a_song_and_the_model_answers_it(
    qtbot, tmp_path, model, ports, artifacts_dir
):
    listener, player, keyboard = ports
    window = make_window(qtbot, tmp_path, model)
    assert window.write_menu.title() == "&Write" and window.play_in_action.shortcut().toString()
    dialog = play_in(window, player=player, apis=["jack"])
    qtbot.waitUntil(lambda: dialog.refresh_job.is_done and dialog.input_combo.count() > 0)
    assert dialog.choose_input("jack|virtual")
    assert VIRTUAL_INPUT_NAME in dialog.input_combo.currentText()
    dialog.bars_box.setValue(1)
    dialog.count_in_box.setValue(1)
    dialog.tempo_box.setValue(120)
    dialog.answer_box.setChecked(True)
    before = window.generation.list.count()
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.take is not None, timeout=10_000)
    take = dialog.take
    assert take.plan.steps_per_beat == model.encoding.steps_per_beat
    # the keyboard finds the app's input by name and plays the phrase from the take's first bar
    assert keyboard.open("jack", f"{dialog.midi_in.client_name}:{VIRTUAL_INPUT_NAME}")
    play_along(keyboard, take, [Note(p, s, e, 90) for p, s, e in PHRASE])
    qtbot.waitUntil(lambda: dialog.is_busy() and "bar" in dialog.status.text(), timeout=10_000)
    window.grab().save(str(artifacts_dir / "play_in_recording.png"))
    dialog.grab().save(str(artifacts_dir / "play_in_dialog.png"))
    qtbot.waitUntil(lambda: window.generation.list.count() == before + 2, timeout=60_000)
    songs = window.generation.list.songs()
    played, answer = songs[before], songs[before + 1]
    assert played.name.startswith("played in") and answer.name == f"{played.name}, answered"
    expected = [(p, s, e) for p, s, e in PHRASE]
    assert [(n.pitch, n.start, n.end) for n in played.song.notes] == expected
    assert played.matrix.steps == take.plan.steps and played.song.first_bpm == 120
    # the answer song: the take, then the model's bar; the model's bar was played on the clock
    assert [(n.pitch, n.start, n.end) for n in answer.song.notes if n.start < 4.0] == expected
    assert answer.primer_beats == 4.0 and answer.matrix.steps == 2 * take.plan.steps
    heard = [m[1] for _, m in listener.messages() if m[0] == 0x90 and m[2] > 0]
    answered = [n.pitch for n in answer.song.notes if n.start >= 4.0]
    assert heard == answered
    assert dialog.answer_box.isChecked() and dialog.continue_button.isEnabled()
    assert window.piano_roll.song is played.song  # the take is shown, ready to work on
    window.fit_action.trigger()
    window.grab().save(str(artifacts_dir / "play_in_recorded.png"))
    # Continue It: the generation panel continues the take, with its own options
    window.generation.songs_box.setValue(1)
    window.generation.bars_box.setValue(2)
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.generation.list.count() > before + 2, timeout=60_000)
    continued = window.generation.list.songs()[before + 2]
    first_bar = [(n.pitch, n.start, n.end) for n in continued.song.notes if n.start < 4.0]
    assert first_bar == expected and continued.settings["primer"] == played.name
    dialog.close()
    assert not dialog.midi_in.is_open
    # closed while Record is still opening the input: the closing waits for the opening, no
    # take starts afterwards, and the input stays closed
    dialog = play_in(window, player=player, apis=["jack"])
    last = dialog.take
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert dialog.open_job is not None and not dialog.open_job.is_done
    dialog.close()
    qtbot.wait(300)
    assert dialog.take is last and not dialog.midi_in.is_open and not dialog.is_busy()
    assert R.TakePlan().bars == 4  # the dialog's default matches the plan's
