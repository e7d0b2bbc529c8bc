"""`digitpad compare`: recorded runs' curves, drawn by the app's own charts offscreen."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE


def register(sub) -> None:
    c = sub.add_parser("compare", help="draw recorded runs' curves overlaid into one figure (PNG, SVG or CSV)")
    c.add_argument("runs", nargs="+", type=Path, metavar="RUN_OR_DIR", help="run records (.json) or folders of them")
    c.add_argument("--out", type=Path, required=True, help="the figure: .png, .svg, or .csv for the numbers")
    c.add_argument("--size", default="1600x1000", help="figure size in pixels (default 1600x1000, a slide)")
    c.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """The app's own charts, drawn offscreen: the figure on the slide is the one the app shows."""
    from digitpad.core.runs import load_runs

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"digitpad compare: --size {args.size!r}: give WIDTHxHEIGHT, e.g. 1600x1000", file=sys.stderr)
        return EXIT_USAGE
    if args.out.suffix.lower() not in (".png", ".svg", ".csv"):
        print(f"digitpad compare: {args.out}: the figure is written as .png, .svg or .csv", file=sys.stderr)
        return EXIT_USAGE
    records, errors = load_runs(args.runs)
    for error in errors:
        print(f"digitpad compare: skipped {error}", file=sys.stderr)
    if not records:
        print("digitpad compare: no run records found (digitpad train and the app record each run)", file=sys.stderr)
        return EXIT_USAGE
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a figure, not a window: no display needed
    from digitpad.gui.training.runs_panel import render_comparison

    try:
        path = render_comparison(records, args.out, (max(width, 200), max(height, 200)))
    except OSError as exc:
        print(f"digitpad compare: cannot write {args.out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path} ({len(records)} run{'s' if len(records) > 1 else ''})")
    return 0
