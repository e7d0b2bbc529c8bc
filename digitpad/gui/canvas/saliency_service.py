"""The Explain panel's saliency, computed in a child process while the GUI thread paints the rest.

The saliency (integrated gradients: IG_STEPS + 1 images forward and backward) is the costly part of an
explanation; in a thread it would take turns with the painting for the interpreter lock
(`core/saliency_process.py`). Here the Canvas tab posts the preprocessed pixels before its own
forward pass, and the child computes while the GUI paints (`bench/explain_latency.py`). An answer for an
older drawing is dropped on arrival. A listening thread (the one background mechanism, `gui/common/worker.py`)
carries the answers to the GUI thread, and closes the child when the window closes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from torch import nn

from digitpad.core.checkpoints import ModelMeta, TrainedModel
from digitpad.core.explain import Saliency, private_copy, saliency_of
from digitpad.core.saliency_process import READY, SaliencyProcess
from digitpad.core.events import RunControl
from digitpad.gui.common.worker import Worker

POLL_S = 0.05  # how often the listener looks at its Stop flag: the window closes within this


@dataclass(frozen=True)
class ChildReady:
    pass


@dataclass(frozen=True)
class SaliencyDone:
    serial: int
    saliency: Saliency


def listen(child: SaliencyProcess, control: RunControl) -> Iterator[ChildReady | SaliencyDone]:
    """The listening thread: each message of the child, until Stop or the child's end; then it closes it."""
    try:
        while not control.stopped:
            message = child.answer(POLL_S)
            if message == READY:
                yield ChildReady()
            elif message is not None:
                yield SaliencyDone(*message)
    except (EOFError, OSError):
        return  # the child has gone: the next request starts another
    finally:
        child.close()


class SaliencyService(QObject):
    """Ask for the saliency of a drawing; `ready` brings it back on the GUI thread, for the newest one only."""

    ready = Signal(object)  # Saliency

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._child: SaliencyProcess | None = None
        self._child_ready = False
        self._listener: Worker | None = None
        self._copy: tuple[TrainedModel, nn.Module] | None = None  # the model last asked about, and its copy
        self._unsent: tuple[int, nn.Module, ModelMeta, np.ndarray] | None = None  # asked before the child was ready
        self._waiting: int | None = None  # the serial of the one request whose answer is wanted
        self._serial = 0
        self._in_process = False  # no child could be started

    def prepare(self) -> None:
        """Start the child now (the panel opened), so that it is ready by the time a drawing needs it."""
        if self._child is None and not self._in_process:
            self._start_child()

    def request(self, trained: TrainedModel, pixels: np.ndarray) -> None:
        """Compute the saliency of `trained`'s answer for `pixels`; an earlier request not yet answered is
        forgotten. The first one starts the child, which answers once its imports are done."""
        if self._copy is None or self._copy[0] is not trained:
            self._copy = (trained, private_copy(trained.model))
        self.prepare()
        self._serial += 1
        self._waiting = self._serial
        ask = (self._serial, self._copy[1], trained.meta, pixels)
        if self._in_process:
            self._compute_here(ask)
        elif self._child_ready:
            self._send(ask)
        else:
            self._unsent = ask

    def cancel(self) -> None:
        """Forget what was asked: the drawing changed and has no explanation to complete."""
        self._waiting, self._unsent = None, None

    def release(self) -> None:
        """Let the child go (the panel has stayed hidden): its listener closes it, without the GUI waiting;
        the next request starts another. Closing the window ends it through `Worker.join_all`."""
        self.cancel()
        if self._listener is not None:
            self._listener.stop()
            self._child, self._child_ready, self._listener = None, False, None

    def busy(self) -> bool:
        """A request is still unanswered."""
        return self._waiting is not None

    def _start_child(self) -> None:
        try:
            child = SaliencyProcess()
        except OSError as exc:  # no child processes allowed here: on this thread, after the rest is painted
            print(f"digitpad: the saliency is computed in the window's own thread ({exc})", file=sys.stderr)
            self._in_process = True
            return
        control = RunControl()
        listener = Worker(listen, child, control, name="saliency", control=control, parent=self)
        listener.on(ChildReady, self._on_child_ready).on(SaliencyDone, self._arrived)
        listener.finished.connect(lambda: self._ended(listener))
        self._child, self._child_ready, self._listener = child, False, listener.start()

    def _on_child_ready(self, _event: ChildReady) -> None:
        self._child_ready = True
        if self._unsent is not None and self._child is not None:
            ask, self._unsent = self._unsent, None
            self._send(ask)

    def _send(self, ask: tuple[int, nn.Module, ModelMeta, np.ndarray]) -> None:
        """Hand a request to the child. One that died (killed, crashed) before its listener could say so
        fails here ("handle is closed", a broken pipe): a new child is started and gets the request once
        it is ready, so the drawing still gets its saliency."""
        try:
            self._child.ask(*ask)
        except OSError:
            if self._listener is not None:
                self._listener.stop()
            self._child, self._child_ready, self._listener = None, False, None
            self._start_child()
            if self._in_process:
                self._compute_here(ask)
            else:
                self._unsent = ask

    def _compute_here(self, ask: tuple[int, nn.Module, ModelMeta, np.ndarray]) -> None:
        """No child process may start: the saliency on this thread, after the rest is painted."""
        QTimer.singleShot(0, lambda: self._arrived(SaliencyDone(ask[0], saliency_of(*ask[1:]))))

    def _arrived(self, done: SaliencyDone) -> None:
        if done.serial == self._waiting:
            self._waiting = None
            self.ready.emit(done.saliency)

    def _ended(self, listener: Worker) -> None:
        """The child or its listener ended (an error, or the window closing): the next request starts anew."""
        if self._listener is listener:
            self._child, self._child_ready, self._listener, self._waiting = None, False, None, None
