"""The main window's furniture, built here so the window keeps to wiring: its docks and their
first sizes, its actions (each with a tip and a shortcut), menus and toolbars, the
autosave-restore banner, and its message, About and keyboard shortcuts boxes. Every function takes the window and sets the attributes the window and the tests
use (`window.train_action`, `window.main_toolbar`, …).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from . import crash_report
from .roll_edit_tool import KEY_ROWS

# The window these build on: `ui.main_window.MainWindow` (not imported: it imports this module).
MainWindow = QMainWindow

APP_TITLE = "RBM Studio"
# Initial dock sizes in pixels (dataset, training; generation height) for the 1400×900 window.
DEFAULT_SIDE_DOCK_WIDTHS = (300, 500)
DEFAULT_GENERATION_HEIGHT = 290
COMPACT_WIDTH = 1200  # narrower windows start with the side panels tabbed together
COMPACT_SIDE_WIDTH = 380
COMPACT_HEIGHT = 800  # shorter windows start with a shorter generation panel


class RestoreBanner(QFrame):
    """Non-blocking offer to restore the autosaved training state of a previous session."""

    restoreRequested = Signal()
    discardRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(self.palette().ColorRole.AlternateBase)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Open the model from the interrupted training session")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the autosaved model and start fresh")
        self.restore_button.clicked.connect(self.restoreRequested)
        self.discard_button.clicked.connect(self.discardRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.discard_button)
        self.hide()

    def offer(self, text: str) -> None:
        self.label.setText(text)
        self.show()


def make_dock(window: MainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    """A dock the musician may move, float and close."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    return dock


def create_docks(window: MainWindow) -> None:
    """The dataset (left), training (right) and generation (bottom) docks."""
    w = window
    w.dataset_dock = make_dock(w, "Dataset", "datasetDock", w.browser)
    w.training_dock = make_dock(w, "Training", "trainingDock", w.training)
    w.generation_dock = make_dock(w, "Generation", "generationDock", w.generation)
    # Side docks run the full height; the generation dock sits under the piano roll only.
    w.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.dataset_dock)
    w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, w.training_dock)
    w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, w.generation_dock)


def stack(top: QWidget, main: QWidget) -> QWidget:
    """`top` (a banner) over `main`, which takes the height, without margins."""
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(top)
    layout.addWidget(main, 1)
    return central


def apply_default_dock_sizes(window: MainWindow) -> None:
    """Song list and training panel wide enough to read, the piano roll gets the rest.
    Without this the docks start at their minimum hints (the song list squeezed to its
    word-wrapped hint, the training panel at its plots' wide hint)."""
    w = window
    if w.width() < COMPACT_WIDTH:
        # A small screen: the song list and the training panel share the right side as
        # tabs (songs first), so the piano roll and the generation panel keep their room.
        w.tabifyDockWidget(w.training_dock, w.dataset_dock)
        w.dataset_dock.raise_()
        w.resizeDocks([w.training_dock], [COMPACT_SIDE_WIDTH], Qt.Orientation.Horizontal)
    else:
        w.resizeDocks(
            [w.dataset_dock, w.training_dock],
            list(DEFAULT_SIDE_DOCK_WIDTHS),
            Qt.Orientation.Horizontal,
        )
    height = DEFAULT_GENERATION_HEIGHT if w.height() >= COMPACT_HEIGHT else 200
    w.resizeDocks([w.generation_dock], [height], Qt.Orientation.Vertical)
    # resizeDocks only records the sizes; lay out now so the very next paint (or a
    # screenshot taken right away) already shows them.
    layout = w.layout()
    if layout is not None:
        layout.activate()


