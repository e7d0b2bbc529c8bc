"""Models that leave DigitPad: ONNX (and torch.export's .pt2), with the normalization inside the graph.

Whoever runs the exported model feeds plain pixels — float32 N×1×28×28 in [0, 1], ink bright as in
MNIST — and gets `logits` N×10; the data set's mean and std travel inside, and the class names,
data set and normalization are written in the file's metadata, so nothing has to be copied by hand.
"""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from digitpad import __version__
from digitpad.core import names
from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.checkpoints import TrainedModel

SUFFIXES = names.EXPORT_SUFFIXES
EXPORT_FORMATS = tuple(SUFFIXES)
INPUT_NAME, OUTPUT_NAME = "pixels", "logits"
MISSING_ONNX = ("Exporting to ONNX needs the ONNX packages, which are an optional extra: "
                "pip install 'digitpad[export]'")


class ExportError(RuntimeError):
    """The model could not be exported; the message says why and, for a missing package, what to install."""


class PixelsToLogits(nn.Module):
    """The trained network behind its own input normalization: raw [0, 1] pixels in, logits out."""

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model((pixels - self.mean) / self.std)


def export_metadata(trained: TrainedModel) -> dict[str, str]:
    """What a user of the file needs to know, as string key/values (ONNX metadata_props)."""
    meta = trained.meta
    return {
        "class_names": json.dumps(list(meta.class_names)),
        "dataset": meta.dataset,
        "architecture": meta.architecture,
        "normalization": json.dumps({"mean": meta.mean, "std": meta.std, "applied": "inside the graph"}),
        "input": f"{INPUT_NAME}: float32 N×1×28×28 in [0, 1], ink bright on dark (MNIST polarity)",
        "output": f"{OUTPUT_NAME}: float32 N×10, softmax gives the probabilities",
        "test_accuracy": "" if meta.test_accuracy is None else f"{meta.test_accuracy:.4f}",
        "digitpad_version": __version__,
    }


def _wrapped(trained: TrainedModel) -> PixelsToLogits:
    """A private copy: the canvas may be using the same model on another thread while this traces it."""
    return PixelsToLogits(copy.deepcopy(trained.model).eval(), trained.meta.mean, trained.meta.std).eval()


def _example_and_shapes() -> tuple[tuple[torch.Tensor], tuple[dict]]:
    return (torch.rand(2, 1, 28, 28),), ({0: torch.export.Dim("N")},)


def export_onnx(trained: TrainedModel, path: str | os.PathLike) -> Path:
    """Write an ONNX model (torch's torch.export-based exporter, batch size left free) atomically."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's exporter needs it; a clear message beats its ImportError)
    except ImportError as exc:
        raise ExportError(f"{MISSING_ONNX} (missing: {exc.name})") from exc
    example, shapes = _example_and_shapes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(_wrapped(trained), example, None, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], dynamic_shapes=shapes, dynamo=True, verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, export_metadata(trained))
    proto.doc_string = f"DigitPad {trained.meta.architecture} trained on {trained.meta.dataset}"
    target = Path(path)
    atomic_write_bytes(target, proto.SerializeToString())
    return target


def export_pt2(trained: TrainedModel, path: str | os.PathLike) -> Path:
    """Write a torch.export program (load with torch.export.load); the metadata goes in digitpad.json inside."""
    example, shapes = _example_and_shapes()
    program = torch.export.export(_wrapped(trained), example, dynamic_shapes=shapes)
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={"digitpad.json": json.dumps(export_metadata(trained))})
    target = Path(path)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def export_model(trained: TrainedModel, fmt: str, path: str | os.PathLike) -> Path:
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    with interrupts_win():
        return (export_onnx if fmt == "onnx" else export_pt2)(trained, path)


@contextmanager
def interrupts_win() -> Iterator[None]:
    """Ctrl+C (or a Python SIGTERM handler's exception) during an export ends it as that interrupt.

    torch's exporters catch broad exceptions while they trace: a KeyboardInterrupt inside one comes out as
    an AttributeError from a half-imported torch._dynamo. The signals that came are remembered here and,
    whatever the exporter raised, their own exception is raised instead. Only on the main thread (where
    signals arrive); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)
                if callable(signal.getsignal(sig))}  # only signals that raise in Python, not SIG_DFL's exit
    came: list[int] = []

    def handler(signum, frame) -> None:
        came.append(signum)
        previous[signum](signum, frame)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    except BaseException as exc:
        if came and not isinstance(exc, KeyboardInterrupt):
            try:
                previous[came[0]](came[0], None)  # raises what the signal's own handler raises
            except KeyboardInterrupt as interrupt:
                raise interrupt from None
        raise
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def format_for_path(path: str | os.PathLike) -> str | None:
    """The export format a file name asks for (.onnx, .pt2), or None for a DigitPad checkpoint."""
    suffix = Path(path).suffix.lower()
    return next((fmt for fmt, s in SUFFIXES.items() if s == suffix), None)
