"""Lesson: the loss surface of linear regression's two weights, with the path of every step for SGD and momentum.

Moving a slider recomputes both paths on a worker thread (the latest setting wins); the contour map is
recomputed only when the data change (the stretch)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QSplitter

from digitpad.core import surface
from digitpad.gui.common.charts import style_axis
from digitpad.gui.common.worker import run_call
from digitpad.gui.lessons.page import CodePane, LessonPage, control_row, lesson_layout, make_plot, stacked

SGD_COLOUR = "#ff7f0e"
MOMENTUM_COLOUR = "#1f77b4"
W1_RANGE = (-5.0, 8.0)  # the map: the start (−3, 2) and the minimum (2, −3.4) with room around them
W2_RANGE = (-8.0, 3.0)
GRID = 161
LR_RANGE = (0.005, 0.5)  # the lr slider, log-spaced
SLIDER_STEPS = 200


def lr_at(position: int) -> float:
    low, high = LR_RANGE
    return float(low * (high / low) ** (position / SLIDER_STEPS))


def position_of(lr: float) -> int:
    low, high = LR_RANGE
    return round(SLIDER_STEPS * math.log(lr / low) / math.log(high / low))


@dataclass(frozen=True)
class LossMap:
    log_loss: np.ndarray  # log₁₀ of the loss over the map, w₂ down the rows
    contours: tuple[np.ndarray, np.ndarray]


def compute(cfg: surface.SurfaceConfig, with_map: bool) -> tuple:
    """Both paths, the curvatures, and (when the data changed) the map with its contour lines: on the worker
    thread (tracing the contours takes pyqtgraph ~0.3 s of Python)."""
    X, y = surface.two_weight_data(cfg)
    loss_map = None
    if with_map:
        log_loss = np.log10(surface.loss_grid(X, y, cfg.true_b, np.linspace(*W1_RANGE, GRID),
                                              np.linspace(*W2_RANGE, GRID)))
        levels = np.linspace(log_loss.min(), log_loss.max(), 12)[1:-1]
        loss_map = LossMap(log_loss, contour_lines(log_loss, levels))
    return cfg, loss_map, surface.curvatures(X), [surface.descend(cfg, name, X, y) for name in ("sgd", "momentum")]


def contour_lines(values: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The map's contour lines at these levels, in (w₁, w₂), as one polyline broken by NaNs (a single plot item:
    pyqtgraph's IsocurveItem crashed the app as its plot was deleted)."""
    dx = (W1_RANGE[1] - W1_RANGE[0]) / (values.shape[1] - 1)
    dy = (W2_RANGE[1] - W2_RANGE[0]) / (values.shape[0] - 1)
    xs: list[float] = []
    ys: list[float] = []
    for level in levels:
        for line in pg.functions.isocurve(values.T, level, connected=True, extendToEdge=True):
            points = np.asarray(line, dtype=float)
            xs += list(W1_RANGE[0] + points[:, 0] * dx) + [np.nan]
            ys += list(W2_RANGE[0] + points[:, 1] * dy) + [np.nan]
    return np.array(xs), np.array(ys)


def describe(path: surface.Path, steps: int) -> str:
    name = "SGD" if path.optimizer == "sgd" else "momentum"
    if path.escaped:
        return f"{name} ran off the map at step {len(path.points) - 1} (|w| > {surface.ESCAPED:g}): diverged"
    turns = int((np.diff(np.sign(np.diff(path.points[:, 1]))) != 0).sum())
    shape = ", zig-zagging across the valley" if turns > steps // 3 else ""
    return f"{name}: loss {path.losses[-1]:.3g} after {steps} steps{shape}"


