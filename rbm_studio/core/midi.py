"""Standard MIDI files ⇄ `Song`, on top of mido.

Reading accepts what musicians' folders really hold: format 0, 1 and 2, any ticks per beat, many
tracks and channels (merged into one note list; each note keeps its channel and track), running
status, note-on velocity 0 as note-off, re-struck pitches (paired first-in first-out), notes left
hanging at the end of a track (closed there), tempo and time-signature changes anywhere. Beats are
quarter notes whatever the metre (tick / ticks_per_beat), so 6/8, 9/8 or 7/8 tunes import completely.
Format 2 files hold independent sequences; they are played one after another (each track starts
where the previous one's End of Track was).

Anything that is not a readable MIDI file raises `MidiImportError` with a one-line reason, never
another exception type, and huge files or songs are refused before anything big is allocated.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from collections import deque
from pathlib import Path

import mido
from mido.midifiles.midifiles import read_track

from .song import DEFAULT_BPM, Note, Song, TempoChange, TimeSignature

MAX_FILE_BYTES = 16 * 2**20
MAX_STEPS = 100_000
# The step limit is counted on the default sixteenth-note grid.
LIMIT_STEPS_PER_BEAT = 4
MAX_BEATS = MAX_STEPS / LIMIT_STEPS_PER_BEAT
MAX_TRACKS = 1024
WRITE_TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9


class MidiImportError(Exception):
    """A file could not be imported; the message is a one-line reason for the user."""


# ---------------------------------------------------------------------------------------------
# Reading


def read_midi(path: str | Path, *, keep_drums: bool = False) -> Song:
    """Read a MIDI file into a `Song` (title: first track name, else the file name)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise MidiImportError("not a file")
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
        raise MidiImportError(f"cannot read file: {exc.strerror or exc}") from None
    song = read_midi_bytes(data, name=path.name, keep_drums=keep_drums)
    song.source = path
    return song


def read_midi_bytes(data: bytes, *, name: str = "", keep_drums: bool = False) -> Song:
    """Parse the bytes of a MIDI file (`name` gives the fallback title)."""
    if len(data) > MAX_FILE_BYTES:
        raise MidiImportError(
            f"file too large ({len(data) / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB)"
        )
    fmt, ticks_per_beat, chunks = _split_chunks(bytes(data))
    tracks = [_parse_track(i, chunk) for i, chunk in enumerate(chunks)]
    fallback_title = Path(name).stem if name else ""
    return _build_song(fmt, ticks_per_beat, tracks, keep_drums, fallback_title)


