"""The Step tab driven through its real widgets, offscreen: Step, Back, Rewind, the timeline, play, a race."""

import pytest
import torch
from PySide6.QtCore import QPoint, Qt

import digitpad.core.step as step_mod
from digitpad.core.datasets import DataError
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.step.tab import StepTab


@pytest.fixture
def tab(qtbot, mnist):
    library = ModelLibrary()
    widget = StepTab(library)
    qtbot.addWidget(widget)
    widget.resize(1000, 560)
    widget.show()
    widget.setup.batch_size.setValue(32)
    yield widget
    widget.stop()
    widget.shutdown()


def weights(tab):
    return [p.detach().clone() for p in tab.session.lanes[0].model.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def idle_at(qtbot, tab, step):
    qtbot.waitUntil(lambda: tab.session is not None and tab.session.step == step and not tab.is_busy(),
                    timeout=20_000)


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_step_back_rewind_and_the_timeline_with_keys_and_buttons(qtbot, tab):
    qtbot.keyClick(tab, Qt.Key.Key_Space)  # opens the session, then steps
    idle_at(qtbot, tab, 1)
    at = {1: weights(tab)}
    initial = [s.clone() for s in tab.session.lanes[0].states[0].params]
    qtbot.keyClick(tab, Qt.Key.Key_Right)
    idle_at(qtbot, tab, 2)
    at[2] = weights(tab)
    click(qtbot, tab.ten_button)
    idle_at(qtbot, tab, 12)
    assert tab.step_label.text() == "step 12 / 12" and tab.timeline.maximum() == 12
    qtbot.keyClick(tab, Qt.Key.Key_Left)  # Back
    idle_at(qtbot, tab, 11)
    for _ in range(9):
        click(qtbot, tab.back_button)
        qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    assert tab.session.step == 2 and same(weights(tab), at[2])
    assert "Step 2" in tab.batch_panel.header.text()
    click(qtbot, tab.rewind_button)
    idle_at(qtbot, tab, 0)
    assert same(weights(tab), initial) and not tab.back_button.isEnabled()
    tab.timeline.setValue(1)  # a click on the timeline: it goes there once the clicks settle
    idle_at(qtbot, tab, 1)
    assert same(weights(tab), at[1]) and tab.timeline.maximum() == 12


def test_the_update_panel_shows_delta_w_and_writes_out_the_rule_of_a_clicked_pixel(qtbot, tab):
    tab.setup.optimizer.setCurrentIndex(tab.setup.optimizer.findData("momentum"))
    click(qtbot, tab.step_button)
    idle_at(qtbot, tab, 1)
    click(qtbot, tab.step_button)
    idle_at(qtbot, tab, 2)
    tab.deck.show_panel("Update")
    panel = tab.update_panel
    view = tab.views[0]
    shown_delta = panel.delta.grid
    assert len(shown_delta.sizes) == 10 and shown_delta.legends[0].hi == pytest.approx(abs(view.first.update).max())
    grid = panel.before.grid
    target = grid._target(7)  # class 7's template; its pixel at row 14, column 14
    pos = QPoint(target.left() + (14 * target.width() + target.width() // 2) // 28,
                 target.top() + (14 * target.height() + target.height() // 2) // 28)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=pos)
    assert panel.picked == (7, 14, 14)
    text = panel.rule.text()
    after = float(tab.session.lanes[0].model[1].weight[7, 14 * 28 + 14].detach())
    assert "class 7, pixel (row 14, col 14)" in text and "v ← μ·v + g" in text and f"{after:.7g}" in text


def test_play_steps_in_slow_motion_until_stop(qtbot, tab):
    tab.speed.setValue(20)
    click(qtbot, tab.play_button)
    qtbot.waitUntil(lambda: tab.session is not None and tab.session.step >= 3, timeout=20_000)
    assert tab.is_busy() and not tab.step_button.isEnabled() and tab.stop_button.isEnabled()
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    stopped_at = tab.session.step
    qtbot.wait(300)
    assert tab.session.step == stopped_at and tab.step_button.isEnabled()
    assert tab.curves_panel.values[0].keys() == set(range(1, stopped_at + 1))


def test_a_race_steps_every_lane_on_the_same_batch_and_shows_them_side_by_side(qtbot, tab):
    tab.setup.race.setChecked(True)  # + momentum 0.9 and Adam, as set up by default
    click(qtbot, tab.step_button)
    idle_at(qtbot, tab, 1)
    lanes = tab.session.records[1]
    assert len(lanes) == 3 and all((r.indices == lanes[0].indices).all() for r in lanes)
    tab.deck.show_panel("Race")
    assert tab.race_panel.table.rowCount() == 3
    assert [g.isVisibleTo(tab.race_panel) for g in tab.race_panel.lane_grids] == [True, True, True]
    legend = [label.text for _, label in tab.curves_panel.acc_plot.legend.items]
    assert legend == [lane.config.label for lane in tab.session.lanes]
    tab.lane_choice.setCurrentIndex(2)
    tab.deck.show_panel("Batch")  # drawn as it comes into view
    assert "Adam" in tab.batch_panel.header.text()


def test_a_diverging_step_is_refused_with_a_message_and_the_steps_before_it_kept(qtbot, tab):
    tab.setup.model.setCurrentIndex(tab.setup.model.findData("mlp"))
    tab.setup.optimizer.setCurrentIndex(tab.setup.optimizer.findData("sgd"))
    tab.setup.lr.setValue(1000.0)
    click(qtbot, tab.ten_button)
    qtbot.waitUntil(lambda: tab.session is not None and not tab.is_busy() and "NaN" in tab.status.text(),
                    timeout=20_000)
    assert 0 < tab.session.step < 10 and tab.back_button.isEnabled()
    assert all(torch.isfinite(p).all() for p in tab.session.lanes[0].model.parameters())
    tab.failure_box.close()


def test_a_missing_data_set_is_said_in_words(qtbot, tab, monkeypatch):
    def missing(*_args, **_kwargs):
        raise DataError("Fashion-MNIST was not found. Fix: sudo apt-get install dataset-fashion-mnist")
    monkeypatch.setattr(step_mod, "load_dataset", missing)
    click(qtbot, tab.step_button)
    qtbot.waitUntil(lambda: "was not found" in tab.status.text() and not tab.is_busy(), timeout=10_000)
    assert tab.session is None and tab.step_button.isEnabled()
    tab.failure_box.close()


def test_the_step_tab_fits_a_netbook_screen(qtbot, window):
    window.resize(1024, 600)
    window.tabs.setCurrentWidget(window.step)
    qtbot.wait(50)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 560
    for button in (window.step.step_button, window.step.stop_button, window.step.speed):
        corner = button.mapTo(window, QPoint(button.width(), button.height()))
        assert corner.x() <= window.width() and corner.y() <= window.height()


def test_the_loss_surface_lesson_draws_both_paths_and_shows_a_too_large_lr_diverging(qtbot):
    from digitpad.gui.lessons.loss_surface import LossSurfaceLesson, position_of

    page = LossSurfaceLesson()
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: not page.is_running() and page.shown_stretch is not None, timeout=20_000)
    assert len(page.sgd_path.getData()[0]) == 31 and len(page.momentum_path.getData()[0]) == 31
    assert page.image.image.shape == (161, 161) and len(page.contours.getData()[0]) > 100
    assert "stable for lr" in page.summary.text()
    page.lr.setValue(position_of(0.3))
    qtbot.waitUntil(lambda: not page.is_running() and "ran off the map" in page.summary.text(), timeout=20_000)
    assert len(page.sgd_path.getData()[0]) < 31 and "momentum: loss" in page.summary.text()


def test_stepping_on_from_a_model_in_the_library_fixes_its_model_and_data_set(qtbot, tab, shipped_cnn):
    tab.setup.library.put(shipped_cnn, activate=False)
    start = tab.setup.start_from
    start.setCurrentIndex(start.findText(shipped_cnn.title))
    assert tab.setup.model.currentData() == "cnn" and not tab.setup.model.isEnabled()
    tab.setup.optimizer.setCurrentIndex(tab.setup.optimizer.findData("sgd"))
    tab.setup.lr.setValue(0.001)
    click(qtbot, tab.step_button)
    idle_at(qtbot, tab, 1)
    assert shipped_cnn.title in tab.status.text() and tab.session.records[1][0].test_accuracy > 0.95
    start.setCurrentIndex(0)  # fresh weights again: the model can be chosen, and the session no longer matches
    assert tab.setup.model.isEnabled() and tab.stale
