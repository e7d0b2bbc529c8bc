"""A lesson's session through the real widgets: runs that keep their models, nothing stale, settings that
cannot break the start, a form that fits a small screen."""

from dataclasses import fields

import pytest
from PySide6.QtCore import QByteArray, QSettings, QTimer

from digitpad.core.checkpoints import save_checkpoint
from digitpad.core.settings import SETTING
from digitpad.core.trainer import TrainConfig
from digitpad.gui.app import make_window
from digitpad.gui.common.worker import Worker
from digitpad.gui.training.form import Form
from digitpad.gui.main_window import MainWindow
from digitpad.gui.training.tab import TrainingTab
from helpers import click, setup_run


def run_to_end(qtbot, tab, **setup):
    setup_run(tab, **setup)
    with qtbot.waitSignal(tab.model_trained, timeout=120_000) as finished:
        click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    return finished.args[0]


def open_window(qtbot) -> MainWindow:
    win = make_window()
    qtbot.addWidget(win)
    win.show()
    # The models are loaded and the start-up preloading has finished (closing joins it, but only for 30 s).
    # One wait on that condition, with room for a heavily loaded machine: never a guess at how long it takes.
    qtbot.waitUntil(lambda: len(win.library.models) > 0 and not Worker.running(), timeout=300_000)
    return win


def test_every_run_keeps_its_model_and_the_canvas_changes_model_only_when_told(qtbot, window, mnist):
    tab, library = window.training, window.library
    first = run_to_end(qtbot, tab, epochs=1)
    assert library.active.name == "mnist-cnn" and "keeps" in window.statusBar().currentMessage()
    assert tab.use_button.isEnabled() and tab.use_button.text() == "Use on canvas (MNIST)"
    click(qtbot, tab.use_button)
    assert library.active is first
    second = run_to_end(qtbot, tab, epochs=1)
    assert first in library.models and second in library.models and first.source != second.source
    assert library.active is first  # a new run never takes the canvas's place by itself

    setup_run(tab, model="mlp", epochs=1, dataset="fashion-mnist")
    with qtbot.waitSignal(tab.run_started):
        tab.start_training()
    assert window.statusBar().currentMessage() == ""  # the last run's words do not stay while this one trains
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=120_000)
    clothes = tab.last_model
    assert library.active is first and "Fashion-MNIST" in tab.use_button.text()
    assert "not digits" in tab.status.text() and "Draw a digit" not in tab.status.text()
    click(qtbot, tab.use_button)  # the teacher asks for it: the canvas says what it knows
    assert library.active is clothes and "not digits" in window.canvas.canvas.notice
    third = run_to_end(qtbot, tab, epochs=1)
    assert library.active is clothes and third in library.models

    setup_run(tab, model="cnn", epochs=5, subset="all", test_limit=None)
    with qtbot.waitSignal(tab.model_trained, timeout=60_000) as stopped:
        click(qtbot, tab.start_button)
        qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=60_000)
        click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    model = stopped.args[0]
    assert "stopped" in model.name and model in library.models and library.active is clothes
    assert window.statusBar().currentMessage().startswith("Stopped")
    assert "Training done" not in window.statusBar().currentMessage()
    assert tab.speed.text() == ""  # no speed or ETA left over from the stopped run
    assert "no test pass yet" in tab.status.text() and tab.charts.test_y == []
    assert len({m.source for m in library.models}) == len(library.models) == 4 + 5


def test_a_saved_copy_of_the_shipped_model_opens_beside_it(qtbot, window, tmp_path, shipped_cnn):
    save_checkpoint(shipped_cnn, tmp_path / "mnist-cnn.pt")
    before = len(window.library.models)
    with qtbot.waitSignal(window.checkpoint_handled, timeout=20_000):
        window.open_checkpoint(str(tmp_path / "mnist-cnn.pt"))
    names = [m.name for m in window.library.models]
    assert len(names) == before + 1 and names.count("mnist-cnn") == 2
    assert window.library.active.source == str(tmp_path / "mnist-cnn.pt")


def test_a_new_run_starts_with_no_results_of_the_last_one_and_the_log_shows_the_end(qtbot, window, mnist):
    tab = window.training
    tab.log.setFixedHeight(60)  # a few lines: the log must scroll to its newest line
    run_to_end(qtbot, tab, epochs=2)
    qtbot.waitUntil(lambda: tab.results.confusion.matrix.sum() == 300, timeout=5_000)
    bar = tab.log.verticalScrollBar()
    assert 0 < bar.maximum() == bar.value()
    assert "finished" in tab.log.document().lastBlock().text()
    setup_run(tab, model="mlp", epochs=1, dataset="fashion-mnist")
    tab.start_training()
    assert tab.results.confusion.matrix.sum() == 0 and tab.results.mistakes.count == 0
    assert tab.charts.loss_x == [] and tab.speed.text() == ""
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=120_000)


