"""The 2-D playground: where the classes live, for points a student can see and click.

Small data sets in the plane (blobs with 2 to 6 classes, moons, circles, XOR, a spiral), optional
feature crosses (x₁², x₂², x₁x₂), and the course's own models on them: softmax regression
(`models.softmax_regression` on 2-5 inputs) and a small MLP (`models.mlp`, 1-3 hidden layers of
1-16 units). They train with the engine's optimizers (`trainer.make_optimizer`) through the engine's
own step (`trainer.train_step`): the playground has no training loop of its own, only the choice of
which points make each mini-batch.

A `Playground` keeps one model between Run, Stop and Step; `run()` is a generator of `Frame`s (the
metrics, the class probabilities on a 100×100 grid, each hidden unit's response and the weights),
iterated by the app on a worker thread and by `digitpad playground` in the terminal.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.devices import keep_this_thread_serial
from digitpad.core.events import Failed, FailureKind, RunControl
from digitpad.core.models import mlp, softmax_regression
from digitpad.core import names
from digitpad.core.names import OPTIMIZERS, Bounds
from digitpad.core.settings import SETTING
from digitpad.core.trainer import TrainConfig, make_optimizer, seeded_model, train_step

DATA_KINDS = names.PLAYGROUND_DATA
MANY_CLASSES = ("blobs", "spiral")  # the kinds that take 2-6 classes; the others have two
FEATURES = names.PLAYGROUND_FEATURES
FEATURE_TITLES = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1x2": "x₁x₂"}
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
NET_KINDS = names.PLAYGROUND_MODELS

EXTENT = 1.5  # the plane shown and classified is [-EXTENT, EXTENT]²; the data lies mostly in [-1, 1]²
GRID = 100  # the decision regions: class probabilities at GRID × GRID points
UNIT_STRIDE = 2  # each hidden unit's map: every second grid point (50 × 50), a tile needs no more
FRAME_S = 0.02  # a run trains this long between frames: with the frame and its drawing, ~25-30 frames a second
DRAW_WAIT_S = 0.25  # the longest a run waits for the window to draw a frame (a window busy elsewhere)

LIMITS = names.PLAYGROUND_BOUNDS  # its own ranges; lr, momentum, weight decay and seed are the engine's


def check(name: str, value: object, bounds: Bounds) -> None:
    """ValueError naming the setting, in the words the engine's settings use."""
    try:
        bounds.check(value)
    except ValueError as exc:
        raise ValueError(f"{name.replace('_', ' ')} {exc}") from None


# --- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSpec:
    """How to draw a data set: the same spec and seed always give the same points and split."""

    kind: str = "blobs"
    classes: int = 2
    points: int = 200
    noise: float = 0.05  # standard deviation of the Gaussian added to every coordinate
    test_share: float = 0.5  # this share of the points is held out as the test set
    seed: int = 0

    def validate(self) -> None:
        if self.kind not in DATA_KINDS:
            raise ValueError(f"unknown data {self.kind!r}; choose one of {', '.join(DATA_KINDS)}")
        check("classes", self.classes, LIMITS["classes"])
        if self.kind not in MANY_CLASSES and self.classes != 2:
            raise ValueError(f"{self.kind} has 2 classes; more classes: {' or '.join(MANY_CLASSES)}")
        for key in ("points", "noise", "test_share"):
            check(key, getattr(self, key), LIMITS[key])
        SETTING["seed"].check(self.seed)


