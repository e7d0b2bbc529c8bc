"""Presentation mode (View ▸ Presentation mode, F5 as in slide software; F5 again leaves): the window for a
projector and the back row of a classroom.

Entering it: the window goes full screen; the text becomes the largest size that still lets every tab lay out on
this screen, up to 18 pt (`PRESENTATION_POINTS`, reached on a 1920×1080 projector; a 1024×600 netbook gets what
fits), through the same zoom and fits-the-screen check as View ▸ Larger text; chart lines and markers are drawn
twice as thick; check boxes, slider handles and small arrows grow with the text; the palette turns to black on white (text ≥ 7:1, disabled text ≥ 4.5:1); each tab may change its
own layout for it (`set_presenting`, e.g. the Training tab folds its Setup form into a one-line summary). Leaving it
puts back the window, the text size, the palette and the lines exactly as they were; nothing is remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QObject, QRect, QSize, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QProxyStyle, QStyle, QWidget

from digitpad.gui.common.charts import set_line_scale
from digitpad.gui.common.text_zoom import TextZoom, base_points

PRESENTATION_POINTS = 18.0  # the text size aimed at: read from the back of a room on a projector
LINE_SCALE = 2.0  # chart lines and markers, this many times thicker

# Black on white for every role that carries text; the one grey left is for controls that cannot be used now.
HIGH_CONTRAST = {
    QPalette.ColorRole.Window: "#ffffff", QPalette.ColorRole.WindowText: "#000000",
    QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f2f2f2",
    QPalette.ColorRole.Text: "#000000", QPalette.ColorRole.Button: "#f2f2f2",
    QPalette.ColorRole.ButtonText: "#000000", QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#000000", QPalette.ColorRole.PlaceholderText: "#4d4d4d",
    QPalette.ColorRole.Highlight: "#0047ab", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.BrightText: "#ffffff", QPalette.ColorRole.Link: "#0047ab",
}
DISABLED_TEXT = "#666666"  # 5.7:1 on white, 5.2:1 on a button: readable, yet visibly not available


def high_contrast(palette: QPalette) -> QPalette:
    """The palette with black text on white (and a darker grey for disabled text than Fusion's ~1.6:1)."""
    out = QPalette(palette)
    for role, colour in HIGH_CONTRAST.items():
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            out.setColor(group, role, QColor(colour))
        out.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        out.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    return out


# The parts of controls Fusion draws at a fixed size: at 18 pt a 13-pixel check box or slider handle is lost.
SCALED_METRICS = (QStyle.PixelMetric.PM_IndicatorWidth, QStyle.PixelMetric.PM_IndicatorHeight,
                  QStyle.PixelMetric.PM_ExclusiveIndicatorWidth, QStyle.PixelMetric.PM_ExclusiveIndicatorHeight,
                  QStyle.PixelMetric.PM_SliderThickness, QStyle.PixelMetric.PM_SliderLength,
                  QStyle.PixelMetric.PM_SliderControlThickness, QStyle.PixelMetric.PM_SmallIconSize)


class ScaledStyle(QProxyStyle):
    """The application's style with check boxes, slider handles and small arrows as many times larger as the
    text is."""

    def __init__(self, base: str, scale: float) -> None:
        super().__init__(base)
        self.scale = scale

    def pixelMetric(self, metric, option=None, widget=None) -> int:
        value = super().pixelMetric(metric, option, widget)
        return round(value * self.scale) if metric in SCALED_METRICS else value


@dataclass
class Before:
    """What presentation mode changes, as it was."""

    geometry: QByteArray
    maximized: bool
    factor: float
    palette: QPalette
    style: str


class Presentation(QObject):
    """Enters and leaves presentation mode for one main window; `changed(bool)` says which."""

    changed = Signal(bool)

    def __init__(self, window: QMainWindow, zoom: TextZoom, fits_in: Callable[[QSize], bool],
                 rooms: Callable[[], list[QWidget]]) -> None:
        """`fits_in(size)`: the window's smallest layout fits this size; `rooms()`: the tabs to tell."""
        super().__init__(window)
        self.window, self.zoom, self.fits_in, self.rooms = window, zoom, fits_in, rooms
        self.before: Before | None = None
        self.factor = 1.0  # the text size chosen for this screen, while presenting
        self.action = QAction("&Presentation mode", window, checkable=True)
        self.action.setShortcut(QKeySequence("F5"))
        self.action.setStatusTip("Full screen, large type, thick lines, high contrast (F5 again to leave)")
        self.action.toggled.connect(self._on_toggled)
        window.addAction(self.action)  # F5 works with the menu bar hidden too

    @property
    def active(self) -> bool:
        return self.before is not None

    def add_to(self, menu: QMenu) -> None:
        menu.addSeparator()
        menu.addAction(self.action)

    def _on_toggled(self, on: bool) -> None:
        if on and not self.active:
            self.enter()
        elif not on and self.active:
            self.leave()

    def enter(self, screen: QRect | None = None) -> float:
        """Present on `screen` (a rectangle in screen coordinates; the window's own screen, full screen, when
        None). Returns the text factor chosen: the largest up to PRESENTATION_POINTS at which the window fits."""
        if self.active:
            self.leave()
        app = QApplication.instance()
        self.before = Before(self.window.saveGeometry(), self.window.isMaximized(), self.zoom.factor,
                             QPalette(app.palette()), app.style().name())
        target = screen if screen is not None else self.window.screen().geometry()
        palette = high_contrast(app.palette())
        set_line_scale(LINE_SCALE)
        for room in self.rooms():
            if hasattr(room, "set_presenting"):
                room.set_presenting(True)
        fits = self.zoom.fits

        def fits_at_this_size() -> bool:  # the controls grown with the text, then measured
            app.setStyle(ScaledStyle(self.before.style, self.zoom.factor))
            app.setPalette(palette)
            return self.fits_in(target.size())

        self.zoom.fits = fits_at_this_size
        try:
            self.factor = self.zoom.largest_fitting(PRESENTATION_POINTS / base_points())
        finally:
            self.zoom.fits = fits
        if screen is None:
            self.window.showFullScreen()
        else:
            self.window.setGeometry(screen)
        self.action.setChecked(True)
        self.changed.emit(True)
        return self.factor

    def leave(self) -> None:
        """Everything as it was before `enter`: window, text size (and the remembered one), style, palette, lines."""
        if not self.active:
            return
        before, self.before = self.before, None
        for room in self.rooms():
            if hasattr(room, "set_presenting"):
                room.set_presenting(False)
        set_line_scale(1.0)
        app = QApplication.instance()
        app.setStyle(before.style)
        app.setPalette(before.palette)
        self.zoom.set_factor(before.factor)
        self.window.showNormal()
        self.window.restoreGeometry(before.geometry)
        if before.maximized:
            self.window.showMaximized()
        self.action.setChecked(False)
        self.changed.emit(False)
