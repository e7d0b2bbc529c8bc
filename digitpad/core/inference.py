"""Classify one drawing or image with a trained model: the path shared by the canvas and `digitpad predict`."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.files import file_problem, open_regular, reason
from digitpad.core.names import UNSURE_BELOW  # noqa: F401  (where the app and the CLI read it)
from digitpad.core.ood import detector_for
from digitpad.core.preprocess import mnist_pixels, stroke_pixels, to_tensor
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes


# Larger pictures are refused before they are decoded (a small file can claim a huge picture); a
# 10000×10000 scan of a digit is still read. `open_image` is the one place DigitPad opens images, and it
# refuses past this: Pillow's own check (a warning only, up to twice its limit) is left out.
MAX_IMAGE_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = None


class ImageError(ValueError):
    """A file that cannot be read as an image; the message names it."""


class InferenceError(ValueError):
    """The model gave no usable answer for this input (its output is not finite)."""


@dataclass(frozen=True)
class Prediction:
    label: int
    probabilities: list[float]
    logits: list[float]
    pixels: np.ndarray  # the 28×28 input the network saw, in [0, 1]
    not_digit_score: float | None = None  # the not-a-digit detector's probability; None: not asked (`ood`)
    not_digit_at: float = 1.0  # the detector's threshold

    @property
    def not_a_digit(self) -> bool:
        """The detector says this is no digit (a scribble, a letter): whatever the probabilities say."""
        return self.not_digit_score is not None and self.not_digit_score >= self.not_digit_at

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    @property
    def runner_up(self) -> int:
        """The second most probable class: "what else it might be"."""
        return int(np.argsort(self.probabilities)[-2])

    def unsure(self, below: float = UNSURE_BELOW) -> bool:
        """True when it looks like no digit, or the top probability is under the threshold: softmax sums to
        1 even for a scribble."""
        return self.not_a_digit or self.confidence < below

    def reason(self, below: float = UNSURE_BELOW) -> str | None:
        """Why the answer is unsure, in words (None when it is not): what `predict` and the canvas say."""
        if self.not_a_digit:
            return (f"not a digit? the not-a-digit detector gives {self.not_digit_score:.2f} "
                    f"(flags from {self.not_digit_at:.2f})")
        if self.confidence < below:
            return f"not sure: top probability {self.confidence:.2f} is below {below:.2f}"
        return None


def prediction_from_logits(logits: torch.Tensor, pixels: np.ndarray) -> Prediction:
    """One model output (10 logits) → the prediction, softmax in float64 so the probabilities sum to 1.

    A non-finite output is an error for this input, never a NaN probability on screen or in JSON.
    """
    logits = logits.detach().double()
    if not torch.isfinite(logits).all():
        raise InferenceError("the model's output is not finite (NaN or infinity) for this input, so it has "
                             "no answer; its weights are broken")
    probs = torch.softmax(logits, dim=0)
    return Prediction(int(probs.argmax()), probs.tolist(), logits.tolist(), pixels)


def with_not_digit_check(trained: TrainedModel, pred: Prediction) -> Prediction:
    """The prediction with the not-a-digit detector's opinion of its pixels, for models that read digits."""
    detector = detector_for(trained)
    if detector is None:
        return pred
    return replace(pred, not_digit_score=float(detector.scores(pred.pixels)[0]), not_digit_at=detector.threshold)


@torch.no_grad()
def classify_pixels(trained: TrainedModel, pixels: np.ndarray) -> Prediction:
    """Run the model on one MNIST-style 28×28 field, normalized with the model's own statistics, and ask
    the not-a-digit detector about the same field."""
    x = to_tensor(pixels, trained.meta.mean, trained.meta.std).unsqueeze(0)
    return with_not_digit_check(trained, prediction_from_logits(trained.model(x)[0], pixels))


def classify_image(trained: TrainedModel, image: Image.Image | np.ndarray) -> Prediction | None:
    """None when the image has no ink: an empty picture predicts nothing."""
    pixels = mnist_pixels(image)
    return None if pixels is None else classify_pixels(trained, pixels)


def classify_strokes(trained: TrainedModel, strokes: StrokeSet) -> Prediction | None:
    pixels = stroke_pixels(strokes)
    return None if pixels is None else classify_pixels(trained, pixels)


def warm_up(trained: TrainedModel) -> None:
    """Classify a sample drawing once, so that lazy imports and kernel set-up (20-90 ms in the app)
    happen here, on a loading thread, rather than on the user's first stroke."""
    classify_strokes(trained, StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in digit_strokes(8)]))


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image file, upright as its EXIF orientation says (a phone photo is stored
    rotated), turning every failure into an ImageError naming the file.

    Only a regular file is opened (a FIFO would block, a device never end), and only a picture of at most
    MAX_IMAGE_PIXELS is decoded: the size is read from the header first, so a small file claiming a huge
    picture costs nothing. Any decoder error (Pillow's plugins raise many kinds) is this file's answer.
    """
    path = Path(path)
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read it as an image ({file_problem(exc)})") from None
    try:
        with fh:
            im = Image.open(fh)
            _check_pixels(path, im.size)
            im.load()
            _check_pixels(path, im.size)  # some formats know their size only once decoded
            ImageOps.exif_transpose(im, in_place=True)  # in place: a copy would double a large picture
        return im
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file (or a format Pillow cannot read)") from None
    except MemoryError:
        raise ImageError(f"{path}: image is too large to open in the memory left") from None
    except Exception as exc:  # OSError, SyntaxError, ValueError, NotImplementedError (DDS), struct.error, …
        raise ImageError(f"{path}: image is corrupt or in a form that cannot be decoded ({reason(exc)})") from None


def _check_pixels(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"{path}: image is {width:,}×{height:,} pixels, more than the {MAX_IMAGE_PIXELS / 1e6:.0f} "
                         "million DigitPad reads; scale it down first")
