"""Drawings as vectors: the stroke file format (what the canvas keeps, My digits saves and `predict --strokes`
reads) and the rasterizer that paints strokes as ink. Turning a drawing into the network's 28×28 input,
with the network's own pen, is `preprocess.py`'s job.

Every limit is by design: a stroke file, its points and the pixels its pen may paint are bounded, so a
hostile or huge file costs a bounded amount of memory and time.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from digitpad.core.files import file_problem, read_regular

MAX_CANVAS = 10_000
MIN_RASTER_SIDE = 28  # the network's field: a drawing is never rasterized smaller than this
# Stroke files: what a drawing can need, with room to spare, so that memory is bounded by design.
MAX_STROKE_FILE_BYTES = 4 * 1024 * 1024  # a long drawing is ~100 kB; /dev/zero stops here
MAX_STROKE_POINTS = 100_000
MAX_RASTER_SIDE = 1024  # strokes on a larger canvas are drawn scaled down to this (the field is 28 px)
# Each point paints a disc as wide as the pen: 100,000 points with a canvas-wide pen would paint for
# ~40 s. A long drawing with the widest brush paints ~1e7 pixels; past this budget the raster shrinks.
RASTER_WORK = 50_000_000


class StrokeError(ValueError):
    """Stroke data that cannot describe a drawing (bad canvas size or pen width, wrong shape)."""


@dataclass
class Stroke:
    """A polyline; each point may carry a width factor (pen pressure × brush size / pen width)."""

    points: list[tuple[float, float, float]]
    erase: bool = False


@dataclass
class StrokeSet:
    """A drawing as vectors, in canvas pixels: what the canvas keeps and `predict --strokes` reads."""

    width: int
    height: int
    pen_width: float
    strokes: list[Stroke] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> "StrokeSet":
        """Parse the stroke JSON format strictly: numbers must be JSON numbers (not booleans or strings),
        `erase` a JSON boolean. Points that are not finite (NaN, Infinity, beyond a float) are dropped;
        anything else outside the format is a StrokeError."""
        if not isinstance(data, dict):
            raise StrokeError("stroke file must hold a JSON object with width, height, pen_width, strokes")
        missing = [k for k in ("width", "height", "pen_width", "strokes") if k not in data]
        if missing:
            raise StrokeError(f"stroke file needs numeric width, height, pen_width and a strokes list "
                              f"(missing {', '.join(missing)})")
        width, height = _canvas_side("width", data["width"]), _canvas_side("height", data["height"])
        pen = _json_number(data["pen_width"], "pen_width")
        if not (math.isfinite(pen) and 0 < pen <= max(width, height)):
            raise StrokeError(f"pen_width {pen} must be a positive number no larger than the canvas")
        raw_strokes = data["strokes"]
        if not isinstance(raw_strokes, list):
            raise StrokeError("'strokes' must be a list of point lists")
        strokes = [_parse_stroke(s) for s in raw_strokes]
        if sum(len(s.points) for s in strokes) > MAX_STROKE_POINTS:
            raise StrokeError(f"more than {MAX_STROKE_POINTS:,} points: not a drawing this format describes")
        return cls(width, height, pen, strokes)

    def scaled(self, factor: float) -> "StrokeSet":
        """The same drawing on a canvas `factor` times the size (pen and coordinates scale; factors do not)."""
        return replace(self, width=max(1, round(self.width * factor)), height=max(1, round(self.height * factor)),
                       pen_width=self.pen_width * factor,
                       strokes=[Stroke([(x * factor, y * factor, f) for x, y, f in s.points], s.erase)
                                for s in self.strokes])

    def to_json(self) -> dict:
        def stroke_json(s: Stroke) -> Any:
            pts = [[x, y, w] if w != 1.0 else [x, y] for x, y, w in s.points]
            return {"points": pts, "erase": True} if s.erase else pts
        return {"width": self.width, "height": self.height, "pen_width": self.pen_width,
                "strokes": [stroke_json(s) for s in self.strokes]}


def _json_number(value: Any, what: str) -> float:
    """A JSON number as a float; an integer too large for a float becomes infinity (dropped or refused
    by the caller), and booleans or strings are refused, naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StrokeError(f"{what} must be a number, got {value!r:.80}")
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _canvas_side(name: str, value: Any) -> int:
    side = _json_number(value, name)
    if not (math.isfinite(side) and side == int(side)):
        raise StrokeError(f"{name} must be a whole number of pixels, got {value!r:.80}")
    if not 1 <= side <= MAX_CANVAS:
        raise StrokeError(f"canvas {name} {side:g} is outside 1…{MAX_CANVAS} pixels")
    return int(side)


