"""The piano roll's model, without Qt: what is shown (notes, primer, playhead, loop region), where
(zoom and scroll), and what a point on the roll is (hit testing, ruler drags).

The widget (`ui/piano_roll.py`) draws this model and forwards input to it, as napari's Qt layer
draws its viewer model: everything a later feature needs to reason about the roll (note editing,
selection, snapping) can be written and tested here without a window.

Viewport coordinates: the keyboard column is at the left (`KEYBOARD_WIDTH` wide), the ruler at
the top (`RULER_HEIGHT` high), the velocity lane at the bottom. Content coordinates:
x = beat · beat_px, y = (high − pitch) · row_px; `scroll_x`/`scroll_y` are the content
coordinates at the top-left of the note area, whole pixels as a scroll bar holds them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..music.meter import bar_at, bar_lines, snap_loop
from ..music.song import Song

KEYBOARD_WIDTH = 52
LOOP_STRIP_HEIGHT = 9  # the ruler's top strip, where loop regions are dragged and drawn
BAR_STRIP_HEIGHT = 22  # the ruler's bar numbers, where clicks and drags move the playhead
RULER_HEIGHT = LOOP_STRIP_HEIGHT + BAR_STRIP_HEIGHT
VELOCITY_LANE_HEIGHT = 56
DRAG_THRESHOLD_PX = 3
PIANO_LOW, PIANO_HIGH = 21, 108
VELOCITY_BUCKETS = 8
MIN_BEAT_PX, MAX_BEAT_PX = 0.5, 400.0
MIN_ROW_PX, MAX_ROW_PX = 3.0, 40.0
MIN_BAR_LABEL_PX = 28  # bars narrower than this are labelled every 2nd, 4th, … bar
EPS = 1e-9
STEM_HIT_PX = 6  # a press this near a velocity stem takes hold of it
RESIZE_GRIP_PX = 6  # the part of a note's right end where a drag resizes it
PRIMER_LABELS = ("◂ primer", "continuation ▸")  # the marker's labels on a continued song

Area = Literal["keyboard", "loop_strip", "bar_strip", "notes", "velocity", "corner"]


@dataclass(frozen=True, slots=True)
class RollNotes:
    """A song's notes as parallel arrays, so the visible ones are found with one mask."""

    starts: np.ndarray
    ends: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray
    buckets: np.ndarray  # velocity bucket 0..VELOCITY_BUCKETS-1: one colour per bucket
    primer: np.ndarray  # True for the notes a continued song was primed with

    @classmethod
    def of(cls, song: Song | None = None, primer_beats: float | None = None) -> RollNotes:
        notes = song.notes if song else []
        n = len(notes)
        return cls.from_arrays(
            np.fromiter((x.start for x in notes), float, n),
            np.fromiter((x.end for x in notes), float, n),
            np.fromiter((x.pitch for x in notes), np.int16, n),
            np.fromiter((x.velocity for x in notes), np.int16, n),
            primer_beats,
        )

    @classmethod
    def from_arrays(cls, starts, ends, pitches, velocities, primer_beats=None) -> RollNotes:
        buckets = np.clip(velocities * VELOCITY_BUCKETS // 128, 0, VELOCITY_BUCKETS - 1)
        if primer_beats is not None:
            primer = starts < primer_beats - EPS
        else:
            primer = np.zeros(len(starts), dtype=bool)
        return cls(starts, ends, pitches, velocities, buckets.astype(np.int8), primer)

    def changed(
        self, idx: np.ndarray, primer_beats: float | None, **columns: np.ndarray | float
    ) -> RollNotes:
        """A copy with `columns` (starts, ends, pitches, velocities) of notes `idx` replaced:
        what an edit being dragged looks like, before it is made."""
        arrays = {
            "starts": self.starts.copy(),
            "ends": self.ends.copy(),
            "pitches": self.pitches.copy(),
            "velocities": self.velocities.copy(),
        }
        for name, values in columns.items():
            arrays[name][idx] = values
        return RollNotes.from_arrays(**arrays, primer_beats=primer_beats)

    def plus(self, pitch: int, start: float, end: float, velocity: int) -> RollNotes:
        """A copy with one more note at the end (a note being drawn)."""
        return RollNotes.from_arrays(
            np.append(self.starts, start),
            np.append(self.ends, end),
            np.append(self.pitches, np.int16(pitch)),
            np.append(self.velocities, np.int16(velocity)),
        )

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(slots=True)
class RulerDrag:
    """A press on the ruler, until it is let go: seeking (the bar numbers) or marking a loop (the
    loop strip, or Shift anywhere on the ruler)."""

    mode: Literal["seek", "loop"]
    anchor: float  # the beat pressed
    x: float  # the viewport x pressed
    moved: bool = False
    beat: float = 0.0  # seeking: the beat last asked for


@dataclass(frozen=True, slots=True)
class RulerRelease:
    """What letting go of a loop drag did: `loop` marked start..end, `clear` removed the loop
    region (a click on the loop strip), `seek` asks for the beat Shift+clicked."""

    action: Literal["loop", "clear", "seek"]
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True, slots=True)
class NoteRects:
    """The visible notes' rectangles in viewport coordinates; `index` points into the song."""

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    width: np.ndarray
    height: float


