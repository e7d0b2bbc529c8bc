"""Shared helpers for the benchmarks: tables, percentiles, the machine description."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

import numpy as np


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table, printed and written to docs/BENCHMARKS.md alike."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def section(title: str, headers: list[str], rows: list[list], note: str = "") -> str:
    """One benchmark's Markdown section: printed as it is measured, and returned for docs/BENCHMARKS.md."""
    out = f"### {title}\n\n{table(headers, rows)}" + (f"\n\n{note}" if note else "")
    print(out, flush=True)
    return out


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def median(values) -> float:
    return statistics.median(values)


def machine() -> str:
    import torch

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"{cpu}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}, torch {torch.__version__}, "
            f"{platform.system()} {platform.release()}")
