"""`digitpad predict` and `digitpad explain`: one JSON line per file; explain also draws the Explain panel."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, add_unsure_arg, destination, load_model_or_exit


def register(sub) -> None:
    pr = sub.add_parser("predict", help="classify image files (or stroke JSON files); one JSON line each")
    pr.add_argument("files", nargs="+", type=Path)
    pr.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    pr.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")
    add_unsure_arg(pr)
    pr.set_defaults(run=cmd_predict)

    ex = sub.add_parser("explain", help="predict, and draw the Explain panel for each file into DIR/<stem>-explain.png")
    ex.add_argument("files", nargs="+", type=Path)
    ex.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    ex.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")
    ex.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                    help="folder for the figures, DIR/<stem>-explain.png (default: here)")
    add_unsure_arg(ex)
    ex.set_defaults(run=cmd_predict)


def predict_file(trained, path: Path, strokes: bool, unsure_below: float | None = None,
                 explain_dir: Path | None = None, figure: Path | None = None) -> dict:
    """One JSON-ready answer for one file; every failure becomes its `error`, never an exception.

    With explain_dir, the prediction comes from the explanation (the same forward pass) and the
    Explain panel is drawn into `figure` (default explain_dir/<stem>-explain.png): `explain` answers
    exactly as `predict`.
    """
    from digitpad.core.explain import explain_image, explain_strokes
    from digitpad.core.inference import UNSURE_BELOW, classify_image, classify_strokes, open_image
    from digitpad.core.strokes import read_stroke_file

    unsure_below = UNSURE_BELOW if unsure_below is None else unsure_below
    answer: dict = {"file": str(path), "prediction": None, "probabilities": None, "unsure": None,
                    "reason": None, "not_a_digit": None, "runner_up": None, "error": None}
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
        error = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        answer["error"] = error + _strokes_hint(path, strokes, error)
        return answer
    if pred is None:
        answer["error"] = f"{path}: no ink found — the picture is blank (draw a digit)"
        return answer
    answer["prediction"] = pred.label
    answer["probabilities"] = [round(p, 8) for p in pred.probabilities]
    answer["unsure"] = pred.unsure(unsure_below)
    answer["reason"] = pred.reason(unsure_below)
    answer["not_a_digit"] = None if pred.not_digit_score is None else round(pred.not_digit_score, 6)
    answer["runner_up"] = pred.runner_up
    if explanation is not None:
        answer["explanation"] = _render_figure(explanation, figure or explain_dir / f"{path.stem}-explain.png", answer)
    return answer


def _strokes_hint(path: Path, strokes: bool, error: str) -> str:
    """A stroke file read as an image (or an image as a stroke file) fails; say which flag was meant."""
    if not strokes and "not an image file" in error and path.suffix.lower() == ".json":
        return " — to read a stroke file, add --strokes"
    if strokes and "not a readable stroke JSON" in error and path.suffix.lower() != ".json":
        return " — to read an image, leave out --strokes"
    return ""


def figure_paths(files: list[Path], folder: Path) -> list[Path]:
    """Where each file's figure goes, DIR/<stem>-explain.png, made unique within one command: seven.png and
    seven.jpg (or a/seven.png and b/seven.png) get seven-explain.png and seven-2-explain.png, and no
    figure is ever written over one of the input files."""
    inputs = {p.resolve() for p in files}
    taken: set[Path] = set()
    paths = []
    for path in files:
        candidate, n = folder / f"{path.stem}-explain.png", 2
        while candidate.resolve() in taken | inputs:
            candidate, n = folder / f"{path.stem}-{n}-explain.png", n + 1
        taken.add(candidate.resolve())
        paths.append(candidate)
    return paths


def _render_figure(explanation, target: Path, answer: dict) -> str | None:
    """Draw the Explain panel offscreen into target; a failure to write becomes the answer's error."""
    from digitpad.gui.canvas.explain_panel import render_png

    try:
        return str(render_png(explanation, target))
    except OSError as exc:
        answer["error"] = f"{target}: cannot write the figure ({exc.strerror or exc})"
        return None


def cmd_predict(args: argparse.Namespace) -> int:
    from digitpad.core.devices import keep_this_thread_serial

    # One file at a time, as the canvas does: on 2 cores beside a busy program, two threads made a drawing's
    # answer 16.5 / 56 ms p50 / p95 and its explanation 65 / 110 ms, one thread 9 / 15 and 19 / 46 ms (alone
    # one thread is as fast: 4.7 / 5.4 and 18 / 20 ms).
    keep_this_thread_serial()
    explain_dir = args.out if args.command == "explain" else None
    dest = None
    if explain_dir is not None:
        dest = destination("explain", explain_dir, folder=True)
        if dest is None:
            return EXIT_USAGE
        # Figures are drawn offscreen and need no screen: a QT_QPA_PLATFORM naming a display that is not
        # there (xcb without X) would abort the process.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    figures = figure_paths(args.files, explain_dir) if explain_dir is not None else [None] * len(args.files)
    status = 0
    for path, figure in zip(args.files, figures):
        answer = predict_file(trained, path, args.strokes, args.unsure_below, explain_dir, figure)
        if answer["error"]:
            status = EXIT_FAILED
        print(json.dumps(answer), flush=True)
    if dest is not None:
        dest.say_created()
    return status
