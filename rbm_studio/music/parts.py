"""A song's notes as the parts a producer works with: melody, chords and bass, each on its own
track and channel.

Generated songs come out of one piano roll. The split reads it the way a listener does: the
highest note sounding when a note starts is the tune (the "skyline" melody extraction of
Uitdenbogerd & Zobel, 1999, which the music benchmark's features also take as the melody), the
lowest is the bass, and the notes between are the chords. A note sounding alone is both; it goes
to the part whose last note is nearer in pitch, so a bass line or a tune that thins out to one
voice stays on its track instead of jumping. numpy-free and order-stable.

`daw_midi_bytes` / `write_daw_midi` are the one writer of generated songs as files: the CLI's
`generate`, the window's export and the library's kept copies all go through them, so a song is
the same file wherever it is written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..platform import files
from .midi import song_to_midi_bytes
from .song import Note, Song

PARTS = ("melody", "chords", "bass")
MIDDLE_C = 60


def split_parts(song: Song) -> Song:
    """`song` with every note on the track and channel of its part (`PARTS`: track and channel
    0 melody, 1 chords, 2 bass) and the tracks named; a song without notes is returned as is."""
    if not song.notes:
        return song
    notes = sorted(song.notes, key=lambda n: (n.start, n.pitch))
    last = {"melody": None, "bass": None}
    out: list[Note] = []
    active: list[Note] = []
    following = 0  # notes[:following] have started by the current note's onset
    for note in notes:
        while following < len(notes) and notes[following].start <= note.start:
            active.append(notes[following])
            following += 1
        active = [a for a in active if a.end > note.start]
        pitches = [a.pitch for a in active]
        top, bottom = note.pitch >= max(pitches), note.pitch <= min(pitches)
        if top and bottom:
            part = _nearer(note.pitch, last["melody"], last["bass"])
        elif top:
            part = "melody"
        elif bottom:
            part = "bass"
        else:
            part = "chords"
        if part in last:
            last[part] = note.pitch
        index = PARTS.index(part)
        out.append(replace(note, channel=index, track=index))
    used = sorted({n.track for n in out})
    # the tracks a song uses, in part order, numbered from 0 with no gaps
    renumber = {t: i for i, t in enumerate(used)}
    out = [replace(n, track=renumber[n.track]) for n in out]
    return replace_song(song, out, [PARTS[t] for t in used])


def _nearer(pitch: int, melody: int | None, bass: int | None) -> str:
    if melody is None and bass is None:
        return "melody" if pitch >= MIDDLE_C else "bass"
    if bass is None or (melody is not None and abs(pitch - melody) <= abs(pitch - bass)):
        return "melody"
    return "bass"


def replace_song(song: Song, notes: list[Note], track_names: list[str]) -> Song:
    """A copy of `song` with other notes and track names."""
    return Song(
        notes=notes,
        tempos=list(song.tempos),
        time_signatures=list(song.time_signatures),
        ticks_per_beat=song.ticks_per_beat,
        title=song.title,
        source=song.source,
        track_names=track_names,
    )


def daw_midi_bytes(song: Song, *, program: int = 0, text: str = "") -> bytes:
    """A standard MIDI file of `song` for a DAW: melody, chords and bass on named tracks and
    channels of their own (`split_parts`), every note's velocity kept (a generated song's come
    from the dynamics its model learned), its tempo and metre, and `text` (how it was made)."""
    return song_to_midi_bytes(split_parts(song), program=program, text=text)


def write_daw_midi(song: Song, path: str | Path, *, program: int = 0, text: str = "") -> Path:
    """`daw_midi_bytes` written atomically to `path` (complete or not at all); returns it."""
    return files.atomic_write_bytes(path, daw_midi_bytes(song, program=program, text=text))
