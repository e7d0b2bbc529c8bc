"""The network's map of the digits, beside the canvas: test images where the model's last layer puts them.

Each dot is a test image at the 2-D PCA projection of the model's penultimate-layer features
(`core.projection`), coloured by its true class; a ring marks the ones the model gets wrong. Hovering
shows the image; a click opens it on the canvas (a double-click with the Explain panel). The drawing
on the canvas is a star that moves as the student draws: PCA is a formula, so it lands exactly where
its features put it. The map is computed on a worker thread; `render_map` draws the same view
offscreen for `digitpad map --out`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGraphicsItem, QGraphicsPixmapItem, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.events import FailureKind, RunControl
from digitpad.core.projection import DigitMap, Projection, feature_layer, map_events
from digitpad.gui.common.charts import StaticPlot, style_axis
from digitpad.gui.app import qt_app
from digitpad.gui.common.figures import enlarge_type, save_figure
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.widgets import FittedLabel
from digitpad.gui.common.worker import Worker, run_call, run_events

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
POINT_CHOICES = (2_000, 5_000, 10_000)  # test images on the app's map; the first is the default (a map in ~1 s)
THUMB_PX = 56
DRAWING_COLOUR = "#ffd700"


def features_title(model: TrainedModel) -> str:
    """What the map projects, in words: "128 features before the last layer" or "the 10 logits"."""
    layer = feature_layer(model.model)
    return f"its {layer.in_features} features before the last layer" if layer is not None else "its 10 logits"


def legend_html(class_names: tuple[str, ...], drawing: bool = True, personal: bool = False) -> str:
    """Each class's colour by its name, the mistakes' ring and (in the app) the drawing's star and My digits."""
    swatch = "<span style='color:{c}'>●</span>&nbsp;{t}"
    parts = [swatch.format(c=CLASS_COLOURS[k % len(CLASS_COLOURS)], t=name.replace(" ", "&nbsp;"))
             for k, name in enumerate(class_names)]
    parts.append("<b>○</b>&nbsp;misclassified")
    if drawing:
        parts.append("<span style='color:#b8860b'>★</span>&nbsp;your&nbsp;drawing")
    if personal:
        parts.append("<b>◆</b>&nbsp;My&nbsp;digits&nbsp;(their&nbsp;label's&nbsp;colour)")
    return " &nbsp; ".join(parts)


