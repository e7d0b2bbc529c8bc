"""What DigitPad accepts, in one torch-free place: the CLI's `choices=`, the app's form and the
checkpoint loader all read these, and `tests/test_names.py` checks them against the registries.

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
PRESETS: tuple[str, ...] = ("fast",)

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

    def describe(self) -> str:
        if self.integer and self.high >= 2**31:  # no one meets this end: leave it unsaid
            return f"at least {self.low:g}"
        if self.low == 0 and self.low_open:
            return f"positive and {'below' if self.high_open else 'at most'} {self.high:g}"
        return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}")


# The numeric TrainConfig fields. A learning rate above 1e6 (or one float32 cannot hold) is a typo, not
# an experiment; label smoothing 1 would make every target uniform; limits count images, so at least 1.
BOUNDS: dict[str, Bounds] = {
    "epochs": Bounds(1, 10_000, integer=True),
    "batch_size": Bounds(1, 1_000_000, integer=True),
    "lr": Bounds(0, 1e6, low_open=True),
    "momentum": Bounds(0, 1, high_open=True),
    "label_smoothing": Bounds(0, 1, high_open=True),
    "seed": Bounds(0, 2**63 - 1, integer=True),
    "train_limit": Bounds(1, 2**62, integer=True),
    "test_limit": Bounds(1, 2**62, integer=True),
}

# Counts that are not TrainConfig fields: `digitpad step --steps N`.
STEPS = Bounds(1, 1_000_000, integer=True)
