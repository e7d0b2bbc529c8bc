"""Any picture of a digit → the 28×28 input an MNIST model expects, made the way MNIST was made.

MNIST digits were cropped to their ink, scaled so the longer side is 20 px (anti-aliased,
keeping the aspect ratio) and placed in a 28×28 field with their centre of mass at the
centre. A model trained on that fails on a naive resize of a drawing (too large, off-centre,
thin strokes), so the canvas, `digitpad predict` and the tests all come through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image, ImageFilter

from digitpad.core.strokes import Stroke, StrokeSet, bounded_raster

FIELD = 28
BOX = 20
# Larger images are box-reduced first, by one factor on both axes: a budget of pixels rather than of
# side, so a 20000×20 strip keeps the few pixels its digit has while a 10000×10000 scan shrinks.
MAX_PIXELS = 2048 * 2048


# --- images → grey levels ---------------------------------------------------------------------

def _composite_alpha(lum: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten transparency onto the background that contrasts with the ink, so ink survives either way."""
    if alpha.min() >= 1.0:
        return lum
    weight = alpha.sum()
    ink_is_dark = weight == 0 or float((lum * alpha).sum() / weight) < 0.5
    background = 1.0 if ink_is_dark else 0.0
    return lum * alpha + background * (1.0 - alpha)


