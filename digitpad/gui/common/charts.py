"""Live training curves: loss at fixed points of each epoch, train and test accuracy per epoch, one epoch axis."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QSizePolicy, QVBoxLayout, QWidget

from digitpad.core.runs import RunCurves
from digitpad.gui.common.settings import as_bool, stored
from digitpad.gui.common.text_zoom import restyle_view

from digitpad.gui.common.colours import LOSS_COLOUR, RUN_COLOURS, TEST_COLOUR, TRAIN_COLOUR  # noqa: F401 (shared)


GRID_COLOUR = "#d8d8d8"
DIVERGED_COLOUR = TRAIN_COLOUR
TREND_POINTS = 5  # the thick loss line: the mean of the last TREND_POINTS points (a quarter epoch)
TREND_NAME = f"mean of last {TREND_POINTS} points"
REDRAW_MS = 100  # a fast run reports many points a second; the curves are redrawn at most this often
LOSS_TIP = ("Train loss, reported 20 times per epoch (every batch when an epoch has fewer): each thin-line "
            f"point is the mean loss over the batches since the previous point. The thick line is the mean of "
            f"the last {TREND_POINTS} points, the trend through the noise.")
ACCURACY_SETTING = "view/accuracy_axis_fixed"
RUN_MARKERS = ("s", "o", "t", "d")  # the test-accuracy markers of runs 1-8, 9-16, …
RUNS_LEGEND_ROWS = 12
CHART_MIN_LINES = 5  # a plot axis's least length, in lines of its text: room for three tick labels
CHART_MIN_CHARS = 20
FIGURE_SIZE = (1600, 1000)  # exported charts: a 16:10 slide, text at FIGURE_POINTS
FIGURE_POINTS = 16
FIGURE_LINE_SCALE = 2.0  # a longer list of runs gets a second column
OVERHANG = 80  # px a class name may reach past either end of its axis ("T-shirt/top" under column 0)


_LINE_SCALE = [1.0]  # presentation mode draws every curve, marker and marked line this many times thicker


def set_line_scale(scale: float) -> None:
    """Every chart's curves and markers `scale` times their own width and size (2 in presentation mode: a
    2-pixel line is lost on a projector); charts made or curves added later follow (`scale_lines`)."""
    _LINE_SCALE[0] = scale
    for view in QApplication.allWidgets():
        if isinstance(view, pg.GraphicsView):
            scale_lines(view.scene().items())


def scale_lines(items) -> None:
    """Set these chart items' pens and markers to the current line scale, from their own base widths."""
    scale = _LINE_SCALE[0]
    for item in items:
        if isinstance(item, pg.PlotDataItem):
            base = item.__dict__.setdefault("_base_line", (pg.mkPen(item.opts["pen"]).widthF(),
                                                           item.opts.get("symbolSize") or 0))
            pen = pg.mkPen(item.opts["pen"])
            pen.setWidthF(max(base[0], 1.0) * scale if base[0] else 0)
            item.setPen(pen)
            if base[1]:
                item.setSymbolSize(base[1] * scale)
        elif isinstance(item, pg.InfiniteLine):
            base = item.__dict__.setdefault("_base_line", item.pen.widthF())
            pen = QPen(item.pen)
            pen.setWidthF(max(base, 1.0) * scale)
            item.setPen(pen)


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
        height = round(rows * metrics.lineSpacing())
        if (rows, height) != (self.rows, self.style["tickTextHeight"]):  # more rows, or a new text size
            self.rows = rows
            self.setStyle(tickTextHeight=height)
        self.setTicks([[(k + self.at, "\n" * (k % rows) + name) for k, name in enumerate(self.names)]])


def legend_above(plot: pg.PlotItem, columns: int = 2) -> pg.LegendItem:
    """The plot's legend in the title's row, above the curves, in `columns` columns: it never covers a curve,
    and at any text size it takes its own room (the curves' box shrinks instead)."""
    legend = pg.LegendItem(size=(0, 0), colCount=columns)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    plot.layout.removeItem(plot.titleLabel)
    plot.titleLabel.setVisible(False)
    plot.layout.addItem(legend, 0, 1, Qt.AlignmentFlag.AlignHCenter)
    plot.legend = legend
    legend.above = True  # its rows count in the chart's smallest height
    return legend


