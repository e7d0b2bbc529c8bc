"""The Lessons tab: the course's from-scratch half, one page per lesson, each beside the code it runs.

Every page shows the real source of the functions it calls (inspect.getsource, read-only), so the
curve on the left and the code on the right cannot disagree. Training never runs on the GUI thread.
The pages come from `registry.LESSONS`; this tab only lays them out and stops them at close.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from digitpad.gui.lessons.page import LessonPage
from digitpad.gui.lessons.registry import LESSONS


class LessonsTab(QWidget):
    """The lessons as numbered pages; closing the window stops whatever a page is running."""

    exercise_requested = Signal()  # a page's "Save as exercise…": the page shown has the setup

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lessons: dict[str, LessonPage] = {key: page() for key, page in LESSONS.items()}
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        for number, page in enumerate(self.lessons.values(), start=1):
            self.pages.addTab(page, f"{number} · {page.TITLE}")
            self.pages.setTabToolTip(number - 1, page.TIP)
            page.exercise_requested.connect(self.exercise_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)

    def page(self, key: str) -> LessonPage:
        """The lesson registered under `key` (tests and screenshots open pages by it)."""
        return self.lessons[key]

    def current_page(self) -> LessonPage:
        """The page in view: the window's Start, Pause and Stop keys press its buttons."""
        return self.pages.currentWidget()

    def is_training(self) -> bool:
        return any(page.is_training() for page in self.lessons.values())

    def shutdown(self) -> bool:
        return all([page.shutdown() for page in self.lessons.values()])