@dataclass(frozen=True)
class PointSet:
    """Labelled points in the plane, each in the training or the test set. Immutable: an edit makes a
    new set, so a set handed to a running training thread never changes under it."""

    xy: np.ndarray  # N × 2 float32
    labels: np.ndarray  # N int64, 0 … classes-1
    test: np.ndarray  # N bool: held out
    classes: int

    def __len__(self) -> int:
        return len(self.labels)

    def part(self, test: bool) -> tuple[np.ndarray, np.ndarray]:
        mask = self.test == test
        return self.xy[mask], self.labels[mask]

    def with_point(self, x: float, y: float, label: int, test: bool = False) -> "PointSet":
        """One more point (a click on the plot): in the training set unless `test`."""
        if not 0 <= label < self.classes:
            raise ValueError(f"class {label} is not one of the {self.classes} classes")
        return PointSet(np.vstack([self.xy, np.array([[x, y]], np.float32)]), np.append(self.labels, label),
                        np.append(self.test, test), self.classes)

    def without_nearest(self, x: float, y: float, radius: float) -> "PointSet":
        """The nearest point within `radius` removed (a right-click); the same set when none is that close."""
        if not len(self):
            return self
        d = np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)
        k = int(d.argmin())
        if d[k] > radius:
            return self
        keep = np.arange(len(self)) != k
        return PointSet(self.xy[keep], self.labels[keep], self.test[keep], self.classes)


def _per_class(n: int, k: int) -> list[int]:
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _blobs(rng: np.random.Generator, counts: list[int]) -> list[np.ndarray]:
    """K round clouds with centres evenly on a circle (two: opposite corners)."""
    k = len(counts)
    angles = math.pi / 4 + 2 * math.pi * np.arange(k) / k
    centres = 0.6 * np.stack([np.cos(angles), np.sin(angles)], 1)
    return [centres[c] + 0.18 * rng.standard_normal((n, 2)) for c, n in enumerate(counts)]