def _split_chunks(data: bytes) -> tuple[int, int, list[bytes]]:
    """Validate the header and cut the file into its MTrk chunk bodies (unknown chunks skipped)."""
    if not data:
        raise MidiImportError("empty file (0 bytes)")
    data = _unwrap_riff(data)
    if data[:4] != b"MThd":
        raise MidiImportError("not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise MidiImportError("file is truncated (incomplete header)")
    (header_len,) = struct.unpack(">L", data[4:8])
    if header_len < 6:
        raise MidiImportError(f"corrupt header (length {header_len}, expected 6)")
    fmt, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2:
        raise MidiImportError(f"unknown MIDI format {fmt} (only 0, 1 and 2 exist)")
    if division & 0x8000:
        fps = 256 - (division >> 8)
        raise MidiImportError(
            f"unsupported timing: SMPTE {fps} frames/s, {division & 0xFF} ticks per frame "
            "(only ticks per beat are supported)"
        )
    if division == 0:
        raise MidiImportError("corrupt header (0 ticks per beat)")
    if n_tracks == 0:
        raise MidiImportError("no tracks in file")
    if n_tracks > MAX_TRACKS:
        raise MidiImportError(f"too many tracks ({n_tracks}; the limit is {MAX_TRACKS})")

    chunks: list[bytes] = []
    pos = 8 + header_len
    if pos > len(data):
        raise MidiImportError("file is truncated (incomplete header)")
    while len(chunks) < n_tracks:
        if pos + 8 > len(data):
            raise MidiImportError(
                f"file is truncated (header announces {n_tracks} tracks, found {len(chunks)})"
            )
        kind = data[pos : pos + 4]
        (length,) = struct.unpack(">L", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise MidiImportError(
                f"file is truncated (track {len(chunks) + 1} should be {length} bytes, "
                f"only {len(body)} present)"
            )
        if kind == b"MTrk":
            chunks.append(body)
        elif not all(32 <= b < 127 for b in kind):
            raise MidiImportError(f"corrupt file (garbage where track {len(chunks) + 1} starts)")
        pos += 8 + length
    return fmt, division, chunks


def _unwrap_riff(data: bytes) -> bytes:
    """RMID files wrap a standard MIDI file in a RIFF 'data' chunk; return the inner file."""
    if data[:4] != b"RIFF" or data[8:12] != b"RMID":
        return data
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<L", data[pos + 4 : pos + 8])
        if kind == b"data":
            return data[pos + 8 : pos + 8 + length]
        pos += 8 + length + (length & 1)
    raise MidiImportError("RIFF MIDI file without a data chunk")


def _parse_track(index: int, body: bytes) -> mido.MidiTrack:
    """Parse one MTrk body with mido, confined to its own bytes so a bad length cannot spill over."""
    stream = io.BytesIO(b"MTrk" + struct.pack(">L", len(body)) + body)
    try:
        return read_track(stream, clip=True)
    except EOFError:
        raise MidiImportError(
            f"corrupt track {index + 1} (events run past the end of the track)"
        ) from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError, IndexError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MidiImportError(f"corrupt track {index + 1} ({reason})") from None


def _build_song(
    fmt: int,
    ticks_per_beat: int,
    tracks: list[mido.MidiTrack],
    keep_drums: bool,
    fallback_title: str,
) -> Song:
    """Turn parsed tracks into notes plus tempo and metre maps, in absolute beats."""
    max_tick = MAX_BEATS * ticks_per_beat
    notes: list[Note] = []
    tempos: list[tuple[int, int, float]] = []  # (tick, order, bpm)
    signatures: list[tuple[int, int, int, int]] = []  # (tick, order, numerator, denominator)
    title = ""
    offset = 0  # format 2: where the current track starts
    order = 0

    def too_long() -> MidiImportError:
        return MidiImportError(
            f"song too long (over {MAX_STEPS:,} steps at {LIMIT_STEPS_PER_BEAT} steps per beat)"
        )

    for track_index, track in enumerate(tracks):
        pending: dict[tuple[int, int], deque[tuple[int, int]]] = {}
        tick = offset
        for msg in track:
            tick += msg.time
            kind = msg.type
            order += 1
            if kind == "note_on" or kind == "note_off":
                if tick > max_tick:
                    raise too_long()
                if msg.channel == DRUM_CHANNEL and not keep_drums:
                    continue
                key = (msg.channel, msg.note)
                if kind == "note_on" and msg.velocity > 0:
                    pending.setdefault(key, deque()).append((tick, msg.velocity))
                else:
                    queue = pending.get(key)
                    if queue:
                        start, velocity = queue.popleft()
                        notes.append(
                            _note(
                                msg.note,
                                start,
                                tick,
                                velocity,
                                msg.channel,
                                track_index,
                                ticks_per_beat,
                            )
                        )
            elif tick > max_tick:
                continue  # meta events after the music cannot matter
            elif kind == "set_tempo":
                if msg.tempo > 0:
                    tempos.append((tick, order, round(mido.tempo2bpm(msg.tempo), 3)))
            elif kind == "time_signature":
                den = msg.denominator
                if msg.numerator > 0 and 1 <= den <= 64:
                    signatures.append((tick, order, msg.numerator, den))
            elif kind == "track_name" and not title and track_index == 0:
                title = msg.name.strip()
        # Notes still sounding at the end of the track end there.
        end = tick
        for (channel, pitch), queue in pending.items():
            for start, velocity in queue:
                if end > max_tick:
                    raise too_long()
                notes.append(
                    _note(pitch, start, end, velocity, channel, track_index, ticks_per_beat)
                )
        if fmt == 2:
            offset = tick

    notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    return Song(
        notes=notes,
        tempos=_tempo_map(tempos, ticks_per_beat),
        time_signatures=_signature_map(signatures, ticks_per_beat),
        ticks_per_beat=ticks_per_beat,
        title=title or fallback_title,
    )


def _note(
    pitch: int, start: int, end: int, velocity: int, channel: int, track: int, tpb: int
) -> Note:
    return Note(
        pitch=pitch,
        start=start / tpb,
        end=max(end, start) / tpb,
        velocity=velocity,
        channel=channel,
        track=track,
    )


def _tempo_map(events: list[tuple[int, int, float]], tpb: int) -> list[TempoChange]:
    """Sorted tempo changes; of several at one tick the last in file order wins."""
    result: list[TempoChange] = []
    for tick, _, bpm in sorted(events):
        beat = tick / tpb
        if result and result[-1].beat == beat:
            result[-1] = TempoChange(beat, bpm)
        elif not result or result[-1].bpm != bpm:
            result.append(TempoChange(beat, bpm))
    return result


def _signature_map(events: list[tuple[int, int, int, int]], tpb: int) -> list[TimeSignature]:
    """Sorted time signatures without repeats; of several at one tick the last wins."""
    result: list[TimeSignature] = []
    for tick, _, num, den in sorted(events):
        beat = tick / tpb
        sig = TimeSignature(beat, num, den)
        if result and result[-1].beat == beat:
            result[-1] = sig
        elif not result or (result[-1].numerator, result[-1].denominator) != (num, den):
            result.append(sig)
    return result


# ---------------------------------------------------------------------------------------------
# Writing


def song_to_midi_bytes(song: Song, *, program: int = 0) -> bytes:
    """A type 1 standard MIDI file (480 ticks per beat) for `song`: a conductor track with title,
    tempo and metre, then one track of notes; every note keeps its channel and velocity."""
    if not 0 <= program <= 127:
        raise ValueError(f"program must be 0..127, not {program}")
    tpb = WRITE_TICKS_PER_BEAT
    conductor = mido.MidiTrack()
    if song.title:
        conductor.append(mido.MetaMessage("track_name", name=song.title, time=0))
    events: list[tuple[int, int, mido.BaseMessage]] = []  # (tick, priority, message)
    tempos = list(song.tempos)
    if not tempos or tempos[0].beat > 0:
        tempos.insert(0, TempoChange(0.0, tempos[0].bpm if tempos else DEFAULT_BPM))
    for change in tempos:
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

    notes_track = mido.MidiTrack()
    channels = sorted({n.channel for n in song.notes} or {0})
    notes_track.extend(
        mido.Message("program_change", channel=ch, program=program, time=0)
        for ch in channels
        if ch != DRUM_CHANNEL
    )
    events = []
    for note in song.notes:
        if not 0 <= note.pitch <= 127:
            raise ValueError(f"note pitch {note.pitch} is outside MIDI 0..127")
        if not 0 <= note.channel <= 15:
            raise ValueError(f"note channel {note.channel} is outside 0..15")
        on = _tick(note.start, tpb)
        off = max(_tick(note.end, tpb), on + 1)  # a note needs at least one tick to exist
        velocity = min(max(int(note.velocity), 1), 127)
        events.append(
            (
                on,
                1,
                mido.Message("note_on", channel=note.channel, note=note.pitch, velocity=velocity),
            )
        )
        # Note-offs go before note-ons at the same tick so re-struck pitches stay separate.
        events.append(
            (off, 0, mido.Message("note_off", channel=note.channel, note=note.pitch, velocity=0))
        )
    notes_track.extend(_delta_track(events))

    midi = mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=[conductor, notes_track])
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def write_midi(song: Song, path: str | Path, *, program: int = 0) -> None:
    """Write `song` as a standard MIDI file; the file appears complete or not at all."""
    data = song_to_midi_bytes(song, program=program)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
