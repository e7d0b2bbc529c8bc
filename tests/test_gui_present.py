"""In front of a class: controls that stay put, the keyboard for everything, presentation mode that reflows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QTabBar, QTabWidget

from helpers import click, setup_run


def places(window, *buttons) -> list[QRect]:
    """Each button's rectangle in window coordinates: where a click lands."""
    return [QRect(b.mapTo(window, QPoint(0, 0)), b.size()) for b in buttons]


@pytest.mark.parametrize("size", [(1280, 760), (1024, 560)])
def test_start_pause_and_stop_keep_their_place_in_every_state_and_resume_is_where_pause_was(qtbot, window, mnist,
                                                                                           size):
    tab = window.training
    window.resize(*size)
    buttons = (tab.start_button, tab.pause_button, tab.stop_button)
    setup_run(tab, epochs=3, subset="2,000")
    qtbot.wait(50)
    idle = places(window, *buttons)
    seen = {"idle": idle}
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=60_000)
    qtbot.wait(50)
    seen["running"] = places(window, *buttons)
    click(qtbot, tab.pause_button)
    qtbot.wait(50)
    assert tab.pause_button.text() == "Resume"
    seen["paused"] = places(window, *buttons)
    click(qtbot, tab.pause_button)
    with qtbot.waitSignal(tab.run_ended, timeout=120_000):
        pass
    qtbot.wait(50)
    seen["done"] = places(window, *buttons)
    assert "Finished" in tab.status.text()
    for state, rects in seen.items():
        assert rects == idle, f"{state}: {rects} != idle {idle}"
    assert len({r.width() for r in idle}) == 1  # three equal columns: a text change resizes none


# --- the keyboard ---------------------------------------------------------------------------------


def buttons_in_view(room) -> set:
    """The buttons a mouse user could press now on this tab: shown, enabled (a tab bar's own scroll arrows aside)."""
    return {b for b in room.findChildren(QAbstractButton)
            if b.isVisible() and b.isEnabled() and not isinstance(b.parent(), QTabBar)}


def tab_walk(qtbot, limit: int = 400) -> list:
    """Press Tab from the focused control until the focus comes back to it: every control on the way."""
    start = QApplication.focusWidget()
    assert start is not None, "nothing has the keyboard focus"
    reached = [start]
    for _ in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is start:
            return reached
        reached.append(now)
    raise AssertionError(f"Tab never came back to {start!r}: the focus is trapped around {reached[-3:]}")


def views_of(room) -> list:
    """Every page a room can show (its own tab widgets' pages, e.g. the results pages, each lesson)."""
    views = [(None, None)]
    for tabs in room.findChildren(QTabWidget):
        views += [(tabs, k) for k in range(tabs.count()) if tabs.isTabEnabled(k)]
    return views


def test_tab_reaches_every_enabled_button_of_every_tab_and_each_tab_starts_focused(qtbot, window):
    window.resize(1280, 800)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    walked = 0
    for room in window.rooms():  # tabs added later (Step, Classroom, …) are walked too
        window.tabs.setCurrentWidget(room)
        for inner, k in views_of(room):
            if inner is not None:
                if not inner.isVisible():
                    continue
                inner.setCurrentIndex(k)
            window.commands.focus_first()
            qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
            focused = QApplication.focusWidget()
            assert focused.window() is window and room.isAncestorOf(focused), f"{room}: focus on {focused}"
            wanted = buttons_in_view(room)
            reached = set(tab_walk(qtbot))
            missed = sorted(b.text() or b.toolTip() or type(b).__name__ for b in wanted - reached)
            place = window.tabs.tabText(window.tabs.indexOf(room)) + (f" ▸ {inner.tabText(k)}" if inner else "")
            assert not missed, f"{place}: Tab never reaches {missed}"
            walked += len(wanted)
    window.tabs.setCurrentWidget(window.canvas)
    window.canvas.explain_button.click()  # the Explain panel's controls join the walk
    qtbot.waitUntil(lambda: window.canvas.explain_panel.isVisible())
    window.commands.focus_first()
    missed = buttons_in_view(window.canvas) - set(tab_walk(qtbot))
    assert not missed and window.canvas.explain_button in buttons_in_view(window.canvas)
    window.canvas.explain_button.click()
    assert walked > 30  # Start, Pause, Stop, Clear, the ten digit keys, Reload, the lessons' buttons, …
    window.tabs.setCurrentWidget(window.training)
    assert QApplication.focusWidget() is window.training.start_button  # the first thing a teacher presses


def key(qtbot, sequence: str) -> None:
    """Type a key combination into whatever has the focus, as a person would."""
    combo = QKeySequence(sequence)[0]
    qtbot.keyClick(QApplication.focusWidget(), combo.key(), combo.keyboardModifiers())


def test_the_keyboard_runs_a_lesson_start_pause_stop_tabs_clear_undo_explain_and_quit(qtbot, window, mnist):
    from helpers import draw

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    tab = window.training
    setup_run(tab, model="mlp", epochs=3, subset="all", test_limit=None)
    window.commands.focus_first()
    key(qtbot, "Ctrl+Return")
    qtbot.waitUntil(tab.is_running, timeout=2_000)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=60_000)
    key(qtbot, "Ctrl+P")
    qtbot.waitUntil(lambda: tab.pause_button.text() == "Resume", timeout=2_000)
    key(qtbot, "Ctrl+P")
    qtbot.waitUntil(lambda: tab.pause_button.text() == "Pause", timeout=2_000)
    key(qtbot, "Ctrl+.")
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert "Stopped" in tab.status.text()

    key(qtbot, "Ctrl+2")
    assert window.tabs.currentWidget() is window.canvas and QApplication.focusWidget() is window.canvas.canvas
    draw(qtbot, window.canvas, 7)
    assert not window.canvas.canvas.is_empty()
    key(qtbot, "Esc")  # each key presses its button as a click would: seen going down, released 0.1 s later
    qtbot.waitUntil(window.canvas.canvas.is_empty, timeout=2_000)
    key(qtbot, "Ctrl+Z")
    qtbot.waitUntil(lambda: not window.canvas.canvas.is_empty(), timeout=2_000)
    key(qtbot, "Ctrl+E")
    qtbot.waitUntil(lambda: window.canvas.explain_panel.isVisible(), timeout=2_000)
    key(qtbot, "Ctrl+E")
    qtbot.waitUntil(lambda: not window.canvas.explain_panel.isVisible(), timeout=2_000)

    key(qtbot, "Ctrl+1")
    key(qtbot, "Ctrl+.")  # nothing to stop: said, nothing happens
    assert "nothing to stop" in window.statusBar().currentMessage()
    key(qtbot, "Ctrl+Q")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