def _moons(rng: np.random.Generator, counts: list[int]) -> list[np.ndarray]:
    """Two interleaved half circles (scikit-learn's moons), centred and scaled into [-1, 1]²."""
    t0, t1 = math.pi * rng.random(counts[0]), math.pi * rng.random(counts[1])
    upper = np.stack([np.cos(t0), np.sin(t0)], 1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    return [0.65 * (part - [0.5, 0.25]) for part in (upper, lower)]


def _circles(rng: np.random.Generator, counts: list[int]) -> list[np.ndarray]:
    """Class 0 on a ring (radius 0.7-1), class 1 in the disc inside it (radius < 0.45)."""
    def ring(n: int, low: float, high: float) -> np.ndarray:
        r, a = rng.uniform(low, high, n), rng.uniform(0, 2 * math.pi, n)
        return np.stack([r * np.cos(a), r * np.sin(a)], 1)
    return [ring(counts[0], 0.7, 1.0), ring(counts[1], 0.0, 0.45)]


def _xor(rng: np.random.Generator, counts: list[int]) -> list[np.ndarray]:
    """Uniform in [-1, 1]², kept 0.05 off the axes: class 1 where x₁x₂ > 0, class 0 where x₁x₂ < 0."""
    def quadrants(n: int, same_sign: bool) -> np.ndarray:
        p = rng.uniform(0.05, 1, (n, 2)) * rng.choice([-1, 1], (n, 1))
        p[:, 1] *= 1 if same_sign else -1
        return p
    return [quadrants(counts[0], False), quadrants(counts[1], True)]


def _spiral(rng: np.random.Generator, counts: list[int]) -> list[np.ndarray]:
    """K arms winding 1.25 turns out from the centre."""
    k = len(counts)
    arms = []
    for c, n in enumerate(counts):
        t = rng.random(n)
        a = 2.5 * math.pi * t + 2 * math.pi * c / k
        r = 0.08 + 0.92 * t
        arms.append(np.stack([r * np.cos(a), r * np.sin(a)], 1))
    return arms


DRAW: dict[str, Callable[[np.random.Generator, list[int]], list[np.ndarray]]] = {
    "blobs": _blobs, "moons": _moons, "circles": _circles, "xor": _xor, "spiral": _spiral}


def make_points(spec: DataSpec) -> PointSet:
    """The data set a spec describes: points per class as even as they go, noise, a random split."""
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    parts = DRAW[spec.kind](rng, _per_class(spec.points, spec.classes))
    xy = np.concatenate(parts)
    xy = xy + spec.noise * rng.standard_normal(xy.shape)
    labels = np.concatenate([np.full(len(p), c, np.int64) for c, p in enumerate(parts)])
    test = np.zeros(len(xy), bool)
    test[rng.permutation(len(xy))[:round(spec.test_share * len(xy))]] = True
    return PointSet(xy.astype(np.float32), labels, test, spec.classes)


def expand(xy: torch.Tensor, features: tuple[str, ...]) -> torch.Tensor:
    """The model's inputs: the chosen columns of x₁, x₂, x₁², x₂², x₁x₂ (feature crosses)."""
    x1, x2 = xy[:, 0], xy[:, 1]
    columns = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1x2": x1 * x2}
    return torch.stack([columns[f] for f in features], 1)


# --- the model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetSpec:
    """Softmax regression, or an MLP with 1-3 hidden layers, on the chosen input features."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (8,)
    activation: str = "relu"
    features: tuple[str, ...] = ("x1", "x2")

    def validate(self) -> None:
        if self.kind not in NET_KINDS:
            raise ValueError(f"unknown model {self.kind!r}; choose one of {', '.join(NET_KINDS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if not self.features or len(set(self.features)) != len(self.features) or not set(self.features) <= set(FEATURES):
            raise ValueError(f"features must be distinct names out of {', '.join(FEATURES)}, got "
                             f"{', '.join(self.features) or 'none'}")
        if self.kind == "mlp":
            check("hidden layers", len(self.hidden), LIMITS["layers"])
            for units in self.hidden:
                check("units per hidden layer", units, LIMITS["units"])

    @property
    def layers(self) -> tuple[int, ...]:
        """The hidden layers' sizes; none for softmax regression."""
        return self.hidden if self.kind == "mlp" else ()

    def build(self, classes: int) -> nn.Module:
        """The course's models at the playground's size (`models.softmax_regression`, `models.mlp`)."""
        if self.kind == "softmax":
            return softmax_regression(len(self.features), classes)
        return mlp((len(self.features), *self.hidden, classes), ACTIVATIONS[self.activation])

    def describe(self) -> str:
        inputs = ", ".join(FEATURE_TITLES[f] for f in self.features)
        if self.kind == "softmax":
            return f"softmax regression on {inputs}"
        return f"MLP {'→'.join(map(str, self.hidden))} {self.activation} on {inputs}"


@dataclass(frozen=True)
class PlaygroundConfig:
    """A data set, a model, and how to train it: the optimizer settings mean what the engine's mean."""

    data: DataSpec = field(default_factory=DataSpec)
    net: NetSpec = field(default_factory=NetSpec)
    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 16
    seed: int = 0  # the model's initial weights and the order of its mini-batches

    def validate(self) -> None:
        self.data.validate()
        self.net.validate()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        for key in ("lr", "momentum", "weight_decay", "seed"):  # the engine's own settings, with its ranges
            SETTING[key].check(getattr(self, key))
        check("batch_size", self.batch_size, LIMITS["batch_size"])

    def optimizer_config(self) -> TrainConfig:
        """What `trainer.make_optimizer` reads, so the playground's Adam is the engine's Adam."""
        return TrainConfig(optimizer=self.optimizer, lr=self.lr, momentum=self.momentum,
                           weight_decay=self.weight_decay, batch_size=self.batch_size, seed=self.seed)


# --- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The playground after `step` steps: what the app draws and the command line reports."""

    step: int
    train_loss: float  # over the whole training set (nan when it is empty)
    train_accuracy: float
    test_loss: float  # over the whole test set (nan when it is empty)
    test_accuracy: float
    probabilities: np.ndarray  # GRID × GRID × classes float32; row 0 is the bottom (x₂ = -EXTENT)
    units: tuple[np.ndarray, ...]  # per hidden layer: units × G × G activations (G = GRID / UNIT_STRIDE)
    weights: tuple[tuple[np.ndarray, np.ndarray], ...]  # per linear layer: W (out × in) and b


def grid_axis(n: int = GRID) -> np.ndarray:
    """The centres of n cells across [-EXTENT, EXTENT]."""
    return ((np.arange(n) + 0.5) / n * 2 - 1).astype(np.float32) * EXTENT


def grid_points(n: int = GRID) -> torch.Tensor:
    """n × n points, row by row from the bottom: the grid the regions are drawn from."""
    axis = torch.from_numpy(grid_axis(n))
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1)


