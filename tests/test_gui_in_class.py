"""What a teacher saw go wrong in front of a class, each seen fixed through the real widgets: the model that made a
mistake opens it, the drawing as drawn beside the network's view, feedback on keeping a digit, exact words at a
temperature, numbers never cut, a feature map's unit on the ink, the loss floor of label smoothing, a fixed
accuracy axis, the lr-50 NaN on the lesson's chart, a Differs column of what differs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitpad.core.explain import ConvBlock, strongest_on_ink, unit_arithmetic
from digitpad.core.preprocess import naive_stroke_pixels
from digitpad.core.sample_digits import digit_strokes, transform
from digitpad.core.trainer import TrainConfig, smoothed_loss_floor
from digitpad.gui.common.charts import LiveCharts
from digitpad.gui.canvas.explain_panel import SLIDER_STEPS
from digitpad.gui.common.colours import fmt
from digitpad.gui.common.worker import running_threads
from digitpad.gui.training.runs_panel import RunsPanel
from helpers import click, drag, draw, fake_runs, setup_run


def test_a_mistake_opens_as_the_test_image_itself_read_by_the_model_that_made_it(qtbot, window, mnist):
    tab = window.training
    setup_run(tab, epochs=1)
    with qtbot.waitSignal(tab.model_trained, timeout=60_000):
        click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    tab.results.setCurrentWidget(tab.results.mistakes)
    qtbot.waitUntil(lambda: tab.results.mistakes.count > 0, timeout=5_000)
    mistake = tab.results._latest[0].mistakes[0]
    qtbot.mouseClick(tab.results.mistakes.cells[0], Qt.MouseButton.LeftButton)
    model, pred = window.library.active, window.canvas.prediction
    made_it = tab.results.model  # the epoch's snapshot that made these mistakes
    assert model.model is made_it.model and model.name == made_it.name == "mnist-softmax run 1, epoch 1"
    assert np.array_equal(pred.pixels, mistake.image.astype(np.float32) / 255)  # the test image, not a copy of it
    assert pred.label == mistake.predicted and pred.confidence == pytest.approx(mistake.confidence, abs=1e-4)
    assert model.name in window.statusBar().currentMessage()


def test_keeping_a_digit_says_so_where_the_teacher_looks(qtbot, canvas_tab, window):
    draw(qtbot, canvas_tab, 3)
    qtbot.keyClick(canvas_tab, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: "Kept in My digits as a 3" in window.statusBar().currentMessage(), timeout=10_000)
    assert canvas_tab.canvas.is_empty() and "next one" in window.statusBar().currentMessage()


def test_as_drawn_shows_the_naive_input_beside_the_networks_and_classifies_both(qtbot, canvas_tab):
    canvas_tab.brush.setValue(40)
    small_corner_four = transform(digit_strokes(4), scale=0.3, dx=-90, dy=-90)
    for stroke in small_corner_four:
        drag(qtbot, canvas_tab.canvas, stroke)
    assert not canvas_tab.as_drawn.isVisible()  # costs nothing until asked for
    click(qtbot, canvas_tab.as_drawn_box)
    view = canvas_tab.as_drawn
    assert view.isVisible() and view.prediction is not None
    assert np.array_equal(view.pixels, naive_stroke_pixels(canvas_tab.canvas.stroke_set()))
    network = canvas_tab.prediction
    assert network.label == 4  # the MNIST-style input reads it
    assert view.prediction.label != 4  # the blob in a corner does not: the lesson
    names = [str(d) for d in range(10)]
    assert view.answer.text().startswith(names[view.prediction.label])
    canvas_tab.clear()
    assert view.pixels is None and view.answer.text() == ""


def test_at_another_temperature_the_answer_and_the_words_match_the_table(qtbot, canvas_tab):
    draw(qtbot, canvas_tab, 7)
    click(qtbot, canvas_tab.explain_button)
    panel = canvas_tab.explain_panel
    panel.label_picker.setCurrentIndex(1 + 7)
    assert "p − onehot(7):" in panel.loss_label.text()
    panel.temperature.setValue(SLIDER_STEPS)  # T = 10
    table_p = panel.table.steps.probabilities[canvas_tab.prediction.label]
    assert canvas_tab.answer.text() == f"7  ·  {table_p:.1%} at T = 10.00"
    assert "(p − onehot(7))/T" in panel.loss_label.text() and "at T = 10.00" in panel.loss_label.text()
    click(qtbot, canvas_tab.explain_button)
    assert "at T" not in canvas_tab.answer.text()  # closed, the answer is the model's own, at T = 1


def test_the_softmax_table_never_cuts_a_small_or_large_number(qtbot, canvas_tab):
    draw(qtbot, canvas_tab, 7)
    click(qtbot, canvas_tab.explain_button)
    table = canvas_tab.explain_panel.table
    widths = table.column_widths()
    metrics = table.fontMetrics()
    for value in (-0.00303, 0.000123, -12345.6, 3.2e-12, -88.7):
        for column in (1, 2, 3):
            assert metrics.horizontalAdvance(fmt(value)) + 4 <= widths[column]
    assert table.width() >= sum(widths)


def conv_block(ink_rows: slice) -> ConvBlock:
    """A first conv block on an 8×8 picture inked in some rows, with one map that answers most to blank paper."""
    picture = np.full((1, 8, 8), -0.42, np.float32)  # MNIST's normalized background
    picture[0, ink_rows, 2:6] = 2.8
    filters = np.full((1, 1, 3, 3), -1.0, np.float32)  # negative weights: high on the negative background
    bias = np.zeros(1, np.float32)
    pre = np.array([[(picture[0, r:r + 3, c:c + 3] * filters[0, 0]).sum() for c in range(6)] for r in range(6)],
                   np.float32)[None]
    maps = np.maximum(pre.reshape(1, 3, 2, 3, 2).max(axis=(2, 4)), 0)
    return ConvBlock("block 1", picture, pre, maps, filters, bias)


def test_a_map_strongest_on_blank_paper_is_explained_at_its_strongest_unit_on_the_ink():
    block = conv_block(slice(5, 8))  # ink at the bottom; the map lights up on the blank top
    strongest = unit_arithmetic(block, 0)
    assert np.all(strongest.patch == strongest.patch.min())  # the empty patch a student was shown
    row, col = strongest_on_ink(block, 0)
    on_ink = unit_arithmetic(block, 0, row, col)
    assert on_ink.patch.max() > on_ink.patch.min() and (row, col) != (strongest.row, strongest.col)
    assert strongest_on_ink(conv_block(slice(0, 0)), 0) is None  # nothing drawn: nothing on the ink


def test_label_smoothing_names_its_loss_floor_on_the_chart_and_in_the_log(qtbot, window, mnist):
    assert smoothed_loss_floor(0.1) == pytest.approx(0.5002, abs=1e-4) and smoothed_loss_floor(0.0) == 0.0
    tab = window.training
    setup_run(tab, epochs=1, label_smoothing=0.1)
    with qtbot.waitSignal(tab.run_ended, timeout=60_000):
        click(qtbot, tab.start_button)
    line = tab.charts.floor_line
    assert line.isVisible() and line.value() == pytest.approx(0.5002, abs=1e-4)
    assert "a perfect model's loss is 0.50" in line.label.format
    assert "cannot go below 0.50" in tab.log.toPlainText()
    setup_run(tab, epochs=1, label_smoothing=0.0)
    tab.start_training()
    assert not line.isVisible()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=60_000)


def test_the_accuracy_axis_can_stay_at_zero_to_one(qtbot, window):
    charts = window.training.charts
    charts.add_epoch(1, 0.82, 0.80)
    charts.add_epoch(2, 0.86, 0.84)
    view = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
    assert charts.accuracy_action in view.actions()
    charts.accuracy_action.trigger()
    low, high = charts.acc_plot.viewRange()[1]
    assert low <= 0 and high >= 1
    charts.add_epoch(3, 0.87, 0.85)
    assert charts.acc_plot.viewRange()[1] == [low, high]  # new points do not zoom it back
    charts.accuracy_action.trigger()
    charts.acc_plot.getViewBox().updateAutoRange()
    low, high = charts.acc_plot.viewRange()[1]
    assert low > 0.5 and high < 0.95


def test_the_lessons_lr_50_nan_is_marked_on_the_chart_and_the_accuracy_axis_is_0_to_1(qtbot, window, mnist):
    page = window.lessons.page("softmax")
    window.tabs.setCurrentWidget(window.lessons)
    window.lessons.pages.setCurrentWidget(page)
    page.dataset.setCurrentIndex(page.dataset.findData("mnist"))
    page.subset.setCurrentIndex(page.subset.findData(2000))
    page.epochs.setValue(1)
    page.lr.setValue(50)
    page.test_limit = 300
    with qtbot.waitSignal(page.finished, timeout=60_000):
        click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: running_threads() == [], timeout=10_000)
    labels = [line.label.format for line in page.marks]
    assert "scratch: loss = nan" in labels and "concise: stopped, diverged" in labels
    assert not math.isfinite(page.data["softmax-scratch"]["loss"][-1])
    assert page.acc_plot.viewRange()[1][0] <= 0 and page.acc_plot.viewRange()[1][1] >= 1


def test_the_differs_column_lists_what_differs_among_runs_of_the_same_model(qtbot, tmp_path):
    fake_runs(tmp_path, 6)  # softmax, mlp and cnn, each at lr 0.01 and 0.03 (their own course defaults otherwise)
    panel = RunsPanel(window_charts := LiveCharts(), TrainConfig, folder=tmp_path)
    qtbot.addWidget(panel)
    qtbot.addWidget(window_charts)
    qtbot.waitSignal(panel.loaded, timeout=5_000).wait() if not panel.records else None
    qtbot.waitUntil(lambda: panel.table.rowCount() == 6, timeout=5_000)
    differs = {panel.table.item(row, 0).text(): panel.table.item(row, 3).text() for row in range(6)}
    assert differs == {f"run {k}": f"lr {(0.01, 0.03)[k // 3]:g}" for k in range(6)}  # not batch, optimizer, …
