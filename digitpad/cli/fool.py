"""`digitpad fool`: attack the model's answer on image (or stroke) files with FGSM or PGD; one line per file."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, destination, load_model_or_exit


def eps_value(text: str) -> float:
    """An argparse type: ε in pixel units, from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN fails here too
        raise argparse.ArgumentTypeError(f"ε must be from 0 to 1 (pixel units), got {text}")
    return value


def _count(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value
    return parse


digit = _count(0, 9)
steps = _count(1, 1000)


def register(sub) -> None:
    f = sub.add_parser("fool", help="perturb each file's 28×28 input so the model answers wrongly (FGSM or PGD)")
    f.add_argument("files", nargs="+", type=Path)
    f.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    f.add_argument("--strokes", action="store_true", help="the files are stroke JSON, not images")
    f.add_argument("--target", type=digit, help="the class to make it answer (default: any other than its own)")
    f.add_argument("--eps", type=eps_value, default=0.1, help="L∞ budget in pixel units [0, 1] (default 0.1)")
    f.add_argument("--attack", choices=("fgsm", "pgd"), default="fgsm", help="default fgsm")
    f.add_argument("--steps", type=steps, default=20, help="PGD steps (default 20)")
    f.add_argument("--step-size", type=eps_value, help="PGD step size (default 2.5·ε/steps)")
    f.add_argument("--out", type=Path, metavar="DIR",
                   help="write DIR/<stem>-adversarial.png (the perturbed 28×28) and DIR/<stem>-fool.png (the figure)")
    f.add_argument("--json", action="store_true", help="one JSON object per file instead of a sentence")
    f.set_defaults(run=cmd_fool)


def fool_file(trained, path: Path, strokes: bool, settings, out: Path | None) -> dict:
    """One JSON-ready answer; every failure becomes its `error`."""
    from digitpad.core.attacks import attack_pixels
    from digitpad.core.inference import open_image
    from digitpad.core.preprocess import mnist_pixels, stroke_pixels
    from digitpad.core.strokes import read_stroke_file

    answer: dict = {"file": str(path), "prediction_before": None, "prediction_after": None,
                    "target": settings.target, "attack": settings.kind, "eps": settings.eps, "linf": None,
                    "probabilities_after": None, "flipped": None, "error": None}
    try:
        pixels = stroke_pixels(read_stroke_file(path)) if strokes else mnist_pixels(open_image(path))
    except ValueError as exc:
        answer["error"] = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return answer
    if pixels is None:
        answer["error"] = f"{path}: no ink found — the picture is blank (draw a digit)"
        return answer
    result = attack_pixels(trained, pixels, settings)
    answer.update(prediction_before=result.before.label, prediction_after=result.after.label,
                  linf=round(result.linf, 6), probabilities_after=[round(p, 8) for p in result.after.probabilities],
                  flipped=result.flipped)
    if out is not None:
        answer["files"] = _write_figures(result, trained, out, path.stem, answer)
    return answer


def _write_figures(result, trained, out: Path, stem: str, answer: dict) -> list[str]:
    from digitpad.core.atomic import atomic_write_bytes
    from digitpad.core.explain import saliency_of
    from digitpad.gui.canvas.fool_panel import png_of_pixels, render_png

    written = []
    saliency = saliency_of(trained.model, trained.meta, result.before.pixels).top  # the figure shows it beside δ
    try:
        written.append(str(atomic_write_bytes(out / f"{stem}-adversarial.png", png_of_pixels(result.adversarial))))
        written.append(str(render_png(result, trained.meta.class_names, out / f"{stem}-fool.png", saliency)))
    except OSError as exc:
        answer["error"] = f"{out}: cannot write the figures ({exc.strerror or exc})"
    return written


def sentence(a: dict) -> str:
    if a["error"]:
        return a["error"]
    target = "any other digit" if a["target"] is None else f"target {a['target']}"
    verdict = "fooled" if a["flipped"] else "held"
    p = a["probabilities_after"][a["prediction_after"]]
    return (f"{a['file']}: {a['prediction_before']} → {a['prediction_after']} (p = {p:.2f}) · {a['attack'].upper()} "
            f"ε {a['eps']:g}, ‖δ‖∞ = {a['linf']:.4f} · {target}: {verdict}")


def cmd_fool(args: argparse.Namespace) -> int:
    from digitpad.core.attacks import AttackSettings
    from digitpad.core.devices import keep_this_thread_serial

    keep_this_thread_serial()  # one drawing at a time: a second thread only waits for the first (bench/attacks.py)
    dest = None
    if args.out is not None:
        dest = destination("fool", args.out, folder=True)
        if dest is None:
            return EXIT_USAGE
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # figures need no screen (a display named but absent aborts)
    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    settings = AttackSettings(args.attack, args.eps, args.target, args.steps, args.step_size)
    status = 0
    for path in args.files:
        answer = fool_file(trained, path, args.strokes, settings, args.out)
        if answer["error"]:
            status = EXIT_FAILED
        print(json.dumps(answer) if args.json else sentence(answer), flush=True)
    if dest is not None:
        dest.say_created()
    return status
