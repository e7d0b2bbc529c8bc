"""Adversarial training's trade-off: the same model, data and seed trained plainly and with FGSM or PGD examples
(ε = 0.1) mixed into every batch; clean test accuracy against accuracy under FGSM and PGD at ε = 0.1 and 0.2.

Baseline in the same run: the plain model (`--adversarial none`). Training time shows the cost.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section  # noqa: E402

from digitpad.core.attacks import robustness_curve  # noqa: E402
from digitpad.core.datasets import load_dataset  # noqa: E402
from digitpad.core.events import Finished  # noqa: E402
from digitpad.core.trainer import TrainConfig, Trainer  # noqa: E402

EPS = (0.0, 0.1, 0.2)
TEST_IMAGES = 1000
RECIPES = {
    "cnn, fast preset (1 epoch)": lambda **kw: TrainConfig.with_preset("fast", device="cpu", **kw),
    "softmax, 5 epochs": lambda **kw: TrainConfig.for_model("softmax", epochs=5, device="cpu", **kw),
}


def train(cfg: TrainConfig):
    start = time.perf_counter()
    model = next(ev.model for ev in Trainer(cfg).run() if isinstance(ev, Finished))
    return model, time.perf_counter() - start


def main() -> str:
    test = load_dataset("mnist").test.head(TEST_IMAGES)
    rows = []
    for title, recipe in RECIPES.items():
        for adversarial in ("none", "fgsm", "pgd"):
            model, seconds = train(recipe(adversarial=adversarial, adv_eps=0.1, seed=0))
            curve = next(ev.curve for ev in robustness_curve(model, test.images, test.labels, EPS)
                         if hasattr(ev, "curve"))
            fgsm, pgd = curve.accuracy["fgsm"], curve.accuracy["pgd"]
            rows.append([title, adversarial + (" (baseline)" if adversarial == "none" else " ε 0.1"),
                         f"{seconds:.0f} s", f"{model.meta.test_accuracy:.2%}", f"{fgsm[1]:.1%}", f"{pgd[1]:.1%}",
                         f"{fgsm[2]:.1%}", f"{pgd[2]:.1%}"])
            print(rows[-1], flush=True)
    return section("Adversarial training: clean accuracy vs accuracy under attack (MNIST, seed 0, cpu) — "
                   "`bench/adversarial_training.py`",
                   ["model", "adversarial examples", "training time", "clean test accuracy (10,000)",
                    f"FGSM ε 0.1 ({TEST_IMAGES:,})", "PGD-20 ε 0.1", "FGSM ε 0.2", "PGD-20 ε 0.2"], rows,
                   "PGD in training: 7 steps of 2.5·ε/7; in the measurement: 20 steps, an image counts as fooled "
                   "once any step fools it. Measured on the shared 2-core machine: the times are noisy.")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
