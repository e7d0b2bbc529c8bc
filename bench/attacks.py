"""Attacks: FGSM and PGD on a drawing, robustness curves, and the window's heartbeat while they run.

Baselines in the same run: one plain prediction of the same drawing (`classify_pixels`), and the window's
heartbeat with the Fool-it panel open but idle. Single drawings run on one thread, as the panel's worker
runs them (`keep_this_thread_serial`); the curves on the machine's threads, as `digitpad robustness` does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, pct, section  # noqa: E402
from gui_responsiveness import heartbeat_gaps  # noqa: E402

import torch  # noqa: E402

from digitpad.core.attacks import (CURVE_EPS, AttackSettings, CurveFinished, attack_pixels,  # noqa: E402
                                   robustness_curve)
from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint  # noqa: E402
from digitpad.core.datasets import load_dataset  # noqa: E402
from digitpad.core.inference import classify_pixels  # noqa: E402
from digitpad.core.preprocess import stroke_pixels  # noqa: E402
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes  # noqa: E402

REPEATS = 30
MODELS = ("mnist-cnn", "mnist-mlp", "mnist-softmax")


def drawings() -> list:
    return [stroke_pixels(StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in digit_strokes(d)])) for d in range(10)]


def ms(fn, items) -> list[float]:
    out = []
    for k in range(REPEATS):
        start = time.perf_counter()
        fn(items[k % len(items)])
        out.append((time.perf_counter() - start) * 1000)
    return out


def cell(times: list[float]) -> str:
    return f"{median(times):.1f} / {pct(times, 95):.1f}"


def single_drawing_rows() -> list[list[str]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    fields = drawings()
    for name in MODELS:
        model = load_checkpoint(ASSETS_DIR / f"{name}.pt")
        for field in fields[:2]:
            attack_pixels(model, field, AttackSettings("pgd", 0.1))  # warm up
        rows.append([name, cell(ms(lambda f: classify_pixels(model, f), fields)),
                     cell(ms(lambda f: attack_pixels(model, f, AttackSettings("fgsm", 0.1)), fields)),
                     cell(ms(lambda f: attack_pixels(model, f, AttackSettings("pgd", 0.1, steps=20)), fields)),
                     cell(ms(lambda f: attack_pixels(model, f, AttackSettings("pgd", 0.2, target=(int(f.sum()) % 10),
                                                                              steps=20)), fields))])
    torch.set_num_threads(threads)
    return rows


def curve_rows() -> list[list[str]]:
    test = load_dataset("mnist").test.head(1000)
    rows = []
    for name in MODELS:
        model = load_checkpoint(ASSETS_DIR / f"{name}.pt")
        for kind in ("fgsm", "pgd"):
            start = time.perf_counter()
            curve = next(ev.curve for ev in robustness_curve(model, test.images, test.labels, CURVE_EPS, (kind,))
                         if isinstance(ev, CurveFinished))
            seconds = time.perf_counter() - start
            rows.append([name, kind.upper() + (" (20 steps)" if kind == "pgd" else ""), f"{seconds:.1f} s",
                         " / ".join(f"{a:.1%}" for a in curve.accuracy[kind])])
    return rows


def stall_rows() -> list[list[str]]:
    """The window's heartbeat (10 ms timer) with the panel open: idle, attacked on every 'stroke', curves running."""
    from digitpad.gui.app import make_window
    from digitpad.gui.common.worker import Worker

    window = make_window("DigitPadBench")
    window.resize(1280, 800)
    window.show()
    heartbeat_gaps(None, until=lambda: len(window.library.models) >= 4)
    window.tabs.setCurrentWidget(window.canvas)
    tab, panel = window.canvas, window.canvas.fool_panel
    tab.fool_button.click()
    panel.kind.setCurrentIndex(1)  # PGD, 20 steps: the costlier attack
    fields = drawings()
    model = window.library.active
    rows = []
    idle = heartbeat_gaps(3.0)
    rows.append(["panel open, idle (baseline)", f"{max(idle):.1f}", f"{pct(idle, 99):.1f}", "—"])
    count = [0]

    def draw_again():
        count[0] += 1
        panel.set_drawing(model, fields[count[0] % 10], classify_pixels(model, fields[count[0] % 10]))
        return False
    from PySide6.QtCore import QTimer

    timer = QTimer(interval=60)  # the canvas re-classifies at most every 60 ms while the pen moves
    timer.timeout.connect(draw_again)
    timer.start()
    gaps = heartbeat_gaps(5.0)
    timer.stop()
    rows.append(["PGD-20 attack on a new drawing every 60 ms", f"{max(gaps):.1f}", f"{pct(gaps, 99):.1f}",
                 f"{count[0]} drawings"])
    heartbeat_gaps(None, until=lambda: panel._attack is None)
    panel.curve_limit.setValue(1000)
    panel.compute_curves()
    start = time.perf_counter()
    gaps = heartbeat_gaps(None, until=lambda: panel._curves is None)
    rows.append(["robustness curves: 4 models × FGSM + PGD × 5 ε × 1,000 images", f"{max(gaps):.1f}",
                 f"{pct(gaps, 99):.1f}", f"{time.perf_counter() - start:.0f} s"])
    window.close()
    Worker.join_all()
    return rows


def main() -> str:
    out = [section("Attacks on one drawing, ms p50 / p95 over 30 (the 10 scripted digits, ε 0.1; one thread, as the "
                   "panel's worker) — `bench/attacks.py`",
                   ["model", "plain prediction (baseline)", "FGSM (goal ≤ 20 ms)", "PGD 20 steps (goal ≤ 200 ms)",
                    "PGD 20 steps, targeted, ε 0.2"], single_drawing_rows()),
           section("Robustness curve: 1,000 MNIST test images × ε 0 / 0.05 / 0.1 / 0.2 / 0.3 (goal ≤ 30 s for the CNN)",
                   ["model", "attack", "time", "accuracy at each ε"], curve_rows(),
                   "PGD counts an image as fooled at the first step that fools it and stops attacking it there."),
           section("The window's heartbeat with the Fool-it panel open (10 ms timer on the GUI thread, gaps in ms; "
                   "goal: no stall over 30 ms)",
                   ["while", "max gap", "p99 gap", "work done"], stall_rows())]
    return "\n\n".join(out)


if __name__ == "__main__":
    main()
