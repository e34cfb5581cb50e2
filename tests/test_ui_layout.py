"""The window a person sees at a laptop's 1400×900 and at a small 1024×640 screen: it fits, no
label, button or choice is cut, Tab walks the controls in reading order, and every action is
reachable from the keyboard. Screenshots of each panel at both sizes go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)

from rbm_studio.resources import sample_midi_dir
from rbm_studio.ui.settings import AppSettings
from rbm_studio.ui.window_factory import build_main_window

SIZES = [(1400, 900), (1024, 640)]


def open_window(qtbot, tmp_path: Path, size: tuple[int, int]):
    window = build_main_window(AppSettings(tmp_path / "settings.ini"), midi_apis=[])
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    if any(sample_midi_dir().glob("*.mid")):
        with qtbot.waitSignal(window.browser.importFinished, timeout=60_000):
            window.start(folder=sample_midi_dir())
    qtbot.wait(100)
    return window


def cut_texts(root: QWidget) -> list[str]:
    """Visible texts narrower than they need: labels that do not wrap, buttons, check boxes
    and the current choice of every list."""
    cut = []
    for w in root.findChildren(QWidget):
        if not w.isVisible() or w.objectName().startswith("qt_"):
            continue
        if isinstance(w, QLabel) and not w.wordWrap() and w.text() and w.pixmap().isNull():
            if w.width() + 1 < w.sizeHint().width():
                cut.append(f"label {w.text()!r}: {w.width()} < {w.sizeHint().width()}")
        elif isinstance(w, QPushButton | QCheckBox | QToolButton) and w.text():
            if w.width() + 1 < w.sizeHint().width():
                cut.append(f"button {w.text()!r}: {w.width()} < {w.sizeHint().width()}")
        elif isinstance(w, QComboBox) and w.currentText():
            need = w.fontMetrics().horizontalAdvance(w.currentText()) + 28  # frame and arrow
            if w.width() < need:
                cut.append(f"choice {w.currentText()!r}: {w.width()} < {need}")
    return cut


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_window_fits_and_nothing_is_cut(qtbot, tmp_path, artifacts_dir, size):
    window = open_window(qtbot, tmp_path, size)
    name = f"{size[0]}x{size[1]}"
    assert (window.width(), window.height()) == size, "the window must not outgrow the screen"
    hint = window.minimumSizeHint()
    assert hint.width() <= size[0] and hint.height() <= size[1], hint
    window.training_dock.raise_()
    qtbot.wait(50)
    assert cut_texts(window) == []
    window.grab().save(str(artifacts_dir / f"window_{name}.png"))
    # The roll as a continued song shows it: a primer in its own colour up to the marker, a
    # loop region on the ruler and over the notes, the velocity lane below.
    song = window.piano_roll.song
    if song is not None:
        bar = song.first_time_signature.beats_per_bar
        window.piano_roll.set_song(song, generated=True, caption="continued", primer_beats=2 * bar)
        window.piano_roll.set_loop_region(3 * bar, 5 * bar)
        window.piano_roll.fit_song()
        qtbot.wait(50)
        assert window.piano_roll.view.primer_note_count > 0
        assert window.piano_roll.loop_region == (3 * bar, 5 * bar)
        assert window.piano_roll.view.velocity_stems()
        window.piano_roll.grab().save(str(artifacts_dir / f"roll_{name}.png"))
    form = window.training.form
    assert not form.advanced.isVisible()
    window.training_dock.grab().save(str(artifacts_dir / f"training_panel_{name}.png"))
    form.advanced_button.click()
    qtbot.wait(50)
    assert form.advanced.isVisible() and form.widgets["momentum_start"].isVisible()
    assert cut_texts(window.training) == []
    window.training_dock.grab().save(str(artifacts_dir / f"training_advanced_{name}.png"))
    window.generation_dock.grab().save(str(artifacts_dir / f"generation_panel_{name}.png"))
    assert cut_texts(window.generation) == []


def focus_chain(start: QWidget, count: int) -> list[QWidget]:
    chain, w = [], start
    for _ in range(count):
        w = w.nextInFocusChain()
        if w is start:
            break
        if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
            chain.append(w)
    return chain


def test_tab_walks_the_controls_in_reading_order_and_every_action_has_a_key(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, SIZES[1])
    form, generation = window.training.form, window.generation
    order = focus_chain(form.widgets["model"], 300)
    expected = [form.preset_box, form.train_for_box, form.minutes_box, form.advanced_button]
    assert [w for w in order if w in expected] == expected
    assert order.index(form.advanced_button) < order.index(window.training.train_button)
    order = focus_chain(generation.songs_box, 300)
    expected = [
        generation.bars_box,
        generation.adventure_slider,
        generation.key_box,
        generation.lowest_box,
        generation.highest_box,
        generation.tempo_box,
        generation.instrument_box,
        generation.mode_box,
    ]
    assert [w for w in order if w in expected] == expected
    # Every command is in a menu (Alt opens them) or has a shortcut; every button takes focus.
    in_menus = {
        a
        for menu in window.menuBar().findChildren(type(window.menuBar().addMenu("x")))
        for a in menu.actions()
    }
    missing = [
        a.text()
        for a in window.actions()
        if a.text() and a not in in_menus and a.shortcut().isEmpty()
    ]
    assert missing == []

    def reachable(button: QAbstractButton) -> bool:
        if button.focusPolicy() & Qt.FocusPolicy.TabFocus:
            return True
        action = button.defaultAction() if isinstance(button, QToolButton) else None
        return action is not None and (action in in_menus or not action.shortcut().isEmpty())

    unreachable = [
        b.text()
        for b in window.findChildren(QAbstractButton)
        if b.isVisible() and b.text() and not b.objectName().startswith("qt_") and not reachable(b)
    ]
    assert unreachable == []
