"""The Step tab's four panels — the batch, the update, the curves, the race — and the deck that lays them out.

Each panel draws a `Shown` (the lanes' views at the current step) only while it is on screen; a
hidden one keeps the latest and draws it when it is shown. On a small screen the deck shows the
panels as tabs; on a large one (a projector) all of them at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFontDatabase, QFontMetricsF
from PySide6.QtWidgets import (QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QSizePolicy, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from digitpad.core.step import RULE_OF_THUMB, LaneView, StepRecord
from digitpad.gui.common.colours import DIVERGING, Legend, symmetric
from digitpad.gui.common.charts import CHART_MIN_CHARS, StaticPlot, least_height, style_axis
from digitpad.gui.common.widgets import FittedLabel, TextColumn
from digitpad.gui.lessons.page import fill_table, make_table, scrolled
from digitpad.gui.step.pictures import BatchGrid, TemplateGrid, shared_legend

LANE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")  # one per lane, in the curves and the race table
PUSH_DOWN = "#c81e28"  # mean p − y > 0: the step lowers that class's score
PUSH_UP = "#1e46c8"
REDRAW_MS = 250  # the curves: a few redraws a second, however fast the steps come
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
TILE_LINES = 6.5  # a template's largest side, in lines of text: ~96 px at the usual size, twice on a projector
RATIO_PLOT_HEIGHT = 190  # px at the usual text size
Y_RANGES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)  # the mean p − y chart's half-height


@dataclass(frozen=True)
class Shown:
    """What the panels draw: every lane's view at the current step, and which lane's details to show."""

    views: tuple[LaneView, ...]
    lane: int
    class_names: tuple[str, ...]
    pixels: np.ndarray | None  # the batch's images (N×28×28 uint8); None at step 0
    test_images: int

    @property
    def view(self) -> LaneView:
        return self.views[self.lane]


def update_title(view: LaneView) -> str:
    """What ΔW is for this lane's optimizer."""
    return {"sgd": "update ΔW = −lr·g", "scratch": "update ΔW = −lr·g",
            "momentum": "update ΔW = −lr·v (v: momentum)", "adam": "update ΔW = −lr·m̂ / (√v̂ + ε)"}[view.optimizer]