def test_the_quit_question_closes_when_training_ends_on_its_own(qtbot, window, mnist):
    tab = window.training
    setup_run(tab, epochs=3, subset="2,000")
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=60_000)
    QTimer.singleShot(0, window.close)  # the close asks, in a dialog of its own
    qtbot.waitUntil(lambda: getattr(window, "quit_box", None) is not None, timeout=5_000)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=120_000)
    assert not tab.is_running() and not window.quit_box.isVisible()


def test_the_form_table_covers_the_config_and_round_trips_it(qtbot):
    form = Form()
    names = {f.name for f in form.fields}
    assert names == {s.name for s in SETTING.values() if s.in_form} and len(names) == len(form.fields)
    assert names <= {f.name for f in fields(TrainConfig)}
    wanted = TrainConfig(dataset="fashion-mnist", model="cnn", epochs=7, batch_size=33, lr=0.25,
                         optimizer="adam", momentum=0.3, schedule="onecycle", label_smoothing=0.15, seed=9,
                         device="cpu", train_limit=2000, weight_decay=0.001, adversarial="fgsm", adv_eps=0.2)
    form.show({name: getattr(wanted, name) for name in names})
    assert form.config() == wanted


GARBAGE = {"canvas/brush": "abc", "training/lr": "abc", "training/epochs": "99999999999", "window/tab": "xyz",
           "window/geometry": "not bytes", "training/model": "transformer", "training/device": "tpu",
           "training/batch_size": "-3", "training/momentum": "nan", "training/train_limit": "12",
           "training/keep_setup": "true", "training/seed": "7", "view/text_zoom": "huge",
           "training/weight_decay": "-1",
           "files/last_folder": ""}


@pytest.mark.parametrize("key", sorted(GARBAGE))
def test_a_garbage_setting_falls_back_to_its_default(qtbot, key):
    settings = QSettings()
    settings.setValue("training/keep_setup", True)
    settings.setValue(key, GARBAGE[key])
    settings.sync()
    win = open_window(qtbot)
    tab = win.training
    cfg = tab.config()
    assert (cfg.model, cfg.epochs, cfg.lr, cfg.batch_size, cfg.device) == ("softmax", 10, 0.05, 256, "auto")
    assert cfg.train_limit is None and cfg.momentum == 0.9 and cfg.weight_decay == 0.0
    assert win.canvas.brush.value() == 18 and win.tabs.currentIndex() == 0 and win.zoom.factor == 1.0
    assert cfg.seed == (7 if key == "training/seed" else 0)  # a valid value is kept
    win.close()


def test_a_restarted_app_opens_with_the_course_defaults_unless_asked_to_keep(qtbot):
    first = TrainingTab()
    qtbot.addWidget(first)
    setup_run(first, model="mlp", epochs=3, seed=42)
    first.save_settings()
    second = TrainingTab()
    qtbot.addWidget(second)
    assert second.config() == TrainConfig.for_model("softmax", test_limit=None)  # the course defaults
    second.keep_setup.setChecked(True)
    setup_run(second, model="mlp", epochs=3, seed=42)
    second.save_settings()
    third = TrainingTab()
    qtbot.addWidget(third)
    assert third.keep_setup.isChecked()
    assert (third.model.currentData(), third.epochs.value(), third.seed.value()) == ("mlp", 3, 42)


def test_geometry_saved_by_qt_is_restored(qtbot):
    """Every step waits on its condition (the resize applied, the restored size shown), not a fixed time."""
    win = open_window(qtbot)
    win.resize(760, 520)  # within the offscreen screen (800×600) and above the minimum size
    qtbot.waitUntil(lambda: (win.width(), win.height()) == (760, 520), timeout=60_000)
    win.close()
    assert isinstance(QSettings().value("window/geometry"), QByteArray)
    again = open_window(qtbot)
    qtbot.waitUntil(lambda: abs(again.width() - 760) <= 10 and again.height() == 520,  # (the frame may take a
                    timeout=60_000)  # few pixels)
    again.close()


@pytest.mark.parametrize("height", [480, 600])
def test_the_setup_form_scrolls_instead_of_squeezing_its_controls(qtbot, height):
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.resize(1024, height)
    tab.show()
    qtbot.waitExposed(tab)
    for widget in tab.form.widgets.values():
        assert widget.height() >= widget.minimumSizeHint().height(), widget
    assert tab.setup_scroll.verticalScrollBar().maximum() > 0  # the rest of the form is a scroll away
    assert tab.log.height() >= 3 * tab.log.fontMetrics().height()
