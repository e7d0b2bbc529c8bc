"""One training run on a QThread: the core Trainer's events turned into Qt signals.

The worker iterates the generator in its own thread and emits each event; it never touches
widgets. Stop and Pause go through the thread-safe RunControl, because a worker busy in its
loop never sees a queued signal. Shutting down is stop → quit → wait, never terminate().
"""

from __future__ import annotations

import traceback
import weakref

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.core.runs import RunRecorder
from digitpad.core.trainer import (EpochEnd, Failed, FailureKind, Finished, Progress, RunControl, Started, TrainConfig,
                                   Trainer)

_LIVE_THREADS: "weakref.WeakSet[QThread]" = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Training threads still running: tests assert none is left behind."""
    return [t for t in list(_LIVE_THREADS) if t.isRunning()]


class TrainingWorker(QObject):
    started = Signal(object)  # Started
    progress = Signal(object)  # Progress (a few per second, never per batch)
    epoch_ended = Signal(object)  # EpochEnd
    finished = Signal(object)  # Finished
    failed = Signal(str, object)  # message, FailureKind
    done = Signal()  # always last, whatever happened

    def __init__(self, config: TrainConfig, control: RunControl, recorder: RunRecorder | None = None) -> None:
        super().__init__()
        self.config = config
        self.control = control
        self.recorder = recorder

    @Slot()
    def run(self) -> None:
        emit = {Started: self.started, Progress: self.progress, EpochEnd: self.epoch_ended, Finished: self.finished}
        try:
            events = Trainer(self.config, self.control).run()
            # The record is written here, on the worker thread, as the events pass: never on the GUI thread.
            for event in (self.recorder.track(events) if self.recorder else events):
                if isinstance(event, Failed):
                    self.failed.emit(event.message, event.kind)
                else:
                    emit[type(event)].emit(event)
        except Exception as exc:  # a bug must reach the user as a message, not kill the thread silently
            traceback.print_exc()
            self.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}", FailureKind.ERROR)
        finally:
            self.done.emit()


class TrainingRun(QObject):
    """Owns the thread, the worker and the control flags of one run; `ended` fires once it is all over.

    Stop and Pause go straight to `control` (thread-safe flags the worker checks between batches).
    """

    ended = Signal()

    def __init__(self, config: TrainConfig, parent: QObject | None = None, recorder: RunRecorder | None = None) -> None:
        super().__init__(parent)
        self.control = RunControl()
        self.recorder = recorder
        self.thread = QThread()
        self.thread.setObjectName("digitpad-training")
        self.worker = TrainingWorker(config, self.control, recorder)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.done.connect(self.thread.quit)
        self.thread.finished.connect(self._on_thread_finished)
        _LIVE_THREADS.add(self.thread)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread to end (the window is closing); True when it has ended."""
        self.control.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def _on_thread_finished(self) -> None:
        self.thread.wait()
        self.ended.emit()
