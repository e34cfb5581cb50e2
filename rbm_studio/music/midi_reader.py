"""Byte-level reader of standard MIDI files: header, chunks and track events, nothing musical.

Why not mido's parser: it stops a whole file on a meta event we never use (an odd key signature),
lets a track whose length field is wrong read on into the next chunk, and builds a Python object
per event (2.2 s of CPU per MiB of notes; this reader with the `Song` takes 0.7 s). This reader walks the bytes once, keeps only notes,
tempos, time signatures and names, confines every track to its own chunk, and turns every way a
file can be broken into `MidiImportError` with a one-line reason. `midi.py` builds the `Song`.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

MAX_FILE_BYTES = 16 * 2**20
MAX_TRACKS = 4096
# A variable-length quantity has at most 4 bytes (values up to 0x0FFFFFFF) in a valid file; longer
# ones are corruption, and unbounded ones would make ever larger integers.
MAX_VLQ_BYTES = 4
DRUM_CHANNEL = 9

# Data bytes that follow each status nibble / system status.
_CHANNEL_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
_SYSTEM_DATA_BYTES = {
    0xF1: 1,
    0xF2: 2,
    0xF3: 1,
    0xF6: 0,
    0xF8: 0,
    0xFA: 0,
    0xFB: 0,
    0xFC: 0,
    0xFE: 0,
}


class MidiImportError(Exception):
    """A file could not be imported; the message is a one-line reason for the user."""


class SongTooLong(MidiImportError):
    """Raised as soon as an event lies beyond the caller's tick limit (before notes pile up)."""


class TooManyNotes(MidiImportError):
    """Raised as soon as a track starts more notes than the caller's budget."""


@dataclass(slots=True)
class RawTrack:
    """What one track holds, in absolute ticks. Notes are (start, end, pitch, velocity, channel)."""

    notes: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per beat)
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, num, den)
    name: str = ""
    end_tick: int = 0


@dataclass(slots=True)
class RawFile:
    format: int
    ticks_per_beat: int
    chunks: list[bytes]