class LazyPanel(QWidget):
    """A panel that draws only while visible; what arrives while hidden is drawn when it is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown: Shown | None = None
        self._stale = False

    def show_step(self, shown: Shown) -> None:
        self.shown = shown
        if self.isVisible():
            self._stale = False
            self.draw(shown)
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self.shown is not None:
            self._stale = False
            self.draw(self.shown)

    def draw(self, shown: Shown) -> None:
        raise NotImplementedError


def wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


# --- the batch ---------------------------------------------------------------------------------


class BatchPanel(LazyPanel):
    """The batch as thumbnails (true label, wrong ones framed red, p(true) before → after) and the mean p − y."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Per-step text in fixed slots (FittedLabel): a label that resizes with its text relaid the tab out each step.
        self.header = FittedLabel("Press Step (Space or →) to take one mini-batch step.", chars=60, lines=1,
                                  bold=True, align=LEFT)
        self.legend = wrapped("<span style='color:#d62728'>Red frame ✗</span>: wrong before the step. Under each "
                              "image: its true class and p(true class) before → after the step (green: up, red: down).")
        self.grid = BatchGrid()
        self.p_minus_y = StaticPlot(class_axis=True)
        self.p_minus_y.setLabel("left", "mean p − y")
        self.p_minus_y.getAxis("bottom").set_names([str(k) for k in range(10)])  # until a data set's names come
        self.p_minus_y.showGrid(y=True)
        style_axis(self.p_minus_y.getAxis("left"))
        self.p_minus_y.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#666666")))
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=PUSH_DOWN)
        self.p_minus_y.addItem(self.bars)
        self.p_minus_y.setToolTip(
            "The mean of p − y over the batch, per class. The gradient of the loss on class k's logit is (p_k − y_k) / batch size, per sample: a bar above 0 "
            "means the batch gave that class too much probability, and the step lowers its score (its "
            "template's weights move against these images); below 0, too little, and the step raises it.")
        self.bar_note = wrapped(f"<span style='color:{PUSH_DOWN}'>■</span> above 0: the step lowers the class's "
                                f"score · <span style='color:{PUSH_UP}'>■</span> below 0: it raises it")
        chart = TextColumn(min_chars=20, max_chars=48)
        column = QVBoxLayout(chart)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.p_minus_y, stretch=1)
        column.addWidget(self.bar_note)
        row = QHBoxLayout()
        row.addWidget(scrolled(self.grid), stretch=3)
        row.addWidget(chart, stretch=2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.legend)
        layout.addLayout(row, stretch=1)

    def draw(self, shown: Shown) -> None:
        view, names = shown.view, shown.class_names
        record = view.record
        axis = self.p_minus_y.getAxis("bottom")
        if axis.names != tuple(names):
            axis.set_names(names)
        if record is None or shown.pixels is None:
            self.header.setText(f"Step 0 · {view.label}: the weights before any step. Press Step (Space or →).")
            self.grid.set_batch(np.zeros((0, 28, 28), np.uint8), [], np.zeros(0), np.zeros(0), np.zeros(0, bool))
            self.bars.setOpts(height=np.zeros(len(names)))
            return
        wrong_before = record.predicted_before != record.labels
        wrong_after = int((record.predicted_after != record.labels).sum())
        self.header.setText(
            f"Step {record.step} · {view.label} · a batch of {len(record.labels)}: loss {record.loss_before:.4g} → "
            f"{record.loss_after:.4g} ({record.loss_after - record.loss_before:+.3g}) · wrong "
            f"{int(wrong_before.sum())} → {wrong_after}")
        self.grid.set_batch(shown.pixels, [names[k] for k in record.labels], record.p_before, record.p_after,
                            wrong_before)
        values = record.mean_p_minus_y
        self.bars.setOpts(height=values, brushes=[pg.mkBrush(PUSH_DOWN if v > 0 else PUSH_UP) for v in values])
        # A range from a short list, so that it (and the axis, whose redraw costs more than the bars) changes
        # only now and then, not at every step of slow motion.
        top = next((r for r in Y_RANGES if r >= float(np.abs(values).max()) * 1.1), 1.0)
        if self.p_minus_y.viewRange()[1] != [-top, top]:
            self.p_minus_y.setRange(xRange=(-0.6, len(values) - 0.4), yRange=(-top, top), padding=0)


# --- the update --------------------------------------------------------------------------------


class TitledGrid(QWidget):
    """A grid of weight pictures under its title."""

    def __init__(self, columns: int) -> None:
        super().__init__()
        self.title = FittedLabel(chars=50, lines=1, bold=True, align=LEFT)
        self.grid = TemplateGrid(columns)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.grid)
        layout.addStretch(1)


class RulePane(QLabel):
    """The picked weight's update, written out with this step's numbers."""

    HINT = ("Click a pixel of a template (or of a filter) to see that weight's update written out with this "
            "step's numbers.")

    def __init__(self) -> None:
        super().__init__(self.HINT)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMargin(6)
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def show_rule(self, view: LaneView | None, picked: tuple[int, int, int] | None, names: tuple[str, ...]) -> None:
        if view is None or picked is None:
            self.setTextFormat(Qt.TextFormat.PlainText)
            self.setText(self.HINT)
            return
        unit = picked[0]
        name = names[unit] if view.first.unit_title == "class" and unit < len(names) else None
        rule = view.rule(*picked, unit_name=name)
        if rule is None:
            self.setText(f"Step 0: no update yet. {self.HINT}")
            return
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        lines = "<br>".join(line.replace("<", "&lt;") for line in rule.lines)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(f"<b>{view.label} · step {view.step} · weight of {rule.where}</b><br>"
                     f"<span style='font-family:{mono}'>{lines}</span>")


class TallPlot(StaticPlot):
    """A chart in a scrolling column: `height` pixels tall, or its least height at the current text size if more."""

    def __init__(self, height: int) -> None:
        super().__init__()
        self.height_wanted = height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), max(self.height_wanted, self.minimumSizeHint().height()))


