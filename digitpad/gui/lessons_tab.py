"""The Lessons tab: the course's from-scratch half, one page per lesson, each beside the code it runs.

Every page shows the real source of the functions it calls (inspect.getsource, read-only), so the
curve on the left and the code on the right cannot disagree. Training never runs on the GUI thread:
softmax regression goes through the engine's training thread (gui/training_run.py); linear
regression is tiny, and advances a few minibatches per timer tick (well under 5 ms each).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QSlider, QSpinBox, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QTextEdit, QVBoxLayout, QWidget)

from digitpad.core import scratch
from digitpad.core.datasets import DATASETS
from digitpad.core.models import MODELS, softmax_regression
from digitpad.core.trainer import EpochEnd, Progress, TrainConfig, Trainer
from digitpad.gui.charts import LOSS_COLOUR, TEST_COLOUR, TRAIN_COLOUR, StaticPlot, style_axis
from digitpad.gui.form_fields import CourseLr
from digitpad.gui.training_run import TrainingRun

SCRATCH_COLOUR = "#ff7f0e"
BROKEN_COLOUR = QColor("#f8c8c8")


def sources(*functions: Callable) -> str:
    """The functions' own source text, as the student should read it."""
    return "\n\n".join(inspect.getsource(fn).rstrip() for fn in functions)


class CodePane(QPlainTextEdit):
    """Read-only source of the lesson's functions; one line can be highlighted (lesson 4's fix)."""

    def __init__(self, *functions: Callable) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlainText(sources(*functions))
        self.setMinimumWidth(360)

    def highlight(self, text: str) -> None:
        """Give the first line containing `text` a yellow background (and scroll it into view)."""
        found = self.document().find(text)
        if found.isNull():
            return
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(QColor("#fff2a8"))
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.cursor = found
        selection.cursor.clearSelection()
        self.setExtraSelections([selection])
        self.setTextCursor(QTextCursor(found.block()))
        self.centerCursor()


def explanation(html: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def lesson_layout(page: QWidget, intro: str, controls: QWidget, left: QWidget, code: CodePane) -> None:
    """Intro on top, controls under it, then the live part beside the code."""
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left)
    split.addWidget(code)
    split.setSizes([760, 500])
    layout = QVBoxLayout(page)
    layout.addWidget(explanation(intro))
    layout.addWidget(controls)
    layout.addWidget(split, stretch=1)


def stacked(*parts: QWidget, stretch: QWidget) -> QWidget:
    """A lesson's live part: these widgets one above the other, `stretch` taking the spare height."""
    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        column.addWidget(part, stretch=1 if part is stretch else 0)
    return left


def make_plot(left: str, bottom: str) -> StaticPlot:
    plot = StaticPlot()
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True)
    for side in ("left", "bottom"):
        style_axis(plot.getAxis(side))
    plot.addLegend(offset=(-10, 10))
    return plot


def fill_table(table: QTableWidget, rows: list[list[str]], broken: set[tuple[int, int]] = frozenset()) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if (r, c) in broken:
                item.setBackground(BROKEN_COLOUR)
            table.setItem(r, c, item)


def make_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    return table


