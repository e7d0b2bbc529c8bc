"""What recording a run costs: one record write by run length, and a run with vs without its recorder.

The recorder writes on the training thread (the worker's, in the app) at the start, each epoch end,
every 10 s of loss reports (JSON only) and the end (JSON + CSV). Baseline: the same training without
a recorder, measured in the same process.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, section  # noqa: E402

from digitpad.core.runs import RunRecord, RunRecorder, save_record  # noqa: E402
from digitpad.core.trainer import TrainConfig, Trainer  # noqa: E402

REPORTS_PER_MINUTE = 240  # one loss report every 0.25 s


def write_ms(minutes: int, with_csv: bool, folder: str) -> float:
    n = minutes * REPORTS_PER_MINUTE
    record = RunRecord(id=f"bench-{minutes}", name="bench", config=asdict(TrainConfig()), folder=Path(folder),
                       loss_x=[i / 240 for i in range(n)], loss_y=[2.3 / (1 + i / 100) for i in range(n)],
                       epochs=[dict(epoch=e, train_loss=0.3, train_accuracy=0.9, test_accuracy=0.9, seconds=6.0)
                               for e in range(1, max(2, minutes // 2))])
    times = []
    for _ in range(15):
        start = time.perf_counter()
        save_record(record, with_csv)
        times.append(time.perf_counter() - start)
    return 1000 * median(times)


def run_seconds(cfg: TrainConfig, folder: str | None) -> float:
    start = time.perf_counter()
    events = Trainer(cfg).run()
    for _ in (RunRecorder(cfg, folder).track(events) if folder else events):
        pass
    return time.perf_counter() - start


def main() -> str:
    with tempfile.TemporaryDirectory() as folder:
        writes = [[f"{m} min ({m * REPORTS_PER_MINUTE:,} reports)", f"{write_ms(m, False, folder):.1f} ms",
                   f"{write_ms(m, True, folder):.1f} ms"] for m in (1, 10, 60)]
        # Softmax regression: the shortest epochs, so the writes weigh the most.
        cfg = TrainConfig.for_model("softmax", epochs=3, device="cpu")
        run_seconds(cfg, None)  # warm: data loaded, first kernels
        pairs = [(run_seconds(cfg, None), run_seconds(cfg, folder)) for _ in range(5)]  # interleaved: drift hits both
        plain, recorded = median([p for p, _ in pairs]), median([r for _, r in pairs])
    first = section("Recording a run: one write of its record, median of 15", ["run length", "JSON (every 10 s)",
                                                                                 "JSON + CSV (epoch ends, end)"],
                    writes)
    second = section("Recording a run: softmax regression, 3 epochs of MNIST, cpu, median of 5",
                     ["without a recorder (baseline)", "with the recorder", "ratio"],
                     [[f"{plain:.2f} s", f"{recorded:.2f} s", f"{recorded / plain:.3f}"]])
    return first + "\n\n" + second


if __name__ == "__main__":
    main()
