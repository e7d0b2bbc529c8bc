"""Drawings that are no digit, to teach and to measure "that is not a digit": scribbles from several generators
and letters rendered from the fonts on this machine, each through the same preprocessing as a drawing or file.

Each generator is a source that can be held out whole: the not-a-digit detector (`core/ood.py`) learns from some
generators and fonts and is measured on the others (bench/not_a_digit.py). The zig-zag scribbles of
`sample_digits.scribble` (the 'not sure' threshold's benchmark) are one of the held-out generators.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitpad.core.preprocess import mnist_pixels
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import arc, polyline, scribble

CANVAS = 280


def _strokes(lines: list[list[tuple[float, float]]], pen: float) -> StrokeSet:
    return StrokeSet(CANVAS, CANVAS, pen, [Stroke(as_points(s)) for s in lines if len(s) > 1])


def _pen(rng: np.random.Generator) -> float:
    return float(rng.choice([8, 14, 20]))


def curve(seed: int) -> StrokeSet:
    """A pen wandering with momentum: one or two long smooth strokes that turn and cross themselves."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(int(rng.integers(1, 3))):
        x, y = rng.uniform(60, 220, size=2)
        heading, turn = rng.uniform(0, 2 * math.pi), 0.0
        pts = [(x, y)]
        for _ in range(int(rng.integers(70, 150))):
            turn = 0.85 * turn + rng.normal(0, 0.12)
            heading += turn
            x = min(max(x + 6 * math.cos(heading), 20), 260)
            y = min(max(y + 6 * math.sin(heading), 20), 260)
            pts.append((x, y))
        lines.append(pts)
    return _strokes(lines, _pen(rng))


def coil(seed: int) -> StrokeSet:
    """Loops along a line, like a spring or a row of cursive e's, or a spiral."""
    rng = np.random.default_rng(seed)
    if rng.random() < 0.4:
        turns, r0 = rng.uniform(1.5, 4), rng.uniform(5, 20)
        t = np.linspace(0, 2 * math.pi * turns, int(60 * turns))
        r = r0 + (rng.uniform(90, 120) - r0) * t / t[-1]
        cx, cy = rng.uniform(120, 160, size=2)
        return _strokes([list(zip(cx + r * np.cos(t), cy + r * np.sin(t)))], _pen(rng))
    loops, radius = int(rng.integers(3, 7)), rng.uniform(18, 35)
    t = np.linspace(0, 2 * math.pi * loops, 50 * loops)
    length = rng.uniform(160, 230)
    xs = 140 - length / 2 + length * t / t[-1] + radius * np.cos(t + math.pi)
    ys = 140 + radius * np.sin(t)
    a = rng.uniform(-0.6, 0.6)
    pts = [(140 + (x - 140) * math.cos(a) - (y - 140) * math.sin(a),
            140 + (x - 140) * math.sin(a) + (y - 140) * math.cos(a)) for x, y in zip(xs, ys)]
    return _strokes([pts], _pen(rng))


def hatching(seed: int) -> StrokeSet:
    """Three to eight parallel strokes, sometimes crossed by another set: shading, not a digit."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(1 if rng.random() < 0.6 else 2):
        n, a = int(rng.integers(3, 9)), rng.uniform(0, math.pi)
        length, gap = rng.uniform(120, 220), rng.uniform(18, 32)
        dx, dy, nx, ny = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        for k in range(n):
            off = (k - (n - 1) / 2) * gap
            cx, cy = 140 + off * nx, 140 + off * ny
            lines.append(polyline((cx - dx * length / 2, cy - dy * length / 2),
                                  (cx + dx * length / 2, cy + dy * length / 2), steps=6))
    return _strokes(lines, _pen(rng))


def dots(seed: int) -> StrokeSet:
    """Dots and dashes scattered over the canvas."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(int(rng.integers(6, 20))):
        x, y = rng.uniform(30, 250, size=2)
        a, length = rng.uniform(0, 2 * math.pi), rng.uniform(1, 25)
        lines.append([(x, y), (x + length * math.cos(a), y + length * math.sin(a))])
    return _strokes(lines, _pen(rng))


