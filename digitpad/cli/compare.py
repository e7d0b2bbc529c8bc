"""`digitpad compare`: recorded runs' curves, drawn by the app's own charts offscreen."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from digitpad.cli.common import EXIT_USAGE, destination, save_or_rescue

# A figure for a slide or a page: a 4K screen is 3840×2160. Larger asks gigabytes of the renderer
# (30000×30000 took 4.3 GB and wrote nothing); below 200 px the legends do not fit.
MIN_SIDE, MAX_SIDE = 200, 4000


def figure_size(text: str) -> tuple[int, int]:
    """An argparse type: WIDTHxHEIGHT, each side from MIN_SIDE to MAX_SIDE pixels."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give WIDTHxHEIGHT, e.g. 960x640") from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be from {MIN_SIDE} to {MAX_SIDE} pixels")
    return width, height


def register(sub) -> None:
    c = sub.add_parser("compare", help="draw recorded runs' curves overlaid into one figure (PNG, SVG or CSV)")
    c.add_argument("runs", nargs="+", type=Path, metavar="RUN_OR_DIR", help="run records (.json) or folders of them")
    c.add_argument("--out", type=Path, required=True, help="the figure: .png, .svg, or .csv for the numbers")
    c.add_argument("--size", type=figure_size, default=(1600, 1000),
                   help=f"figure size in pixels, each side {MIN_SIDE} to {MAX_SIDE} (default 1600x1000, a slide)")
    c.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """The app's own charts, drawn offscreen: the figure on the slide is the one the app shows."""
    from digitpad.core.runs import load_runs

    if args.out.suffix.lower() not in (".png", ".svg", ".csv"):
        print(f"digitpad compare: {args.out}: the figure is written as .png, .svg or .csv", file=sys.stderr)
        return EXIT_USAGE
    records, errors = load_runs(args.runs)
    for error in errors:
        print(f"digitpad compare: skipped {error}", file=sys.stderr)
    if not records:
        print("digitpad compare: no run records found (digitpad train and the app record each run)", file=sys.stderr)
        return EXIT_USAGE
    inputs = [*args.runs, *(p for r in records for p in (r.json_path, r.csv_path))]
    dest = destination("compare", args.out, inputs=inputs)
    if dest is None:
        return EXIT_USAGE
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a figure, not a window: no display needed
    from digitpad.gui.training.runs_panel import render_comparison

    path, status = save_or_rescue(dest, lambda target: render_comparison(records, target, args.size),
                                  what="the figure")
    if status == 0:
        print(f"wrote {path} ({len(records)} run{'s' if len(records) > 1 else ''})")
    return status
