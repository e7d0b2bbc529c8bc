"""`digitpad finetune`: the My digits fine-tuning, from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitpad.cli.common import (EXIT_FAILED, EXIT_USAGE, add_data_args, bounded, checkpoint_name, destination,
                                 device_name, interrupted, load_model_or_exit, model_path, percent, save_or_rescue)


def register(sub) -> None:
    f = sub.add_parser("finetune", help="fine-tune a model on your own digits (DIR/<digit>/<name>.json or .png)")
    f.add_argument("--model", type=Path, help="checkpoint to start from (default: the shipped MNIST CNN)")
    f.add_argument("--samples", type=Path, help="personal set folder in the ImageFolder layout "
                   "(default: the app's My digits folder)")
    f.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    # The same settings as `train`'s, with the same ranges (the settings table's).
    f.add_argument("--epochs", type=bounded("epochs"),
                   help="passes over your samples (default: as many as My digits' Teach makes)")
    f.add_argument("--test-limit", type=bounded("test_limit"),
                   help="measure MNIST before/after on the first N test images only")
    f.add_argument("--seed", type=bounded("seed"), default=0)
    f.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda, cuda:N or mps")
    f.add_argument("--json", action="store_true", help="end with one JSON line: before/after on your digits and MNIST")
    add_data_args(f)
    f.set_defaults(run=cmd_finetune)


def cmd_finetune(args: argparse.Namespace) -> int:
    from digitpad.core.checkpoints import save_checkpoint
    from digitpad.core.finetune import FinetuneConfig, Finetuner, check_base, finetune_result
    from digitpad.core.personal_set import PersonalSetError, default_folder, load_personal_set, require_samples
    from digitpad.core.events import EpochEnd, Failed, Finished, Progress

    if not checkpoint_name(args.out, "finetune"):
        return EXIT_USAGE
    dest = destination("finetune", args.out, inputs=[model_path(args.model)])
    if dest is None:
        return EXIT_USAGE
    base = load_model_or_exit(args.model)
    if base is None:
        return EXIT_USAGE
    try:
        check_base(base)
        personal = load_personal_set(args.samples or default_folder())
        for message in personal.skipped:
            print(f"digitpad finetune: {message}", file=sys.stderr)
        require_samples(personal)
    except (PersonalSetError, ValueError) as exc:
        print(f"digitpad finetune: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counts = ", ".join(f"{d}: {n}" for d, n in enumerate(personal.counts()) if n)
    print(f"{len(personal.samples)} samples ({counts}) from {personal.root}; base model {base.title}", flush=True)
    given = {"epochs": args.epochs} if args.epochs is not None else {}
    config = FinetuneConfig(**given, seed=args.seed, device=args.device, mnist_test_limit=args.test_limit,
                            data_dir=args.data_dir, idx_dir=args.idx_dir)
    events = Finetuner(base, personal, config).run()
    status = 0
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
                path, status = save_or_rescue(dest, lambda target: save_checkpoint(ev.model, target))
                result = finetune_result(ev.model)
                print(f"{'saved ' + str(path) if status == 0 else 'fine-tuned'}: your held-out digits "
                      f"{percent(result.before)} → {percent(result.after)} ({result.n_holdout} held out), MNIST test "
                      f"{percent(result.mnist_before)} → {percent(result.mnist_after)}")
                if result.note:
                    print(result.note)
                if args.json:
                    print(json.dumps(result.as_json()))
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM
        events.close()
        word, code = interrupted(exc)
        print(f"\n{word}: fine-tuning stopped, nothing saved", file=sys.stderr)
        return code
    return status