class UpdatePanel(LazyPanel):
    """The update itself: softmax's ten templates before, ΔW and after on shared colour scales; for an MLP or a
    CNN, per layer the norms of W, g and ΔW and the update ratio, and the first layer's pictures with their Δ."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picked: tuple[int, int, int] | None = None
        self.before = TitledGrid(10)
        self.delta = TitledGrid(10)
        self.after = TitledGrid(10)
        for part in (self.before, self.delta, self.after):
            part.grid.pixel_clicked.connect(self._pick)
        self.norms_note = wrapped()
        self.table = make_table(["#", "layer", "shape", "‖W‖", "‖g‖", "‖ΔW‖", "‖ΔW‖ / ‖W‖"])
        header = self.table.horizontalHeader()
        for column in (0, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.ratio_plot = TallPlot(RATIO_PLOT_HEIGHT)
        self.ratio_plot.setLogMode(y=True)
        self.ratio_plot.setLabel("left", "‖ΔW‖/‖W‖")
        self.ratio_plot.setLabel("bottom", "layer # (rows of the table)")
        self.ratio_plot.showGrid(y=True)
        for side in ("left", "bottom"):
            style_axis(self.ratio_plot.getAxis(side))
        self.ratio_points = self.ratio_plot.plot(pen=None, symbol="o", symbolSize=9, symbolBrush="#1f77b4")
        rule = pg.InfiniteLine(pos=math.log10(RULE_OF_THUMB), angle=0,
                               pen=pg.mkPen("#d62728", width=2, style=Qt.PenStyle.DashLine),
                               label="rule of thumb ~1e-3", labelOpts=dict(position=0.15, color="#d62728"))
        self.ratio_plot.addItem(rule)
        self.norms = QWidget()
        norms = QVBoxLayout(self.norms)
        norms.setContentsMargins(0, 0, 0, 0)
        norms.addWidget(self.table)
        norms.addWidget(self.ratio_plot)
        self.rule = RulePane()
        inner = QWidget()
        column = QVBoxLayout(inner)
        for part in (self.norms_note, self.rule, self.norms, self.before, self.delta, self.after):
            column.addWidget(part)
        column.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.scroll = scrolled(inner)
        layout.addWidget(self.scroll)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_tiles()

    def _fit_tiles(self) -> None:
        """One row per grid, the same class (or unit) in the same column: pictures as wide as the row allows."""
        grid = self.before.grid
        largest = round(TILE_LINES * self.fontMetrics().lineSpacing())  # ~96 px, larger with the text
        tile = min(largest, (self.scroll.viewport().width() - 24) // grid.columns - grid.gap - 2)
        for part in (self.before, self.delta, self.after):
            part.grid.set_tile(tile)

    def _pick(self, unit: int, row: int, col: int) -> None:
        self.picked = (unit, row, col)
        for part in (self.before, self.delta, self.after):
            part.grid.pick(self.picked)
        if self.shown is not None:
            self.rule.show_rule(self.shown.view, self.picked, self.shown.class_names)

    def draw(self, shown: Shown) -> None:
        view, names = shown.view, shown.class_names
        first = view.first
        templates = view.is_templates
        self.norms.setVisible(not templates)
        self.after.setVisible(templates)
        columns = 10 if templates else math.ceil(len(first.before) / 2)
        for part in (self.before, self.delta, self.after):
            if part.grid.columns != columns:
                part.grid.columns = columns
                part.grid._cell_size = None
        self._fit_tiles()
        captions = list(names) if templates else [str(k) for k in range(len(first.before))]
        record = view.record
        when = "before the step" if record is not None else "at step 0"  # the step's number is in the header
        if templates:
            weights = shared_legend([first.before, first.after], "weight")
            self.before.title.setText(f"W {when} (red: votes for the class; before and after on one colour scale)")
            self.after.title.setText("W after the step" if record is not None else "W after: —")
            self.before.grid.set_maps(list(first.before), captions, weights, None)
            self.after.grid.set_maps(list(first.after) if record is not None else [], captions, weights, None)
            self.norms_note.setText(
                f"<b>{view.label}</b> · the ten templates of softmax regression before the step, the update, and "
                "after it. Click a pixel: its update is written out below.")
        else:
            weights = Legend(DIVERGING, -symmetric(first.before), symmetric(first.before), "weight")
            self.before.title.setText(f"First layer {when}: {len(first.before)} {first.unit_title}s"
                                      + (" (the first 16)" if first.unit_title == "unit" else ""))
            self.before.grid.set_maps(list(first.before), captions, weights, None)
            self._show_norms(view)
        if record is not None:
            delta = first.update
            self.delta.title.setText(f"{update_title(view)} (its own colour scale)")
            self.delta.grid.set_maps(list(delta), captions, shared_legend([delta], "ΔW = after − before"), None)
        else:
            self.delta.title.setText("update ΔW: — (no step yet)")
            self.delta.grid.set_maps([], [], Legend(DIVERGING, -1, 1, ""), None)
        if self.picked is not None and any(i >= n for i, n in zip(self.picked, first.before.shape)):
            self.picked = None  # a pixel of another model's pictures
        for part in (self.before, self.delta, self.after):
            part.grid.pick(self.picked)
        self.rule.show_rule(view, self.picked, names)

    def _show_norms(self, view: LaneView) -> None:
        record = view.record
        self.norms_note.setText(
            f"<b>{view.label}</b> · per layer: the norms of the weights W (before the step), of the gradient g and "
            f"of the update ΔW, and the update-to-weight ratio ‖ΔW‖/‖W‖. The dashed line is the classic rule of "
            f"thumb, about {RULE_OF_THUMB:g} per step: far below, the layer learns slowly; far above, the step is "
            "too large. Below: the first layer's pictures and their update; click a pixel for its rule.")
        if record is None:
            fill_table(self.table, [])
            self.ratio_points.setData([], [])
            return
        fill_table(self.table, [[str(k + 1), lay.name, "×".join(map(str, lay.shape)), f"{lay.weight:.3g}",
                                 f"{lay.grad:.3g}", f"{lay.update:.3g}",
                                 f"{lay.ratio:.3g}" if lay.ratio is not None else "— (W = 0)"]
                                for k, lay in enumerate(record.layers)])
        rows = self.table.rowCount()  # the whole table, no inner scroll bar: the panel scrolls
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 4
                                  + rows * self.table.verticalHeader().defaultSectionSize())
        rows = [(k + 1, lay.ratio) for k, lay in enumerate(record.layers) if lay.ratio]
        self.ratio_points.setData([r[0] for r in rows], [r[1] for r in rows])
        self.ratio_plot.setXRange(0.5, len(record.layers) + 0.5, padding=0)


# --- the curves --------------------------------------------------------------------------------


class CurvesPanel(LazyPanel):
    """Batch loss before/after and test loss and accuracy against the step number, one colour per lane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.loss_plot = self.view.addPlot(row=0, col=0)
        self.acc_plot = self.view.addPlot(row=1, col=0)
        self.acc_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss (cross-entropy)")
        self.acc_plot.setLabel("left", "test accuracy")
        self.acc_plot.setLabel("bottom", "step")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True)
            plot.setMenuEnabled(False)
            for side in ("left", "bottom"):
                style_axis(plot.getAxis(side))
        self.here = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#888888", style=Qt.PenStyle.DotLine)) for _ in range(2)]
        self.loss_plot.addItem(self.here[0])
        self.acc_plot.addItem(self.here[1])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw_curves)
        self.reset((), 0)

    def minimumSizeHint(self) -> QSize:
        """Both charts at their least height for the current text size (tick labels and the axis titles)."""
        metrics = QFontMetricsF(self.font())
        return QSize(round(metrics.averageCharWidth() * CHART_MIN_CHARS),
                     round(sum(least_height(plot, metrics) for plot in (self.loss_plot, self.acc_plot))))

    def reset(self, labels: tuple[str, ...], test_images: int) -> None:
        """A new session: one set of curves per lane."""
        for plot in (self.loss_plot, self.acc_plot):
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
            if plot.legend is not None:
                plot.legend.scene().removeItem(plot.legend)
                plot.legend = None
        self.loss_plot.addLegend(offset=(-10, 10), brush=(255, 255, 255, 200))  # curves show through, dimmed
        self.acc_plot.addLegend(offset=(-10, -10), brush=(255, 255, 255, 200))
        self.values: list[dict[int, tuple[float, float, float, float]]] = [{} for _ in labels]
        self.curves = []
        race = len(labels) > 1
        test = f"test loss ({test_images:,} images)"
        for k, label in enumerate(labels):
            colour = LANE_COLOURS[k % len(LANE_COLOURS)]
            thin = pg.mkPen(colour, width=1)
            before = self.loss_plot.plot(pen=thin if race else pg.mkPen("#9ecae1", width=1),
                                         name=None if race else "batch loss before the step")
            after = self.loss_plot.plot(pen=None, symbol="o", symbolSize=4, symbolPen=None,
                                        symbolBrush=colour if not race else None,
                                        name=None if race else "batch loss after the step")
            test_loss = self.loss_plot.plot(pen=pg.mkPen(colour, width=2.5), name=label if race else test)
            accuracy = self.acc_plot.plot(pen=pg.mkPen(colour, width=2.5), name=label if race else "test accuracy")
            self.curves.append((before, after, test_loss, accuracy))
        if race:
            for style, text in ((pg.mkPen("#555555", width=1), "thin: batch loss before the step"),
                                (pg.mkPen("#555555", width=2.5), f"thick: {test}")):
                self.loss_plot.legend.addItem(pg.PlotDataItem(pen=style), text)
        self.step = 0

    def add(self, records: tuple[tuple[StepRecord, ...], ...]) -> None:
        for lanes in records:
            for values, r in zip(self.values, lanes):
                values[r.step] = (r.loss_before, r.loss_after, r.test_loss, r.test_accuracy)
        if not self._redraw.isActive():
            self._redraw.start()

    def draw(self, shown: Shown) -> None:
        self.step = shown.view.step
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw_curves(self) -> None:
        """The curves and the current step's line, at most every REDRAW_MS."""
        if not self.isVisible():
            self._stale = self.shown is not None
            return
        for line in self.here:
            line.setValue(self.step)
        for values, curves in zip(self.values, self.curves):
            steps = np.array(sorted(values), dtype=float)
            table = np.array([values[int(s)] for s in steps]).reshape(-1, 4)
            finite = np.isfinite(table)
            for column, curve in enumerate(curves):
                keep = finite[:, column]
                curve.setData(steps[keep], table[keep, column])


