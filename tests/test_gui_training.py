"""The Training tab driven through its real widgets, offscreen."""

import time

from PySide6.QtCore import Qt

from digitpad.gui.common.worker import running_threads
from digitpad.gui.training.tab import TrainingTab
from helpers import click, setup_run


def test_a_short_run_draws_curves_fills_results_and_feeds_the_canvas(qtbot, window, mnist, tmp_path):
    tab = window.training
    setup_run(tab, batch_size=50)
    with qtbot.waitSignal(tab.model_trained, timeout=60_000) as finished:
        click(qtbot, tab.start_button)
        assert not tab.model.isEnabled() and tab.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert len(tab.charts.loss_x) >= 2 and tab.charts.epoch_x == [1.0, 2.0]
    assert len(tab.charts.test_y) == 2 and all(0 < v <= 1 for v in tab.charts.test_y)
    assert tab.progress.value() == tab.progress.maximum()
    qtbot.waitUntil(lambda: tab.results.confusion.matrix.sum() == 300, timeout=2_000)
    assert tab.results.mistakes.count == 0  # pages out of view are drawn when opened
    tab.results.setCurrentWidget(tab.results.mistakes)
    tab.results.setCurrentWidget(tab.results.weights)
    assert tab.results.weights.count == 10 and tab.results.mistakes.count > 0
    assert "    2  " in tab.log.toPlainText() and "finished" in tab.log.toPlainText()
    trained = finished.args[0]
    assert window.library.active.name == "mnist-cnn" and trained in window.library.models  # the canvas waits
    click(qtbot, tab.use_button)  # until the teacher says so
    assert window.library.active is trained and trained.name in window.windowTitle()
    assert window.tabs.currentWidget() is window.canvas
    assert tab.model.isEnabled() and tab.save_button.isEnabled()
    with qtbot.waitSignal(tab.save_finished, timeout=10_000):
        tab.save_model_to(str(tmp_path / "mine.pt"))  # what Save model… does once the dialog returns a path
    assert tab.status.text() == f"Saved {tmp_path / 'mine.pt'}"
    with qtbot.waitSignal(window.checkpoint_handled, timeout=10_000):
        window.open_checkpoint(str(tmp_path / "mine.pt"))  # and Open model…
    assert window.library.active.name == "mine"
    assert window.library.active.meta.test_accuracy == trained.meta.test_accuracy


def test_changing_the_model_sets_its_course_defaults(qtbot, window):
    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("mlp"))
    assert (tab.epochs.value(), tab.batch_size.value(), tab.lr.value()) == (10, 64, 0.01)
    assert tab.optimizer.currentData() == "momentum" and tab.momentum.value() == 0.5
    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    assert (tab.batch_size.value(), tab.lr.value(), tab.optimizer.currentData()) == (256, 0.05, "sgd")
    assert "7.8k params" in tab.model.currentText()


def test_the_course_lr_follows_the_data_set_until_the_user_types_one(qtbot, window):
    """Softmax regression's course lr is 0.05 on MNIST and 0.03 on Fashion-MNIST (standardized pixels)."""
    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    tab.dataset.setCurrentIndex(tab.dataset.findData("fashion-mnist"))
    assert tab.lr.value() == 0.03 and tab.config().lr == 0.03
    tab.dataset.setCurrentIndex(tab.dataset.findData("mnist"))
    assert tab.lr.value() == 0.05
    tab.lr.setValue(0.2)  # the user's own
    tab.dataset.setCurrentIndex(tab.dataset.findData("fashion-mnist"))
    assert tab.lr.value() == 0.2
    tab.model.setCurrentIndex(tab.model.findData("mlp"))
    tab.model.setCurrentIndex(tab.model.findData("softmax"))  # choosing a model again loads its course lr
    assert tab.lr.value() == 0.03