@dataclass(slots=True)
class RollModel:
    """See the module docstring. Mutated by the widget; every method is pure geometry or state."""

    song: Song | None = None
    generated: bool = False
    primer_beats: float | None = None
    # the marker's labels before and after `primer_beats` (an A/B pair names its songs)
    marker_labels: tuple[str, str] = PRIMER_LABELS
    notes: RollNotes = field(default_factory=RollNotes.of)
    beat_px: float = 24.0
    row_px: float = 12.0
    low: int = PIANO_LOW
    high: int = PIANO_HIGH
    end_beat: float = 16.0
    width: int = 0  # the viewport's size in pixels
    height: int = 0
    scroll_x: int = 0
    scroll_y: int = 0
    playhead: float | None = None
    loop_region: tuple[float, float] | None = None
    written: tuple[float, float] | None = None  # the bars a co-writing action wrote (beats)
    pending_loop: tuple[float, float] | None = None  # shown while a loop is dragged
    velocity_lane_visible: bool = True
    drag: RulerDrag | None = None
    selected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    band: tuple[float, float, float, float] | None = None  # a rubber band: x0, y0, x1, y1

    # -- song -------------------------------------------------------------------------------
    def set_song(
        self, song: Song | None, *, generated: bool = False, primer_beats: float | None = None
    ) -> None:
        """Show `song` (None clears), dropping any loop region; scrolled to its start and its
        pitches' middle. Notes starting before `primer_beats` are the primer it continues."""
        self.song = song
        self.generated = generated
        self.loop_region = self.pending_loop = self.drag = self.written = None
        self.primer_beats = float(primer_beats) if primer_beats is not None and song else None
        self.notes = RollNotes.of(song, self.primer_beats)
        self.selected = np.zeros(len(self.notes), dtype=bool)
        self.band = None
        pitches = self.notes.pitches
        count = len(self.notes)
        self.low = min(PIANO_LOW, int(pitches.min())) if count else PIANO_LOW
        self.high = max(PIANO_HIGH, int(pitches.max())) if count else PIANO_HIGH
        self.end_beat = max(float(self.notes.ends.max()) if count else 0.0, 4.0)
        self.scroll_to(x=0, y=self.scroll_y)
        if count:
            self.center_on_pitch((int(pitches.max()) + int(pitches.min())) / 2)

    def refresh_notes(self, selection: list[int] | None = None) -> None:
        """The song's notes changed (an edit): show them as they are now, with `selection`
        selected, leaving the view where it is (the range only grows to take in new notes)."""
        self.notes = RollNotes.of(self.song, self.primer_beats)
        count = len(self.notes)
        self.selected = np.zeros(count, dtype=bool)
        if selection:
            self.selected[[i for i in selection if i < count]] = True
        self.band = None
        if len(self.notes):
            self.low = min(self.low, int(self.notes.pitches.min()))
            self.high = max(self.high, int(self.notes.pitches.max()))
            self.end_beat = max(self.end_beat, float(self.notes.ends.max()))
        self.scroll_to(self.scroll_x, self.scroll_y)

    @property
    def note_count(self) -> int:
        return len(self.notes)

    @property
    def primer_note_count(self) -> int:
        return int(self.notes.primer.sum())

    def note_look(self, index: int) -> tuple[int, bool]:
        """(velocity, generated?) that note `index` is coloured by: its bucket's middle, and
        whether it is the model's (a primer note keeps the musician's colour)."""
        bucket = int(self.notes.buckets[index])
        velocity = int((bucket + 0.5) * 128 / VELOCITY_BUCKETS)
        return velocity, self.generated and not bool(self.notes.primer[index])

    # -- viewport and scrolling -------------------------------------------------------------
    @property
    def lane_height(self) -> int:
        return VELOCITY_LANE_HEIGHT if self.velocity_lane_visible else 0

    @property
    def lane_top(self) -> int:
        """Where the notes end and the velocity lane begins (viewport y)."""
        return self.height - self.lane_height

    @property
    def area_width(self) -> int:
        return max(self.width - KEYBOARD_WIDTH, 1)

    @property
    def area_height(self) -> int:
        return max(self.height - RULER_HEIGHT - self.lane_height, 1)

    @property
    def content_width(self) -> float:
        return (self.end_beat + 4.0) * self.beat_px

    @property
    def content_height(self) -> float:
        return (self.high - self.low + 1) * self.row_px

    @property
    def max_scroll(self) -> tuple[int, int]:
        return (
            max(0, int(self.content_width - self.area_width)),
            max(0, int(self.content_height - self.area_height)),
        )

    def set_viewport(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self.scroll_to(self.scroll_x, self.scroll_y)

    def set_velocity_lane_visible(self, visible: bool) -> None:
        self.velocity_lane_visible = bool(visible)
        self.scroll_to(self.scroll_x, self.scroll_y)

    def scroll_to(self, x: float | None = None, y: float | None = None) -> None:
        """Scroll to content x, y (None keeps one), held inside the content as a scroll bar
        holds its value."""
        max_x, max_y = self.max_scroll
        if x is not None:
            self.scroll_x = min(max(int(x), 0), max_x)
        if y is not None:
            self.scroll_y = min(max(int(y), 0), max_y)

    def center_on_pitch(self, pitch: float) -> None:
        self.scroll_to(y=(self.high - pitch + 0.5) * self.row_px - self.area_height / 2)

    def follow(self, beat: float) -> None:
        """Scroll so the playhead at `beat` is in view, a tenth of the view in from the left."""
        x = beat * self.beat_px
        if x < self.scroll_x or x > self.scroll_x + self.area_width:
            self.scroll_to(x=x - self.area_width * 0.1)

    # -- coordinates ------------------------------------------------------------------------
    def x_of(self, beat: float) -> float:
        return KEYBOARD_WIDTH + beat * self.beat_px - self.scroll_x

    def beat_at(self, x: float) -> float:
        return (x - KEYBOARD_WIDTH + self.scroll_x) / self.beat_px

    def y_of_row(self, row: int) -> float:
        """Viewport y of the top of row `row` (row 0 is the highest pitch)."""
        return RULER_HEIGHT + row * self.row_px - self.scroll_y

    def pitch_at(self, y: float) -> int | None:
        """Pitch under viewport y (None above the roll or below its range)."""
        if y < RULER_HEIGHT or y >= RULER_HEIGHT + self.area_height:
            return None
        pitch = self.high - int((y - RULER_HEIGHT + self.scroll_y) // self.row_px)
        return pitch if self.low <= pitch <= self.high else None

    def visible_beats(self) -> tuple[float, float]:
        left = self.scroll_x / self.beat_px
        return left, left + self.area_width / self.beat_px

    def visible_rows(self) -> tuple[int, int]:
        """First and last pitch row (0 = `high`) in view, the last one possibly cut."""
        area = max(self.lane_top - RULER_HEIGHT, 0)
        return int(self.scroll_y // self.row_px), int((self.scroll_y + area) // self.row_px) + 1

    def area_at(self, x: float, y: float) -> Area:
        """Which part of the roll viewport point x, y is on."""
        if y < RULER_HEIGHT:
            if x < KEYBOARD_WIDTH:
                return "corner"
            return "loop_strip" if y < LOOP_STRIP_HEIGHT else "bar_strip"
        if y >= self.lane_top:
            return "velocity"
        return "keyboard" if x < KEYBOARD_WIDTH else "notes"

    def note_at(self, x: float, y: float) -> int | None:
        """The song's index of the note under viewport point x, y (the last drawn, on top)."""
        if self.area_at(x, y) != "notes":
            return None
        pitch, beat = self.pitch_at(y), self.beat_at(x)
        hits = np.flatnonzero(
            (self.notes.pitches == pitch) & (self.notes.starts <= beat) & (self.notes.ends > beat)
        )
        return int(hits[-1]) if len(hits) else None

    # -- zoom -------------------------------------------------------------------------------
    def set_zoom(self, beat_px: float | None = None, row_px: float | None = None) -> None:
        """Set pixels per beat / per pitch row, keeping the view's centre where it was."""
        left, right = self.visible_beats()
        centre_beat = (left + right) / 2
        centre_pitch = self.high - (self.scroll_y + self.area_height / 2) / self.row_px
        if beat_px is not None:
            self.beat_px = float(min(max(beat_px, MIN_BEAT_PX), MAX_BEAT_PX))
        if row_px is not None:
            self.row_px = float(min(max(row_px, MIN_ROW_PX), MAX_ROW_PX))
        self.scroll_to(
            centre_beat * self.beat_px - self.area_width / 2,
            (self.high - centre_pitch) * self.row_px - self.area_height / 2,
        )

    def fit(self) -> None:
        """Zoom so the whole song and its pitch range fit the view (a default zoom when empty)."""
        if self.note_count == 0:
            self.set_zoom(beat_px=24.0, row_px=10.0)
            return
        lo, hi = int(self.notes.pitches.min()), int(self.notes.pitches.max())
        beat_px = self.area_width / (self.end_beat + 0.5)
        self.beat_px = float(min(max(beat_px, MIN_BEAT_PX), MAX_BEAT_PX))
        row_px = self.area_height / (hi - lo + 3)
        self.row_px = float(min(max(row_px, MIN_ROW_PX), MAX_ROW_PX))
        self.scroll_to(x=0)
        self.center_on_pitch((lo + hi) / 2)

    # -- what to draw -----------------------------------------------------------------------
    def bars(self) -> list[tuple[float, int]]:
        """The bar lines the grid and ruler draw, a little past the view or the song's end."""
        _left, right = self.visible_beats()
        return bar_lines(self.song, max(right, self.end_beat) + 8)

    def mark_written(self, first_bar: int, last_bar: int) -> None:
        """Show bars `first_bar`..`last_bar` (counted from 1) as the ones a co-writing action
        wrote, so a regenerated song says where it differs from the song it came from; bars the
        song does not reach are left out (nothing shown when none is left)."""
        starts = {number: beat for beat, number in bar_lines(self.song, self.end_beat + 1)}
        first, after = starts.get(int(first_bar)), starts.get(int(last_bar) + 1, self.end_beat)
        self.written = (first, after) if first is not None and first < after else None

    def bar_label_stride(self, bars: list[tuple[float, int]]) -> int:
        """Label (and draw) every bar when there is room, else every 2nd, 4th, … bar."""
        bar_px = (bars[1][0] - bars[0][0]) * self.beat_px if len(bars) > 1 else 100.0
        if bar_px >= MIN_BAR_LABEL_PX:
            return 1
        return 2 ** math.ceil(math.log2(MIN_BAR_LABEL_PX / max(bar_px, 1e-3)))

    def shown_loop(self) -> tuple[float, float] | None:
        """The loop region to draw: the one being dragged, else the one set."""
        return self.pending_loop or self.loop_region

    def note_rects(self) -> NoteRects:
        """Rectangles of the notes in view (notes one pixel apart, at least 1.5 wide)."""
        first, last = self.visible_rows()
        left, right = self.visible_beats()
        n = self.notes
        mask = (
            (n.starts < right)
            & (n.ends > left)
            & (n.pitches <= self.high - first + 1)
            & (n.pitches >= self.high - last - 1)
        )
        idx = np.flatnonzero(mask)
        xs = KEYBOARD_WIDTH + n.starts[idx] * self.beat_px - self.scroll_x
        ws = np.maximum((n.ends[idx] - n.starts[idx]) * self.beat_px - 1.0, 1.5)
        ys = RULER_HEIGHT + (self.high - n.pitches[idx]) * self.row_px - self.scroll_y + 0.5
        return NoteRects(idx, xs, ys, ws, max(self.row_px - 1.0, 1.0))

    def stem_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices, x and stem-top y of the notes whose onsets are in view: the velocity lane's
        stems, as tall as the notes are loud."""
        left, right = self.visible_beats()
        pad = 2.0 / self.beat_px
        starts = self.notes.starts
        idx = np.flatnonzero((starts >= left - pad) & (starts <= right + pad))
        xs = np.round(self.x_of(0.0) + starts[idx] * self.beat_px)
        tops = (
            self.height
            - 3
            - np.clip(self.notes.velocities[idx], 1, 127) / 127.0 * (self.lane_height - 9)
        )
        return idx, xs, np.round(tops)

    def velocity_y(self, velocity: float) -> float:
        """Viewport y of a stem top at `velocity` in the velocity lane."""
        return self.height - 3 - velocity / 127.0 * (self.lane_height - 9)

    def velocity_stems(self) -> list[tuple[float, float, int]]:
        """(x, y of the stem's top, velocity) of every stem the velocity lane draws now, one per
        visible note at its onset, left to right."""
        if not self.velocity_lane_visible or not self.note_count:
            return []
        idx, xs, tops = self.stem_geometry()
        order = np.argsort(xs, kind="stable")
        velocities = self.notes.velocities
        return [(float(xs[i]), float(tops[i]), int(velocities[idx[i]])) for i in order.tolist()]

    def colour_groups(self, idx: np.ndarray) -> Iterator[tuple[np.ndarray, int, bool]]:
        """(positions into `idx`, velocity, generated?) for each colour the notes `idx` are drawn
        in: one per velocity bucket, primer notes apart."""
        buckets = self.notes.buckets[idx]
        primer = self.notes.primer[idx]
        for is_primer in (False, True):
            if is_primer and not self.primer_beats:
                continue
            for bucket in range(VELOCITY_BUCKETS):
                sel = np.flatnonzero((buckets == bucket) & (primer == is_primer))
                if len(sel):
                    velocity = int((bucket + 0.5) * 128 / VELOCITY_BUCKETS)
                    yield sel, velocity, self.generated and not is_primer

    # -- loop region and ruler --------------------------------------------------------------
    def set_loop_region(self, start: float | None, end: float | None = None) -> None:
        """Loop `start`..`end` beats; None (or an empty range) shows none."""
        if start is None or end is None or end <= start:
            self.loop_region = None
        else:
            self.loop_region = (float(start), float(end))

    def clear_loop_region(self) -> bool:
        """Remove the loop region; whether there was one."""
        had = self.loop_region is not None
        self.loop_region = None
        return had

    def loop_bar_at(self, beat: float) -> tuple[float, float]:
        """The bar that contains `beat`, following the time-signature map."""
        start, end, _number = bar_at(self.song, beat)
        return start, end

    def bar_number_at(self, beat: float) -> int | None:
        return bar_at(self.song, beat)[2]

    def press_ruler(self, x: float, y: float, shift: bool) -> float | None:
        """Start a ruler drag at viewport x, y; the beat to seek to when it seeks."""
        beat = max(self.beat_at(x), 0.0)
        mode = "loop" if y < LOOP_STRIP_HEIGHT or shift else "seek"
        self.drag = RulerDrag(mode, beat, x, beat=beat)
        return beat if mode == "seek" else None

    def move_ruler(self, x: float) -> float | None:
        """The pointer moved to viewport x while pressed: the beat to seek to now, if any (a loop
        drag updates `pending_loop` instead)."""
        drag = self.drag
        if drag is None:
            return None
        beat = max(self.beat_at(x), 0.0)
        if abs(x - drag.x) >= DRAG_THRESHOLD_PX:
            drag.moved = True
        if drag.mode == "seek":
            if beat != drag.beat:
                drag.beat = beat
                return beat
        elif drag.moved:
            self.pending_loop = snap_loop(drag.anchor, beat)
        return None

    def release_ruler(self, x: float, y: float) -> RulerRelease | None:
        """The drag ended at viewport x, y: what it did (None for a seek drag)."""
        drag, self.drag = self.drag, None
        if drag is None or drag.mode != "loop":
            return None
        if abs(x - drag.x) >= DRAG_THRESHOLD_PX:  # the region ends where it is let go
            drag.moved = True
            self.pending_loop = snap_loop(drag.anchor, max(self.beat_at(x), 0.0))
        pending, self.pending_loop = self.pending_loop, None
        if drag.moved and pending is not None:
            self.loop_region = pending
            return RulerRelease("loop", *pending)
        if y < LOOP_STRIP_HEIGHT:
            return RulerRelease("clear")  # a click on the loop strip, as in most DAWs
        return RulerRelease("seek", drag.anchor, drag.anchor)  # a Shift+click on the bar numbers

    def follow_resumes(self, beat: float) -> bool:
        """Whether a playhead at `beat` has come into the left half of the view, where playback
        takes up following again after the person scrolled away."""
        left, right = self.visible_beats()
        return left <= beat <= left + (right - left) * 0.5

    # -- editing geometry -------------------------------------------------------------------
    def pitch_row_at(self, y: float) -> int:
        """The pitch of the row at viewport y, beyond the roll's range too (for drags)."""
        return self.high - int(math.floor((y - RULER_HEIGHT + self.scroll_y) / self.row_px))

    def velocity_at(self, y: float) -> int:
        """The velocity a stem reaching viewport y in the velocity lane stands for (1..127)."""
        span = max(self.lane_height - 9, 1)
        return int(min(max(round((self.height - 3 - y) / span * 127.0), 1), 127))

    def stem_at(self, x: float, prefer: np.ndarray | None = None) -> int | None:
        """The note whose velocity stem is nearest viewport x (within a few pixels); among
        stems as near, a selected one (`prefer`) and then the loudest."""
        if not self.note_count:
            return None
        idx, xs, _tops = self.stem_geometry()
        near = np.abs(xs - x) <= STEM_HIT_PX
        if not near.any():
            return None
        idx, xs = idx[near], xs[near]
        best = np.abs(xs - x)
        chosen = idx[best == best.min()]
        if prefer is not None and len(prefer) == self.note_count and prefer[chosen].any():
            chosen = chosen[prefer[chosen]]
        return int(chosen[np.argmax(self.notes.velocities[chosen])])

    def on_right_edge(self, x: float, index: int) -> bool:
        """Whether viewport x is on note `index`'s right edge, where a drag resizes it."""
        n = self.notes
        left, right = self.x_of(float(n.starts[index])), self.x_of(float(n.ends[index]))
        grip = min(RESIZE_GRIP_PX, (right - left) / 3)
        return right - grip <= x <= right + 1

    def notes_in(self, beats: tuple[float, float], pitches: tuple[int, int]) -> np.ndarray:
        """Indices of the notes that overlap beats lo..hi on pitches lo..hi (a rubber band)."""
        n = self.notes
        return np.flatnonzero(
            (n.starts < beats[1])
            & (n.ends > beats[0])
            & (n.pitches >= pitches[0])
            & (n.pitches <= pitches[1])
        )
