"""The piano roll's own toolbar: zoom in time and pitch, fit the song, show the velocity lane,
and the snap box for editing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QComboBox, QToolButton, QWidget

from . import roll_edit_tool


def build(roll: QWidget) -> QComboBox:
    """Zoom, fit, the velocity lane and the snap box on the `ui.piano_roll.PianoRoll` `roll`'s
    toolbar (its actions in `roll.actions`); returns the snap box."""
    view = roll.view
    for key, text, tip, slot in (
        (
            "zoom_in_time",
            "Time +",
            "Zoom in on time (Ctrl+wheel)",
            lambda: view.zoom_time(1.25),
        ),
        (
            "zoom_out_time",
            "Time −",
            "Zoom out in time (Ctrl+wheel)",
            lambda: view.zoom_time(0.8),
        ),
        (
            "zoom_in_pitch",
            "Pitch +",
            "Taller pitch rows (Shift+wheel)",
            lambda: view.zoom_pitch(1.2),
        ),
        (
            "zoom_out_pitch",
            "Pitch −",
            "Shorter pitch rows (Shift+wheel)",
            lambda: view.zoom_pitch(1 / 1.2),
        ),
        ("fit", "Fit song", "Zoom so the whole song fits the view", view.fit_song),
    ):
        roll.actions[key] = _add_action(roll, text, tip)
        roll.actions[key].triggered.connect(slot)
    velocity = _add_action(
        roll, "Velocity", "Show the velocity lane under the notes: one stem per note"
    )
    velocity.setCheckable(True)
    velocity.setChecked(True)
    velocity.toggled.connect(view.set_velocity_lane_visible)
    roll.actions["velocity"] = velocity
    snap = roll_edit_tool.snap_box(roll.toolbar, view.editor)
    # Toolbar buttons take no focus by default; these have no menu entry of their own, so
    # Tab must reach them.
    for button in roll.toolbar.findChildren(QToolButton):
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return snap


def _add_action(roll: QWidget, text: str, tip: str) -> QAction:
    action = QAction(QIcon(), text, roll)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    roll.toolbar.addAction(action)
    return action
