"""Run every benchmark and record the figures in docs/BENCHMARKS.md (`make bench`)."""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine  # noqa: E402

BENCHMARKS = ("epoch_time", "time_to_99", "canvas_latency", "gui_responsiveness", "busy_load", "startup",
              "drawn_digits", "finetune_time", "run_records", "explain_latency", "unsure_threshold", "lessons",
              "playground", "map", "attacks", "adversarial_training", "not_a_digit", "class_set", "step_time",
              "drawn_training")


NOTES = HERE / "NOTES.md"  # history and reasons no run re-measures, appended as they are


def gpu_note() -> str:
    import torch

    if torch.cuda.is_available():
        return ""
    return ("- No GPU on this machine: the GPU figures (time to 99 % on one H100, epoch times on CUDA) "
            "are not in this recording; `python bench/time_to_99.py cuda` and `python bench/epoch_time.py cuda` "
            "measure them where one exists.\n")


def _section_of(module: str) -> str:
    return importlib.import_module(module).main()


def run_fresh(module: str) -> str:
    """One benchmark in a new process, as a user would start the app or the CLI.

    In one shared process the GUI benchmark ran after others had trained on the main thread, which
    then owned an OpenMP team and slowed the app's worker (the libgomp effect the app avoids).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_section_of, module).result()


def main() -> None:
    sections = [run_fresh(module) for module in BENCHMARKS]
    header = (f"# Benchmarks\n\nRecorded {date.today().isoformat()} by `make bench` (`bench/run_all.py`) on: "
              f"{machine()}.\nEach table carries its baseline, measured in the same run.\n")
    out = HERE.parent / "docs" / "BENCHMARKS.md"
    notes = NOTES.read_text().split("-->", 1)[-1].strip()
    out.write_text(header + "\n" + "\n\n".join(sections) + "\n\n" + notes + "\n" + gpu_note())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
