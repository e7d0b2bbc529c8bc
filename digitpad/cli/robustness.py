"""`digitpad robustness`: test accuracy against ε under FGSM or PGD (the robustness curve), with a progress bar."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from digitpad.cli.common import (EXIT_FAILED, EXIT_USAGE, add_data_args, bounded, load_data_or_exit,
                                 load_model_or_exit)
from digitpad.cli.fool import eps_value, steps


def eps_list(text: str) -> list[float]:
    """An argparse type: ε values separated by commas, each from 0 to 1."""
    values = [eps_value(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError("give at least one ε, e.g. 0,0.05,0.1")
    return values


def register(sub) -> None:
    r = sub.add_parser("robustness", help="test accuracy against ε under an attack (the robustness curve)")
    r.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    r.add_argument("--eps", type=eps_list, default=[0.0, 0.05, 0.1, 0.2, 0.3], metavar="E1,E2,…",
                   help="ε values in pixel units (default 0,0.05,0.1,0.2,0.3)")
    r.add_argument("--attack", choices=("fgsm", "pgd"), default="fgsm", help="default fgsm")
    r.add_argument("--steps", type=steps, default=20, help="PGD steps (default 20)")
    r.add_argument("--limit", type=bounded("test_limit"), default=1000, help="test images (default 1000)")
    r.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    add_data_args(r)
    r.set_defaults(run=cmd_robustness)


def cmd_robustness(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.attacks import CurveFinished, CurveProgress, robustness_curve

    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    data = load_data_or_exit("robustness", trained.meta.dataset, args)
    if data is None:
        return EXIT_FAILED
    test = data.test.head(args.limit)
    bar = tqdm(total=len(test) * len(args.eps), unit="image", leave=False, disable=None)
    curve = None
    for ev in robustness_curve(trained, test.images, test.labels, args.eps, (args.attack,), args.steps):
        if isinstance(ev, CurveProgress):
            bar.n = ev.done
            bar.set_postfix_str(f"{ev.attack} ε {ev.eps:g}", refresh=False)
            bar.refresh()
        elif isinstance(ev, CurveFinished):
            curve = ev.curve
    bar.close()
    accuracy = curve.accuracy[args.attack]
    if args.json:
        print(json.dumps({"model": trained.name, "attack": args.attack, "n": curve.n, "eps": curve.eps,
                          "accuracy": [round(a, 6) for a in accuracy]}))
        return 0
    steps_note = f", {args.steps} steps" if args.attack == "pgd" else ""
    print(f"{trained.name} under {args.attack.upper()}{steps_note}, {curve.n:,} test images:")
    print("       ε  accuracy")
    for eps, acc in zip(curve.eps, accuracy):
        print(f"  {eps:6.3f}  {acc:8.2%}")
    return 0
