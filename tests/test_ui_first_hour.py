"""A new user's first hour, scripted through the real window: a fresh user folder, import a folder
whose subfolders hold versions of the same tunes, train with the default preset (under a short
time limit), generate, export, and restart. At 1024×640 and at 1400×900 Generate is in sight
without scrolling and the toolbar needs no » overflow; the ETA and the progress bar follow the
time limit; the verdict does not flip-flop while the held-out score moves within its noise; the
model is open again after the restart; the export dialog never opens in the songs' folder.
Screenshots of both sizes go to tests/artifacts/."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton

from rbm_studio.resources import sample_midi_dir
from rbm_studio.studio.training_progress import COMPILING_LINE, MEMORISING
from rbm_studio.ui.dataset_browser import SongList
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

# The default preset trains for minutes. The test caps it at a minute (compiling counts in the
# limit, and takes half of that on a busy machine) and presses Stop once a few held-out scores
# are in, so the run lasts as long as compiling and a few seconds of training.
CAP_MINUTES = 1.0
SCORES = 6
SIZES = [(1024, 640), (1400, 900)]
CHORALES = sorted(sample_midi_dir().glob("*.mid"))

pytestmark = pytest.mark.skipif(len(CHORALES) < 4, reason="the bundled chorales are missing")


def song_folder(root: Path) -> Path:
    """Two chorales at the top, and the same two again in "take 1" and "take 2"."""
    folder = root / "my songs"
    for sub in ("", "take 1", "take 2"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for path in CHORALES[:2]:
            shutil.copy(path, folder / sub / path.name)
    return folder


def open_window(qtbot, settings: Path, size: tuple[int, int]):
    window = build_main_window(AppSettings(settings), midi_apis=[])
    window.training.autosave_to = settings.parent / "autosave.rbm"
    window.document.autosave = settings.parent / "autosave.rbm"
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def generate_in_sight(qtbot, window, artifacts_dir: Path, name: str) -> None:
    """Generate lies inside the window, unscrolled, and the toolbar shows every action."""
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / f"first_hour_{name}.png"))
    window.training_dock.raise_()
    board = window.training.plot_board
    if board.mode == "tabs":  # the held-out score and its verdict are the ones to look at
        board.tabs.setCurrentWidget(window.training.gap_plot)
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / f"first_hour_{name}_training.png"))
    window.dataset_dock.raise_()
    button = window.generation.generate_button
    assert button.isVisible()
    top_left = button.mapTo(window, QPoint(0, 0))
    bottom_right = button.mapTo(window, QPoint(button.width() - 1, button.height() - 1))
    assert window.rect().contains(top_left) and window.rect().contains(bottom_right), name
    assert not button.visibleRegion().isEmpty()
    overflow = [
        b
        for b in window.main_toolbar.findChildren(QToolButton)
        if b.objectName() == "qt_toolbar_ext_button"
    ]
    assert all(not b.isVisible() for b in overflow), f"{name}: the toolbar overflows"
    assert window.train_stop_button.actions() == [window.train_stop_button.defaultAction()]
    tools = window.main_toolbar
    for shown in (
        window.train_stop_button,
        tools.widgetForAction(window.generate_action),
        tools.widgetForAction(window.export_action),
    ):
        assert shown is not None and shown.isVisible(), shown.text()
        corner = shown.mapTo(window, QPoint(shown.width() - 1, shown.height() - 1))
        assert window.rect().contains(corner), shown.text()


def eta_seconds(text: str) -> float | None:
    """Seconds in the ETA label ("ETA 4 min 05 s", "ETA 23 s"); None for "ETA —"."""
    parts = dict((unit, int(n)) for n, unit in re.findall(r"(\d+) (h|min|s)\b", text))
    if not parts:
        return None
    return parts.get("h", 0) * 3600 + parts.get("min", 0) * 60 + parts.get("s", 0)


def dialog_start(qtbot, window) -> Path:
    """Open File → Export MIDI and read where the real folder dialog opens, then cancel it."""
    seen: list[Path] = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            seen.append(Path(dialog.directory().absolutePath()))
            dialog.reject()
        else:
            QTimer.singleShot(50, look)

    QTimer.singleShot(50, look)
    window.export_action.trigger()
    assert seen, "the export dialog did not open"
    return seen[0]


def watch_training(window, cap: float) -> list[tuple]:
    """After each batch the panel draws: (report, ETA shown, bar value, held scores, verdict)."""
    seen: list[tuple] = []

    def after_update(_update) -> None:
        panel = window.training
        report = panel.progress.log[-1]
        scores = [y for _, y in panel.held_scores]
        seen.append(
            (
                report,
                eta_seconds(panel.eta_label.text()),
                panel.progress_bar.value(),
                scores,
                panel.verdict_label.text(),
                panel.progress.noise(),
            )
        )

    window.training.job.progress.connect(after_update)
    return seen


def check_follows_cap(seen: list[tuple], cap: float) -> None:
    training = [s for s in seen if s[0].phase == "training" and s[0].elapsed > 0]
    assert training, "no training report arrived before the time limit"
    for report, eta, bar, *_ in training:
        assert eta is not None and eta <= cap - report.elapsed + 1, (eta, report)
        assert bar >= int(1000 * min(report.elapsed / cap, 1.0)) - 1, (bar, report)


def check_verdict_holds(seen: list[tuple]) -> None:
    """Between any two moments whose scores all lie within the noise, at most two turns."""
    steps = [(s[3][-1], s[4].startswith(MEMORISING), s[5]) for s in seen if s[3] and s[4]]
    noise = steps[-1][2] if steps and steps[-1][2] is not None else 0.0
    for i in range(len(steps)):
        for j in range(i + 1, len(steps)):
            scores = [score for score, _, _ in steps[i : j + 1]]
            if max(scores) - min(scores) >= noise:
                break
            kinds = [kind for _, kind, _ in steps[i : j + 1]]
            assert sum(a != b for a, b in zip(kinds, kinds[1:], strict=False)) <= 2


def test_a_first_hour(qtbot, tmp_path, artifacts_dir):
    settings = tmp_path / "user" / "settings.ini"
    settings.parent.mkdir()
    songs = song_folder(tmp_path)
    window = open_window(qtbot, settings, SIZES[0])
    counted: list[tuple[int, int]] = []
    window.browser.importProgress.connect(lambda n, of: counted.append((n, of)))
    with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
        window.start(folder=songs)
    assert counted and counted[-1] == (6, 6)  # the import says how far it has got: n of N

    # The song list tells the versions apart by their folder; the roll shows the first song.
    rows = [(i.text(0), i.text(SongList.FOLDER)) for i in window.browser.items()]
    assert len(rows) == 6 and len(set(rows)) == 6
    assert {folder for _, folder in rows} == {"", "take 1", "take 2"}
    assert all(i.text(SongList.KEY) and i.text(SongList.TEMPO) for i in window.browser.items())
    qtbot.waitUntil(lambda: window.piano_roll.song is not None, timeout=20_000)
    assert songs in window.piano_roll.song.source.parents

    # Train with the default preset, capped.
    cap = CAP_MINUTES * 60.0
    window.training.set_config(replace(window.training.config(), minutes=CAP_MINUTES))
    with qtbot.waitSignal(window.training.modelTrained, timeout=240_000) as trained:
        assert window.train()
        assert window.training.phase_label.text() == COMPILING_LINE
        assert window.train_stop_button.defaultAction() is window.stop_action
        seen = watch_training(window, cap)
        qtbot.waitUntil(
            lambda: len(window.training.held_scores) >= SCORES or not window.training.is_training(),
            timeout=200_000,
        )
        window.train_stop_button.click()  # the toolbar's Stop
    qtbot.waitUntil(lambda: not window.training.is_training(), timeout=10_000)
    check_follows_cap(seen, cap)
    check_verdict_holds(seen)
    assert window.train_stop_button.defaultAction() is window.train_action
    model = trained.args[0]

    with qtbot.waitSignal(window.generation.songsGenerated, timeout=60_000):
        assert window.generation.generate()
    for size in SIZES:
        window.resize(*size)
        generate_in_sight(qtbot, window, artifacts_dir, f"{size[0]}x{size[1]}")
    start = dialog_start(qtbot, window)
    assert start.resolve() != songs.resolve() and songs.resolve() not in start.resolve().parents

    # Restart: the model is back, Generate works at once.
    window.close()
    again = open_window(qtbot, settings, SIZES[1])
    with qtbot.waitSignal(again.document.opened, timeout=60_000):
        again.start()
    assert again.model is not None and again.model.epochs_trained == model.epochs_trained
    assert again.generation.generate_button.isEnabled()
    qtbot.waitUntil(lambda: not again.browser.is_importing(), timeout=60_000)
    generate_in_sight(qtbot, again, artifacts_dir, "restarted_1400x900")
    # An export folder remembered inside the songs' folder is not offered again.
    again.settings.last_export_folder = str(songs / "take 1")
    start = dialog_start(qtbot, again)
    assert songs.resolve() not in [start.resolve(), *start.resolve().parents]
    # Another folder's import puts its first song in the roll.
    with qtbot.waitSignal(again.browser.importFinished, timeout=60_000):
        again.import_paths([songs / "take 2"])
    qtbot.waitUntil(
        lambda: (
            again.piano_roll.song is not None
            and again.piano_roll.song.source.parent == songs / "take 2"
        ),
        timeout=20_000,
    )
