"""Standard MIDI files ⇄ `Song`.

Reading (bytes via `midi_reader`) accepts what musicians' folders really hold: format 0, 1 and 2, any
ticks per beat, many tracks and channels (merged into one note list; each note keeps its channel and
track), running status, note-on velocity 0 as note-off, re-struck pitches (paired first-in
first-out), notes left hanging at the end of a track (closed there), tempo and time-signature
changes anywhere. Beats are quarter notes whatever the metre (tick / ticks_per_beat), so 6/8, 9/8 or
7/8 tunes import completely. Format 2 files hold independent sequences; they are played one after
another (each track starts where the previous one's End of Track is). The drum channel (10) is left
out unless `keep_drums=True`. A file without notes gives an empty song; callers decide what that
means.

Anything that is not a readable MIDI file raises `MidiImportError` with a one-line reason, never
another exception type; huge files and songs are refused before anything big is allocated.
Writing uses mido: type 1, 480 ticks per beat.
"""

from __future__ import annotations

import io
import stat
from pathlib import Path

import mido

from ..platform import files
from .midi_reader import (
    DRUM_CHANNEL,
    MAX_FILE_BYTES,
    MidiImportError,
    SongTooLong,
    TooManyNotes,
    read_track,
    split_file,
)
from .song import Note, Song, TempoChange, TimeSignature

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NOTES",
    "MAX_STEPS",
    "MidiImportError",
    "READER_VERSION",
    "read_midi",
    "read_midi_bytes",
    "song_to_midi_bytes",
    "write_midi",
]

# Bump whenever `read_midi` can return something different for the same bytes, so caches of
# imported songs (keyed by file content) know their entries are stale.
READER_VERSION = 1
MAX_STEPS = 100_000
# The step limit is counted on the default sixteenth-note grid.
LIMIT_STEPS_PER_BEAT = 4
MAX_BEATS = MAX_STEPS // LIMIT_STEPS_PER_BEAT
# 20 notes struck on every step of the longest song; a cap on memory for hostile files.
MAX_NOTES = 20 * MAX_STEPS
WRITE_TICKS_PER_BEAT = 480


# ---------------------------------------------------------------------------------------------
# Reading


