"""The Classroom tab in the real window: save an exercise from the Training tab, the Canvas and a lesson, open it,
predict, reveal, step through a sheet, the answers log; import the class's exports, the class report,
leave-one-writer-out with Stop, and My digits' export."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from dataclasses import replace

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

from digitpad.core.class_set import LowoConfig, class_report, export_personal_set, load_class_set
from digitpad.core.exercises import read_sheet, shipped_exercises
from digitpad.core.personal_set import add_sample
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.sample_digits import digit_strokes, transform
from digitpad.gui.classroom.exercise_page import HIDDEN_TEXT
from helpers import drag, hand, personal_set


def field_widget(page, title):
    form = page.setup_form
    for row in range(form.rowCount()):
        label = form.itemAt(row, form.ItemRole.LabelRole).widget()
        if label.text() == title:
            return form.itemAt(row, form.ItemRole.FieldRole).widget()
    raise KeyError(title)


def open_dialog(qtbot, window, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.classroom.dialog is not None and window.classroom.dialog.isVisible())
    return window.classroom.dialog


def save(qtbot, window, dialog, path, title, question):
    qtbot.keyClicks(dialog.title, title)
    qtbot.keyClicks(dialog.question, question)
    page = window.classroom.exercises
    with qtbot.waitSignal(page.sheet_opened, timeout=20_000):  # the teacher sees it as the students will
        dialog.save_to(str(path))
    return page


def reveal(qtbot, page):
    assert page.reveal_button.isEnabled()
    with qtbot.waitSignal(page.answer_logged, timeout=120_000):
        qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
        assert not page.reveal_button.isEnabled() and page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: page.run is None)


def test_training_setup_saved_as_exercise_then_predicted_and_revealed(qtbot, window, tmp_path):
    training = window.training
    training.form.show({"model": "softmax", "dataset": "mnist", "epochs": 1, "lr": 0.05, "train_limit": 500})
    training.test_limit = 500
    dialog = open_dialog(qtbot, window, training.exercise_button)
    assert not dialog.save_new.isEnabled(), "a title and a question come first"
    dialog.measure.setCurrentIndex(dialog.measure.findData("test_accuracy"))
    dialog.tolerance.setValue(5)
    dialog.may_change["lr"].setChecked(True)
    dialog.hidden["epochs"].setChecked(True)
    path = tmp_path / "lr.digitpad-exercise"
    page = save(qtbot, window, dialog, path, "One epoch", "What test accuracy after one epoch?")
    assert window.tabs.currentWidget() is window.classroom
    saved = read_sheet(path).exercises[0]
    assert saved.setup["lr"] == 0.05 and saved.setup["train_limit"] == 500 and saved.hidden == ("epochs",)

    assert page.title.text() == "One epoch" and page.question.text() == "What test accuracy after one epoch?"
    assert HIDDEN_TEXT in field_widget(page, "epochs").text()
    assert isinstance(field_widget(page, "learning rate"), QLineEdit), "lr is the student's to change"
    assert isinstance(field_widget(page, "model"), QLabel), "the rest is locked"
    assert not page.reveal_button.isEnabled(), "no reveal before a prediction"
    qtbot.keyClicks(page.prediction.text, "lots")
    assert not page.reveal_button.isEnabled() and "type a number" in page.status.text()
    page.prediction.text.clear()
    qtbot.keyClicks(page.prediction.text, "80")
    lr = field_widget(page, "learning rate")
    lr.clear()
    qtbot.keyClicks(lr, "0.1")
    reveal(qtbot, page)

    assert page.result_box.isVisible() and "You predicted 80 %; it was" in page.verdict_label.text()
    assert field_widget(page, "epochs").text() == "1", "hidden settings show after the reveal"
    assert not page.reveal_button.isEnabled(), "one reveal per prediction"
    rows = list(csv.DictReader((tmp_path / "lr.answers.csv").open()))
    assert len(rows) == 1 and rows[0]["exercise"] == "1" and rows[0]["prediction"] == "80 %"
    assert json.loads(rows[0]["changed"]) == {"lr": 0.1} and rows[0]["correct"] in ("yes", "no")


def test_canvas_drawing_and_a_session_model_saved_as_exercise(qtbot, window, shipped_cnn, tmp_path):
    canvas = window.canvas
    window.tabs.setCurrentWidget(canvas)
    qtbot.mouseClick(canvas.exercise_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: hasattr(window.classroom, "warning"))
    assert "Draw a digit" in window.classroom.warning.text(), "an empty canvas has nothing to save"
    window.library.choose(window.library.put(replace(shipped_cnn, name="my cnn", source="run 7")))
    for stroke in transform(digit_strokes(3), scale=0.8):
        drag(qtbot, canvas.canvas, stroke)
    dialog = open_dialog(qtbot, window, canvas.exercise_button)
    assert [dialog.measure.itemData(i) for i in range(dialog.measure.count())] == ["prediction", "confidence"]
    page = save(qtbot, window, dialog, tmp_path / "three.digitpad-exercise", "A three", "Which digit will it say?")
    assert (tmp_path / "three-1.pt").is_file(), "a model trained in the session travels beside the exercise"
    assert read_sheet(tmp_path / "three.digitpad-exercise").exercises[0].setup["checkpoint"] == "three-1.pt"
    assert page.prediction.group.buttons()[0].text() == "0" and not page.reveal_button.isEnabled()
    qtbot.mouseClick(page.prediction.group.button(3), Qt.MouseButton.LeftButton)
    reveal(qtbot, page)
    assert "You predicted 3; it was 3 — right." in page.verdict_label.text()


def test_a_lesson_page_saved_as_exercise(qtbot, window, tmp_path):
    lessons = window.lessons
    window.tabs.setCurrentWidget(lessons)
    assert lessons.page("cross_entropy").exercise_button is None, "a page with nothing to run offers no exercise"
    page = lessons.page("softmax")
    lessons.pages.setCurrentWidget(page)
    page.lr.setValue(50)
    dialog = open_dialog(qtbot, window, page.exercise_button)
    dialog.measure.setCurrentIndex(dialog.measure.findData("loss_direction"))
    assert dialog.options.text() == "down, up"
    save(qtbot, window, dialog, tmp_path / "lr50.digitpad-exercise", "lr 50", "Down or up?")
    exercise = read_sheet(tmp_path / "lr50.digitpad-exercise").exercises[0]
    assert exercise.kind == "lesson" and exercise.setup["lesson"] == "softmax" and exercise.setup["lr"] == 50
    assert exercise.answer.options == ("down", "up")


def test_the_step_tab_saved_as_exercise_after_some_steps_and_revealed(qtbot, window, mnist, tmp_path):
    step = window.step
    window.tabs.setCurrentWidget(step)
    step.setup.model.setCurrentIndex(step.setup.model.findData("softmax"))
    qtbot.mouseClick(step.ten_button, Qt.MouseButton.LeftButton)  # the teacher tries ten steps first
    qtbot.waitUntil(lambda: step.steps_taken() == 10 and not step.is_busy(), timeout=60_000)
    dialog = open_dialog(qtbot, window, step.exercise_button)
    assert dialog.draft.kind == "step" and dialog.draft.setup["steps"] == 10 and dialog.draft.setup["lr"] == 0.05
    dialog.measure.setCurrentIndex(dialog.measure.findData("loss_direction"))
    page = save(qtbot, window, dialog, tmp_path / "ten.digitpad-exercise", "Ten steps", "Down or up?")
    assert field_widget(page, "steps").text() == "10"
    down = page.prediction.group.button(0)
    assert down.text() == "down"
    qtbot.mouseClick(down, Qt.MouseButton.LeftButton, pos=QPoint(8, down.height() // 2))  # on its circle
    reveal(qtbot, page)
    assert "it was down — right" in page.verdict_label.text()


def test_the_playground_saved_as_exercise_keeps_its_data_model_and_steps(qtbot, window, tmp_path):
    lessons = window.lessons
    window.tabs.setCurrentWidget(lessons)
    page = lessons.page("playground")
    lessons.pages.setCurrentWidget(page)
    page.apply_preset("overfit", run=False)
    dialog = open_dialog(qtbot, window, page.exercise_button)
    setup = dialog.draft.setup
    assert (setup["lesson"], setup["data"], setup["points"], setup["hidden"]) == ("playground", "moons", 40,
                                                                                  [16, 16, 16])
    assert setup["steps"] == 1500  # nothing trained on the page yet: the lesson's usual run


def test_a_sheet_steps_through_and_answers_survive_an_unwritable_folder(qtbot, window, tmp_path):
    shutil.copy(next(p for p in shipped_exercises() if p.name.startswith("which-digit")), tmp_path)
    page = window.classroom.exercises
    window.tabs.setCurrentWidget(window.classroom)
    drop = QMimeData()
    drop.setUrls([QUrl.fromLocalFile(str(tmp_path / "which-digit.digitpad-exercise"))])
    with qtbot.waitSignal(page.sheet_opened, timeout=20_000):  # dropped on the page, as from a file manager
        page.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, drop, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier))
    assert page.position.text() == "Exercise 1 of 2"
    assert not page.previous_button.isEnabled() and page.next_button.isEnabled()
    (tmp_path / "share").write_text("a file where the folder should be")
    page.set_answers_folder(tmp_path / "share")
    page.student.setText("=cmd|' /C calc'!A0")
    qtbot.mouseClick(page.prediction.group.button(9), Qt.MouseButton.LeftButton)
    reveal(qtbot, page)
    assert "right" in page.verdict_label.text()
    assert len(page.unsaved) == 1 and "cannot write the answers" in page.log_label.text()
    assert page.save_answers_button.isVisible()
    with qtbot.waitSignal(page.answer_logged, timeout=10_000):
        page.set_answers_folder(tmp_path / "answers")
    assert page.unsaved == [] and "Answers are saved to" in page.log_label.text()
    rows = list(csv.DictReader((tmp_path / "answers" / "which-digit.answers.csv").open()))
    assert rows[0]["student"].startswith("'=") and rows[0]["outcome"] == "9"

    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.position.text() == "Exercise 2 of 2" and page.title.text() == "The CNN"
    assert not page.result_box.isVisible() and not page.reveal_button.isEnabled()
    assert page.previous_button.isEnabled() and not page.next_button.isEnabled()


def test_a_bad_exercise_file_is_explained(qtbot, window, tmp_path):
    bad = tmp_path / "bad.digitpad-exercise"
    bad.write_text(json.dumps({"format": "digitpad-exercise", "format_version": 9, "title": "x", "exercises": []}))
    page = window.classroom.exercises
    with qtbot.waitSignal(page.sheet_opened, timeout=10_000):
        page.open_file(str(bad))
    assert "newer DigitPad" in page.sheet_label.text() and page.sheet is None


# --- class digits ------------------------------------------------------------------------------------

def test_import_a_folder_report_leave_one_out_and_remove(qtbot, window, tmp_path):
    inbox = tmp_path / "inbox"
    for name, seed, mirrored in (("Ann", 1, False), ("Bob", 2, True), ("Cy", 3, False)):
        export_personal_set(personal_set(tmp_path / "sets" / name, seed, mirrored=mirrored), name,
                            inbox / f"{name}.zip")
    (inbox / "Dan.zip").write_bytes((inbox / "Ann.zip").read_bytes()[:500])
    page = window.classroom.class_digits
    window.tabs.setCurrentWidget(window.classroom)
    window.classroom.pages.setCurrentWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.set_folder(tmp_path / "class")
    assert not page.report_button.isEnabled(), "no report without samples"
    with qtbot.waitSignal(page.loaded, timeout=30_000):
        page.import_paths([inbox])
    assert page.writers.count() == 3 and [page.writers.item(i).text() for i in range(3)][0] == "Ann · 10"
    log = page.log.toPlainText()
    assert "Dan.zip: refused" in log and "not a zip file" in log and "Ann.zip: Ann — 10 imported" in log

    cnn = next(i for i, m in enumerate(window.library.models) if m.name == "mnist-cnn")
    page.model_picker.setCurrentIndex(cnn)
    with qtbot.waitSignal(page.reported, timeout=30_000):
        qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    expected = class_report(window.library.models[cnn], load_class_set(tmp_path / "class"))
    shown = {page.table.item(r, 0).text(): page.table.item(r, 2).text() for r in range(page.table.rowCount())}
    assert shown == {w.name: f"{w.accuracy:.1%}" for w in expected.writers}
    assert page.table.item(0, 0).text() == "Bob", "hardest writer first"
    assert f"{expected.report.accuracy:.1%}" in page.headline.text()
    assert (page.confusion.matrix == expected.report.confusion).all()
    assert page.hardest.count == len(expected.report.mistakes) > 0

    page.lowo_config = LowoConfig(steps=2, mnist_test_limit=100)
    with qtbot.waitSignal(page.lowo_ended, timeout=180_000):
        qtbot.mouseClick(page.lowo_button, Qt.MouseButton.LeftButton)
        assert page.stop_button.isEnabled() and not page.report_button.isEnabled()
    assert page.status.text().startswith("Done: 3 writer(s) left out")
    assert all(page.table.item(r, 3).text().endswith("%") for r in range(3))
    assert "mnist-cnn + class" in [m.name for m in window.library.models]
    with qtbot.waitSignal(page.lowo_ended, timeout=180_000):
        qtbot.mouseClick(page.lowo_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.table.item(0, 3).text() != "", timeout=120_000)  # one writer done
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert page.status.text().startswith("Stopped after") and not page.stop_button.isEnabled()

    page.writers.item(1).setSelected(True)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert [page.writers.item(i).text() for i in range(page.writers.count())] == ["Ann · 10", "Cy · 10"]
    assert not (tmp_path / "class" / "Bob").exists()


def test_my_digits_exports_for_the_class(qtbot, window, tmp_path):
    tab = window.my_digits
    for digit, strokes in hand(5, 6):
        add_sample(tab.folder, digit, strokes, stroke_pixels(strokes))
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.reload()
    assert tab.export_button.isEnabled()
    with qtbot.waitSignal(tab.exported, timeout=10_000):
        tab.export_to("Ann", str(tmp_path / "ann.zip"))
    assert "Exported 6 drawings by Ann" in tab.status.text()
    with zipfile.ZipFile(tmp_path / "ann.zip") as zf:
        assert json.loads(zf.read("manifest.json"))["writer"] == "Ann" and len(zf.namelist()) == 7
    (tmp_path / "usb").write_text("a file where the folder should be")
    with qtbot.waitSignal(tab.exported, timeout=10_000):
        tab.export_to("Ann", str(tmp_path / "usb" / "ann.zip"))
    assert tab.status.text().startswith("Not exported") and "usb" in tab.status.text()


def test_editable_choice_fields_offer_their_choices(qtbot, window, tmp_path):
    """A canvas exercise whose model the student may change: the shipped models, in a list."""
    sheet = json.loads(next(p for p in shipped_exercises() if p.name.startswith("which-digit")).read_text())
    sheet["exercises"][0]["locked"] = ["drawing"]
    (tmp_path / "free.digitpad-exercise").write_text(json.dumps(sheet))
    page = window.classroom.exercises
    with qtbot.waitSignal(page.sheet_opened, timeout=20_000):
        page.open_file(str(tmp_path / "free.digitpad-exercise"))
    box = field_widget(page, "model")
    assert isinstance(box, QComboBox) and box.currentText() == "mnist-softmax"
    box.setCurrentIndex(box.findText("mnist-cnn"))
    qtbot.mouseClick(page.prediction.group.button(4), Qt.MouseButton.LeftButton)
    reveal(qtbot, page)
    assert "it was 4 — right" in page.verdict_label.text(), "the student's model choice is the one run"