def number(x: float) -> str:
    """Floats as the lessons show them: inf and nan spelled out, tiny and huge ones in e-notation."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}" if x == 0 or 1e-4 <= abs(x) < 1e5 else f"{x:.3e}"


# --- lesson 1 -----------------------------------------------------------------------------------

class LinearRegressionLesson(QWidget):
    """y = Xw + b + ε; from scratch and concise, in lockstep, from the same seed."""

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
        controls = QWidget()
        row = QHBoxLayout(controls)
        row.setContentsMargins(0, 0, 0, 0)
        for title, widget in (("epochs", self.epochs), ("lr", self.lr), ("batch", self.batch_size),
                              ("seed", self.seed)):
            row.addWidget(QLabel(title))
            row.addWidget(widget)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.status, stretch=1)

        self.loss_plot = make_plot("loss (log)", "epoch")
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


# --- lesson 2 -----------------------------------------------------------------------------------

class RunRelay(QObject):
    """One run's signals, received on the GUI thread and tagged with the model they came from.

    A lambda connected to the worker's signals would run in the worker's thread (it has no thread
    of its own); a slot of this QObject, which lives in the GUI thread, is queued there instead.
    """

    def __init__(self, page: "SoftmaxLesson", model: str, title: str, parent: QObject) -> None:
        super().__init__(parent)
        self.page, self.model, self.title = page, model, title

    @Slot(object)
    def progress(self, ev: Progress) -> None:
        self.page._on_progress(self.model, ev)

    @Slot(object)
    def epoch_ended(self, ev: EpochEnd) -> None:
        self.page._on_epoch_end(self.model, ev)

    @Slot(str, str)
    def failed(self, message: str, _kind: str) -> None:
        self.page.messages[self.title] = message

    @Slot()
    def ended(self) -> None:
        self.page._on_run_ended(self.model)


class SoftmaxLesson(QWidget):
    """softmax-scratch and softmax trained side by side by the engine, their curves on one chart."""

    finished = Signal()  # both runs are over

    SUBSETS = [(None, "all"), (10_000, "10,000"), (2_000, "2,000")]
    IMPLEMENTATIONS = (("softmax", "concise", LOSS_COLOUR), ("softmax-scratch", "scratch", SCRATCH_COLOUR))

    def __init__(self) -> None:
        super().__init__()
        defaults = MODELS["softmax-scratch"].defaults
        self.test_limit: int | None = None  # tests shrink the test set
        self.dataset = QComboBox()
        for name in ("fashion-mnist", "mnist"):
            self.dataset.addItem(DATASETS[name].title, name)
        self.subset = QComboBox()
        for value, title in self.SUBSETS:
            self.subset.addItem(title, value)
        self.epochs = QSpinBox(minimum=1, maximum=100, value=defaults.epochs)
        self.lr = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=1000.0, singleStep=0.01,
                                 value=defaults.lr_for(self.dataset.currentData()))
        self.course_lr = CourseLr(self.lr, self.dataset, lambda: defaults)
        self.batch_size = QSpinBox(minimum=1, maximum=65536, value=defaults.batch_size)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        controls = QWidget()  # two rows: in one, the controls would not fit a 1024-pixel netbook
        rows = QVBoxLayout(controls)
        rows.setContentsMargins(0, 0, 0, 0)
        fields, buttons = QHBoxLayout(), QHBoxLayout()
        for title, widget in (("data", self.dataset), ("images", self.subset), ("epochs", self.epochs),
                              ("lr", self.lr), ("batch", self.batch_size), ("seed", self.seed)):
            fields.addWidget(QLabel(title))
            fields.addWidget(widget)
        fields.addStretch(1)
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        rows.addLayout(fields)
        rows.addLayout(buttons)

        self.loss_plot = make_plot("train loss", "epoch")
        self.acc_plot = make_plot("accuracy", "epoch")
        self.acc_plot.setXLink(self.loss_plot)
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
        self.table = make_table(["epoch", "test acc, concise", "test acc, scratch", "difference"])
        self.status = QLabel("Press Start: both implementations train at once, from the same seed.")
        self.status.setWordWrap(True)
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.loss_plot)
        charts.addWidget(self.acc_plot)
        charts.addWidget(self.table)
        left = stacked(charts, self.status, stretch=charts)
        code = CodePane(scratch.softmax, scratch.cross_entropy, scratch.sgd, scratch.accuracy,
                        scratch.SoftmaxRegressionScratch, scratch.scratch_step, softmax_regression, Trainer._step)
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
                      "the course's lr 0.1 is lr 0.03 here on Fashion-MNIST and 0.05 on MNIST.", controls, left, code)
        self.runs: dict[str, TrainingRun] = {}
        self._set_running(False)

    def is_running(self) -> bool:
        return bool(self.runs)

    def config(self, model: str) -> TrainConfig:
        return TrainConfig.for_model(model, dataset=self.dataset.currentData(), epochs=self.epochs.value(),
                                     lr=self.lr.value(), batch_size=self.batch_size.value(), seed=self.seed.value(),
                                     train_limit=self.subset.currentData(), test_limit=self.test_limit)

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
        self.messages: dict[str, str] = {}
        for model, title, _ in self.IMPLEMENTATIONS:
            run = TrainingRun(self.config(model), self)
            relay = RunRelay(self, model, title, run)
            run.worker.progress.connect(relay.progress)
            run.worker.epoch_ended.connect(relay.epoch_ended)
            run.worker.failed.connect(relay.failed)
            run.ended.connect(relay.ended)
            self.runs[model] = run
        self.status.setText("Training both…")
        self._set_running(True)
        for run in self.runs.values():
            run.start()

    def toggle_pause(self) -> None:
        paused = any(run.control.paused for run in self.runs.values())
        for run in self.runs.values():
            run.control.resume() if paused else run.control.pause()
        self.pause_button.setText("Pause" if paused else "Resume")

    def stop(self) -> None:
        for run in self.runs.values():
            run.control.stop()
        self.status.setText("Stopping…")

    def shutdown(self) -> bool:
        return all([run.shutdown() for run in list(self.runs.values())])

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        for widget in (self.dataset, self.subset, self.epochs, self.lr, self.batch_size, self.seed):
            widget.setEnabled(not running)

    def _on_progress(self, model: str, ev: Progress) -> None:
        d = self.data[model]
        d["loss_x"].append(ev.fraction)
        d["loss"].append(ev.loss)
        self.curves[model]["loss"].setData(d["loss_x"], d["loss"])

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
            diff = f"{(b - a) * 100:+.2f} points" if a is not None and b is not None else ""
            rows.append([str(i + 1), f"{a:.2%}" if a is not None else "…", f"{b:.2%}" if b is not None else "…",
                         diff])
        fill_table(self.table, rows)
        self.table.scrollToBottom()

    def _on_run_ended(self, model: str) -> None:
        self.runs.pop(model).deleteLater()
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


# --- lesson 3 -----------------------------------------------------------------------------------

def parse_numbers(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"not a list of numbers: {text!r}") from None


def parse_rows(text: str) -> list[list[float]]:
    """Rows separated by ';', numbers by ','."""
    return [parse_numbers(row) for row in text.split(";") if row.strip()]


class CrossEntropyLesson(QWidget):
    """The lectures' worked examples, recomputed as the student edits them."""

    def __init__(self) -> None:
        super().__init__()
        self.z = QLineEdit("0.2, 0.1, -0.1")
        self.label = QSpinBox(minimum=0, maximum=9, value=0)
        self.batch_a = QLineEdit("0.1, 0.2, 0.9; 1.1, 0.1, 0.2; 0.2, 2.1, 0.1")
        self.batch_b = QLineEdit("0.8, 0.2, 0.3; 0.2, 0.3, 0.5; 0.2, 0.2, 0.5")
        self.labels = QLineEdit("2, 0, 1")
        controls = QWidget()
        form = QFormLayout(controls)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("one sample: raw outputs z", self.z)
        form.addRow("its label (one-hot at)", self.label)
        form.addRow("batch: raw outputs, good (rows by ;)", self.batch_a)
        form.addRow("batch: raw outputs, bad", self.batch_b)
        form.addRow("batch labels (class indices)", self.labels)
        for edit in (self.z, self.batch_a, self.batch_b, self.labels):
            edit.textChanged.connect(self.recompute)
        self.label.valueChanged.connect(self.recompute)

        self.plot = make_plot("value", "class")
        self.softmax_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=LOSS_COLOUR, name="softmax ŷ")
        self.sigmoid_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SCRATCH_COLOUR, name="sigmoid")
        self.plot.addItem(self.softmax_bars)
        self.plot.addItem(self.sigmoid_bars)
        self.plot.setYRange(0, 1.05)
        self.plot.getAxis("bottom").setTickSpacing(major=1, minor=1)
        self.results = QLabel()
        self.results.setWordWrap(True)
        self.results.setTextFormat(Qt.TextFormat.RichText)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left = stacked(self.results, self.plot, stretch=self.plot)
        code = CodePane(scratch.np_softmax, scratch.np_cross_entropy, scratch.batch_cross_entropy)
        lesson_layout(self, "<b>Cross-entropy by hand.</b> One sample: softmax, then −Σ y log ŷ in NumPy. "
                      "A batch: <tt>nn.CrossEntropyLoss</tt> on the raw outputs. Edit any number.",
                      controls, left, code)
        self.example: scratch.CrossEntropyExample | None = None
        self.recompute()

    def recompute(self) -> None:
        try:
            z = parse_numbers(self.z.text())
            batches = [parse_rows(self.batch_a.text()), parse_rows(self.batch_b.text())]
            labels = [int(v) for v in parse_numbers(self.labels.text())]
            if not z or not labels or not all(batches):
                raise ValueError("every field needs numbers")
            self.example = scratch.cross_entropy_example(z, self.label.value(), batches, labels)
        except ValueError as exc:
            self.example = None
            self.results.setText(f"<span style='color:#c00'>{exc}</span>")
            return
        self._show(self.example, z)

    def _show(self, ex: scratch.CrossEntropyExample, z: list[float]) -> None:
        probs = ", ".join(f"{p:.4f}" for p in ex.sample_probs)
        sig = ", ".join(f"{s:.3f}" for s in ex.sigmoid_sums)
        self.results.setText(
            f"One sample: ŷ = softmax(z) = [{probs}]; loss = −log ŷ<sub>{self.label.value()}</sub> = "
            f"<b>{ex.sample_loss:.4f}</b><br>"
            f"Batch: CrossEntropyLoss = <b>{ex.batch_losses[0]:.4f}</b> (good outputs), "
            f"<b>{ex.batch_losses[1]:.4f}</b> (bad outputs)<br><br>"
            f"① <b>The last layer has no activation</b>: the loss applies log-softmax itself. Softmax first "
            f"gives {ex.softmax_first_losses[0]:.4f} and {ex.softmax_first_losses[1]:.4f} — a second softmax, "
            f"the wrong numbers.<br>"
            f"② <b>Labels are class indices</b>, dtype <tt>{ex.label_dtype}</tt>, not one-hot vectors.<br>"
            f"③ <b>Ten sigmoids are not a distribution</b>: on the good batch their rows sum to [{sig}]; "
            f"softmax rows sum to 1.")
        x = np.arange(len(z), dtype=float)
        self.softmax_bars.setOpts(x=x - 0.2, height=ex.sample_probs)
        self.sigmoid_bars.setOpts(x=x + 0.2, height=1 / (1 + np.exp(-np.array(z))))
        self.plot.setXRange(-0.6, len(z) - 0.4)


