"""Slow work (reading files, decoding images) off the GUI thread, its result handed back on it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class BackgroundCall(QObject):
    """Run `fn(*args)` on a Python thread; `done` delivers (result, None) or (None, exception).

    `done` is always emitted on the GUI thread, so any slot may touch widgets: the worker emits a
    private signal to this object's own method, which Qt queues to the thread this object lives in.
    Before the window's Qt objects go away, `join_all()` waits for every call still running, so no
    thread emits into a deleted object.
    """

    done = Signal(object, object)
    _finished = Signal(object, object)  # from the worker thread
    _running: set[BackgroundCall] = set()  # started, result not yet delivered

    def __init__(self, fn: Callable, *args, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = threading.Thread(target=self._call, args=(fn, args), name=name, daemon=True)
        self._finished.connect(self._deliver)

    @classmethod
    def join_all(cls, timeout: float = 30.0) -> None:
        """Wait for every running call; those whose result can no longer be delivered are dropped."""
        for call in list(cls._running):
            call._thread.join(timeout)
        cls._running = {call for call in cls._running if call._thread.is_alive()}

    @classmethod
    def running(cls) -> int:
        return len(cls._running)

    def start(self) -> BackgroundCall:
        BackgroundCall._running.add(self)
        self._thread.start()
        return self

    def _call(self, fn: Callable, args: tuple) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # handed to the GUI thread, which knows what to tell the user
            self._finished.emit(None, exc)
        else:
            self._finished.emit(result, None)

    def _deliver(self, result: object, error: Exception | None) -> None:
        BackgroundCall._running.discard(self)
        self.done.emit(result, error)
        self.deleteLater()