def read_midi(path: str | Path, *, keep_drums: bool = False) -> Song:
    """Read a MIDI file into a `Song` (title: the first track's name, else the file name)."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise MidiImportError("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise MidiImportError("not a regular file")  # a pipe or device could block forever
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise MidiImportError(
                f"file too large ({size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB)"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MidiImportError("file not found") from None
    except PermissionError:
        raise MidiImportError("permission denied") from None
    except OSError as exc:
        raise MidiImportError(f"cannot read file ({exc.strerror or exc})") from None
    song = read_midi_bytes(data, name=path.name, keep_drums=keep_drums)
    song.source = path
    return song


def read_midi_bytes(data: bytes, *, name: str = "", keep_drums: bool = False) -> Song:
    """Parse the bytes of a MIDI file (`name`, a file name, gives the fallback title)."""
    raw = split_file(bytes(data))
    tpb = raw.ticks_per_beat
    max_tick = MAX_BEATS * tpb
    tracks = []
    start = 0
    budget = MAX_NOTES
    try:
        for index, body in enumerate(raw.chunks):
            track = read_track(body, index, start, max_tick, budget)
            budget -= len(track.notes)
            tracks.append(track)
            if raw.format == 2:  # sequences play one after another
                start = track.end_tick
    except SongTooLong:
        raise MidiImportError(
            f"song too long (more than {MAX_STEPS:,} steps at {LIMIT_STEPS_PER_BEAT} steps per beat)"
        ) from None
    except TooManyNotes:
        raise MidiImportError(f"too many notes (more than {MAX_NOTES:,})") from None

    notes = [
        Note(pitch, on / tpb, off / tpb, velocity, channel, index)
        for index, track in enumerate(tracks)
        for on, off, pitch, velocity, channel in track.notes
        if keep_drums or channel != DRUM_CHANNEL
    ]
    notes.sort(key=lambda n: (n.start, n.pitch, n.end, n.track))
    # (tick, track, order in track) keeps file order among events at one tick.
    tempos = [
        (tick, i, k, round(60_000_000 / usec, 3))
        for i, t in enumerate(tracks)
        for k, (tick, usec) in enumerate(t.tempos)
    ]
    signatures = [
        (tick, i, k, num, den)
        for i, t in enumerate(tracks)
        for k, (tick, num, den) in enumerate(t.time_signatures)
    ]
    title = tracks[0].name if tracks else ""
    return Song(
        notes=notes,
        tempos=_tempo_map(sorted(tempos), tpb),
        time_signatures=_signature_map(sorted(signatures), tpb),
        ticks_per_beat=tpb,
        title=title or (Path(name).stem if name else ""),
    )


def _tempo_map(events: list[tuple[int, int, int, float]], tpb: int) -> list[TempoChange]:
    """Tempo changes in order; of several at one tick the last wins, repeats are dropped."""
    result: list[TempoChange] = []
    for tick, _, _, bpm in events:
        beat = tick / tpb
        if result and result[-1].beat == beat:
            result.pop()
        if not result or result[-1].bpm != bpm:
            result.append(TempoChange(beat, bpm))
    return result


def _signature_map(events: list[tuple[int, int, int, int, int]], tpb: int) -> list[TimeSignature]:
    """Time signatures in order; of several at one tick the last wins, repeats are dropped."""
    result: list[TimeSignature] = []
    for tick, _, _, num, den in events:
        beat = tick / tpb
        if result and result[-1].beat == beat:
            result.pop()
        if not result or (result[-1].numerator, result[-1].denominator) != (num, den):
            result.append(TimeSignature(beat, num, den))
    return result


# ---------------------------------------------------------------------------------------------
# Writing


def song_to_midi_bytes(song: Song, *, program: int = 0, text: str = "") -> bytes:
    """A type 1 standard MIDI file (480 ticks per beat) for `song`: a conductor track with title,
    tempo and metre (and `text` as a text meta event: how the song was made), then one track of
    notes — or, when the song names its tracks, one named track per `Note.track` (a DAW shows
    each part on its own); every note keeps its channel and velocity."""
    if not 0 <= program <= 127:
        raise ValueError(f"program must be 0..127, not {program}")
    tpb = WRITE_TICKS_PER_BEAT
    tracks = [_conductor_track(song, text, tpb), *_part_tracks(song, program)]
    midi = mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=tracks)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _conductor_track(song: Song, text: str, tpb: int) -> mido.MidiTrack:
    """Title, `text`, tempos and time signatures."""
    conductor = mido.MidiTrack()
    if song.title:
        # UTF-8 bytes written as they are: mido's text metas go through a process-wide charset.
        conductor.append(mido.UnknownMetaMessage(0x03, data=song.title.encode("utf-8"), time=0))
    if text:
        conductor.append(mido.UnknownMetaMessage(0x01, data=text.encode("utf-8"), time=0))
    events: list[tuple[int, int, mido.BaseMessage]] = []  # (tick, priority, message)
    # The file opens at the song's first tempo (`Song.first_bpm`), even when that is set later.
    tempos = list(song.tempos)
    if not tempos or tempos[0].beat > 0:
        tempos.insert(0, TempoChange(0.0, song.first_bpm))
    for change in tempos:
        if not change.bpm > 0:
            raise ValueError(f"tempo must be above 0 BPM, not {change.bpm}")
        tempo = min(max(int(round(mido.bpm2tempo(change.bpm))), 1), 0xFFFFFF)
        events.append(
            (_tick(change.beat, tpb), 0, mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        )
    sigs = list(song.time_signatures) or [TimeSignature(0.0, 4, 4)]
    for sig in sigs:
        msg = mido.MetaMessage(
            "time_signature", numerator=sig.numerator, denominator=sig.denominator, time=0
        )
        events.append((_tick(sig.beat, tpb), 1, msg))
    conductor.extend(_delta_track(events))
    return conductor


def _part_tracks(song: Song, program: int) -> list[mido.MidiTrack]:
    """One track of notes, or one named track per `Note.track` when the song names its parts."""
    if not song.track_names:
        return [_notes_track(song.notes, program, "")]
    groups = sorted({n.track for n in song.notes})
    names = [song.track_names[t] if t < len(song.track_names) else "" for t in groups]
    return [
        _notes_track([n for n in song.notes if n.track == t], program, name)
        for t, name in zip(groups, names, strict=True)
    ]


def _notes_track(notes: list[Note], program: int, name: str) -> mido.MidiTrack:
    """One track of `notes` (named `name` when given), opening with each channel's program."""
    track = mido.MidiTrack()
    if name:
        track.append(mido.UnknownMetaMessage(0x03, data=name.encode("utf-8"), time=0))
    channels = sorted({n.channel for n in notes} or {0})
    track.extend(
        mido.Message("program_change", channel=ch, program=program, time=0)
        for ch in channels
        if ch != DRUM_CHANNEL
    )
    events: list[tuple[int, int, mido.BaseMessage]] = []
    for note in notes:
        if not 0 <= note.pitch <= 127:
            raise ValueError(f"note pitch {note.pitch} is outside MIDI 0..127")
        if not 0 <= note.channel <= 15:
            raise ValueError(f"note channel {note.channel} is outside 0..15")
        on = _tick(note.start, WRITE_TICKS_PER_BEAT)
        off = max(_tick(note.end, WRITE_TICKS_PER_BEAT), on + 1)  # at least one tick long
        velocity = min(max(int(note.velocity), 1), 127)
        message = mido.Message("note_on", channel=note.channel, note=note.pitch, velocity=velocity)
        events.append((on, 1, message))
        # Note-offs go before note-ons at the same tick so re-struck pitches stay separate.
        events.append(
            (off, 0, mido.Message("note_off", channel=note.channel, note=note.pitch, velocity=0))
        )
    track.extend(_delta_track(events))
    return track


def write_midi(song: Song, path: str | Path, *, program: int = 0, text: str = "") -> Path:
    """Write `song` as a standard MIDI file; the file appears complete or not at all
    (`files.atomic_write`: never over a device or FIFO, keeps the file's mode). Returns the
    file written."""
    return files.atomic_write_bytes(path, song_to_midi_bytes(song, program=program, text=text))


def unique_path(folder: Path, stem: str, suffix: str = ".mid") -> Path:
    """`folder/stem.mid`, or `stem-2.mid`, `stem-3.mid`… if taken: exports never overwrite."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def _tick(beat: float, tpb: int) -> int:
    if beat < 0:
        raise ValueError(f"negative time {beat} beats")
    return int(round(beat * tpb))


def _delta_track(events: list[tuple[int, int, mido.BaseMessage]]) -> list[mido.BaseMessage]:
    """Messages in time order with delta times (stable for equal tick and priority)."""
    out = []
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        out.append(msg.copy(time=tick - last))
        last = tick
    return out