def polygon(seed: int) -> StrokeSet:
    """A closed outline of four to seven corners, convex or not, drawn in one stroke: a box, a kite, a blot."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = rng.uniform(50, 110, n) * (1 if rng.random() < 0.5 else rng.uniform(0.4, 1.0, n))
    cx, cy = rng.uniform(120, 160, size=2)
    corners = [(cx + r * math.cos(a), cy + r * math.sin(a) * rng.uniform(0.7, 1.0)) for a, r in zip(angles, radii)]
    return _strokes([polyline(*corners, corners[0], steps=8)], _pen(rng))


def _star(cx, cy, r):
    return [(cx + r * math.sin(4 * math.pi * k / 5), cy - r * math.cos(4 * math.pi * k / 5)) for k in range(6)]


def shapes(seed: int) -> StrokeSet:
    """A doodle: a star, a triangle, a house, a smiley, a hash sign, an arrow or a heart."""
    rng = np.random.default_rng(seed)
    kind = int(rng.integers(0, 7))
    cx, cy, r = *rng.uniform(110, 170, size=2), rng.uniform(60, 100)
    if kind == 0:
        lines = [polyline(*_star(cx, cy, r), steps=8)]
    elif kind == 1:
        lines = [polyline((cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8), (cx, cy - r), steps=10)]
    elif kind == 2:
        lines = [polyline((cx - r * .7, cy), (cx - r * .7, cy + r), (cx + r * .7, cy + r), (cx + r * .7, cy),
                          (cx - r * .7, cy), (cx, cy - r * .8), (cx + r * .7, cy), steps=8)]
    elif kind == 3:
        lines = [arc(cx, cy, r, r, 0, 360), arc(cx, cy + r * .1, r * .5, r * .45, 20, 160),
                 arc(cx - r * .35, cy - r * .3, 4, 4, 0, 360, 8), arc(cx + r * .35, cy - r * .3, 4, 4, 0, 360, 8)]
    elif kind == 4:
        lines = [polyline((cx - r * .3, cy - r), (cx - r * .4, cy + r)), polyline((cx + r * .35, cy - r), (cx + r * .25, cy + r)),
                 polyline((cx - r, cy - r * .35), (cx + r, cy - r * .3)), polyline((cx - r, cy + r * .35), (cx + r, cy + r * .3))]
    elif kind == 5:
        lines = [polyline((cx - r, cy + r * .2), (cx + r, cy - r * .2)),
                 polyline((cx + r * .5, cy - r * .55), (cx + r, cy - r * .2), (cx + r * .6, cy + r * .25))]
    else:
        lines = [arc(cx - r * .45, cy - r * .2, r * .5, r * .45, 180, 360) +
                 polyline((cx + r * .05, cy - r * .2), (cx, cy + r * .8))[1:2] +
                 [(cx, cy + r * .8)] + polyline((cx, cy + r * .8), (cx - r * .95, cy - r * .15))[1:],
                 arc(cx + r * .45, cy - r * .2, r * .5, r * .45, 180, 360) +
                 polyline((cx + r * .95, cy - r * .15), (cx, cy + r * .8))[1:]]
    a = math.radians(rng.uniform(-20, 20))
    turned = [[(140 + (x - 140) * math.cos(a) - (y - 140) * math.sin(a),
                140 + (x - 140) * math.sin(a) + (y - 140) * math.cos(a)) for x, y in s] for s in lines]
    return _strokes(turned, _pen(rng))


# Every scribble generator by name: seed → a drawing on a 280×280 canvas.
SCRIBBLES: dict[str, Callable[[int], StrokeSet]] = {
    "zigzag": scribble, "curve": curve, "coil": coil, "hatching": hatching, "dots": dots, "polygon": polygon,
    "shapes": shapes,
}

# Letters a digit can be written as: no detector may flag them without flagging that digit (O/0, l/1, S/5,
# Z/2, B/8, g/9, b/6, q/9, …). Measured apart, and never taught as "not a digit".
LOOKALIKES = "OoQDIlijJSsZzBbGgqTt"
LETTERS = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in LOOKALIKES)

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".local/share/fonts"))


@lru_cache(maxsize=1)
def available_fonts() -> tuple[Path, ...]:
    """The TrueType/OpenType fonts installed here (DejaVu on any Debian with a desktop), sorted by name."""
    found: set[Path] = set()
    for folder in FONT_DIRS:
        root = Path(folder)
        if root.is_dir():
            found.update(p for ext in ("*.ttf", "*.otf") for p in root.rglob(ext))
    return tuple(sorted(found, key=lambda p: p.name))


def font_family(path: Path) -> str:
    """A font file's family, so that a family (its bold and italic too) is held out whole."""
    try:
        return ImageFont.truetype(str(path), 12).getname()[0]
    except OSError:
        return path.stem


def render_glyph(font: Path, char: str, angle: float = 0.0, size: int = 170, weight: int = 0) -> Image.Image:
    """One character, black on white, as a scanned or photographed letter would reach `mnist_pixels`; weight
    thickens its outline by that many pixels (a felt pen rather than the font's own stroke)."""
    image = Image.new("L", (CANVAS, CANVAS), 255)
    ImageDraw.Draw(image).text((CANVAS / 2, CANVAS / 2), char, font=ImageFont.truetype(str(font), size), fill=0,
                               anchor="mm", stroke_width=weight, stroke_fill=0)
    return image.rotate(angle, fillcolor=255, resample=Image.Resampling.BILINEAR) if angle else image


def glyph_pixels(fonts, chars: str, angles=(0.0,), weights=(0,)) -> Iterator[tuple[str, str, np.ndarray]]:
    """(font family, character, 28×28 field) for every font, character, slant and weight that renders any ink."""
    for font in fonts:
        family = font_family(font)
        for char in chars:
            for angle, weight in ((a, w) for a in angles for w in weights):
                try:
                    pixels = mnist_pixels(render_glyph(font, char, angle, weight=weight))
                except OSError:  # a font that cannot be read here: skip the whole file
                    break
                if pixels is not None:
                    yield family, char, pixels
