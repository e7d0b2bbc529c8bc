"""In front of a class: controls that stay put, the keyboard for everything, presentation mode that reflows."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QHeaderView, QLabel,
                               QPushButton, QStyle, QStyleOptionComboBox, QTabBar, QTableWidget,
                               QTabWidget, QWidget)

from digitpad.core.runs import labels_for, load_runs
from digitpad.gui.common.charts import ClassAxis
from digitpad.gui.common.colours import (CLASS_COLOURS, LOSS_COLOUR, RUN_COLOURS, TEST_COLOUR, TRAIN_COLOUR,
                                         contrast_ratio, hex_rgb, simulate_cvd, smallest_difference)
from digitpad.gui.common.text_zoom import stored_zoom
from digitpad.gui.common.widgets import FittedLabel, text_button_width

from helpers import click, fake_runs, setup_run


def places(window, *buttons) -> list[QRect]:
    """Each button's rectangle in window coordinates: where a click lands."""
    return [QRect(b.mapTo(window, QPoint(0, 0)), b.size()) for b in buttons]


@pytest.mark.parametrize("size", [(1280, 760), (1024, 560)])
def test_start_pause_and_stop_keep_their_place_in_every_state_and_resume_is_where_pause_was(qtbot, window, mnist,
                                                                                           size):
    tab = window.training
    window.resize(*size)
    buttons = (tab.start_button, tab.pause_button, tab.stop_button)
    setup_run(tab, model="cnn", epochs=2, subset="2,000")  # long enough to pause mid-run
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


# --- presentation mode ----------------------------------------------------------------------------


