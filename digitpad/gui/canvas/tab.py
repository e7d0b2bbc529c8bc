"""The Canvas tab: draw a digit, see the 28×28 input the network gets and its ten softmax probabilities."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.datasets import DATASETS
from digitpad.core.explain import Explanation, Saliency, explain_pixels
from digitpad.core.inference import (ImageError, InferenceError, Prediction, classify_pixels, classify_strokes,
                                     open_image)
from digitpad.core.preprocess import PreprocessSteps, mnist_steps, stroke_steps
from digitpad.gui.common.worker import Worker, run_call
from digitpad.gui.canvas.as_drawn import TIP as AS_DRAWN_TIP, AsDrawnView, naive_input
from digitpad.gui.canvas.drawing import BrushSwatch, DrawingCanvas
from digitpad.gui.common.charts import StaticPlot
from digitpad.gui.common.colours import BAR_COLOUR, TOP_COLOUR
from digitpad.gui.canvas.explain_panel import ExplainPanel
from digitpad.gui.canvas.fool_panel import FoolPanel
from digitpad.gui.common.images import display_image, gray_image
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.my_digits.tab import KeepRow
from digitpad.gui.canvas.saliency_service import SaliencyService
from digitpad.gui.common.settings import number_in, stored
from digitpad.gui.common.widgets import FittedLabel, PixelView
from digitpad.gui.map.panel import MapPanel

LIVE_INTERVAL_MS = 60  # re-classify at most this often while the pen moves
SALIENCY_IDLE_MS = 60_000  # the Explain panel closed this long: its saliency process ends
DISPLAY_SIDE = 1024  # an opened picture is shown from a copy at most this big
BAR = BAR_COLOUR
TOP_BAR = TOP_COLOUR


class ProbabilityChart(StaticPlot):
    """Ten bars, the top class in red; probabilities (0…1) or, on request, the raw logits."""

    def __init__(self) -> None:
        super().__init__(class_axis=True)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=BAR)
        self.addItem(self.bars)
        self.show_logits = False
        self.heights = np.zeros(10)
        self.setXRange(-0.5, 9.5, padding=0.02)
        self.set_class_names([str(d) for d in range(10)])
        self.clear_bars()

    def set_class_names(self, names) -> None:
        self.getAxis("bottom").set_names(names)

    def clear_bars(self) -> None:
        self.heights = np.zeros(10)
        self.bars.setVisible(False)
        self.setLabel("left", "logit" if self.show_logits else "probability")
        self.setYRange(0, 1, padding=0.02)

    def show_prediction(self, pred: Prediction) -> None:
        values = np.asarray(pred.logits if self.show_logits else pred.probabilities)
        self.heights = values
        brushes = [TOP_BAR if k == pred.label else BAR for k in range(10)]
        self.bars.setOpts(height=values, brushes=brushes)
        self.bars.setVisible(True)
        self.setLabel("left", "logit" if self.show_logits else "probability")
        if self.show_logits:
            low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
            self.setYRange(low, high, padding=0.05)
        else:
            self.setYRange(0, 1, padding=0.02)


@dataclass(frozen=True)
class OpenedPicture:
    """An image file as the canvas uses it: the 28×28 field the models see, and a copy to show."""

    name: str
    pixels: np.ndarray | None  # None: no ink found
    display: QImage
    steps: PreprocessSteps | None = None  # how a file became `pixels`, for the Explain panel's strip


def read_picture(path: str) -> OpenedPicture:
    """Decode and preprocess once, off the GUI thread; raises ImageError for what cannot be read."""
    image = open_image(path)
    steps = mnist_steps(image)
    return OpenedPicture(Path(path).name, None if steps is None else steps.pixels,
                         display_image(image, DISPLAY_SIDE), steps)


def dataset_picture(image: np.ndarray, name: str) -> OpenedPicture:
    """A data set's 28×28 test image (uint8, ink bright) as it is: already the field the models see."""
    return OpenedPicture(name, image.astype(np.float32) / 255, gray_image(image, invert=True))


