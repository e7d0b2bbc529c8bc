"""`digitpad train`: the engine's events in the terminal (tqdm), the checkpoint saved or rescued."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitpad.core.settings import PRESETS, SETTING
from digitpad.cli.common import (EXIT_FAILED, EXIT_USAGE, add_data_args, add_setting_flags, checkpoint_name,
                                 destination, escaped, interrupted, save_or_rescue)


def register(sub) -> None:
    t = sub.add_parser("train", help="train a model and save a checkpoint")
    t.add_argument("--preset", choices=tuple(PRESETS),
                   help=escaped("; ".join(f"{p.name}: {p.help}" for p in PRESETS.values())))
    add_setting_flags(t, SETTING.values())
    t.add_argument("--out", type=Path, help="checkpoint to write (default: DATASET-MODEL.pt); checked before "
                   "training starts")
    t.add_argument("--runs-dir", type=Path, help="where the run is recorded (default: the runs folder in the "
                                                "user's data folder, as the app does)")
    add_data_args(t)
    t.set_defaults(run=cmd_train)


def _train_config(args: argparse.Namespace):
    """Model defaults, then the preset, then whatever the user typed."""
    from digitpad.core.trainer import TrainConfig

    given = {s.name: getattr(args, s.name) for s in SETTING.values() if getattr(args, s.name) not in (None, False)}
    given.update(data_dir=args.data_dir, idx_dir=args.idx_dir)
    if args.preset:
        return TrainConfig.with_preset(args.preset, **given)
    return TrainConfig.for_model(given.pop("model", SETTING["model"].default), **given)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.checkpoints import save_checkpoint
    from digitpad.core.runs import RunRecorder, note_checkpoint
    from digitpad.core.events import EpochEnd, Failed, Finished, Progress, Started
    from digitpad.core.trainer import Trainer

    try:
        cfg = _train_config(args)
        cfg.validate()
    except ValueError as exc:
        print(f"digitpad train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or Path(f"{cfg.dataset}-{cfg.model}.pt")
    if not checkpoint_name(out, "train"):
        return EXIT_USAGE
    dest = destination("train", out)
    if dest is None:
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
                acc = ev.model.meta.test_accuracy
                saved, status = save_or_rescue(dest, lambda path: save_checkpoint(ev.model, path))
                if saved is not None:
                    if status == 0:
                        print(f"saved {saved}" + (f" (test accuracy {acc:.2%})" if acc is not None else ""))
                    warning = note_checkpoint(recorder.record, saved)
                    if warning:
                        print(f"digitpad train: warning: {warning}", file=sys.stderr)
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM (cli.main raises Terminated)
        events.close()
        if bar is not None:
            bar.close()
        word, code = interrupted(exc)
        print(f"\n{word}: training stopped, no checkpoint saved", file=sys.stderr)
        _report_record(recorder)
        return code
    _report_record(recorder)
    return status


def _report_record(recorder) -> None:
    """Say where the run's record is (for `digitpad compare`), or why it could not be written."""
    if recorder.write_error:
        print(f"digitpad train: warning: {recorder.write_error}", file=sys.stderr)
    else:
        print(f"run recorded as {recorder.record.status}: {recorder.record.json_path}")


# --- predict ----------------------------------------------------------------------------------
