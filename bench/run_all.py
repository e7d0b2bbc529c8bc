"""Run every benchmark and record the figures in docs/BENCHMARKS.md (`make bench`)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import canvas_latency  # noqa: E402
import drawn_digits  # noqa: E402
import epoch_time  # noqa: E402
import gui_responsiveness  # noqa: E402
import startup  # noqa: E402
import time_to_99  # noqa: E402
from common import machine  # noqa: E402


NOTES = """### Reading these numbers

- The epoch benchmark's MLP row is compute-bound on a small CPU: one MLP epoch at batch 256 is
  ~207 GFLOP, and the engine runs it at ~110 GFLOP/s on 2 cores, so the ratio to the textbook loop
  is set by how slow the textbook loop is on the machine. Softmax regression is overhead-bound, which
  is where slicing one tensor beats a DataLoader by 30×.
- The fast preset never looks at the test set while training: it is one epoch with a fixed schedule;
  the test accuracy is only reported.
- GUI gaps during training are most likely CPU contention on 2 cores (the worker and its intra-op thread use
  both); the app preloads `torch._dynamo` on a thread at start-up, because the first optimizer step
  imports it lazily and froze the window for ~230 ms at Start.
- Small VMs vary ±30 % between runs; compare within one table, not across recordings.
"""


def gpu_note() -> str:
    import torch

    if torch.cuda.is_available():
        return ""
    return ("- No GPU on this machine: the GPU figures (time to 99 % on one H100, epoch times on CUDA) "
            "are not in this recording; `python bench/time_to_99.py cuda` and `python bench/epoch_time.py cuda` "
            "measure them where one exists.\n")


def main() -> None:
    sections = [epoch_time.main(), time_to_99.main(), canvas_latency.main(), gui_responsiveness.main(),
                startup.main(), drawn_digits.main()]
    header = (f"# Benchmarks\n\nRecorded {date.today().isoformat()} by `make bench` (`bench/run_all.py`) on: "
              f"{machine()}.\nEach table carries its baseline, measured in the same run.\n")
    out = HERE.parent / "docs" / "BENCHMARKS.md"
    out.write_text(header + "\n" + "\n\n".join(sections) + "\n\n" + NOTES + gpu_note())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
