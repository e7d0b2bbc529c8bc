"""`digitpad map`: a model's map of the digits — its last layer's view of the test images in 2-D — as a figure."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from digitpad.core import names
from digitpad.cli.common import (EXIT_FAILED, EXIT_USAGE, add_data_args, bounded, destination, load_data_or_exit,
                                 load_model_or_exit, model_path, save_or_rescue)


def register(sub) -> None:
    m = sub.add_parser("map", help="project a model's penultimate-layer features of test images to 2-D (PCA); "
                                   "print how separated the classes are and draw the map with --out")
    m.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    m.add_argument("--dataset", choices=names.DATASETS, help="test images of this data set (default: the model's)")
    m.add_argument("--points", type=bounded("points", names.MAP_BOUNDS), default=5000, help="test images on the map, 100-10000 (default 5000)")
    m.add_argument("--method", choices=names.MAP_METHODS, default="pca",
                   help="pca: the two principal components (t-SNE was measured too slow here: docs/BENCHMARKS.md)")
    m.add_argument("--out", type=Path, help="write the map as a PNG figure (1000x1000)")
    m.add_argument("--json", action="store_true", help="print one JSON line: method, points, knn_accuracy")
    add_data_args(m)
    m.set_defaults(run=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    from digitpad.core.projection import build_map

    if args.out is not None:
        if args.out.suffix.lower() != ".png":
            print(f"digitpad map: --out {args.out}: the figure is written as .png", file=sys.stderr)
            return EXIT_USAGE
        dest = destination("map", args.out, inputs=[model_path(args.model)])
        if dest is None:
            return EXIT_USAGE
    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    dataset = args.dataset or trained.meta.dataset
    data = load_data_or_exit("map", dataset, args)
    if data is None:
        return EXIT_FAILED
    digit_map = build_map(trained, data.test, args.points, args.method)
    n = len(digit_map.labels)
    if args.out is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a figure, not a window: no display needed
        from digitpad.gui.map.panel import features_title, render_map

        wrong = int((digit_map.predictions != digit_map.labels).sum())
        title = (f"{trained.name} on {data.info.title}: PCA of {features_title(trained)} · {n:,} test images, "
                 f"{wrong:,} misclassified · 5-NN accuracy in 2-D {digit_map.knn_accuracy:.1%}")
        path, status = save_or_rescue(dest, lambda target: render_map(digit_map, data.info.class_names, title, target),
                                      what="the figure")
        if status:
            return status
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps({"method": digit_map.method, "points": n, "knn_accuracy": digit_map.knn_accuracy}))
    else:
        print(f"{trained.name} · {data.info.title} · {digit_map.method.upper()} of {n:,} test images: "
              f"5-NN accuracy in 2-D {digit_map.knn_accuracy:.2%} ({digit_map.seconds:.1f} s)")
    return 0
