"""Text size for the back of the room: View ▸ Larger / Smaller / Normal text, remembered between sessions.

One factor scales the application font, which every widget follows, and the fonts of the charts'
axes and legends, which pyqtgraph keeps on its own. Text grows only as far as the window still fits its
screen: past that, a 1024×600 window would grow off the screen, its bottom rows out of reach.
"""

from __future__ import annotations

import pyqtgraph as pg
from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from digitpad.gui.common.settings import stored

STEPS = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
SETTING = "view/text_zoom"
_BASE_POINTS: list[float] = []  # the application's own text size, before any zoom


def base_points() -> float:
    """The text size at 100 %: the application font's when DigitPad started."""
    if not _BASE_POINTS:
        _BASE_POINTS.append(QApplication.font().pointSizeF())
    return _BASE_POINTS[0]


def text_scale(widget: QWidget | None = None) -> float:
    """How many times larger than at 100 % the text is now (a widget's own font, or the application's):
    pictures and charts drawn in pixels grow by as much, so they stay in proportion to their captions."""
    font = widget.font() if widget is not None else QApplication.font()
    return max(font.pointSizeF(), 1.0) / base_points()


def monospace(widget: QWidget) -> QWidget:
    """Give a code pane or a log the fixed-pitch font at the application's text size, and keep it so as the
    text is zoomed (an explicitly set font no longer follows the application's)."""
    widget.setProperty("digitpad_monospace", True)
    _set_monospace(widget, QApplication.font().pointSizeF())
    return widget


def _set_monospace(widget: QWidget, points: float) -> None:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(points)
    widget.setFont(font)


def stored_zoom() -> float:
    """The remembered factor, or 1 when the stored value is missing or not one of the steps."""
    return stored(SETTING, lambda raw: STEPS[STEPS.index(float(str(raw)))], 1.0)


class TextZoom(QObject):
    changed = Signal(float)
    refused = Signal(str)  # why the text did not grow

    def __init__(self, fits: Callable[[], bool] = lambda: True, parent: QObject | None = None) -> None:
        """`fits()` says whether the window, at the text size just set, still fits its screen."""
        super().__init__(parent)
        base_points()
        self.base_font = QFont(QApplication.font())
        self.factor = 1.0
        self.fits = fits
        self.set_factor(stored_zoom())

    def fit_screen(self) -> None:
        """Step a remembered enlargement down until the window fits this screen (a projector's size on a
        laptop); never below normal size."""
        while self.factor > 1.0 and not self.fits():
            self.step(-1)

    def set_factor(self, factor: float, remember: bool = True) -> None:
        """Scale every text; `remember` keeps it for the next start (presentation mode's size is not kept)."""
        self.factor = factor
        font = QFont(self.base_font)
        font.setPointSizeF(self.base_font.pointSizeF() * factor)
        QApplication.setFont(font)
        for widget in QApplication.allWidgets():
            if widget.property("digitpad_monospace"):
                _set_monospace(widget, font.pointSizeF())
        restyle_charts(font)
        if remember:
            QSettings().setValue(SETTING, factor)
        self.changed.emit(factor)

    def largest_fitting(self, cap: float) -> float:
        """Set the largest size, from `cap` down through the steps to normal, at which `fits()` holds (not
        remembered); normal size when none does. Returns the factor set."""
        for factor in [cap] + [s for s in reversed(STEPS) if 1.0 <= s < cap]:
            self.set_factor(factor, remember=False)
            if self.fits():
                return factor
        self.set_factor(1.0, remember=False)
        return 1.0

    def step(self, direction: int) -> None:
        index = min(range(len(STEPS)), key=lambda k: abs(STEPS[k] - self.factor)) + direction
        before = self.factor
        self.set_factor(STEPS[max(0, min(index, len(STEPS) - 1))])
        if direction > 0 and self.factor > 1.0 and not self.fits():
            self.set_factor(before)
            self.refused.emit(f"Text is as large as this screen allows ({before:.0%}): "
                              "larger, the window would not fit.")

    def add_to(self, menu: QMenu) -> None:
        """The menu's three actions, with their shortcuts (Ctrl+= and Ctrl++ both enlarge)."""
        for title, keys, slot in (("Larger text", ["Ctrl+=", QKeySequence.StandardKey.ZoomIn], lambda: self.step(1)),
                                  ("Smaller text", [QKeySequence.StandardKey.ZoomOut], lambda: self.step(-1)),
                                  ("Normal text size", ["Ctrl+0"], lambda: self.set_factor(1.0))):
            action = QAction(title, menu)
            sequences: list[QKeySequence] = []
            for key in keys:
                sequences += QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) \
                    else [QKeySequence(key)]
            action.setShortcuts(sequences)
            action.triggered.connect(slot)
            menu.addAction(action)


def restyle_charts(font: QFont) -> None:
    """Axis ticks, axis titles and legends of every chart, at the application's text size."""
    for view in QApplication.allWidgets():
        if isinstance(view, pg.GraphicsView):
            restyle_view(view, font)


def restyle_view(view: pg.GraphicsView, font: QFont) -> None:
    """One chart's axis ticks, axis titles and legends in this font (a figure for a slide has its own size)."""
    size = f"{font.pointSizeF():.1f}pt"
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setTickFont(font)
            item.label.setFont(font)
            item._adjustSize()  # the axis makes room for the larger text
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextSize(size)
            for _, label in item.items:
                label.setText(label.text)  # pyqtgraph applies a new size only when the text is set
            item.updateSize()
