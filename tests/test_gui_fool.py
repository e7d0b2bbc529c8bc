"""The Fool-it panel on the Canvas tab, driven with real clicks, key presses and mouse strokes."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitpad.core.not_digits import SCRIBBLES
from helpers import drag, draw


@pytest.fixture
def tab(window):
    window.tabs.setCurrentWidget(window.canvas)
    return window.canvas


def open_fool(qtbot, tab):
    qtbot.mouseClick(tab.fool_button, Qt.MouseButton.LeftButton)
    assert tab.fool_area.isVisible() and not tab.chart.isVisible()
    return tab.fool_panel


def attacked(qtbot, panel, check=lambda outcome: outcome is not None):
    """Wait for the attack whose result passes `check` to reach the screen."""
    qtbot.waitUntil(lambda: panel._attack is None and check(panel.outcome), timeout=30_000)
    return panel.outcome.result


def test_the_panel_attacks_the_drawing_and_follows_every_setting(qtbot, tab):
    panel = open_fool(qtbot, tab)
    assert "Draw a digit" in panel.view.summary.text()
    draw(qtbot, tab, 3)
    r = attacked(qtbot, panel)
    assert r.before.label == 3 and r.settings.kind == "fgsm" and r.linf <= r.settings.eps
    assert "‖δ‖∞" in panel.view.summary.text() and len(panel.view.maps.sizes) == 5  # x, saliency, gradient, δ, x+δ
    assert panel.view.chart.before.opts["height"][3] == pytest.approx(r.before.confidence)

    panel.kind.setCurrentIndex(1)  # PGD, aiming at an 8 with ε 0.2
    panel.target.setCurrentIndex(1 + 8)
    panel.eps.setFocus()
    for _ in range(20):
        qtbot.keyClick(panel.eps, Qt.Key.Key_Right)
    assert panel.eps_label.text() == "ε = 0.200"
    r = attacked(qtbot, panel, lambda o: o is not None and o.result.settings == panel.settings())
    assert r.settings.kind == "pgd" and r.settings.target == 8 and r.after.label == 8 and r.flipped
    assert r.linf <= 0.2 and r.adversarial.min() >= 0 and r.adversarial.max() <= 1
    assert "fooled" in panel.view.summary.text() and panel.pgd_row.isEnabled()
    after = panel.view.chart.after.opts["height"]
    assert np.argmax(after) == 8

    tab.clear()  # nothing drawn: nothing attacked
    qtbot.waitUntil(lambda: panel.outcome is None, timeout=10_000)
    assert "Draw a digit" in panel.view.summary.text()


def test_explain_and_fool_it_take_turns(qtbot, tab):
    open_fool(qtbot, tab)
    qtbot.mouseClick(tab.explain_button, Qt.MouseButton.LeftButton)
    assert tab.explain_area.isVisible() and not tab.fool_area.isVisible() and not tab.fool_button.isChecked()
    qtbot.mouseClick(tab.explain_button, Qt.MouseButton.LeftButton)
    assert tab.chart.isVisible() and not tab.explain_area.isVisible()


def test_the_smallest_eps_is_found_for_every_digit_model(qtbot, tab):
    panel = open_fool(qtbot, tab)
    draw(qtbot, tab, 7)
    attacked(qtbot, panel)
    panel.pages.setCurrentIndex(1)
    with qtbot.waitSignal(panel.search_shown, timeout=60_000):
        qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    text = panel.search_result.text()
    for name in ("mnist-cnn", "mnist-mlp", "mnist-softmax"):
        assert name in text
    assert "fashion" not in text  # it reads clothes: not attacked as a digit model


def test_the_challenge_keeps_score(qtbot, tab):
    panel = open_fool(qtbot, tab)
    panel.pages.setCurrentIndex(2)
    draw(qtbot, tab, 1)
    panel.challenge_target.setCurrentIndex(1 + 7)
    qtbot.mouseClick(panel.challenge_button, Qt.MouseButton.LeftButton)
    assert "must make it say 7" in panel.challenge_text.text() and not panel.still_reads.isEnabled()
    assert "fooled 0 of 1 tried" in panel.score_label.text()
    drag(qtbot, tab.canvas, [(95, 60), (150, 45)])  # a flag and a bar: a 1 many read as 7
    drag(qtbot, tab.canvas, [(95, 60), (150, 45), (200, 45)])
    if tab.prediction.label != 7:
        pytest.skip("these strokes did not make this model say 7")
    assert panel.still_reads.isEnabled() and "Would a person still read 1?" in panel.challenge_text.text()
    qtbot.mouseClick(panel.still_reads, Qt.MouseButton.LeftButton)
    assert "fooled 1 of 1 tried" in panel.score_label.text() and panel.score["points"] >= 10
    assert not panel.still_reads.isEnabled()


def test_robustness_curves_are_computed_in_the_background_and_stop(qtbot, tab):
    panel = open_fool(qtbot, tab)
    panel.pages.setCurrentIndex(3)
    panel.curve_limit.setValue(100)
    panel.curve_pgd.setChecked(False)
    with qtbot.waitSignal(panel.curves_done, timeout=120_000):
        qtbot.mouseClick(panel.curve_button, Qt.MouseButton.LeftButton)
        assert panel.curve_stop.isEnabled() and not panel.curve_button.isEnabled()
    assert panel.curve_progress.value() == 100 and panel.curve_note.text().startswith("Done.")
    curves = [item for item in panel.curve_chart.listDataItems()]
    assert len(curves) == len(tab.library.models)  # one FGSM curve per model, each in the legend
    assert len(panel.curve_legend.items) == len(curves)
    xs, ys = curves[0].getData()
    assert list(xs) == [0.0, 0.05, 0.1, 0.2, 0.3] and ys[0] > ys[-1]

    panel.curve_limit.setValue(10_000)
    panel.curve_pgd.setChecked(True)
    with qtbot.waitSignal(panel.curves_done, timeout=60_000):
        qtbot.mouseClick(panel.curve_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(panel.curve_stop, Qt.MouseButton.LeftButton)
    assert panel.curve_note.text().startswith("Stopped") and panel.curve_button.isEnabled()


def test_a_scribble_reads_not_a_digit_on_the_canvas(qtbot, tab):
    for stroke in SCRIBBLES["zigzag"](7).strokes:
        drag(qtbot, tab.canvas, [(x, y) for x, y, _ in stroke.points])
    assert tab.prediction.not_a_digit and tab.answer.text() == "not a digit?"
    assert "looks like no digit" in tab.detail.text()
