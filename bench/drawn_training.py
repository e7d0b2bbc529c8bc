"""What training on the drawn shapes (`--with-drawn`) buys and what it costs, for the shipped CNN's recipe.

The recipe as it was (MNIST + the UCI training writers) is the baseline; beside it the same recipe with the
1,320 drawings of small-loop 6s, 8s and 9s, flagged 1s and ticked 7s (`datasets.drawn_split`, sizes the
benchmark never measures). Seeds 0-2 each, trained in this run (~4 minutes a model on 2 free cores), and each
model measured on MNIST test, the UCI test writers and the loop-and-serif set of bench/drawn_digits.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section  # noqa: E402

from digitpad.core.datasets import Split, uci_split  # noqa: E402
from digitpad.core.evaluation import predict_all  # noqa: E402
from digitpad.core.events import Failed, Finished  # noqa: E402
from digitpad.core.preprocess import stroke_pixels, uint8_images  # noqa: E402
from digitpad.core.sample_digits import loop_and_serif_set  # noqa: E402
from digitpad.core.trainer import TrainConfig, Trainer, split_on_device  # noqa: E402

SHIPPED_RECIPE = dict(dataset="mnist", model="cnn", epochs=15, batch_size=64, lr=8e-3, optimizer="adam",
                      schedule="onecycle", label_smoothing=0.1, augment=True, with_uci=True)


def train(seed: int, with_drawn: bool, device: str):
    for ev in Trainer(TrainConfig(**SHIPPED_RECIPE, with_drawn=with_drawn, seed=seed, device=device)).run():
        if isinstance(ev, Failed):
            raise RuntimeError(ev.message)
        if isinstance(ev, Finished):
            return ev.model


def accuracy(trained, split: Split) -> float:
    pixels, labels = split_on_device(split, torch.device("cpu"))
    preds, _ = predict_all(trained.model, pixels, trained.meta.mean, trained.meta.std)
    return (preds == labels).double().mean().item()


def main(device: str = "cpu", seeds: tuple[int, ...] = (0, 1, 2)) -> str:
    uci = uci_split("test")
    drawings = list(loop_and_serif_set())
    hard = Split(uint8_images([stroke_pixels(s) for _, s, _ in drawings]),
                 torch.tensor([shape.digit for shape, _, _ in drawings]))
    rows, means = [], {}
    for with_drawn in (False, True):
        title = "+ drawn shapes (`--with-drawn`)" if with_drawn else "MNIST + UCI writers (baseline)"
        for seed in seeds:
            trained = train(seed, with_drawn, device)
            figures = (trained.meta.test_accuracy, accuracy(trained, uci), accuracy(trained, hard))
            means.setdefault(title, []).append(figures)
            rows.append([title, seed, *(f"{f:.2%}" for f in figures)])
    rows += [[f"{title}: mean", f"{seeds[0]}-{seeds[-1]}", *(f"{f:.2%}" for f in np.mean(figs, axis=0))]
             for title, figs in means.items()]
    return section("Training on drawn shapes: the shipped CNN's recipe with and without them — "
                   "`bench/drawn_training.py`",
                   ["recipe", "seed", "MNIST test", f"UCI test writers ({len(uci):,})",
                    f"small loops and serifs ({len(drawings)})"], rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cpu")
