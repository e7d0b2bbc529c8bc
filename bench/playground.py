"""The 2-D playground while it trains: decision-region redraws per second (100×100 grid), the window's
longest stall (a 10 ms heartbeat timer on the GUI thread), and the training speed in the app against
the same generator on a plain thread with no window (the baseline, measured in the same run).

Goals (issue 22): ≥ 20 redraws per second, stall ≤ 30 ms.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pct, section  # noqa: E402
from gui_responsiveness import bench_window, heartbeat_gaps  # noqa: E402

from digitpad.core.events import RunControl  # noqa: E402
from digitpad.core.playground import DataSpec, NetSpec, Playground, PlaygroundConfig, make_points  # noqa: E402

RUN_S = 6.0
SETUPS = {
    "XOR, MLP 8 relu (1 layer)": PlaygroundConfig(DataSpec("xor", points=300), NetSpec("mlp", (8,))),
    "spiral ×3 classes, MLP 16-16-16 tanh": PlaygroundConfig(DataSpec("spiral", classes=3, points=600),
                                                             NetSpec("mlp", (16, 16, 16), "tanh")),
}


def headless_steps_per_s(cfg: PlaygroundConfig) -> float:
    """The same generator, frames and all, on a thread of its own with no window: steps per second."""
    playground = Playground(cfg, make_points(cfg.data))
    control = RunControl()
    frames = []

    def run() -> None:
        frames.extend(playground.run(None, control))
    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(RUN_S)
    control.stop()
    thread.join()
    return playground.step / RUN_S


def show(page, cfg: PlaygroundConfig) -> None:
    page.show_config(cfg)
    page.rebuild(keep_points=False)


def main() -> str:
    from PySide6.QtWidgets import QApplication

    window = bench_window()
    app = QApplication.instance()
    window.tabs.setCurrentWidget(window.lessons)
    page = window.lessons.page("playground")
    window.lessons.pages.setCurrentWidget(page)
    heartbeat_gaps(4.0)  # let the window settle (first paint, shipped models, preloading)
    idle = heartbeat_gaps(3.0)
    rows = [["idle window (baseline)", "—", f"{max(idle):.1f}", f"{pct(idle, 99):.1f}", "—", "—"]]
    for title, cfg in SETUPS.items():
        show(page, cfg)
        heartbeat_gaps(0.5)
        redraws, started = page.view.plot.redraws, time.perf_counter()
        page.run_button.click()
        gaps = heartbeat_gaps(RUN_S)
        page.run_button.click()
        seconds = time.perf_counter() - started
        rate = (page.view.plot.redraws - redraws) / seconds
        steps = page.playground.step / seconds
        heartbeat_gaps(0.5)
        alone = headless_steps_per_s(cfg)
        rows.append([title, f"{rate:.1f}", f"{max(gaps):.1f}", f"{pct(gaps, 99):.1f}", f"{steps:,.0f}",
                     f"{alone:,.0f}"])
    platform = app.platformName()
    window.close()
    return section(f"2-D playground while training: region redraws and window stall (Qt platform {platform})",
                   ["setup", "redraws/s (100×100)", "max gap ms", "p99 gap ms", "steps/s in the app",
                    "steps/s, no window (baseline)"], rows,
                   f"{RUN_S:.0f} s of Run per setup; a 10 ms heartbeat timer on the GUI thread measures the stall. "
                   "Goals: ≥ 20 redraws/s, max gap ≤ 30 ms.")


if __name__ == "__main__":
    main()
