"""Generation as a musician asks for it: options → a request for the model's kind → songs.

The generation panel (Generate, Again), the window's Hear a sample, A/B of what they made and
`rbm-studio generate` all come through here, so a length in bars, a key, a seed or a primer means
the same thing wherever it is asked for. `plan` is quick and refuses what a request gets wrong
before any sampling, so a window can say so at once; `run` is the slow part, a module-level
function a worker thread calls and the window only reacts to.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import NamedTuple

from ..models import registry
from ..models.base import GenerateRequest
from ..models.document import Model
from ..music.encoding import StateMatrix, decode, head
from ..music.keys import SongsKeys, key_pitch_classes
from ..music.song import Song, bars_to_steps, in_turn
from .library import (
    GeneratedSong,
    LibraryError,
    SongLibrary,
    is_valid_id,
    model_id,
    new_id,
    typed_settings,
)

ANY_KEY = "any"  # no key: every pitch may sound
LIKE_SONGS = "songs"  # the key and range the dataset's songs have
# The options a song records in its settings (what "again" and `describe` read back).
SETTINGS_KEYS = (
    "songs",
    "bars",
    "gibbs_steps",
    "temperature",
    "start",
    "from_bar",
    "key",
    "lowest",
    "highest",
    "tempo",
    "program",
    "form",
)
# What "again" takes from a song: its sound and length, never how many or what it continued.
AGAIN_KEYS = (
    "bars",
    "gibbs_steps",
    "temperature",
    "key",
    "lowest",
    "highest",
    "tempo",
    "program",
    "form",
)

SongsKey = tuple[str, int, int]  # the dataset's best-fitting key name and its pitch range


@dataclass(frozen=True)
class GenerationOptions:
    """What to make, in a musician's terms. `start` is "silence", "noise" or "continue" (the
    primer handed to `plan`, after bar `from_bar` when that is not 0); `steps`, when given,
    counts the length in grid steps instead of `bars` (the CLI's unit); `gibbs_steps`,
    `temperature` and `mode` None take the kind's own; `tempo` None is the songs' typical tempo
    (the one the model keeps), and a continuation always keeps its primer's tempo and metre."""

    songs: int = 3
    bars: float = 16
    gibbs_steps: int | None = None
    temperature: float | None = None
    start: str = "silence"
    from_bar: float = 0
    key: str | None = ANY_KEY
    lowest: int | None = None
    highest: int | None = None
    tempo: float | None = None
    program: int = 0
    steps: int | None = None
    mode: str | None = None
    form: str = "like-songs"  # `music.form.parse_form`: like-songs, loop:N or free

    @classmethod
    def from_settings(cls, values: Mapping) -> GenerationOptions:
        """Options from a settings table (the panel's, a song's): unknown keys are left out."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def settings(self) -> dict:
        """The table a generated song keeps (and the window's settings store)."""
        return {k: getattr(self, k) for k in SETTINGS_KEYS}


class GenerationError(ValueError):
    """A request that cannot be sampled; the message is one line a musician can act on."""


def constraints(
    key: str | None,
    lowest: int | None,
    highest: int | None,
    songs_key: SongsKey | SongsKeys | None = None,
) -> tuple[tuple[int, ...] | None, int | None, int | None]:
    """(allowed pitch classes, lowest, highest) for a key name, "any" or "like the songs" (the
    dataset's key — its commonest, for `SongsKeys` — its range filling in the ends not given).
    A bad key name is a ValueError."""
    key = key or ANY_KEY
    if key == ANY_KEY:
        return None, lowest, highest
    if key == LIKE_SONGS:
        if songs_key is None:
            return None, lowest, highest
        if isinstance(songs_key, SongsKeys):
            songs_key = (songs_key.name, songs_key.lowest, songs_key.highest)
        name, low, high = songs_key
        return (
            key_pitch_classes(name),
            low if lowest is None else lowest,
            high if highest is None else highest,
        )
    return key_pitch_classes(key), lowest, highest


def song_steps(model: Model, bars: float, metre: tuple[int, int] | None = None) -> int:
    """Grid steps of `bars` bars in `metre` (default: the one the model learnt) on the model's
    grid (at least one)."""
    metre = metre or model.time_signature
    return max(1, bars_to_steps(bars, metre, model.encoding.steps_per_beat))


def song_keys(
    options: GenerationOptions, songs_key: SongsKey | SongsKeys | None, seed: int
) -> tuple[str, ...] | None:
    """Each song's key for "Like the songs" over a folder's keys: drawn as often as the folder's
    songs are in it, from the song's own seed (so Again gives the same key); None otherwise."""
    if options.key != LIKE_SONGS or not isinstance(songs_key, SongsKeys):
        return None
    return tuple(songs_key.draw(seed + i) for i in range(options.songs))


@dataclass(frozen=True)
class Plan:
    """One checked generation: what the kind samples and what each song will record."""

    model: Model
    request: GenerateRequest
    options: GenerationOptions
    settings: dict  # the options and the title of the song continued ("" for none)
    model_label: str  # which kind and how long it trained, as a song describes its model
    name: str  # what the songs are called before their number ("generated", "continued X")
    primer_beats: float | None  # how much of each song is the primer, drawn in its own colour
    keys: tuple[str, ...] | None = None  # each song's own key ("Like the songs"), else None


def plan(
    model: Model,
    options: GenerationOptions,
    *,
    seed: int,
    primer: StateMatrix | None = None,
    primer_title: str = "",
    songs_key: SongsKey | SongsKeys | None = None,
) -> Plan:
    """Check `options` against `model` and build its request. Raises `registry.UnknownKindError`
    for a kind this version lacks, `ValueError` for a key it does not know or nothing to
    continue."""
    kind = registry.kind(model.kind)
    pitch_classes, lowest, highest = constraints(
        options.key, options.lowest, options.highest, songs_key
    )
    primer = _cut_primer(model, options, primer)
    # a continuation counts its bars in its primer's metre: it keeps the primer's time signature
    metre = primer.time_signature if primer is not None else None
    steps = options.steps if options.steps is not None else song_steps(model, options.bars, metre)
    request = GenerateRequest(
        songs=options.songs,
        steps=steps,
        gibbs_steps=options.gibbs_steps,
        temperature=options.temperature,
        seed=seed,
        mode=options.mode,
        start="silence" if options.start == "continue" else options.start,
        primer=primer,
        pitch_classes=pitch_classes,
        lowest=lowest,
        highest=highest,
        form=options.form,
    )
    continued = primer is not None
    return Plan(
        model=model,
        request=request,
        options=options,
        settings={**options.settings(), "primer": primer_title if continued else ""},
        model_label=f"{kind.label}, {model.epochs_trained} epochs",
        name=f"continued {primer_title}" if continued else "generated",
        primer_beats=primer.steps / model.encoding.steps_per_beat if continued else None,
        keys=song_keys(options, songs_key, seed),
    )


def _cut_primer(
    model: Model, options: GenerationOptions, primer: StateMatrix | None
) -> StateMatrix | None:
    """The primer a request continues (cut after `from_bar` of its own metre), or None."""
    if options.start != "continue":
        return None
    if primer is None:
        raise GenerationError("no song to continue: choose one first")
    if options.from_bar:
        spb = model.encoding.steps_per_beat
        return head(primer, bars_to_steps(options.from_bar, primer.time_signature, spb))
    return primer


def sample(model: Model, request: GenerateRequest) -> list[StateMatrix]:
    """All of `request`'s songs in one batch from one seed (the CLI's `--songs N --seed S`)."""
    return registry.kind(model.kind).generate(model, request)


def sample_each(
    model: Model, request: GenerateRequest, keys: tuple[str, ...] | None = None
) -> list[StateMatrix]:
    """One request per song, seeds counting up from the request's: every song can be made
    again on its own from the seed it shows. With `keys`, song i keeps to `keys[i]`'s scale."""
    out = []
    for i in range(request.songs):
        one = replace(request, songs=1, seed=request.seed + i)
        if keys is not None:
            one = replace(one, pitch_classes=key_pitch_classes(keys[i]))
        out.append(sample(model, one)[0])
    return out


def run(p: Plan, library: SongLibrary | None = None) -> list[GeneratedSong]:
    """Sample `p`'s songs (slow: a worker calls this) and keep the model that made them in
    `library`, so "again" still works once another model is open. The songs are unnamed; the
    caller numbers them (`name_songs`)."""
    matrices = sample_each(p.model, p.request, p.keys)
    ident = model_id(p.model.params, p.model.kind)
    if library is not None:
        # The songs come first: a library that cannot keep the model (a full disk, a folder
        # refused) says so when the list is saved, and "again" then needs the open model.
        with contextlib.suppress(LibraryError, OSError):
            library.keep_model(p.model, ident)
    songs = []
    for i, matrix in enumerate(matrices):
        generated = GeneratedSong(
            name="",
            song=decode(matrix),
            matrix=matrix,
            seed=p.request.seed + i,
            settings={
                **p.settings,
                "variation": i + 1,
                **({"song_key": p.keys[i]} if p.keys is not None else {}),
            },
            model_id=ident,
            model_label=p.model_label,
            program=int(p.options.program),
            primer_beats=p.primer_beats,
        )
        if p.options.tempo is not None and p.primer_beats is None:
            generated.set_tempo(p.options.tempo)  # a continuation keeps its primer's
        generated.id = new_id(generated)  # before any save lists it
        songs.append(generated)
    return songs


def name_songs(songs: list[GeneratedSong], name: str, counter: int) -> int:
    """Name the songs "`name` N" counting on from `counter`; returns the last number used."""
    for generated in songs:
        counter += 1
        generated.name = f"{name} {counter}"
        generated.song.title = generated.name
    return counter


def song_number(name: str) -> int:
    """The counter at the end of a generated song's name ("generated 12" → 12; else 0)."""
    tail = name.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def silent_note(songs: list[GeneratedSong]) -> str:
    """What to tell a musician when some songs have no note at all ("" when none is silent)."""
    silent = sum(1 for g in songs if not g.song.notes)
    if not silent:
        return ""
    return (
        f" {silent} of them silent: the model finds no note likely enough yet — train "
        "it longer, or make it more adventurous."
    )


def again_settings(song: GeneratedSong) -> dict:
    """The options that make `song` again over the current ones: its own sound and length (its
    settings came from a file: only values of the right type and range are taken), one song,
    from silence."""
    typed = typed_settings(song.settings)
    again = {k: typed[k] for k in AGAIN_KEYS if k in typed}
    if (
        isinstance(song.settings, dict)
        and "tempo" in song.settings
        and song.settings["tempo"] is None
    ):
        again["tempo"] = None  # it was made at the songs' own tempo
    return {**again, "songs": 1, "start": "silence"}


def again_from(song: GeneratedSong, model: Model | None, library: SongLibrary) -> str | None:
    """Where the model that made `song` is: "open" (it is the open model), "library" (kept
    there), or None (gone: the song cannot be made again)."""
    if model is not None and model_id(model.params, model.kind) == song.model_id:
        return "open"
    if is_valid_id(song.model_id) and library.model_path(song.model_id).is_file():
        return "library"
    return None


def phrase(model: Model, bars: float, seed: int) -> Song:
    """A short phrase of `bars` bars with the kind's own sampler settings (Hear a sample)."""
    request = plan(model, GenerationOptions(songs=1, bars=bars), seed=seed).request
    return decode(sample(model, request)[0])


class Comparison(NamedTuple):
    """An A/B pair as one song: the caption says which bars and songs, `b_start` is the beat
    where B begins (marked in the roll)."""

    song: Song
    caption: str
    b_start: float


def compare(
    a: GeneratedSong, b: GeneratedSong, region: tuple[float, float] | None, bars: int = 4
) -> Comparison:
    """A/B: the same beats of two songs one after the other (`region`'s when one is given, else
    the first `bars` bars in `a`'s metre), the caption that says which bars and songs and where
    B starts, and B's first beat."""
    bar = a.song.first_time_signature.beats_per_bar
    start, end = region if region else (0.0, bars * bar)
    first, last = int(start // bar) + 1, int(round(end / bar))
    b_bar = int(round((end - start) / bar)) + 1
    caption = f"A/B, bars {first}–{last}: {a.name} then {b.name} (B from bar {b_bar})"
    return Comparison(in_turn(a.song, b.song, start, end), caption, end - start)


# -- writing songs out ----------------------------------------------------------------------


def safe_stem(name: str) -> str:
    """A file-name stem without characters file systems refuse."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return stem or "song"


def write_song(generated: GeneratedSong, path: Path) -> None:
    """`generated` as a standard MIDI file at `path` through the one writer the CLI uses too
    (`music.parts.write_daw_midi`: melody, chords and bass on named tracks and channels, the
    learned velocities), with its instrument and a text event saying how it was made."""
    from ..music.parts import write_daw_midi

    write_daw_midi(generated.song, path, program=generated.program, text=generated.describe())


def export_songs(songs: list[GeneratedSong], folder: Path) -> list[Path]:
    """Write each song as a standard MIDI file under a unique name (never an overwrite), with
    its tempo, instrument and how it was made; returns the paths written."""
    from ..music.midi import unique_path

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for generated in songs:
        path = unique_path(folder, safe_stem(generated.name))
        # Reserve the name first so two songs with the same name never share a file.
        path.touch(exist_ok=False)
        try:
            write_song(generated, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def song_text(song: GeneratedSong) -> str:
    """How a song reads in a list: star, name, length and seed."""
    star = "★ " if song.starred else ""
    return f"{star}{song.name}  ({song.song.bars():.0f} bars · seed {song.seed})"
