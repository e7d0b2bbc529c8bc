"""The teacher's "Save as exercise…": the question, what to predict, what the student may change or
must not see, then a new file or the next exercise of a sheet. Written on a worker thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGridLayout, QGroupBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from digitpad.core.exercise_kinds import CHOICE, KINDS, NUMBER
from digitpad.core.exercises import ALL, SUFFIX, Answer, Draft, Exercise, save_exercise
from digitpad.gui.common.settings import stored
from digitpad.gui.common.worker import run_call

FILTER = f"DigitPad exercises (*{SUFFIX})"
QUESTION_HINTS = {"training": "What test accuracy will it reach after one epoch with lr 1.0?",
                  "canvas": "Which digit will the softmax model say for this drawing?",
                  "lesson": "Will the loss go down or up at lr 50?"}


class SaveExerciseDialog(QDialog):
    """Built from a Draft; `save_to(path, add)` writes it (the buttons ask for the path first)."""

    saved = Signal(str)  # the file written
    failed = Signal(str)  # why not

    def __init__(self, draft: Draft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.kind = KINDS[draft.kind]
        self.setWindowTitle(f"Save as exercise — {self.kind.title}")
        self.title = QLineEdit()
        self.title.setPlaceholderText("e.g. Twenty times larger")
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText("e.g. " + QUESTION_HINTS.get(draft.kind, "What will happen?"))
        self.question.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.measures = dict(self.kind.measures(draft.setup))
        self.measure = QComboBox()
        for key, measure in self.measures.items():
            self.measure.addItem(f"{measure.title} ({measure.type})", key)
        self.tolerance = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=1e6, value=2.0)
        self.options = QLineEdit()
        self.options.setToolTip("The choices, separated by commas; they must include every possible outcome")
        self.explanation = QPlainTextEdit()
        self.explanation.setPlaceholderText("Shown after the reveal (optional)")
        self.explanation.setFixedHeight(self.fontMetrics().lineSpacing() * 3)
        self.measure.currentIndexChanged.connect(self._on_measure)

        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Question", self.question)
        form.addRow("Students predict", self.measure)
        form.addRow("Right within ±", self.tolerance)
        form.addRow("Options", self.options)
        form.addRow("Explanation", self.explanation)
        self.form = form

        grid = QGridLayout()
        for col, text in enumerate(("setting", "value", "students may change", "hidden until the reveal")):
            grid.addWidget(QLabel(f"<b>{text}</b>"), 0, col)
        self.may_change: dict[str, QCheckBox] = {}
        self.hidden: dict[str, QCheckBox] = {}
        for row, field in enumerate(self.kind.fields(draft.setup), start=1):
            value = QLabel(field.text)
            value.setWordWrap(True)
            change, hide = QCheckBox(), QCheckBox()
            change.setEnabled(field.editable)
            change.setToolTip("Unticked, the setting is locked" if field.editable else "This setting cannot be edited")
            hide.toggled.connect(lambda on, c=change, f=field: c.setEnabled(f.editable and not on))
            grid.addWidget(QLabel(field.title), row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(change, row, 2, Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(hide, row, 3, Qt.AlignmentFlag.AlignCenter)
            self.may_change[field.key], self.hidden[field.key] = change, hide
        setup = QGroupBox("Setup (locked unless ticked)")
        setup.setLayout(grid)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.save_new = QPushButton("Save as new file…")
        self.add_to = QPushButton("Add to a sheet…")
        self.add_to.setToolTip("Append this exercise to an existing exercise file: a sheet steps through its "
                               "exercises in order")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.save_new, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.add_to, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.save_new.clicked.connect(lambda: self._choose_and_save(add=False))
        self.add_to.clicked.connect(lambda: self._choose_and_save(add=True))
        for widget in (self.title, self.options):
            widget.textChanged.connect(self._update)
        self.question.textChanged.connect(self._update)

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addLayout(form)
        column.addWidget(setup)
        column.addStretch(1)
        scroll = QScrollArea()  # a short screen scrolls the form; the buttons stay in view
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, stretch=1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._on_measure()
        screen = self.screen().availableGeometry()
        self.resize(min(720, screen.width() - 40), min(640, screen.height() - 80))

    def _on_measure(self) -> None:
        measure = self.measures[self.measure.currentData()]
        self.form.setRowVisible(self.tolerance, measure.type == NUMBER)
        self.form.setRowVisible(self.options, measure.type == CHOICE)
        self.tolerance.setSuffix(f" {measure.unit}" if measure.unit else "")
        self.options.setText(", ".join(measure.options))
        self._update()

    def exercise(self) -> Exercise:
        measure_key = self.measure.currentData()
        measure = self.measures[measure_key]
        options = tuple(o.strip() for o in self.options.text().split(",") if o.strip())
        answer = Answer(measure_key, measure.type, self.tolerance.value() if measure.type == NUMBER else 0.0,
                        options if measure.type == CHOICE else (), measure.unit)
        editable = [k for k, box in self.may_change.items() if box.isChecked() and box.isEnabled()]
        locked = tuple(k for k in self.may_change if k not in editable) if editable else ALL
        hidden = tuple(k for k, box in self.hidden.items() if box.isChecked())
        return Exercise(self.title.text().strip(), self.question.toPlainText().strip(), self.draft.kind,
                        self.draft.setup, answer, locked, hidden, self.explanation.toPlainText().strip())

    def _update(self) -> None:
        ready = bool(self.title.text().strip() and self.question.toPlainText().strip())
        self.save_new.setEnabled(ready)
        self.add_to.setEnabled(ready)
        self.message.setText("" if ready else "A title and a question are needed.")

    def _choose_and_save(self, add: bool) -> None:
        folder = stored("classroom/exercise_folder", str, str(Path.home()))
        if add:
            path, _ = QFileDialog.getOpenFileName(self, "Add to which sheet?", folder, FILTER)
        else:
            suggested = str(Path(folder) / f"{self.title.text().strip() or 'exercise'}{SUFFIX}")
            path, _ = QFileDialog.getSaveFileName(self, "Save exercise", suggested, FILTER)
        if path:
            if not add and not path.endswith(SUFFIX):
                path += SUFFIX
            QSettings().setValue("classroom/exercise_folder", str(Path(path).parent))
            self.save_to(path, add)

    def save_to(self, path: str, add: bool = False) -> None:
        """Write on a worker thread; `saved` or `failed` says how it went (the dialog closes when saved)."""
        self.message.setText(f"Saving {path}…")
        self.save_new.setEnabled(False)
        self.add_to.setEnabled(False)
        run_call(save_exercise, self.exercise(), path, self.draft.model, add, name="digitpad-save-exercise",
                 parent=self, then=lambda _r, error: self._on_saved(path, error))

    def _on_saved(self, path: str, error: Exception | None) -> None:
        if error is None:
            self.saved.emit(path)
            self.accept()
            return
        self._update()
        self.message.setText(f"Not saved: {error}")
        self.failed.emit(str(error))
