"""Slow work (reading files, decoding images) off the GUI thread, its result handed back on it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class BackgroundCall(QObject):
    """Run `fn(*args)` on a Python thread; `done` delivers (result, None) or (None, exception).

    The signal is emitted from the worker thread to a QObject living on the GUI thread, so Qt queues
    it: the slots run on the GUI thread, where widgets may be touched. `join()` before the Qt objects
    go away (the window's `finish_background_work`), so no thread emits into a deleted object.
    """

    done = Signal(object, object)

    def __init__(self, fn: Callable, *args, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = threading.Thread(target=self._call, args=(fn, args), name=name, daemon=True)

    def start(self) -> BackgroundCall:
        self._thread.start()
        return self

    def join(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _call(self, fn: Callable, args: tuple) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # handed to the GUI thread, which knows what to tell the user
            self.done.emit(None, exc)
        else:
            self.done.emit(result, None)
