"""`digitpad eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitpad.core import names
from digitpad.cli.common import (EXIT_FAILED, EXIT_USAGE, add_data_args, bounded, load_data_or_exit,
                                 load_model_or_exit)


def register(sub) -> None:
    e = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix on a test set")
    e.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    e.add_argument("--dataset", choices=names.DATASETS, help="default: the checkpoint's own")
    e.add_argument("--limit", type=bounded("test_limit"), help="only the first N test images")
    e.add_argument("--samples", type=Path, metavar="DIR", help="evaluate on a folder of drawings in the "
                   "ImageFolder layout (DIR/<digit>/<name>.json or .png: My digits, one writer of a class set) "
                   "instead of a test set")
    e.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    add_data_args(e)
    e.set_defaults(run=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from digitpad.core.evaluation import build_report, predict_all
    from digitpad.core.trainer import split_on_device

    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    name = args.dataset or trained.meta.dataset
    data = load_data_or_exit("eval", name, args)
    if data is None:
        return EXIT_FAILED
    if args.samples is not None:
        test = _folder_split(args.samples)
        if test is None:
            return EXIT_FAILED
        name = str(args.samples)
    else:
        test = data.test.head(args.limit)
    pixels, labels = split_on_device(test, torch.device("cpu"))
    preds, confs = predict_all(trained.model, pixels, trained.meta.mean, trained.meta.std)
    broken = int((~torch.isfinite(confs)).sum())
    if broken:
        print(f"digitpad eval: {trained.name}: the model's output is not finite (NaN or infinity) on {broken:,} "
              "of the test images, so it has no accuracy to report; its weights are broken", file=sys.stderr)
        return EXIT_FAILED
    report = build_report(labels, preds, confs)
    if args.json:
        print(json.dumps({"model": trained.name, "dataset": name, **report.as_json()}))
        return 0
    names = data.info.class_names
    where = f"{args.samples}" if args.samples is not None else f"{data.info.title} test set"
    print(f"{trained.name} on {where} ({report.n:,} images): accuracy {report.accuracy:.2%}")
    print("per-class accuracy:")
    for cls, acc in zip(names, report.per_class_accuracy):
        print(f"  {cls:>12}  {acc:.2%}")
    print("confusion matrix (rows: true, columns: predicted):")
    print("     " + "".join(f"{i:>6}" for i in range(10)))
    for i, row in enumerate(report.confusion):
        print(f"  {i:>2} " + "".join(f"{v:>6}" for v in row))
    return 0


def _folder_split(folder: Path):
    """The drawings of a folder as a test split (the same uint8 28×28 fields), or None after saying why."""
    from digitpad.core.datasets import Split
    from digitpad.core.personal_set import PersonalSetError, load_personal_set, require_samples

    try:
        personal = load_personal_set(folder)
        require_samples(personal)
    except PersonalSetError as exc:
        print(f"digitpad eval: {exc}", file=sys.stderr)
        return None
    for message in personal.skipped:
        print(f"digitpad eval: {message}", file=sys.stderr)
    return Split(*personal.tensors())
