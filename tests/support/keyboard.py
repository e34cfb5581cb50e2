"""A test keyboard: a `MidiPlayer` on the private JACK server that plays a phrase into the app's
input in time with a running take, as a musician playing along to the clicks would."""

from __future__ import annotations

import time

from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.player import START_LEAD_S, MidiPlayer
from rbm_studio.studio.live_take import LiveTake

SYNC_S = 0.002  # the clocks are read and the keyboard moved within this, or it is done again


def play_along(keyboard: MidiPlayer, take: LiveTake, phrase: list[Note]) -> None:
    """Play `phrase` (beats from the take's first bar) on `keyboard` so each note falls on its
    beat of the take's clock. The keyboard starts, then is moved onto the take's beat; a thread
    held up between reading one clock and moving the other would misplace the whole phrase, so
    that step is timed and repeated until it took no time."""
    plan = take.plan
    notes = [Note(n.pitch, n.start + plan.start, n.end + plan.start, n.velocity) for n in phrase]
    keyboard.load(Song(notes=notes, tempos=[TempoChange(0.0, plan.bpm)]))
    assert keyboard.play()
    lead = START_LEAD_S * plan.bpm / 60.0
    for _ in range(100):
        before = time.perf_counter()
        keyboard.seek(take.beat + lead)
        if time.perf_counter() - before < SYNC_S:
            break
    assert take.beat < plan.start - lead, "the take's count-in was over before the keyboard began"
