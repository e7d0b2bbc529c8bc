"""The student's side of an exercise: the question, the setup as the file allows (locked, hidden or
editable), a prediction that must be entered before Run / Reveal, the run on a worker thread, then
prediction against outcome, logged to the answers file. A sheet steps through its exercises in order."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QFrame, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QMenu, QProgressBar, QPushButton, QRadioButton, QScrollArea,
                               QToolButton, QVBoxLayout, QWidget)

from digitpad.core.checkpoints import ASSETS_DIR
from digitpad.core.events import FailureKind, Finished, Progress, RunControl
from digitpad.core.exercise_kinds import CHOICE, DIGIT, Revealed, SetupField, SetupProblem
from digitpad.core.exercises import (SUFFIX, AnswerRecord, Exercise, ExerciseError, Sheet, Verdict, answers_path,
                                     append_answer, grade, parse_prediction, read_sheet, shipped_exercises,
                                     show_value)
from digitpad.core.paths import user_data_dir
from digitpad.core.strokes import StrokeSet, rasterize_strokes
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.settings import stored
from digitpad.gui.common.widgets import PixelView
from digitpad.gui.common.worker import Worker, run_call, run_events

RIGHT, WRONG = "#2e9d4a", "#d9534f"
HIDDEN_TEXT = "hidden until the reveal"


def answers_folder_for(sheet: Sheet) -> Path | None:
    """Where answers go by default: beside the file, except for the exercises shipped inside the app."""
    if sheet.path is not None and sheet.path.resolve().is_relative_to(ASSETS_DIR.parent.resolve()):
        return user_data_dir() / "answers"
    return None


def write_answers(path: Path, records: list[AnswerRecord]) -> tuple[int, str]:
    """Append the records in order; how many were written, and why the rest were not ("" when all were)."""
    for done, record in enumerate(records):
        try:
            append_answer(path, record)
        except OSError as exc:
            return done, str(exc)
    return len(records), ""


class PredictionInput(QWidget):
    """Number, choice or digit: empty until the student commits to something valid."""

    changed = Signal()

    def __init__(self, exercise: Exercise) -> None:
        super().__init__()
        self.answer = exercise.answer
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.text: QLineEdit | None = None
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        if self.answer.type == DIGIT:
            for d in range(10):
                button = QToolButton(text=str(d), checkable=True)
                button.setMinimumWidth(button.sizeHint().height())
                self.group.addButton(button, d)
                row.addWidget(button)
        elif self.answer.type == CHOICE:
            for k, option in enumerate(self.answer.options):
                button = QRadioButton(option)
                self.group.addButton(button, k)
                row.addWidget(button)
        else:
            self.text = QLineEdit()
            self.text.setPlaceholderText("your number")
            self.text.setMaximumWidth(160)
            self.text.textChanged.connect(self.changed)
            row.addWidget(self.text)
            if self.answer.unit:
                row.addWidget(QLabel(self.answer.unit))
        self.group.idToggled.connect(lambda _id, _on: self.changed.emit())
        row.addStretch(1)

    def raw(self) -> str:
        if self.text is not None:
            return self.text.text()
        button = self.group.checkedButton()
        return "" if button is None else button.text()

    def value(self):
        """The prediction, or ValueError saying what is expected."""
        return parse_prediction(self.answer, self.raw())

    def set_locked(self, locked: bool) -> None:
        if self.text is not None:
            self.text.setReadOnly(locked)
        for button in self.group.buttons():
            button.setEnabled(not locked)


def drawing_view(setup_field: SetupField) -> PixelView:
    view = PixelView(minimum=96)
    image = rasterize_strokes(StrokeSet.from_json(setup_field.value))
    view.set_image(gray_image(image, invert=True))
    view.setToolTip(setup_field.text)
    return view


class ExercisePage(QWidget):
    """Open a file (or drop one here), step through its exercises, predict, reveal."""

    sheet_opened = Signal()  # a sheet is shown, or the reason it is not
    revealed = Signal()  # a reveal ended: verdict shown, or its failure
    answer_logged = Signal(str)  # the answers file written, or "" when it could not be (kept in the app)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sheet: Sheet | None = None
        self.index = 0
        self.run: Worker | None = None
        self.inputs: dict[str, QWidget] = {}
        self.answers_folder: Path | None = None  # chosen by the student; None: beside the exercise
        self.unsaved: list[AnswerRecord] = []  # answers not yet in the answers file, oldest first
        self._writing = False
        self.log_error = ""
        self.verdict: Verdict | None = None
        self.setAcceptDrops(True)
        self._build()
        self._show_exercise()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.open_button = QPushButton("Open exercise…")
        self.open_button.clicked.connect(self.choose_file)
        self.shipped_button = QPushButton("Course exercises ▾")
        menu = QMenu(self.shipped_button)
        for path in shipped_exercises():
            menu.addAction(path.name.removesuffix(SUFFIX).replace("-", " "), lambda p=path: self.open_file(str(p)))
        self.shipped_button.setMenu(menu)
        self.student = QLineEdit(stored("classroom/student", str, ""))
        self.student.setPlaceholderText("name or pseudonym")
        self.student.setMaximumWidth(220)
        self.student.editingFinished.connect(lambda: QSettings().setValue("classroom/student", self.student.text()))
        top = QHBoxLayout()
        for w in (self.open_button, self.shipped_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(QLabel("Your name"))
        top.addWidget(self.student)

        self.sheet_label = QLabel("Open an exercise file (or drop one here), or pick a course exercise.")
        self.sheet_label.setWordWrap(True)
        self.previous_button = QPushButton("◂ Previous")
        self.next_button = QPushButton("Next ▸")
        self.previous_button.clicked.connect(lambda: self.go(self.index - 1))
        self.next_button.clicked.connect(lambda: self.go(self.index + 1))
        self.position = QLabel()
        nav = QHBoxLayout()
        nav.addWidget(self.sheet_label, stretch=1)
        nav.addWidget(self.position)
        nav.addWidget(self.previous_button)
        nav.addWidget(self.next_button)

        self.title = QLabel()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.question = QLabel()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.question.setFont(font)
        self.question.setWordWrap(True)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.setup_box = QGroupBox("Setup")
        self.setup_form = QFormLayout(self.setup_box)
        self.predict_box = QGroupBox("Your prediction")
        self.predict_row = QVBoxLayout(self.predict_box)
        self.reveal_button = QPushButton("Run / Reveal")
        self.reveal_button.setToolTip("Enter your prediction first")
        self.reveal_button.clicked.connect(self.reveal)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        run_row = QHBoxLayout()
        run_row.addWidget(self.reveal_button)
        run_row.addWidget(self.stop_button)
        run_row.addWidget(self.progress, stretch=1)

        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.verdict_label.setFont(font)
        self.outcome_label = QLabel()
        self.outcome_label.setWordWrap(True)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.log_label = QLabel()
        self.log_label.setWordWrap(True)
        self.save_answers_button = QPushButton("Save answers in…")
        self.save_answers_button.setToolTip("Choose a folder for the answers file (a shared drive, a USB stick)")
        self.save_answers_button.clicked.connect(self.choose_answers_folder)
        log_row = QHBoxLayout()
        log_row.addWidget(self.log_label, stretch=1)
        log_row.addWidget(self.save_answers_button)
        self.result_box = QGroupBox("Prediction and outcome")
        result = QVBoxLayout(self.result_box)
        for w in (self.verdict_label, self.outcome_label, self.explanation):
            result.addWidget(w)

        body = QWidget()
        column = QVBoxLayout(body)
        column.addLayout(nav)
        column.addWidget(self.title)
        column.addWidget(self.question)
        middle = QHBoxLayout()  # side by side where there is room: the setup beside the prediction
        middle.addWidget(self.setup_box, stretch=1)
        right = QVBoxLayout()
        right.addWidget(self.predict_box)
        right.addLayout(run_row)
        right.addWidget(self.status)
        right.addWidget(self.result_box)
        right.addStretch(1)
        middle.addLayout(right, stretch=1)
        column.addLayout(middle)
        column.addStretch(1)
        column.addLayout(log_row)
        scroll = QScrollArea()  # a 1024×600 screen scrolls the exercise; nothing is squeezed or cut
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, stretch=1)

    # --- opening ---------------------------------------------------------------------------------

    def choose_file(self) -> None:
        folder = stored("classroom/exercise_folder", str, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open an exercise", folder,
                                              f"DigitPad exercises (*{SUFFIX});;All files (*)")
        if path:
            QSettings().setValue("classroom/exercise_folder", str(Path(path).parent))
            self.open_file(path)

    def open_file(self, path: str) -> None:
        """Read and check the file on a thread (it may open checkpoints); the window stays live."""
        if self.run is not None:
            self.status.setText("A reveal is running: stop it before opening another exercise.")
            return
        self.sheet_label.setText(f"Opening {path}…")
        run_call(read_sheet, path, name="digitpad-open-exercise", parent=self,
                 then=lambda sheet, error: self._on_read(path, sheet, error))

    def _on_read(self, path: str, sheet: Sheet | None, error: Exception | None) -> None:
        if error is not None:
            detail = str(error) if isinstance(error, ExerciseError) else f"{path}: {type(error).__name__}: {error}"
            self.sheet_label.setText(f"Cannot open this exercise — {detail}")
            self.sheet_opened.emit()
            return
        self.sheet, self.unsaved, self.answers_folder = sheet, [], answers_folder_for(sheet)
        self.sheet_label.setText(f"<b>{sheet.title}</b> · {Path(path).name}")
        self.go(0)
        self.sheet_opened.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and urls[0].toLocalFile().endswith(SUFFIX):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.open_file(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()

    # --- one exercise ----------------------------------------------------------------------------

    @property
    def exercise(self) -> Exercise | None:
        return self.sheet.exercises[self.index] if self.sheet else None

    def go(self, index: int) -> None:
        if self.sheet is None or not 0 <= index < len(self.sheet.exercises) or self.run is not None:
            return
        self.index = index
        self._show_exercise()

    def _show_exercise(self) -> None:
        ex = self.exercise
        n = len(self.sheet.exercises) if self.sheet else 0
        self.position.setText(f"Exercise {self.index + 1} of {n}" if ex else "")
        self.previous_button.setEnabled(ex is not None and self.index > 0)
        self.next_button.setEnabled(ex is not None and self.index < n - 1)
        for w in (self.title, self.question, self.setup_box, self.predict_box, self.reveal_button, self.stop_button,
                  self.progress):
            w.setVisible(ex is not None)
        self.result_box.setVisible(False)
        self.verdict = None
        self.status.clear()
        self.progress.setValue(0)
        self._fill_setup(revealed=False)
        self._fill_prediction()
        self._update_log_line()
        if ex is not None:
            self.title.setText(ex.title)
            self.question.setText(ex.question)
        self._set_running(False)

    def _fill_setup(self, revealed: bool) -> None:
        """Locked settings as text, hidden ones as "hidden" (until revealed), editable ones as controls."""
        while self.setup_form.rowCount():
            self.setup_form.removeRow(0)
        self.inputs = {}
        ex = self.exercise
        if ex is None:
            return
        for f in ex.fields():
            if ex.is_hidden(f.key) and not revealed:
                widget = QLabel(f"<i>{HIDDEN_TEXT}</i>")
            elif f.key == "drawing":
                widget = drawing_view(f)
            elif ex.is_editable(f) and not revealed:
                widget = self._editor(f)
                self.inputs[f.key] = widget
            else:
                widget = QLabel(f.text)
                widget.setToolTip("Set by the exercise")
            self.setup_form.addRow(f.title, widget)
        self.setup_box.setTitle(f"Setup — {ex.spec.title}" + ("" if ex.locked == "all" or revealed
                                                               else " (you may change the boxes)"))

    def _editor(self, f: SetupField) -> QWidget:
        if f.choices:
            box = QComboBox()
            for choice in f.choices:
                box.addItem(str(choice), choice)
            box.setCurrentIndex(max(0, f.choices.index(f.value)) if f.value in f.choices else 0)
            return box
        line = QLineEdit("" if f.value is None else str(f.value))
        line.setPlaceholderText("all" if f.optional else "")
        line.setMaximumWidth(160)
        return line

    def changes(self) -> dict:
        """The editable settings the student changed, parsed (ValueError naming a bad one)."""
        fields = {f.key: f for f in self.exercise.fields()}
        changed = {}
        for key, widget in self.inputs.items():
            f = fields[key]
            if isinstance(widget, QComboBox):
                value = widget.currentData()
            else:
                text = widget.text().strip()
                if not text and f.optional:
                    value = None
                else:
                    try:
                        value = int(text) if f.bounds is not None and f.bounds.integer else float(text)
                    except ValueError:
                        raise ValueError(f"{f.title}: type a number") from None
            if value != f.value:
                changed[key] = value
        return changed

    def _fill_prediction(self) -> None:
        while self.predict_row.count():
            item = self.predict_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.prediction: PredictionInput | None = None
        if self.exercise is None:
            return
        self.prediction = PredictionInput(self.exercise)
        self.prediction.changed.connect(self._update_reveal)
        self.predict_row.addWidget(self.prediction)
        self._update_reveal()

    def _update_reveal(self) -> None:
        """Run / Reveal only once a valid prediction is in: the point is to commit first."""
        ok, why = False, "Enter your prediction first"
        if self.prediction is not None and self.prediction.raw().strip():
            try:
                self.prediction.value()
                ok, why = True, "Run the setup and compare with your prediction"
            except ValueError as exc:
                why = str(exc)
        self.reveal_button.setEnabled(ok and self.run is None and self.verdict is None)
        self.reveal_button.setToolTip(why)
        if self.run is None and self.verdict is None:
            self.status.setText("" if ok or not (self.prediction and self.prediction.raw().strip())
                                else f"Your prediction: {why}.")

    # --- the reveal ------------------------------------------------------------------------------

    def reveal(self) -> None:
        ex = self.exercise
        if ex is None or self.run is not None:
            return
        try:
            predicted = self.prediction.value()
            self.changed = self.changes()
            setup = ex.with_changes(self.changed, self.sheet.base)
        except (ValueError, SetupProblem) as exc:
            self.status.setText(str(exc))
            return
        self.predicted = predicted
        self.status.setText("Running…")
        self.progress.setValue(0)
        control = RunControl()
        self.run = run_events(ex.spec.run, setup, self.sheet.base, control, name="digitpad-reveal", control=control,
                              parent=self, handlers={Progress: self._on_progress, Revealed: self._on_revealed,
                                                     Finished: self._on_finished},
                              failed=self._on_failed, ended=self._on_ended)
        self._set_running(True)

    def stop(self) -> None:
        if self.run is not None:
            self.run.control.stop()
            self.status.setText("Stopping…")

    def shutdown(self) -> bool:
        return self.run is None or self.run.join()

    def _set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        for w in (self.open_button, self.shipped_button, *self.inputs.values()):
            w.setEnabled(not running)
        if self.prediction is not None:
            self.prediction.set_locked(running or self.verdict is not None)
        self.previous_button.setEnabled(not running and self.sheet is not None and self.index > 0)
        self.next_button.setEnabled(not running and self.sheet is not None
                                    and self.index < len(self.sheet.exercises) - 1)
        self._update_reveal()

    def _on_progress(self, ev: Progress) -> None:
        self.progress.setValue(round(1000 * ev.fraction / ev.epochs))

    def _on_finished(self, ev: Finished) -> None:
        if ev.stopped:
            self.status.setText("Stopped before the outcome: press Run / Reveal to run it again.")

    def _on_failed(self, message: str, _kind: FailureKind) -> None:
        self.status.setText(f"The run failed: {message}")

    def _on_revealed(self, ev: Revealed) -> None:
        ex = self.exercise
        self.verdict = grade(ex.answer, self.predicted, ev.outcome)
        colour = "" if self.verdict.correct is None else RIGHT if self.verdict.correct else WRONG
        self.verdict_label.setText(f"<span style='color:{colour}'>{self.verdict.text}</span>")
        self.outcome_label.setText(f"What happened: {ev.summary}.")
        self.explanation.setText(ex.explanation)
        self.explanation.setVisible(bool(ex.explanation))
        self.result_box.setVisible(True)
        self.progress.setValue(1000)
        self.status.setText("")
        self._fill_setup(revealed=True)
        self._log(AnswerRecord(self.student.text().strip(), self.sheet.path.name if self.sheet.path else "",
                               self.sheet.title, self.index + 1, ex.title, ex.answer.measure,
                               show_value(ex.answer, self.predicted),
                               "" if self.verdict.outcome is None else show_value(ex.answer, self.verdict.outcome),
                               self.verdict.correct, self.changed))

    def _on_ended(self) -> None:
        self.run = None
        self._set_running(False)
        self.revealed.emit()

    # --- the answers log -------------------------------------------------------------------------

    def answers_file(self) -> Path:
        return answers_path(self.sheet.path, self.answers_folder)

    def _log(self, record: AnswerRecord) -> None:
        """Append on a thread (a shared drive can be slow); on failure the answer is kept and the reason shown."""
        self.unsaved.append(record)
        self._write_unsaved()

    def _write_unsaved(self) -> None:
        """One write at a time, oldest answers first: none is written twice, none is lost."""
        if self._writing or not self.unsaved:
            return
        self._writing = True
        records, path = list(self.unsaved), self.answers_file()
        run_call(write_answers, path, records, name="digitpad-answers", parent=self,
                 then=lambda result, error: self._on_logged(path, result, error))

    def _on_logged(self, path: Path, result: tuple[int, str] | None, error: Exception | None) -> None:
        self._writing = False
        written, self.log_error = result if result is not None else (0, str(error))
        del self.unsaved[:written]
        self._update_log_line()
        self.answer_logged.emit("" if self.log_error else str(path))
        if written and self.unsaved and not self.log_error:
            self._write_unsaved()  # answers given while this write was on its way

    def _update_log_line(self) -> None:
        if self.sheet is None:
            self.log_label.clear()
            self.save_answers_button.setVisible(False)
            return
        if self.unsaved and self.log_error:
            self.log_label.setText(f"<span style='color:{WRONG}'>{self.log_error}</span> — "
                                   f"{len(self.unsaved)} answer(s) kept here until they can be saved: "
                                   "choose another folder.")
        else:
            self.log_label.setText(f"Answers are saved to {self.answers_file()}")
        self.save_answers_button.setVisible(True)

    def choose_answers_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save answers in", str(self.answers_file().parent))
        if folder:
            self.set_answers_folder(Path(folder))

    def set_answers_folder(self, folder: Path) -> None:
        """Answers go there from now on; those kept in the app are written there now."""
        self.answers_folder = folder
        if self.unsaved:
            self._write_unsaved()
        else:
            self._update_log_line()