class MapPlot(StaticPlot):
    """The dots by class, rings on the mistakes, the drawing's star and a thumbnail under the pointer."""

    hovered = Signal(int)  # a map index, or -1 when the pointer left the dots
    chosen = Signal(int, bool)  # a map index; True on a double-click (open it with the Explain panel)

    def __init__(self, point_size: float = 5) -> None:
        super().__init__()
        self.setLabel("bottom", "PC 1: first principal component (feature units)")
        self.setLabel("left", "PC 2 (feature units)")
        for side in ("left", "bottom"):
            style_axis(self.getAxis(side))
        self.classes: list[pg.ScatterPlotItem] = []
        for colour in CLASS_COLOURS:
            item = pg.ScatterPlotItem(size=point_size, pen=None, brush=pg.mkBrush(colour), hoverable=True, tip=None)
            item.sigHovered.connect(self._on_hover)
            item.sigClicked.connect(self._on_click)
            self.addItem(item)
            self.classes.append(item)
        self.wrong = pg.ScatterPlotItem(size=point_size + 5, pen=pg.mkPen("k", width=1.2), brush=None)
        self.addItem(self.wrong)
        self.drawing = pg.ScatterPlotItem(size=24, symbol="star", pen=pg.mkPen("k", width=1.5),
                                          brush=pg.mkBrush(DRAWING_COLOUR))
        self.drawing.setZValue(20)
        self.addItem(self.drawing)
        self.personal = pg.ScatterPlotItem(size=11, symbol="d", pen=pg.mkPen("k", width=1.2))
        self.personal.setZValue(10)
        self.addItem(self.personal)
        self.thumb = QGraphicsPixmapItem()
        self.thumb.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.thumb.setOffset(8, 8)
        self.thumb.setZValue(30)
        self.thumb.setVisible(False)
        self.getPlotItem().vb.addItem(self.thumb, ignoreBounds=True)
        self.digit_map: DigitMap | None = None
        self._hovered = -1

    def show_map(self, digit_map: DigitMap) -> None:
        self.digit_map = digit_map
        xy, labels = digit_map.positions, digit_map.labels
        for k, item in enumerate(self.classes):
            mine = np.flatnonzero(labels == k)
            item.setData(pos=xy[mine], data=mine)
        wrong = np.flatnonzero(digit_map.predictions != labels)
        self.wrong.setData(pos=xy[wrong])
        self.thumb.setVisible(False)
        self.autoRange(padding=0.04)

    def show_drawing(self, xy: np.ndarray | None) -> None:
        self.drawing.setData(pos=[] if xy is None else [xy])

    def show_personal(self, xy: np.ndarray, labels: list[int]) -> None:
        """The My digits samples as diamonds in their label's colour."""
        brushes = [pg.mkBrush(CLASS_COLOURS[k % len(CLASS_COLOURS)]) for k in labels]
        self.personal.setData(pos=xy, brush=brushes)

    def drawing_position(self) -> np.ndarray | None:
        data = self.drawing.data
        return None if len(data) == 0 else np.array([data[0]["x"], data[0]["y"]])

    def _on_hover(self, _item, points, _event) -> None:
        index = int(points[0].data()) if len(points) else -1
        if index == self._hovered or (index < 0 and any(i.isUnderMouse() for i in self.classes)):
            return
        self._hovered = index
        if index >= 0 and self.digit_map is not None:
            image = gray_image(self.digit_map.images[index], invert=True)
            self.thumb.setPixmap(QPixmap.fromImage(image.scaled(THUMB_PX, THUMB_PX)))
            self.thumb.setPos(QPointF(*self.digit_map.positions[index]))
        self.thumb.setVisible(index >= 0)
        self.hovered.emit(index)

    def _on_click(self, _item, points, event) -> None:
        if len(points):
            self.chosen.emit(int(points[0].data()), bool(event.double()))


class MapView(QWidget):
    """The plot with its legend above it (a line that wraps, never over the dots) and an optional title."""

    def __init__(self, title: str = "", point_size: float = 5) -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setWordWrap(True)
        self.title.setVisible(bool(title))
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.plot = MapPlot(point_size)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, stretch=1)

    def show_map(self, digit_map: DigitMap, class_names: tuple[str, ...], drawing: bool = True,
                 personal: bool = False) -> None:
        self.legend.setText(legend_html(class_names, drawing, personal))
        self.plot.show_map(digit_map)


