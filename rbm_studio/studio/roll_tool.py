"""What a press, a drag and a key do on the piano roll's notes, without Qt: selection, the
gesture under way and its preview, and the `NoteEdit` it ends in (`studio.roll_edit`).

The widget forwards viewport points and key names here and pushes the edits it gets back onto the
window's undo stack; applying them to the song is the undo command's job, so nothing here changes
the song. While a drag is under way the model shows a preview (`RollModel.notes` replaced by a
changed copy) and the song stays as it was until the press is let go.

Gestures, as in most piano rolls:
- press on empty space and drag: draw a note (the drag sets its length), snapped to the grid;
- press on a note and drag: move it (and the rest of the selection) in time and pitch;
  on its right end: resize; Shift+click adds to the selection, Ctrl+click toggles a note;
- Shift-drag on empty space: rubber-band selection (Ctrl-drag adds to the selection, as in Qt's
  item views);
- press in the velocity lane on a stem and drag up or down: that note's velocity (the whole
  selection's when the stem's note is selected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..music.meter import bar_at
from ..music.song import DEFAULT_VELOCITY, Note
from . import roll_edit as ed
from .roll import DRAG_THRESHOLD_PX, EPS, RollModel, RollNotes

Mode = Literal["move", "resize", "draw", "band", "velocity"]
COMMANDS = (
    "select_all",
    "deselect",
    "delete",
    "duplicate",
    "quantize",
    "up",
    "down",
    "octave_up",
    "octave_down",
    "left",
    "right",
)


@dataclass(slots=True)
class Gesture:
    """A press on the notes or the velocity lane, until it is let go."""

    mode: Mode
    x: float
    y: float
    beat: float
    pitch: int
    base: RollNotes  # the notes as they were at the press
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    anchor: int | None = None  # the note pressed
    moved: bool = False
    was_selected: bool = False  # the note pressed was selected already
    before: np.ndarray | None = None  # a rubber band that adds: the selection at the press
    value: tuple = ()  # where the drag is now: (beats, semitones), (beats,), (end,), (velocity,)


@dataclass(slots=True)
class RollEditor:
    """Selection and gestures on `model`'s notes; see the module docstring."""

    model: RollModel
    snap: str = "1/16"
    velocity: int = DEFAULT_VELOCITY  # of the notes drawn
    gesture: Gesture | None = None
    region: tuple[float, float, int, int] | None = None  # the rubber band's beats and pitches
    version: int = 0  # counts selection changes, so the widget knows when to say so

    # -- selection --------------------------------------------------------------------------
    @property
    def grid(self) -> ed.Grid:
        return ed.Grid(self.snap, self.model.song)

    @property
    def notes(self) -> list[Note]:
        return self.model.song.notes if self.model.song is not None else []

    def selection(self) -> list[int]:
        return np.flatnonzero(self.model.selected).tolist()

    def selected_notes(self) -> list[Note]:
        notes = self.notes
        return [notes[i] for i in self.selection() if i < len(notes)]

    def set_selection(self, indices, *, region: tuple | None = None) -> None:
        mask = np.zeros(self.model.note_count, dtype=bool)
        mask[np.asarray(list(indices), dtype=np.int64)] = True
        if not np.array_equal(mask, self.model.selected) or region != self.region:
            self.model.selected = mask
            self.region = region
            self.version += 1

    def shown(self, selection: list[int] | None) -> None:
        """The song was set or edited: `selection` (indices) is what is selected now."""
        self.gesture = None
        self.region = None
        self.version += 1
        if selection is not None:
            count = self.model.note_count
            self.model.selected[:] = False
            self.model.selected[[i for i in selection if i < count]] = True

    def selected_region(self) -> tuple[int, int, int, int] | None:
        """(first bar, last bar, lowest pitch, highest pitch) of the selection, bars counted
        from 1: the rubber band's bars and pitches when it made the selection, else the
        selected notes' extent. None when nothing is selected."""
        if self.region is not None:
            start, end, low, high = self.region
        else:
            picked = self.selected_notes()
            if not picked:
                return None
            start, end = min(n.start for n in picked), max(n.end for n in picked)
            low, high = min(n.pitch for n in picked), max(n.pitch for n in picked)
        song = self.model.song
        first = bar_at(song, start)[2] or 1
        last = bar_at(song, max(end - EPS, start))[2] or first
        return first, last, low, high

    # -- gestures ---------------------------------------------------------------------------
    def press(self, x: float, y: float, *, add: bool = False, toggle: bool = False) -> bool:
        """A left press at viewport x, y; whether it started (or was) an edit gesture."""
        m = self.model
        if m.song is None:
            return False
        area = m.area_at(x, y)
        if area == "velocity":
            return self._press_velocity(x, y)
        if area != "notes":
            return False
        pitch = m.pitch_row_at(y)
        g = Gesture("draw", x, y, m.beat_at(x), pitch, m.notes)
        index = m.note_at(x, y)
        if index is None and (add or toggle):
            g.mode, g.before = "band", m.selected.copy() if toggle else None
        elif index is None:
            self.set_selection([])
            start = self.grid.floor(max(g.beat, 0.0))
            g.value = (start, start + self.grid.length(start))
            m.notes = g.base.plus(pitch, *g.value, self.velocity)
        elif toggle:
            chosen = set(self.selection()) ^ {index}
            self.set_selection(chosen)
            return True
        else:
            g.was_selected = bool(m.selected[index]) and not add
            if not m.selected[index]:
                self.set_selection([*self.selection(), index] if add else [index])
            g.mode = "resize" if m.on_right_edge(x, index) else "move"
            g.anchor, g.indices = index, np.flatnonzero(m.selected)
        self.gesture = g
        return True

    def _press_velocity(self, x: float, y: float) -> bool:
        m = self.model
        index = m.stem_at(x, m.selected)
        if index is None:
            return False
        indices = np.flatnonzero(m.selected) if m.selected[index] else np.array([index])
        g = Gesture("velocity", x, y, m.beat_at(x), 0, m.notes, indices, index)
        self.gesture = g
        self._drag_velocity(g, y)
        return True

    def drag(self, x: float, y: float) -> bool:
        """The pointer moved to x, y while pressed; whether the roll needs repainting."""
        g = self.gesture
        if g is None:
            return False
        if abs(x - g.x) >= DRAG_THRESHOLD_PX or abs(y - g.y) >= DRAG_THRESHOLD_PX:
            g.moved = True
        if not g.moved and g.mode != "velocity":
            return False
        if g.mode == "velocity":
            self._drag_velocity(g, y)
        else:
            getattr(self, f"_drag_{g.mode}")(g, x, y)
        return True

    def _drag_move(self, g: Gesture, x: float, y: float) -> None:
        start = float(g.base.starts[g.anchor])
        beats = self.grid.nearest(start + self.model.beat_at(x) - g.beat) - start
        idx = g.indices
        beats = max(beats, -float(g.base.starts[idx].min()))
        low, high = int(g.base.pitches[idx].min()), int(g.base.pitches[idx].max())
        semis = min(max(self.model.pitch_row_at(y) - g.pitch, ed.LOWEST - low), ed.HIGHEST - high)
        g.value = (beats, semis)
        self.model.notes = g.base.changed(
            idx,
            self.model.primer_beats,
            starts=g.base.starts[idx] + beats,
            ends=g.base.ends[idx] + beats,
            pitches=g.base.pitches[idx] + semis,
        )

    def _min_length(self, beat: float) -> float:
        step = self.grid.step(beat)
        return step if step is not None else ed.MIN_LENGTH

    def _drag_resize(self, g: Gesture, x: float, _y: float) -> None:
        end = float(g.base.ends[g.anchor])
        beats = self.grid.nearest(end + self.model.beat_at(x) - g.beat) - end
        idx = g.indices
        shortest = self._min_length(float(g.base.starts[g.anchor]))
        g.value = (beats, shortest)
        ends = np.maximum(g.base.ends[idx] + beats, g.base.starts[idx] + shortest)
        self.model.notes = g.base.changed(idx, self.model.primer_beats, ends=ends)

    def _drag_draw(self, g: Gesture, x: float, _y: float) -> None:
        start = g.value[0]
        end = max(self.grid.nearest(self.model.beat_at(x)), start + self._min_length(start))
        g.value = (start, end)
        self.model.notes = g.base.plus(g.pitch, start, end, self.velocity)

    def _drag_band(self, g: Gesture, x: float, y: float) -> None:
        m = self.model
        m.band = (g.x, g.y, x, y)
        beats = sorted((g.beat, m.beat_at(x)))
        pitches = sorted((g.pitch, m.pitch_row_at(y)))
        inside = m.notes_in((beats[0], beats[1]), (pitches[0], pitches[1]))
        chosen = set(inside.tolist())
        if g.before is not None:
            chosen |= set(np.flatnonzero(g.before).tolist())
        self.set_selection(chosen, region=(beats[0], beats[1], pitches[0], pitches[1]))

    def _drag_velocity(self, g: Gesture, y: float) -> None:
        velocity = self.model.velocity_at(y)
        g.value = (velocity,)
        self.model.notes = g.base.changed(g.indices, self.model.primer_beats, velocities=velocity)

    def release(self, x: float, y: float) -> ed.NoteEdit | None:
        """The press was let go at x, y: the edit it made (None for a click or a band). The
        preview is dropped: the edit shows once it is applied to the song."""
        g = self.gesture
        if g is None:
            return None
        self.drag(x, y)
        self.gesture = None
        self.model.notes = g.base
        self.model.band = None
        notes, idx = self.notes, g.indices.tolist()
        edit = None
        if g.mode == "draw":
            edit = ed.draw(notes, g.pitch, *g.value, self.velocity)
        elif g.mode == "velocity":
            edit = ed.set_velocity(notes, idx, g.value[0])
        elif not g.moved:
            if g.mode in ("move", "resize") and g.was_selected:
                self.set_selection([g.anchor])  # a click on a selected note selects just it
        elif g.mode == "move":
            edit = ed.move(notes, idx, *g.value)
        elif g.mode == "resize":
            edit = ed.resize(notes, idx, *g.value)
        return edit if edit else None

    def cancel(self) -> None:
        """Drop the gesture under way (Esc, focus lost) and its preview."""
        g, self.gesture = self.gesture, None
        if g is not None:
            self.model.notes = g.base
            self.model.band = None

    # -- keys -------------------------------------------------------------------------------
    def command(self, name: str) -> ed.NoteEdit | None:
        """A key's edit on the selection (see `COMMANDS`); None when it changes no note."""
        if name == "select_all":
            self.set_selection(range(self.model.note_count))
            return None
        if name == "deselect":
            self.set_selection([])
            return None
        notes, sel = self.notes, self.selection()
        if not sel or self.gesture is not None:
            return None
        grid = self.grid
        step = grid.length(min(notes[i].start for i in sel))
        edits = {
            "delete": lambda: ed.delete(notes, sel),
            "duplicate": lambda: ed.duplicate(notes, sel, grid),
            "quantize": lambda: ed.quantize(notes, sel, grid),
            "up": lambda: ed.transpose(notes, sel, 1),
            "down": lambda: ed.transpose(notes, sel, -1),
            "octave_up": lambda: ed.transpose(notes, sel, 12),
            "octave_down": lambda: ed.transpose(notes, sel, -12),
            "left": lambda: ed.move(notes, sel, -step),
            "right": lambda: ed.move(notes, sel, step),
        }
        edit = edits[name]()
        return edit if edit else None
