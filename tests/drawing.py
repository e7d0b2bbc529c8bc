"""Scripted strokes for tests and benchmarks: digits as point lists in a 280×280 canvas."""

from __future__ import annotations

import math

import numpy as np


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


def transform(strokes, scale=1.0, dx=0.0, dy=0.0, angle_deg=0.0, centre=(140.0, 140.0)):
    """Scale, rotate and shift a drawing about the canvas centre."""
    a = math.radians(angle_deg)
    cx, cy = centre
    return [[(cx + scale * ((x - cx) * math.cos(a) - (y - cy) * math.sin(a)) + dx,
              cy + scale * ((x - cx) * math.sin(a) + (y - cy) * math.cos(a)) + dy) for x, y in s] for s in strokes]
