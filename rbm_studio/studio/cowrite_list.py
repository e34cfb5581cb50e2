"""The window's co-writing requests, as the song list needs them: what a musician asked for
(regenerate bars, more like this, harmonise a melody) in one checked value, run by a worker
through `studio.cowrite`, and the songs it makes as song-list entries that say how they were
made and keep the source song's instrument and tempo.

No Qt: the window builds an `Ask` from its controls (so a bad one is refused at once, before any
sampling) and hands `run` to a job.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..models import registry
from ..models.document import Model
from ..music.encoding import encode
from ..music.song import Note, Song
from . import cowrite
from .cowrite import CowriteError, Region
from .library import GeneratedSong, LibraryError, SongLibrary, model_id, new_id

REGENERATE, MORE_LIKE_THIS, HARMONISE = "regenerate", "more like this", "harmonise"
ACTIONS = (REGENERATE, MORE_LIKE_THIS, HARMONISE)
# Where the melody to harmonise comes from.
TOP_LINE, SELECTED_NOTES, MELODY_FILE = "top line", "selected notes", "melody file"
MELODY_SOURCES = (TOP_LINE, SELECTED_NOTES, MELODY_FILE)
MAX_VARIATIONS = 16


@dataclass(frozen=True)
class Ask:
    """One co-writing request. `region` is for regenerate, `share` (0..1] for more like this,
    `melody` (already one line) for harmonise; `count` variations from `seed`."""

    action: str
    count: int = 3
    seed: int = 0
    region: Region | None = None
    share: float = 0.25
    melody: Song | None = None
    melody_label: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise CowriteError(f"unknown co-writing action {self.action!r}")
        if not 1 <= self.count <= MAX_VARIATIONS:
            raise CowriteError(f"ask for 1 to {MAX_VARIATIONS} variations, not {self.count}")
        if self.action == REGENERATE and self.region is None:
            raise CowriteError("choose the bars to regenerate")
        if self.action == MORE_LIKE_THIS and not 0.0 < self.share <= 1.0:
            raise CowriteError(f"the share to rewrite is above 0 and at most 1, not {self.share}")
        if self.action == HARMONISE and (self.melody is None or not self.melody.notes):
            raise CowriteError("there is no melody to harmonise: it has no notes")

    def label(self, song_name: str = "song") -> str:
        """What the made songs are called before their number, for a song called `song_name`
        ("loop 1, bars 2–3 regenerated"; a melody file's songs after the file)."""
        if self.action == REGENERATE and self.region is not None:
            first, last = self.region.first_bar + 1, self.region.last_bar + 1
            bars = f"bar {first}" if first == last else f"bars {first}–{last}"
            return f"{song_name}, {bars} regenerated"
        if self.action == MORE_LIKE_THIS:
            return f"{song_name}, {round(self.share * 100)} % rewritten"
        if self.melody_label in (TOP_LINE, SELECTED_NOTES):
            return f"{song_name}, {self.melody_label} harmonised"
        return f"{self.melody_label or 'melody'} harmonised"

    def settings(self) -> dict:
        """What the made songs record about how they were made."""
        values: dict = {"cowrite": self.action, "variations": self.count}
        if self.region is not None:  # not "bars"/"lowest": those are a generation's options
            values["region"] = [self.region.first_bar + 1, self.region.last_bar + 1]
            values["region_pitches"] = [self.region.lowest, self.region.highest]
        if self.action == MORE_LIKE_THIS:
            values["share"] = self.share
        if self.action == HARMONISE:
            values["melody"] = self.melody_label
        return values


def melody_from(source: str, song: Song | None, selected: list[Note], file_song: Song | None):
    """The melody to harmonise (one line) from a song's top line, the selected notes (their top
    line when they overlap) or a melody file's song; `CowriteError` when there is none."""
    if source == TOP_LINE:
        if song is None or not song.notes:
            raise CowriteError("show a song with notes to harmonise its top line")
        return cowrite.top_line(song)
    if source == SELECTED_NOTES:
        if not selected:
            raise CowriteError("select the notes of the melody in the piano roll first")
        base = song if song is not None else Song()
        picked = Song(
            notes=sorted(selected, key=lambda n: (n.start, n.pitch)),
            tempos=list(base.tempos),
            time_signatures=list(base.time_signatures),
            title=f"{base.title or 'song'} (selected notes)",
        )
        return cowrite.top_line(picked)
    if source == MELODY_FILE:
        if file_song is None or not file_song.notes:
            raise CowriteError("choose a melody file with notes")
        return file_song
    raise CowriteError(f"unknown melody source {source!r}")


def sample(model: Model, song: Song | None, ask: Ask) -> list[Song]:
    """The songs the model makes for `ask` (slow: a worker calls this)."""
    problem = cowrite.can_regenerate(model)
    if problem:
        raise CowriteError(problem)
    if ask.action == HARMONISE:
        assert ask.melody is not None
        return cowrite.harmonise(model, ask.melody, ask.count, ask.seed)
    if song is None or not song.notes:
        raise CowriteError("show a song with notes first")
    if ask.action == REGENERATE:
        assert ask.region is not None
        return cowrite.regenerate(model, song, ask.region, ask.count, ask.seed)
    return cowrite.more_like_this(model, song, ask.share, ask.count, ask.seed)


def run(
    model: Model,
    song: Song | None,
    ask: Ask,
    source: GeneratedSong | None = None,
    library: SongLibrary | None = None,
) -> list[GeneratedSong]:
    """`ask`'s songs as unnamed song-list entries (the panel numbers them), with the source
    song's instrument and tempo; the model is kept in `library` so they say what made them."""
    made = sample(model, song, ask)
    ident = model_id(model.params, model.kind)
    if library is not None:
        with contextlib.suppress(LibraryError, OSError):
            library.keep_model(model, ident)
    entries = []
    for i, new in enumerate(made):
        entry = GeneratedSong(
            name="",
            song=new,
            matrix=encode(new, model.data_encoding),
            seed=ask.seed,
            settings={**ask.settings(), "variation": i + 1, "primer": ""},
            model_id=ident,
            model_label=f"{registry.kind(model.kind).label}, {model.epochs_trained} epochs",
            program=source.program if source is not None else 0,
        )
        entry.id = new_id(entry)
        entries.append(entry)
    return entries


def written_bars(settings: dict) -> tuple[int, int] | None:
    """The bars (first, last; counted from 1) that a song's settings say a co-writing action
    wrote again (`Ask.settings`), or None; settings read back from a library file are
    untrusted, and any other shape is None."""
    region = settings.get("region") if isinstance(settings, dict) else None
    if not isinstance(region, list | tuple) or len(region) != 2:
        return None
    if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in region):
        return None
    return (region[0], region[1]) if region[0] <= region[1] else None
