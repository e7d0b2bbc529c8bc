"""The Classroom tab: exercises (predict, then reveal) and the class's own digits.

The teacher's "Save as exercise…" buttons live in the tabs that own the setup (Training, Canvas, Lessons):
each emits `exercise_requested`; this tab reads the setup as a Draft (`drafts.py`) and opens the dialog.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from digitpad.core.exercises import Draft
from digitpad.gui.classroom.class_page import ClassPage
from digitpad.gui.classroom.drafts import canvas_draft, lesson_draft, step_draft, training_draft
from digitpad.gui.classroom.exercise_page import ExercisePage
from digitpad.gui.classroom.save_dialog import SaveExerciseDialog
from digitpad.gui.common.dialogs import show_warning
from digitpad.gui.model_library import ModelLibrary


class ClassroomTab(QWidget):
    save_dialog_opened = Signal(object)  # the SaveExerciseDialog, for tests and screenshots

    def __init__(self, library: ModelLibrary, training=None, canvas=None, lessons=None, step=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exercises = ExercisePage()
        self.class_digits = ClassPage(library)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.exercises, "Exercises")
        self.pages.addTab(self.class_digits, "Class digits")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)
        self.dialog: SaveExerciseDialog | None = None
        for source, draft in ((training, training_draft), (canvas, canvas_draft), (lessons, lesson_draft),
                              (step, step_draft)):
            if source is not None:
                self.add_source(source, draft)

    def add_source(self, tab: QWidget, draft: Callable[[QWidget], Draft | str]) -> None:
        """A tab whose `exercise_requested` opens "Save as exercise…" on the Draft `draft(tab)` reads from it."""
        tab.exercise_requested.connect(lambda: self.save_exercise(draft(tab)))

    def save_exercise(self, draft: Draft | str) -> None:
        if isinstance(draft, str):
            self.warning = show_warning(self.window(), "Cannot save as exercise", draft)
            return
        self.dialog = SaveExerciseDialog(draft, self.window())
        self.dialog.saved.connect(self.exercises.open_file)  # the teacher sees it as the students will
        self.dialog.saved.connect(lambda _path: self.window().tabs.setCurrentWidget(self)
                                  if hasattr(self.window(), "tabs") else None)
        self.dialog.open()
        self.save_dialog_opened.emit(self.dialog)

    def shutdown(self) -> bool:
        return all([self.exercises.shutdown(), self.class_digits.shutdown()])
