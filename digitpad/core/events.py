"""The words a long job speaks: the events a training run yields, why it failed, and how it is stopped.

The trainer, fine-tuning and every other long job is a generator of these frozen events; the CLI
prints them and the app's worker turns them into widgets. They live here, apart from the torch code
that makes them, so that the GUI's worker can stop a job without importing the trainer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import numpy as np

    from digitpad.core.checkpoints import TrainedModel
    from digitpad.core.evaluation import EvalReport


@dataclass(frozen=True)
class Started:
    device: str
    dataset_source: str
    n_train: int
    n_test: int
    batches_per_epoch: int
    parameters: int


@dataclass(frozen=True)
class Progress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # batches done in this epoch
    batches: int
    loss: float  # mean training loss since the previous Progress
    accuracy: float  # running training accuracy in this epoch
    samples_per_s: float
    eta_s: float

    @property
    def fraction(self) -> float:
        """Epochs done, with the current one counted in part: the x of the live loss curve."""
        return (self.epoch - 1) + self.batch / self.batches


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    seconds: float  # the whole epoch, test evaluation included, pauses excluded
    train_seconds: float  # the training loop alone
    report: EvalReport
    snapshot: TrainedModel  # a CPU copy: the canvas never sees weights the optimizer is changing
    weight_templates: np.ndarray | None = None  # softmax regression's 10×28×28 weights


@dataclass(frozen=True)
class Finished:
    model: TrainedModel
    stopped: bool  # True when Stop ended the run early
    epochs_done: float


class FailureKind(str, Enum):
    """Why a run failed: the closed set the CLI and the app's worker both report."""

    DIVERGED = "diverged"
    DATA = "data"
    DEVICE = "device"
    OOM = "oom"
    CONFIG = "config"
    ERROR = "error"  # a bug: an exception nobody expected, reported by the app's worker


@dataclass(frozen=True)
class Failed:
    message: str
    kind: FailureKind

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FailureKind(self.kind))  # a kind outside the set is a bug here


Event = Union[Started, Progress, EpochEnd, Finished, Failed]


class RunControl:
    """Thread-safe Stop / Pause flags, checked by the trainer between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused (Stop wakes it); return the seconds spent waiting."""
        if self._resume.is_set():
            return 0.0
        start = time.perf_counter()
        self._resume.wait()
        return time.perf_counter() - start
