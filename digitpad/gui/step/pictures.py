"""The Step tab's pictures: the batch as thumbnails, and weight templates whose pixels can be clicked.

Both paint from numpy in one pass per frame and only what is in view, so that slow-motion play
(ten steps a second) redraws them well within a frame.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.gui.canvas.explain_panel import MapGrid
from digitpad.gui.common.colours import DIVERGING, Legend, symmetric
from digitpad.gui.common.images import gray_image

WRONG = QColor("#d62728")
ROSE = QColor("#2a8a2a")  # p(true) went up
FELL = QColor("#c0392b")


class BatchGrid(QWidget):
    """The batch's images, each with its true label and p(true class) before → after the step.

    A red frame marks the images the model got wrong before the step. The grid reflows to the width it is
    given and grows downwards (it lives in a scroll area); only the cells in view are painted.
    """

    GAP = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.atlas: QImage | None = None
        self.labels: list[str] = []
        self._cell_size: tuple[str, QSize] | None = None
        self.p_before = np.zeros(0)
        self.p_after = np.zeros(0)
        self.wrong = np.zeros(0, dtype=bool)
        self.thumb = 42
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_batch(self, pixels: np.ndarray, labels: list[str], p_before: np.ndarray, p_after: np.ndarray,
                  wrong: np.ndarray) -> None:
        """pixels: N×28×28 uint8 (ink bright); labels: each image's true class name.

        The images go into one atlas (a column of 28×28 tiles): one QImage per batch, not one per image.
        """
        resized = len(pixels) != len(self.labels)
        self.atlas = gray_image(np.ascontiguousarray(pixels.reshape(-1, 28)), invert=True) if len(pixels) else None
        self.labels, self.p_before, self.p_after, self.wrong = labels, p_before, p_after, wrong
        if resized:  # the same batch size keeps the same height: no layout pass per step
            self.updateGeometry()
            self.adjustSize()
        self.update()

    def _cell(self) -> QSize:
        key = self.font().key()
        if self._cell_size is None or self._cell_size[0] != key:
            metrics = self.fontMetrics()
            width = max(self.thumb, metrics.horizontalAdvance(".00→.00")) + self.GAP
            self._cell_size = (key, QSize(width, self.thumb + 2 * metrics.height() + self.GAP))
        return self._cell_size[1]

    def _columns(self, width: int) -> int:
        return max(1, width // self._cell().width())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return math.ceil(len(self.labels) / self._columns(width)) * self._cell().height() + self.GAP

    def sizeHint(self) -> QSize:
        return QSize(8 * self._cell().width(), self.heightForWidth(8 * self._cell().width()))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._cell().width() * 2, self._cell().height())

    def cell_rect(self, index: int) -> QRect:
        cell, columns = self._cell(), self._columns(self.width())
        row, col = divmod(index, columns)
        return QRect(col * cell.width() + self.GAP // 2, row * cell.height() + self.GAP // 2, cell.width() - self.GAP,
                     cell.height() - self.GAP)

    def paintEvent(self, event) -> None:
        """Only the rows in view (the scroll area exposes a band of a tall grid)."""
        if self.atlas is None:
            return
        p = QPainter(self)
        cell, columns, line = self._cell(), self._columns(self.width()), self.fontMetrics().height()
        exposed = event.rect()
        first_row = max(0, exposed.top() // cell.height())
        last_row = exposed.bottom() // cell.height()
        text_pen = self.palette().windowText().color()
        thin, thick = QPen(QColor("#aaaaaa"), 1), QPen(WRONG, 3)
        for i in range(first_row * columns, min(len(self.labels), (last_row + 1) * columns)):
            row, col = divmod(i, columns)
            box = QRect(col * cell.width() + self.GAP // 2, row * cell.height() + self.GAP // 2,
                        cell.width() - self.GAP, cell.height() - self.GAP)
            pic = QRect(box.left() + (box.width() - self.thumb) // 2, box.top(), self.thumb, self.thumb)
            p.drawImage(pic, self.atlas, QRect(0, 28 * i, 28, 28))
            wrong = bool(self.wrong[i])
            p.setPen(thick if wrong else thin)
            p.drawRect(pic.adjusted(0, 0, -1, -1))
            p.setPen(WRONG if wrong else text_pen)
            text = QRect(box.left(), pic.bottom() + 1, box.width(), line)
            p.drawText(text, Qt.AlignmentFlag.AlignCenter, self.labels[i] + (" ✗" if wrong else ""))
            before, after = float(self.p_before[i]), float(self.p_after[i])
            p.setPen(ROSE if after > before else FELL if after < before else text_pen)
            p.drawText(text.translated(0, line), Qt.AlignmentFlag.AlignCenter, f"{_p(before)}→{_p(after)}")
        p.end()


def _p(value: float) -> str:
    """A probability in three characters: .07, .93, 1.0."""
    return "1.0" if value >= 0.995 else f"{value:.2f}".lstrip("0")


def shared_legend(maps: list[np.ndarray], text: str) -> Legend:
    """One symmetric scale for all these maps (white is exactly 0), so their colours compare."""
    scale = max(symmetric(m) for m in maps)
    return Legend(DIVERGING, -scale, scale, text)


class TemplateGrid(MapGrid):
    """Weight pictures (templates, filters) on one colour scale; a click on a pixel picks that weight.

    The picked pixel is framed in every grid that shows it (before, update, after), so the eye can follow it.
    """

    pixel_clicked = Signal(int, int, int)  # map, row, column

    def __init__(self, columns: int, tile: int = 48, parent: QWidget | None = None) -> None:
        super().__init__(columns, tile, caption_lines=1, gap=6, parent=parent)
        self.picked: tuple[int, int, int] | None = None
        self.setCursor(Qt.CursorShape.CrossCursor)

    def set_tile(self, tile: int) -> None:
        """Resize the pictures (the panel fits them to its width)."""
        tile = max(16, tile)
        if tile != self.tile:
            self.tile = self.tile_height = tile
            self._cell_size = None
            self.updateGeometry()
            self.update()

    def pick(self, picked: tuple[int, int, int] | None) -> None:
        self.picked = picked
        self.update()

    def pixel_at(self, pos: QPoint) -> tuple[int, int, int] | None:
        for i, (w, h) in enumerate(self.sizes):
            target = self._target(i)
            if target.contains(pos):
                col = min(w - 1, (pos.x() - target.left()) * w // target.width())
                row = min(h - 1, (pos.y() - target.top()) * h // target.height())
                return i, row, col
        return None

    def mousePressEvent(self, event) -> None:
        hit = self.pixel_at(event.position().toPoint())
        if hit is not None:
            self.pixel_clicked.emit(*hit)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.picked is None or self.picked[0] >= len(self.sizes):
            return
        i, row, col = self.picked
        target, (w, h) = self._target(i), self.sizes[i]
        x0, x1 = target.left() + col * target.width() // w, target.left() + (col + 1) * target.width() // w
        y0, y1 = target.top() + row * target.height() // h, target.top() + (row + 1) * target.height() // h
        p = QPainter(self)
        p.setPen(QPen(QColor("#ff9900"), 2))
        p.drawRect(QRect(x0 - 2, y0 - 2, x1 - x0 + 3, y1 - y0 + 3))
        p.end()