def split_file(data: bytes) -> RawFile:
    """Validate the header and cut the file into its MTrk chunk bodies (other chunks skipped)."""
    if not data:
        raise MidiImportError("empty file (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise MidiImportError(
            f"file too large ({len(data) / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB)"
        )
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
                f"file is truncated (the header announces {n_tracks} tracks, found {len(chunks)})"
            )
        kind = data[pos : pos + 4]
        (length,) = struct.unpack(">L", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise MidiImportError(
                f"file is truncated (track {len(chunks) + 1} should be {length} bytes, "
                f"only {len(body)} are there)"
            )
        if kind == b"MTrk":
            chunks.append(body)
        elif not all(32 <= b < 127 for b in kind):
            raise MidiImportError(
                f"corrupt file (garbage where track {len(chunks) + 1} should start)"
            )
        pos += 8 + length
    return RawFile(format=fmt, ticks_per_beat=division, chunks=chunks)


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


def read_track(body: bytes, index: int, start_tick: int, max_tick: int, max_notes: int) -> RawTrack:
    """Events of one MTrk body from `start_tick` on. Note-on with velocity 0 is a note-off;
    repeated note-ons of one pitch pair with note-offs first-in first-out; notes still on at the
    end of the track end there. Raises `SongTooLong` when a note event lies beyond `max_tick` and
    `TooManyNotes` when more than `max_notes` notes start.

    The loop reads delta times, status bytes and channel events itself (nearly every byte of a
    file is one of those); the rarer meta and system events go to their own functions."""
    track = RawTrack()
    where = f"track {index + 1}"
    pairs = _NotePairs(track, max_tick, max_notes, where)
    note = pairs.event
    n = len(body)
    pos = 0
    tick = start_tick
    running = 0
    while pos < n:
        delta = body[pos]
        if delta & 0x80:
            delta, pos = _read_delta(body, pos, where)
        else:
            pos += 1
        tick += delta
        if pos >= n:
            raise _corrupt(where, "track ends after a delta time", pos)
        status = body[pos]
        if status & 0x80:
            pos += 1
            if status < 0xF0:
                running = status
        elif running:
            status = running  # running status: this byte is already data
        else:
            raise _corrupt(where, "data byte without a status byte", pos)
        if status < 0xF0:
            size = _CHANNEL_DATA_BYTES[status >> 4]
            if pos + size > n:
                raise _corrupt(where, "track ends inside an event", pos)
            if status & 0xE0 == 0x80:  # note-off (0x8n) or note-on (0x9n)
                note(status, body[pos], body[pos + 1], tick)
            pos += size
        elif status == 0xFF:
            pos = _meta_event(body, pos, tick, max_tick, track, where)
            if pos < 0:  # End of Track: anything after it is padding
                break
        else:
            pos = _system_event(body, pos, status, where)
    track.end_tick = tick
    pairs.finish(tick)
    return track


def _corrupt(where: str, reason: str, pos: int) -> MidiImportError:
    return MidiImportError(f"corrupt {where} ({reason} at byte {pos})")


def _read_delta(body: bytes, pos: int, where: str) -> tuple[int, int]:
    """A delta time of more than one byte at `pos`; returns (ticks, next position)."""
    byte = body[pos]
    pos += 1
    delta = byte & 0x7F
    count = 1
    while byte & 0x80:
        if pos >= len(body):
            raise _corrupt(where, "track ends inside a delta time", pos)
        count += 1
        if count > MAX_VLQ_BYTES:
            raise _corrupt(where, "delta time longer than 4 bytes", pos)
        byte = body[pos]
        pos += 1
        delta = (delta << 7) | (byte & 0x7F)
    return delta, pos


class _NotePairs:
    """Pairs each note-off with the earliest note-on still sounding on its channel and pitch, and
    keeps the note budget and the tick limit."""

    __slots__ = ("notes", "pending", "budget", "max_tick", "where")

    def __init__(self, track: RawTrack, max_tick: int, max_notes: int, where: str) -> None:
        self.notes = track.notes
        self.pending: dict[int, deque[tuple[int, int]]] = {}  # channel << 7 | pitch -> (start, vel)
        self.budget = max_notes
        self.max_tick = max_tick
        self.where = where

    def event(self, status: int, pitch: int, velocity: int, tick: int) -> None:
        # Stray data bytes above 127 are clipped, like mido's clip=True.
        pitch = min(pitch, 127)
        velocity = min(velocity, 127)
        if tick > self.max_tick:
            raise SongTooLong(self.where)
        key = (status & 0x0F) << 7 | pitch
        if status & 0xF0 == 0x90 and velocity > 0:
            self.budget -= 1
            if self.budget < 0:
                raise TooManyNotes(self.where)
            queue = self.pending.get(key)
            if queue is None:
                queue = self.pending[key] = deque()
            queue.append((tick, velocity))
        else:
            queue = self.pending.get(key)
            if queue:
                start, vel = queue.popleft()
                self.notes.append((start, tick, pitch, vel, status & 0x0F))

    def finish(self, tick: int) -> None:
        """End every note still sounding at `tick`, the end of the track."""
        if any(self.pending.values()) and tick > self.max_tick:
            raise SongTooLong(self.where)
        for key, queue in self.pending.items():
            for start, vel in queue:
                self.notes.append((start, tick, key & 0x7F, vel, key >> 7))


def _meta_event(
    body: bytes, pos: int, tick: int, max_tick: int, track: RawTrack, where: str
) -> int:
    """Read the meta event whose type byte is at `pos` into `track` (tempo, metre, name); the
    next position, or -1 at End of Track."""
    n = len(body)
    if pos >= n:
        raise _corrupt(where, "track ends inside a meta event", pos)
    meta_type = body[pos]
    pos += 1
    length, pos = _read_vlq(body, pos, where)
    if pos + length > n:
        raise _corrupt(where, "meta event longer than its track", pos)
    payload = body[pos : pos + length]
    pos += length
    if meta_type == 0x2F:
        return -1
    if tick > max_tick:
        return pos  # tempo or metre after the music cannot matter
    if meta_type == 0x51 and length >= 3:
        tempo = payload[0] << 16 | payload[1] << 8 | payload[2]
        if tempo > 0:
            track.tempos.append((tick, tempo))
    elif meta_type == 0x58 and length >= 2:
        if payload[0] > 0 and payload[1] <= 6:
            track.time_signatures.append((tick, payload[0], 1 << payload[1]))
    elif meta_type == 0x03 and not track.name:
        track.name = _text(payload)
    return pos


def _system_event(body: bytes, pos: int, status: int, where: str) -> int:
    """Skip the system event (exclusive or common) whose data starts at `pos`; the next position."""
    if status in (0xF0, 0xF7):
        length, pos = _read_vlq(body, pos, where)
        if pos + length > len(body):
            raise _corrupt(where, "system exclusive event longer than its track", pos)
        return pos + length
    size = _SYSTEM_DATA_BYTES.get(status)
    if size is None:
        raise _corrupt(where, f"undefined status byte 0x{status:02X}", pos)
    if pos + size > len(body):
        raise _corrupt(where, "track ends inside an event", pos)
    return pos + size


def _read_vlq(body: bytes, pos: int, where: str) -> tuple[int, int]:
    """A variable-length quantity (length field) at `pos`; returns (value, next position). Its
    errors name `pos`, where the field starts."""
    start = pos
    value = 0
    for _ in range(MAX_VLQ_BYTES):
        if pos >= len(body):
            raise _corrupt(where, "track ends inside a length field", start)
        byte = body[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise _corrupt(where, "length field longer than 4 bytes", start)


def _text(payload: bytes) -> str:
    """Meta text: UTF-8 when it decodes, else Latin-1 (what most old files use)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("latin-1")
    return text.replace("\x00", "").strip()
