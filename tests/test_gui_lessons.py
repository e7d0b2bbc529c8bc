"""The Lessons tab driven through its real widgets, offscreen: each page runs, draws, and shows its code."""

import inspect

import pytest

from digitpad.core import scratch
from digitpad.gui.lessons.overflow import OverflowLesson
from digitpad.gui.lessons.page import CodePane
from digitpad.gui.lessons.registry import LESSONS
from digitpad.gui.lessons.tab import LessonsTab
from digitpad.gui.common.worker import running_threads
from helpers import click


@pytest.fixture
def lessons(qtbot):
    tab = LessonsTab()
    qtbot.addWidget(tab)
    tab.show()
    yield tab
    tab.shutdown()


def shows_source(page, *functions) -> bool:
    text = page.findChild(CodePane).toPlainText()
    return all(inspect.getsource(fn).rstrip() in text for fn in functions)


def test_the_main_window_has_a_lessons_tab_and_the_new_models_in_the_training_form(window):
    assert window.tabs.tabText(window.tabs.indexOf(window.lessons)) == "Lessons"
    assert window.lessons.pages.count() == len(LESSONS) == 6  # the four of the course, the loss surface, the playground
    combo = window.training.model
    assert "682k params" in combo.itemText(combo.findData("mlp-deep"))
    assert "7.8k params" in combo.itemText(combo.findData("softmax-scratch"))


def test_linear_regression_lesson_trains_both_ways_and_recovers_the_parameters(qtbot, lessons):
    page = lessons.page("linreg")
    assert shows_source(page, scratch.linreg, scratch.squared_loss, scratch.sgd, scratch.train_linreg_concise)
    page.batch_size.setValue(50)  # 60 minibatches, not 300: the same lesson in a second
    page.lr.setValue(0.1)
    click(qtbot, page.start_button)
    assert page.is_running() and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(page.batch_x) > 10, timeout=10_000)
    assert page.is_running()  # still going: it animates, a few minibatches per tick
    qtbot.waitUntil(lambda: not page.is_running(), timeout=30_000)
    assert len(page.epoch_loss["scratch"]) == 3 and page.epoch_loss["scratch"] == pytest.approx(
        page.epoch_loss["concise"], rel=1e-4)
    assert len(page.points.data) == 1000 and len(page.fit_line.getData()[0]) == 2
    learned = [float(page.table.item(r, 2).text()) for r in range(3)]
    assert learned == pytest.approx([2, -3.4, 4.2], abs=0.02)
    assert [page.table.item(r, 2).text() for r in range(3)] == [page.table.item(r, 3).text() for r in range(3)]
    assert "Done" in page.status.text() and page.start_button.isEnabled()


def test_linear_regression_lesson_stops_on_stop(qtbot, lessons):
    page = lessons.page("linreg")
    page.epochs.setValue(50)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: len(page.batch_x) > 5, timeout=10_000)
    click(qtbot, page.stop_button)
    assert not page.is_running() and page.status.text() == "Stopped."


def test_softmax_lesson_trains_scratch_and_concise_side_by_side(qtbot, lessons, mnist):
    page = lessons.page("softmax")
    assert shows_source(page, scratch.softmax, scratch.cross_entropy, scratch.sgd, scratch.scratch_step)
    page.dataset.setCurrentIndex(page.dataset.findData("mnist"))
    page.subset.setCurrentIndex(page.subset.findData(2000))
    page.epochs.setValue(2)
    page.test_limit = 300
    with qtbot.waitSignal(page.finished, timeout=60_000):
        click(qtbot, page.start_button)
        assert page.is_running() and page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: running_threads() == [], timeout=10_000)
    concise, own = page.data["softmax"], page.data["softmax-scratch"]
    assert len(concise["loss"]) >= 2 and concise["epoch"] == own["epoch"] == [1.0, 2.0]
    assert own["test"] == pytest.approx(concise["test"], abs=0.005)
    assert len(page.curves["softmax-scratch"]["test"].getData()[0]) == 2
    assert page.table.rowCount() == 2 and "pts" in page.table.item(1, 3).text()
    assert "Done" in page.status.text() and page.start_button.isEnabled()


def test_softmax_lesson_stop_ends_both_runs(qtbot, lessons, mnist):
    page = lessons.page("softmax")
    page.dataset.setCurrentIndex(page.dataset.findData("mnist"))
    page.batch_size.setValue(16)
    page.test_limit = 300
    with qtbot.waitSignal(page.finished, timeout=60_000):
        click(qtbot, page.start_button)
        qtbot.waitUntil(lambda: all(d["loss"] for d in page.data.values()), timeout=30_000)
        click(qtbot, page.pause_button)
        assert page.pause_button.text() == "Resume"
        click(qtbot, page.stop_button)
    assert not page.is_running() and running_threads() == []


def test_cross_entropy_lesson_shows_the_lectures_numbers_and_follows_edits(qtbot, lessons):
    page = lessons.page("cross_entropy")
    assert shows_source(page, scratch.np_softmax, scratch.np_cross_entropy, scratch.batch_cross_entropy)
    text = page.results.text()
    assert "0.9729" in text and "0.4966" in text and "1.2389" in text and "torch.int64" in text
    assert list(page.softmax_bars.opts["height"]) == pytest.approx([0.378, 0.342, 0.280], abs=1e-3)
    page.z.setText("2, 0, 0")
    assert "0.2395" in page.results.text()  # −log(e²/(e²+2))
    page.labels.setText("2, 0, 7")
    assert "class indices" in page.results.text() and page.example is None


def test_overflow_lesson_table_breaks_naive_softmax_not_the_stable_one(qtbot, lessons):
    page: OverflowLesson = lessons.page("overflow")
    assert shows_source(page, scratch.softmax, scratch.stable_softmax, scratch.log_softmax)
    (fix,) = page.code.extraSelections()
    assert "X.max(1, keepdim=True)" in fix.cursor.block().text()
    assert page.table_now.naive_finite and "agree" in page.verdict.text()
    page.slider.setValue(130)  # ×20
    loss_row = page.table.rowCount() - 1
    assert page.table.item(loss_row, 3).text() == "inf"  # the label's probability underflowed to 0
    assert float(page.table.item(loss_row, 4).text()) == pytest.approx((9.0 - 3.1) * page.scale(), rel=1e-2)
    assert page.table.item(7, 2).text() == "inf" and page.table.item(7, 2).background().color().red() > 200
    assert "inf" in page.verdict.text()
    page.play_timer.setInterval(1)  # the same sweep, faster than a person needs to watch it
    click(qtbot, page.play_button)
    assert page.is_running() and page.slider.value() < 10
    qtbot.waitUntil(lambda: page.slider.value() == page.SLIDER_STEPS, timeout=20_000)
    qtbot.waitUntil(lambda: not page.is_running(), timeout=2_000)
    assert page.scale_label.text() == "×1,000.0" and page.marker.value() == pytest.approx(3.0)


def test_closing_the_window_while_a_lesson_trains_asks_then_joins_both_runs(qtbot, window, mnist, monkeypatch):
    page = window.lessons.page("softmax")
    page.dataset.setCurrentIndex(page.dataset.findData("mnist"))
    page.batch_size.setValue(16)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: all(d["loss"] for d in page.data.values()), timeout=30_000)
    asked = []
    monkeypatch.setattr(window, "confirm_stop_on_close", lambda: asked.append(1) or True)
    assert window.close()
    assert asked == [1] and running_threads() == [] and not window.isVisible()
