"""What DigitPad accepts, in one torch-free place: the CLI's `choices=`, the app's form and the
checkpoint loader all read these, and `tests/test_names.py` checks them against the registries.
The training settings' ranges and titles are in `settings.py`, which builds on these.

To add a model (optimizer, schedule, data set), register it where it is built and add its name here;
the test fails until both agree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MODELS: tuple[str, ...] = ("softmax", "softmax-scratch", "mlp", "mlp-deep", "cnn")
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam")
SCHEDULES: tuple[str, ...] = ("constant", "onecycle")
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist")
DEVICE_KINDS: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
EXPORT_SUFFIXES: dict[str, str] = {"onnx": ".onnx", "pt2": ".pt2"}  # export format -> its file's suffix
# Below this top probability the answer reads "not sure — 4 or 9?": two digits share the probability. It
# was 0.7 when it also had to catch scribbles; the not-a-digit detector (core/ood.py) does that now, and
# 0.4 is the highest value at which the threshold adds at most 0.2 % of the validation MNIST digits to what
# the detector flags with the shipped CNN (0.7 added 1.6 %, and 3 % of other writers' digits; measured in
# docs/BENCHMARKS.md, "That is not a digit").
UNSURE_BELOW = 0.4
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")  # the forward pass's arithmetic while training
ADVERSARIAL: tuple[str, ...] = ("none", "fgsm", "pgd")  # adversarial training: which attack makes the examples
# The 2-D playground (core/playground.py): its data sets, input features, models and activations.
PLAYGROUND_DATA: tuple[str, ...] = ("blobs", "moons", "circles", "xor", "spiral")
PLAYGROUND_FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1x2")
PLAYGROUND_MODELS: tuple[str, ...] = ("softmax", "mlp")
PLAYGROUND_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid")
MAP_METHODS: tuple[str, ...] = ("pca",)  # the map of the digits (core/projection.py)


_DEVICE_FORM = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<index>\d{1,4}))?$")


def check_device_name(name: str) -> str:
    """`auto`, `cpu`, `cuda`, `cuda:N` or `mps` (`mps:N`); whether the machine has it is `devices`' question."""
    match = _DEVICE_FORM.match(name)
    if match is None or match["kind"] not in DEVICE_KINDS or (match["index"] and match["kind"] in ("auto", "cpu")):
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_KINDS)} (cuda:N for GPU N ≥ 0)")
    return name


@dataclass(frozen=True)
class Bounds:
    """The range a numeric setting may take; `check` says what is wrong in words."""

    low: float
    high: float
    integer: bool = False
    low_open: bool = False  # the low end itself is excluded (a learning rate of 0 learns nothing)
    high_open: bool = False

    def check(self, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.integer and not isinstance(value, int)):
            raise ValueError(f"must be {'a whole number' if self.integer else 'a number'}, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        too_low = value <= self.low if self.low_open else value < self.low
        too_high = value >= self.high if self.high_open else value > self.high
        if too_low or too_high:
            raise ValueError(f"must be {self.describe()}, got {value:g}")

    def parse(self, text: str) -> int | float:
        """A value typed as text (a flag, a sweep's list), as a whole number or a number, checked."""
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {'a whole number' if self.integer else 'a number'}") from None
        self.check(value)
        return value

    def describe(self) -> str:
        low, high = (f"{int(v)}" if self.integer else f"{v:g}" for v in (self.low, self.high))
        if self.integer and self.high >= 2**62:  # no one meets this end: leave it unsaid
            return f"at least {low}"
        if self.low == 0 and self.low_open:
            return f"positive and {'below' if self.high_open else 'at most'} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


# The linear-regression warm-up's settings (`digitpad linreg`, the lesson's controls): its own ranges, as
# the training table gives TrainConfig's. 1000 epochs of 1000 examples run in seconds; a learning rate
# beyond 1e6 is a typo; a seed fits a spin box.
LINREG_BOUNDS: dict[str, Bounds] = {
    "epochs": Bounds(1, 1000, integer=True),
    "lr": Bounds(0, 1e6, low_open=True),
    "batch_size": Bounds(1, 1_000_000, integer=True),
    "num_examples": Bounds(1, 1_000_000, integer=True),
    "seed": Bounds(0, 2**31 - 1, integer=True),
}
# The playground's own ranges (its lr, momentum, weight decay and seed are the engine's: settings.SETTING): a few
# points to a few thousand, up to three hidden layers of up to 16 units, classes that six colours tell apart.
PLAYGROUND_BOUNDS: dict[str, Bounds] = {
    "classes": Bounds(2, 6, integer=True),
    "points": Bounds(10, 2000, integer=True),
    "noise": Bounds(0, 1),
    "test_share": Bounds(0, 0.9),
    "layers": Bounds(1, 3, integer=True),
    "units": Bounds(1, 16, integer=True),
    "steps": Bounds(1, 1_000_000, integer=True),
    "batch_size": Bounds(1, 2000, integer=True),
}

MAP_BOUNDS: dict[str, Bounds] = {"points": Bounds(100, 10_000, integer=True)}  # test images on a map
STEP_BOUNDS: dict[str, Bounds] = {"steps": Bounds(1, 1_000_000, integer=True)}  # `digitpad step --steps N`
