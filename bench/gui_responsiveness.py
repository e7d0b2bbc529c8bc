"""Does the window stay responsive while the CNN trains? A 10 ms heartbeat timer on the GUI thread.

Baseline in the same run: the same heartbeat with the app idle. Also: training throughput inside
the app (worker QThread) vs the engine on the main thread of a fresh process as the CLI runs it,
same settings, runs interleaved; and the app's peak memory (RSS) after training.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, pct, section  # noqa: E402

from digitpad.core.trainer import TrainConfig  # noqa: E402



def heartbeat_gaps(seconds: float | None, until=None) -> list[float]:
    """Run the real event loop with a 10 ms timer; the gaps between its ticks, in ms."""
    from PySide6.QtCore import QEventLoop, QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]
    loop = QEventLoop()
    end = time.perf_counter() + (seconds or 1e9)

    def beat():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now
        if now >= end or (until and until()):
            loop.quit()
    timer = QTimer(interval=10)
    timer.timeout.connect(beat)
    timer.start()
    loop.exec()
    timer.stop()
    return gaps[1:]


def peak_rss_of_this_process_mb() -> float:
    line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


ENGINE_ON_MAIN_THREAD = """
import json, statistics, sys
from digitpad.core.events import Progress
from digitpad.core.trainer import TrainConfig, Trainer
rates = [ev.samples_per_s for ev in Trainer(TrainConfig(**json.loads(sys.argv[1]))).run() if isinstance(ev, Progress)]
print(statistics.median(rates[len(rates) // 2:]))
"""


def cli_rate(cfg: TrainConfig) -> float:
    """Steady training speed of the engine on a fresh process's main thread, as `digitpad train` runs it."""
    out = subprocess.run([sys.executable, "-c", ENGINE_ON_MAIN_THREAD, json.dumps(asdict(cfg))],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def train_in_app(tab) -> tuple[list[float], float]:
    """One epoch of the CNN from the Start button: heartbeat gaps meanwhile, and the steady speed."""
    tab.start_training()
    rates: list[float] = []
    tab.run.worker.progress.connect(lambda ev: rates.append(ev.samples_per_s))
    gaps = heartbeat_gaps(None, until=lambda: not tab.is_running())
    return gaps, median(rates[len(rates) // 2:])


def bench_window():
    """The app's main window, shown, with settings kept apart from the user's: what every GUI benchmark measures."""
    from digitpad.gui.app import make_window

    window = make_window("DigitPadBench")
    window.show()
    return window


def main(runs: int = 3) -> str:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    window = bench_window()
    app = QApplication.instance()
    heartbeat_gaps(4.0)  # let the window settle (first paint, shipped models, preloading)
    idle = heartbeat_gaps(3.0)

    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("cnn"))
    tab.epochs.setValue(1)
    tab.subset.setCurrentIndex(tab.subset.findText("all"))
    tab.test_limit = None
    cfg = tab.config()
    busy: list[float] = []
    app_rates: list[float] = []
    cli_rates: list[float] = []
    for _ in range(runs):  # interleaved, so that a slow spell of the machine hits both sides
        gaps, rate = train_in_app(tab)
        busy += gaps
        app_rates.append(rate)
        cli_rates.append(cli_rate(cfg))
    rss_mb = peak_rss_of_this_process_mb()
    platform = app.platformName()
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    app_rate, cli = median(app_rates), median(cli_rates)
    rows = [["idle (baseline)", f"{max(idle):.1f}", f"{pct(idle, 99):.1f}", f"{median(idle):.1f}", "—"],
            [f"CNN training, 1 epoch of MNIST (×{runs})", f"{max(busy):.1f}", f"{pct(busy, 99):.1f}",
             f"{median(busy):.1f}", f"{app_rate:,.0f} img/s"]]
    return section(f"GUI responsiveness: 10 ms heartbeat on the GUI thread (Qt platform {platform})",
                   ["app state", "max gap ms", "p99 gap ms", "median gap ms", "training throughput"], rows,
                   f"Throughput in the app {app_rate:,.0f} img/s vs the engine on a process's main thread as "
                   f"`digitpad train` runs it {cli:,.0f} img/s (medians of {runs} interleaved runs each): ratio "
                   f"{app_rate / cli:.2f}. Peak RSS of the app after training the CNN: {rss_mb:,.0f} MB. "
                   "Goals: max gap ≤ 30 ms; RSS ≤ 1.3 GB.")


if __name__ == "__main__":
    main()
