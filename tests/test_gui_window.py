"""The window on small and large screens: it fits, nothing moves while drawing, text can be enlarged,
and the results are readable in full."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication

from digitpad.core.datasets import DATASETS
from digitpad.core.evaluation import EvalReport, Mistake
from helpers import draw

FASHION = DATASETS["fashion-mnist"].class_names


@pytest.mark.parametrize("screen", [QSize(1024, 600), QSize(1280, 800), QSize(1920, 1080)])
def test_the_first_size_fits_the_screen(screen):
    from digitpad.gui.main_window import MINIMUM_SIZE, first_size

    size = first_size(QRect(QPoint(0, 0), screen))
    assert size.width() <= screen.width() and size.height() <= screen.height() - 30
    assert size.width() >= MINIMUM_SIZE.width() and size.height() >= MINIMUM_SIZE.height()
    if screen.width() >= 1920:  # a projector: most of it, for the back row
        assert size.width() > 1600 and size.height() > 900
    else:
        assert size.width() == screen.width()


def page_geometry(window):
    """Where the canvas and the answer panel are, in window coordinates."""
    canvas_tab = window.canvas
    return (window.size(), canvas_tab.canvas.geometry().translated(canvas_tab.canvas.mapTo(window, QPoint(0, 0))),
            canvas_tab.chart.geometry(), canvas_tab.model_picker.width())


def test_on_a_netbook_drawing_moves_nothing(qtbot, window):
    """At 1024×560 neither the first prediction nor a long class name may resize anything."""
    window.resize(1024, 560)
    window.tabs.setCurrentWidget(window.canvas)
    qtbot.wait(50)
    assert window.size() == QSize(1024, 560)  # every page's minimum fits a netbook's screen
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert minimum.width() <= 1024 and minimum.height() <= 560
    before = page_geometry(window)

    assert draw(qtbot, window.canvas, 0, scale=0.5) is not None  # the first prediction, mid-stroke and after
    QApplication.processEvents()
    assert page_geometry(window) == before

    fashion = [m.meta.dataset for m in window.library.models].index("fashion-mnist")
    window.library.set_active(fashion)
    draw(qtbot, window.canvas, 1)
    window.canvas.answer.setText("T-shirt/top · 67.5 %")
    window.canvas.detail.setText("a very long detail line " * 10)
    snapshot = replace(window.library.active, name="a-snapshot-with-a-very-long-name " * 3)
    window.library.put(snapshot, activate=False)  # an epoch's snapshot arrives while the class draws
    QApplication.processEvents()
    assert page_geometry(window) == before
    assert window.canvas.answer.shown_scale() < window.canvas.answer.scale  # shrunk to fit, not cut


def test_text_zoom_enlarges_every_text_and_is_remembered(qtbot, window):
    from digitpad.gui.common.text_zoom import SETTING, stored_zoom

    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    actions = {a.text(): a for a in view.actions()}
    assert "Ctrl+=" in [s.toString() for s in actions["Larger text"].shortcuts()]
    normal_font = QApplication.font().pointSizeF()
    normal_answer = window.canvas.answer.sizeHint().height()
    window.zoom.fits = lambda: True  # a projector's screen: room for any size (the 800×800 test screen has not)
    try:
        actions["Larger text"].trigger()
        actions["Larger text"].trigger()
        QApplication.processEvents()
        assert QApplication.font().pointSizeF() == pytest.approx(normal_font * 1.3)
        assert window.canvas.answer.sizeHint().height() > normal_answer
        assert window.canvas.chart.getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(normal_font * 1.3)
        legend_label = window.training.charts.loss_plot.legend.items[0][1]
        assert legend_label.opts["size"] == f"{normal_font * 1.3:.1f}pt"
        assert stored_zoom() == 1.3  # the next start opens at this size
        actions["Smaller text"].trigger()
        assert stored_zoom() == 1.15
    finally:
        actions["Normal text size"].trigger()
        window.zoom.fits = window.fits_screen
    assert QApplication.font().pointSizeF() == pytest.approx(normal_font) and stored_zoom() == 1.0
    QSettings().setValue(SETTING, "abc")
    assert stored_zoom() == 1.0  # a hand-edited value falls back to normal


def test_text_grows_only_as_far_as_the_window_fits_its_screen(qtbot, window):
    """On a small screen, Larger text stops (and says why) where the window would grow off the screen."""
    from digitpad.gui.main_window import TITLE_BAR
    from digitpad.gui.common.text_zoom import STEPS, stored_zoom

    room = window.screen().availableGeometry()  # the offscreen screen: 800×800
    try:
        for _ in STEPS:
            window.zoom.step(1)
        QApplication.processEvents()
        need = window.minimumSizeHint().expandedTo(window.minimumSize())
        assert need.width() <= room.width() and need.height() <= room.height() - TITLE_BAR
        assert 1.0 < window.zoom.factor < STEPS[-1] and stored_zoom() == window.zoom.factor
        assert "as large as this screen allows" in window.statusBar().currentMessage()
    finally:
        window.zoom.set_factor(1.0)


def fashion_report(n_mistakes: int = 40) -> EvalReport:
    rng = np.random.default_rng(0)
    confusion = (np.eye(10, dtype=np.int64) * 900 + rng.integers(0, 20, (10, 10))).tolist()
    mistakes = [Mistake(k, k % 10, (k + 6) % 10, 0.99 - k / 100, rng.integers(0, 255, (28, 28), dtype=np.uint8))
                for k in range(n_mistakes)]
    per_class = [confusion[k][k] / sum(confusion[k]) for k in range(10)]
    return EvalReport(int(np.sum(confusion)), float(np.trace(confusion) / np.sum(confusion)), confusion,
                      per_class, mistakes)


@pytest.fixture
def results(qtbot):
    from digitpad.gui.training.results import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(620, 260)  # the results panel's share of a 1024×600 window
    panel.show()
    weights = np.random.default_rng(1).normal(size=(10, 28, 28))
    panel.show_report(fashion_report(), FASHION, weights)
    return panel


def tick_names(plot):
    return [text.strip() for _, text in plot.getAxis("bottom")._tickLevels[0]]


def assert_no_name_overlaps(axis, columns=10):
    """Names on the same row of a ClassAxis keep clear of each other."""
    metrics = QFontMetricsF(axis.style["tickFont"] or axis.font())
    column = axis.width() / columns
    placed = [(k * column, len(text) - len(text.lstrip("\n")), text.strip())
              for k, (_, text) in enumerate(axis._tickLevels[0])]
    for x1, row1, name1 in placed:
        for x2, row2, name2 in placed:
            if x1 < x2 and row1 == row2:
                assert x2 - x1 >= (metrics.horizontalAdvance(name1) + metrics.horizontalAdvance(name2)) / 2


def test_class_names_are_shown_in_full(qtbot, results):
    results.setCurrentWidget(results.per_class)
    results.setCurrentWidget(results.confusion)
    assert tick_names(results.confusion) == list(FASHION) == tick_names(results.per_class)
    left = [text for _, text in results.confusion.getAxis("left")._tickLevels[0]]
    assert left == list(FASHION)
    for width in (620, 420, 1500):
        results.resize(width, 300)
        QApplication.processEvents()
        assert_no_name_overlaps(results.confusion.getAxis("bottom"))


def test_per_class_accuracy_starts_at_zero_and_labels_each_bar(qtbot, results):
    results.setCurrentWidget(results.per_class)
    assert results.per_class.getViewBox().viewRange()[1][0] == pytest.approx(0)
    labels = [text for _, _, text, _ in results.per_class.labels.texts]
    assert len(labels) == 10 and labels[0] == f"{results.per_class.values[0]:.1%}".rstrip("%")


def test_mistakes_explain_themselves_and_never_scroll_sideways(qtbot, results):
    results.setCurrentWidget(results.mistakes)
    grid = results.mistakes
    assert grid.count == 40
    header = results.mistakes_header.text()
    report = fashion_report()
    wrong = report.n - int(np.trace(report.confusion))
    assert "true → predicted (confidence)" in header and f"{wrong:,} of {report.n:,} test images wrong" in header
    view_width = grid.scroll.viewport().width()
    shown = grid.cells[:grid.count]
    assert all(cell.geometry().right() < view_width for cell in shown)
    assert shown[0].caption.startswith("T-shirt/top → Shirt (")
    widest = max(grid.fontMetrics().horizontalAdvance(w) for c in shown for w in c.caption.split())
    assert all(cell.width() >= widest for cell in shown)  # no word of a caption is cut


def test_weights_and_mistakes_grow_with_the_space(qtbot, results):
    results.setCurrentWidget(results.weights)
    results.setCurrentWidget(results.mistakes)
    small = (results.weights.cells[0].side, results.mistakes.cells[0].side)
    results.resize(1500, 520)  # a 1920×1080 projector
    QApplication.processEvents()
    results.setCurrentWidget(results.weights)
    QApplication.processEvents()
    large = (results.weights.cells[0].side, results.mistakes.cells[0].side)
    assert large[0] > small[0] * 1.5 and large[1] > small[1]


def test_clicking_a_mistake_opens_it_on_the_canvas(qtbot, window):
    results = window.training.results
    report = fashion_report(5)
    results.show_report(report, FASHION, None)
    window.tabs.setCurrentWidget(window.training)
    results.setCurrentWidget(results.mistakes)
    qtbot.waitUntil(lambda: results.mistakes.count == 5)
    cell = results.mistakes.cells[2]
    qtbot.mouseClick(cell, Qt.MouseButton.LeftButton, pos=cell.rect().center())
    assert window.tabs.currentWidget() is window.canvas
    picture = window.canvas.picture
    assert picture is not None and "test image 2" in picture.name and "Pullover" in picture.name
    np.testing.assert_allclose(picture.pixels, report.mistakes[2].image / 255, atol=1e-6)
    assert window.canvas.prediction is not None


def test_the_28x28_preview_grows_with_the_window(qtbot, window):
    window.tabs.setCurrentWidget(window.canvas)
    window.resize(1024, 560)
    qtbot.wait(20)
    small = window.canvas.preview.square().width()
    window.resize(1728, 1000)  # 90 % of a 1920×1080 projector
    qtbot.wait(20)
    assert window.canvas.preview.square().width() > small * 1.5
