"""`digitpad linreg`: the course's warm-up, linear regression from scratch."""

from __future__ import annotations

import argparse
import json
import sys

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, bounded
from digitpad.core.names import LINREG_BOUNDS


def register(sub) -> None:
    lr_ = sub.add_parser("linreg", help="the course's warm-up: linear regression from scratch on synthetic data")
    for flag, key, default in (("--epochs", "epochs", 3), ("--lr", "lr", 0.03), ("--batch-size", "batch_size", 10),
                               ("--seed", "seed", 0)):
        bounds = LINREG_BOUNDS[key]
        lr_.add_argument(flag, type=bounded(key, LINREG_BOUNDS), default=default,
                         help=f"{bounds.describe()} (default {default})")
    lr_.add_argument("--json", action="store_true", help="one final JSON line: w, b, true_w, true_b, loss per epoch")
    lr_.set_defaults(run=cmd_linreg)


def cmd_linreg(args: argparse.Namespace) -> int:
    from digitpad.core.scratch import LinRegConfig, LinRegEpoch, linreg_divergence, train_linreg_scratch

    cfg = LinRegConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"digitpad linreg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    epochs = []
    for ev in train_linreg_scratch(cfg):
        problem = linreg_divergence(ev, cfg.lr)
        if problem is not None:  # the numbers are no longer numbers: say so, print none of them
            print(f"digitpad linreg: {problem}", file=sys.stderr)
            return EXIT_FAILED
        if isinstance(ev, LinRegEpoch):
            epochs.append(ev)
    last = epochs[-1]
    if args.json:
        print(json.dumps({"w": last.w, "b": last.b, "true_w": list(cfg.true_w), "true_b": cfg.true_b,
                          "loss": [ev.loss for ev in epochs]}, allow_nan=False))
        return 0
    for ev in epochs:
        print(f"epoch {ev.epoch}, loss {ev.loss:f}")
    w_err = ", ".join(f"{t - w:+.4f}" for t, w in zip(cfg.true_w, last.w))
    print(f"w = [{', '.join(f'{w:.4f}' for w in last.w)}] (true {list(cfg.true_w)}, error {w_err})")
    print(f"b = {last.b:.4f} (true {cfg.true_b}, error {cfg.true_b - last.b:+.4f})")
    return 0