def shown(widget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def text_field_width(combo: QComboBox) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return field.width()


def button_need(button: QAbstractButton) -> int:
    """The width a button's text (and its box or arrow) takes, without Qt's 80-pixel minimum for push buttons."""
    if isinstance(button, QPushButton):
        return text_button_width(button)
    return button.sizeHint().width()  # check boxes, radio and tool buttons: their size is their contents'


def clipped_texts(root) -> list[str]:
    """Every text under `root` that is shown cut, elided or squeezed, named with the widget's text."""
    problems = []
    for w in [root, *root.findChildren(QWidget)]:
        if not shown(w):
            continue
        fm = w.fontMetrics()
        if isinstance(w, FittedLabel):
            if w.text() and not w.fits(w.shown_scale()):
                problems.append(f"elided: {w.text()!r}")
        elif isinstance(w, QLabel) and w.text() and w.pixmap().isNull():
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            rich = w.textFormat() == Qt.TextFormat.RichText or (w.textFormat() == Qt.TextFormat.AutoText and "<" in w.text())
            doc.setHtml(w.text()) if rich else doc.setPlainText(w.text())
            room = w.contentsRect()
            if w.wordWrap():
                if w.heightForWidth(room.width()) > room.height() + 2:
                    problems.append(f"cut at the bottom: {doc.toPlainText()[:60]!r}")
            else:
                doc.setDefaultFont(w.font())
                if doc.idealWidth() > room.width() + 2:
                    problems.append(f"cut at the side: {doc.toPlainText()[:60]!r} ({doc.idealWidth():.0f} > "
                                    f"{room.width()})")
        elif isinstance(w, QAbstractButton) and w.text():
            if button_need(w) > w.width() + 1:
                problems.append(f"button squeezed: {w.text()!r} ({button_need(w)} > {w.width()})")
        elif isinstance(w, QComboBox) and w.currentText():
            if fm.horizontalAdvance(w.currentText()) > text_field_width(w) + 1:
                problems.append(f"combo box cut: {w.currentText()!r}")
        elif isinstance(w, QAbstractSpinBox):
            if fm.horizontalAdvance(w.text()) > w.lineEdit().width() + 1:
                problems.append(f"spin box cut: {w.text()!r}")
        elif isinstance(w, QHeaderView) and w.orientation() == Qt.Orientation.Horizontal:
            model = w.model()
            for k in range(w.count()):
                text = str(model.headerData(k, Qt.Orientation.Horizontal) or "")
                if text and not w.isSectionHidden(k) and fm.horizontalAdvance(text) + 8 > w.sectionSize(k):
                    problems.append(f"column title cut: {text!r} ({fm.horizontalAdvance(text) + 8} > "
                                    f"{w.sectionSize(k)})")
        elif isinstance(w, QTableWidget):
            for row in range(w.rowCount()):
                for col in range(w.columnCount()):
                    item = w.item(row, col)
                    if item is not None and item.text() and fm.horizontalAdvance(item.text()) + 8 > w.columnWidth(col):
                        problems.append(f"cell cut: {item.text()!r}")
        elif isinstance(w, QTabBar) and w.count():
            if w.tabRect(w.count() - 1).right() > w.width() + 1:
                problems.append(f"tabs scroll: {[w.tabText(k) for k in range(w.count())]}")
        elif isinstance(w, pg.GraphicsView):
            problems += [f"{label}: {what}" for label, what in axes_without_ticks(w)]
    return problems


def axes_without_ticks(view) -> list[tuple[str, str]]:
    """Axes of a chart that draw fewer than two tick labels (or fewer than all the class names)."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    out = []
    try:
        for item in view.scene().items():
            if not isinstance(item, pg.AxisItem) or not item.isVisible() or item.style["showValues"] is False:
                continue
            if item.orientation not in ("left", "bottom") or item.width() < 2 or item.height() < 2:
                continue
            texts = [t for t in item.generateDrawSpecs(painter)[2] if t[2].strip()]
            wanted = len(item.names) if isinstance(item, ClassAxis) and item.names else 2
            if len(texts) < wanted:
                out.append((item.labelText or item.orientation, f"{len(texts)} tick labels of {wanted}"))
            if item.label.isVisible() and item.labelText:  # the axis title, along the axis
                title = item.label.boundingRect().width()
                length = item.height() if item.orientation == "left" else item.width()
                if title > length + 1:
                    out.append((item.labelText, f"title longer than its axis ({title:.0f} > {length:.0f})"))
        for item in view.scene().items():
            if isinstance(item, pg.LegendItem) and item.isVisible() and item.items:
                box = item.sceneBoundingRect()
                if not QRectF(view.sceneRect()).adjusted(-1, -1, 1, 1).contains(box):
                    out.append(("legend", f"cut: {[label.text for _, label in item.items]}"))
    finally:
        painter.end()
    return out


SCREENS = {"1920x1080": QRect(0, 0, 1920, 1080), "1280x800": QRect(0, 0, 1280, 800), "1024x600": QRect(0, 0, 1024, 600)}


@pytest.mark.parametrize("screen", SCREENS)
def test_presentation_mode_lays_out_every_tab_without_cutting_a_text_or_an_axis(qtbot, window, screen):
    rect = SCREENS[screen]
    factor = window.presentation.enter(rect)
    try:
        QApplication.processEvents()
        assert window.geometry().size() == rect.size()
        points = QApplication.font().pointSizeF()
        if screen == "1920x1080":
            assert points >= 18  # the back row reads it
        assert window.fits_in(rect.size()) and factor >= 1.0
        problems = {}
        for room in window.rooms():
            window.tabs.setCurrentWidget(room)
            for inner, k in views_of(room):  # each page of a tab: the results, each lesson
                if inner is not None:
                    if not inner.isVisible():
                        continue
                    inner.setCurrentIndex(k)
                qtbot.wait(20)
                place = window.tabs.tabText(window.tabs.indexOf(room)) + (f" ▸ {inner.tabText(k)}" if inner else "")
                problems[place] = clipped_texts(room)
        window.tabs.setCurrentWidget(window.canvas)
        window.canvas.as_drawn_box.click()
        qtbot.wait(20)
        problems["Canvas ▸ Also as drawn"] = clipped_texts(window.canvas)
        window.canvas.as_drawn_box.click()
        window.canvas.explain_button.click()
        qtbot.wait(20)
        problems["Canvas ▸ Explain"] = clipped_texts(window.canvas)
        window.canvas.explain_button.click()
        problems["window"] = clipped_texts(window.menuBar()) + clipped_texts(window.tabs.tabBar())
        assert not any(problems.values()), f"at {screen}, {points:.1f} pt: {problems}"
    finally:
        window.presentation.leave()


def test_f5_enters_presentation_mode_and_f5_again_puts_everything_back(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    charts, fold = window.training.charts, window.training.setup_fold
    palette = QApplication.palette()
    before = (QApplication.font().pointSizeF(), window.isFullScreen(), charts.smooth_loss.opts["pen"].widthF(),
              palette.color(QPalette.ColorRole.Window).name(), fold.is_open(), stored_zoom())
    key(qtbot, "F5")
    assert window.presentation.active and window.isFullScreen()
    assert QApplication.font().pointSizeF() >= before[0]  # as large as this (800×800 test) screen allows
    assert window.fits_in(window.screen().geometry().size())
    assert charts.smooth_loss.opts["pen"].widthF() == 2 * before[2]  # thicker lines for the back row
    assert not fold.is_open() and "MNIST" in fold.summary_label.text()  # the setup in one line
    window.training.epochs.setValue(7)  # an edit while folded (a preset, a recorded run loaded) shows at once
    assert "7 epochs" in fold.summary_label.text()
    now = QApplication.palette()
    white = hex_rgb(now.color(QPalette.ColorRole.Window).name())
    for group, role, least in ((QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText, 7),
                               (QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText, 7),
                               (QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, 4.5)):
        assert contrast_ratio(hex_rgb(now.color(group, role).name()), white) >= least
        assert contrast_ratio(hex_rgb(now.color(group, role).name()),
                              hex_rgb(now.color(QPalette.ColorRole.Button).name())) >= least
    key(qtbot, "F5")
    qtbot.waitUntil(lambda: not window.isFullScreen())
    palette = QApplication.palette()
    after = (QApplication.font().pointSizeF(), window.isFullScreen(), charts.smooth_loss.opts["pen"].widthF(),
             palette.color(QPalette.ColorRole.Window).name(), fold.is_open(), stored_zoom())
    assert after == before and not window.presentation.active


def test_the_palette_stays_apart_under_colour_blindness():
    """Ten classes, and the recorded runs beside the live curves: every pair ΔE ≥ 15 for normal vision and
    under simulated deuteranopia and protanopia (ΔE ~2 is barely seen; the old red/green pair was 7 apart)."""
    for colours in (CLASS_COLOURS, RUN_COLOURS + (LOSS_COLOUR, TRAIN_COLOUR, TEST_COLOUR)):
        rgb = np.array([hex_rgb(c) for c in colours])
        for seen in (rgb, simulate_cvd(rgb, "deuteranopia"), simulate_cvd(rgb, "protanopia")):
            assert smallest_difference(seen) >= 15
    old_red, old_green = hex_rgb("#d62728"), hex_rgb("#2ca02c")
    assert smallest_difference(simulate_cvd(np.array([old_red, old_green]))) < 10  # what the check catches


def test_compare_on_eighteen_runs_names_them_beside_the_charts_uncut(qapp, tmp_path):
    from digitpad.cli import main

    fake_runs(tmp_path, 18)
    out = tmp_path / "chart.png"
    assert main(["compare", str(tmp_path), "--out", str(out)]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)  # a slide, not 910×370
    records, _ = load_runs([tmp_path])
    labels = labels_for([r.config for r in records], [r.name for r in records])
    assert labels[:3] == ["softmax · lr 0.01", "mlp · lr 0.01", "cnn · lr 0.01"]  # what tells each apart
    from digitpad.gui.training.runs_panel import LiveCharts

    charts = LiveCharts()
    charts.show_runs([r.curves(label) for r, label in zip(records, labels)])
    charts.as_figure((1600, 1000), 16)
    legend, plot = charts.runs_legend.sceneBoundingRect(), charts.loss_plot.getViewBox().sceneBoundingRect()
    assert QRectF(charts.sceneRect()).contains(legend)  # not cut off
    assert not legend.intersects(plot) and not legend.intersects(charts.acc_plot.getViewBox().sceneBoundingRect())
    assert len(charts.runs_legend.items) == 18 + 2  # every run, and the solid/dashed key
    charts.close()
