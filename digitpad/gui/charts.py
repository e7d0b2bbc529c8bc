"""Live training curves: loss several times per epoch, train and test accuracy per epoch, one epoch axis."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtGui import QFont, QFontMetricsF

LOSS_COLOUR = "#1f77b4"
TRAIN_COLOUR = "#d62728"
TEST_COLOUR = "#2ca02c"


GRID_COLOUR = "#d8d8d8"
OVERHANG = 80  # px a class name may reach past either end of its axis ("T-shirt/top" under column 0)


def style_axis(axis: pg.AxisItem) -> None:
    """Opaque light-grey grid lines at the labelled ticks, drawn behind the curves.

    pyqtgraph's default translucent grid, blended over the whole plot at every tick level, took
    10-14 ms of each 12-16 ms chart repaint; opaque lines at one level take 2-3 ms, which keeps the
    window's heartbeat steady while training repaints the charts several times a second.
    """
    axis.setTickPen(pg.mkPen(GRID_COLOUR))
    axis.setTextPen(pg.mkPen("k"))
    axis.setStyle(maxTickLevel=0, tickAlpha=255)
    axis.setZValue(-1000)
    axis.enableAutoSIPrefix(False)  # no "(x0.001)" on accuracy or loss


class ClassAxis(pg.AxisItem):
    """A bottom axis naming ten classes in full, under a bar chart or a matrix.

    When the names are wider than a column (Fashion-MNIST's "T-shirt/top", "Ankle boot", or any name
    at a large text size), neighbours alternate between two or three rows: each name then has that
    many columns' width, so none is cut and none overlaps. The outer names may reach past the axis
    ends, and the axis keeps room for its rows at any text size.
    """

    MAX_ROWS = 3
    names: tuple[str, ...] = ()  # class attributes: Qt resizes the axis while it is being built
    at = 0.0
    rows = 0

    def __init__(self) -> None:
        super().__init__("bottom")
        self.setStyle(hideOverlappingLabels=OVERHANG, autoExpandTextSpace=False)

    def set_names(self, class_names, at: float = 0.0) -> None:
        """Name class k at k + at (0.5: the middle of a matrix cell)."""
        self.names, self.at = tuple(class_names), at
        self._lay_out()

    def setTickFont(self, font: QFont | None) -> None:
        super().setTickFont(font)
        self._lay_out()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._lay_out()

    def _lay_out(self) -> None:
        metrics = QFontMetricsF(self.style["tickFont"] or self.font())
        widest = max((metrics.horizontalAdvance(name) for name in self.names), default=0.0)
        column = self.width() / max(len(self.names), 1)
        rows = next((r for r in range(1, self.MAX_ROWS) if widest + metrics.averageCharWidth() <= r * column),
                    self.MAX_ROWS)
        if rows != self.rows:
            self.rows = rows
            self.setStyle(tickTextHeight=round(rows * metrics.lineSpacing()))
        self.setTicks([[(k + self.at, "\n" * (k % rows) + name) for k, name in enumerate(self.names)]])


class StaticPlot(pg.PlotWidget):
    """A plot that shows, not explores: no context menu, no mouse pan/zoom, no auto-range button."""

    def __init__(self, class_axis: bool = False) -> None:
        """class_axis: the bottom axis names ten classes (a ClassAxis, with room for the outer names)."""
        super().__init__(axisItems={"bottom": ClassAxis()} if class_axis else None)
        if class_axis:
            self.getPlotItem().setContentsMargins(2, 2, 28, 2)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()


class LiveCharts(pg.GraphicsLayoutWidget):
    """Two plots sharing the epoch axis, like the course's plot of the three curves."""

    def __init__(self, smoothing: float = 0.3) -> None:
        super().__init__()
        self.smoothing = smoothing
        self.loss_plot = self.addPlot(row=0, col=0)
        self.acc_plot = self.addPlot(row=1, col=0)
        self.acc_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "train loss")
        self.acc_plot.setLabel("left", "accuracy")
        self.acc_plot.setLabel("bottom", "epoch")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True)
            for side in ("left", "bottom"):
                style_axis(plot.getAxis(side))
            plot.setMenuEnabled(False)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.acc_plot.addLegend(offset=(-10, -10))
        self.raw_loss = self.loss_plot.plot(pen=pg.mkPen("#9ecae1", width=1), name="per report")
        self.smooth_loss = self.loss_plot.plot(pen=pg.mkPen(LOSS_COLOUR, width=2.5), name="smoothed")
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2.5), symbol="o", symbolSize=7,
                                            symbolBrush=TRAIN_COLOUR, name="train acc")
        self.test_acc = self.acc_plot.plot(pen=pg.mkPen(TEST_COLOUR, width=2.5), symbol="s", symbolSize=7,
                                           symbolBrush=TEST_COLOUR, name="test acc")
        self.clear_curves()

    def sizeHint(self) -> QSize:
        return QSize(640, 420)

    def clear_curves(self, epochs: int = 1) -> None:
        self.loss_x: list[float] = []
        self.loss_y: list[float] = []
        self.loss_smooth: list[float] = []
        self.epoch_x: list[float] = []
        self.train_y: list[float] = []
        self.test_y: list[float] = []
        for curve in (self.raw_loss, self.smooth_loss, self.train_acc, self.test_acc):
            curve.setData([], [])
        self.loss_plot.setXRange(0, max(epochs, 1), padding=0.02)

    def add_loss(self, epoch_fraction: float, loss: float) -> None:
        previous = self.loss_smooth[-1] if self.loss_smooth else loss
        self.loss_x.append(epoch_fraction)
        self.loss_y.append(loss)
        self.loss_smooth.append(previous + self.smoothing * (loss - previous))
        self.raw_loss.setData(self.loss_x, self.loss_y)
        self.smooth_loss.setData(self.loss_x, self.loss_smooth)

    def add_epoch(self, epoch: int, train_accuracy: float, test_accuracy: float) -> None:
        self.epoch_x.append(float(epoch))
        self.train_y.append(train_accuracy)
        self.test_y.append(test_accuracy)
        self.train_acc.setData(self.epoch_x, self.train_y)
        self.test_acc.setData(self.epoch_x, self.test_y)
