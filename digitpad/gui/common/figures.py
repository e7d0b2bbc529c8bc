"""Figures for slides: a widget of the app drawn offscreen, larger type, written atomically as PNG.

`digitpad playground --out` and `digitpad map --out` draw the very views the app shows, not a second
drawing made with another library.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtWidgets import QWidget

from digitpad.core.atomic import atomic_write_bytes
from digitpad.gui.app import offscreen_quiet, qt_app

FIGURE_POINT_SIZE = 15  # titles, legends and axes, read from the back of the room


def enlarge_type(widget: QWidget, plot: pg.PlotWidget, point_size: float = FIGURE_POINT_SIZE) -> None:
    """The widget's own text (title, legend) and the plot's axes at a projector's size."""
    font = widget.font()
    font.setPointSizeF(point_size)
    widget.setFont(font)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setTickFont(font)
        axis.label.setFont(font)


def save_figure(widget: QWidget, target: str | os.PathLike, width: int, height: int,
                settle: Callable[[QWidget], None] | None = None) -> Path:
    """Lay the widget out offscreen at width × height (then let `settle` resize it, its parts laid out),
    grab it and write it as PNG; the widget is closed and deleted afterwards."""
    app = qt_app()
    with offscreen_quiet():
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        widget.resize(width, height)
        widget.show()
        app.processEvents()
        if settle is not None:
            settle(widget)
            app.processEvents()
        try:
            image = widget.grab().toImage()
        finally:
            widget.close()
            widget.deleteLater()
            app.processEvents()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode the figure for {target}")
    atomic_write_bytes(Path(target), bytes(buffer.data()))
    return Path(target)