def _parse_point(p: Any) -> tuple[float, float, float] | None:
    if not isinstance(p, (list, tuple)) or len(p) not in (2, 3):  # tuples: Python callers; JSON gives lists
        raise StrokeError(f"a point must be [x, y] or [x, y, width_factor], got {p!r:.200}")
    vals = [_json_number(v, "a point's coordinate") for v in p] + ([1.0] if len(p) == 2 else [])
    if not all(math.isfinite(v) for v in vals) or vals[2] <= 0:
        return None
    return vals[0], vals[1], vals[2]


def _parse_stroke(raw: Any) -> Stroke:
    erase = False
    if isinstance(raw, dict):
        erase = raw.get("erase", False)
        if not isinstance(erase, bool):
            raise StrokeError(f"\"erase\" must be true or false, got {erase!r:.80}")
        if "points" not in raw:
            raise StrokeError("a stroke object needs \"points\"")
        raw = raw["points"]
    if not isinstance(raw, list):
        raise StrokeError("each stroke must be a list of points or {\"points\": [...], \"erase\": bool}")
    points = [pt for pt in (_parse_point(p) for p in raw) if pt is not None]
    return Stroke(points, erase)


def read_stroke_json(path: str | os.PathLike) -> Any:
    """The JSON document in a stroke file, read within the format's bounds; every failure is a StrokeError
    naming the file. Only a regular file is opened (a FIFO would block, /dev/zero never end); at most
    MAX_STROKE_FILE_BYTES are read; a UTF-8 byte-order mark is allowed (editors on Windows write one);
    nesting that would exhaust the parser's recursion and numbers Python will not parse are errors too.
    """
    path = Path(path)
    try:
        raw = read_regular(path, MAX_STROKE_FILE_BYTES, "a stroke file")
    except OSError as exc:
        raise StrokeError(f"{path}: cannot read it ({file_problem(exc)})") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints longer than Python parses
        raise StrokeError(f"{path}: not a readable stroke JSON file ({str(exc)[:200]})") from None
    except RecursionError:
        raise StrokeError(f"{path}: not a readable stroke JSON file (nested too deeply)") from None


def read_stroke_file(path: str | os.PathLike) -> StrokeSet:
    """Read one stroke file (`read_stroke_json`) and parse it strictly; every failure names the file."""
    data = read_stroke_json(path)
    try:
        return StrokeSet.from_json(data)
    except StrokeError as exc:
        raise StrokeError(f"{path}: {exc}") from None
    except RecursionError:  # a point nested hundreds deep, shown in the message
        raise StrokeError(f"{path}: not a stroke file (a point is nested too deeply)") from None


def rasterize_strokes(strokes: StrokeSet) -> np.ndarray:
    """Draw the strokes as white ink on black (H×W uint8) with round caps and joins.

    Coordinates far outside the canvas are clamped so nothing overflows; eraser strokes paint black.
    """
    w, h, pen = strokes.width, strokes.height, strokes.pen_width
    image = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(image)
    limit = 2 * max(w, h)

    def clamp(v: float) -> float:
        return min(max(v, -limit), limit)

    for stroke in strokes.strokes:
        colour = 0 if stroke.erase else 255
        pts = [(clamp(x), clamp(y), min(f * pen, limit)) for x, y, f in stroke.points]
        for (x0, y0, w0), (x1, y1, w1) in zip(pts, pts[1:]):
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=max(1, round((w0 + w1) / 2)))
        for x, y, pw in pts:
            r = pw / 2
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return np.asarray(image)


def bounded_raster(strokes: StrokeSet) -> np.ndarray:
    """Rasterize, scaled down first where `raster_factor` says the drawing would cost too much."""
    factor = raster_factor(strokes)
    return rasterize_strokes(strokes.scaled(factor) if factor < 1.0 else strokes)


def raster_factor(strokes: StrokeSet) -> float:
    """How much to shrink a drawing before rasterizing it, so that memory and time stay bounded:
    to MAX_RASTER_SIDE, and further when its points and pen would paint more than RASTER_WORK pixels."""
    side = max(strokes.width, strokes.height)
    widest = max((f for s in strokes.strokes for _, _, f in s.points), default=1.0)
    pen = min(strokes.pen_width * widest, 2 * side)
    points = sum(len(s.points) for s in strokes.strokes)
    factor = min(1.0, MAX_RASTER_SIDE / side)
    work = points * (pen * factor) ** 2
    if work > RASTER_WORK:
        factor *= math.sqrt(RASTER_WORK / work)
    return max(factor, min(1.0, MIN_RASTER_SIDE / side))


def as_points(seq: Sequence[Sequence[float]]) -> list[tuple[float, float, float]]:
    """Build stroke points from [x, y] pairs (tests and scripted drawings)."""
    return [(float(p[0]), float(p[1]), float(p[2]) if len(p) > 2 else 1.0) for p in seq]
