"""Slow work (reading files, decoding images) off the GUI thread, its result handed back on it.

A thin use of the one background mechanism, `gui/worker.py`: same thread registry, joined at close.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from digitpad.gui.worker import Worker


class BackgroundCall(QObject):
    """Run `fn(*args)` on a worker; `done` delivers (result, None) or (None, exception) on the GUI thread."""

    done = Signal(object, object)

    def __init__(self, fn: Callable, *args, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = Worker(fn, *args, name=name, parent=self)
        self._worker.returned.connect(lambda result: self._deliver(result, None))
        self._worker.errored.connect(lambda error: self._deliver(None, error))
        self._worker.finished.connect(self.deleteLater)  # not before: the worker is this object's child

    @staticmethod
    def join_all(timeout: float = 30.0) -> None:
        """Wait for every background worker (this is the one registry of gui/worker.py)."""
        Worker.join_all(round(timeout * 1000))

    @staticmethod
    def running() -> int:
        return len(Worker.running())

    def start(self) -> BackgroundCall:
        self._worker.start()
        return self

    def _deliver(self, result: object, error: Exception | None) -> None:
        self.done.emit(result, error)
