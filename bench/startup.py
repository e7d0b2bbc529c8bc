"""Process start → main window shown (cold: the first start in this run; warm: median of the next
three), against the bare imports it cannot avoid; and peak RSS of `digitpad train` on the CNN."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, section  # noqa: E402

SHOW_WINDOW = """
import sys
from PySide6.QtCore import QTimer
from digitpad.gui.app import open_window
app, window = open_window(sys.argv)
QTimer.singleShot(0, lambda: (print("shown", flush=True), app.quit()))
app.exec()
window.finish_background_work()
"""


def time_to_shown(env) -> float:
    """Seconds from starting the process to the window reporting itself shown (not to process exit:
    the app finishes loading models and modules in the background after that)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SHOW_WINDOW], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, text=True)
    for line in proc.stdout:
        if line.startswith("shown"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError("the window never reported itself shown")
    proc.wait()
    return elapsed


def wall(code: str, env=None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


PEAK_AT_EXIT = ("import atexit, sys\n"
                "def hwm():\n"
                "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
                "    print('VmHWM', int(line.split()[1]), file=sys.stderr)\n"
                "atexit.register(hwm)\n")


def peak_rss_mb(code: str) -> float:
    """The child's own peak RSS (VmHWM), printed by the child at exit.

    Not wait4's ru_maxrss: on Linux a child inherits the parent's high-water mark through fork,
    so every child of this torch-loaded process would report at least the parent's size.
    """
    result = subprocess.run([sys.executable, "-c", PEAK_AT_EXIT + code], capture_output=True, text=True,
                            check=True)
    line = next(l for l in reversed(result.stderr.splitlines()) if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def main() -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    cold = time_to_shown(env)
    warm = median([time_to_shown(env) for _ in range(3)])
    bare = median([wall("pass") for _ in range(3)])
    torch_only = median([wall("import torch") for _ in range(3)])
    torch_tv = median([wall("import torch, torchvision") for _ in range(3)])
    rows = [["python -c pass", f"{bare:.2f} s"], ["import torch (baseline)", f"{torch_only:.2f} s"],
            ["import torch, torchvision", f"{torch_tv:.2f} s"],
            ["DigitPad window shown, cold (first start in this run)", f"{cold:.2f} s"],
            ["DigitPad window shown, warm (median of 3)", f"{warm:.2f} s"]]
    with tempfile.TemporaryDirectory() as tmp:
        rss_torch = peak_rss_mb("import torch")
        rss_train = peak_rss_mb("from digitpad.cli import main\n"
                                f"main(['train', '--model', 'cnn', '--epochs', '1', '--out', '{tmp}/cnn.pt'])")
    rows += [["peak RSS: import torch (baseline)", f"{rss_torch:,.0f} MB"],
             ["peak RSS: digitpad train --model cnn --epochs 1", f"{rss_train:,.0f} MB"]]
    return section("Start-up and memory", ["what", "measured"], rows,
                   "Goals: window ≤ 3 s warm; RSS ≤ 1.3 GB while training the CNN.")


if __name__ == "__main__":
    main()
