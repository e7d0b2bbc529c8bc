"""Wall time from Start to the first test evaluation at ≥ 99 % MNIST accuracy with the CNN.

Counted: data loading (from the on-disk cache, not from memory), training and each epoch's test
evaluation. The plain recipe (Adam 1e-3, batch 128) is the baseline; the fast preset adds a
one-cycle schedule and label smoothing. The test set is only reported on, never used to train
or to tune within a run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section  # noqa: E402

from digitpad.core import datasets  # noqa: E402
from digitpad.core.events import EpochEnd, Failed
from digitpad.core.trainer import TrainConfig, Trainer  # noqa: E402


def time_to(cfg: TrainConfig, target: float = 0.99) -> tuple[float | None, int, float]:
    datasets._LOADED.clear()  # count the data loading, as a fresh start would
    start = time.perf_counter()
    best = 0.0
    for ev in Trainer(cfg).run():
        if isinstance(ev, Failed):
            raise RuntimeError(ev.message)
        if isinstance(ev, EpochEnd):
            best = max(best, ev.test_accuracy)
            if ev.test_accuracy >= target:
                return time.perf_counter() - start, ev.epoch, ev.test_accuracy
    return None, cfg.epochs, best


def main(device: str = "auto", seeds: tuple[int, ...] = (0, 1, 2)) -> str:
    rows = []
    recipes = [("plain: Adam 1e-3, batch 128 (baseline)", lambda s: TrainConfig.for_model("cnn", epochs=5, seed=s,
                                                                                          device=device)),
               ("fast preset: one-cycle Adam 8e-3, batch 64, label smoothing 0.1",
                lambda s: TrainConfig.with_preset("fast", seed=s, device=device))]
    for title, make in recipes:
        for seed in seeds:
            seconds, epochs, acc = time_to(make(seed))
            rows.append([title, seed, f"{seconds:.1f} s" if seconds else "not reached", epochs, f"{acc:.2%}"])
    return section(f"Time to 99 % MNIST test accuracy, CNN, device {device}",
                   ["recipe", "seed", "time to ≥ 99 %", "epochs", "test accuracy then"], rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "auto")
