"""Lesson 5: the 2-D playground — decision regions as they form, per class and per hidden unit.

Points in the plane (click to add one of the chosen class, right-click to remove one), a model
(softmax regression or a small MLP, optional feature crosses), and its regions redrawn while it
trains, with the train and test curves and each hidden unit's own map beside them. The training
runs on a worker thread (`run_events`) through `core.playground`, which trains with the engine's
optimizers and step; the window only draws the frames it is sent. `render_boundary` draws the same
plot offscreen for `digitpad playground --out`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from digitpad.core import playground as pg_core
from digitpad.core.events import FailureKind, RunControl
from digitpad.core.names import PLAYGROUND_BOUNDS
from digitpad.core.playground import (FEATURE_TITLES, FEATURES, PRESETS, DataSpec, DrawnGate, Frame, NetSpec,
                                      Playground, PlaygroundConfig, PointSet, make_points)
from digitpad.gui.common.charts import TEST_COLOUR, TRAIN_COLOUR, LegendAbove, StaticPlot, style_axis
from digitpad.gui.app import qt_app
from digitpad.gui.common.figures import enlarge_type, save_figure
from digitpad.gui.common.colours import diverging_images
from digitpad.gui.training.form import setting_control
from digitpad.gui.common.widgets import FittedLabel, FormScroll
from digitpad.gui.common.worker import Worker, run_events
from digitpad.gui.lessons.page import LessonPage, explanation, make_plot

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
MAX_SHADE = 0.75  # a certain region is this far from white to its class colour: the points stay visible on it
SIDE_PANELS_MS = 200  # the curves, tiles and weights are redrawn at most this often; the regions at every frame
REMOVE_RADIUS_PX = 12  # a right-click removes the nearest point within this many pixels
TILE_PX = 46
DATA_TITLES = {"blobs": "blobs", "moons": "moons", "circles": "circles", "xor": "XOR", "spiral": "spiral"}
INTRO = ("<b>Where the classes live.</b> Each colour is the class the model would answer at that point, "
         "paler where it is less sure. Click to add a point of the chosen class, right-click to remove one; "
         "filled points train the model, hollow ones test it.")


def class_colours(k: int) -> np.ndarray:
    return np.array([QColor(c).getRgb()[:3] for c in CLASS_COLOURS[:k]], dtype=np.float32)


def region_rgb(probabilities: np.ndarray) -> np.ndarray:
    """G × G × K probabilities → G × G × 3 colours: the likeliest class's colour, deeper the surer.

    A cell at chance (1/K for every class) is white; a certain one is MAX_SHADE of the way to its colour.
    """
    k = probabilities.shape[2]
    top = probabilities.argmax(axis=2)
    sure = np.clip((probabilities.max(axis=2) - 1 / k) / (1 - 1 / k), 0, 1) * MAX_SHADE
    rgb = 255 - (255 - class_colours(k)[top]) * sure[..., None]
    return np.ascontiguousarray(rgb.round().astype(np.uint8))


class BoundaryPlot(StaticPlot):
    """The plane: decision regions as an image, training points filled, test points hollow."""

    add_requested = Signal(float, float)  # left click at (x₁, x₂)
    remove_requested = Signal(float, float, float)  # right click at (x₁, x₂), within this radius
    painted = Signal()

    def __init__(self) -> None:
        super().__init__()
        extent = pg_core.EXTENT
        self.rect = QRectF(-extent, -extent, 2 * extent, 2 * extent)
        self.setAspectLocked(True)
        self.setRange(xRange=(-extent, extent), yRange=(-extent, extent), padding=0)
        self.setLabel("bottom", "x₁")
        self.setLabel("left", "x₂")
        for side in ("left", "bottom"):
            style_axis(self.getAxis(side))
        self.regions = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.regions)
        self.train_points = pg.ScatterPlotItem(size=9, pxMode=True)
        self.test_points = pg.ScatterPlotItem(size=9, pxMode=True)
        self.addItem(self.train_points)
        self.addItem(self.test_points)
        self.redraws = 0  # regions drawn so far: the benchmark's count
        self.scene().sigMouseClicked.connect(self._on_click)

    def show_points(self, points: PointSet) -> None:
        outline = pg.mkPen("k", width=0.8)
        brushes = [pg.mkBrush(c) for c in CLASS_COLOURS]
        pens = [pg.mkPen(c, width=2) for c in CLASS_COLOURS]
        (xtr, ytr), (xte, yte) = points.part(False), points.part(True)
        self.train_points.setData(pos=xtr, brush=[brushes[c] for c in ytr], pen=outline)
        self.test_points.setData(pos=xte, brush=pg.mkBrush("w"), pen=[pens[c] for c in yte])

    def show_regions(self, probabilities: np.ndarray) -> None:
        self.regions.setImage(region_rgb(probabilities), autoLevels=False, levels=(0, 255), rect=self.rect)
        self.redraws += 1

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.painted.emit()

    def _on_click(self, event) -> None:
        view = self.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        at = view.mapSceneToView(event.scenePos())
        if event.button() == Qt.MouseButton.LeftButton:
            self.add_requested.emit(at.x(), at.y())
        elif event.button() == Qt.MouseButton.RightButton:
            per_px = view.viewPixelSize()[0]
            self.remove_requested.emit(at.x(), at.y(), REMOVE_RADIUS_PX * per_px)
        event.accept()


def legend_html(classes: int) -> str:
    """The plot's legend, one line that wraps: each class's colour, filled and hollow points, the shading."""
    swatch = "<span style='color:{c}'>●</span>&nbsp;{t}"
    parts = [swatch.format(c=CLASS_COLOURS[k], t=f"class&nbsp;{k}") for k in range(classes)]
    parts += ["<span style='color:#555555'>●</span>&nbsp;train", "<span style='color:#555555'>○</span>&nbsp;test",
              "<span style='background:#f2f7fb'>&nbsp;&nbsp;</span><span style='background:#a9c7e0'>&nbsp;&nbsp;"
              "</span>&nbsp;regions:&nbsp;paler&nbsp;=&nbsp;less&nbsp;sure"]
    return " &nbsp; ".join(parts)


class BoundaryView(LegendAbove):
    """The decision regions with their legend above them, and an optional title."""

    def __init__(self, title: str = "") -> None:
        super().__init__(BoundaryPlot(), title)
        self.classes = 0

    def show_points(self, points: PointSet) -> None:
        if points.classes != self.classes:
            self.classes = points.classes
            self.legend.setText(legend_html(points.classes))
        self.plot.show_points(points)

    def show_regions(self, probabilities: np.ndarray) -> None:
        self.plot.show_regions(probabilities)


class UnitTile(QWidget):
    """One hidden unit's response over the plane: red where it is above its midpoint, blue below."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.image: QImage | None = None
        self.selected = False
        self.setFixedSize(TILE_PX, TILE_PX)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        inner = QRectF(2, 2, self.width() - 4, self.height() - 4)
        if self.image is not None:
            painter.drawImage(inner, self.image)
        painter.setPen(QPen(QColor("#000000" if self.selected else "#aaaaaa"), 3 if self.selected else 1))
        painter.drawRect(QRectF(1, 1, self.width() - 2, self.height() - 2))
        painter.end()