def test_stop_mid_run_ends_within_a_second(qtbot, window, mnist):
    tab = window.training
    setup_run(tab, model="cnn", epochs=5, subset="all", test_limit=None)
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=30_000)
    stopped_at = time.perf_counter()
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5_000)
    assert time.perf_counter() - stopped_at < 1.0
    assert "Stopped" in tab.status.text()
    assert running_threads() == []


def test_pause_holds_the_batch_counter_still(qtbot, window, mnist):
    tab = window.training
    setup_run(tab, model="cnn", epochs=3, subset="all", test_limit=None)
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=30_000)
    click(qtbot, tab.pause_button)
    assert tab.pause_button.text() == "Resume"
    qtbot.wait(400)  # a report already on its way may still land
    held = (tab.progress.format(), len(tab.charts.loss_x))
    qtbot.wait(800)
    assert (tab.progress.format(), len(tab.charts.loss_x)) == held
    click(qtbot, tab.pause_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) > held[1], timeout=10_000)
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5_000)


def test_closing_the_window_mid_run_stops_the_worker(qtbot, window, mnist, monkeypatch):
    tab = window.training
    setup_run(tab, model="cnn", epochs=5, subset="all", test_limit=None)
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=30_000)
    asked = []
    monkeypatch.setattr(window, "confirm_stop_on_close", lambda: asked.append(1) or True)
    assert window.close()
    assert asked == [1] and running_threads() == [] and not window.isVisible()


def test_closing_can_be_cancelled(qtbot, window, mnist, monkeypatch):
    tab = window.training
    setup_run(tab, model="cnn", epochs=5, subset="all", test_limit=None)
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=30_000)
    monkeypatch.setattr(window, "confirm_stop_on_close", lambda: False)
    assert not window.close()
    assert tab.is_running() and window.isVisible()
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5_000)


def test_a_diverging_run_reports_failure_shows_the_blow_up_and_the_next_run_starts_clean(qtbot, window, mnist):
    """The app's one divergence test (the engine's are in test_trainer.py): the dialog, the chart, no model."""
    tab = window.training
    setup_run(tab, model="mlp", epochs=3, lr=1000.0, optimizer="sgd")
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)
    assert "diverged" in tab.status.text() and "lower learning rate" in tab.status.text() and tab.speed.text() == ""
    assert tab.failure_box.isVisible() and tab.failure_box.windowTitle() == "Training diverged"
    assert tab.charts.diverged_at is not None and tab.charts.diverged_line.isVisible()
    assert len(tab.charts.loss_x) >= 1 and tab.charts.loss_x[-1] <= tab.charts.diverged_at
    assert tab.last_model is None  # nothing to save or to put on the canvas
    tab.failure_box.close()
    setup_run(tab, model="softmax", epochs=1)
    with qtbot.waitSignal(tab.model_trained, timeout=60_000):
        click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert "Finished" in tab.status.text() and len(tab.charts.loss_x) >= 1


def test_settings_persist_between_sessions(qtbot):
    first = TrainingTab()
    qtbot.addWidget(first)
    first.keep_setup.setChecked(True)
    first.model.setCurrentIndex(first.model.findData("mlp"))
    first.dataset.setCurrentIndex(first.dataset.findData("fashion-mnist"))
    first.epochs.setValue(3)
    first.seed.setValue(42)
    first.save_settings()
    second = TrainingTab()
    qtbot.addWidget(second)
    assert second.model.currentData() == "mlp" and second.dataset.currentData() == "fashion-mnist"
    assert second.epochs.value() == 3 and second.seed.value() == 42


def test_fast_preset_fills_the_controls(qtbot, window):
    tab = window.training
    qtbot.mouseClick(tab.fast_button, Qt.MouseButton.LeftButton)
    cfg = tab.config()
    assert (cfg.model, cfg.epochs, cfg.schedule, cfg.optimizer, cfg.label_smoothing, cfg.precision) == (
        "cnn", 1, "onecycle", "adam", 0.1, "bfloat16")
    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    assert (tab.config().schedule, tab.config().label_smoothing, tab.config().precision) == ("constant", 0.0,
                                                                                             "float32")
