"""`digitpad step`: single mini-batch steps from fresh seeded weights, one line (or JSON object) per step."""

from __future__ import annotations

import argparse
import json
import sys

from digitpad.core import names
from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, add_data_args, bounded


def register(sub) -> None:
    s = sub.add_parser("step", help="take single mini-batch steps and print what each did (loss before/after, "
                                    "test loss and accuracy, gradient norm, update ratio)")
    s.add_argument("--dataset", default="mnist", choices=names.DATASETS)
    s.add_argument("--model", default="softmax", choices=names.MODELS)
    s.add_argument("--optimizer", choices=names.OPTIMIZERS, help="default: the model's course optimizer")
    s.add_argument("--lr", type=bounded("lr"), help="learning rate (default: the model's course lr)")
    s.add_argument("--momentum", type=bounded("momentum"), help="for --optimizer momentum (default: the model's)")
    s.add_argument("--batch-size", type=bounded("batch_size"), help="default: the model's course batch size")
    s.add_argument("--steps", type=bounded("steps", names.STEP_BOUNDS), default=10, help="steps to take (default 10)")
    s.add_argument("--seed", type=bounded("seed"), default=0, help="initial weights and batch order (default 0)")
    s.add_argument("--test-subset", type=bounded("test_limit"), default=1000, metavar="N",
                   help="measure test loss and accuracy on the first N test images after each step (default 1000)")
    s.add_argument("--train-limit", type=bounded("train_limit"), help="draw batches from the first N training images")
    s.add_argument("--json", action="store_true", help="one JSON object per step: step, loss_before, loss_after, "
                                                       "test_loss, test_accuracy, lr, grad_norm, update_ratio")
    add_data_args(s)
    s.set_defaults(run=cmd_step)


def _step_config(args: argparse.Namespace):
    """The model's course defaults, then whatever the user typed."""
    from digitpad.core.models import model_spec
    from digitpad.core.step import LaneConfig, StepConfig

    course = model_spec(args.model).defaults.for_dataset(args.dataset)
    lane = LaneConfig(optimizer=args.optimizer or course["optimizer"],
                      lr=args.lr if args.lr is not None else course["lr"],
                      momentum=args.momentum if args.momentum is not None else course["momentum"])
    return StepConfig(dataset=args.dataset, model=args.model, batch_size=args.batch_size or course["batch_size"],
                      seed=args.seed, lanes=(lane,), test_subset=args.test_subset, train_limit=args.train_limit,
                      data_dir=args.data_dir, idx_dir=args.idx_dir)


def _line(record) -> str:
    return (f"step {record.step:>5}  batch loss {record.loss_before:.4g} → {record.loss_after:.4g}  "
            f"test loss {record.test_loss:.4g}  test acc {record.test_accuracy:6.2%}  ‖g‖ {record.grad_norm:.4g}  "
            f"‖ΔW‖/‖W‖ {record.update_ratio:.3g}")


def cmd_step(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.events import Failed, FailureKind
    from digitpad.core.step import Opened, Stepped, open_session

    cfg = _step_config(args)
    opened = None
    for ev in open_session(cfg):
        if isinstance(ev, Failed):
            print(f"digitpad step: {ev.message}", file=sys.stderr)
            return EXIT_USAGE if ev.kind == FailureKind.CONFIG else EXIT_FAILED
        opened = ev
    assert isinstance(opened, Opened)
    session = opened.session
    if not args.json:
        lane = cfg.lanes[0]
        print(f"{cfg.dataset} · {cfg.model} ({session.parameters:,} parameters) · {lane.label} · batch "
              f"{cfg.batch_size} · seed {cfg.seed} · test subset {len(session.data.y_test):,} images", flush=True)
    with tqdm(total=args.steps, unit="step", leave=False, disable=None) as bar:  # no bar when not a terminal
        for ev in session.run(args.steps, views=False):
            if isinstance(ev, Failed):
                bar.close()
                print(f"digitpad step: {ev.message}", file=sys.stderr)
                return EXIT_FAILED
            assert isinstance(ev, Stepped)
            for records in ev.records:
                text = json.dumps(records[0].as_json()) if args.json else _line(records[0])
                tqdm.write(text, file=sys.stdout)
            bar.update(len(ev.records))
    return 0
