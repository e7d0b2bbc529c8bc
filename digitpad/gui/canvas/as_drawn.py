"""The drawing as drawn, beside the network's view of it: a one-click lesson in distribution shift.

The canvas normally shows the 28×28 input the network is given: the strokes redrawn with an MNIST-like pen,
cropped, scaled to 20 px and centred, as MNIST digits were made. That hides what was drawn (a solid blob comes
out a clean 0). This view shows the other 28×28: the ink as drawn, with the student's own brush, the whole canvas
squashed to 28×28 — what a naive program feeds the network — and what the same model answers for it. A digit
drawn small in a corner, or with a thick brush, is then read wrongly: the network only knows MNIST-like strokes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.inference import InferenceError, Prediction, classify_pixels
from digitpad.core.preprocess import naive_resize, naive_stroke_pixels
from digitpad.core.strokes import StrokeSet
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.widgets import FittedLabel, PixelView

CAPTION = "As drawn (28×28)"
TIP = ("What a naive program gives the network: your ink with your brush, the whole canvas resized to 28×28, no "
       "cropping or centring. The same model reads it here; MNIST digits never looked like this.")


def naive_input(strokes: StrokeSet, picture) -> np.ndarray | None:
    """The naive 28×28 of what the canvas holds: the strokes as drawn, or an opened picture's ink resized whole.
    A data set's own 28×28 image (a test mistake) is already that: it is itself."""
    if picture is None:
        return naive_stroke_pixels(strokes)
    if picture.steps is not None:
        return naive_resize(picture.steps.ink)
    return picture.pixels


def answer_text(model: TrainedModel, prediction: Prediction) -> str:
    return f"{model.meta.class_names[prediction.label]}  ·  {prediction.confidence:.1%}"


class AsDrawnView(QWidget):
    """The naive 28×28 and the model's answer for it, under a caption that says what it is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixels: np.ndarray | None = None
        self.prediction: Prediction | None = None
        self.caption = FittedLabel(CAPTION, chars=16, lines=2, min_scale=0.75)
        self.view = PixelView(minimum=84)
        self.answer = FittedLabel("", chars=10, scale=1.4, min_scale=0.8, bold=True)
        self.setToolTip(TIP)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.caption)
        column.addWidget(self.view, stretch=1)
        column.addWidget(self.answer)

    def show_input(self, model: TrainedModel | None, pixels: np.ndarray | None) -> None:
        """Classify the naive 28×28 with the canvas's model and show both (nothing when nothing is drawn)."""
        self.pixels, self.prediction = pixels, None
        self.view.set_image(None if pixels is None else gray_image(pixels))
        if model is None or pixels is None:
            self.answer.setText("")
            return
        try:
            self.prediction = classify_pixels(model, pixels)
        except InferenceError:
            self.answer.setText("no answer")
            return
        self.answer.setText(answer_text(model, self.prediction))
