"""The Step tab: one mini-batch step with its display, slow-motion play's longest stall, the CNN's history memory.

1. Per model, 100 steps: the plain-torch step (forward, loss, backward, update on the same batch: the
   baseline), the session's step (that step plus what the tab shows: loss and p(true) before/after, norms,
   test loss/accuracy on 1,000 images, the numpy views) and the display (the GUI thread's handler and the
   painting of what it changed, with every panel of a 1920×1080 window in view: the heaviest case). p50 / p95.
2. Slow motion at 10 steps/s in a 1024×600 window: the gaps of a 10 ms heartbeat on the GUI thread, the app
   idle (baseline), alone and beside one busy process.
3. 200 CNN steps (Adam): the memory of the states kept to go back, beside what a copy per step would take,
   and what a Back then costs (it may replay steps from the last kept state).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, pct, section  # noqa: E402
from gui_responsiveness import bench_window, heartbeat_gaps  # noqa: E402

import torch  # noqa: E402

from digitpad.core.events import Failed  # noqa: E402
from digitpad.core.models import model_spec  # noqa: E402
from digitpad.core.preprocess import normalize_, unit_float  # noqa: E402
from digitpad.core.step import STEP_THREADS, BatchOrder, LaneConfig, Opened, StepConfig, open_session  # noqa: E402
from digitpad.core.trainer import initial_model, make_optimizer, train_step  # noqa: E402

STEPS = 100
MODELS = ("softmax", "mlp", "cnn")
GOALS_MS = {"softmax": 100, "mlp": 100, "cnn": 300}


def course_config(model: str) -> StepConfig:
    d = model_spec(model).defaults.for_dataset("mnist")
    return StepConfig(model=model, batch_size=d["batch_size"],
                      lanes=(LaneConfig(d["optimizer"], d["lr"], d["momentum"]),))


def opened(cfg: StepConfig) -> Opened:
    events = list(open_session(cfg))
    if isinstance(events[-1], Failed):
        raise SystemExit(events[-1].message)
    return events[-1]


def plain_torch_ms(cfg: StepConfig, session) -> list[float]:
    """The same model, optimizer and batches, stepped by `train_step` alone, on as many threads as the session."""
    torch.set_num_threads(STEP_THREADS)
    lane = cfg.train_config(cfg.lanes[0])
    model = initial_model(cfg.model, cfg.seed, torch.device("cpu")).train()
    optimizer = None if model_spec(cfg.model).from_scratch else make_optimizer(lane, model.parameters())
    order, data = BatchOrder(len(session.data.y_train), cfg.batch_size, cfg.seed), session.data
    times = []
    for k in range(1, STEPS + 1):
        indices = order.indices(k)
        start = time.perf_counter()
        x = normalize_(unit_float(data.x_train.index_select(0, indices)), data.info.mean, data.info.std)
        train_step(model, optimizer, x, data.y_train.index_select(0, indices), lr=lane.lr)
        times.append((time.perf_counter() - start) * 1000)
    return times


def tab_steps_ms(window, cfg: StepConfig) -> tuple[list[float], list[float], object]:
    """The session's step (core, with its views) and the tab drawing it, timed apart, in the bench's thread."""
    from PySide6.QtWidgets import QApplication

    tab = window.step
    ev = opened(cfg)
    tab._on_opened(ev)
    session = ev.session
    core, display = [], []
    for _ in range(STEPS):
        start = time.perf_counter()
        [stepped] = list(session.run(1))
        middle = time.perf_counter()
        tab._on_stepped(stepped)
        QApplication.processEvents()  # the GUI thread's share: the handler, then painting what it changed
        end = time.perf_counter()
        core.append((middle - start) * 1000)
        display.append((end - middle) * 1000)
    return core, display, session


def step_table(window) -> str:
    window.resize(1920, 1050)
    window.tabs.setCurrentWidget(window.step)
    heartbeat_gaps(0.5)
    rows = []
    for model in MODELS:
        cfg = course_config(model)
        core, display, session = tab_steps_ms(window, cfg)
        plain = plain_torch_ms(cfg, session)
        total = [c + d for c, d in zip(core, display)]
        lane = cfg.lanes[0]
        rows.append([f"{model} ({lane.label}, batch {cfg.batch_size})", f"{median(plain):.1f} / {pct(plain, 95):.1f}",
                     f"{median(core):.1f} / {pct(core, 95):.1f}", f"{median(display):.1f} / {pct(display, 95):.1f}",
                     f"{median(total):.1f} / {pct(total, 95):.1f}", f"≤ {GOALS_MS[model]}"])
    return section(f"Step tab: one step with its display, ms p50 / p95 over {STEPS} steps (MNIST, CPU, "
                   f"{STEP_THREADS} thread)",
                   ["model", "plain torch step (baseline)", "session step: + measures, test subset, views",
                    "display: every panel drawn (1920×1080)", "step with its display", "goal p95"], rows,
                   "The session's step adds to the plain one: the batch's loss and p(true) after the step (and, for "
                   "the CNN, before it, in eval mode), the test loss and accuracy on 1,000 images, per-layer norms, "
                   "a checksum of the weights and the numpy views. In the app the step runs on a worker thread and "
                   "the display on the GUI thread.")


def play_gaps(window, model: str, seconds: float) -> list[float]:
    tab = window.step
    tab.setup.model.setCurrentIndex(tab.setup.model.findData(model))
    tab.speed.setValue(10)
    tab.new_session()
    heartbeat_gaps(None, until=lambda: not tab.is_busy())
    tab.play()
    gaps = heartbeat_gaps(seconds)
    tab.stop()
    heartbeat_gaps(None, until=lambda: not tab.is_busy())
    return gaps


def play_table(window, seconds: float = 5.0) -> str:
    window.resize(1024, 600)
    window.tabs.setCurrentWidget(window.step)
    idle = heartbeat_gaps(3.0)
    rows = [["idle (baseline)", "—", f"{max(idle):.1f}", f"{pct(idle, 99):.1f}", f"{median(idle):.1f}"]]
    for load in ("alone", "beside 1 busy process"):
        busy = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if load != "alone" else None
        try:
            for model in MODELS:
                gaps = play_gaps(window, model, seconds)
                rate = window.step.session.step / seconds  # a fresh session per play: its steps in `seconds`
                rows.append([f"play 10 steps/s, {model}", f"{load}: {rate:.1f} steps/s", f"{max(gaps):.1f}",
                             f"{pct(gaps, 99):.1f}", f"{median(gaps):.1f}"])
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return section("Step tab: slow motion at 10 steps/s, 10 ms heartbeat on the GUI thread (1024×600, Batch panel)",
                   ["app state", "load: steps reached", "max gap ms", "p99 gap ms", "median gap ms"], rows,
                   "Goal: longest stall ≤ 30 ms. A step that takes longer than 1/10 s (the CNN beside a busy "
                   "process) plays slower, never stalls the window.")


def history_table() -> str:
    cfg = course_config("cnn")
    session = opened(cfg).session
    start = time.perf_counter()
    for _ in session.run(200, views=False):
        pass
    seconds = time.perf_counter() - start
    state = session.lanes[0].states[0].nbytes
    full_state = session.lanes[0].current.nbytes  # with Adam's two tensors per parameter
    backs = []
    for _ in range(10):
        start = time.perf_counter()
        list(session.go_to(session.step - 1))
        backs.append((time.perf_counter() - start) * 1000)
    return section("Step tab: history of 200 CNN steps (Adam, batch 128)",
                   ["kept", "one state (weights + Adam's m, v)", "a copy per step (baseline)", "kept states",
                    "every K-th kept", "Back: p50 / max ms", "200 steps took"],
                   [[f"steps {session.oldest}–{session.last} and 0", f"{full_state / 2**20:.2f} MB "
                     f"(weights alone {state / 2**20:.2f} MB)", f"{200 * full_state / 2**20:.0f} MB",
                     f"{session.memory / 2**20:.1f} MB", f"K = {session.every}",
                     f"{median(backs):.0f} / {max(backs):.0f}", f"{seconds:.1f} s"]],
                   "Goal: ≤ 200 MB. A Back restores the nearest kept state before the step and replays from "
                   "there (at most K − 1 steps), then takes the step again to show it; each replay is checked "
                   "against the checksum recorded the first time.")


def main() -> str:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    window = bench_window()
    app = QApplication.instance()
    heartbeat_gaps(3.0)  # the window settles: shipped models, preloading
    out = [step_table(window), play_table(window), history_table()]
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return "\n\n".join(out)


if __name__ == "__main__":
    main()
