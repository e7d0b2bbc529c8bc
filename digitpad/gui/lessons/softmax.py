"""Lesson 2: softmax regression from scratch and concise, trained side by side by the engine on its thread."""

from __future__ import annotations

import math
from functools import partial

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter

from digitpad.core import scratch
from digitpad.core.datasets import DATASETS
from digitpad.core.events import EpochEnd, FailureKind, Progress, RunControl
from digitpad.core.models import MODELS, softmax_regression
from digitpad.core.trainer import TrainConfig, Trainer, train_step
from digitpad.gui.common.charts import LOSS_COLOUR, TEST_COLOUR, TRAIN_COLOUR, scale_lines
from digitpad.gui.lessons.page import (LessonPage, SCRATCH_COLOUR, CodePane, control_row, fill_table, lesson_layout,
                                       make_plot, make_table, stacked)
from digitpad.gui.common.widgets import SteadyButton, same_width
from digitpad.gui.common.worker import Worker, run_events
from digitpad.gui.training.form import CourseLr, setting_control


class SoftmaxLesson(LessonPage):
    """softmax-scratch and softmax trained side by side by the engine, their curves on one chart."""

    TITLE = "Softmax"
    TIP = "Softmax regression from scratch beside the engine's, on one chart"

    finished = Signal()  # both runs are over

    IMPLEMENTATIONS = (("softmax", "concise", LOSS_COLOUR), ("softmax-scratch", "scratch", SCRATCH_COLOUR))

    def __init__(self) -> None:
        super().__init__()
        defaults = MODELS["softmax-scratch"].defaults
        self.test_limit: int | None = None  # tests shrink the test set
        self.dataset = QComboBox()
        for name in ("fashion-mnist", "mnist"):
            self.dataset.addItem(DATASETS[name].title, name)
        self.subset = setting_control("train_limit", None)
        self.epochs = setting_control("epochs", defaults.epochs)
        self.lr = setting_control("lr", defaults.lr_for(self.dataset.currentData()), decimals=3)
        self.course_lr = CourseLr(self.lr, self.dataset, lambda: defaults)
        self.batch_size = setting_control("batch_size", defaults.batch_size)
        self.seed = setting_control("seed", 0)
        self.start_button, self.pause_button, self.stop_button = same_width(
            SteadyButton("Start"), SteadyButton("Pause", "Resume"), SteadyButton("Stop"))
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        # As many rows as the width needs: one on a wide screen, three on a netbook in large type.
        controls = control_row(("data", self.dataset), ("images", self.subset), ("epochs", self.epochs),
                               ("lr", self.lr), ("batch", self.batch_size), ("seed", self.seed),
                               self.start_button, self.pause_button, self.stop_button)

        self.loss_plot = make_plot("train loss", "epoch")
        self.acc_plot = make_plot("accuracy", "epoch")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setYRange(0, 1, padding=0.02)  # every run on one scale: a broken run's 10 % is seen as such
        self.marks: list[pg.InfiniteLine] = []  # where a run's loss stopped being a number
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {}
        self.data: dict[str, dict[str, list[float]]] = {}
        for model, title, colour in self.IMPLEMENTATIONS:
            style = Qt.PenStyle.SolidLine if title == "concise" else Qt.PenStyle.DashLine
            width = 3.5 if title == "concise" else 2
            self.curves[model] = {
                "loss": self.loss_plot.plot(pen=pg.mkPen(colour, width=width, style=style), name=title),
                "train": self.acc_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, width=width, style=style), symbol="o",
                                            symbolSize=6, symbolBrush=TRAIN_COLOUR, name=f"train acc, {title}"),
                "test": self.acc_plot.plot(pen=pg.mkPen(TEST_COLOUR, width=width, style=style), symbol="s",
                                           symbolSize=6, symbolBrush=TEST_COLOUR, name=f"test acc, {title}"),
            }
        self.table = make_table(["epoch", "concise", "scratch", "Δ"])
        self.table.setToolTip("Test accuracy after each epoch, concise and from scratch, and their difference (Δ)")
        self.status = QLabel("Press Start: both implementations train at once, from the same seed.")
        self.status.setWordWrap(True)
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.loss_plot)
        charts.addWidget(self.acc_plot)
        left = stacked(charts, self.status, stretch=charts)
        code = CodePane(scratch.softmax, scratch.cross_entropy, scratch.sgd, scratch.accuracy,
                        scratch.SoftmaxRegressionScratch, scratch.scratch_step, softmax_regression, Trainer._step,
                        train_step)
        lesson_layout(self, "<b>Softmax regression, from scratch vs concise.</b> The same data, seed and "
                      "initialisation (W ~ N(0, 0.01²), b = 0); the scratch model uses the course's own "
                      "<tt>softmax</tt>, <tt>cross_entropy</tt> and <tt>sgd</tt>, the concise one "
                      "<tt>nn.Linear</tt>, <tt>F.cross_entropy</tt> and <tt>optim.SGD</tt>. The curves lie on "
                      "top of each other: it is the same maths. The difference is numerical — "
                      "<tt>F.cross_entropy</tt> works on the logits with log-sum-exp, while the scratch "
                      "<tt>exp</tt> overflows once a logit passes ~88: try lr 50 — the scratch run's "
                      "loss turns into NaN, the concise one's stays a (huge) number until the "
                      "divergence watch stops it (lesson 4 shows why). DigitPad standardizes pixels (mean 0, std 1), "
                      "which makes each step about ten times stronger than on the course's pixels in [0, 1]: "
                      "the course's lr 0.1 is lr 0.03 here on Fashion-MNIST and 0.05 on MNIST.", controls, left, code,
                      numbers=self.table)
        self.runs: dict[str, Worker] = {}
        self._set_running(False)

    def is_running(self) -> bool:
        return bool(self.runs)

    def config(self, model: str) -> TrainConfig:
        return TrainConfig.for_model(model, dataset=self.dataset.currentData(), epochs=self.epochs.value(),
                                     lr=self.lr.value(), batch_size=self.batch_size.value(), seed=self.seed.value(),
                                     train_limit=self.subset.currentData(), test_limit=self.test_limit)

    def exercise_setup(self) -> dict:
        return {"lesson": "softmax", "dataset": self.dataset.currentData(), "epochs": self.epochs.value(),
                "lr": self.lr.value(), "batch_size": self.batch_size.value(), "seed": self.seed.value(),
                "train_limit": self.subset.currentData()}

    def start(self) -> None:
        if self.runs:
            return
        self.data = {model: {"loss_x": [], "loss": [], "epoch": [], "train": [], "test": []}
                     for model, _, _ in self.IMPLEMENTATIONS}
        for curves in self.curves.values():
            for curve in curves.values():
                curve.setData([], [])
        self.table.setRowCount(0)
        self.loss_plot.setXRange(0, self.epochs.value(), padding=0.02)
        self.loss_plot.enableAutoRange(axis="y")  # the new run's own scale, not the last one's
        for line in self.marks:
            self.loss_plot.removeItem(line)
        self.marks = []
        self.messages: dict[str, str] = {}
        for model, title, _ in self.IMPLEMENTATIONS:
            control = RunControl()
            self.runs[model] = run_events(
                Trainer(self.config(model), control).run, name="digitpad-training", control=control, parent=self,
                handlers={Progress: partial(self._on_progress, model), EpochEnd: partial(self._on_epoch_end, model)},
                failed=partial(self._on_failed, title),
                ended=partial(self._on_run_ended, model))
        self.status.setText("Training both…")
        self._set_running(True)

    def toggle_pause(self) -> None:
        paused = any(run.control.paused for run in self.runs.values())
        for run in self.runs.values():
            run.control.resume() if paused else run.control.pause()
        self.pause_button.setText("Pause" if paused else "Resume")

    def stop(self) -> None:
        for run in self.runs.values():
            run.control.stop()
        self.status.setText("Stopping…")

    def is_training(self) -> bool:
        return self.is_running()

    def shutdown(self) -> bool:
        return all([run.join() for run in list(self.runs.values())])

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        for widget in (self.dataset, self.subset, self.epochs, self.lr, self.batch_size, self.seed):
            widget.setEnabled(not running)

    def _on_progress(self, model: str, ev: Progress) -> None:
        d = self.data[model]
        if not math.isfinite(ev.loss) and all(math.isfinite(v) for v in d["loss"]):
            self._mark(model, ev.fraction, f"loss = {ev.loss}")  # NaN is no point on a chart: say where it came
        d["loss_x"].append(ev.fraction)
        d["loss"].append(ev.loss)
        self.curves[model]["loss"].setData(d["loss_x"], d["loss"], connect="finite")

    def _mark(self, model: str, at: float, text: str) -> None:
        """A dashed line in the run's colour where its loss stopped being a number, named on the chart."""
        title, colour = next((t, c) for m, t, c in self.IMPLEMENTATIONS if m == model)
        low, high = self.loss_plot.viewRange()[0]
        side = (-0.05, 0.5) if at < (low + high) / 2 else (1.05, 0.5)  # the words beside the line, never off the chart
        line = pg.InfiniteLine(at, angle=90, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                               label=f"{title}: {text}", labelOpts=dict(position=0.8 - 0.3 * len(self.marks),
                                                                        color=colour, fill="#ffffff",
                                                                        anchors=[side, side]))
        line.setZValue(20 - len(self.marks))  # an earlier mark's words stay above a later mark's line
        self.loss_plot.addItem(line)
        scale_lines([line])
        self.marks.append(line)

    def _on_epoch_end(self, model: str, ev: EpochEnd) -> None:
        d = self.data[model]
        d["epoch"].append(float(ev.epoch))
        d["train"].append(ev.train_accuracy)
        d["test"].append(ev.test_accuracy)
        self.curves[model]["train"].setData(d["epoch"], d["train"])
        self.curves[model]["test"].setData(d["epoch"], d["test"])
        self._fill_table()

    def _fill_table(self) -> None:
        concise, scratch_ = self.data["softmax"]["test"], self.data["softmax-scratch"]["test"]
        rows = []
        for i in range(max(len(concise), len(scratch_))):
            a = concise[i] if i < len(concise) else None
            b = scratch_[i] if i < len(scratch_) else None
            diff = f"{(b - a) * 100:+.2f} pts" if a is not None and b is not None else ""  # percentage points
            rows.append([str(i + 1), f"{a:.2%}" if a is not None else "…", f"{b:.2%}" if b is not None else "…",
                         diff])
        fill_table(self.table, rows)
        self.table.scrollToBottom()

    def _on_failed(self, title: str, message: str, kind: FailureKind) -> None:
        self.messages[title] = message
        model = next(m for m, t, _ in self.IMPLEMENTATIONS if t == title)
        d = self.data[model]
        if kind == FailureKind.DIVERGED and d["loss_x"] and all(math.isfinite(v) for v in d["loss"]):
            self._mark(model, d["loss_x"][-1], "stopped, diverged")  # a finite but exploding loss

    def _on_run_ended(self, model: str) -> None:
        self.runs.pop(model)
        if self.runs:
            return
        self._set_running(False)
        if self.messages:
            self.status.setText(" ".join(f"{title}: {message}" for title, message in self.messages.items()))
        else:
            concise, scratch_ = self.data["softmax"]["test"], self.data["softmax-scratch"]["test"]
            if concise and scratch_:
                self.status.setText(f"Done: test accuracy {concise[-1]:.2%} concise, {scratch_[-1]:.2%} from "
                                    "scratch.")
            else:
                self.status.setText("Stopped.")
        self.finished.emit()
