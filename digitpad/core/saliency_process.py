"""The Explain panel's saliency in a child process, so that it runs beside the GUI thread, not in turns with it.

On a worker *thread* the saliency took turns with the painting for Python's interpreter lock (each of its
torch calls needs it) and both ran twice as slowly (docs/BENCHMARKS.md); a process has its own interpreter. It is spawned once (its imports take a few seconds: it says "ready" when it can take
work), gets each model once (pickled: a copy, as `private_copy` makes it), then only pixels; when
drawings come faster than it computes, it answers the newest and skips the rest.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from torch import nn

from digitpad.core.checkpoints import ModelMeta
from digitpad.core.explain import Saliency, saliency_of


READY = "ready"


def serve(conn: Connection) -> None:
    """The child's loop: ("model", module, meta) switches models, ("pixels", serial, pixels) asks for a
    saliency with the model sent last, answered as (serial, Saliency); None or a closed pipe ends it."""
    import torch

    torch.set_num_threads(1)  # one core beside the GUI's: two would spin-wait against it
    conn.send(READY)
    model: tuple[nn.Module, ModelMeta] | None = None
    while True:
        try:
            model, request = _newest(conn, model)
        except (EOFError, OSError):
            return
        if request is None:
            return
        serial, pixels = request
        conn.send((serial, saliency_of(*model, pixels)))


def _newest(conn: Connection, model: tuple[nn.Module, ModelMeta] | None
            ) -> tuple[tuple[nn.Module, ModelMeta] | None, tuple[int, Any] | None]:
    """Read everything sent so far (blocking for the first): the model sent last and the last request
    (None when asked to end). The pipe keeps order, so a request always comes after its model."""
    request = None
    while request is None or conn.poll():
        message = conn.recv()
        if message is None:
            return model, None
        if message[0] == "model":
            model = message[1:]
        else:
            request = message[1:]
    return model, request


class SaliencyProcess:
    """The parent's end: start the child, hand it models and pixels, read its answers from `conn`."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt and OpenMP threads
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end,), name="digitpad-saliency", daemon=True)
        self.process.start()
        child_end.close()
        self._model: nn.Module | None = None  # the one the child has

    def ask(self, serial: int, model: nn.Module, meta: ModelMeta, pixels: np.ndarray) -> None:
        """Ask for the saliency of `pixels`; `model` is sent (once) when it is not the one the child has.

        Only once the child is ready: it then reads as fast as this writes, so a model (~0.3 MB for the
        CNN) passes in about a millisecond, where before it would wait for the child's imports.
        """
        if model is not self._model:
            self.conn.send(("model", model, meta))
            self._model = model
        self.conn.send(("pixels", serial, np.asarray(pixels, dtype=np.float32)))

    def answer(self, timeout: float) -> tuple[int, Saliency] | str | None:
        """The next message (READY, or an answer), waiting at most `timeout` seconds; None when there is
        none yet; raises EOFError once the child is gone."""
        return self.conn.recv() if self.conn.poll(timeout) else None

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end, wait for it, and make sure it has."""
        try:
            self.conn.send(None)
        except OSError:
            pass  # it has already gone
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