# --- lesson 4 -----------------------------------------------------------------------------------

class OverflowLesson(QWidget):
    """Logits scaled ×1…×1000: the naive softmax breaks in float32, the stable one does not."""

    SLIDER_STEPS = 300  # the slider is logarithmic: value v means ×10^(v/100)
    PLAY_MS = 30

    def __init__(self) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.SLIDER_STEPS)
        self.slider.valueChanged.connect(self.update_table)
        self.scale_label = QLabel()
        self.scale_label.setMinimumWidth(90)
        self.play_button = QPushButton("Play ×1 → ×1000")
        self.play_button.clicked.connect(self.play)
        controls = QWidget()
        row = QHBoxLayout(controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("logits ×"))
        row.addWidget(self.slider, stretch=1)
        row.addWidget(self.scale_label)
        row.addWidget(self.play_button)

        self.table = make_table(["class", "logit", "exp(logit)", "naive softmax", "stable softmax"])
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.plot = make_plot(f"loss −log ŷ of the label ({scratch.OVERFLOW_LABEL})", "logits ×")
        self.plot.setLogMode(x=True, y=True)
        self.plot.getAxis("bottom").setTicks([[(k, f"{10 ** k:g}") for k in range(4)], []])
        scales = np.logspace(0, 3, 200)
        tables = [scratch.overflow_table(s) for s in scales]
        self.plot.plot(scales, [t.stable_loss for t in tables], pen=pg.mkPen(TEST_COLOUR, width=3),
                       name="stable (log-sum-exp)")
        naive = np.array([t.naive_loss for t in tables])
        self.plot.plot(scales, np.where(np.isfinite(naive), naive, np.nan), connect="finite",
                       pen=pg.mkPen(TRAIN_COLOUR, width=2, style=Qt.PenStyle.DashLine), name="naive (nan/inf: gone)")
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#555", width=1.5))
        self.plot.addItem(self.marker)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot)
        splitter.setSizes([330, 260])
        left = stacked(self.verdict, splitter, stretch=splitter)
        self.code = CodePane(scratch.softmax, scratch.stable_softmax, scratch.log_softmax, scratch.cross_entropy)
        self.code.highlight("X = X - X.max(1, keepdim=True).values  # the one-line fix")
        lesson_layout(self, "<b>Why softmax overflows.</b> In float32, exp(x) is inf once x passes ~88.7, and "
                      "inf / inf is nan; the small logits' exp underflows to 0, so log gives −inf. Subtracting "
                      "the largest logit first (highlighted) changes nothing in the result but keeps every exp "
                      "at most 1; the loss uses log-sum-exp, as <tt>CrossEntropyLoss</tt> does.",
                      controls, left, self.code)
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(self.PLAY_MS)
        self.play_timer.timeout.connect(self._advance)
        self.table_now: scratch.OverflowTable | None = None
        self.update_table()

    def scale(self) -> float:
        return 10 ** (self.slider.value() / 100)

    def is_running(self) -> bool:
        return self.play_timer.isActive()

    def play(self) -> None:
        self.slider.setValue(0)
        self.play_timer.start()

    def _advance(self) -> None:
        if self.slider.value() >= self.SLIDER_STEPS:
            self.play_timer.stop()
            return
        self.slider.setValue(self.slider.value() + 2)

    def update_table(self) -> None:
        t = scratch.overflow_table(self.scale())
        self.table_now = t
        self.scale_label.setText(f"×{t.scale:,.1f}")
        self.marker.setValue(math.log10(t.scale))
        rows = [[str(i), number(x), number(e), number(p), number(q)]
                for i, (x, e, p, q) in enumerate(zip(t.logits, t.naive_exp, t.naive_softmax, t.stable_softmax))]
        rows.append(["loss", "", "", number(t.naive_loss), number(t.stable_loss)])
        bad = [(c, r, v) for c, column in ((2, t.naive_exp), (3, t.naive_softmax)) for r, v in enumerate(column)]
        broken = {(r, c) for c, r, v in bad if not math.isfinite(v) or v == 0.0}  # inf, nan, or gone to 0
        if not math.isfinite(t.naive_loss):
            broken.add((len(rows) - 1, 3))
        fill_table(self.table, rows, broken)
        if t.naive_finite:
            self.verdict.setText(f"×{t.scale:.1f}: largest logit {max(t.logits):.1f} — both forms agree "
                                 f"(loss {t.naive_loss:.4f} naive, {t.stable_loss:.4f} stable).")
        else:
            self.verdict.setText(f"×{t.scale:.1f}: largest logit {max(t.logits):.1f} — the naive softmax gives "
                                 f"<span style='color:#c00'><b>{number(t.naive_loss)}</b></span> for the loss; "
                                 f"the stable form gives <b>{number(t.stable_loss)}</b>.")


# --- the tab ------------------------------------------------------------------------------------

class LessonsTab(QWidget):
    """The four lessons as pages; closing the window stops whatever a page is running."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.linreg = LinearRegressionLesson()
        self.softmax = SoftmaxLesson()
        self.cross_entropy = CrossEntropyLesson()
        self.overflow = OverflowLesson()
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        for page, title in ((self.linreg, "1 · Linear regression"), (self.softmax, "2 · Softmax from scratch"),
                            (self.cross_entropy, "3 · Cross-entropy by hand"),
                            (self.overflow, "4 · Why softmax overflows")):
            self.pages.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)

    def is_running(self) -> bool:
        return self.softmax.is_running()

    def shutdown(self) -> bool:
        self.linreg.timer.stop()
        self.overflow.play_timer.stop()
        return self.softmax.shutdown()