def least_height(plot: pg.PlotItem, metrics: QFontMetricsF) -> float:
    """A plot's smallest height at this text size: a left axis of at least CHART_MIN_LINES lines (three tick
    labels) and at least as long as its title (written along the axis, it is cut off on a shorter one), plus what
    sits above and below it: the legend rows, the bottom axis with its tick labels and title, the margins."""
    left, bottom, legend = plot.getAxis("left"), plot.getAxis("bottom"), plot.legend
    title = left.label.boundingRect().width() if left.labelText else 0.0
    above = legend.effectiveSizeHint(Qt.SizeHint.PreferredSize).height() if getattr(legend, "above", False) else 0
    below = bottom.height() if bottom.isVisible() else 0
    return max(metrics.lineSpacing() * CHART_MIN_LINES, title) + above + below


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
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture: Tab goes from control to control

    def minimumSizeHint(self) -> QSize:
        """Room for an axis of tick labels each way at the current text size: a chart squeezed below this
        loses its ticks, so a short screen scrolls or gets smaller text instead."""
        metrics = QFontMetricsF(self.font())
        width = metrics.averageCharWidth() * CHART_MIN_CHARS
        legend = self.getPlotItem().legend
        if getattr(legend, "above", False):  # its width is the chart's least
            legend_width = legend.effectiveSizeHint(Qt.SizeHint.PreferredSize).width()
            width = max(width, legend_width + self.getAxis("left").width() + metrics.averageCharWidth() * 2)
        return QSize(round(width), round(least_height(self.getPlotItem(), metrics)))


def smooth(values: list[float]) -> list[float]:
    """The trend line the live loss curve draws (the mean of the last TREND_POINTS points), for a whole curve."""
    return [sum(values[max(0, k + 1 - TREND_POINTS):k + 1]) / min(k + 1, TREND_POINTS) for k in range(len(values))]


