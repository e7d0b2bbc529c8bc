"""numpy arrays and PIL images → QImage for previews, galleries, weight templates and opened files."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

RED = (200, 30, 40)  # the weights' colours: positive (votes for the class) and negative
BLUE = (30, 70, 200)


def gray_image(pixels: np.ndarray, invert: bool = False) -> QImage:
    """A float [0, 1] or uint8 array as a greyscale QImage (ink bright, or dark with invert=True)."""
    arr = pixels if pixels.dtype == np.uint8 else (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    if invert:
        arr = 255 - arr
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape
    return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def diverging_image(weights: np.ndarray) -> QImage:
    """Signed weights as red (positive) / white (0) / blue (negative), symmetric around zero."""
    return diverging_images(weights[None])[0]


def _diverging_lut(levels: int = 511) -> np.ndarray:
    """The colours of t = -1 … 1 in `levels` steps: blue, white at 0, red."""
    t = np.linspace(-1, 1, levels)[:, None]
    white = np.array([255.0, 255.0, 255.0])
    red, blue = np.array(RED, dtype=float), np.array(BLUE, dtype=float)
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return rgb.round().astype(np.uint8)


DIVERGING_LUT = _diverging_lut()


def diverging_images(stack: np.ndarray) -> list[QImage]:
    """N maps (N × H × W) as diverging_image draws each, on its own scale: one pass through a colour table
    for all of them (a playground's 48 hidden-unit tiles, redrawn while it trains)."""
    stack = np.asarray(stack, dtype=np.float32)
    scale = np.abs(stack).reshape(len(stack), -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)[:, None, None]
    half = (len(DIVERGING_LUT) - 1) / 2
    index = np.rint(np.clip(stack / scale, -1, 1) * half + half).astype(np.intp)
    rgb = np.ascontiguousarray(DIVERGING_LUT[index])
    _, h, w = stack.shape
    return [QImage(one.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy() for one in rgb]


def display_image(image: Image.Image, max_side: int) -> QImage:
    """A copy small enough to show (at most max_side px across), with its transparency.

    Reduced before converting: a 10000×10000 scan never becomes a 400 MB RGBA copy.
    """
    shown = image.copy() if image.mode in ("1", "L", "LA", "RGB", "RGBA") else image.convert("RGBA")
    shown.thumbnail((max_side, max_side))
    rgba = shown.convert("RGBA")
    return QImage(rgba.tobytes(), rgba.width, rgba.height, 4 * rgba.width, QImage.Format.Format_RGBA8888).copy()
