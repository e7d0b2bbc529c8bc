"""What every lesson page is made of: the code pane beside a live chart, explanations, tables, plots."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QPushButton, QScrollArea,
                               QSplitter, QTableWidget, QTableWidgetItem,
                               QTextEdit, QVBoxLayout, QWidget)

from digitpad.gui.common.charts import StaticPlot, legend_above, style_axis
from digitpad.gui.common.colours import SCRATCH_COLOUR  # noqa: F401 (the lessons' second colour)
from digitpad.gui.common.text_zoom import monospace
from digitpad.gui.common.widgets import FlowLayout, labelled

BROKEN_COLOUR = QColor("#f8c8c8")


def sources(*functions: Callable) -> str:
    """The functions' own source text, as the student should read it."""
    return "\n\n".join(inspect.getsource(fn).rstrip() for fn in functions)


class CodePane(QPlainTextEdit):
    """Read-only source of the lesson's functions; one line can be highlighted (lesson 4's fix)."""

    def __init__(self, *functions: Callable) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(self)  # follows View ▸ Larger text
        self.setPlainText(sources(*functions))
        self.setTabChangesFocus(True)  # Tab leaves the code for the next control

    def minimumSizeHint(self) -> QSize:
        """A narrow view of the code (it scrolls sideways) at any text size: the charts get the width."""
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * 22, metrics.lineSpacing() * 6)

    def highlight(self, text: str) -> None:
        """Give the first line containing `text` a yellow background (and scroll it into view)."""
        found = self.document().find(text)
        if found.isNull():
            return
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(QColor("#fff2a8"))
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.cursor = found
        selection.cursor.clearSelection()
        self.setExtraSelections([selection])
        self.setTextCursor(QTextCursor(found.block()))
        self.centerCursor()


def explanation(html: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def scrolled(widget: QWidget) -> QScrollArea:
    """Reading matter that scrolls when the page is short (a netbook, or a projector's large type) instead of
    taking the charts' height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def lesson_layout(page: QWidget, intro: str, controls: QWidget, left: QWidget, code: CodePane,
                  numbers: QWidget | None = None) -> None:
    """Controls on top; under them the live part, with the whole height, beside the reading: the intro over
    `numbers` (a table of the run's numbers) over the code, each scrolling on a short page. (With the intro on top,
    a 1024×600 screen left the charts ~60 px.)"""
    reading = QSplitter(Qt.Orientation.Vertical)
    reading.addWidget(scrolled(explanation(intro)))
    if numbers is not None:
        reading.addWidget(numbers)
    reading.addWidget(code)
    reading.setStretchFactor(0, 1)
    reading.setStretchFactor(1, 2)
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left)
    split.addWidget(reading)
    split.setStretchFactor(0, 3)
    split.setStretchFactor(1, 2)
    layout = QVBoxLayout(page)
    top = QHBoxLayout()
    top.addWidget(controls, stretch=1)
    if page.exercise_setup() is not None:  # a page an exercise can set up: the teacher's button
        page.exercise_button = QPushButton("Save as exercise…")
        page.exercise_button.setToolTip("A predict-then-reveal exercise from this page's values")
        page.exercise_button.clicked.connect(page.exercise_requested)
        top.addWidget(page.exercise_button, alignment=Qt.AlignmentFlag.AlignTop)
    layout.addLayout(top)
    layout.addWidget(split, stretch=1)


def control_row(*items: QWidget | tuple[str, QWidget]) -> QWidget:
    """A lesson's controls, each with its name, flowing onto a second row when the width is short."""
    controls = QWidget()
    flow = FlowLayout(controls)
    for item in items:
        flow.addWidget(labelled(*item) if isinstance(item, tuple) else item)
    return controls


def stacked(*parts: QWidget, stretch: QWidget) -> QWidget:
    """A lesson's live part: these widgets one above the other, `stretch` taking the spare height."""
    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        column.addWidget(part, stretch=1 if part is stretch else 0)
    return left


def make_plot(left: str, bottom: str, legend_columns: int = 2) -> StaticPlot:
    """A lesson's chart, its legend in a row above the curves (inside, it hid them on a short screen)."""
    plot = StaticPlot()
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True)
    for side in ("left", "bottom"):
        style_axis(plot.getAxis(side))
    legend_above(plot.getPlotItem(), legend_columns)
    return plot


def fill_table(table: QTableWidget, rows: list[list[str]], broken: set[tuple[int, int]] = frozenset()) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if (r, c) in broken:
                item.setBackground(BROKEN_COLOUR)
            table.setItem(r, c, item)


def make_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setTabKeyNavigation(False)  # Tab goes on to the next control, not cell by cell
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    return table


def number(x: float) -> str:
    """Floats as the lessons show them: inf and nan spelled out, tiny and huge ones in e-notation."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}" if x == 0 or 1e-4 <= abs(x) < 1e5 else f"{x:.3e}"


class LessonPage(QWidget):
    """One page of the Lessons tab: its title, and how to tell and stop whatever it runs (the window is closing)."""

    TITLE = ""  # the tab's name: short, six tabs fit a projector's row at its text size
    TIP = ""  # what the lesson is, in the tab's tooltip
    exercise_requested = Signal()  # "Save as exercise…" (only on pages with an `exercise_setup()`)
    exercise_button: QPushButton | None = None

    def is_running(self) -> bool:
        return False

    def is_training(self) -> bool:
        """A training run is going on in the background: closing the window asks before it stops it."""
        return False

    def shutdown(self) -> bool:
        """Stop what the page runs; True once nothing is left running."""
        return True

    def exercise_setup(self) -> dict | None:
        """The page's values as a lesson exercise's setup (`exercise_kinds.LESSONS`), or None when the
        page has nothing an exercise can run."""
        return None
