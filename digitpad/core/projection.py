"""The network's own map of the digits: what its last layer sees of each test image, laid out in 2-D.

The features are the input of the model's last linear layer — 128 numbers for the CNN, 64 for the
MLP — or, for softmax regression, whose only layer is the last one, its 10 logits. PCA projects them
to 2-D: a formula, so a new image (the drawing on the canvas) lands exactly where its features put
it, and a model's later epochs can be drawn on the axes fitted to an earlier one.

t-SNE was measured and left out: openTSNE (FFT gradients, both cores) took 106-124 s for 5,000 points
on this project's shared 2-core machine, far over the 10 s a map may take (docs/BENCHMARKS.md,
bench/map.py); it also has no formula for a new point.

How separated the classes are on the map is one number: the accuracy of 5-nearest-neighbours in 2-D.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.datasets import DataError, Split, load_dataset
from digitpad.core.devices import keep_this_thread_serial
from digitpad.core.events import Failed, FailureKind, RunControl
from digitpad.core import names
from digitpad.core.preprocess import normalize_, to_tensor, unit_float

METHODS = names.MAP_METHODS
POINTS = names.MAP_BOUNDS["points"]
DEFAULT_POINTS = 5000
KNN = 5  # the map's separation score: leave-one-out k-nearest-neighbours accuracy in 2-D


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


# --- features ------------------------------------------------------------------------------------


def feature_layer(model: nn.Module) -> nn.Linear | None:
    """The last linear layer, whose input are the features; None when that layer is the model's only
    one (softmax regression): then the logits are the features."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if len(linears) >= 2 else None


@torch.no_grad()
def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The penultimate-layer features (logits for softmax regression) and the logits of a normalized batch."""
    layer = feature_layer(model)
    seen: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0])) if layer else None
    was_training = model.training
    model.eval()
    try:
        logits = model(x)
    finally:
        model.train(was_training)
        if hook is not None:
            hook.remove()
    features = seen[0] if seen else logits
    return features.flatten(1).double(), logits


def image_features(trained: TrainedModel, images: torch.Tensor, batch_size: int = 1000,
                   should_stop: Callable[[], bool] = lambda: False) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Features and predicted classes of uint8 N×28×28 images, batch by batch; None when stopped."""
    features, predictions = [], []
    for start in range(0, len(images), batch_size):
        if should_stop():
            return None
        x = normalize_(unit_float(images[start:start + batch_size].unsqueeze(1)), trained.meta.mean, trained.meta.std)
        f, logits = features_and_logits(trained.model, x)
        features.append(f)
        predictions.append(logits.argmax(1))
    return torch.cat(features), torch.cat(predictions)


def pixel_features(trained: TrainedModel, pixels: np.ndarray) -> torch.Tensor:
    """28×28 fields in [0, 1] (one, or N × 28 × 28: the canvas's drawing, the My digits samples), each exactly
    as `classify_pixels` feeds it to the model."""
    fields = pixels.reshape(-1, *pixels.shape[-2:])
    x = torch.stack([to_tensor(field, trained.meta.mean, trained.meta.std) for field in fields])
    return features_and_logits(trained.model, x)[0]


# --- projections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """PCA's formula: features → map positions."""

    method: str
    mean: torch.Tensor  # the fitted features' mean (D,)
    components: torch.Tensor  # D × 2, their two directions of largest variance

    def place(self, features: torch.Tensor) -> np.ndarray:
        """Where these features (N × D) lie on the map (N × 2)."""
        return ((features - self.mean) @ self.components).numpy()


def fit_pca(features: torch.Tensor) -> Projection:
    """The two principal components — the covariance's top eigenvectors (a D × D problem, ~1 ms, where an SVD
    of the N × D features took 0.5-1.5 s here) — each signed so that its largest loading is positive: the
    same map from the same features, every time."""
    mean = features.mean(0)
    centred = features - mean
    _, vectors = torch.linalg.eigh(centred.T @ centred)  # eigenvalues ascending
    components = vectors[:, -2:].flip(1).clone()
    if components.shape[1] < 2:  # a single feature: the second axis is 0
        components = torch.cat([components, torch.zeros_like(components)], 1)
    signs = torch.sign(components.gather(0, components.abs().argmax(0, keepdim=True)))
    components *= torch.where(signs == 0, 1.0, signs).to(components.dtype)
    return Projection("pca", mean, components)


