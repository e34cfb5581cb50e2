"""A take as it runs: the count-in and metronome on a `MidiPlayer`, a `MidiInput` whose messages
are stamped with the beat the player is at, and, in answer mode, the model's answer dropped into
the running metronome on a bar line.

The player's clock is the one clock: the musician plays to the clicks they hear, and each note
is stamped with the beat being heard when it arrives, so quantizing needs no second timeline.
No Qt and no thread of its own: the window polls `beat`/`finished` and runs the model's answer
in a worker, then hands it to `answer_with`.
"""

from __future__ import annotations

import math

from ..models.document import Model
from ..music.encoding import Encoding, decode
from ..music.song import Song
from ..playback.midi_input import MidiInput
from ..playback.player import MidiPlayer
from . import generation
from .generation import GenerationOptions
from .library import GeneratedSong, new_id
from .recording import (
    Stamped,
    TakePlan,
    answer_notes,
    answer_start,
    metronome,
    take_matrix,
    take_song,
    with_answer,
)

PLAYED_LABEL = "played in"


def as_generated(
    song: Song, plan: TakePlan, encoding: Encoding, name: str, *, bars: int | None = None
) -> GeneratedSong:
    """A recorded take (`bars` bars of it, default the take's) as a song of the song list, on
    `encoding`'s grid (the open model's), so it can be continued, harmonised or regenerated
    like any generated song."""
    song.title = name
    entry = GeneratedSong(
        name=name,
        song=song,
        matrix=take_matrix(song, plan, encoding, bars),
        settings={"bars": plan.bars, "tempo": float(plan.bpm)},
        model_label=PLAYED_LABEL,
    )
    entry.id = new_id(entry)
    return entry


def answer_for(model: Model, take: Song, plan: TakePlan, seed: int) -> Song:
    """The model's continuation of `take` by as many bars (slow: a worker calls this); the
    take comes back in front, as a kind returns a primer with what it added."""
    options = GenerationOptions(songs=1, bars=plan.bars, start="continue", tempo=plan.bpm)
    primer = take_matrix(take, plan, model.encoding)
    request = generation.plan(model, options, seed=seed, primer=primer).request
    song = decode(generation.sample(model, request)[0])
    song.tempos = take.tempos[:1]
    return song


class LiveTake:
    """One take on `player` (already open on an output) from `midi_in` (already open)."""

    def __init__(
        self,
        player: MidiPlayer,
        midi_in: MidiInput,
        plan: TakePlan,
        *,
        answer: bool = False,
        echo: bool = True,
    ) -> None:
        self.player = player
        self.midi_in = midi_in
        self.plan = plan
        self.answer = answer
        self.echo = echo
        self.answer_beat: float | None = None  # where the answer starts once it is scheduled
        self._started = False

    def _stamp(self) -> float:
        """The beat being heard; once the metronome has stopped, after everything (a key let go
        after the take ends still ends its note, at the take's end)."""
        if self.player.state != "playing":
            return math.inf
        return self.player.position

    def _heard(self, _beat: float, message: tuple[int, ...]) -> None:
        if self.echo:
            self.player.thru(message)

    def start(self) -> bool:
        """Count in and start the metronome; False when the player cannot play (no output)."""
        self.midi_in.clock = self._stamp
        self.midi_in.rate = self.plan.bpm / 60.0  # the metronome plays at the take's tempo
        self.midi_in.on_message = self._heard
        self.midi_in.clear()
        self.answer_beat = None
        self.player.set_loop(False)
        self.player.set_tempo(None)
        self.player.load(metronome(self.plan, answer=self.answer))
        self._started = self.player.play()
        return self._started

    @property
    def beat(self) -> float:
        """The beat being heard on the take's clock (the count-in's first beat is 0)."""
        return self.player.position

    @property
    def finished(self) -> bool:
        """The metronome (and any answer) has played to its end, or the take was stopped."""
        return self._started and self.player.state != "playing"

    def status_text(self) -> str:
        if self.finished:
            return "done"
        beat = self.beat
        if self.answer_beat is not None and beat >= self.plan.end:
            return "the model answers" if beat >= self.answer_beat else "answer coming"
        return self.plan.beat_text(beat)

    def events(self) -> list[Stamped]:
        """Every message played since `start`, stamped in beats."""
        return self.midi_in.messages()

    def recorded(self, title: str = "played in") -> Song:
        """The take so far, quantized to the plan's grid."""
        return take_song(self.events(), self.plan, title)

    def answer_with(self, continued: Song) -> float:
        """Play the model's answer (`continued`: the take and the model's bars after it) from
        the first bar line far enough ahead, without stopping the clock; returns that beat."""
        start = answer_start(self.player.position, self.plan)
        song = with_answer(self.plan, answer_notes(continued, self.plan, start), start)
        if self.player.state == "playing":
            self.player.replace(song)
        else:  # the metronome ran out before the answer came: play it now, from its bar
            self.player.load(song)
            self.player.seek(start)
            self.player.play()
        self.answer_beat = start
        return start

    def stop(self) -> None:
        """Stop the clicks (and the answer); what was played stays in `events`."""
        self.player.stop()
        self.midi_in.on_message = None
