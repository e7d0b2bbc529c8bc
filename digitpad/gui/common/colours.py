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


# Curves and classes: Okabe & Ito's palette (2008) with three of Paul Tol's, chosen so that every pair stays
# apart for normal vision and under simulated deuteranopia and protanopia (CIELAB ΔE ≥ 17 for the ten class
# colours; tests/test_gui_present.py checks it, and docs/PRESENTATION.md shows it on a rendered chart).
LOSS_COLOUR = "#0072b2"  # blue
TRAIN_COLOUR = "#d55e00"  # vermilion
TEST_COLOUR = "#009e73"  # bluish green
SCRATCH_COLOUR = "#e69f00"  # orange: the from-scratch twin of a curve
CLASS_COLOURS = ("#332288", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#117733", "#aa4499",
                 "#882255", "#000000")  # one per class, 0-9
# Recorded runs under the live one: the class colours less the live curves' own (vermilion, bluish green) and the
# purple that protanopia shows as the loss curve's blue (ΔE 8); every pair then stays ≥ 17 apart.
RUN_COLOURS = tuple(c for c in CLASS_COLOURS if c not in (TRAIN_COLOUR, TEST_COLOUR, "#aa4499"))
BAR_COLOUR = "#9ccbeb"  # light sky blue: the other classes' bars
TOP_COLOUR = TRAIN_COLOUR  # the top class's bar, in vermilion: told apart by lightness too

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


LEGEND_BAR = 120  # the colour bar's length in a legend line, pixels


def legend_width(metrics, legend: Legend) -> int:
    """How wide `draw_legend` draws this legend with these font metrics: a picture is never narrower, so its
    legend is never cut ("blue agai…")."""
    return (metrics.horizontalAdvance(fmt(legend.lo)) + 6 + LEGEND_BAR + 6
            + metrics.horizontalAdvance(f"{fmt(legend.hi)}   {legend.text}") + 8)


def draw_legend(p: QPainter, at: QPoint, legend: Legend, line: int) -> None:
    """lo [colour bar] hi  what it means."""
    fm = p.fontMetrics()
    lo, hi = fmt(legend.lo), fmt(legend.hi)
    x = at.x()
    p.setPen(QColor("black"))
    p.drawText(QRect(x, at.y(), fm.horizontalAdvance(lo) + 4, line), Qt.AlignmentFlag.AlignVCenter, lo)
    x += fm.horizontalAdvance(lo) + 6
    bar = QRect(x, at.y() + line // 4, LEGEND_BAR, line // 2)
    p.drawImage(bar, legend_bar(legend.lut))
    p.setPen(QColor("#666666"))
    p.drawRect(bar.adjusted(0, 0, -1, -1))
    p.setPen(QColor("black"))
    x += LEGEND_BAR + 6
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


# --- checking colours: contrast and colour-vision deficiency ----------------------------------------------------
# Used by the tests and by scripts/presentation_shots.py on rendered screenshots, so the palette's claims are
# measured, not assumed.

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD_MATRICES = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _linear(srgb: np.ndarray) -> np.ndarray:
    srgb = np.asarray(srgb, dtype=np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate_cvd(rgb: np.ndarray, kind: str = "deuteranopia") -> np.ndarray:
    """How an image (…×3, uint8 or 0-1 floats) looks with that deficiency; uint8 in, uint8 out."""
    as_bytes = np.asarray(rgb).dtype == np.uint8
    unit = np.asarray(rgb, dtype=np.float64) / (255.0 if as_bytes else 1.0)
    out = _srgb(_linear(unit) @ CVD_MATRICES[kind].T)
    return np.round(out * 255).astype(np.uint8) if as_bytes else out


def hex_rgb(colour: str) -> np.ndarray:
    return np.array(QColor(colour).getRgb()[:3], dtype=np.float64) / 255


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours in 0-1."""
    xyz = _linear(rgb) @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                                   [0.0193, 0.1192, 0.9505]]).T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def smallest_difference(colours: np.ndarray) -> float:
    """The smallest CIELAB ΔE (1976) between any two of these sRGB colours (N×3, 0-1): ~2 is barely seen,
    above 10 two colours are told apart at a glance."""
    points = lab(np.asarray(colours, dtype=np.float64))
    gaps = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return float(gaps[np.triu_indices(len(points), 1)].min())


def luminance(rgb: np.ndarray) -> np.ndarray:
    return _linear(rgb) @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG contrast of two sRGB colours (0-1): 1 to 21; body text wants 4.5, AAA and a projector 7."""
    la, lb = float(luminance(a)), float(luminance(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