def knn_accuracy(positions: np.ndarray, labels: np.ndarray, k: int = KNN, chunk: int = 1000) -> float:
    """Leave-one-out k-nearest-neighbours accuracy on the map (majority vote, ties to the nearest's class):
    1.0 when every class is its own island, about 0.1 when ten classes are mixed."""
    xy = torch.as_tensor(positions, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    n = len(y)
    if n <= k:
        return math.nan
    classes = int(y.max()) + 1
    correct = 0
    for start in range(0, n, chunk):
        d = torch.cdist(xy[start:start + chunk], xy)
        rows = torch.arange(d.shape[0])
        d[rows, rows + start] = math.inf  # not its own neighbour
        nearest = d.topk(k, largest=False).indices  # sorted nearest first
        votes = torch.zeros(d.shape[0], classes, dtype=torch.float64)
        votes.scatter_add_(1, y[nearest], torch.ones(nearest.shape, dtype=torch.float64))
        votes.scatter_add_(1, y[nearest[:, :1]], torch.full((d.shape[0], 1), 0.5, dtype=torch.float64))  # ties: nearest
        correct += int((votes.argmax(1) == y[start:start + chunk]).sum())
    return correct / n


# --- a map ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitMap:
    """Test images on the map: where each lies, its label, what the model says, and the image itself."""

    projection: Projection
    positions: np.ndarray  # N × 2
    indices: np.ndarray  # positions in the test set
    labels: np.ndarray
    predictions: np.ndarray
    images: np.ndarray  # N × 28 × 28 uint8, ink bright
    knn_accuracy: float
    seconds: float  # features, fit and score

    @property
    def method(self) -> str:
        return self.projection.method

    def place(self, trained: TrainedModel, pixels: np.ndarray) -> np.ndarray:
        """Where a 28×28 field in [0, 1] lands on this map (the canvas's drawing), as (x, y); for N fields, N × 2."""
        placed = self.projection.place(pixel_features(trained, pixels))
        return placed[0] if pixels.ndim == 2 else placed


def sample(test: Split, points: int) -> np.ndarray:
    """The test images a map shows: the first `points` (the test set is already in no particular order)."""
    POINTS.check(points)
    return np.arange(min(points, len(test)))


def build_map(trained: TrainedModel, test: Split, points: int = DEFAULT_POINTS, method: str = "pca",
              projection: Projection | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> DigitMap | None:
    """The model's map of `points` test images; with `projection`, laid out on those fixed axes (fitted to
    an earlier model of the same run) instead of fitting anew. None when stopped.

    It runs on one core: beside another busy program a two-thread team made the 128 × 128 eigenproblem
    take 0.3-1.4 s instead of 20 ms (docs/BENCHMARKS.md), and a map is background work.
    """
    check_method(method)
    keep_this_thread_serial()
    start = time.perf_counter()
    indices = sample(test, points)
    images = test.images[indices]
    computed = image_features(trained, images, should_stop=should_stop)
    if computed is None:
        return None
    features, predictions = computed
    if projection is None or projection.mean.shape != features.shape[1:]:
        projection = fit_pca(features)
    positions = projection.place(features)
    labels = test.labels[indices].numpy()
    return DigitMap(projection, positions, indices, labels, predictions.numpy(), images.numpy(),
                    knn_accuracy(positions, labels), time.perf_counter() - start)


def map_events(trained: TrainedModel, points: int, projection: Projection | None = None,
               control: RunControl | None = None) -> Iterator[DigitMap | Failed]:
    """A map of the model's own data set's test images, as a job for the app's worker: one event, the map
    (none when stopped), or `Failed` when the data set cannot be loaded."""
    control = control or RunControl()
    try:
        test = load_dataset(trained.meta.dataset).test
    except DataError as exc:
        yield Failed(str(exc), FailureKind.DATA)
        return
    built = build_map(trained, test, points, projection=projection, should_stop=lambda: control.stopped)
    if built is not None:
        yield built