def _action(window: MainWindow, text: str, tip: str, slot, shortcut=None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even when menus and toolbars are hidden
    return action


def create_actions(window: MainWindow) -> None:
    """Every action of the menus and toolbars, as attributes of `window`."""
    _file_actions(window)
    _model_actions(window)
    _view_actions(window)


def _file_actions(window: MainWindow) -> None:
    w = window

    def a(*args):
        return _action(w, *args)

    w.open_folder_action = a(
        "Open &Folder…", "Import a folder of MIDI songs", w.choose_folder, "Ctrl+O"
    )
    w.open_model_action = a(
        "Open &Model…", "Open a saved .rbm model", w.choose_model_to_open, "Ctrl+Shift+O"
    )
    w.save_model_action = a(
        "&Save Model…", "Save the trained model as a .rbm file", w.save_model, "Ctrl+S"
    )
    w.save_model_as_action = a(
        "Save Model &As…", "Save the model under a new name", w.save_model_as, "Ctrl+Shift+S"
    )
    w.export_action = a(
        "&Export MIDI…",
        "Export the selected (or all) generated songs as .mid files",
        w.choose_export_folder,
        "Ctrl+E",
    )
    w.quit_action = a("&Quit", "Quit RBM Studio", w.close, QKeySequence.StandardKey.Quit)


def _model_actions(window: MainWindow) -> None:
    w, g = window, window.generation

    def a(*args):
        return _action(w, *args)

    w.train_action = a("&Train", "Train the model on the dataset", w.train, "Ctrl+T")
    w.pause_action = a(
        "&Pause / Resume", "Pause or resume training", w.training.toggle_pause, "Ctrl+P"
    )
    w.stop_action = a(
        "S&top Training", "Stop training and keep the model", w.training.stop, "Ctrl+."
    )
    w.stop_action.setIconText("Stop")  # in the toolbar, where it takes Train's place
    w.generate_action = a("&Generate", "Generate new songs from the model", g.generate, "Ctrl+G")
    w.sample_action = a(
        "&Hear a Sample",
        "Generate and play a short phrase from the model as it trains",
        w.hear_sample,
        "Ctrl+H",
    )
    w.compare_action = a(
        "&A/B Compare",
        "Play the same bars of the two selected songs in turn",
        g.compare,
        "Ctrl+B",
    )
    w.again_action = a(
        "Generate A&gain",
        "Generate again with the selected song's seed and settings",
        g.again,
        "Ctrl+Shift+G",
    )
    w.export_starred_action = a(
        "Export S&tarred…",
        "Export every starred song as .mid files",
        lambda: w.choose_export_folder_for("starred"),
        "Ctrl+Shift+E",
    )
    w.cancel_import_action = a(
        "Cancel &Import", "Stop the running import", w.browser.cancel_import, "Esc"
    )


def _view_actions(window: MainWindow) -> None:
    w, view = window, window.piano_roll.view

    def a(*args):
        return _action(w, *args)

    w.reset_layout_action = a(
        "&Reset Layout", "Put every panel back where it started", w.reset_layout
    )
    w.zoom_in_action = a(
        "Zoom &In", "Zoom in on time", lambda: view.zoom_time(1.25), QKeySequence.StandardKey.ZoomIn
    )
    w.zoom_out_action = a(
        "Zoom &Out",
        "Zoom out in time",
        lambda: view.zoom_time(0.8),
        QKeySequence.StandardKey.ZoomOut,
    )
    w.zoom_pitch_in_action = a(
        "Taller Rows", "Zoom in on pitch", lambda: view.zoom_pitch(1.2), "Ctrl+Shift+="
    )
    w.zoom_pitch_out_action = a(
        "Shorter Rows", "Zoom out on pitch", lambda: view.zoom_pitch(1 / 1.2), "Ctrl+Shift+-"
    )
    w.fit_action = a("&Fit Song", "Fit the whole song in the view", view.fit_song, "Ctrl+0")
    w.about_action = a("&About RBM Studio", "About this program", w.show_about)
    w.shortcuts_action = a(
        "&Keyboard Shortcuts", "List every keyboard shortcut", w.show_shortcuts, "F1"
    )
    w.open_log_action = a(
        "Open &Log Folder",
        "Open the folder with RBM Studio's log (attach it to a bug report)",
        crash_report.open_log_folder,
    )


def create_menus_and_toolbars(window: MainWindow) -> None:
    """The menu bar, the main toolbar and the (hidden until a transport is added) transport
    toolbar."""
    w = window
    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    for action in (w.open_folder_action, w.open_model_action):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(w.save_model_action)
    file_menu.addAction(w.save_model_as_action)
    file_menu.addAction(w.export_action)
    file_menu.addAction(w.export_starred_action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    _edit_menu(w)
    model_menu = menu.addMenu("&Model")
    for action in (
        w.train_action,
        w.pause_action,
        w.stop_action,
        w.sample_action,
        w.generate_action,
        w.again_action,
        w.compare_action,
        w.cancel_import_action,
    ):
        model_menu.addAction(action)
    panels = _view_menu(w)
    help_menu = menu.addMenu("&Help")
    help_menu.addAction(w.shortcuts_action)
    help_menu.addAction(w.open_log_action)
    help_menu.addAction(w.about_action)
    _toolbars(w, panels)


def _edit_menu(window: MainWindow) -> None:
    edit_menu = window.menuBar().addMenu("&Edit")
    g = window.generation
    for action in (g.undo_action, g.redo_action, g.star_action):
        window.addAction(action)  # the shortcuts work wherever the focus is
        edit_menu.addAction(action)
    # Del only where the songs are: in a spin box or the song list it means something else.
    g.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    g.list.addAction(g.delete_action)
    edit_menu.addAction(g.delete_action)


def _view_menu(window: MainWindow):
    """The View menu; returns its Panels submenu (the toolbars add themselves to it)."""
    w = window
    w.view_menu = w.menuBar().addMenu("&View")
    for action in (
        w.zoom_in_action,
        w.zoom_out_action,
        w.zoom_pitch_in_action,
        w.zoom_pitch_out_action,
        w.fit_action,
    ):
        w.view_menu.addAction(action)
    w.view_menu.addSeparator()
    panels = w.view_menu.addMenu("&Panels")
    for dock in (w.dataset_dock, w.training_dock, w.generation_dock):
        panels.addAction(dock.toggleViewAction())
    w.view_menu.addAction(w.reset_layout_action)
    return panels


def _toolbars(window: MainWindow, panels) -> None:
    w = window
    w.main_toolbar = QToolBar("Main")
    w.main_toolbar.setObjectName("mainToolbar")
    # Few, short buttons: the transport shares the row, and at 1024 pixels wide every one must
    # show without the toolbar's » overflow. Opening and saving models live in the File menu.
    w.open_folder_action.setIconText("Open")
    w.export_action.setIconText("Export")
    w.main_toolbar.addAction(w.open_folder_action)
    w.main_toolbar.addSeparator()
    # Train and Stop share one button: Train while idle, Stop while training.
    w.train_stop_button = QToolButton()
    w.train_stop_button.setObjectName("trainStopButton")
    w.train_stop_button.setAutoRaise(True)
    widths = []
    for action in (w.stop_action, w.train_action):
        set_only_action(w.train_stop_button, action)
        widths.append(w.train_stop_button.sizeHint().width())
    # One width for both words: a toolbar that changes size mid-run may leave its » showing.
    w.train_stop_button.setFixedWidth(max(widths))
    w.main_toolbar.addWidget(w.train_stop_button)
    for action in (w.generate_action, w.export_action):
        w.main_toolbar.addAction(action)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, w.main_toolbar)
    panels.addAction(w.main_toolbar.toggleViewAction())
    # The transport (ui.transport, installed by window_factory.build_main_window) goes here
    # via add_transport(), beside the main toolbar: one row of toolbars leaves the height to
    # the panels (a narrow window stacks the transport's outputs under its controls).
    w.transport_toolbar = QToolBar("Transport")
    w.transport_toolbar.setObjectName("transportToolbar")
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, w.transport_toolbar)
    w.transport_toolbar.hide()
    panels.addAction(w.transport_toolbar.toggleViewAction())


