"""One training run on the one background mechanism (`gui/worker.py`): the Trainer's events as Qt signals.

The worker iterates the Trainer's generator on its QThread (recording the run there, as the events
pass, never on the GUI thread) and hands each event back on the GUI thread; this class only names
the signals the Training tab connects. Stop and Pause go through the thread-safe RunControl, because
a worker busy in its loop never sees a queued signal. Shutting down is stop → quit → wait, never
terminate().
"""

from __future__ import annotations

from typing import Iterator

from PySide6.QtCore import QObject, QThread, Signal

from digitpad.core.runs import RunRecorder
from digitpad.core.trainer import (EpochEnd, Event, Failed, FailureKind, Finished, Progress, RunControl, Started,
                                   TrainConfig, Trainer)
from digitpad.gui.worker import Worker

LONG_RUNS = ("digitpad-training", "digitpad-teach")  # workers a test must never leave running


def running_threads() -> list[QThread]:
    """Training and fine-tuning threads still running: tests assert none is left behind."""
    return [w.thread for w in Worker.running(*LONG_RUNS) if w.thread.isRunning()]


def training_events(config: TrainConfig, control: RunControl, recorder: RunRecorder | None) -> Iterator[Event]:
    """The Trainer's events, each recorded (when there is a recorder) on the thread that iterates them."""
    events = Trainer(config, control).run()
    return recorder.track(events) if recorder else events


class TrainingSignals(QObject):
    started = Signal(object)  # Started
    progress = Signal(object)  # Progress (a few per second, never per batch)
    epoch_ended = Signal(object)  # EpochEnd
    finished = Signal(object)  # Finished
    failed = Signal(str, object)  # message, FailureKind


class TrainingRun(QObject):
    """Owns the worker and the control flags of one run; `ended` fires once it is all over."""

    ended = Signal()

    def __init__(self, config: TrainConfig, parent: QObject | None = None, recorder: RunRecorder | None = None) -> None:
        super().__init__(parent)
        self.control = RunControl()
        self.recorder = recorder
        self.worker = TrainingSignals(self)
        self.job = Worker(training_events, config, self.control, recorder, name="digitpad-training",
                          control=self.control, parent=self)
        signals = self.worker
        self.job.on(Started, signals.started.emit).on(Progress, signals.progress.emit)
        self.job.on(EpochEnd, signals.epoch_ended.emit).on(Finished, signals.finished.emit)
        self.job.on(Failed, lambda ev: signals.failed.emit(ev.message, ev.kind))
        # a bug must reach the user as a message, not kill the thread silently
        self.job.errored.connect(lambda exc: signals.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}",
                                                                  FailureKind.ERROR))
        self.job.finished.connect(self.ended)

    def start(self) -> None:
        self.job.start()

    def is_running(self) -> bool:
        return self.job.is_running()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread to end (the window is closing); True when it has ended."""
        return self.job.join(timeout_ms)
