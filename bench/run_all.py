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


def main() -> None:
    sections = [epoch_time.main(), time_to_99.main(), canvas_latency.main(), gui_responsiveness.main(),
                startup.main(), drawn_digits.main()]
    header = (f"# Benchmarks\n\nRecorded {date.today().isoformat()} by `make bench` (`bench/run_all.py`) on: "
              f"{machine()}.\nEach table carries its baseline, measured in the same run.\n")
    out = HERE.parent / "docs" / "BENCHMARKS.md"
    out.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
