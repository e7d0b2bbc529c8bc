"""Training beside a busy program: epoch times and the window's longest stall, alone vs beside one
`python -c "while 1: pass"`, under the thread policy of before (baseline) and today's.

Policies, each measured in a fresh process (OpenMP reads its wait policy once, when torch loads):
- baseline: OpenMP's default wait (threads spin a while before sleeping), one thread per core, always:
  what DigitPad did before;
- DigitPad: the default wait, with as many threads as cores other programs leave free, re-chosen
  once a second (`devices.CpuShare`);
- one thread, always: the floor beside one busy program on 2 cores (one core is all there is), and what
  a compute-bound model loses against two threads when the machine is idle;
- all cores, passive wait (waiting threads sleep at once): the alternative measured and rejected.
Softmax regression and the MLP on all 60,000 images, the median of the warm epochs; in the app, the MLP from the Start button with a 10 ms heartbeat on the GUI
thread. Loads and policies are interleaved and repeated: other programs on the machine move the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICIES = ("baseline", "digitpad", "one", "passive")
TITLES = {"baseline": "baseline: all cores, spin-wait", "digitpad": "DigitPad: threads on the free cores",
          "one": "one thread: the floor beside a busy program", "passive": "all cores, passive wait"}


def apply_policy(policy: str) -> None:
    """Before torch loads: OpenMP reads its wait policy once."""
    if policy == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if policy in ("baseline", "passive"):
        from digitpad.core.devices import CpuShare

        CpuShare.adjust = lambda self: self.threads  # all cores, never re-chosen
    if policy == "one":
        import torch

        from digitpad.core.devices import CpuShare

        def one_thread(self) -> int:
            torch.set_num_threads(1)
            return 1

        CpuShare.adjust = one_thread


def epoch_seconds() -> dict[str, float]:
    """Warm epoch times in the engine, as `digitpad train` runs it (main thread)."""
    from statistics import median

    from digitpad.core.events import EpochEnd

    from digitpad.core.trainer import TrainConfig, Trainer

    out = {}
    for model in ("softmax", "mlp"):
        cfg = TrainConfig.for_model(model, epochs=3, batch_size=256, device="cpu", test_limit=1000)
        seconds = [ev.train_seconds for ev in Trainer(cfg).run() if isinstance(ev, EpochEnd)]
        out[model] = median(seconds[1:])
    return out


def app_stall() -> dict[str, float]:
    """The MLP trained from the app's Start button: the heartbeat's gaps and the epoch time."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(HERE))
    from gui_responsiveness import bench_window, heartbeat_gaps

    window = bench_window()
    heartbeat_gaps(3.0)  # first paint, shipped models, preloading
    idle = heartbeat_gaps(2.0)  # the same heartbeat with nothing to do: what the machine allows
    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("mlp"))
    tab.epochs.setValue(2)
    tab.batch_size.setValue(256)
    tab.subset.setCurrentIndex(tab.subset.findData(10_000))
    tab.device.setCurrentIndex(tab.device.findData("cpu"))
    tab.test_limit = 1000
    epochs: list[float] = []
    tab.start_training()
    tab.run.worker.epoch_ended.connect(lambda ev: epochs.append(ev.train_seconds))
    gaps = heartbeat_gaps(None, until=lambda: not tab.is_running())
    window.finish_background_work()
    gaps.sort()
    return {"idle_gap": max(idle), "max_gap": gaps[-1], "p99_gap": gaps[int(0.99 * (len(gaps) - 1))],
            "app_mlp": epochs[-1] * 60_000 / 10_000}


def child(policy: str, what: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", policy, what], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{policy} {what} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(repeats: int = 2, policies: tuple[str, ...] = POLICIES) -> str:
    sys.path.insert(0, str(HERE))
    from common import median, section

    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(repeats):
        for load in ("alone", "busy"):
            busy = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if load == "busy" else None
            try:
                time.sleep(0.5)
                for policy in policies:
                    figures = {**child(policy, "epochs"), **child(policy, "app")}
                    print(policy, load, {k: round(v, 3) for k, v in figures.items()}, flush=True)
                    results.setdefault((policy, load), []).append(figures)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()

    def med(policy: str, load: str, key: str) -> float:
        return median([r[key] for r in results[(policy, load)]])

    rows = []
    for policy in policies:
        for load in ("alone", "busy"):
            rows.append([TITLES[policy] if load == "alone" else "", "alone" if load == "alone" else "beside 1 busy",
                         *(f"{med(policy, load, k):.2f} s" for k in ("softmax", "mlp", "app_mlp")),
                         f"{med(policy, load, 'max_gap'):.0f}", f"{med(policy, load, 'p99_gap'):.0f}",
                         f"{med(policy, load, 'idle_gap'):.0f}"])
    ratios = "; ".join(
        f"{TITLES[p].split(':')[0]} " + ", ".join(f"{k} ×{med(p, 'busy', k) / med(p, 'alone', k):.2f}"
                                                  for k in ("softmax", "mlp", "app_mlp"))
        for p in policies)
    return section(f"Training beside a busy program (CPU; medians of {repeats} interleaved repeats)",
                   ["thread policy", "load", "softmax epoch", "MLP epoch", "MLP epoch in the app",
                    "app max gap ms", "app p99 gap ms", "max gap, app idle (baseline) ms"], rows,
                   f"Slow-down beside one busy process: {ratios}. Goals: ≤ 1.4× beside one busy process, "
                   "max gap ≤ 30 ms, no loss alone. Other programs on the machine (other users' jobs) count "
                   "as load on both sides; compare rows of one table, not recordings.")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        apply_policy(sys.argv[2])
        print(json.dumps(epoch_seconds() if sys.argv[3] == "epochs" else app_stall()))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2, tuple(sys.argv[2:]) or POLICIES)