def set_only_action(button: QToolButton, action: QAction) -> None:
    """Make `action` the button's action; the one before goes (a tool button holding two shows
    a menu arrow)."""
    for old in button.actions():
        button.removeAction(old)
    button.setDefaultAction(action)


def follow_training(window: MainWindow, training: bool) -> None:
    """The toolbar's Train button becomes Stop while training, and back (one place for both:
    a narrow window keeps Train, Generate and Export in sight instead of an overflow menu)."""
    button = window.train_stop_button
    action = window.stop_action if training else window.train_action
    if button.defaultAction() is not action:
        set_only_action(button, action)


def warning_box(window: QWidget, text: str) -> QMessageBox:
    """A warning shown without blocking: the message is seen, nothing waits on it."""
    box = QMessageBox(QMessageBox.Icon.Warning, APP_TITLE, text, parent=window)
    box.setModal(False)
    box.show()
    return box


def about_box(window: QWidget) -> QMessageBox:
    """The About box, shown without blocking."""
    box = QMessageBox(window)
    box.setWindowTitle(f"About {APP_TITLE}")
    box.setText(
        f"<b>{APP_TITLE} {__version__}</b><p>Learns music from your MIDI songs with a "
        "Restricted Boltzmann Machine, generates new songs and exports them as MIDI.</p>"
    )
    box.setModal(False)
    box.show()
    return box


def shortcut_rows(window: MainWindow) -> list[tuple[str, str]]:
    """(action, shortcut) for every action of `window` that has one."""
    rows = []
    for action in window.actions():
        seq = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if seq:
            rows.append((action.text().replace("&", ""), seq))
    rows.append(("Zoom time / pitch in the piano roll", "Ctrl+wheel / Shift+wheel"))
    rows.extend(KEY_ROWS)
    return rows


def shortcuts_dialog(window: QWidget, rows: list[tuple[str, str]]) -> QDialog:
    """A table of (action, shortcut) rows, shown without blocking."""
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    for r, (name, seq) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(name))
        table.setItem(r, 1, QTableWidgetItem(seq))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(460, 480)
    dialog.setModal(False)
    dialog.show()
    return dialog
