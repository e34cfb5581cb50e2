"""Fuzzing (issue item 9): 300 mutated MIDI files each import or raise `MidiImportError`, fast.

The per-case time check is a robustness property the issue demands (no hang on hostile input), not
a speed target; 2 s is ~100× what a case takes.
"""

from __future__ import annotations

import io
import random
import struct
import time

import mido
import pytest

from rbm_studio.music.midi import MAX_STEPS, MidiImportError, read_midi_bytes

SEED = 20240917
CASES_PER_KIND = 50
MAX_SECONDS_PER_CASE = 2.0


def save(mid: mido.MidiFile) -> bytes:
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def base_files() -> dict[str, bytes]:
    """Valid files of each format, with tempo and metre changes, drums, sysex and text."""
    rng = random.Random(1)
    files = {}
    for fmt in (0, 1, 2):
        mid = mido.MidiFile(type=fmt, ticks_per_beat=(96, 480, 1024)[fmt])
        for t in range(1 if fmt == 0 else 3):
            track = mido.MidiTrack()
            track.append(mido.MetaMessage("track_name", name=f"part {t}"))
            track.append(mido.MetaMessage("time_signature", numerator=7, denominator=8))
            track.append(mido.MetaMessage("set_tempo", tempo=600000))
            track.append(mido.Message("sysex", data=[1, 2, 3]))
            for i in range(60):
                channel = rng.choice([0, 1, 9])
                note = rng.randrange(30, 90)
                track.append(
                    mido.Message(
                        "note_on",
                        channel=channel,
                        note=note,
                        velocity=rng.randrange(1, 128),
                        time=rng.randrange(0, 200),
                    )
                )
                track.append(
                    mido.Message("note_off", channel=channel, note=note, time=rng.randrange(1, 300))
                )
                if i % 20 == 19:
                    track.append(
                        mido.MetaMessage(
                            "time_signature", numerator=rng.choice([6, 9, 3]), denominator=8
                        )
                    )
                    track.append(mido.MetaMessage("set_tempo", tempo=rng.randrange(300000, 900000)))
            mid.tracks.append(track)
        files[f"type{fmt}"] = save(mid)
    return files


def track_length_offsets(data: bytes) -> list[int]:
    """Byte offsets of every chunk's length field (header and tracks)."""
    offsets = []
    pos = 0
    while pos + 8 <= len(data):
        offsets.append(pos + 4)
        (length,) = struct.unpack(">L", data[pos + 4 : pos + 8])
        pos += 8 + length
    return offsets


def huge_vlq(rng: random.Random) -> bytes:
    value = rng.choice([0x0FFFFFFF, 0x00FFFFFF, rng.randrange(2**21, 2**28)])
    return bytes(
        [
            0x80 | (value >> 21) & 0x7F,
            0x80 | (value >> 14) & 0x7F,
            0x80 | (value >> 7) & 0x7F,
            value & 0x7F,
        ]
    )


def mutations(files: dict[str, bytes]):
    """Yield (description, bytes, expected outcome or None) for every case, reproducibly."""
    rng = random.Random(SEED)
    names = sorted(files)
    for _ in range(CASES_PER_KIND):
        name = rng.choice(names)
        data = files[name]
        cut = rng.randrange(0, len(data))
        yield f"{name} truncated at byte {cut}", data[:cut], "refused"
    for _ in range(CASES_PER_KIND):
        name = rng.choice(names)
        data = bytearray(files[name])
        flips = [(rng.randrange(len(data)), rng.randrange(256)) for _ in range(rng.randint(1, 8))]
        for pos, value in flips:
            data[pos] = value
        yield f"{name} bytes set {flips}", bytes(data), None
    for _ in range(CASES_PER_KIND):
        name = rng.choice(names)
        data = bytearray(files[name])
        offset = rng.choice(track_length_offsets(files[name]))
        (old,) = struct.unpack_from(">L", data, offset)
        new = rng.choice(
            [
                0,
                1,
                6,
                old - rng.randint(1, 20),
                old + rng.randint(1, 20),
                0xFFFFFFFF,
                rng.randrange(2**32),
            ]
        )
        struct.pack_into(">L", data, offset, max(new, 0))
        yield f"{name} chunk length at {offset} {old} -> {max(new, 0)}", bytes(data), None
    for _ in range(CASES_PER_KIND):
        # Huge delta times written by mido into a valid file.
        name = rng.choice(names)
        mid = mido.MidiFile(file=io.BytesIO(files[name]))
        track = rng.choice(mid.tracks)
        picks = rng.sample(range(len(track)), k=rng.randint(1, 5))
        for k in picks:
            track[k] = track[k].copy(time=rng.choice([0x0FFFFFFF, rng.randrange(2**20, 2**28)]))
        yield f"{name} huge delta times at events {picks}", save(mid), None
    for _ in range(CASES_PER_KIND):
        # Huge delta times spliced into the bytes, the chunk length left as it was or fixed up.
        name = rng.choice(names)
        data = bytearray(files[name])
        pos = rng.randrange(22, len(data))
        data[pos:pos] = huge_vlq(rng)
        fix = rng.random() < 0.5
        if fix:
            offset = max(o for o in track_length_offsets(files[name]) if o + 4 <= pos)
            (old,) = struct.unpack_from(">L", data, offset)
            struct.pack_into(">L", data, offset, old + 4)
        yield f"{name} 4-byte delta spliced at byte {pos} (length fixed: {fix})", bytes(data), None
    for _ in range(CASES_PER_KIND):
        # Header fields, inserted and deleted runs of bytes.
        name = rng.choice(names)
        data = bytearray(files[name])
        what = rng.choice(["format", "tracks", "division", "insert", "delete"])
        if what in ("format", "tracks", "division"):
            offset = {"format": 8, "tracks": 10, "division": 12}[what]
            value = rng.randrange(2**16)
            struct.pack_into(">H", data, offset, value)
            desc = f"{what} = {value}"
        else:
            pos = rng.randrange(len(data))
            n = rng.randint(1, 16)
            if what == "insert":
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(n))
            else:
                del data[pos : pos + n]
            desc = f"{n} bytes {what}d at {pos}"
        yield f"{name} {desc}", bytes(data), None


def test_mutated_files_import_or_fail_cleanly_and_quickly():
    files = base_files()
    for name, data in files.items():
        assert read_midi_bytes(data).notes, f"base file {name} must be valid"
    outcomes = {"imported": 0, "refused": 0}
    cases = 0
    for description, data, expected in mutations(files):
        cases += 1
        outcome = "imported"
        started = time.perf_counter()
        try:
            song = read_midi_bytes(data)
        except MidiImportError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"{description}: bad reason {message!r}"
            outcome = "refused"
        except Exception as exc:  # the property under test: nothing else escapes
            pytest.fail(f"{description}: raised {type(exc).__name__}: {exc}")
        else:
            assert all(0 <= n.pitch <= 127 and 0 <= n.start <= n.end for n in song.notes), (
                description
            )
            assert all(1 <= n.velocity <= 127 for n in song.notes), description
            assert song.end_beat * 4 <= MAX_STEPS, description
        elapsed = time.perf_counter() - started
        outcomes[outcome] += 1
        assert expected in (None, outcome), f"{description}: {outcome}, expected {expected}"
        assert elapsed <= MAX_SECONDS_PER_CASE, f"{description}: took {elapsed:.2f} s"
    assert cases == 6 * CASES_PER_KIND
    # Both outcomes must occur, or the mutations are not exercising anything.
    assert outcomes["imported"] >= 20 and outcomes["refused"] >= 20, outcomes
