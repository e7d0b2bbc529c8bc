"""The 2-D playground page driven through its widgets, offscreen: presets, clicks on the plane, Run/Stop/Step, tiles."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from digitpad.core import playground as pg_core
from digitpad.gui.common.worker import Worker
from digitpad.gui.lessons.playground import PlaygroundLesson, region_rgb


@pytest.fixture
def page(qtbot, monkeypatch):
    # The presets' points hold at a third of their steps too: the same lesson in a third of the time.
    for key, preset in pg_core.PRESETS.items():
        monkeypatch.setitem(pg_core.PRESETS, key, replace(preset, steps=preset.steps // 3))
    page = PlaygroundLesson()
    qtbot.addWidget(page)
    page.resize(1000, 560)
    page.show()
    qtbot.waitExposed(page)
    yield page
    page.shutdown()
    Worker.join_all()


def click(qtbot, widget, button=Qt.MouseButton.LeftButton, pos: QPoint | None = None):
    qtbot.mouseClick(widget, button, pos=pos if pos is not None else widget.rect().center())


def run_preset(qtbot, page, key):
    with qtbot.waitSignal(page.run_finished, timeout=60_000):
        click(qtbot, page.preset_buttons[key])
    return page.frame


def viewport_point(page, x: float, y: float) -> QPoint:
    """Where the plane's point (x, y) is on the plot's viewport, in pixels."""
    plot = page.view.plot
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return plot.mapFromScene(scene)


def test_the_window_has_the_playground_among_the_lessons(window):
    lessons = window.lessons
    page = lessons.page("playground")
    assert lessons.pages.tabText(lessons.pages.indexOf(page)).endswith("Playground")
    assert page.frame is not None and page.frame.probabilities.shape == (pg_core.GRID, pg_core.GRID, 2)


def test_softmax_cannot_solve_xor_and_four_hidden_units_can(qtbot, page):
    linear = run_preset(qtbot, page, "linear-xor")
    assert "cannot solve XOR" in page.sentence.text()
    assert page.model_kind.currentData() == "softmax" and page.data_kind.currentData() == "xor"
    assert linear.step == 500 and linear.test_accuracy <= 0.75
    assert page.tiles.tiles == [] and "no hidden units" in page.tiles.note.text()
    bent = run_preset(qtbot, page, "mlp-xor")
    assert "4 units can" in page.sentence.text() and page.units.value() == 4
    assert bent.test_accuracy >= 0.95 and f"test {bent.test_accuracy:.1%}" in page.status.text()
    top = bent.probabilities.argmax(axis=2)  # XOR's corners alternate, each in its class's colour
    assert top[10, 10] == top[90, 90] != top[10, 90] == top[90, 10]
    regions = region_rgb(bent.probabilities)
    assert tuple(regions[10, 10]) != tuple(regions[10, 90])
    assert page.run_button.text() == "Run" and page.step_button.isEnabled()


def test_circles_become_linear_with_the_squares(qtbot, page):
    frame = run_preset(qtbot, page, "circles-squares")
    checked = [f for f, box in page.feature_boxes.items() if box.isChecked()]
    assert checked == ["x1", "x2", "x1^2", "x2^2"] and page.model_kind.currentData() == "softmax"
    assert frame.test_accuracy >= 0.95


def test_the_overfitting_preset_wraps_the_training_points(qtbot, page):
    frame = run_preset(qtbot, page, "overfit")
    tests = page.history["test_accuracy"]
    assert frame.train_accuracy == 1.0 and frame.test_accuracy < max(tests) and frame.test_accuracy <= 0.8
    assert page.history["test_loss"][-1] > 3 * min(page.history["test_loss"])
    assert [len(tiles) for tiles in page.tiles.tiles] == [16, 16, 16]


def test_a_click_adds_a_point_of_the_chosen_class_and_a_right_click_removes_it(qtbot, page):
    page.click_class.setCurrentIndex(1)
    before = len(page.points)
    click(qtbot, page.view.plot.viewport(), pos=viewport_point(page, -1.3, 1.3))
    assert len(page.points) == before + 1
    assert page.points.labels[-1] == 1 and not page.points.test[-1]
    assert np.allclose(page.points.xy[-1], [-1.3, 1.3], atol=0.03)
    assert len(page.view.plot.train_points.data) == int((~page.points.test).sum())
    click(qtbot, page.view.plot.viewport(), Qt.MouseButton.RightButton, viewport_point(page, -1.29, 1.31))
    assert len(page.points) == before
    assert not np.any(np.all(np.isclose(page.points.xy, [-1.3, 1.3], atol=0.03), axis=1))
    click(qtbot, page.view.plot.viewport(), Qt.MouseButton.RightButton, viewport_point(page, -1.45, -1.45))
    assert len(page.points) == before  # nothing there: nothing removed


def test_run_redraws_the_regions_until_stop_and_step_trains_one_batch(qtbot, page):
    start = page.view.plot.redraws
    click(qtbot, page.run_button)
    assert page.run_button.text() == "Stop" and not page.step_button.isEnabled()
    qtbot.waitUntil(lambda: page.view.plot.redraws >= start + 5, timeout=20_000)
    with qtbot.waitSignal(page.run_finished, timeout=10_000):
        click(qtbot, page.run_button)
    steps = page.frame.step
    assert steps > 0 and page.run_button.text() == "Run"
    assert len(page.history["step"]) >= 5 and page.history["step"] == sorted(page.history["step"])
    with qtbot.waitSignal(page.run_finished, timeout=10_000):
        click(qtbot, page.step_button)
    assert page.frame.step == steps + 1


def test_changing_the_data_makes_new_points_and_a_new_model(qtbot, page):
    page.data_kind.setCurrentIndex(page.data_kind.findData("blobs"))
    page.classes.setValue(4)
    assert page.points.classes == 4 and page.click_class.count() == 4
    assert page.frame.step == 0 and page.frame.probabilities.shape[2] == 4
    assert "class&nbsp;3" in page.view.legend.text()
    page.n_points.setValue(60)
    assert len(page.points) == 60


def test_clicking_a_tile_shows_that_units_incoming_weights(qtbot, page):
    page.layers.setValue(2)
    page.units.setValue(3)
    assert [len(t) for t in page.tiles.tiles] == [3, 3]
    tile = page.tiles.tiles[1][2]
    click(qtbot, tile)
    assert tile.selected and "layer 2, unit 3" in page.weights_title.text()
    weights, bias = page.frame.weights[1]
    heights = page.weights.bars.opts["height"]
    assert np.allclose(heights, [*weights[2], bias[2]])
    assert [label for _, label in page.weights.getAxis("bottom")._tickLevels[0]] == ["h1.1", "h1.2", "h1.3", "bias"]
