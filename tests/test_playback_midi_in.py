"""Playing an idea in through a real, private JACK server (dummy driver): a test client plays a
known phrase into the app's virtual input "RBM Studio In" while a take records to the metronome;
the recorded song is the phrase after quantizing. In answer mode the model's answer goes into the
running metronome on a bar line, on time to JACK's own clock.
"""

from __future__ import annotations

import itertools
import time

import pytest
from support.keyboard import play_along

from rbm_studio.music.song import Note
from rbm_studio.playback.jack_server import JackListener
from rbm_studio.playback.midi_input import VIRTUAL_INPUT_NAME, MidiInput, list_inputs
from rbm_studio.playback.player import AUDITION_CHANNEL, MidiPlayer
from rbm_studio.playback.ports import list_outputs
from rbm_studio.playback.scheduling import DRUM_CHANNEL
from rbm_studio.studio import recording as R
from rbm_studio.studio.live_take import LiveTake
from rbm_studio.studio.recording import TakePlan

pytestmark = pytest.mark.jack

TOLERANCE_S = 0.005
_names = itertools.count()
# A phrase on the 16th-note grid: a re-struck pitch, a chord, a rest and a held last note.
PHRASE = [(60, 0.0, 0.5), (62, 0.5, 0.75), (62, 0.75, 1.0), (64, 1.0, 2.0), (67, 1.0, 2.0)]
PHRASE += [(69, 2.5, 3.25), (67, 3.25, 4.0), (65, 4.0, 5.5), (64, 6.0, 8.0)]


def phrase_notes(offset: float = 0.0) -> list[Note]:
    return [Note(p, s + offset, e + offset, 70 + i) for i, (p, s, e) in enumerate(PHRASE)]


@pytest.fixture
def rig(jack_server):
    """The app's side (metronome player, virtual input) and a JACK listener hearing the player."""
    n = next(_names)
    listener = JackListener(client_name=f"rbm-ears-{n}")
    player = MidiPlayer(client_name=f"rbm-take-{n}")
    midi_in = MidiInput(client_name=f"rbm-app-in-{n}")
    client = MidiPlayer(client_name=f"rbm-keyboard-{n}")
    assert player.open("jack", listener.port_name), player.status.message
    assert midi_in.open("jack", virtual=True), midi_in.status.message
    yield listener, player, midi_in, client
    for thing in (client, player, midi_in, listener):
        thing.close()


def connect_keyboard(client: MidiPlayer, midi_in: MidiInput) -> None:
    """The test keyboard finds the app's input by name, as any program would."""
    jack = next(s for s in list_outputs(["jack"]))
    assert any(midi_in.client_name in p and VIRTUAL_INPUT_NAME in p for p in jack.ports)
    assert client.open("jack", f"{midi_in.client_name}:{VIRTUAL_INPUT_NAME}"), client.status.message


def test_a_phrase_played_into_the_virtual_input_is_recorded_as_written(rig):
    listener, player, midi_in, client = rig
    plan = TakePlan(bars=2, count_in=1, bpm=200, steps_per_beat=4)
    connect_keyboard(client, midi_in)
    take = LiveTake(player, midi_in, plan)
    assert take.start()
    # the keyboard plays the phrase after the count-in, in time with the metronome
    play_along(client, take, phrase_notes())
    assert player.wait(timeout=30) and take.finished
    recorded = take.recorded()
    expected = R.quantize(phrase_notes(plan.start), plan)
    assert [(n.pitch, n.start, n.end, n.velocity) for n in recorded.notes] == [
        (n.pitch, n.start, n.end, n.velocity) for n in expected.notes
    ]
    assert recorded.first_bpm == plan.bpm
    listener.settle()
    heard = listener.messages()
    clicks = [m for _, m in heard if m[0] == 0x90 | DRUM_CHANNEL and m[2] > 0]
    assert len(clicks) == (plan.count_in + plan.bars) * 4
    # what the keyboard played was heard through the output while it recorded
    echoed = [m[1] for _, m in heard if m[0] == 0x90 | AUDITION_CHANNEL and m[2] > 0]
    assert echoed == [p for p, _s, _e in PHRASE]


def test_the_answer_comes_in_on_a_bar_line_in_time_with_the_clicks(rig):
    listener, player, midi_in, _client = rig
    plan = TakePlan(bars=1, count_in=1, bpm=200, steps_per_beat=4)
    take = LiveTake(player, midi_in, plan, answer=True, echo=False)
    assert take.start()
    while take.beat < plan.end - 1.0:  # the model would be answering here, in a worker
        time.sleep(0.01)
    continued = R.quantize([], plan)
    continued.notes = [Note(60, 0.0, 4.0)] + [Note(72, 4.0, 5.0, 100), Note(76, 6.0, 8.0, 101)]
    start = take.answer_with(continued)
    assert start % plan.bar_beats == 0 and start >= plan.end
    assert player.wait(timeout=30)
    listener.settle()
    heard = listener.messages()
    first_click = next(t for t, m in heard if m[0] == 0x90 | DRUM_CHANNEL and m[2] > 0)
    onsets = {m[1]: t - first_click for t, m in heard if m[0] == 0x90 and m[2] > 0}
    beat_s = 60.0 / plan.bpm
    assert abs(onsets[72] - start * beat_s) < TOLERANCE_S
    assert abs(onsets[76] - (start + 2.0) * beat_s) < TOLERANCE_S
    clicks = [t for t, m in heard if m[0] == 0x90 | DRUM_CHANNEL and m[2] > 0]
    # the metronome never stopped: one click a beat through the swap, up to the answer's end
    assert len(clicks) == int(start + plan.length)
    gaps = [b - a for a, b in itertools.pairwise(clicks)]
    assert max(abs(g - beat_s) for g in gaps) < TOLERANCE_S


def test_inputs_are_listed_and_a_missing_one_is_refused_in_one_line(rig):
    _listener, _player, midi_in, _client = rig
    statuses = list_inputs(["jack"])
    assert statuses[0].available
    # our own virtual input is not offered as something to record from
    assert not any(VIRTUAL_INPUT_NAME in p for p in statuses[0].ports)
    other = MidiInput(client_name="rbm-other-in")
    assert not other.open("jack", "no such keyboard")
    assert "no such keyboard" in other.status.message and "\n" not in other.status.message
    other.close()
    midi_in.close()
    assert not midi_in.is_open and not midi_in.status.ready
