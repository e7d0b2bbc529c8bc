"""What every lesson page is made of: the code pane beside a live chart, explanations, tables, plots."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QHeaderView, QLabel, QPlainTextEdit, QSplitter, QTableWidget, QTableWidgetItem,
                               QTextEdit, QVBoxLayout, QWidget)

from digitpad.gui.common.charts import StaticPlot, style_axis

SCRATCH_COLOUR = "#ff7f0e"
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
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlainText(sources(*functions))
        self.setTabChangesFocus(True)  # Tab leaves the code for the next control
        self.setMinimumWidth(360)

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


def lesson_layout(page: QWidget, intro: str, controls: QWidget, left: QWidget, code: CodePane) -> None:
    """Intro on top, controls under it, then the live part beside the code."""
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left)
    split.addWidget(code)
    split.setSizes([760, 500])
    layout = QVBoxLayout(page)
    layout.addWidget(explanation(intro))
    layout.addWidget(controls)
    layout.addWidget(split, stretch=1)


def stacked(*parts: QWidget, stretch: QWidget) -> QWidget:
    """A lesson's live part: these widgets one above the other, `stretch` taking the spare height."""
    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        column.addWidget(part, stretch=1 if part is stretch else 0)
    return left


def make_plot(left: str, bottom: str) -> StaticPlot:
    plot = StaticPlot()
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True)
    for side in ("left", "bottom"):
        style_axis(plot.getAxis(side))
    plot.addLegend(offset=(-10, 10))
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

    TITLE = ""

    def is_running(self) -> bool:
        return False

    def is_training(self) -> bool:
        """A training run is going on in the background: closing the window asks before it stops it."""
        return False

    def shutdown(self) -> bool:
        """Stop what the page runs; True once nothing is left running."""
        return True