def _array_to_unit(arr: np.ndarray) -> np.ndarray:
    """Any numeric array → float in [0, 1] by the range its dtype implies."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.integer):
        top = 255.0 if arr.dtype.itemsize == 1 or arr.max(initial=0) <= 255 else 65535.0
        return np.clip(arr.astype(np.float64) / top, 0.0, 1.0)
    out = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    peak = out.max(initial=0.0)
    return np.clip(out / peak if peak > 1.0 else out, 0.0, 1.0)


def _pil_to_gray(image: Image.Image) -> np.ndarray:
    pixels = image.size[0] * image.size[1]
    if pixels > MAX_PIXELS:
        image = image.reduce(math.ceil(math.sqrt(pixels / MAX_PIXELS)))
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _array_to_unit(np.asarray(image))
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
    lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    return _composite_alpha(lum, rgba[..., 3])


def to_gray(image: Image.Image | np.ndarray) -> np.ndarray:
    """A float H×W array in [0, 1] from a PIL image (any mode) or an array (H×W, H×W×3, H×W×4)."""
    if isinstance(image, Image.Image):
        return _pil_to_gray(image)
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        unit = _array_to_unit(arr)
        lum = unit[..., :3] @ np.array([0.299, 0.587, 0.114])
        return _composite_alpha(lum, unit[..., 3]) if arr.shape[2] == 4 else lum
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"expected an image (H×W or H×W×3/4 array), got shape {arr.shape}")
    return _array_to_unit(arr)


# --- grey levels → MNIST field ----------------------------------------------------------------

INK_PEAK_PIXELS = 12  # the strongest ink is what at least this many pixels share with a neighbour


def _shared_with_a_neighbour(a: np.ndarray) -> np.ndarray:
    """Per inner pixel, the level it shares with one of its 8 neighbours (the pair's minimum), so that a
    lone speck counts for nothing while a 1-px line keeps its full level. Works on levels and on masks."""
    centre = a[1:-1, 1:-1]
    shared = np.minimum(centre, a[1:-1, 2:])  # right; then down, down-right, down-left
    for neighbour in (a[2:, 1:-1], a[2:, 2:], a[2:, :-2]):
        np.maximum(shared, np.minimum(centre, neighbour), out=shared)
    return shared


def _ink_peak(ink: np.ndarray) -> float:
    """The level of the strongest ink, ignoring isolated specks of noise: the level that a dozen pixels
    share with a neighbour. Unlike a percentile, this does not depend on what fraction of the picture the
    digit covers: an 80 px digit in a 1000×1000 scan is 0.1 % of it.
    """
    top = float(ink.max())
    if ink.size <= 1000 or min(ink.shape) < 3:
        return top
    # Drawings and clean scans have saturated ink: settle that on booleans (the canvas's live path).
    if np.count_nonzero(_shared_with_a_neighbour(ink >= top)) >= INK_PEAK_PIXELS:
        return top
    shared = _shared_with_a_neighbour(ink).ravel()
    k = min(INK_PEAK_PIXELS, shared.size)
    return float(np.partition(shared, shared.size - k)[shared.size - k])


def ink_map(gray: np.ndarray) -> np.ndarray | None:
    """Ink as bright-on-black in [0, 1], whatever the polarity; None when there is no ink at all.

    The background is the median of the border: MNIST-like (light on dark) is kept, a drawing or a
    photo of paper (dark on light) is inverted. Paper texture, shadows and noise below 40 % of the
    contrast are cut, and the strongest ink is stretched to 1.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - gray if background > 0.5 else gray
    low = min(background, 1.0 - background)
    high = _ink_peak(ink)
    if high - low < 0.1:
        return None
    threshold = low + 0.4 * (high - low)
    out = np.clip((ink - threshold) / (high - threshold), 0.0, 1.0)
    return out if out.max() > 0 else None


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every inked pixel (a view, not a copy)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit_box(cropped: np.ndarray) -> np.ndarray:
    """Scale the longer side of the cropped ink to 20 px, keeping the aspect (area-averaged when shrinking)."""
    crop = cropped.astype(np.float32)
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.asarray(Image.fromarray(crop, mode="F").resize(size, resample), dtype=np.float32)
    small = np.clip(small, 0.0, None)
    peak = small.max()
    # Thin pens fade when area-averaged; MNIST strokes are saturated in their centre, so restore the peak.
    return small / peak if peak > 0 else small


def _centre_by_mass(patch: np.ndarray) -> np.ndarray:
    """Place the patch in a 28×28 field so its centre of mass sits at the field's centre.

    The shift is sub-pixel (bilinear), so a digit's position does not jump by a pixel when
    its box is one pixel wider or narrower.
    """
    h, w = patch.shape
    total = patch.sum()
    cy = float((patch.sum(axis=1) * np.arange(h)).sum() / total)
    cx = float((patch.sum(axis=0) * np.arange(w)).sum() / total)
    oy, ox = (FIELD - 1) / 2 - cy, (FIELD - 1) / 2 - cx
    top, left = math.floor(oy), math.floor(ox)
    fy, fx = oy - top, ox - left
    big = np.zeros((FIELD + 2 * BOX, FIELD + 2 * BOX), dtype=np.float32)  # room for any shift
    y0, x0 = BOX + top, BOX + left
    big[y0:y0 + h, x0:x0 + w] = patch
    big = (1 - fy) * big + fy * np.roll(big, 1, axis=0)
    big = (1 - fx) * big + fx * np.roll(big, 1, axis=1)
    return np.ascontiguousarray(big[BOX:BOX + FIELD, BOX:BOX + FIELD])


@dataclass(frozen=True)
class PreprocessSteps:
    """Every intermediate of `mnist_pixels`, as computed (not re-run): what the Explain panel shows."""

    ink: np.ndarray  # the ink as drawn, bright on black, full size
    cropped: np.ndarray  # cropped to the ink
    fitted: np.ndarray  # longer side scaled to 20 px
    pixels: np.ndarray  # 28×28, centre of mass at the centre: the model's input before normalization


def mnist_steps(image: Image.Image | np.ndarray) -> PreprocessSteps | None:
    """`mnist_pixels` with its intermediate steps kept; None means "no ink"."""
    ink = ink_map(to_gray(image))
    if ink is None:
        return None
    cropped = _crop_to_ink(thin_thick_ink(ink))
    fitted = _fit_box(cropped)
    return PreprocessSteps(ink, cropped, fitted, _centre_by_mass(fitted))


def mnist_pixels(image: Image.Image | np.ndarray) -> np.ndarray | None:
    """28×28 float32 in [0, 1], ink bright, MNIST-style; None means "no ink: nothing to classify"."""
    steps = mnist_steps(image)
    return None if steps is None else steps.pixels


THICK_RATIO = 0.3  # ink thicker than this (width / digit size) is thinned: 2.5× MNIST's
THIN_SHARE = 0.5  # erode half the excess: all of it breaks strokes where the estimate overshoots
WIDTH_SIDE = 100  # the resolution stroke width is measured and thinned at: the digit's longer side in pixels


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary ink mask: twice its area over its boundary (exact for long bars)."""
    padded = np.pad(mask, 1)
    inner = mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = int(mask.sum() - inner.sum())
    return 2 * float(mask.sum()) / max(boundary, 1)


def thin_thick_ink(ink: np.ndarray) -> np.ndarray:
    """Photos and scans have no vectors, so a thick pen is thinned instead: when the ink's stroke is
    over THICK_RATIO of the digit's size, it is eroded towards the MNIST-like width (STROKE_RATIO).

    Thin and MNIST-like ink is returned as it is. The measuring and eroding happen on the ink cropped
    and scaled to WIDTH_SIDE pixels, so a 2000-px scan costs no more than a small drawing.
    """
    crop = _crop_to_ink(ink).astype(np.float32)
    scale = WIDTH_SIDE / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    work = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    width = stroke_width(work > 0.5)
    if width <= THICK_RATIO * (WIDTH_SIDE - width):
        return ink
    target = STROKE_RATIO * WIDTH_SIDE / (1 + STROKE_RATIO)  # the width of a digit drawn with the network's pen
    radius = max(1, round((width - target) / 2 * THIN_SHARE))
    thinned = np.asarray(Image.fromarray(work, mode="F").filter(ImageFilter.MinFilter(2 * radius + 1)), dtype=np.float32)
    return thinned if thinned.max() > 0.5 else work


def naive_resize(ink: np.ndarray) -> np.ndarray:
    """Ink-bright picture (uint8, or floats in [0, 1]) → 28×28 in [0, 1] by a plain resize of the whole picture:
    no cropping, scaling to 20 px or centring. What a naive pipeline feeds the network (the canvas's "as drawn"
    view and the benchmarks' baseline): MNIST-trained models misread it, which is the lesson."""
    unit = ink.astype(np.float32) / 255 if ink.dtype == np.uint8 else ink.astype(np.float32)
    resized = Image.fromarray(np.round(np.clip(unit, 0, 1) * 255).astype(np.uint8)).resize((FIELD, FIELD),
                                                                                             Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32) / 255


def naive_stroke_pixels(strokes: StrokeSet) -> np.ndarray | None:
    """A drawing as drawn (the user's own brush, the whole canvas) → `naive_resize`; None when nothing is drawn."""
    if not any(s.points for s in strokes.strokes):
        return None
    return naive_resize(bounded_raster(strokes))


def uint8_images(fields) -> torch.Tensor:
    """28×28 fields in [0, 1] (an array, or a sequence of them) → uint8 0–255, as data sets are kept."""
    return torch.from_numpy(np.round(np.clip(np.asarray(fields), 0, 1) * 255).astype(np.uint8))


def unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0–255 → float 0–1, one batch at a time: data sets stay uint8 on the device (4× less memory)."""
    return images.float().div_(255)


def normalize_(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Pixels in [0, 1] → the standardized input the model was trained on, in place.

    Every caller hands over a fresh tensor: computing out of place allocated two more batch-sized
    tensors per step, which cost more than the arithmetic on the CPU.
    """
    return x.sub_(mean).div_(std)


def to_tensor(pixels: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """Pixels in [0, 1] → the 1×28×28 normalized tensor, with the model's own statistics."""
    return normalize_(torch.tensor(pixels, dtype=torch.float32).unsqueeze(0), mean, std)


# The network's pen, as a fraction of the digit's longer side (centre line to centre line). MNIST's
# own is about 0.12; on the scripted drawings, large and small with brushes 8–30 of 280, every shipped
# model reads best from 0.14 to 0.16 (docs/BENCHMARKS.md, "How the new rules were chosen").
STROKE_RATIO = 0.14
WORK_EXTENT = 200.0  # the digit's longer side when redrawn for the network, in pixels (10× the 20-px box)


def network_strokes(strokes: StrokeSet) -> StrokeSet:
    """The same drawing redrawn for the network: the digit scaled so its longer side is WORK_EXTENT
    and the pen set to STROKE_RATIO of that, whatever brush the user chose and however small the
    digit was drawn — a thick brush on a small digit would otherwise reach the network as a blob.

    Pen-pressure variations survive as each ink point's width relative to the median one; eraser
    strokes keep their size relative to the drawing, so what was erased stays erased.
    """
    limit = 2 * max(strokes.width, strokes.height)

    def clamp(v: float) -> float:
        return min(max(v, -limit), limit)

    ink = [(clamp(x), clamp(y), f) for s in strokes.strokes if not s.erase for x, y, f in s.points]
    if not ink:
        return strokes
    xs, ys, factors = zip(*ink)
    x0, y0 = min(xs), min(ys)
    extent = max(max(xs) - x0, max(ys) - y0, strokes.pen_width, 1.0)  # a dot keeps the size of its pen
    scale = WORK_EXTENT / extent
    pen = STROKE_RATIO * WORK_EXTENT
    typical = float(np.median(factors))
    margin = min(pen * max(factors) / typical / 2, WORK_EXTENT) + 2  # room for the round caps

    def moved(stroke: Stroke) -> Stroke:
        # eraser widths are canvas sizes scaled with the drawing; ink widths follow the new pen
        to_new = strokes.pen_width * scale / pen if stroke.erase else 1 / typical
        return Stroke([((clamp(x) - x0) * scale + margin, (clamp(y) - y0) * scale + margin, f * to_new)
                       for x, y, f in stroke.points], stroke.erase)

    width = math.ceil((max(xs) - x0) * scale + 2 * margin)
    height = math.ceil((max(ys) - y0) * scale + 2 * margin)
    return StrokeSet(width, height, pen, [moved(s) for s in strokes.strokes])


def stroke_steps(strokes: StrokeSet) -> PreprocessSteps | None:
    """Strokes → every preprocessing step (None when nothing is drawn).

    The strokes are redrawn with an MNIST-like pen (`network_strokes`), so the answer depends on the
    digit, not on the brush size or where on the canvas it was drawn. The first step shows the
    drawing as the user drew it (own brush; a canvas larger than MAX_RASTER_SIDE drawn scaled down, as
    a 10000×10000 canvas would otherwise take gigabytes); from the crop on, the steps are the network's.
    """
    if not any(s.points for s in strokes.strokes):
        return None
    steps = mnist_steps(bounded_raster(network_strokes(strokes)))
    return None if steps is None else replace(steps, ink=bounded_raster(strokes).astype(np.float32) / 255)


def stroke_pixels(strokes: StrokeSet) -> np.ndarray | None:
    """Strokes → MNIST 28×28 pixels (None when nothing is drawn); the canvas and the CLI share this.

    The same steps as `stroke_steps`, without rasterizing the user's own brush for display.
    """
    if not any(s.points for s in strokes.strokes):
        return None
    return mnist_pixels(bounded_raster(network_strokes(strokes)))


