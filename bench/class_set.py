"""The class's digits at the size of a class: 40 writers × 50 drawings.

Three goals (issue 24): import 40 exports in ≤ 10 s, the class report for the shipped CNN in ≤ 10 s, and
leave-one-writer-out for 40 writers in ≤ 5 min on two cores. Baselines measured in the same run: unpacking
the same exports with `zipfile.extractall` (no checks at all), the CNN's inference alone on the same 2,000
fields, and one My digits Teach on one writer's 50 drawings (3 epochs). Leave-one-writer-out is measured on
the first writers and extrapolated to 40 (the number measured is in the table), as each writer costs the
same: `steps` fine-tuning steps and one evaluation.

    python bench/class_set.py [writers_measured]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import section  # noqa: E402

WRITERS, PER_WRITER = 40, 50
# bench/finetune_time.py's "engine on the main thread" on the quiet VM (docs/BENCHMARKS.md, 2026-12-02, load ~1):
# 200 samples, the same Teach recipe (4 epochs, 736 MNIST replayed per step since issue 26). Used to say what
# this run's times would be without the other load.
QUIET_TEACH_S = 11.3
MEASURED = int(sys.argv[1]) if len(sys.argv) > 1 else 6


def make_exports(root: Path) -> Path:
    """40 scripted writers, each their own size, slant, pen and shapes, exported as students would."""
    from digitpad.core.class_set import export_personal_set
    from digitpad.core.personal_set import add_sample
    from digitpad.core.preprocess import stroke_pixels
    from digitpad.core.strokes import Stroke, StrokeSet, as_points
    from digitpad.core.sample_digits import mirrored_strokes, shapes, transform

    for k in range(WRITERS):
        rng = np.random.default_rng(k)
        slant, size = rng.uniform(-14, 14), rng.uniform(0.45, 0.95)
        mirror = k % 13 == 5  # a few children write mirror digits
        for n in range(PER_WRITER):
            digit = n % 10
            options = shapes(digit)
            base = mirrored_strokes(digit) if mirror else options[int(rng.integers(len(options)))]
            moved = transform(base, scale=size * rng.uniform(0.85, 1.1), dx=rng.uniform(-40, 40),
                              dy=rng.uniform(-40, 40), angle_deg=slant + rng.uniform(-6, 6))
            strokes = StrokeSet(280, 280, float(rng.uniform(8, 28)), [Stroke(as_points(s)) for s in moved])
            add_sample(root / "sets" / f"w{k:02d}", digit, strokes, stroke_pixels(strokes))
        export_personal_set(root / "sets" / f"w{k:02d}", f"Writer {k + 1:02d}", root / "exports" / f"w{k:02d}.zip")
    return root / "exports"


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> str:
    import torch

    from digitpad.core.checkpoints import DEFAULT_MODEL, load_checkpoint
    from digitpad.core.class_set import (LowoConfig, LowoFinished, WriterDone, class_report, import_exports,
                                         leave_one_writer_out, load_class_set)
    from digitpad.core.datasets import load_dataset
    from digitpad.core.evaluation import predict_all
    from digitpad.core.events import RunControl
    from digitpad.core.finetune import Finetuner
    from digitpad.core.personal_set import PersonalSet

    root = Path(tempfile.mkdtemp(prefix="digitpad-bench-class-"))
    try:
        made, exports = timed(make_exports, root)
        print(f"made {WRITERS} exports of {PER_WRITER} drawings in {made:.1f} s", flush=True)
        model = load_checkpoint(DEFAULT_MODEL)
        load_dataset("mnist")  # read once per process, as in the app, before anything is timed

        def unzip_all() -> None:
            for path in sorted(exports.glob("*.zip")):
                with zipfile.ZipFile(path) as zf:
                    zf.extractall(root / "plain" / path.stem)

        plain, _ = timed(unzip_all)
        imported, reports = timed(lambda: [ev.report for ev in import_exports([exports], root / "class")])
        assert sum(r.imported for r in reports) == WRITERS * PER_WRITER, [r.as_json() for r in reports if r.skipped]

        loading, class_set = timed(load_class_set, root / "class")
        reporting, report = timed(class_report, model, class_set)
        images = class_set.tensors()[0].unsqueeze(1)
        inference, _ = timed(lambda: predict_all(model.model, images, model.meta.mean, model.meta.std))

        one = PersonalSet(root, class_set.writers[0].samples)
        teach, _ = timed(lambda: list(Finetuner(model, one).run()))

        control, times, cpu, results = RunControl(), [], [], []
        start = last = time.perf_counter()
        last_cpu = time.process_time()
        for ev in leave_one_writer_out(model, class_set, LowoConfig(), control):
            if isinstance(ev, WriterDone):
                now, now_cpu = time.perf_counter(), time.process_time()
                times.append(now - last)
                cpu.append(now_cpu - last_cpu)
                last, last_cpu = now, now_cpu
                results.append(ev.result)
                if len(results) == MEASURED:
                    control.stop()
            elif isinstance(ev, LowoFinished):
                stopped_after = time.perf_counter() - start
        steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
        estimate = times[0] + steady * WRITERS  # the 40 writers, then the fit on everyone (about one more)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    before = np.mean([r.before for r in results])
    after = np.mean([r.after for r in results])
    load = os.getloadavg()[0]
    rows = [
        [f"import {WRITERS} exports × {PER_WRITER} drawings", f"{imported:.1f} s", "≤ 10 s",
         f"zipfile.extractall, no checks: {plain:.1f} s"],
        ["class report, shipped CNN (read the class set + evaluate)", f"{loading + reporting:.1f} s "
         f"({loading:.1f} + {reporting:.2f})", "≤ 10 s", f"inference alone on the {images.shape[0]:,} fields: "
         f"{inference:.2f} s"],
        [f"leave-one-writer-out, {WRITERS} writers (measured {len(times)}, extrapolated)",
         f"{estimate / 60:.1f} min", "≤ 5 min", f"one Teach of one writer's {PER_WRITER} drawings: {teach:.1f} s"],
        ["… the same, scaled to a quiet machine by the Teach baseline", f"{estimate * QUIET_TEACH_S / teach / 60:.1f} min",
         "≤ 5 min", f"Teach recorded on the quiet VM: {QUIET_TEACH_S} s"],
    ]
    note = (f"Leave-one-writer-out: {LowoConfig().steps} fine-tuning steps per writer (32 class drawings + 96 "
            f"MNIST images each); first writer {times[0]:.1f} s, then a median {steady:.1f} s per writer "
            f"(measured: {', '.join(f'{t:.1f}' for t in times)} s; CPU time of this process per writer: "
            f"{', '.join(f'{t:.1f}' for t in cpu)} s; stopped after {stopped_after:.0f} s). "
            f"The quiet-machine row scales the estimate by {QUIET_TEACH_S} s / {teach:.1f} s, the Teach figure of "
            f"docs/BENCHMARKS.md (recorded at load ~2) over the same Teach in this run. "
            f"Estimate = first + {WRITERS} × median (the last \"writer\" being the fit on everyone). On the "
            f"{len(results)} writers measured: mean accuracy on the writer left out {before:.1%} → {after:.1%}. "
            f"Class report accuracy {report.report.accuracy:.1%}. torch {torch.__version__}; "
            f"load average at the end {load:.1f} on {os.cpu_count()} cores (a shared machine: noisy figures).")
    return section(f"The class's digits: {WRITERS} writers × {PER_WRITER} drawings",
                   ["step", "time", "goal", "baseline (same run)"], rows, note)


if __name__ == "__main__":
    main()