class MapPanel(QWidget):
    """The map of the canvas's model (or of each epoch of the training run), its drawing as a star."""

    image_chosen = Signal(object, int, str, bool)  # image (28×28 uint8), test index, true class name, explain
    map_ready = Signal()  # a map was drawn (tests wait on it)
    personal_placed = Signal()  # the My digits diamonds were drawn (tests wait on it)

    def __init__(self) -> None:
        super().__init__()
        self.model: TrainedModel | None = None  # the model the map shows
        self.canvas_model: TrainedModel | None = None
        self.run_model: TrainedModel | None = None  # the training run's latest epoch
        self.digit_map: DigitMap | None = None
        self.digit_map_model: TrainedModel | None = None  # the model that made digit_map
        self.projection: Projection | None = None  # the axes, kept while the model's source stays the same
        self.projection_source: str | None = None
        self.job: Worker | None = None
        self.pending: TrainedModel | None = None  # asked for while a map was being computed
        self.visible_wanted = False
        self.drawing_pixels: np.ndarray | None = None
        self.points = QComboBox()
        for n in POINT_CHOICES:
            self.points.addItem(f"{n:,} test images", n)
        self.points.currentIndexChanged.connect(lambda: self.recompute(refit=True))
        self.follow_run = QCheckBox("Follow training")
        self.follow_run.setToolTip("Show each epoch of the run in the Training tab, on the axes fitted to its "
                                   "first epoch: watch the classes separate")
        self.follow_run.toggled.connect(lambda _: self._choose_model())
        self.personal_box = QCheckBox("My digits")
        self.personal_box.setToolTip("Show the drawings kept in My digits, as diamonds in their label's colour")
        self.personal_box.toggled.connect(lambda _: self._place_personal())
        self.personal: list[tuple[np.ndarray, int]] = []  # (28×28 pixels, label) of My digits
        self.placing: Worker | None = None
        self.refit = QPushButton("Refit axes")
        self.refit.setToolTip("Fit the two axes (PCA) again, to the model shown now")
        self.refit.clicked.connect(lambda: self.recompute(refit=True))
        self.status = FittedLabel(chars=40, lines=2, min_scale=0.8,
                                  align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.info = FittedLabel("Hover a dot to see its image; click it to open it on the canvas "
                                "(double-click: with Explain).", chars=40, lines=2, min_scale=0.8,
                                align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.view = MapView()
        self.view.plot.hovered.connect(self._on_hovered)
        self.view.plot.chosen.connect(self._on_chosen)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.points)
        row.addWidget(self.follow_run)
        row.addWidget(self.personal_box)
        row.addWidget(self.refit)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.view, stretch=1)
        layout.addWidget(self.info)

    # --- which model -------------------------------------------------------------------------------

    def set_canvas_model(self, model: TrainedModel | None) -> None:
        self.canvas_model = model
        self._choose_model()

    def training_snapshot(self, model: TrainedModel) -> None:
        """An epoch of the training run ended: shown at once when the map follows the run."""
        self.run_model = model
        if self.follow_run.isChecked():
            self._choose_model()

    def _choose_model(self) -> None:
        following = self.follow_run.isChecked() and self.run_model is not None
        model = self.run_model if following else self.canvas_model
        if model is not self.model:
            self.model = model
            self.recompute()

    def set_active(self, shown: bool) -> None:
        """The panel is shown or hidden: a hidden map costs nothing and is computed when shown."""
        self.visible_wanted = shown
        if shown and self.model is not None and (self.digit_map is None or self.digit_map_model is not self.model):
            self.recompute()

    # --- computing ---------------------------------------------------------------------------------

    def recompute(self, refit: bool = False) -> None:
        """Compute the map of `self.model` on a worker thread; the axes stay those of the same run's
        earlier epochs unless `refit`, or the model comes from elsewhere."""
        if refit:
            self.projection = self.projection_source = None
        if self.model is None or not self.visible_wanted:
            return
        if self.job is not None:
            self.pending = self.model  # computed next: only the latest epoch waits, the others are skipped
            return
        model = self.model
        same_run = self.projection is not None and self.projection_source == model.source
        self.status.setText(f"Computing the map of {model.title}…")
        control = RunControl()
        self.job = run_events(map_events, model, self.points.currentData(), self.projection if same_run else None,
                              control, name="digitpad-map", control=control, parent=self,
                              handlers={DigitMap: lambda m: self._on_map(model, m)},
                              failed=self._on_failed, ended=self._on_job_ended)

    def _on_job_ended(self) -> None:
        self.job = None
        pending, self.pending = self.pending, None
        if pending is not None and pending is self.model:
            self.recompute()

    def _on_failed(self, message: str, _kind: FailureKind) -> None:
        self.status.setText(f"No map: {message}")

    def _on_map(self, model: TrainedModel, digit_map: DigitMap) -> None:
        self.digit_map, self.digit_map_model = digit_map, model
        if self.projection_source != model.source or self.projection is None:
            self.projection, self.projection_source = digit_map.projection, model.source
        self.view.show_map(digit_map, model.meta.class_names, personal=self.personal_box.isChecked())
        wrong = int((digit_map.predictions != digit_map.labels).sum())
        self.status.setText(f"{model.title}: PCA of {features_title(model)} · {len(digit_map.labels):,} test "
                            f"images, {wrong:,} misclassified (○) · 5-NN accuracy in 2-D "
                            f"{digit_map.knn_accuracy:.1%} · {digit_map.seconds:.1f} s")
        self.show_drawing(self.drawing_pixels)
        self._place_personal()
        self.map_ready.emit()

    # --- the drawing and the dots --------------------------------------------------------------------

    def show_drawing(self, pixels: np.ndarray | None) -> None:
        """The canvas's 28×28 field (None: nothing drawn) as a star, placed by the map's own model."""
        self.drawing_pixels = pixels
        if self.digit_map is None or pixels is None:
            self.view.plot.show_drawing(None)
            return
        self.view.plot.show_drawing(self.digit_map.place(self.digit_map_model, pixels))

    def set_personal(self, samples: list[tuple[np.ndarray, int]]) -> None:
        """The My digits samples (pixels, label): placed on the map when "My digits" is ticked."""
        self.personal = list(samples)
        self._place_personal()

    def _place_personal(self) -> None:
        """Place the samples on a thread (a few hundred forward passes), then draw them."""
        shown = self.personal_box.isChecked() and self.digit_map is not None and bool(self.personal)
        if self.digit_map is not None:
            self.view.legend.setText(legend_html(self.digit_map_model.meta.class_names,
                                                 personal=self.personal_box.isChecked()))
        if not shown:
            self.view.plot.show_personal(np.zeros((0, 2)), [])
            return
        digit_map, model = self.digit_map, self.digit_map_model
        pixels = np.stack([p for p, _ in self.personal])
        labels = [label for _, label in self.personal]
        self.placing = run_call(digit_map.place, model, pixels, name="digitpad-map-personal", parent=self,
                                then=lambda xy, error: self._on_personal_placed(digit_map, xy, labels, error))

    def _on_personal_placed(self, digit_map: DigitMap, xy, labels: list[int], error: Exception | None) -> None:
        if digit_map is not self.digit_map or not self.personal_box.isChecked():
            return  # another map, or unticked meanwhile
        if error is not None:
            self.info.setText(f"My digits could not be placed: {error}")
            return
        self.view.plot.show_personal(xy, labels)
        self.personal_placed.emit()

    def _on_hovered(self, index: int) -> None:
        if index < 0 or self.digit_map is None:
            return
        m, names = self.digit_map, self.digit_map_model.meta.class_names
        said = names[m.predictions[index]]
        verdict = f"read as {said}" if m.predictions[index] != m.labels[index] else "read right"
        self.info.setText(f"Test image {m.indices[index]:,}: a {names[m.labels[index]]}, {verdict}. "
                          "Click: open it on the canvas; double-click: with Explain.")

    def _on_chosen(self, index: int, explain: bool) -> None:
        m = self.digit_map
        name = self.digit_map_model.meta.class_names[m.labels[index]]
        self.image_chosen.emit(m.images[index], int(m.indices[index]), name, explain)

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.control.stop()


# --- the figure for slides -------------------------------------------------------------------------

FIGURE_SIDE = 1000


def render_map(digit_map: DigitMap, class_names: tuple[str, ...], title: str, target: str | os.PathLike,
               side: int = FIGURE_SIDE) -> Path:
    """The app's map view, with a title, drawn offscreen into a PNG."""
    qt_app()  # a command line's figure: the process may have no application yet
    view = MapView(title, point_size=6)
    enlarge_type(view, view.plot)
    view.show_map(digit_map, class_names, drawing=False)
    return save_figure(view, target, side, side)
