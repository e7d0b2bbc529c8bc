"""The Lessons tab's costs: the course's own softmax/cross_entropy/sgd against the concise step, and the
linear-regression lesson's per-tick work on the GUI thread (goal: each step well under 5 ms)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import median, pct, section  # noqa: E402

from digitpad.core.scratch import LinRegConfig, train_linreg_concise, train_linreg_scratch  # noqa: E402
from digitpad.core.events import EpochEnd
from digitpad.core.trainer import TrainConfig, Trainer  # noqa: E402


def epoch_seconds(model: str) -> float:
    """Median training-loop time of epochs 2-4 on full MNIST, CPU (epoch 1 warms up)."""
    cfg = TrainConfig.for_model(model, epochs=4, device="cpu")
    times = [e.train_seconds for e in Trainer(cfg).run() if isinstance(e, EpochEnd)]
    return median(times[1:])


def linreg_step_ms() -> list[float]:
    """One lesson-1 step as the page takes it: a minibatch of each implementation."""
    runs = [train_linreg_scratch(LinRegConfig(epochs=10)), train_linreg_concise(LinRegConfig(epochs=10))]
    steps = []
    while True:
        start = time.perf_counter()
        if any(next(run, None) is None for run in runs):
            return steps
        steps.append((time.perf_counter() - start) * 1e3)


def main() -> str:
    concise, own = epoch_seconds("softmax"), epoch_seconds("softmax-scratch")
    steps = linreg_step_ms()
    rows = [["softmax regression, one MNIST epoch (CPU)", f"{concise:.2f} s (F.cross_entropy + optim.SGD, baseline)",
             f"{own:.2f} s (course's softmax, cross_entropy, sgd)", f"{own / concise:.2f}×"],
            ["linear regression lesson, one step of both loops (GUI thread)", "goal < 5 ms",
             f"p50 {median(steps):.2f} ms, p99 {pct(steps, 99):.2f} ms, max {max(steps):.2f} ms", ""]]
    return section("Lessons: from scratch vs concise, and the GUI thread's share",
                   ["what", "baseline", "measured", "ratio"], rows)


if __name__ == "__main__":
    main()
