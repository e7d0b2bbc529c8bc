"""Lesson 1: linear regression from scratch beside the concise `nn.Linear` loop, on the same data and minibatches.

Tiny: it advances a few minibatches per timer tick (well under 5 ms each) on the GUI thread."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QPushButton, QSpinBox, QSplitter

from digitpad.core import scratch
from digitpad.gui.common.charts import LOSS_COLOUR, TRAIN_COLOUR
from digitpad.gui.lessons.page import (LessonPage, SCRATCH_COLOUR, CodePane, control_row, fill_table, lesson_layout,
                                       make_plot, make_table, stacked)


class LinearRegressionLesson(LessonPage):
    """y = Xw + b + ε; from scratch and concise, in lockstep, from the same seed."""

    TITLE = "Linear regression"
    TIP = "y = Xw + b + ε, from scratch and concise, in lockstep"

    TICK_MS = 15
    STEP_BUDGET_S = 0.004  # per tick: the GUI thread never computes for longer than this

    def __init__(self) -> None:
        super().__init__()
        defaults = scratch.LinRegConfig()
        self.epochs = QSpinBox(minimum=1, maximum=50, value=defaults.epochs)
        self.lr = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=1.0, singleStep=0.01, value=defaults.lr)
        self.batch_size = QSpinBox(minimum=1, maximum=1000, value=defaults.batch_size)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=defaults.seed)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel("Press Start.")
        controls = control_row(("epochs", self.epochs), ("lr", self.lr), ("batch", self.batch_size),
                               ("seed", self.seed), self.start_button, self.stop_button, self.status)

        self.loss_plot = make_plot("loss (log)", "epoch", legend_columns=1)
        self.loss_plot.setLogMode(y=True)
        self.batch_curve = self.loss_plot.plot(pen=pg.mkPen("#9ecae1", width=1), name="minibatch (scratch)")
        self.scratch_curve = self.loss_plot.plot(pen=pg.mkPen(LOSS_COLOUR, width=2.5), symbol="o",
                                                 symbolBrush=LOSS_COLOUR, name="epoch: scratch")
        self.concise_curve = self.loss_plot.plot(pen=pg.mkPen(SCRATCH_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                                                 symbol="x", symbolPen=SCRATCH_COLOUR, name="epoch: concise")
        self.fit_plot = make_plot("y", "feature x₂ (x₁ at its mean)")
        self.points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(31, 119, 180, 90))
        self.fit_plot.addItem(self.points)
        self.fit_line = self.fit_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, width=3), name="fitted plane's slice")
        self.table = make_table(["", "true", "from scratch", "concise", "error (scratch)"])
        self.table.setMaximumHeight(130)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.loss_plot)
        charts.addWidget(self.fit_plot)
        left = stacked(charts, self.table, stretch=charts)
        code = CodePane(scratch.synthetic_data, scratch.data_iter, scratch.linreg, scratch.squared_loss, scratch.sgd,
                        scratch.train_linreg_scratch, scratch.train_linreg_concise)
        lesson_layout(self, "<b>Linear regression.</b> 1000 samples of y = Xw + b + ε with w = [2, −3.4], b = 4.2, "
                      "ε ~ N(0, 0.01²); minibatch SGD. The from-scratch loop (own <tt>linreg</tt>, "
                      "<tt>squared_loss</tt>, <tt>sgd</tt>) and the concise one (<tt>nn.Linear</tt> + "
                      "<tt>MSELoss</tt> + <tt>optim.SGD</tt>) see the same data, start from the same weights "
                      "and draw the same minibatches: their numbers agree.", controls, left, code)
        self.timer = QTimer(self)
        self.timer.setInterval(self.TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.runs: list[Iterator[scratch.LinRegEvent]] = []
        self._clear()
        self._set_running(False)

    def config(self) -> scratch.LinRegConfig:
        return scratch.LinRegConfig(epochs=self.epochs.value(), lr=self.lr.value(),
                                    batch_size=self.batch_size.value(), seed=self.seed.value())

    def is_running(self) -> bool:
        return self.timer.isActive()

    def shutdown(self) -> bool:
        self.timer.stop()
        return True

    def exercise_setup(self) -> dict:
        return {"lesson": "linreg", "epochs": self.epochs.value(), "lr": self.lr.value(),
                "batch_size": self.batch_size.value(), "seed": self.seed.value()}

    def start(self) -> None:
        cfg = self.config()
        features, labels, _ = scratch.linreg_data(cfg)
        self.cfg, self.features = cfg, features
        self._clear()
        self.points.setData(features[:, 1].numpy(), labels[:, 0].numpy())
        self.x_line = np.array([float(features[:, 1].min()), float(features[:, 1].max())])
        self.runs = [scratch.train_linreg_scratch(cfg), scratch.train_linreg_concise(cfg)]
        total = cfg.epochs * -(-cfg.num_examples // cfg.batch_size)
        self.steps_per_tick = max(1, total // 250)  # the whole run animates in ~4 s, whatever its length
        self.loss_plot.setXRange(0, cfg.epochs, padding=0.02)
        self.status.setText("Training…")
        self._set_running(True)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.runs = []
        self._set_running(False)
        self.status.setText("Stopped.")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.epochs, self.lr, self.batch_size, self.seed):
            widget.setEnabled(not running)

    def _clear(self) -> None:
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self.epoch_loss: dict[str, list[float]] = {"scratch": [], "concise": []}
        self.latest: dict[str, scratch.LinRegStep | scratch.LinRegEpoch] = {}
        for curve in (self.batch_curve, self.scratch_curve, self.concise_curve, self.fit_line):
            curve.setData([], [])
        self.table.setRowCount(0)

    def _tick(self) -> None:
        """A few minibatches of each implementation, then one repaint."""
        start = time.perf_counter()
        for _ in range(self.steps_per_tick):
            events = [next(run, None) for run in self.runs]
            if events[0] is None:
                self._finish()
                return
            for name, ev in zip(("scratch", "concise"), events):
                self.latest[name] = ev
                if isinstance(ev, scratch.LinRegEpoch):
                    self.epoch_loss[name].append(ev.loss)
            if isinstance(events[0], scratch.LinRegStep) and math.isfinite(events[0].batch_loss):
                self.batch_x.append(events[0].fraction)
                self.batch_y.append(max(events[0].batch_loss, 1e-12))
            if time.perf_counter() - start > self.STEP_BUDGET_S:
                break
        self._redraw()

    def _redraw(self) -> None:
        self.batch_curve.setData(self.batch_x, self.batch_y)
        for name, curve in (("scratch", self.scratch_curve), ("concise", self.concise_curve)):
            losses = self.epoch_loss[name]
            curve.setData(list(range(1, len(losses) + 1)), [max(v, 1e-12) for v in losses])
        sc, co = self.latest["scratch"], self.latest["concise"]
        mean_x1 = float(self.features[:, 0].mean())
        self.fit_line.setData(self.x_line, sc.w[1] * self.x_line + sc.w[0] * mean_x1 + sc.b)
        cfg = self.cfg
        rows = [[f"w{i + 1}", f"{t:g}", f"{s:.4f}", f"{c:.4f}", f"{t - s:+.4f}"]
                for i, (t, s, c) in enumerate(zip(cfg.true_w, sc.w, co.w))]
        rows.append(["b", f"{cfg.true_b:g}", f"{sc.b:.4f}", f"{co.b:.4f}", f"{cfg.true_b - sc.b:+.4f}"])
        fill_table(self.table, rows)

    def _finish(self) -> None:
        self.timer.stop()
        self.runs = []
        self._redraw()
        self._set_running(False)
        last = self.epoch_loss["scratch"]
        self.status.setText(f"Done: loss {last[-1]:.6f} after {len(last)} epochs, the same in both." if last
                            else "Done.")