class DrawnGate:
    """Set by the window once it has drawn the latest frame; the training thread waits for it (without
    holding the interpreter), for at most DRAW_WAIT_S, or until Stop."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, control: RunControl, timeout_s: float = DRAW_WAIT_S) -> None:
        end = time.perf_counter() + timeout_s
        while not control.stopped and not self._event.wait(0.02) and time.perf_counter() < end:
            pass


class Playground:
    """One model learning one point set. Kept by the app across Run, Stop and Step.

    Only one thread trains it at a time; another may hand it new points (`set_points`), which it
    takes before its next step.
    """

    def __init__(self, cfg: PlaygroundConfig, points: PointSet) -> None:
        cfg.validate()
        self.cfg = cfg
        self.classes = points.classes
        self.model = seeded_model(cfg.seed, lambda: cfg.net.build(points.classes))
        self.optimizer = make_optimizer(cfg.optimizer_config(), self.model.parameters())
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        self.grid = expand(grid_points(), cfg.net.features)
        self._lock = threading.Lock()
        self._pending: PointSet | None = None
        self._use(points)

    def set_points(self, points: PointSet) -> None:
        """New points (a click, a right-click): used from the next step on, from any thread."""
        if points.classes != self.classes:
            raise ValueError("the number of classes changed: start a new playground")
        with self._lock:
            self._pending = points

    def _use(self, points: PointSet) -> None:
        features = self.cfg.net.features
        self.points = points
        (xtr, ytr), (xte, yte) = points.part(False), points.part(True)
        self.x_train, self.y_train = expand(torch.from_numpy(xtr), features), torch.from_numpy(ytr)
        self.x_test, self.y_test = expand(torch.from_numpy(xte), features), torch.from_numpy(yte)
        self._order = torch.empty(0, dtype=torch.long)  # the shuffled training set, a batch taken at a time

    def _take_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._use(pending)

    def _next_batch(self) -> torch.Tensor:
        """The next mini-batch's indices: each epoch a new shuffle, as the engine's trainer does."""
        if len(self._order) == 0:
            self._order = torch.randperm(len(self.y_train), generator=self.gen)
        batch, self._order = self._order[:self.cfg.batch_size], self._order[self.cfg.batch_size:]
        return batch

    def train_steps(self, n: int = 1) -> None:
        """n mini-batch steps of the engine's `train_step`. ValueError when there is nothing to learn from."""
        self._take_pending()
        if len(self.y_train) == 0:
            raise ValueError("no training points: click on the plot to add some")
        self.model.train()
        for _ in range(n):
            idx = self._next_batch()
            train_step(self.model, self.optimizer, self.x_train[idx], self.y_train[idx])
            self.step += 1

    @torch.no_grad()
    def frame(self) -> Frame:
        """Metrics on both sets, the grid's probabilities, the hidden units' maps and the weights."""
        self._take_pending()
        self.model.eval()
        train_loss, train_acc = self._score(self.x_train, self.y_train)
        test_loss, test_acc = self._score(self.x_test, self.y_test)
        units, h = [], self.grid
        modules = list(self.model)
        for i, module in enumerate(modules):
            h = module(h)
            if isinstance(module, tuple(ACTIVATIONS.values())):
                g = GRID
                maps = h.T.reshape(-1, g, g)[:, ::UNIT_STRIDE, ::UNIT_STRIDE]
                units.append(maps.numpy().copy())
        probs = torch.softmax(h, 1).reshape(GRID, GRID, self.classes).numpy().copy()
        weights = tuple((m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy())
                        for m in modules if isinstance(m, nn.Linear))
        return Frame(self.step, train_loss, train_acc, test_loss, test_acc, probs, tuple(units), weights)

    def _score(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        if len(y) == 0:
            return math.nan, math.nan
        logits = self.model(x)
        return float(F.cross_entropy(logits, y)), int((logits.argmax(1) == y).sum()) / len(y)

    def run(self, steps: int | None = None, control: RunControl | None = None, frame_s: float = FRAME_S,
            drawn: DrawnGate | None = None) -> Iterator[Frame | Failed]:
        """Train `steps` steps (None: until stopped), yielding a frame every `frame_s` of training and at the end.

        `drawn`: after each frame the run waits until the window says it has drawn it. These steps
        are tiny and Python-bound: a thread training meanwhile would hold the interpreter while the
        window draws, and make it wait for its turn every few milliseconds.
        With no training point left it yields `Failed` and ends.
        """
        control = control or RunControl()
        keep_this_thread_serial()  # tensors of a few hundred numbers: a team of threads only waits on itself
        done = 0
        while (steps is None or done < steps) and not control.stopped:
            chunk_end = time.perf_counter() + frame_s
            while (steps is None or done < steps) and not control.stopped:
                try:
                    self.train_steps(1)
                except ValueError as exc:
                    yield Failed(str(exc), FailureKind.CONFIG)
                    return
                done += 1
                if time.perf_counter() >= chunk_end:
                    break
            if drawn is not None:
                drawn.clear()
            yield self.frame()
            if drawn is not None:
                drawn.wait(control)


def train(cfg: PlaygroundConfig, steps: int, points: PointSet | None = None, control: RunControl | None = None,
          frame_s: float = FRAME_S) -> Iterator[Frame | Failed]:
    """A fresh playground trained for `steps` steps: its frames, the last one after the last step."""
    playground = Playground(cfg, points if points is not None else make_points(cfg.data))
    yield from playground.run(steps, control, frame_s)


# --- the course's points, one click each ---------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A point the course makes, as a set-up that shows it and the sentence that says it."""

    title: str
    sentence: str
    config: PlaygroundConfig
    steps: int


def _preset(title: str, sentence: str, data: DataSpec, net: NetSpec, steps: int, **training) -> Preset:
    """A preset whose model is seeded like its data (the app's one seed control sets both)."""
    return Preset(title, sentence, replace(PlaygroundConfig(data=data, net=net, seed=data.seed), **training), steps)


PRESETS: dict[str, Preset] = {
    "linear-xor": _preset(
        "Softmax on XOR", "Softmax regression draws straight lines: it cannot solve XOR.",
        DataSpec("xor", points=300), NetSpec("softmax"), 1500),
    "mlp-xor": _preset(
        "4 hidden units on XOR", "One hidden layer of 4 units can: each unit draws a line, the next layer "
        "combines them.", DataSpec("xor", points=300), NetSpec("mlp", (4,), "relu"), 1500),
    "circles-squares": _preset(
        "Circles with x₁², x₂²", "Circles with x₁² and x₂² become linear: softmax regression on the squares "
        "draws a circle.", DataSpec("circles", points=300),
        NetSpec("softmax", features=("x1", "x2", "x1^2", "x2^2")), 1500),
    "overfit": _preset(
        "Too little data, too many units", "Too little data and too many units: the boundary wraps every "
        "training point and the test accuracy falls. A weight decay of 0.03, or more points, closes the gap.",
        DataSpec("moons", points=40, noise=0.3, test_share=0.5, seed=3), NetSpec("mlp", (16, 16, 16), "relu"),
        3000, batch_size=20),
}