class LossSurfaceLesson(LessonPage):
    TITLE = "Loss surface"
    TIP = "The loss over two weights, and gradient descent walking on it"

    def __init__(self) -> None:
        super().__init__()
        defaults = surface.SurfaceConfig()
        self.lr = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_STEPS, value=position_of(defaults.lr))
        self.momentum = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=99, value=round(defaults.momentum * 100))
        self.stretch = QSlider(Qt.Orientation.Horizontal, minimum=10, maximum=50, value=round(defaults.stretch * 10))
        self.batch_size = QSpinBox(minimum=1, maximum=defaults.num_examples, value=defaults.batch_size)
        self.batch_size.setToolTip(f"{defaults.num_examples} (all the data): plain gradient descent; fewer: "
                                   "mini-batch SGD, a noisy path")
        self.steps = QSpinBox(minimum=1, maximum=500, value=defaults.steps)
        self.values = QLabel()
        self.values.setMinimumWidth(self.values.fontMetrics().horizontalAdvance("lr 0.000 · μ 0.00 · stretch 0.0") + 8)
        for slider in (self.lr, self.momentum, self.stretch):
            slider.setMinimumWidth(self.values.fontMetrics().horizontalAdvance("0" * 12))
        # Flowing onto a second row where the page is narrow (a netbook, or large text).
        controls = control_row(("lr", self.lr), ("momentum μ", self.momentum), ("stretch x₂", self.stretch),
                               ("batch", self.batch_size), ("steps", self.steps), self.values)
        for slider in (self.lr, self.momentum, self.stretch):
            slider.valueChanged.connect(self.recompute)
        for box in (self.batch_size, self.steps):
            box.valueChanged.connect(self.recompute)

        self.map = make_plot("w₂", "w₁")
        self.map.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.map.addItem(self.image)
        self.colours = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=12,
                                       label="log₁₀ loss")
        self.colours.setImageItem(self.image, insert_in=self.map.getPlotItem())
        self.contours = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 120), width=1))  # one item for every line
        self.map.addItem(self.contours)
        self.sgd_path = self.map.plot(pen=pg.mkPen(SGD_COLOUR, width=2), symbol="o", symbolSize=5,
                                      symbolBrush=SGD_COLOUR, symbolPen=None, name="SGD")
        self.momentum_path = self.map.plot(pen=pg.mkPen(MOMENTUM_COLOUR, width=2), symbol="s", symbolSize=5,
                                           symbolBrush=MOMENTUM_COLOUR, symbolPen=None, name="momentum")
        self.map.plot([defaults.true_w[0]], [defaults.true_w[1]], pen=None, symbol="star", symbolSize=16,
                      symbolBrush="w", symbolPen="k", name="minimum (true w)")
        self.map.plot([defaults.start[0]], [defaults.start[1]], pen=None, symbol="t", symbolSize=12,
                      symbolBrush="#dddddd", symbolPen="k", name="start")
        self.map.setRange(xRange=W1_RANGE, yRange=W2_RANGE, padding=0)
        self.losses = make_plot("loss on all the data (log)", "step", legend_columns=1)  # narrow: a netbook fits
        self.losses.setLogMode(y=True)
        self.sgd_loss = self.losses.plot(pen=pg.mkPen(SGD_COLOUR, width=2), name="SGD")
        self.momentum_loss = self.losses.plot(pen=pg.mkPen(MOMENTUM_COLOUR, width=2), name="momentum")
        for plot in (self.map, self.losses):
            for side in ("left", "bottom"):
                style_axis(plot.getAxis(side))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.map)
        charts.addWidget(self.losses)
        charts.setSizes([600, 300])
        code = CodePane(surface.two_weight_data, surface.descend, surface.curvatures)
        lesson_layout(self, "<b>The loss surface of two weights.</b> Linear regression's loss over (w₁, w₂), the bias "
                      "held at its true value, with every step of plain SGD and of SGD with momentum from the same "
                      "start. Stretching x₂ makes the valley steep across and flat along: too large a learning rate "
                      "zig-zags across it, larger still leaves it; momentum builds speed along it.",
                      controls, stacked(charts, self.summary, stretch=charts), code)
        self.job = None
        self.pending = False
        self.shown_stretch: float | None = None
        self.recompute()

    def config(self) -> surface.SurfaceConfig:
        return replace(surface.SurfaceConfig(), lr=lr_at(self.lr.value()), momentum=self.momentum.value() / 100,
                       stretch=self.stretch.value() / 10, batch_size=self.batch_size.value(), steps=self.steps.value())

    def is_running(self) -> bool:
        return self.job is not None

    def recompute(self) -> None:
        """Start the worker, or ask for another pass once it is done (the latest setting wins)."""
        cfg = self.config()
        self.values.setText(f"lr {cfg.lr:.3g} · μ {cfg.momentum:.2f} · stretch {cfg.stretch:.1f}")
        if self.job is not None:
            self.pending = True
            return
        self.pending = False
        # No parent: the worker deletes itself once its thread has ended. Parented to the page, a page deleted
        # just then (a test's teardown) took the worker with it and the process crashed in ~QObject.
        self.job = run_call(compute, cfg, cfg.stretch != self.shown_stretch, name="digitpad-surface",
                            then=self._show)
        self.job.finished.connect(self._job_ended)  # the thread is over only now, after the result has come

    def _show(self, result, error: Exception | None) -> None:
        if error is not None:
            self.summary.setText(f"Could not compute the paths: {error}")
        else:
            self._draw(*result)

    def _job_ended(self) -> None:
        self.job = None
        if self.pending:
            self.recompute()

    def _draw(self, cfg: surface.SurfaceConfig, loss_map: LossMap | None, curvature: np.ndarray, paths) -> None:
        if loss_map is not None:
            self.shown_stretch = cfg.stretch
            log_loss = loss_map.log_loss
            low, high = float(log_loss.min()), float(log_loss.max())
            self.image.setImage(log_loss, levels=(low, high))
            self.image.setRect(QRectF(W1_RANGE[0], W2_RANGE[0], W1_RANGE[1] - W1_RANGE[0], W2_RANGE[1] - W2_RANGE[0]))
            self.colours.setLevels((low, high))
            self.contours.setData(*loss_map.contours, connect="finite")
        sgd, momentum = paths
        for path, line, loss in ((sgd, self.sgd_path, self.sgd_loss),
                                 (momentum, self.momentum_path, self.momentum_loss)):
            line.setData(path.points[:, 0], path.points[:, 1])
            steps = np.arange(len(path.losses))
            finite = np.isfinite(path.losses) & (path.losses > 0)
            loss.setData(steps[finite], path.losses[finite])
        self.map.setRange(xRange=W1_RANGE, yRange=W2_RANGE, padding=0)
        flat, steep = curvature
        self.summary.setText(
            f"{describe(sgd, cfg.steps)} · {describe(momentum, cfg.steps)}.  The valley's curvature: {steep:.3g} "
            f"across, {flat:.3g} along. SGD is stable for lr &lt; 2/{steep:.3g} = <b>{2 / steep:.3g}</b>; momentum "
            f"{cfg.momentum:.2f} for lr &lt; 2(1+μ)/{steep:.3g} = <b>{2 * (1 + cfg.momentum) / steep:.3g}</b>.")
