"""The one mechanism for background work: a generator iterated on its own QThread (superqt's `thread_worker` pattern).

Training, fine-tuning and file I/O all run this way, through one of two helpers: `run_call` for a
one-shot call (read or write a file), `run_events` for a long job that yields events (train, fine-tune). A `Worker` lives on the GUI thread; its runner,
moved to a QThread, calls the function and, when it returns a generator, iterates it, sending each
yielded event back. A plain function is a one-shot generator: its result arrives as `returned`.
Events are dispatched by type (`worker.on(Progress, slot)`) on the GUI thread, so any handler may
touch widgets. Stop goes through the thread-safe `RunControl` the generator checks, because a runner
busy in its loop never sees a queued signal. One registry holds every worker still running;
`join_all()` stops and joins them when the window closes, never terminate().
"""

from __future__ import annotations

import atexit
import inspect
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.core.events import Failed, FailureKind, RunControl


class _Runner(QObject):
    """Lives on the worker's thread: calls the function, iterates what it yields, reports each step."""

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    done = Signal()  # always last

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, name: str) -> None:
        super().__init__()
        self._call = (fn, args, kwargs)
        self._name = name

    @Slot()
    def run(self) -> None:
        fn, args, kwargs = self._call
        threading.current_thread().name = self._name  # for tracebacks and profilers
        try:
            result = fn(*args, **kwargs)
            if inspect.isgenerator(result):
                result = yield_all(result, self.yielded.emit)
            self.returned.emit(result)
        except Exception as exc:  # handed to the GUI thread, which knows what to tell the user
            if not isinstance(exc, (OSError, ValueError)):
                traceback.print_exc()  # a bug, not a bad file: keep the trace for the report
            self.errored.emit(exc)
        finally:
            self.done.emit()


def yield_all(gen, emit: Callable[[Any], None]) -> Any:
    """Send each item of the generator to `emit`; return the generator's return value."""
    while True:
        try:
            emit(next(gen))
        except StopIteration as stop:
            return stop.value


class Worker(QObject):
    """Run `fn(*args, **kwargs)` on a QThread; events, result and error come back on the GUI thread.

    `yielded` carries every event, `returned` the function's (or generator's) return value,
    `errored` an exception, and `finished` comes last, once the thread has ended; then the worker
    deletes itself, so a handler must not keep using it.
    """

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    _running: set["Worker"] = set()  # started and not yet finished: what join_all() waits for

    def __init__(self, fn: Callable, *args, name: str, control: RunControl | None = None,
                 parent: QObject | None = None, **kwargs) -> None:
        super().__init__(parent)
        self.control = control or RunControl()
        self._handlers: dict[type, list[Callable]] = {}
        self.thread = QThread()
        self.thread.setObjectName(name)
        self._runner = _Runner(fn, args, kwargs, name)
        self._runner.moveToThread(self.thread)
        self.thread.started.connect(self._runner.run)
        self._runner.yielded.connect(self._dispatch)
        self._runner.returned.connect(self.returned)
        self._runner.errored.connect(self.errored)
        self._runner.done.connect(self.thread.quit)
        self.thread.finished.connect(self._on_thread_finished)

    def on(self, event_type: type, handler: Callable[[Any], None]) -> "Worker":
        """Call `handler(event)` on the GUI thread for each yielded event of this type."""
        self._handlers.setdefault(event_type, []).append(handler)
        return self

    def start(self) -> "Worker":
        Worker._running.add(self)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.control.stop()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def join(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread to end; True when it has ended."""
        self.control.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    @classmethod
    def join_all(cls, timeout_ms: int = 30_000) -> None:
        """Stop and join every running worker (the window is closing): nothing outlives its Qt objects."""
        for worker in list(cls._running):
            if worker.join(timeout_ms):
                cls._running.discard(worker)

    @classmethod
    def running(cls, *names: str) -> list["Worker"]:
        """Started workers whose `finished` has not been delivered yet (only those named, if any)."""
        return [w for w in list(cls._running) if not names or w.thread.objectName() in names]

    def _dispatch(self, event: object) -> None:
        self.yielded.emit(event)
        for handler in self._handlers.get(type(event), ()):
            handler(event)

    def _on_thread_finished(self) -> None:
        self.thread.wait()
        Worker._running.discard(self)
        self.finished.emit()
        self.deleteLater()


# A script that ends without closing its window must not destroy a QThread still running
# ("QThread: Destroyed while thread is still running", then a crash): join them first.
atexit.register(Worker.join_all)


def run_call(fn: Callable, *args, name: str, then: Callable[[Any, Exception | None], None] | None = None,
             parent: QObject | None = None) -> Worker:
    """A one-shot call (reading or writing a file): `then(result, None)` or `then(None, error)` on the GUI thread."""
    worker = Worker(fn, *args, name=name, parent=parent)
    if then is not None:
        then = while_alive(then)
        worker.returned.connect(lambda result: then(result, None))
        worker.errored.connect(lambda error: then(None, error))
    return worker.start()


def while_alive(callback: Callable) -> Callable:
    """The callback, skipped once the Qt object it is a method of has been deleted: a page closed before
    its background answer came must not be drawn on (its widgets are gone)."""
    owner = getattr(callback, "__self__", None)
    if not isinstance(owner, QObject):
        return callback
    return lambda *args: callback(*args) if shiboken6.isValid(owner) else None


def run_events(fn: Callable, *args, handlers: Mapping[type, Callable[[Any], None]],
               failed: Callable[[str, FailureKind], None], name: str, control: RunControl | None = None,
               ended: Callable[[], None] | None = None, parent: QObject | None = None, **kwargs) -> Worker:
    """A long job: iterate `fn(*args, **kwargs)`'s events on a thread, each handed to its handler on the GUI thread.

    `failed(message, kind)` gets the job's own `Failed` events and, as FailureKind.ERROR, any exception
    it raises (a bug must reach the user as a message, not kill the thread silently). `ended` comes last,
    once the thread has finished; stop the job with `worker.control.stop()`.
    """
    worker = Worker(fn, *args, name=name, control=control, parent=parent, **kwargs)
    for event_type, handler in handlers.items():
        worker.on(event_type, while_alive(handler))
    failed = while_alive(failed)
    worker.on(Failed, lambda ev: failed(ev.message, ev.kind))
    worker.errored.connect(lambda exc: failed(f"Unexpected error: {type(exc).__name__}: {exc}", FailureKind.ERROR))
    if ended is not None:
        worker.finished.connect(while_alive(ended))
    return worker.start()


LONG_RUNS = ("digitpad-training", "digitpad-teach", "digitpad-reveal", "digitpad-class-import",
             "digitpad-lowo", "digitpad-step")  # workers a test must never leave running


def running_threads() -> list[QThread]:
    """Training and fine-tuning threads still running: tests assert none is left behind."""
    return [w.thread for w in Worker.running(*LONG_RUNS) if w.thread.isRunning()]
