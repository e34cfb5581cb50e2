"""Keys and scales a musician names ("D minor"), as pitch classes — the vocabulary of the
generation panel, `generate --key` and the music benchmark's in-key row. numpy only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .encoding import StateMatrix
from .windows import transpose_rows

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10, 11),  # natural minor with the raised seventh
}
NOTE_NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEYS = tuple(f"{t} {mode}" for mode in SCALES for t in TONICS)  # "C major" … "B minor"
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK_KEYS = frozenset({1, 3, 6, 8, 10})  # pitch classes on a piano's black keys


def key_pitch_classes(key: str) -> tuple[int, ...]:
    """The pitch classes of a key such as "C major", "F# minor" or "Bb major"."""
    parts = key.strip().split()
    if len(parts) != 2 or parts[1].lower() not in SCALES or not parts[0]:
        raise ValueError(f"a key is a tonic and major or minor, e.g. 'D minor', not {key!r}")
    name = parts[0].lower()
    if name[0] not in NOTE_NAMES or any(c not in "#b" for c in name[1:]):
        raise ValueError(f"unknown tonic {parts[0]!r} (A to G, with # or b)")
    tonic = NOTE_NAMES[name[0]] + name.count("#") - name[1:].count("b")
    return tuple(sorted((tonic + step) % 12 for step in SCALES[parts[1].lower()]))


def pitch_name(pitch: int) -> str:
    """MIDI pitch as a note name with octave, middle C = C4."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def is_black_key(pitch: int) -> bool:
    """Whether MIDI `pitch` is a black key on a piano (a sharp in `pitch_name`)."""
    return pitch % 12 in BLACK_KEYS


def best_key(songs: Sequence[StateMatrix]) -> tuple[str, int, int] | None:
    """The songs' best-fitting key (most struck notes inside its scale) and their lowest and
    highest sounding pitch; None when no note sounds."""
    counts = np.zeros(12)
    low, high = 127, 0
    for m in songs:
        used = np.flatnonzero(m.sounding.any(axis=0)) + m.encoding.low
        if len(used):
            low, high = min(low, int(used.min())), max(high, int(used.max()))
        np.add.at(counts, (m.encoding.low + np.arange(m.encoding.span)) % 12, m.struck.sum(axis=0))
    if high < low:
        return None
    key = max(KEYS, key=lambda k: counts[list(key_pitch_classes(k))].sum())
    return key, low, high


@dataclass(frozen=True)
class SongsKeys:
    """The keys a folder's songs are in (each with how many songs are in it, most first) and the
    range they span: what "Like the songs" draws a new song's key from, so a folder in many keys
    gives songs in many keys."""

    keys: tuple[tuple[str, int], ...]
    lowest: int
    highest: int

    @property
    def name(self) -> str:
        """The commonest key."""
        return self.keys[0][0]

    def draw(self, seed: int) -> str:
        """A key drawn as often as the songs are in it, from `seed` alone: a song made again
        from its seed is in the same key."""
        names = [k for k, _ in self.keys]
        weights = np.array([n for _, n in self.keys], float)
        rng = np.random.default_rng(int(seed) % 2**63)
        return names[int(rng.choice(len(names), p=weights / weights.sum()))]

    def describe(self) -> str:
        """ "D minor (12 songs)", "C major (2 songs), G major (1 song)": each key and its
        songs."""
        return ", ".join(f"{k} ({n} song{'s' if n != 1 else ''})" for k, n in self.keys)


def songs_keys(songs: Sequence[StateMatrix]) -> SongsKeys | None:
    """Each song's best-fitting key, counted (`SongsKeys`); None when no song has a note."""
    counts: Counter[str] = Counter()
    low, high = 127, 0
    for m in songs:
        found = best_key([m])
        if found is not None:
            counts[found[0]] += 1
            low, high = min(low, found[1]), max(high, found[2])
    if not counts:
        return None
    return SongsKeys(tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), low, high)


def tonic_shift(song: StateMatrix) -> int:
    """Semitones (−5..+6) that move a song's best-fitting key to C major or A minor, the keys
    without sharps or flats; 0 for a silent song."""
    found = best_key([song])
    if found is None:
        return 0
    tonic, mode = found[0].split()
    home = 0 if mode == "major" else 9
    shift = (home - TONICS.index(tonic)) % 12
    return shift - 12 if shift > 6 else shift


def transposed(song: StateMatrix, shift: int) -> StateMatrix:
    """The song moved by `shift` semitones inside its encoding's range; notes pushed past the
    range's ends are left out."""
    if shift == 0:
        return song
    data = transpose_rows(song.data, shift, planes=2)
    velocities = None if song.velocities is None else transpose_rows(song.velocities, shift, 1)
    return replace(song, data=data, velocities=velocities)
