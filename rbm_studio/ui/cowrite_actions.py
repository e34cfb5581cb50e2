"""The window's Write menu: writing with the model rather than only from it. Play an idea in
(`ui.midi_input_panel`), and Regenerate, More Like This and Harmonise on the shown song
(`ui.cowrite_dialog`), each a dialog kept while the window lives.

Installed by the main window in one call, so the window's own modules keep to their wiring.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu

from ..playback.player import MidiPlayer
from ..studio.cowrite_list import HARMONISE, MORE_LIKE_THIS, REGENERATE
from .cowrite_dialog import CowriteDialog
from .midi_input_panel import PlayInDialog

# The window these build on: `ui.main_window.MainWindow` (not imported: it imports this module).
MainWindow = QMainWindow


def _action(window: MainWindow, text: str, tip: str, slot, shortcut: str | None = None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def play_in(
    window: MainWindow, *, player: MidiPlayer | None = None, apis: list[str] | None = None
) -> PlayInDialog:
    """Show the Play an Idea In dialog (one per window, kept while the window lives; `player`
    and `apis` as `PlayInDialog` takes them, for the first showing)."""
    dialog = getattr(window, "play_in_dialog", None)
    if dialog is None:
        dialog = PlayInDialog(window, player=player, apis=apis)
        window.play_in_dialog = dialog
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(dialog.shutdown)
    dialog.show()
    dialog.raise_()
    return dialog


def cowrite(window: MainWindow, action: str) -> CowriteDialog:
    """Show the dialog of `action` (regenerate, more like this, harmonise) for the shown song;
    Regenerate takes the piano roll's selection afresh each time it is shown."""
    dialogs = window.cowrite_dialogs
    dialog = dialogs.get(action)
    if dialog is None:
        dialog = dialogs[action] = CowriteDialog(window, action)
    else:
        dialog.refresh()
        if action == REGENERATE:
            dialog.use_selection()
    dialog.show()
    dialog.raise_()
    return dialog


ACTIONS = (
    (
        "regenerate_action",
        "&Regenerate Bars…",
        "Write chosen bars (and pitches) of the shown song again, given the notes around them",
        REGENERATE,
        "Ctrl+R",
    ),
    (
        "more_like_this_action",
        "&More Like This…",
        "Write a share of the shown song again, given the rest",
        MORE_LIKE_THIS,
        "Ctrl+M",
    ),
    (
        "harmonise_action",
        "&Harmonise…",
        "Keep a melody and let the model write the voices under it",
        HARMONISE,
        "Ctrl+Shift+H",
    ),
)


def install(window: MainWindow) -> None:
    """The Write menu (before View) and its actions as attributes of `window`."""
    window.play_in_dialog = None
    window.play_in_action = _action(
        window,
        "&Play an Idea In…",
        "Record bars from a MIDI keyboard to a metronome; the model can answer them",
        lambda: play_in(window),
        "Ctrl+Shift+R",
    )
    menu = QMainWindow.menuBar(window)
    write_menu = QMenu("&Write", menu)
    view_menu = getattr(window, "view_menu", None)
    if view_menu is not None:
        menu.insertMenu(view_menu.menuAction(), write_menu)
    else:
        menu.addMenu(write_menu)
    write_menu.addAction(window.play_in_action)
    write_menu.addSeparator()
    window.cowrite_dialogs = {}
    for attribute, text, tip, action, shortcut in ACTIONS:

        def show(_checked=False, action=action) -> CowriteDialog:
            return cowrite(window, action)

        setattr(window, attribute, _action(window, text, tip, show, shortcut))
        write_menu.addAction(getattr(window, attribute))
    window.write_menu = write_menu
