"""Never leave a note hanging: track what sounds on an output and silence it on demand.

A synth keeps a note sounding until it gets that note's note-off, so every path that stops sending
the song (stop, seek, loop, port change, close, interpreter exit) goes through `silence`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .scheduling import NOTE_OFF, NOTE_ON

CONTROL_CHANGE = 0xB0
ALL_SOUND_OFF = 120
ALL_NOTES_OFF = 123

Send = Callable[[tuple[int, ...]], None]


class SoundingNotes:
    """The (channel, pitch) pairs that have had a note-on and no note-off yet on one output."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, int], int] = {}
        self.channels: set[int] = set()

    def observe(self, message: tuple[int, ...]) -> None:
        """Update from a message just sent."""
        if len(message) < 3:
            return
        kind, channel = message[0] & 0xF0, message[0] & 0x0F
        if kind not in (NOTE_ON, NOTE_OFF):
            return
        self.channels.add(channel)
        key = (channel, message[1])
        if kind == NOTE_ON and message[2] > 0:
            self._counts[key] = self._counts.get(key, 0) + 1
        else:
            self._counts.pop(key, None)

    def sounding(self) -> list[tuple[int, int]]:
        return sorted(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def clear(self) -> None:
        self._counts.clear()


def release_messages(notes: SoundingNotes) -> list[tuple[int, ...]]:
    """Note-offs for every sounding note (what a loop or seek needs: quiet, but keep the channel)."""
    return [(NOTE_OFF | ch, pitch, 0) for ch, pitch in notes.sounding()]


def panic_messages(notes: SoundingNotes, channels: Iterable[int] = ()) -> list[tuple[int, ...]]:
    """Note-offs for the sounding notes, then All Notes Off (CC123) and All Sound Off (CC120) on
    every channel used on this output."""
    used = sorted(set(notes.channels) | set(channels))
    messages = release_messages(notes)
    for ch in used:
        messages.append((CONTROL_CHANGE | ch, ALL_NOTES_OFF, 0))
        messages.append((CONTROL_CHANGE | ch, ALL_SOUND_OFF, 0))
    return messages


def silence(send: Send, notes: SoundingNotes, channels: Iterable[int] = ()) -> int:
    """Send the panic messages; return how many were sent. Keeps going when one send fails, so a
    dying port still gets as many note-offs as it will take."""
    sent = 0
    for message in panic_messages(notes, channels):
        try:
            send(message)
            sent += 1
        except Exception:  # noqa: BLE001 — a broken port must not stop the rest of the note-offs
            continue
    notes.clear()
    return sent
