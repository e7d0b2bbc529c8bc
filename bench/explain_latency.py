"""The Explain panel's cost: stroke end → everything painted, with the panel hidden and shown, per shipped model.

Same run, same drawings, torch on one thread as on the app's GUI thread:
- core, plain: rasterize + preprocess + inference (`classify_strokes`, the baseline);
- core, explained: the same plus hooks, the runner-up and one backward pass (`explain_strokes`);
- GUI, panel hidden: the Canvas tab's whole update, then the event loop until every changed widget is laid
  out and painted (offscreen);
- GUI, panel shown, first paint: the same with the Explain panel visible (at 1280×800, as in the screenshots),
  until every section but the saliency is painted (the saliency's child process computes meanwhile, as in the app);
- GUI, panel shown, everything painted: the same, then the event loop until the saliency has come back
  from its child process and its maps are painted: the full cost of a stroke, the figure the goal is about.

Each cell is wall-clock p50 / p95, then [CPU time of this thread p50 / p95]: on a shared machine
(load average printed) the wall clock mostly measures waiting for a core, the CPU time what the
update costs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from canvas_latency import canvas_tab_with  # noqa: E402
from common import pct, section  # noqa: E402

from digitpad.core.checkpoints import load_checkpoint, shipped_models  # noqa: E402
from digitpad.core.devices import keep_this_thread_serial  # noqa: E402
from digitpad.core.explain import explain_strokes  # noqa: E402
from digitpad.core.inference import classify_strokes  # noqa: E402
from digitpad.core.sample_digits import drawn_digit_set  # noqa: E402

N = 150


def timed(fn, items) -> list[tuple[float, float]]:
    """(wall ms, CPU ms of this thread) per item."""
    out = []
    for item in items:
        wall, cpu = time.perf_counter(), time.thread_time()
        fn(item)
        out.append(((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000))
    return out


def cell(times: list[tuple[float, float]]) -> str:
    wall, cpu = [t[0] for t in times], [t[1] for t in times]
    return f"{pct(wall, 50):.1f} / {pct(wall, 95):.1f} [{pct(cpu, 50):.1f} / {pct(cpu, 95):.1f}]"


def gui_times(model, drawings) -> tuple[list, list, list]:
    """(panel hidden, shown to its first paint, shown to everything painted), interleaved drawing by drawing
    so drift hits all alike."""
    from PySide6.QtCore import QEvent, QEventLoop

    from digitpad.gui.canvas.drawing import Sketch

    app, tab = canvas_tab_with(model)

    def saliency_painted():
        while tab.saliency.busy():  # panel shown: the saliency, computed by the child meanwhile
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        app.processEvents()  # and its maps painted

    def update(strokes):
        tab.canvas.sketch = Sketch(tuple(strokes.strokes))
        tab.classify()
        app.processEvents()  # the layout and the painting of every widget the update changed, as the app does
        saliency_painted()

    def first_paint(strokes):
        tab.canvas.sketch = Sketch(tuple(strokes.strokes))
        tab.classify()
        app.processEvents()

    def first_paint_timed(strokes):
        times = timed(first_paint, [strokes])
        saliency_painted()  # not timed: the next drawing starts on a quiet child
        return times

    hidden, first, shown = [], [], []
    for strokes in drawings:
        for on, fn, times in ((False, update, hidden), (True, first_paint_timed, first), (True, update, shown)):
            if tab.explain_button.isChecked() != on:
                tab.explain_button.setChecked(on)
                update(strokes)  # opening the panel explains the drawing: not timed
            times += fn(strokes) if fn is first_paint_timed else timed(fn, [strokes])
    tab.saliency.release()
    tab.close()
    tab.deleteLater()
    tab.library.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return hidden, first, shown


def main() -> str:
    keep_this_thread_serial()
    drawings = [s for _, s, _ in drawn_digit_set()][1::5][:N]
    rows = []
    for path in shipped_models():
        model = load_checkpoint(path)
        explain_strokes(model, drawings[0])  # warm-up
        plain = timed(lambda s: classify_strokes(model, s), drawings)
        explained = timed(lambda s: explain_strokes(model, s), drawings)
        hidden, first, shown = gui_times(model, drawings)
        rows.append([path.stem, *(cell(t) for t in (plain, explained, hidden, first, shown))])
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return section(f"Explain panel, stroke end → everything painted, ms p50 / p95 [CPU p50 / p95] over "
                   f"{len(drawings)} drawings (load average at the end: {load})",
                   ["model", "core: plain prediction (baseline)", "core: explanation",
                    "GUI: panel hidden", "GUI: panel shown, all but the saliency painted",
                    "GUI: panel shown, everything painted"], rows,
                   "Goal: p95 ≤ 16 ms for the CNN with the panel shown (one frame at 60 Hz); hidden, the panel "
                   "adds nothing to the canvas update.")


if __name__ == "__main__":
    main()
