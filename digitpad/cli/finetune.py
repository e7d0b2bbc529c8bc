"""`digitpad finetune`: the My digits fine-tuning, from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitpad.cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, add_data_args, bounded, device_name,
                                 load_model_or_exit, percent)


def register(sub) -> None:
    f = sub.add_parser("finetune", help="fine-tune a model on your own digits (DIR/<digit>/<name>.json or .png)")
    f.add_argument("--model", type=Path, help="checkpoint to start from (default: the shipped MNIST CNN)")
    f.add_argument("--samples", type=Path, help="personal set folder in the ImageFolder layout "
                   "(default: the app's My digits folder)")
    f.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    # The same settings as `train`'s, with the same ranges (the settings table's).
    f.add_argument("--epochs", type=bounded("epochs"), default=3)
    f.add_argument("--test-limit", type=bounded("test_limit"),
                   help="measure MNIST before/after on the first N test images only")
    f.add_argument("--seed", type=bounded("seed"), default=0)
    f.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda, cuda:N or mps")
    f.add_argument("--json", action="store_true", help="end with one JSON line: before/after on your digits and MNIST")
    add_data_args(f)
    f.set_defaults(run=cmd_finetune)


def cmd_finetune(args: argparse.Namespace) -> int:
    from digitpad.core.checkpoints import save_checkpoint
    from digitpad.core.finetune import FinetuneConfig, Finetuner, finetune_result
    from digitpad.core.personal_set import PersonalSetError, default_folder, load_personal_set, require_samples
    from digitpad.core.events import EpochEnd, Failed, Finished, Progress

    base = load_model_or_exit(args.model)
    if base is None:
        return EXIT_USAGE
    try:
        personal = load_personal_set(args.samples or default_folder())
        for message in personal.skipped:
            print(f"digitpad finetune: {message}", file=sys.stderr)
        require_samples(personal)
    except PersonalSetError as exc:
        print(f"digitpad finetune: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counts = ", ".join(f"{d}: {n}" for d, n in enumerate(personal.counts()) if n)
    print(f"{len(personal.samples)} samples ({counts}) from {personal.root}; base model {base.title}", flush=True)
    config = FinetuneConfig(epochs=args.epochs, seed=args.seed, device=args.device, mnist_test_limit=args.test_limit,
                            data_dir=args.data_dir, idx_dir=args.idx_dir)
    events = Finetuner(base, personal, config).run()
    try:
        for ev in events:
            if isinstance(ev, Progress):
                print(f"\repoch {ev.epoch}/{ev.epochs} step {ev.batch}/{ev.batches} loss {ev.loss:.4f}",
                      end="", file=sys.stderr, flush=True)
            elif isinstance(ev, EpochEnd):
                print(f"\repoch {ev.epoch}/{ev.epochs}  loss {ev.train_loss:.4f}  your digits "
                      f"{ev.test_accuracy:.2%}  {ev.seconds:.1f} s", flush=True)
            elif isinstance(ev, Failed):
                print(f"digitpad finetune: {ev.message}", file=sys.stderr)
                return EXIT_FAILED
            elif isinstance(ev, Finished):
                path = save_checkpoint(ev.model, args.out)
                result = finetune_result(ev.model)
                print(f"saved {path}: your held-out digits {percent(result.before)} → {percent(result.after)} "
                      f"({result.n_holdout} held out), MNIST test {percent(result.mnist_before)} → "
                      f"{percent(result.mnist_after)}")
                if result.note:
                    print(result.note)
                if args.json:
                    print(json.dumps(result.as_json()))
    except KeyboardInterrupt:
        events.close()
        print("\ninterrupted: fine-tuning stopped, nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