class LiveCharts(pg.GraphicsLayoutWidget):
    """Two plots sharing the epoch axis, like the course's plot of the three curves.

    Recorded runs can be laid under the live one (`show_runs`), each in its own colour.
    """

    export_requested = Signal()  # right-click → "Export charts…"

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip(LOSS_TIP)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # File ▸ Export charts… is its keyboard route
        self.overlays: list[RunCurves] = []
        self._overlay_items: list[pg.PlotDataItem] = []
        self._epochs = 1
        self.loss_plot = self.addPlot(row=0, col=0)
        self.acc_plot = self.addPlot(row=1, col=0)
        self.acc_plot.setXLink(self.loss_plot)
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)  # one epoch axis, numbered under both plots
        self.loss_plot.setLabel("left", "train loss")
        self.acc_plot.setLabel("left", "accuracy")
        self.acc_plot.setLabel("bottom", "epoch")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True)
            for side in ("left", "bottom"):
                style_axis(plot.getAxis(side))
            plot.setMenuEnabled(False)
        legend_above(self.loss_plot)  # above the curves: accuracy rises into any corner a legend sat in
        legend_above(self.acc_plot)
        self.raw_loss = self.loss_plot.plot(pen=pg.mkPen("#9ecae1", width=1), name="mean since previous point")
        self.smooth_loss = self.loss_plot.plot(pen=pg.mkPen(LOSS_COLOUR, width=2.5),
                                               name=TREND_NAME)
        dashed = pg.mkPen(DIVERGED_COLOUR, width=2, style=Qt.PenStyle.DashLine)
        self.diverged_line = pg.InfiniteLine(angle=90, pen=dashed, label="diverged",
                                             labelOpts=dict(position=0.85, color=DIVERGED_COLOUR))
        self.loss_plot.addItem(self.diverged_line)
        # With label smoothing the loss cannot reach 0: its floor is drawn and named where the loss is shown.
        floor_pen = pg.mkPen("#000000", width=1.5, style=Qt.PenStyle.DotLine)
        self.floor_line = pg.InfiniteLine(angle=0, pen=floor_pen, label="",
                                          labelOpts=dict(position=0.5, color="#000000", anchors=[(0.5, 1), (0.5, 1)]))
        self.floor_line.setVisible(False)
        self.loss_plot.addItem(self.floor_line)
        self.loss_floor: float | None = None
        self.loss_smoothing = 0.0
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw_loss)
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2.5), symbol="o", symbolSize=7,
                                            symbolBrush=TRAIN_COLOUR, name="train acc")
        self.test_acc = self.acc_plot.plot(pen=pg.mkPen(TEST_COLOUR, width=2.5), symbol="s", symbolSize=7,
                                           symbolBrush=TEST_COLOUR, name="test acc")
        # Recorded runs: named beside the charts, in as many columns as their number needs.
        self.runs_legend = pg.LegendItem(size=(0, 0))
        self.runs_legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.addItem(self.runs_legend, row=0, col=1, rowspan=2)
        self.ci.layout.setAlignment(self.runs_legend, Qt.AlignmentFlag.AlignTop)
        self.runs_legend.setVisible(False)
        scale_lines([self.raw_loss, self.smooth_loss, self.diverged_line, self.train_acc, self.test_acc])
        self.accuracy_fixed = False
        self.accuracy_action = QAction("&Accuracy axis from 0 to 1", self, checkable=True)
        self.accuracy_action.setStatusTip("Keep the accuracy axis at 0-1 instead of zooming to the curves")
        self.accuracy_action.toggled.connect(self.set_accuracy_axis_fixed)
        self.accuracy_action.setChecked(stored(ACCURACY_SETTING, as_bool, False))
        self.clear_curves()

    def sizeHint(self) -> QSize:
        return QSize(640, 420)

    def minimumSizeHint(self) -> QSize:
        """Two charts' worth of StaticPlot's smallest size: squeezed below, the axes drop their tick labels."""
        metrics = QFontMetricsF(self.font())
        heights = [least_height(plot, metrics) for plot in (self.loss_plot, self.acc_plot)]
        for plot, height in zip((self.loss_plot, self.acc_plot), heights):
            if plot.minimumHeight() != height:  # the grid shares the height by these, not evenly
                plot.setMinimumHeight(height)
        _, top, _, bottom = self.ci.layout.getContentsMargins()
        return QSize(round(metrics.averageCharWidth() * CHART_MIN_CHARS * 1.5),
                     round(sum(heights) + top + bottom + self.ci.layout.verticalSpacing() + 2 * self.frameWidth()))

    def set_loss_floor(self, floor: float | None, smoothing: float = 0.0) -> None:
        """Mark the lowest loss label smoothing allows (None: no smoothing, no mark)."""
        self.loss_floor, self.loss_smoothing = floor, smoothing
        self.floor_line.setVisible(floor is not None)
        if floor is not None:
            self.floor_line.setValue(floor)
            self.floor_line.label.setFormat(f"label smoothing {smoothing:g}: a perfect model's loss is {floor:.2f}")
            self.floor_line.label.setVisible(True)
        self.setToolTip(LOSS_TIP + ("" if floor is None else f"\n\nLabel smoothing {smoothing:g} trains towards "
                                    f"{1 - smoothing + smoothing / 10:.2f} on the true class, not 1: even a perfect "
                                    f"model's loss is {floor:.2f}, so a loss of ~0.6 beside 99 % accuracy is no "
                                    "contradiction."))

    def set_accuracy_axis_fixed(self, fixed: bool) -> None:
        """Accuracy from 0 to 1, always (the option in View and the charts' menu), or zoomed to the curves,
        where a wobble of 0.80-0.86 fills the chart and looks dramatic."""
        self.accuracy_fixed = fixed
        if fixed:
            self.acc_plot.setYRange(0, 1, padding=0.02)
        else:
            self.acc_plot.enableAutoRange(axis="y")
        QSettings().setValue(ACCURACY_SETTING, fixed)

    def clear_curves(self, epochs: int = 1) -> None:
        self.loss_x: list[float] = []
        self.loss_y: list[float] = []
        self.loss_smooth: list[float] = []
        self.diverged_at: float | None = None  # the epoch where the run was stopped as diverged
        self.last_loss_at: float | None = None  # the epoch of the latest loss report, drawn or not
        self.diverged_line.setVisible(False)
        self._redraw.stop()
        self.epoch_x: list[float] = []
        self.train_y: list[float] = []
        self.test_y: list[float] = []
        for curve in (self.raw_loss, self.smooth_loss, self.train_acc, self.test_acc):
            curve.setData([], [])
        self._epochs = max(epochs, 1)
        self._fit_x_range()

    def add_loss(self, epoch_fraction: float, loss: float) -> None:
        """Record a point; the curves are redrawn shortly, once for all points that arrive meanwhile.

        A loss that is no number (inf, NaN) is not drawn; `mark_diverged` then marks its epoch.
        """
        self.last_loss_at = epoch_fraction
        if math.isfinite(loss):
            self.loss_x.append(epoch_fraction)
            self.loss_y.append(loss)
            self.loss_smooth.append(smooth(self.loss_y[-TREND_POINTS:])[-1])
        if not self._redraw.isActive():
            self._redraw.start()

    def mark_diverged(self) -> None:
        """A dashed line where the run was stopped as diverged: the points before it show the blow-up."""
        if self.last_loss_at is None:
            return
        self.diverged_at = self.last_loss_at
        self.diverged_line.setValue(self.diverged_at)
        self.diverged_line.label.setFormat("diverged")
        self.diverged_line.setVisible(True)

    def _draw_loss(self) -> None:
        self.raw_loss.setData(self.loss_x, self.loss_y)
        self.smooth_loss.setData(self.loss_x, self.loss_smooth)

    def add_epoch(self, epoch: int, train_accuracy: float, test_accuracy: float) -> None:
        self.epoch_x.append(float(epoch))
        self.train_y.append(train_accuracy)
        self.test_y.append(test_accuracy)
        self.train_acc.setData(self.epoch_x, self.train_y)
        self.test_acc.setData(self.epoch_x, self.test_y)

    # --- recorded runs laid under the live one --------------------------------------------------

    def show_runs(self, runs: list[RunCurves], current_label: str | None = None) -> None:
        """Overlay these runs (smoothed loss; test accuracy solid, train dashed) below the live curves.

        The runs are named in a legend of their own beside the charts, never over the curves (a folder of
        18 runs makes a long one), with the key to solid (test) and dashed (train) under the names;
        `current_label` names the live run in the loss legend.
        """
        for item in self._overlay_items:
            for plot in (self.loss_plot, self.acc_plot):
                if item in plot.items:
                    plot.removeItem(item)
        self.runs_legend.clear()
        self._overlay_items = []
        self.overlays = list(runs)
        for k, run in enumerate(runs):
            colour = RUN_COLOURS[k % len(RUN_COLOURS)]
            marker = RUN_MARKERS[k // len(RUN_COLOURS) % len(RUN_MARKERS)]  # past 8 runs, colours repeat: markers not
            loss = self.loss_plot.plot(run.loss_x, smooth(run.loss_y), pen=pg.mkPen(colour, width=2))
            test = self.acc_plot.plot(run.epoch_x, run.test_accuracy, pen=pg.mkPen(colour, width=2), symbol=marker,
                                      symbolSize=6, symbolBrush=colour, symbolPen=colour)
            train = self.acc_plot.plot(run.epoch_x, run.train_accuracy,
                                       pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            for item in (loss, test, train):
                item.setZValue(-10)  # the live run stays on top
            self.runs_legend.addItem(test, run.label)
            self._overlay_items += [loss, test, train]
        if runs:
            for name, style in (("test accuracy", Qt.PenStyle.SolidLine), ("train accuracy", Qt.PenStyle.DashLine)):
                self.runs_legend.addItem(pg.PlotDataItem(pen=pg.mkPen("#000000", width=2, style=style)), name)
        scale_lines(self._overlay_items)
        self.runs_legend.setVisible(bool(runs))
        self.runs_legend.setColumnCount(max(1, math.ceil((len(runs) + 2) / RUNS_LEGEND_ROWS)))
        live_entry = self.loss_plot.legend.getLabel(self.smooth_loss)
        if live_entry is not None:  # gone from a figure of recorded runs only
            live_entry.setText(f"{current_label} (this run)" if current_label and runs else TREND_NAME)
        for item, metric in ((self.train_acc, "train acc"), (self.test_acc, "test acc")):
            entry = self.acc_plot.legend.getLabel(item)
            if entry is not None:
                entry.setText(f"{metric} (this run)" if runs else metric)
        self._fit_x_range()

    def _fit_x_range(self) -> None:
        longest = max([self._epochs] + [max(r.loss_x[-1:] + r.epoch_x[-1:], default=0) for r in self.overlays])
        self.loss_plot.setXRange(0, max(longest, 1), padding=0.02)

    def live_curves(self, label: str) -> RunCurves:
        return RunCurves(label, list(self.loss_x), list(self.loss_y), list(self.epoch_x), list(self.train_y),
                         list(self.test_y))

    def shown_curves(self, current_label: str) -> list[RunCurves]:
        """Every run on the charts, the live one first when it has drawn anything: what a CSV export holds."""
        live = [self.live_curves(current_label)] if self.loss_x or self.epoch_x else []
        return live + self.overlays

    def hide_live_legend(self) -> None:
        """For a figure of recorded runs only: the live curves are empty, so their legends go."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.legend.setVisible(False)
            plot.layout.removeItem(plot.legend)  # and its row: the curves take it

    # --- figures for slides ---------------------------------------------------------------------

    def copy(self) -> "LiveCharts":
        """Another chart showing what this one shows (the live run, its marks and the recorded runs)."""
        other = LiveCharts()
        other.clear_curves(self._epochs)
        other.loss_x, other.loss_y, other.loss_smooth = list(self.loss_x), list(self.loss_y), list(self.loss_smooth)
        other.epoch_x, other.train_y, other.test_y = list(self.epoch_x), list(self.train_y), list(self.test_y)
        other._draw_loss()
        other.train_acc.setData(other.epoch_x, other.train_y)
        other.test_acc.setData(other.epoch_x, other.test_y)
        if self.diverged_at is not None:
            other.last_loss_at = self.diverged_at
            other.mark_diverged()
        other.set_loss_floor(self.loss_floor, self.loss_smoothing)
        other.accuracy_action.setChecked(self.accuracy_fixed)
        live = self.loss_plot.legend.getLabel(self.smooth_loss)
        other.show_runs(self.overlays, live.text.removesuffix(" (this run)") if live and self.overlays else None)
        return other

    def as_figure(self, size: tuple[int, int], points: float) -> None:
        """Lay this chart out offscreen as a slide's figure: `size` pixels, text at `points`, lines as thick as
        in presentation mode (a figure is read from the back of a room)."""
        font = QFont(QApplication.font())
        font.setPointSizeF(points)
        self.setFont(font)
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        restyle_view(self, font)
        previous = _LINE_SCALE[0]
        _LINE_SCALE[0] = max(previous, FIGURE_LINE_SCALE)
        scale_lines(self.scene().items())
        _LINE_SCALE[0] = previous
        self.resize(*size)
        self.show()
        QApplication.processEvents()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        menu.addAction("Export charts…", self.export_requested.emit)
        menu.addAction(self.accuracy_action)
        menu.exec(event.globalPos())


class LegendAbove(QWidget):
    """A plot with its legend above it (a rich-text line that wraps, never over the points) and an optional title."""

    def __init__(self, plot: QWidget, title: str = "") -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setWordWrap(True)
        self.title.setVisible(bool(title))
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.plot = plot
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, stretch=1)
