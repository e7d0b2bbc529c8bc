"""The Explain panel's saliency, computed on a worker thread while the GUI thread paints the rest.

The saliency (integrated gradients: IG_STEPS + 1 images forward and backward) is the costly part of an
explanation, ~10 ms for the CNN; on the GUI thread it came after everything else was painted and made a
stroke cost ~22 ms. Here the Canvas tab posts the preprocessed pixels before its own forward pass and
paints the other sections meanwhile (`bench/explain_latency.py`). Drawing faster than it computes never builds a queue:
the mailbox keeps only the newest request, and an answer for an older drawing is dropped on arrival.
The worker runs only while the panel is shown, on the one background mechanism (`gui/worker.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from torch import nn

from digitpad.core.checkpoints import ModelMeta, TrainedModel
from digitpad.core.devices import keep_this_thread_serial
from digitpad.core.explain import Saliency, private_copy, saliency_of
from digitpad.core.trainer import RunControl
from digitpad.gui.worker import Worker

POLL_S = 0.05  # how often an idle worker looks at its Stop flag: the window closes within this


@dataclass(frozen=True)
class SaliencyRequest:
    serial: int
    model: nn.Module  # a private copy: the GUI thread's hooks never reach it
    meta: ModelMeta
    pixels: np.ndarray  # the 28×28 input in [0, 1]


@dataclass(frozen=True)
class SaliencyDone:
    serial: int
    saliency: Saliency


class LatestOnly:
    """A thread-safe mailbox of one: a new request replaces one not yet taken."""

    def __init__(self) -> None:
        self._item: SaliencyRequest | None = None
        self._changed = threading.Condition()

    def put(self, item: SaliencyRequest) -> None:
        with self._changed:
            self._item = item
            self._changed.notify()

    def take(self, timeout: float) -> SaliencyRequest | None:
        with self._changed:
            self._changed.wait_for(lambda: self._item is not None, timeout)
            item, self._item = self._item, None
            return item


def serve(mailbox: LatestOnly, control: RunControl) -> Iterator[SaliencyDone]:
    """The worker's loop: each request taken is answered, until Stop."""
    keep_this_thread_serial()  # one thread, as on the GUI thread: no OpenMP team beside training's
    while not control.stopped:
        request = mailbox.take(POLL_S)
        if request is not None:
            yield SaliencyDone(request.serial, saliency_of(request.model, request.meta, request.pixels))


class SaliencyService(QObject):
    """Ask for the saliency of a drawing; `ready` brings it back on the GUI thread, for the newest one only."""

    ready = Signal(object)  # Saliency

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = LatestOnly()
        self._worker: Worker | None = None
        self._copy: tuple[TrainedModel, nn.Module] | None = None  # the model last asked about, and its copy
        self._waiting: int | None = None  # the serial of the one request whose answer is wanted
        self._serial = 0

    def request(self, trained: TrainedModel, pixels: np.ndarray) -> None:
        """Compute the saliency of `trained`'s answer for `pixels`; an earlier request not yet answered is
        forgotten."""
        if self._copy is None or self._copy[0] is not trained:
            self._copy = (trained, private_copy(trained.model))
        if self._worker is None:
            self._start_worker()
        self._serial += 1
        self._waiting = self._serial
        self._mailbox.put(SaliencyRequest(self._serial, self._copy[1], trained.meta, pixels))

    def cancel(self) -> None:
        """Forget what was asked: the drawing changed and has no explanation to complete."""
        self._waiting = None

    def stop(self) -> None:
        """End the worker (the panel is hidden): nothing runs until the next request starts a new one."""
        self.cancel()
        self._copy = None
        if self._worker is not None:
            self._worker.stop()
            self._worker, self._mailbox = None, LatestOnly()

    def busy(self) -> bool:
        """A request is still unanswered."""
        return self._waiting is not None

    def _start_worker(self) -> None:
        control = RunControl()
        worker = Worker(serve, self._mailbox, control, name="saliency", control=control, parent=self)
        worker.on(SaliencyDone, self._arrived)
        worker.finished.connect(lambda: self._ended(worker))
        self._worker = worker.start()

    def _arrived(self, done: SaliencyDone) -> None:
        if done.serial == self._waiting:
            self._waiting = None
            self.ready.emit(done.saliency)

    def _ended(self, worker: Worker) -> None:
        """A worker ended by an error is replaced at the next request, not left holding it."""
        if self._worker is worker:
            self._worker, self._waiting = None, None