def not_digits_notice(model: TrainedModel | None) -> str:
    """What the canvas says when the model in use was trained on something other than digits."""
    if model is None or tuple(model.meta.class_names) == DATASETS["mnist"].class_names:
        return ""
    info = DATASETS.get(model.meta.dataset)
    knows = f"{info.subject} ({info.title})" if info else f"the classes of {model.meta.dataset}"
    return f"This model knows {knows}, not digits: it answers with one of those."


class CanvasTab(QWidget):
    prediction_changed = Signal(object)  # Prediction | None
    image_handled = Signal()  # an opened image file is shown and classified, or refused with a message
    exercise_requested = Signal()  # "Save as exercise…": the Classroom tab reads the drawing and the model

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.prediction: Prediction | None = None
        self.explanation: Explanation | None = None  # computed only while the Explain panel is shown
        self._opening: Worker | None = None  # the file being read, until it arrives or is overtaken
        self.last_latency_ms = 0.0
        self._live_timer = QTimer(self, singleShot=True, interval=LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self.classify)
        # The saliency (the Explain panel's costly part) is computed in a child process while the rest is painted.
        self.saliency = SaliencyService(self)
        self.saliency.ready.connect(self._add_saliency)
        # Its child process holds ~300 MB: let it go once the panel has stayed closed a while.
        self._saliency_idle = QTimer(self, singleShot=True, interval=SALIENCY_IDLE_MS)
        self._saliency_idle.timeout.connect(self.saliency.release)
        self._build()
        self._update_history_buttons()  # a fresh canvas has nothing to undo or redo
        library.models_changed.connect(self._refresh_models)
        library.active_changed.connect(self._on_active_changed)
        self._refresh_models()

    @property
    def picture(self) -> OpenedPicture | None:
        """The opened image being classified instead of strokes (it lives in the canvas's undo history)."""
        return self.canvas.picture

    # Every label that changes while the user draws sits in a slot sized by its font (FittedLabel,
    # PixelView): a prediction never changes a size hint, so the window never moves under the pen.

    def _build(self) -> None:
        self.canvas = DrawingCanvas()
        self.canvas.stroke_moved.connect(self._on_stroke_moved)
        self.canvas.stroke_finished.connect(self._on_canvas_changed)
        self.canvas.image_dropped.connect(self.open_image_file)
        layout = QHBoxLayout(self)
        layout.addLayout(self._build_drawing(), stretch=5)
        layout.addLayout(self._build_answer(), stretch=4)
        self._show(None)

    def _build_drawing(self) -> QVBoxLayout:
        """The canvas, the brush (size, number, swatch, eraser) and the edit buttons."""
        self.brush = QSlider(Qt.Orientation.Horizontal, minimum=4, maximum=48)
        self.brush.setValue(stored("canvas/brush", number_in(int, self.brush.minimum(), self.brush.maximum()), 18))
        self.brush.valueChanged.connect(self._on_brush)
        self.canvas.set_brush(self.brush.value())
        self.brush_size = FittedLabel(chars=5, align=Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight)
        self.brush_swatch = BrushSwatch(self.brush.maximum())
        self._on_brush(self.brush.value())
        self.eraser = QCheckBox("Eraser")
        self.eraser.toggled.connect(lambda on: setattr(self.canvas, "eraser", on))
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.clear_button = QPushButton("Clear")
        self.open_button = QPushButton("Open image…")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button.clicked.connect(self.clear)
        self.open_button.clicked.connect(self.choose_image)
        self.exercise_button = QPushButton("Exercise…")
        self.exercise_button.setToolTip("Save as exercise: \"which digit will the model say for this drawing?\"")
        self.exercise_button.clicked.connect(self.exercise_requested)
        self.undo_button.setToolTip("Undo the last stroke, Clear or opened image (Ctrl+Z)")
        self.redo_button.setToolTip("Redo what Undo took back (Ctrl+Shift+Z or Ctrl+Y)")
        self.clear_button.setToolTip("Clear the canvas (Esc); Undo brings the drawing back")

        brush_row = QHBoxLayout()
        brush_row.addWidget(QLabel("Brush"))
        brush_row.addWidget(self.brush, stretch=1)
        brush_row.addWidget(self.brush_size)
        brush_row.addWidget(self.brush_swatch)
        brush_row.addWidget(self.eraser)
        edit_row = QHBoxLayout()
        for w in (self.undo_button, self.redo_button, self.clear_button, self.open_button, self.exercise_button):
            edit_row.addWidget(w)
        column = QVBoxLayout()
        column.addWidget(self.canvas, stretch=1)
        column.addLayout(brush_row)
        column.addLayout(edit_row)
        self.keep_row = KeepRow(self)  # "This is a …": keep the drawing in My digits
        column.addWidget(self.keep_row)
        return column

    def _build_answer(self) -> QVBoxLayout:
        """The model in use, the 28×28 input it sees, its answer and the ten probabilities."""
        self.model_picker = QComboBox()
        self.model_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_picker.setMinimumContentsLength(16)  # a new model's long title never widens the panel
        self.model_picker.currentIndexChanged.connect(self._on_pick_model)
        self.answer = FittedLabel(chars=10, scale=2.6, min_scale=1.2, bold=True)
        self.detail = FittedLabel(chars=20, lines=2, min_scale=0.85)
        self.chart = ProbabilityChart()
        self.chart.setMinimumHeight(160)
        self.logits_box = QCheckBox("Show logits (before softmax)")
        self.logits_box.toggled.connect(self._on_logits_toggled)
        self.explain_button = QPushButton("Explain ▸", checkable=True)
        self.explain_button.setToolTip("Show why the network answers what it does (hidden, it costs nothing)")
        self.explain_button.toggled.connect(self._on_explain_toggled)
        self.explain_panel = ExplainPanel()
        self.explain_panel.unsure_below_changed.connect(lambda _: self._show(self.prediction))
        self.explain_panel.temperature_changed.connect(self._on_temperature)
        self.explain_area = QScrollArea()
        self.explain_area.setWidget(self.explain_panel)
        self.explain_area.setWidgetResizable(True)
        self.explain_area.setVisible(False)
        self.map_button = QPushButton("Map ▸", checkable=True)
        self.map_button.setToolTip("The model's map of the test digits, your drawing a star on it")
        self.map_button.toggled.connect(self._on_map_toggled)
        self.map_panel = MapPanel()
        self.map_panel.setVisible(False)
        self.fool_button = QPushButton("Fool it ▸", checkable=True)
        self.fool_button.setToolTip("Attack the drawing with the network's own gradient (FGSM, PGD), compare the "
                                    "models, play the challenge, draw robustness curves")
        self.fool_button.toggled.connect(self._on_fool_toggled)
        self.fool_panel = FoolPanel(self.library)
        self.fool_area = QScrollArea()
        self.fool_area.setWidget(self.fool_panel)
        self.fool_area.setWidgetResizable(True)
        self.fool_area.setVisible(False)
        self.preview = PixelView()
        self.preview.setToolTip("The 28×28 input the network sees: redrawn with an MNIST-like pen whatever "
                                "your brush, cropped to the ink, scaled to 20 px, centred by centre of mass, "
                                "as MNIST digits were made")
        preview_box = QVBoxLayout()
        self.preview_label = FittedLabel("As the network reads it (28×28)", chars=16, lines=2, min_scale=0.75)
        # "As drawn / as the network reads it": the naive 28×28 and its answer beside the network's own input.
        self.as_drawn = AsDrawnView()
        self.as_drawn.setVisible(False)
        self.as_drawn_box = QCheckBox("Also as drawn")
        self.as_drawn_box.setToolTip(AS_DRAWN_TIP)
        self.as_drawn_box.toggled.connect(self._on_as_drawn_toggled)
        preview_box.addWidget(self.preview_label)
        preview_box.addWidget(self.preview, stretch=1)
        answer_box = QVBoxLayout()
        answer_box.addStretch(1)
        answer_box.addWidget(self.answer)
        answer_box.addWidget(self.detail)
        answer_box.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(preview_box, stretch=2)
        top.addWidget(self.as_drawn, stretch=2)
        top.addLayout(answer_box, stretch=3)

        picker_row = QHBoxLayout()
        picker_row.addWidget(QLabel("Model"))
        picker_row.addWidget(self.model_picker, stretch=1)
        panels_row = QHBoxLayout()  # a row of its own: beside the picker they made the window too wide for 800 px
        for button in (self.explain_button, self.map_button, self.fool_button):
            panels_row.addWidget(button)
        panels_row.addStretch(1)
        column = QVBoxLayout()
        column.addLayout(picker_row)
        column.addLayout(panels_row)
        column.addLayout(top, stretch=2)
        column.addWidget(self.chart, stretch=3)
        switches = QHBoxLayout()
        switches.addWidget(self.logits_box)
        switches.addWidget(self.as_drawn_box)
        switches.addStretch(1)
        column.addLayout(switches)
        column.addWidget(self.explain_area, stretch=5)
        column.addWidget(self.map_panel, stretch=5)
        column.addWidget(self.fool_area, stretch=5)
        self._answer_column, self._answer_row = column, top
        return column

    # --- models ------------------------------------------------------------------------------

    def _refresh_models(self) -> None:
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        for m in self.library.models:
            self.model_picker.addItem(m.title)  # its parameters in the tooltip: the title fits a projector's type
            self.model_picker.setItemData(self.model_picker.count() - 1, f"{m.title} · {m.parameters:,} parameters"
                                          f"\n{m.source}", Qt.ItemDataRole.ToolTipRole)
        self.model_picker.setCurrentIndex(self.library.active_index)
        self.model_picker.blockSignals(False)

    def _on_pick_model(self, index: int) -> None:
        self.library.choose(index)

    def _on_active_changed(self, model: TrainedModel | None) -> None:
        self.model_picker.blockSignals(True)
        self.model_picker.setCurrentIndex(self.library.active_index)
        self.model_picker.blockSignals(False)
        if model is not None:
            self.chart.set_class_names(model.meta.class_names)
        self.map_panel.set_canvas_model(model)
        self.canvas.set_notice(not_digits_notice(model))
        self.classify()

    # --- drawing events ----------------------------------------------------------------------

    def _on_brush(self, value: int) -> None:
        self.canvas.set_brush(value)
        self.brush_size.setText(f"{value} px")
        self.brush_swatch.set_width(value)
        QSettings().setValue("canvas/brush", value)

    def _on_stroke_moved(self) -> None:
        self._opening = None  # drawing overrides a picture still being read
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _on_canvas_changed(self) -> None:
        """A stroke ended, or undo, redo or Clear changed what the canvas holds."""
        self._live_timer.stop()
        self._update_history_buttons()
        self.classify()

    def _update_history_buttons(self) -> None:
        self.undo_button.setEnabled(self.canvas.can_undo())
        self.redo_button.setEnabled(self.canvas.can_redo())

    def _on_logits_toggled(self, on: bool) -> None:
        self.chart.show_logits = on
        self._show(self.prediction)

    def _side_panels(self) -> dict[QPushButton, QWidget]:
        """The panels that take the chart's place, one at a time: Explain, the map, Fool it."""
        return {self.explain_button: self.explain_area, self.map_button: self.map_panel,
                self.fool_button: self.fool_area}

    def _open_side_panel(self, button: QPushButton, on: bool) -> None:
        """Show or hide one side panel, closing any other: it takes the chart's place and most of the width; the
        canvas stays drawable beside it."""
        button.setText(f"{button.text().rstrip('▸◂ ')} {'◂' if on else '▸'}")
        if on:
            for other in self._side_panels():
                if other is not button:
                    other.setChecked(False)
        opened = any(b.isChecked() for b in self._side_panels())
        for widget in (self.chart, self.logits_box, self.preview_label, self.preview, self.as_drawn_box):
            widget.setVisible(not opened)
        self.as_drawn.setVisible(not opened and self.as_drawn_box.isChecked())
        for b, panel in self._side_panels().items():
            panel.setVisible(b.isChecked())
        self.layout().setStretch(1, 9 if opened else 4)
        self._answer_column.setStretchFactor(self._answer_row, 0 if opened else 2)

    def _on_fool_toggled(self, on: bool) -> None:
        self._open_side_panel(self.fool_button, on)
        self.classify()

    def _on_explain_toggled(self, on: bool) -> None:
        self._open_side_panel(self.explain_button, on)
        if on:
            self._saliency_idle.stop()
            self.saliency.prepare()
        else:
            self.saliency.cancel()  # the child stays a minute: reopening the panel soon needs no new start
            self._saliency_idle.start()
        self.classify()

    def _on_map_toggled(self, on: bool) -> None:
        """The map takes the chart's place, as the Explain panel does (one side panel at a time)."""
        self._open_side_panel(self.map_button, on)
        self.map_panel.set_active(on)
        if on:
            self.map_panel.show_drawing(self.prediction.pixels if self.prediction is not None else None)

    def _on_as_drawn_toggled(self, on: bool) -> None:
        self.as_drawn.setVisible(on)
        self.classify()

    def clear(self) -> None:
        self._opening = None
        self.canvas.clear()

    # --- images ------------------------------------------------------------------------------

    def choose_image(self) -> None:
        folder = stored("files/last_image_folder", str, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open an image of a digit", folder,
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp)")
        if path:
            QSettings().setValue("files/last_image_folder", str(Path(path).parent))
            self.open_image_file(path)

    def open_image_file(self, path: str) -> None:
        """Read the file on a thread (a large scan takes a second to decode); the canvas stays live."""
        self.detail.setText(f"Opening {Path(path).name}…")
        self._opening = run_call(read_picture, path, name="digitpad-image", parent=self,
                                 then=lambda picture, error: self._on_picture_read(call, path, picture, error))
        call = self._opening

    def _on_picture_read(self, call: Worker, path: str, picture: OpenedPicture | None,
                         error: Exception | None) -> None:
        if call is not self._opening:
            return  # the user drew, cleared or opened another file meanwhile
        self._opening = None
        if error is not None:
            self.detail.setText(str(error) if isinstance(error, ImageError)
                                else f"{path}: cannot open it ({type(error).__name__}: {error})")
        else:
            self.show_picture(picture)
        self.image_handled.emit()

    def show_picture(self, picture: OpenedPicture) -> None:
        """Put a picture on the canvas (one undoable step) and classify it."""
        self._opening = None
        self.canvas.show_picture(picture)
        self._on_canvas_changed()

    # --- classifying -------------------------------------------------------------------------

    def classify(self) -> None:
        """Preprocess and classify what is on the canvas; with nothing there, show nothing."""
        model = self.library.active
        picture = self.canvas.picture
        if model is None:
            self._show(None, "No model loaded: train one or open a checkpoint.")
            return
        if picture is not None and picture.pixels is None:
            self._show(None, f"No digit found in {picture.name}: it has no ink on a plain background.")
            return
        start = time.perf_counter()
        try:
            if self.explain_button.isChecked():
                self.explanation = self._explain(model)
                pred = None if self.explanation is None else self.explanation.prediction
            else:
                self.explanation = None
                pred = (classify_strokes(model, self.canvas.stroke_set()) if picture is None
                        else classify_pixels(model, picture.pixels))
        except InferenceError:  # the message the CLI gives is too long for this line
            self._show(None, f"No answer: {model.name}'s output is not finite (NaN or infinity).")
            return
        self.last_latency_ms = (time.perf_counter() - start) * 1000
        if self.as_drawn.isVisible():
            self.as_drawn.show_input(model, naive_input(self.canvas.stroke_set(), picture))
        self._show(pred)

    def _explain(self, model: TrainedModel) -> Explanation | None:
        """Explain the drawing; its saliency is asked of the saliency process first, which computes it meanwhile."""
        unsure_below = self.explain_panel.unsure_below
        picture = self.picture
        if picture is None:
            steps = stroke_steps(self.canvas.stroke_set())
            if steps is None:  # no ink
                return None
            pixels = steps.pixels
        else:
            steps, pixels = picture.steps, picture.pixels
        self.saliency.request(model, pixels)
        return explain_pixels(model, pixels, steps, unsure_below, saliency=False)

    def _add_saliency(self, saliency: Saliency) -> None:
        """The saliency process's answer: always for the drawing shown (an older one's is dropped on arrival)."""
        if self.explanation is not None and self.explain_button.isChecked():
            self.explanation = replace(self.explanation, saliency=saliency)
            self.explain_panel.show_saliency(self.explanation)

    def _answer(self, name: str, pred: Prediction) -> str:
        """"7 · 98.1 %": at the Explain panel's temperature when it is open, as its table shows it."""
        t = self.explain_panel.temperature_value() if self.explain_button.isChecked() else 1.0
        if t == 1.0 or self.explanation is None:
            return f"{name}  ·  {pred.confidence:.1%}"
        return f"{name}  ·  {self.explanation.softmax(t).probabilities[pred.label]:.1%} at T = {t:.2f}"

    def _on_temperature(self, _t: float) -> None:
        pred, model = self.prediction, self.library.active
        if pred is not None and model is not None and not pred.unsure(self.explain_panel.unsure_below):
            self.answer.setText(self._answer(model.meta.class_names[pred.label], pred))

    def _show(self, pred: Prediction | None, message: str = "") -> None:
        self.prediction = pred
        model = self.library.active
        if pred is None:
            self.explanation = None
            self.saliency.cancel()
            self.chart.clear_bars()
            self.as_drawn.show_input(None, None)
            self.answer.setText("Draw a digit" if not message else "")
            self.detail.setText(message or "The network's answer appears as you draw.")
            self.preview.set_image(None)
        else:
            name = model.meta.class_names[pred.label] if model else str(pred.label)
            if not any(b.isChecked() for b in self._side_panels()):  # hidden behind a panel: redrawn when it closes
                self.chart.show_prediction(pred)
                self.preview.set_image(gray_image(pred.pixels))
            source = f"{self.picture.name} · " if self.picture is not None else ""
            detail = f"{source}{model.name if model else ''} · {self.last_latency_ms:.1f} ms"
            if pred.not_a_digit:
                self.answer.setText("not a digit?")
                detail = f"looks like no digit (a scribble, a letter?) — it would have said {name} · {detail}"
            elif pred.unsure(self.explain_panel.unsure_below):
                second = model.meta.class_names[pred.runner_up] if model else str(pred.runner_up)
                self.answer.setText(f"not sure — {name} or {second}?")
                detail = f"softmax always sums to 1, even for a scribble · {detail}"
            else:
                self.answer.setText(self._answer(name, pred))
            self.detail.setText(detail)
        if self.explain_button.isChecked():
            self.explain_panel.show_explanation(self.explanation if pred is not None else None)
        if self.map_button.isChecked():
            self.map_panel.show_drawing(pred.pixels if pred is not None else None)
        if self.fool_button.isChecked():
            self.fool_panel.set_drawing(model, None if pred is None else pred.pixels, pred)
        self.prediction_changed.emit(pred)
