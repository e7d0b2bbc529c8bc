"""From a finished stroke to updated probabilities, p50/p95 over 200 drawings, per shipped model.

Core: rasterize + preprocess + inference (what `classify_strokes` does). GUI: the Canvas tab's
whole update, chart, preview and answer painted (offscreen); and the same while the CNN trains on another
thread, as when a class draws on the canvas during a run. Torch runs on one thread here, as on the
app's GUI thread. Baseline in the same run: the naive pipeline (resize the whole canvas, then
inference), which skips the MNIST-style steps.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pct, section  # noqa: E402
from drawn_digits import naive_pixels  # noqa: E402

from digitpad.core.checkpoints import load_checkpoint, shipped_models  # noqa: E402
from digitpad.core.devices import keep_this_thread_serial  # noqa: E402
from digitpad.core.inference import classify_pixels, classify_strokes  # noqa: E402
from digitpad.core.sample_digits import drawn_digit_set  # noqa: E402
from digitpad.core.events import Progress, RunControl
from digitpad.core.trainer import TrainConfig, Trainer  # noqa: E402

N = 200


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def canvas_tab_with(model):
    """The app's Canvas tab alone, at the screenshots' size, classifying with this model: (app, tab)."""
    from digitpad.gui.app import qt_app
    from digitpad.gui.canvas.tab import CanvasTab
    from digitpad.gui.model_library import ModelLibrary

    app = qt_app()
    library = ModelLibrary()
    library.put(model)
    tab = CanvasTab(library)
    tab.resize(1280, 760)
    tab.show()
    app.processEvents()
    return app, tab


def gui_times(model, strokes_list) -> list[float]:
    from PySide6.QtCore import QEvent

    from digitpad.gui.canvas.drawing import Sketch

    app, tab = canvas_tab_with(model)

    def update(strokes):
        tab.canvas.sketch = Sketch(tuple(strokes.strokes))
        tab.classify()
        tab.chart.repaint()
        tab.preview.repaint()
        tab.answer.repaint()  # the answer shrinks its text to fit its slot: measured at each paint
        tab.detail.repaint()
    times = timed(update, strokes_list)
    tab.close()
    tab.deleteLater()
    tab.library.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return times


@contextmanager
def cnn_training():
    """The CNN training on a worker thread, as the app runs it, until the block ends."""
    control = RunControl()
    running = threading.Event()

    def train() -> None:
        for ev in Trainer(TrainConfig.for_model("cnn", epochs=50), control).run():
            if isinstance(ev, Progress):
                running.set()
    worker = threading.Thread(target=train, name="bench-training")
    worker.start()
    running.wait(120)
    try:
        yield
    finally:
        control.stop()
        worker.join()


def main() -> str:
    keep_this_thread_serial()
    drawings = [s for _, s, _ in drawn_digit_set()][::3][:N]
    rows = []
    for path in shipped_models():
        model = load_checkpoint(path)
        classify_strokes(model, drawings[0])  # warm-up
        naive = timed(lambda s: classify_pixels(model, naive_pixels(s)), drawings)
        core = timed(lambda s: classify_strokes(model, s), drawings)
        gui = gui_times(model, drawings)
        with cnn_training():
            busy = gui_times(model, drawings)
        rows.append([path.stem, *(f"{pct(t, 50):.2f} / {pct(t, 95):.2f}" for t in (naive, core, gui, busy))])
    return section(f"Canvas latency, stroke end → probabilities, ms p50 / p95 over {len(drawings)} drawings",
                   ["model", "naive resize + inference (baseline)", "core: rasterize + preprocess + inference",
                    "GUI: + chart, preview and answer painted", "GUI, while the CNN trains"], rows,
                   "Goals: p95 ≤ 5 ms for the core path, ≤ 16 ms with the chart (one frame at 60 Hz).")


if __name__ == "__main__":
    main()
