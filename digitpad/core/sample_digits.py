"""Scripted drawings of digits in a 280×280 canvas: for the tests, the drawn-digit benchmark and the screenshots,
and the shapes MNIST's writers rarely made that the shipped CNN also trains on (`with_drawn`).

They are drawn the way people draw (a closed loop for 0, a bar for 1, two strokes for 4), then
scaled, shifted, rotated and given other pen widths: what MNIST test accuracy does not measure."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image, ImageFilter

if TYPE_CHECKING:
    from digitpad.core.strokes import StrokeSet


def polyline(*pts, steps: int = 12) -> list[tuple[float, float]]:
    """Points along straight segments, like a mouse reports them."""
    out = [pts[0]]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        out += [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(1, steps + 1)]
    return out


def arc(cx, cy, rx, ry, start_deg, end_deg, steps: int = 40) -> list[tuple[float, float]]:
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start_deg, end_deg, steps)]


def digit_strokes(digit: int) -> list[list[tuple[float, float]]]:
    """A plain way to draw each digit on a 280×280 canvas (y grows downwards)."""
    shapes = {
        0: [arc(140, 140, 65, 95, 0, 360)],
        1: [polyline((150, 45), (150, 235))],
        2: [arc(140, 100, 60, 55, 200, 380) + polyline((195, 120), (85, 235), (205, 235))[1:]],
        3: [arc(135, 95, 55, 48, 210, 450) + arc(135, 185, 62, 50, 270, 510)[1:]],
        4: [polyline((170, 45), (80, 175), (210, 175)), polyline((170, 45), (170, 240))],
        5: [polyline((195, 50), (100, 50), (92, 130)) + arc(138, 175, 62, 58, 235, 500)[1:]],
        6: [arc(150, 120, 65, 90, 250, 180) + arc(140, 185, 55, 52, 180, 540)[1:]],
        7: [polyline((80, 55), (205, 55), (120, 240))],
        8: [arc(140, 95, 50, 45, 90, 450), arc(140, 185, 60, 52, -90, 270)],
        9: [arc(140, 95, 55, 50, 0, 360), polyline((195, 95), (185, 240))],
    }
    return shapes[digit]


# Other ways people draw some digits: a flag and a base on the 1, an open 4, a crossed 7, a hooked 9.
VARIANTS: dict[int, list[list[list[tuple[float, float]]]]] = {
    1: [[polyline((112, 85), (150, 45), (150, 235))],
        [polyline((115, 80), (150, 45), (150, 235)), polyline((105, 236), (195, 236))]],
    4: [[polyline((95, 45), (85, 165), (205, 165)), polyline((175, 60), (175, 240))]],
    7: [[polyline((80, 55), (205, 55), (120, 240)), polyline((115, 150), (190, 150))]],
    9: [[arc(140, 95, 55, 50, 0, 360), arc(110, 95, 85, 140, 0, 80)]],
    2: [[polyline((85, 95), (120, 50), (175, 50), (195, 95), (90, 235), (210, 230))]],
}


def shapes(digit: int) -> list[list[list[tuple[float, float]]]]:
    return [digit_strokes(digit)] + VARIANTS.get(digit, [])


def drawn_digit_set():
    """(label, StrokeSet, style) for every digit, shape, size/position, slant and pen width: ~700 drawings."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points

    placements = [(1.0, 0, 0), (0.6, -50, -40), (0.35, 70, 60), (0.5, 60, -60), (0.8, 10, 20)]
    for digit in range(10):
        for k, strokes in enumerate(shapes(digit)):
            for scale, dx, dy in placements:
                for angle in (-15, 0, 15):
                    for pen in (8, 18, 30):
                        moved = transform(strokes, scale=scale, dx=dx, dy=dy, angle_deg=angle)
                        yield digit, StrokeSet(280, 280, pen * max(scale, 0.5), [Stroke(as_points(s)) for s in moved]), \
                            f"shape {k}, scale {scale}, angle {angle}, pen {pen}"


SHAPE_HEIGHT = 195  # the plain shapes span y 45–240 of the 280-px canvas


