"""Accuracy on digits that are not MNIST: the shipped models on 720 scripted drawings and on the UCI
handwritten digits (1,797 digits by 43 writers, 8×8, the copy inside scikit-learn's wheel, read as a
file and never imported). MNIST-style preprocessing vs the naive baseline (the whole picture resized
to 28×28, as many demo apps do)."""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section  # noqa: E402

from digitpad.core.checkpoints import load_checkpoint, shipped_models  # noqa: E402
from digitpad.core.inference import classify_image, classify_pixels, classify_strokes  # noqa: E402
from digitpad.core.preprocess import rasterize_strokes  # noqa: E402
from digitpad.core.sample_digits import drawn_digit_set  # noqa: E402


def naive_resize(image: np.ndarray) -> np.ndarray:
    """uint8 ink-bright picture → 28×28 in [0, 1], no cropping or centring."""
    resized = Image.fromarray(image).resize((28, 28), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32) / 255


def naive_pixels(strokes) -> np.ndarray:
    return naive_resize(rasterize_strokes(strokes))


def uci_digits() -> tuple[np.ndarray, np.ndarray] | None:
    """The UCI 8×8 digits (values 0–16) from an installed scikit-learn, without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        return None
    rows = np.loadtxt(gzip.open(path), delimiter=",")
    images = np.round(rows[:, :64] / 16 * 255).astype(np.uint8).reshape(-1, 8, 8)
    return images, rows[:, 64].astype(int)


def accuracy(predictions, labels) -> str:
    return f"{sum(p is not None and p.label == t for p, t in zip(predictions, labels)) / len(labels):.1%}"


def main() -> str:
    drawings = list(drawn_digit_set())
    uci = uci_digits()
    rows = []
    for path in shipped_models():
        model = load_checkpoint(path)
        if model.meta.dataset != "mnist":
            continue
        labels = [d for d, _, _ in drawings]
        row = [path.stem, f"{model.meta.test_accuracy:.2%}",
               accuracy([classify_pixels(model, naive_pixels(s)) for _, s, _ in drawings], labels),
               accuracy([classify_strokes(model, s) for _, s, _ in drawings], labels)]
        if uci is not None:
            images, uci_labels = uci
            row += [accuracy([classify_pixels(model, naive_resize(im)) for im in images], uci_labels),
                    accuracy([classify_image(model, im) for im in images], uci_labels)]
        rows.append(row)
    headers = ["model", "MNIST test", "drawings: naive resize (baseline)", "drawings: MNIST-style"]
    if uci is not None:
        headers += ["UCI 8×8: naive resize (baseline)", "UCI 8×8: MNIST-style"]
    note = "" if uci is not None else "(UCI digits skipped: `pip install --no-deps scikit-learn` provides them.)"
    return section(f"Digits that are not MNIST: {len(drawings)} scripted drawings (`digitpad/core/sample_digits.py`)"
                   + (f" and {len(uci[1]):,} UCI handwritten digits" if uci is not None else ""), headers, rows, note)


if __name__ == "__main__":
    main()
