"""Teach it your handwriting: how long fine-tuning the shipped CNN on 200 personal samples takes to the
reported "after", and whether the window stays responsive meanwhile (10 ms heartbeat on the GUI thread).

Baselines in the same run: the heartbeat with the app idle, and the same fine-tuning on a process's main
thread as `digitpad finetune` runs it. The samples are scripted mirror writing the shipped CNN misreads.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, pct, section  # noqa: E402
from gui_responsiveness import bench_window, heartbeat_gaps  # noqa: E402

N_SAMPLES = 200


def write_samples(folder: Path) -> None:
    from digitpad.core.personal_set import add_sample
    from digitpad.core.preprocess import stroke_pixels
    from digitpad.core.sample_digits import mirror_writing_set

    for label, strokes in itertools.islice(mirror_writing_set(40, seed=3), N_SAMPLES):
        add_sample(folder, label, strokes, stroke_pixels(strokes))


def engine_seconds(folder: Path, config=None):
    """Fine-tune as the CLI does, on this thread: (seconds to the Finished event, result)."""
    from digitpad.core.checkpoints import DEFAULT_MODEL, load_checkpoint
    from digitpad.core.finetune import Finetuner, finetune_result
    from digitpad.core.personal_set import load_personal_set

    base, personal = load_checkpoint(DEFAULT_MODEL), load_personal_set(folder)
    start = time.perf_counter()
    *_, finished = Finetuner(base, personal, config).run()
    return time.perf_counter() - start, finetune_result(finished.model)


def main() -> str:
    home = Path(tempfile.mkdtemp(prefix="digitpad-bench-home-"))
    os.environ["DIGITPAD_HOME"] = str(home)  # the app's My digits folder is home/my-digits
    folder = home / "my-digits"
    write_samples(folder)
    from digitpad.core.finetune import finetune_result

    window = bench_window()
    heartbeat_gaps(4.0)  # first paint, shipped models, the personal set read
    idle = heartbeat_gaps(3.0)
    tab = window.my_digits
    assert len(tab.personal.samples) == N_SAMPLES, tab.status.text()

    start = time.perf_counter()
    tab.teach()
    busy = heartbeat_gaps(None, until=lambda: tab.teaching is None)
    app_seconds = time.perf_counter() - start
    app_result = finetune_result(tab.last_taught)
    window.close()
    cli_seconds, cli_result = engine_seconds(folder)
    from digitpad.core.finetune import FinetuneConfig

    # Last release's recipe: 3 epochs, batches a quarter yours and three quarters replayed MNIST.
    old_seconds, old_result = engine_seconds(folder, FinetuneConfig(epochs=3, replay_batch=96))

    def fmt(r):
        return (f"{r.before:.1%} → {r.after:.1%} ({r.n_holdout} held out)",
                f"{r.mnist_before:.2%} → {r.mnist_after:.2%}")

    rows = [["idle window (baseline)", "—", "—", "—", f"{max(idle):.1f}", f"{pct(idle, 99):.1f}"],
            ["last release's recipe: 3 epochs, 32 yours + 96 MNIST per step (baseline)", f"{old_seconds:.1f}",
             *fmt(old_result), "—", "—"],
            ["engine on the main thread (`digitpad finetune`)", f"{cli_seconds:.1f}", *fmt(cli_result), "—", "—"],
            ["Teach button in the app", f"{app_seconds:.1f}", *fmt(app_result), f"{max(busy):.1f}",
             f"{pct(busy, 99):.1f}"]]
    cfg = FinetuneConfig()
    return section(f"Fine-tuning the shipped CNN on {N_SAMPLES} personal samples ({cfg.epochs} epochs, "
                   f"{cfg.personal_batch} yours + {cfg.replay_batch} replayed MNIST per step)",
                   ["run", "seconds to \"after\"", "your held-out digits", "MNIST test", "max gap ms", "p99 gap ms"],
                   rows, f"Median heartbeat gap while teaching: {median(busy):.1f} ms. "
                   "Goals: ≤ 30 s to the reported \"after\"; the window's longest stall ≤ 30 ms.")


if __name__ == "__main__":
    main()
