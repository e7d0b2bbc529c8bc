"""`digitpad playground`: a small model trained on 2-D points, its accuracies, and its regions drawn for a slide."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from digitpad.core import names
from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, bounded, destination, save_or_rescue

PLAYGROUND = names.PLAYGROUND_BOUNDS


def hidden_sizes(text: str) -> tuple[int, ...]:
    """--hidden 8 or 8,8 or 16,16,16: 1 to 3 layers of 1 to 16 units."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give units per layer as whole numbers, e.g. 8 or 8,8") from None
    try:
        PLAYGROUND["layers"].check(len(sizes))
        for units in sizes:
            PLAYGROUND["units"].check(units)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: 1 to 3 hidden layers of 1 to 16 units each, e.g. 8 or 8,8") from None
    return sizes


def feature_list(text: str) -> tuple[str, ...]:
    """--features x1,x2,x1^2: distinct names out of x1, x2, x1^2, x2^2, x1x2."""
    chosen = tuple(part.strip() for part in text.split(","))
    if not all(chosen) or len(set(chosen)) != len(chosen) or not set(chosen) <= set(names.PLAYGROUND_FEATURES):
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct names out of {','.join(names.PLAYGROUND_FEATURES)}")
    return chosen


def register(sub) -> None:
    p = sub.add_parser("playground", help="train softmax regression or a small MLP on 2-D points; print its "
                                          "accuracies, and draw its decision regions with --out")
    p.add_argument("--data", required=True, choices=names.PLAYGROUND_DATA)
    p.add_argument("--classes", type=bounded("classes", PLAYGROUND), default=2,
                   help="classes for blobs and spiral (2-6); the others have 2")
    p.add_argument("--model", choices=names.PLAYGROUND_MODELS, default="mlp")
    p.add_argument("--hidden", type=hidden_sizes, default=(8,), metavar="8[,8]",
                   help="the MLP's hidden layers: 1-3 layers of 1-16 units (default 8)")
    p.add_argument("--activation", choices=names.PLAYGROUND_ACTIVATIONS, default="relu")
    p.add_argument("--features", type=feature_list, default=("x1", "x2"), metavar="x1,x2,x1^2,x2^2,x1x2",
                   help="the model's inputs (default x1,x2); x1^2,x2^2 let softmax regression draw circles")
    p.add_argument("--noise", type=bounded("noise", PLAYGROUND), default=0.05,
                   help="standard deviation added to each coordinate (default 0.05)")
    p.add_argument("--points", type=bounded("points", PLAYGROUND), default=200, help="points in all (default 200)")
    p.add_argument("--test-share", type=bounded("test_share", PLAYGROUND), default=0.5,
                   help="share of the points held out for testing (default 0.5)")
    p.add_argument("--steps", type=bounded("steps", PLAYGROUND), default=1000, help="mini-batch steps (default 1000)")
    p.add_argument("--optimizer", choices=names.OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=bounded("lr"), default=0.03, help="learning rate (default 0.03)")
    p.add_argument("--batch-size", type=bounded("batch_size", PLAYGROUND), default=16)
    p.add_argument("--weight-decay", type=bounded("weight_decay"), default=0.0, help="L2 weight decay (default 0)")
    p.add_argument("--seed", type=bounded("seed"), default=0, help="the points, the initial weights, the batches")
    p.add_argument("--out", type=Path, help="write the decision regions as a PNG figure (900x900 and up)")
    p.add_argument("--json", action="store_true", help="print one JSON line: data, model, accuracies, steps")
    p.set_defaults(run=cmd_playground)


def _config(args: argparse.Namespace):
    from digitpad.core.playground import DataSpec, NetSpec, PlaygroundConfig

    data = DataSpec(args.data, args.classes, args.points, args.noise, args.test_share, args.seed)
    net = NetSpec(args.model, args.hidden, args.activation, args.features)
    cfg = PlaygroundConfig(data, net, args.optimizer, args.lr, weight_decay=args.weight_decay,
                           batch_size=args.batch_size, seed=args.seed)
    cfg.validate()
    return cfg


def _percent(value: float) -> str:
    return "n/a (no points)" if math.isnan(value) else f"{value:.1%}"


def _figure_title(cfg, frame) -> str:
    return (f"{cfg.data.kind} · {cfg.net.describe()} · step {frame.step:,} · "
            f"train {_percent(frame.train_accuracy)} · test {_percent(frame.test_accuracy)}")


def cmd_playground(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.events import Failed
    from digitpad.core.playground import Playground, make_points

    try:
        cfg = _config(args)
    except ValueError as exc:
        print(f"digitpad playground: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.out is not None:
        if args.out.suffix.lower() != ".png":
            print(f"digitpad playground: --out {args.out}: the figure is written as .png", file=sys.stderr)
            return EXIT_USAGE
        dest = destination("playground", args.out)
        if dest is None:
            return EXIT_USAGE
    points = make_points(cfg.data)
    playground = Playground(cfg, points)
    frame = None
    with tqdm(total=args.steps, unit="step", leave=False, disable=None) as bar:
        for event in playground.run(args.steps, frame_s=0.2):
            if isinstance(event, Failed):
                print(f"digitpad playground: {event.message}", file=sys.stderr)
                return EXIT_FAILED
            frame = event
            bar.n = frame.step
            bar.refresh()
    if args.out is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a figure, not a window: no display needed
        from digitpad.gui.lessons.playground import render_boundary

        path, status = save_or_rescue(dest, lambda target: render_boundary(frame, points, _figure_title(cfg, frame),
                                                                           target), what="the figure")
        if status:
            return status
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps({"data": cfg.data.kind, "model": cfg.net.kind, "train_accuracy": _number(frame.train_accuracy),
                          "test_accuracy": _number(frame.test_accuracy), "steps": frame.step}))
    else:
        print(f"{cfg.data.kind} · {cfg.net.describe()} · {frame.step:,} steps: train accuracy "
              f"{_percent(frame.train_accuracy)}, test accuracy {_percent(frame.test_accuracy)}")
    return 0


def _number(value: float) -> float | None:
    """JSON has no NaN: an accuracy with no points to measure it on is null."""
    return None if math.isnan(value) else value