# Each activation's midpoint: a tile shows a unit's output minus it (sigmoid's outputs lie in (0, 1)).
MIDPOINTS = {"relu": 0.0, "tanh": 0.0, "sigmoid": 0.5}


class UnitTiles(QWidget):
    """Every hidden unit as a tile, the tiles of a layer under its name, as many a row as the width takes;
    clicking one chooses it."""

    chosen = Signal(int, int)  # layer, unit (0-based)

    def __init__(self) -> None:
        super().__init__()
        tiles = QWidget()
        self.grid = QGridLayout(tiles)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(3)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tiles: list[list[UnitTile]] = []
        self.titles: list[QLabel] = []
        self.note = QLabel()  # under the grid, not in it: a wrapped label spanning grid columns was cut short
        self.note.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(tiles)
        column.addWidget(self.note)
        column.addStretch(1)
        self.columns = 0

    def set_layers(self, layers: tuple[int, ...]) -> None:
        """Tiles for these hidden layer sizes (none: softmax regression, which the note explains)."""
        for widget in [*self.titles, *(t for tiles in self.tiles for t in tiles)]:
            widget.setParent(None)  # gone at once, not at the next turn of the event loop
            widget.deleteLater()
        self.titles, self.tiles = [], []
        for layer, units in enumerate(layers):
            self.titles.append(QLabel(f"hidden layer {layer + 1}: {units} unit{'s' if units > 1 else ''}"))
            tiles = []
            for unit in range(units):
                tile = UnitTile()
                tile.setToolTip(f"layer {layer + 1}, unit {unit + 1}: click for its incoming weights")
                tile.clicked.connect(lambda layer=layer, unit=unit: self.chosen.emit(layer, unit))
                tiles.append(tile)
            self.tiles.append(tiles)
        self.note.setText("Each tile: one unit's output over the plane — red above its midpoint (0 for ReLU "
                          "and tanh, 0.5 for sigmoid), white at it, blue below; each tile on its own scale."
                          if layers else "Softmax regression has no hidden units: its inputs go straight to "
                          "the classes, so its regions meet along straight lines in the chosen inputs.")
        self.columns = 0
        self._lay_out()

    def _lay_out(self) -> None:
        """Place the titles, tiles and note for the current width (a tile per column that fits)."""
        columns = max(1, (self.width() - 4) // (TILE_PX + self.grid.spacing()))
        if columns == self.columns:
            return
        self.columns = columns
        while self.grid.count():
            self.grid.takeAt(0)
        row = 0
        for title, tiles in zip(self.titles, self.tiles):
            self.grid.addWidget(title, row, 0, 1, columns)
            row += 1
            for k, tile in enumerate(tiles):
                self.grid.addWidget(tile, row + k // columns, k % columns)
            row += -(-len(tiles) // columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._lay_out()

    def show_units(self, units: tuple[np.ndarray, ...], midpoint: float) -> None:
        if not units:
            return
        # Row 0 of a map is the bottom of the plane, the top of an image: flipped.
        images = diverging_images(np.concatenate(units)[:, ::-1] - midpoint)
        for tile, image in zip((t for tiles in self.tiles for t in tiles), images):
            tile.set_image(image)

    def select(self, layer: int, unit: int) -> None:
        for l, tiles in enumerate(self.tiles):
            for u, tile in enumerate(tiles):
                tile.selected = (l, u) == (layer, unit)
                tile.update()


class WeightChart(StaticPlot):
    """The chosen unit's incoming weights and bias as bars: red positive, blue negative."""

    def __init__(self) -> None:
        super().__init__()
        self.setLabel("left", "weight")
        style_axis(self.getAxis("left"))
        self.getAxis("bottom").setStyle(tickTextOffset=2)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.addItem(self.bars)
        self.addLine(y=0, pen=pg.mkPen("#888888"))
        self.setVisible(False)  # until a unit is chosen: an empty chart would show axes without a tick

    def show_weights(self, names: list[str], weights: np.ndarray, bias: float) -> None:
        values = np.append(weights, bias)
        labels = [*names, "bias"]
        brushes = ["#c81e28" if v >= 0 else "#1e46c8" for v in values]
        self.bars.setOpts(x=np.arange(len(values)), height=values, brushes=brushes)
        self.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.setXRange(-0.6, len(values) - 0.4, padding=0)
        low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
        self.setYRange(low, high if high > low else low + 1, padding=0.1)
        self.setVisible(True)

    def clear_weights(self) -> None:
        self.bars.setOpts(x=[], height=[])
        self.getAxis("bottom").setTicks([[]])
        self.setVisible(False)


def input_names(features: tuple[str, ...], layers: tuple[int, ...], layer: int) -> list[str]:
    """What feeds layer `layer`: the chosen inputs, or the previous layer's units."""
    if layer == 0:
        return [FEATURE_TITLES[f] for f in features]
    return [f"h{layer}.{u + 1}" for u in range(layers[layer - 1])]


class PlaygroundLesson(LessonPage):
    """The 2-D playground: data, model and training controls, the live regions, curves and units."""

    TITLE = "Playground"
    TIP = "The 2-D playground: decision regions, hidden units, overfitting"

    frame_drawn = Signal()  # the regions were redrawn from a new frame (tests wait on it)
    run_finished = Signal()  # a run or a step ended and its thread is gone

    def __init__(self) -> None:
        super().__init__()
        self.playground: Playground | None = None
        self.points: PointSet | None = None
        self.run: Worker | None = None
        self.restart_when_ended = False
        self.frame: Frame | None = None
        self.history: dict[str, list[float]] = {}
        self.chosen_unit: tuple[int, int] | None = None
        self._applying = False  # a preset is filling the controls: one rebuild at the end
        self._side_drawn_at = 0.0
        self._side_due: list[Callable[[], None]] = []  # the side panels' parts still to draw, one per frame
        self._painting: DrawnGate | None = None  # the run waits for the frame being painted
        self._build()
        self.apply_preset("mlp-xor", run=False)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.preset_buttons: dict[str, QPushButton] = {}
        presets = QHBoxLayout()
        presets.setContentsMargins(0, 0, 0, 0)
        for key, preset in PRESETS.items():
            button = QPushButton(preset.title)
            button.setToolTip(preset.sentence)
            button.clicked.connect(lambda _=False, key=key: self.apply_preset(key))
            presets.addWidget(button)
            self.preset_buttons[key] = button
        presets.addStretch(1)
        self.exercise_button = QPushButton("Save as exercise…")
        self.exercise_button.setToolTip("A predict-then-reveal exercise from this page's data, model and training "
                                        "(the points are drawn again from the seed: clicked ones are not kept)")
        self.exercise_button.clicked.connect(self.exercise_requested)
        presets.addWidget(self.exercise_button)
        self.sentence = explanation(INTRO)
        self.sentence.setMinimumHeight(2 * self.sentence.fontMetrics().lineSpacing())

        self.view = BoundaryView()
        self.view.plot.setMinimumSize(260, 260)
        self.view.plot.painted.connect(self._on_plot_painted)
        self.view.plot.add_requested.connect(self.add_point)
        self.view.plot.remove_requested.connect(self.remove_point)
        self.loss_plot = make_plot("loss", "step")
        self.acc_plot = make_plot("accuracy", "step")
        self.acc_plot.setXLink(self.loss_plot)
        # The step axis is numbered and named once, under the accuracy below (the two share it).
        self.loss_plot.setLabel("bottom", "")
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.curves = {
            f"{part}_{metric}": plot.plot(pen=pg.mkPen(colour, width=2), name=part, antialias=False)
            for metric, plot in (("loss", self.loss_plot), ("accuracy", self.acc_plot))
            for part, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR))
        }
        # Antialiased curves took ~200 ms to paint here (600 points each); plain ones, a few at most per pixel, ~10.
        for plot in (self.loss_plot, self.acc_plot):
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        self.tiles = UnitTiles()
        self.tiles.chosen.connect(self.choose_unit)
        tiles_scroll = QScrollArea()
        tiles_scroll.setWidget(self.tiles)
        tiles_scroll.setWidgetResizable(True)
        tiles_scroll.setMinimumHeight(2 * TILE_PX + 30)
        self.weights = WeightChart()
        self.weights_title = QLabel()
        weights = QWidget()
        weights_column = QVBoxLayout(weights)
        weights_column.setContentsMargins(0, 0, 0, 0)
        weights_column.setSpacing(0)
        weights_column.addWidget(self.weights_title)
        weights_column.addWidget(self.weights, stretch=1)
        right = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.loss_plot, self.acc_plot, tiles_scroll, weights):
            right.addWidget(widget)
        right.setSizes([150, 150, 160, 130])
        # On a short screen the column scrolls: each chart keeps a readable height (a splitter would squash them).
        right_scroll = QScrollArea()
        right_scroll.setWidget(right)
        right_scroll.setWidgetResizable(True)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right_scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        controls_scroll = FormScroll(self._build_controls(), self.data_kind)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.step_button, self.reset_button):
            buttons.addWidget(button)
        left = QWidget()  # the controls scroll on a short screen; Run, Step and the scores stay in view
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(controls_scroll, stretch=1)
        column.addLayout(buttons)
        column.addWidget(self.status)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.view)
        split.addWidget(right_scroll)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        split.setCollapsible(1, False)
        layout = QVBoxLayout(self)
        layout.addLayout(presets)
        layout.addWidget(self.sentence)
        layout.addWidget(split, stretch=1)

    def _build_controls(self) -> QWidget:
        defaults = PlaygroundConfig()
        self.data_kind = QComboBox()
        for kind in pg_core.DATA_KINDS:
            self.data_kind.addItem(DATA_TITLES[kind], kind)
        self.classes = QSpinBox(minimum=2, maximum=len(CLASS_COLOURS), value=3)
        self.n_points = QSpinBox(minimum=10, maximum=2000, singleStep=10, value=defaults.data.points)
        self.noise = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05, value=defaults.data.noise)
        self.test_share = QSpinBox(minimum=0, maximum=90, singleStep=10, value=round(100 * defaults.data.test_share),
                                   suffix=" %")
        self.data_seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.click_class = QComboBox()
        self.model_kind = QComboBox()
        self.model_kind.addItem("softmax regression", "softmax")
        self.model_kind.addItem("MLP", "mlp")
        self.layers = QSpinBox(minimum=1, maximum=3, value=1)
        self.units = QSpinBox(minimum=1, maximum=16, value=8)
        self.activation = QComboBox()
        for name in pg_core.ACTIVATIONS:
            self.activation.addItem(name, name)
        self.feature_boxes = {f: QCheckBox(FEATURE_TITLES[f]) for f in FEATURES}
        # The engine's settings with the engine's ranges (the settings table); the batch is the playground's own.
        self.optimizer = setting_control("optimizer", defaults.optimizer)
        self.lr = setting_control("lr", defaults.lr)
        self.batch_size = QSpinBox(minimum=1, maximum=int(PLAYGROUND_BOUNDS["batch_size"].high),
                                   value=defaults.batch_size)
        self.weight_decay = setting_control("weight_decay", defaults.weight_decay)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Train until you press Stop")
        self.run_button.clicked.connect(self.toggle_run)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train on one mini-batch")
        self.step_button.clicked.connect(self.step_once)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("New initial weights from the seed, the same points")
        self.reset_button.clicked.connect(lambda: self.rebuild(keep_points=True))
        # Sized by its font, never by its text: a new score several times a second never lays the page out again.
        self.status = FittedLabel(chars=30, lines=2, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        for widget in (self.data_kind, self.classes, self.n_points, self.noise, self.test_share, self.data_seed):
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.valueChanged
            signal.connect(lambda *_: self._changed(keep_points=False))
        for widget in (self.model_kind, self.activation, self.optimizer):
            widget.currentIndexChanged.connect(lambda *_: self._changed(keep_points=True))
        for widget in (self.layers, self.units, self.lr, self.batch_size, self.weight_decay):
            widget.valueChanged.connect(lambda *_: self._changed(keep_points=True))
        for box in self.feature_boxes.values():
            box.toggled.connect(lambda *_: self._changed(keep_points=True))

        data = QFormLayout()
        data.addRow("Data", self.data_kind)
        data.addRow("Classes", self.classes)
        data.addRow("Points", self.n_points)
        data.addRow("Noise", self.noise)
        data.addRow("Test share", self.test_share)
        data.addRow("Seed", self.data_seed)
        data.addRow("Click adds", self.click_class)
        model = QFormLayout()
        model.addRow("Model", self.model_kind)
        model.addRow("Hidden layers", self.layers)
        model.addRow("Units each", self.units)
        model.addRow("Activation", self.activation)
        features = QGridLayout()
        for k, box in enumerate(self.feature_boxes.values()):
            features.addWidget(box, k // 3, k % 3)
        model.addRow("Inputs", features)
        training = QFormLayout()
        training.addRow("Optimizer", self.optimizer)
        training.addRow("Learning rate", self.lr)
        training.addRow("Batch size", self.batch_size)
        training.addRow("Weight decay", self.weight_decay)
        column = QVBoxLayout()
        for title, form in (("Data", data), ("Model", model), ("Training", training)):
            box = QGroupBox(title)
            box.setLayout(form)
            column.addWidget(box)
        column.addStretch(1)
        panel = QWidget()
        panel.setLayout(column)
        return panel

    # --- settings ------------------------------------------------------------------------------

    def config(self) -> PlaygroundConfig:
        kind = self.data_kind.currentData()
        classes = self.classes.value() if kind in pg_core.MANY_CLASSES else 2
        data = DataSpec(kind, classes, self.n_points.value(), round(self.noise.value(), 4),
                        self.test_share.value() / 100, self.data_seed.value())
        features = tuple(f for f, box in self.feature_boxes.items() if box.isChecked()) or ("x1", "x2")
        net = NetSpec(self.model_kind.currentData(), (self.units.value(),) * self.layers.value(),
                      self.activation.currentData(), features)
        return PlaygroundConfig(data, net, self.optimizer.currentData(), self.lr.value(), weight_decay=self.weight_decay.value(),
                                batch_size=self.batch_size.value(), seed=self.data_seed.value())

    def exercise_setup(self) -> dict:
        """The page's setup as an exercise, trained as many steps as the page has (the preset's count before any)."""
        cfg = self.config()
        steps = self.frame.step if self.frame is not None and self.frame.step > 0 else None
        data, net = cfg.data, cfg.net
        return {"lesson": "playground", "data": data.kind, "classes": data.classes, "points": data.points,
                "noise": data.noise, "test_share": data.test_share, "net": net.kind, "hidden": list(net.hidden),
                "activation": net.activation, "features": list(net.features), "optimizer": cfg.optimizer,
                "lr": cfg.lr, "momentum": cfg.momentum, "weight_decay": cfg.weight_decay,
                "batch_size": cfg.batch_size, "seed": cfg.seed,
                **({"steps": steps} if steps else {})}  # none trained yet: the lesson's usual run

    def show_config(self, cfg: PlaygroundConfig) -> None:
        """Fill the controls from a set-up (a preset) without a rebuild per control."""
        self._applying = True
        try:
            self.data_kind.setCurrentIndex(self.data_kind.findData(cfg.data.kind))
            if cfg.data.kind in pg_core.MANY_CLASSES:
                self.classes.setValue(cfg.data.classes)
            self.n_points.setValue(cfg.data.points)
            self.noise.setValue(cfg.data.noise)
            self.test_share.setValue(round(100 * cfg.data.test_share))
            self.data_seed.setValue(cfg.data.seed)
            self.model_kind.setCurrentIndex(self.model_kind.findData(cfg.net.kind))
            if cfg.net.kind == "mlp":
                self.layers.setValue(len(cfg.net.hidden))
                self.units.setValue(cfg.net.hidden[0])
                self.activation.setCurrentIndex(self.activation.findData(cfg.net.activation))
            for name, box in self.feature_boxes.items():
                box.setChecked(name in cfg.net.features)
            self.optimizer.setCurrentIndex(self.optimizer.findData(cfg.optimizer))
            self.lr.setValue(cfg.lr)
            self.batch_size.setValue(cfg.batch_size)
            self.weight_decay.setValue(cfg.weight_decay)
        finally:
            self._applying = False

    def _update_enabled(self) -> None:
        mlp = self.model_kind.currentData() == "mlp"
        for widget in (self.layers, self.units, self.activation):
            widget.setEnabled(mlp)
        self.classes.setEnabled(self.data_kind.currentData() in pg_core.MANY_CLASSES)

    def _changed(self, keep_points: bool) -> None:
        if not self._applying:
            self.sentence.setText(INTRO)
            self.rebuild(keep_points)

    def apply_preset(self, key: str, run: bool = True) -> None:
        """One of the course's points: its set-up, its sentence, and (run) its steps trained at once."""
        preset = PRESETS[key]
        self.show_config(preset.config)
        self.rebuild(keep_points=False)
        self.sentence.setText(f"<b>{preset.title}.</b> {preset.sentence}")
        if run:
            self.start(preset.steps)

    def rebuild(self, keep_points: bool) -> None:
        """A fresh model for the controls' set-up (and fresh points unless kept); a run goes on with it."""
        was_running = self.run is not None and self.run_button.text() == "Stop"
        self._stop_worker()
        cfg = self.config()
        self._update_enabled()
        if not keep_points or self.points is None or self.points.classes != cfg.data.classes:
            self.points = make_points(cfg.data)
        self.playground = Playground(cfg, self.points)
        self.history = {name: [] for name in ("step", *self.curves)}
        self.click_class.blockSignals(True)
        chosen = self.click_class.currentIndex()
        self.click_class.clear()
        for c in range(cfg.data.classes):
            self.click_class.addItem(f"class {c}", c)
            self.click_class.setItemData(c, QColor(CLASS_COLOURS[c]), Qt.ItemDataRole.DecorationRole)
        self.click_class.setCurrentIndex(min(max(chosen, 0), cfg.data.classes - 1))
        self.click_class.blockSignals(False)
        self.view.show_points(self.points)
        self.tiles.set_layers(cfg.net.layers)
        self.chosen_unit = None
        self.weights.clear_weights()
        self.weights_title.setText("Click a unit's tile: its incoming weights." if cfg.net.layers else "")
        self._show_frame(self.playground, self.playground.frame())
        if was_running:
            self.start(None)

    # --- points --------------------------------------------------------------------------------

    def add_point(self, x: float, y: float) -> None:
        self._set_points(self.points.with_point(x, y, self.click_class.currentData() or 0))

    def remove_point(self, x: float, y: float, radius: float) -> None:
        self._set_points(self.points.without_nearest(x, y, radius))

    def _set_points(self, points: PointSet) -> None:
        if points is self.points:
            return
        self.points = points
        self.view.show_points(points)
        self.playground.set_points(points)
        if self.run is None:  # nothing trains it now: its scores on the new points can be read at once
            self._show_frame(self.playground, self.playground.frame())

    # --- running -------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.run is not None

    def toggle_run(self) -> None:
        if self.run_button.text() == "Stop":
            self._stop_worker()
        else:
            self.start(None)

    def step_once(self) -> None:
        if self.run is None:
            self.start(1)

    def start(self, steps: int | None) -> None:
        """Train `steps` steps (None: until Stop) on the worker thread; frames come back to `_show_frame`."""
        self._stop_worker()
        playground = self.playground
        control, drawn = RunControl(), DrawnGate()
        self.run = run_events(playground.run, steps, control, pg_core.FRAME_S, drawn, name="digitpad-playground",
                              control=control, parent=self,
                              handlers={Frame: lambda f: self._show_frame(playground, f, drawn)},
                              failed=self._on_failed, ended=lambda: self._on_ended(control))
        self._set_running(steps != 1)

    def _stop_worker(self) -> None:
        """Stop the run (it ends at its next step; its late frames are ignored: they are not of this model)."""
        if self.run is not None:
            self.run.control.stop()
            self.run = None
        self._set_running(False)

    def _on_ended(self, control: RunControl) -> None:
        if self.run is not None and self.run.control is control:
            self.run = None
            self._set_running(False)
        self._draw_side_panels()
        self.run_finished.emit()

    def _on_failed(self, message: str, _kind: FailureKind) -> None:
        self.status.setText(message)

    def _set_running(self, running: bool) -> None:
        self.run_button.setText("Stop" if running else "Run")
        self.step_button.setEnabled(not running)

    def shutdown(self) -> bool:
        worker = self.run
        self._stop_worker()
        return worker is None or worker.join()

    # --- drawing -------------------------------------------------------------------------------

    def _show_frame(self, playground: Playground, frame: Frame, drawn: DrawnGate | None = None) -> None:
        """Draw a frame; the training goes on (`drawn`) once the window has painted it.

        The steps are tiny and Python-bound: a window painting while the thread trains would wait for
        the interpreter at every turn, so the two take turns instead.
        """
        if playground is not self.playground:
            return  # a frame of a model replaced meanwhile
        self.frame = frame
        self.view.show_regions(frame.probabilities)
        if not self.history["step"] or frame.step > self.history["step"][-1]:
            self.history["step"].append(frame.step)
            for name in self.curves:
                self.history[name].append(getattr(frame, name))
        self.status.setText(f"step {frame.step:,} · train {percent(frame.train_accuracy)} · "
                            f"test {percent(frame.test_accuracy)}\nloss: train {number(frame.train_loss)} · "
                            f"test {number(frame.test_loss)}")
        # The loss curves, the accuracy curves, then the tiles and weights, one of them per frame, follow a
        # few times a second (the run's end draws them all): the regions are what must keep up, and no frame
        # paints more than one chart beside them (a frame that painted both charts stalled the window 35 ms).
        if drawn is None:
            self._side_due.clear()
            self._draw_side_panels()
        elif self._side_due:
            self._side_due.pop(0)()
        elif (time.perf_counter() - self._side_drawn_at) * 1000 >= SIDE_PANELS_MS:
            self._side_drawn_at = time.perf_counter()
            self._draw_curves("loss")
            self._side_due = [lambda: self._draw_curves("accuracy"), self._draw_units]
        if drawn is not None:
            if self.view.plot.isVisible():
                self._painting = drawn  # set by the plot's next paint (the whole window is painted together)
            else:
                drawn.set()  # nobody is looking: no reason to wait
        self.frame_drawn.emit()

    def _on_plot_painted(self) -> None:
        drawn, self._painting = self._painting, None
        if drawn is not None:
            QTimer.singleShot(0, drawn.set)  # after the rest of this paint pass

    def _draw_side_panels(self) -> None:
        self._side_drawn_at = time.perf_counter()
        self._draw_curves("loss")
        self._draw_curves("accuracy")
        self._draw_units()

    def _draw_curves(self, metric: str) -> None:
        """One chart's train and test curves ("loss" or "accuracy") from the history."""
        steps = self.history.get("step", [])
        for name, curve in self.curves.items():
            if not name.endswith(metric):
                continue
            values = np.array(self.history[name], dtype=float)
            keep = np.isfinite(values)
            curve.setData(np.array(steps, dtype=float)[keep], values[keep])

    def _draw_units(self) -> None:
        if self.frame is None:
            return
        self.tiles.show_units(self.frame.units, MIDPOINTS[self.playground.cfg.net.activation])
        if self.chosen_unit is not None:
            self._show_unit_weights(*self.chosen_unit)

    def choose_unit(self, layer: int, unit: int) -> None:
        self.chosen_unit = (layer, unit)
        self.tiles.select(layer, unit)
        self._show_unit_weights(layer, unit)

    def _show_unit_weights(self, layer: int, unit: int) -> None:
        weights, bias = self.frame.weights[layer]
        net = self.playground.cfg.net
        self.weights.show_weights(input_names(net.features, net.layers, layer), weights[unit], float(bias[unit]))
        self.weights_title.setText(f"Weights into layer {layer + 1}, unit {unit + 1}:")


def percent(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.1%}"


def number(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.3f}"


# --- the figure for slides -------------------------------------------------------------------------

FIGURE_SIDE = 900


def render_boundary(frame: Frame, points: PointSet, title: str, target: str | os.PathLike,
                    side: int = FIGURE_SIDE) -> Path:
    """The playground's own plot and legend, with a title, drawn offscreen into a PNG: the plot square, the
    title and legend above it."""
    qt_app()  # a command line's figure: the process may have no application yet
    view = BoundaryView(title)
    enlarge_type(view, view.plot)
    for item in (view.plot.train_points, view.plot.test_points):
        item.setSize(14)
    view.show_points(points)
    view.show_regions(frame.probabilities)
    return save_figure(view, target, side, side,
                       settle=lambda v: v.resize(side, side + v.title.height() + v.legend.height()))