def small_thick_digit_set():
    """(label, StrokeSet, style): every shape drawn small (15–30 % of the canvas' height), anywhere on
    it, with the brushes people leave on (14–24 of 280, not scaled down with the digit): ~580 drawings.

    At these sizes the stroke is a fifth to a half of the digit's height where MNIST's is about a
    tenth; the network's answer must not depend on that."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points

    positions = [(-80, -80), (80, 80), (-80, 80), (80, -80), (0, 0), (0, 90)]
    k = 0
    for digit in range(10):
        for shape_no, strokes in enumerate(shapes(digit)):
            for fraction in (0.15, 0.2, 0.25, 0.3):
                for angle in (-10, 0, 10):
                    for pen in (14, 18, 24):
                        dx, dy = positions[k % len(positions)]
                        k += 1
                        moved = transform(strokes, scale=fraction * 280 / SHAPE_HEIGHT, dx=dx, dy=dy,
                                          angle_deg=angle)
                        yield digit, StrokeSet(280, 280, pen, [Stroke(as_points(s)) for s in moved]), \
                            f"shape {shape_no}, {fraction:.0%} of the canvas, angle {angle}, pen {pen}"


# The shapes that a pen of fixed width treats worst: a small loop can close into a blob (6, 8, 9) and a
# flag or a foot on a 1 makes it look like a 7. Loop sizes are the loop's height over the digit's.
LOOP_SIZES = (0.1, 0.15, 0.2, 0.25, 0.3, 0.38, 0.45)
EIGHT_TOP_LOOPS = (0.3, 0.38, 0.45)  # an 8's top loop; smaller, it reads as a 0 with a knob to people too
FLAG_SIZES = (0.15, 0.25, 0.35)  # a 1's flag or a 7's tick
# The sizes the digit models train on (`loop_and_serif_training_set`): none of them is measured.
TRAINING_LOOP_SIZES = (0.08, 0.12, 0.17, 0.22, 0.28, 0.34, 0.41)
TRAINING_EIGHT_TOP_LOOPS = (0.27, 0.33, 0.42)
TRAINING_FLAG_SIZES = (0.12, 0.2, 0.3, 0.4)


def _curve_to(p0, control, p1, steps: int = 30) -> list[tuple[float, float]]:
    """A quadratic Bézier from p0 to p1: the sweep of a pen between two points."""
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * control[0] + t * t * p1[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * control[1] + t * t * p1[1]) for t in np.linspace(0, 1, steps)]


def small_loop_strokes(digit: int, loop: float, overshoot: float = 0.0) -> list[list[tuple[float, float]]]:
    """A 6 or 9 whose loop is `loop` of the digit's height, or an 8 whose top loop is; the pen runs
    `overshoot` degrees past where the loop closes, as a hand does."""
    r = loop * SHAPE_HEIGHT / 2
    if digit == 6:
        cx, cy = 135, 240 - r
        stem = _curve_to((185, 45), (cx - r - 25, 90), (cx - 1.1 * r, cy))
        return [stem + arc(cx, cy, 1.1 * r, r, 180, 540 + overshoot)[1:]]
    if digit == 9:
        cx, cy = 130, 45 + r
        return [arc(cx, cy, 1.1 * r, r, 0, -360 - overshoot),
                _curve_to((cx + 1.1 * r, cy), (cx + 1.1 * r + 5, 150), (cx + 0.5 * r, 240))]
    if digit == 8:
        below = (SHAPE_HEIGHT - 2 * r) / 2
        return [arc(140, 45 + r, 1.1 * r, r, 90, 450 + overshoot), arc(140, 240 - below, 1.15 * below, below, -90, 270)]
    raise ValueError(f"no small-loop shape for {digit}")


def serif_strokes(digit: int, flag: float, foot: bool) -> list[list[tuple[float, float]]]:
    """A 1 with a flag `flag` of the digit's height (pointing down-left at 40°) and maybe a foot, or a 7
    whose top bar starts with a downward tick of that length, with a crossbar when `foot`."""
    length = flag * SHAPE_HEIGHT
    if digit == 1:
        strokes = [polyline((150 - length * 0.77, 45 + length * 0.64), (150, 45), (150, 240))]
        return strokes + ([polyline((150 - length * 0.8 - 10, 240), (150 + length * 0.8 + 10, 240))] if foot else [])
    if digit == 7:
        strokes = [polyline((80, 55 + length), (80, 55), (205, 55), (120, 240))]
        return strokes + ([polyline((115, 150), (190, 150))] if foot else [])
    raise ValueError(f"no serif shape for {digit}")


def hand_path(stroke: list[tuple[float, float]], rng: np.random.Generator, size: float) -> list[tuple[float, float]]:
    """The path as a hand and a mouse lay it down: points at uneven spacing along it (1.5-4 % of the
    digit's size) and a slow wobble of about 1 % of it."""
    pts = np.asarray(stroke, dtype=float)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    if along[-1] == 0:
        return stroke
    gaps = rng.uniform(0.015, 0.04, size=int(along[-1] / (0.015 * size)) + 2) * size
    at = np.clip(np.concatenate([[0.0], np.cumsum(gaps)]), 0, along[-1])
    at = np.append(at[at < along[-1]], along[-1])
    x, y = np.interp(at, along, pts[:, 0]), np.interp(at, along, pts[:, 1])
    phase, wave = rng.uniform(0, 2 * math.pi, 2), rng.uniform(0.5, 1.5, 2) * size
    x += 0.01 * size * np.sin(2 * math.pi * at / wave[0] + phase[0])
    y += 0.01 * size * np.sin(2 * math.pi * at / wave[1] + phase[1])
    return list(zip(x.tolist(), y.tolist()))


def laid_down(strokes, rng: np.random.Generator, pen: float, scale: float, **placement) -> StrokeSet:
    """A StrokeSet of `strokes` scaled and placed (`transform`), each laid down by a hand (`hand_path`)."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points

    moved = transform(strokes, scale=scale, **placement)
    return StrokeSet(280, 280, pen, [Stroke(as_points(hand_path(s, rng, scale * SHAPE_HEIGHT))) for s in moved])


class HardShape(NamedTuple):
    """A digit's shape that a fixed pen treats worst (`loop_and_serif_shapes`)."""

    digit: int
    name: str  # as the benchmark lists it: "loop 0.15", "flag 0.25, foot", …
    size: float  # the loop's height, or the flag's or tick's length, over the digit's height
    extra: bool  # a 1's foot or a 7's bar
    strokes: list[list[tuple[float, float]]]


def loop_and_serif_shapes(loops=LOOP_SIZES, top_loops=EIGHT_TOP_LOOPS, flags=FLAG_SIZES) -> list[HardShape]:
    """Small-loop 6s, 9s and 8s, and 1s and 7s with flags, ticks, feet and bars, of these sizes."""
    out = [HardShape(d, f"loop {loop:.2f}", loop, False, small_loop_strokes(d, loop, overshoot=25))
           for d in (6, 9) for loop in loops]
    out += [HardShape(8, f"top loop {loop:.2f}", loop, False, small_loop_strokes(8, loop, overshoot=25))
            for loop in top_loops]
    out += [HardShape(d, f"{'flag' if d == 1 else 'tick'} {flag:.2f}" + (f", {'foot' if d == 1 else 'bar'}" if extra else ""),
                      flag, extra, serif_strokes(d, flag, extra))
            for d in (1, 7) for flag in flags for extra in (False, True)]
    return out


def loop_and_serif_set(seeds: int = 2):
    """(HardShape, StrokeSet, placement): every shape of `loop_and_serif_shapes`, laid down by a hand
    (`hand_path`), drawn large with a thin and a thick brush and small (a fifth of the canvas) with brushes
    left on, at three slants: 696 drawings. The placement starts with "large" or "small"."""
    placements = [(1.0, 0, 0, 8), (0.8, 10, 20, 30), (0.2 * 280 / SHAPE_HEIGHT, -80, 70, 14),
                  (0.2 * 280 / SHAPE_HEIGHT, 80, -60, 24)]
    for shape_no, shape in enumerate(loop_and_serif_shapes()):
        for seed in range(seeds):
            for scale, dx, dy, pen in placements:
                for angle in (-10, 0, 10):
                    rng = np.random.default_rng([shape_no, seed, pen, angle + 90])
                    yield shape, laid_down(shape.strokes, rng, pen, scale, dx=dx, dy=dy, angle_deg=angle), \
                        f"{'small' if scale < 0.5 else 'large'}, angle {angle}, pen {pen}"


def loop_and_serif_training_set(per_shape: int = 40):
    """(digit, StrokeSet): the shapes of `loop_and_serif_shapes` at the TRAINING_ sizes, which the benchmark's
    set leaves out, each laid down by `per_shape` other hands at a random size and slant (±14°): 1,320
    drawings. What the shipped CNN learns these shapes from (`datasets.drawn_split`)."""
    shapes = loop_and_serif_shapes(TRAINING_LOOP_SIZES, TRAINING_EIGHT_TOP_LOOPS, TRAINING_FLAG_SIZES)
    for shape_no, shape in enumerate(shapes):
        for hand in range(per_shape):
            rng = np.random.default_rng([1000 + shape_no, hand])  # the benchmark's hands are [shape_no, 0-1, …]
            yield shape.digit, laid_down(shape.strokes, rng, 16, rng.uniform(0.3, 1.0), angle_deg=rng.uniform(-14, 14))


def transform(strokes, scale=1.0, dx=0.0, dy=0.0, angle_deg=0.0, centre=(140.0, 140.0)):
    """Scale, rotate and shift a drawing about the canvas centre."""
    a = math.radians(angle_deg)
    cx, cy = centre
    return [[(cx + scale * ((x - cx) * math.cos(a) - (y - cy) * math.sin(a)) + dx,
              cy + scale * ((x - cx) * math.sin(a) + (y - cy) * math.cos(a)) + dy) for x, y in s] for s in strokes]


def photo_like(digit: int, size=(640, 480), seed: int = 0) -> Image.Image:
    """A hand-drawn digit as a phone photo of paper might look: grey-white uneven paper, grey ink,
    blur, noise, the digit off-centre and not filling the frame."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points, rasterize_strokes

    rng = np.random.default_rng(seed)
    strokes = StrokeSet(280, 280, 16, [Stroke(as_points(s)) for s in transform(digit_strokes(digit), angle_deg=6)])
    ink = Image.fromarray(rasterize_strokes(strokes)).resize((300, 300), Image.Resampling.BILINEAR)
    canvas = Image.new("L", size, 0)
    canvas.paste(ink, (size[0] - 360, 60))
    ink_arr = np.asarray(canvas.filter(ImageFilter.GaussianBlur(2)), dtype=np.float64) / 255
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    paper = 200 + 30 * (xx / size[0]) - 20 * (yy / size[1])  # uneven lighting
    pixels = paper * (1 - 0.7 * ink_arr) + rng.normal(0, 5, ink_arr.shape)
    grey = np.clip(pixels, 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([grey, grey, (grey * 0.95).astype(np.uint8)], axis=-1), "RGB")


# Mirror writing, as many children write for a while: the digits whose mirror image is no digit
# (or another one) are misread by a model trained on MNIST. The personal-set tests and the
# fine-tuning benchmark teach a model this style.
MIRRORED_DIGITS = (2, 3, 5, 6, 7, 9)


def mirrored_strokes(digit: int) -> list[list[tuple[float, float]]]:
    return [[(280.0 - x, y) for x, y in s] for s in digit_strokes(digit)]


def mirror_writing_set(per_digit: int, seed: int = 0):
    """(label, StrokeSet) drawings of the mirrored digits, each a little different in size, slant,
    position and pen: one person's unusual handwriting."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points

    rng = np.random.default_rng(seed)
    for _ in range(per_digit):
        for digit in MIRRORED_DIGITS:
            moved = transform(mirrored_strokes(digit), scale=rng.uniform(0.55, 1.0), dx=rng.uniform(-30, 30),
                              dy=rng.uniform(-30, 30), angle_deg=rng.uniform(-12, 12))
            yield digit, StrokeSet(280, 280, float(rng.uniform(10, 26)), [Stroke(as_points(s)) for s in moved])


def scribble(seed: int):
    """A StrokeSet that is no digit: 1-3 random zig-zags anywhere on the canvas, for the "not sure" tests
    and the threshold measurement (bench/unsure_threshold.py)."""
    from digitpad.core.strokes import Stroke, StrokeSet, as_points

    rng = np.random.default_rng(seed)
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        corners = rng.uniform(30, 250, size=(int(rng.integers(3, 9)), 2))
        strokes.append(Stroke(as_points(polyline(*map(tuple, corners), steps=6))))
    return StrokeSet(280, 280, float(rng.choice([8, 14, 20])), strokes)
