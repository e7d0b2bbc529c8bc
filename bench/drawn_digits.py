"""Accuracy on drawn digits: the shipped models on 720 scripted drawings, MNIST-style preprocessing vs
the naive baseline (the whole canvas resized to 28×28, as many demo apps do)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table  # noqa: E402

from digitpad.core.checkpoints import load_checkpoint, shipped_models  # noqa: E402
from digitpad.core.inference import classify_pixels, classify_strokes  # noqa: E402
from digitpad.core.preprocess import rasterize_strokes  # noqa: E402
from digitpad.core.sample_digits import drawn_digit_set  # noqa: E402


def naive_pixels(strokes) -> np.ndarray:
    raster = Image.fromarray(rasterize_strokes(strokes))
    return np.asarray(raster.resize((28, 28), Image.Resampling.LANCZOS), dtype=np.float32) / 255


def main() -> str:
    drawings = list(drawn_digit_set())
    rows = []
    for path in shipped_models():
        model = load_checkpoint(path)
        if model.meta.dataset != "mnist":
            continue
        ours = sum((p := classify_strokes(model, s)) is not None and p.label == d for d, s, _ in drawings)
        naive = sum(classify_pixels(model, naive_pixels(s)).label == d for d, s, _ in drawings)
        rows.append([path.stem, f"{model.meta.test_accuracy:.2%}", f"{naive / len(drawings):.1%}",
                     f"{ours / len(drawings):.1%}"])
    out = (f"### Drawn digits ({len(drawings)} scripted drawings, `digitpad/core/sample_digits.py`)\n\n"
           + table(["model", "MNIST test", "naive resize (baseline)", "MNIST-style preprocessing"], rows))
    print(out, flush=True)
    return out


if __name__ == "__main__":
    main()
