"""The lessons, in the order the course takes them: the Lessons tab makes a page of each.

To add a lesson: write its page (a `LessonPage`) in a file of this folder and add one line here.
"""

from __future__ import annotations

from digitpad.gui.lessons.cross_entropy import CrossEntropyLesson
from digitpad.gui.lessons.linear_regression import LinearRegressionLesson
from digitpad.gui.lessons.loss_surface import LossSurfaceLesson
from digitpad.gui.lessons.overflow import OverflowLesson
from digitpad.gui.lessons.page import LessonPage
from digitpad.gui.lessons.playground import PlaygroundLesson
from digitpad.gui.lessons.softmax import SoftmaxLesson

LESSONS: dict[str, type[LessonPage]] = {
    "linreg": LinearRegressionLesson,
    "loss_surface": LossSurfaceLesson,
    "softmax": SoftmaxLesson,
    "cross_entropy": CrossEntropyLesson,
    "overflow": OverflowLesson,
    "playground": PlaygroundLesson,
}