# --- the race ----------------------------------------------------------------------------------


class RacePanel(LazyPanel):
    """The lanes side by side at the current step: their numbers, and softmax's templates one row per lane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = wrapped()
        self.table = make_table(["lane", "batch loss", "test loss", "test acc.", "‖g‖", "‖ΔW‖ / ‖W‖"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("At the current step: the batch's loss before → after the step, the test loss and "
                              "accuracy after it, the gradient's norm and the update-to-weight ratio")
        self.table.setMaximumHeight(6 * self.table.verticalHeader().defaultSectionSize())
        self.rows = QVBoxLayout()
        self.lane_grids: list[TitledGrid] = []
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.note)
        column.addWidget(self.table)
        column.addLayout(self.rows)
        column.addStretch(1)
        self.scroll = scrolled(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        for part in self.lane_grids:
            part.grid.set_tile(min(72, (self.scroll.viewport().width() - 24) // 10 - 8))

    def draw(self, shown: Shown) -> None:
        views = shown.views
        rows = []
        for view in views:
            r = view.record
            rows.append([view.label] + (["—"] * 5 if r is None else [
                f"{r.loss_before:.3g} → {r.loss_after:.3g}", f"{r.test_loss:.4g}", f"{r.test_accuracy:.1%}",
                f"{r.grad_norm:.3g}", f"{r.update_ratio:.3g}"]))
        fill_table(self.table, rows)
        templates = views[0].is_templates
        self.note.setText(
            f"<b>{len(views)} lanes</b> from the same initial weights, on the same batches in the same order, "
            f"stepping together (their curves are overlaid in <i>Loss and accuracy</i>). "
            + ("Below: each lane's ten templates after this step, each lane on its own colour scale."
               if templates else "Pick a lane above the panels to see its batch and update."))
        while len(self.lane_grids) < (len(views) if templates else 0):
            part = TitledGrid(10)
            self.lane_grids.append(part)
            self.rows.addWidget(part)
        for k, part in enumerate(self.lane_grids):
            part.setVisible(templates and k < len(views))
        if templates:
            tile = min(72, (self.scroll.viewport().width() - 24) // 10 - 8)
            for part, view in zip(self.lane_grids, views):
                colour = LANE_COLOURS[view.lane % len(LANE_COLOURS)]
                part.title.setText(f"{view.label}: W after the step")
                part.title.setStyleSheet(f"color: {colour}")
                part.grid.set_tile(tile)
                part.grid.set_maps(list(view.first.after), list(shown.class_names),
                                   shared_legend([view.first.after], "weight"), None)


# --- the deck ----------------------------------------------------------------------------------


class PanelDeck(QWidget):
    """The panels as tabs on a small screen; all at once, two by two, when there is room (a projector)."""

    # The deck's own size, in characters and lines of its text, from which every panel is shown at once: a
    # 1920×1080 screen at the usual text size; at a projector's text size each panel needs a whole deck.
    GRID_CHARS, GRID_LINES = 185, 44

    def __init__(self, panels: list[tuple[str, QWidget]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = panels
        self.enabled = {title: True for title, _ in panels}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # All at once: two rows of two, in splitters (the user may move the borders), shared evenly at first.
        self.grid_page = QSplitter(Qt.Orientation.Vertical)
        self.rows = [QSplitter(Qt.Orientation.Horizontal) for _ in range(2)]
        for row in self.rows:
            self.grid_page.addWidget(row)
        self.grid_page.setChildrenCollapsible(False)
        self.parking = QWidget(self)  # holds the boxes not in a row: owned by Qt, never orphaned
        self.parking.hide()
        self.boxes = {title: QGroupBox(title, self.parking) for title, _ in panels}
        for box in self.boxes.values():
            QVBoxLayout(box).setContentsMargins(2, 2, 2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addWidget(self.grid_page)
        self.mode = ""
        self._arrange("tabs")

    def minimumSizeHint(self) -> QSize:
        return QSize(400, 240)

    def set_enabled(self, title: str, enabled: bool) -> None:
        """Show or hide one panel (the race panel only has something to show with two lanes or more)."""
        if self.enabled[title] != enabled:
            self.enabled[title] = enabled
            self._arrange(self.mode, force=True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        metrics = QFontMetricsF(self.font())
        wide = (self.width() >= self.GRID_CHARS * metrics.averageCharWidth()
                and self.height() >= self.GRID_LINES * metrics.lineSpacing())
        self._arrange("grid" if wide else "tabs")

    def _arrange(self, mode: str, force: bool = False) -> None:
        if mode == self.mode and not force:
            return
        current = self.tabs.tabText(self.tabs.currentIndex()) if self.tabs.count() else None
        self.mode = mode
        self.tabs.blockSignals(True)
        while self.tabs.count():
            self.tabs.removeTab(0)
        for box in self.boxes.values():
            box.setParent(self.parking)  # out of the rows (a splitter takes in any child widget)
        shown = [(title, panel) for title, panel in self.panels if self.enabled[title]]
        if mode == "tabs":
            for title, panel in shown:
                self.tabs.addTab(panel, title)
            titles = [t for t, _ in shown]
            if current in titles:
                self.tabs.setCurrentIndex(titles.index(current))
        else:
            for k, (title, panel) in enumerate(shown):
                box = self.boxes[title]
                box.layout().addWidget(panel)
                panel.show()
                self.rows[k // 2].addWidget(box)
                box.show()
            QTimer.singleShot(0, self, self._share_evenly)  # once the splitters have their size
        self.tabs.blockSignals(False)
        self.tabs.setVisible(mode == "tabs")
        self.grid_page.setVisible(mode == "grid")

    def _share_evenly(self) -> None:
        for splitter in (self.grid_page, *self.rows):
            length = splitter.height() if splitter is self.grid_page else splitter.width()
            splitter.setSizes([length // max(splitter.count(), 1)] * splitter.count())

    def show_panel(self, title: str) -> None:
        """Bring a panel into view (in grid mode they all are)."""
        for k in range(self.tabs.count()):
            if self.tabs.tabText(k) == title:
                self.tabs.setCurrentIndex(k)
