"""numpy arrays and PIL images → QImage for previews, galleries and opened files (colour maps: `colours.py`)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

def gray_image(pixels: np.ndarray, invert: bool = False) -> QImage:
    """A float [0, 1] or uint8 array as a greyscale QImage (ink bright, or dark with invert=True)."""
    arr = pixels if pixels.dtype == np.uint8 else (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    if invert:
        arr = 255 - arr
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape
    return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def display_image(image: Image.Image, max_side: int) -> QImage:
    """A copy small enough to show (at most max_side px across), with its transparency.

    Reduced before converting: a 10000×10000 scan never becomes a 400 MB RGBA copy.
    """
    shown = image.copy() if image.mode in ("1", "L", "LA", "RGB", "RGBA") else image.convert("RGBA")
    shown.thumbnail((max_side, max_side))
    rgba = shown.convert("RGBA")
    return QImage(rgba.tobytes(), rgba.width, rgba.height, 4 * rgba.width, QImage.Format.Format_RGBA8888).copy()
