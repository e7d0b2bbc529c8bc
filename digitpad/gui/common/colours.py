"""Colour scales, drawn one way everywhere: numpy arrays through a 256-colour lookup table, and their legends.

The Explain panel's maps, the weight templates of softmax regression and every later map (updates,
perturbations, decision regions) are coloured here, so a colour means the same thing on every page:
GREY for pixels (ink bright), DIVERGING for signed values (blue against, white 0, red for), ACTIVATION for
values from 0 up. Each picture shows its scale: `draw_legend` (numbers, bar, meaning) or `ColourScale`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


def ramp(*stops: str) -> np.ndarray:
    """A 256×3 uint8 lookup table through evenly spaced colour stops."""
    rgb = np.array([QColor(s).getRgb()[:3] for s in stops], dtype=np.float64)
    at = np.linspace(0, 1, len(stops))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, at, rgb[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


GREY = ramp("#000000", "#ffffff")  # ink bright on black, like the MNIST preview
DIVERGING = ramp("#1e46c8", "#ffffff", "#c81e28")  # blue = against, white = 0, red = for
ACTIVATION = ramp("#ffffff", "#fdae61", "#d7301f", "#4a0c0c")  # 0 = white, strongest = dark red


@dataclass(frozen=True)
class Legend:
    """A colour bar: lut from lo to hi, and what the colours mean."""

    lut: np.ndarray
    lo: float
    hi: float
    text: str


def fmt(v: float) -> str:
    """Short, readable numbers for captions and tables: 3 significant digits, scientific when huge or tiny."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.2e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def colours(values: np.ndarray, lut: np.ndarray, lo: float, hi: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    idx = np.clip((np.asarray(values, dtype=np.float32) - lo) * (255.0 / span), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(lut[idx])


def rgb_image(rgb: np.ndarray) -> QImage:
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def lut_image(values: np.ndarray, lut: np.ndarray, lo: float, hi: float) -> QImage:
    """A 2-D array coloured through the lookup table, lo → first colour, hi → last."""
    return rgb_image(colours(values, lut, lo, hi))


def stacked_colours(maps: list[np.ndarray], legends: list[Legend]) -> np.ndarray | None:
    """N×H×W×3 in one numpy pass when the maps share a legend and a shape (a conv block's 32 maps)."""
    if maps and all(lg is legends[0] for lg in legends) and len({m.shape for m in maps}) == 1:
        return colours(np.stack(maps), legends[0].lut, legends[0].lo, legends[0].hi)
    return None


def symmetric(values: np.ndarray) -> float:
    """The scale of a diverging map: white is exactly 0."""
    return float(np.abs(values).max()) or 1.0


_BARS: dict[int, QImage] = {}


def legend_bar(lut: np.ndarray) -> QImage:
    """The colour bar of a lookup table, made once."""
    if id(lut) not in _BARS:
        _BARS[id(lut)] = lut_image(np.linspace(0, 1, 256)[None, :], lut, 0, 1)
    return _BARS[id(lut)]


def draw_legend(p: QPainter, at: QPoint, legend: Legend, line: int) -> None:
    """lo [colour bar] hi  what it means."""
    fm = p.fontMetrics()
    lo, hi = fmt(legend.lo), fmt(legend.hi)
    x = at.x()
    p.setPen(QColor("black"))
    p.drawText(QRect(x, at.y(), fm.horizontalAdvance(lo) + 4, line), Qt.AlignmentFlag.AlignVCenter, lo)
    x += fm.horizontalAdvance(lo) + 6
    bar = QRect(x, at.y() + line // 4, 120, line // 2)
    p.drawImage(bar, legend_bar(legend.lut))
    p.setPen(QColor("#666666"))
    p.drawRect(bar.adjusted(0, 0, -1, -1))
    p.setPen(QColor("black"))
    x += 126
    p.drawText(QRect(x, at.y(), 4000, line), Qt.AlignmentFlag.AlignVCenter, f"{hi}   {legend.text}")


def diverging_image(values: np.ndarray) -> QImage:
    """Signed values as blue (negative) / white (0) / red (positive), symmetric around zero."""
    return diverging_images(np.asarray(values)[None])[0]


def diverging_images(stack: np.ndarray) -> list[QImage]:
    """N maps (N × H × W), each on its own symmetric scale, in one pass through the DIVERGING table
    (a playground's 48 hidden-unit tiles, redrawn while it trains)."""
    stack = np.asarray(stack, dtype=np.float32)
    scale = np.abs(stack).reshape(len(stack), -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)[:, None, None]
    index = np.clip((stack / scale + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return [rgb_image(np.ascontiguousarray(one)) for one in DIVERGING[index]]


class ColourScale(QWidget):
    """A colour bar with what its left end, middle and right end mean, under a grid of pictures."""

    def __init__(self, lut: np.ndarray, meanings: tuple[str, str, str], tip: str = "") -> None:
        super().__init__()
        self.lut, self.meanings = lut, meanings
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setToolTip(tip)

    def sizeHint(self) -> QSize:
        return QSize(320, round(self.fontMetrics().height() * 2.4))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        line = self.fontMetrics().height()
        bar = QRectF(self.width() * 0.1, 2, self.width() * 0.8, line)
        painter.drawImage(bar, legend_bar(self.lut))
        painter.setPen(QColor("#888888"))
        painter.drawRect(bar)
        painter.setPen(self.palette().windowText().color())
        below = QRectF(bar.left(), bar.bottom() + 2, bar.width(), line)
        for align, text in zip((Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignHCenter,
                                Qt.AlignmentFlag.AlignRight), self.meanings):
            painter.drawText(below, align | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()
