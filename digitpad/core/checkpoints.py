"""Checkpoints: weights plus what is needed to use them, written atomically and read without pickle code."""

from __future__ import annotations

import importlib.resources
import io
import math
import os
import pickle
import warnings
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitpad import __version__
from digitpad.core.atomic import atomic_writer
from digitpad.core import names
from digitpad.core.settings import SETTING
from digitpad.core.models import build_model, parameter_count

FORMAT = "digitpad-checkpoint"
FORMAT_VERSION = 1


def _assets_dir() -> Path:
    """The shipped files: the top-level `assets/` of a source checkout, or, in an installed wheel,
    the same folder mapped into the package as `digitpad/assets` (pyproject's package-dir)."""
    packaged = importlib.resources.files("digitpad") / "assets"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "assets"


ASSETS_DIR = _assets_dir() / "models"
DEFAULT_MODEL = ASSETS_DIR / "mnist-cnn.pt"


class CheckpointError(ValueError):
    """A file is not a usable DigitPad checkpoint; the message names the file and the reason."""


def _number(name: str, value: Any, low: float, high: float) -> float:
    """A real number (not a bool, not a string) within [low, high], as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r:.60}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a finite number in [{low:g}, {high:g}], got {value!r:.60}")
    return float(value)


def _text(name: str, value: Any, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(f"{name} must be a non-empty text of at most {max_len} characters, got {value!r:.60}")
    return value


@dataclass(frozen=True)
class ModelMeta:
    """What a checkpoint says about its weights; constructing one validates every field's type and range,
    so a model with NaN statistics or a list for an architecture never reaches the canvas."""

    architecture: str
    dataset: str
    class_names: tuple[str, ...]
    mean: float  # of the training pixels in [0, 1]
    std: float
    test_accuracy: float | None = None
    epochs: float = 0
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    digitpad_version: str = __version__
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked = {
            "architecture": self._one_of("architecture", self.architecture, names.MODELS),
            "dataset": self._one_of("dataset", self.dataset, names.DATASETS),
            "class_names": self._class_names(self.class_names),
            # Pixels are in [0, 1]: so are their mean and (well inside) their spread. A std near 0
            # would blow every input up to infinity.
            "mean": _number("mean", self.mean, 0.0, 1.0),
            "std": _number("std", self.std, 0.01, 1.0),
            "test_accuracy": None if self.test_accuracy is None else _number("test accuracy", self.test_accuracy,
                                                                             0.0, 1.0),
            "epochs": _number("epochs", self.epochs, 0.0, SETTING["epochs"].bounds.high),
            "created": _text("created", self.created),
            "digitpad_version": _text("digitpad version", self.digitpad_version),
        }
        if not isinstance(self.config, dict) or not all(isinstance(k, str) for k in self.config):
            raise ValueError(f"config must be a mapping of setting names to values, got {self.config!r:.60}")
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    @staticmethod
    def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"unknown {name} {value!r:.60}; this DigitPad knows {', '.join(allowed)}")
        return value

    @staticmethod
    def _class_names(value: Any) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)) or len(value) != 10:
            raise ValueError(f"class names must be a list of 10 names, got {value!r:.60}")
        return tuple(_text("each class name", v, 60) for v in value)

    @classmethod
    def from_dict(cls, raw: dict) -> "ModelMeta":
        """From a checkpoint's metadata; keys a newer DigitPad may add are ignored, missing ones named."""
        known = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(raw))
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return cls(**{k: v for k, v in raw.items() if k in known})

    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        return data


@dataclass
class TrainedModel:
    """A model ready for inference (CPU, eval mode) with its metadata; what the canvas and CLI use."""

    model: nn.Module
    meta: ModelMeta
    name: str = ""
    source: str = ""  # what it is in the app: the file it was read from, or the training run that made it

    @property
    def title(self) -> str:
        acc = f", {self.meta.test_accuracy:.2%}" if self.meta.test_accuracy is not None else ""
        return f"{self.name or self.meta.architecture} ({self.meta.dataset}{acc})"

    @property
    def parameters(self) -> int:
        return parameter_count(self.model)


def save_checkpoint(trained: TrainedModel, path: str | os.PathLike) -> Path:
    """Write weights + metadata; the target is replaced only once the new file is complete."""
    state = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": trained.meta.to_dict(),
               "state_dict": state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    target = Path(path)
    with atomic_writer(target) as fh:
        fh.write(buffer.getvalue())
    return target


def rescue_paths(wanted: Path) -> list[Path]:
    """Where a trained model goes when `wanted` cannot be written at the end of a run: beside it under
    a new name, then the user's cache folder. Losing minutes of training to a bad path is not an option."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{wanted.stem or 'model'}-{stamp}.pt"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digitpad" / "unsaved-models"
    return [wanted.parent / name, cache / name]


def _read_payload(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    try:
        with warnings.catch_warnings():  # foreign pickles make torch warn; our message says it better
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():
            raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt)") from exc
        raise CheckpointError(f"{path}: refused to load — it holds Python objects other than weights "
                              "(a pickle that could run code), so it is not a DigitPad checkpoint") from exc
    except Exception as exc:  # torch.load on arbitrary bytes fails in many ways (IndexError, KeyError, …)
        raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt): "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a PyTorch file, but not a DigitPad checkpoint (no '{FORMAT}' header)")
    return payload


def _meta_from(payload: dict, path: Path) -> ModelMeta:
    raw = payload.get("meta")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: checkpoint has no metadata")
    try:
        return ModelMeta.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad checkpoint metadata: {exc}") from None


def _probe_inputs(meta: ModelMeta) -> torch.Tensor:
    """A blank field, a full one and fixed noise, normalized as the model expects: weights that overflow
    on these would overflow on drawings too."""
    noise = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    pixels = torch.cat([torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28), noise])
    return (pixels - meta.mean) / meta.std


def _check_weights(model: nn.Module, meta: ModelMeta, path: Path) -> None:
    state = model.state_dict()
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError(f"{path}: weights contain NaN or infinity")
    negative = [k for k, v in state.items() if k.endswith("running_var") and (v < 0).any()]
    if negative:
        raise CheckpointError(f"{path}: batch-norm running variance is negative in {', '.join(negative)}")
    with torch.no_grad():
        logits = model.eval()(_probe_inputs(meta))
    if not torch.isfinite(logits).all():
        raise CheckpointError(f"{path}: the model's outputs overflow (NaN or infinity on a test input)")


def load_checkpoint(path: str | os.PathLike) -> TrainedModel:
    """Load safely (weights_only=True) and check the weights fit the named architecture exactly."""
    path = Path(path)
    payload = _read_payload(path)
    meta = _meta_from(payload, path)
    model = build_model(meta.architecture)
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint has no weights")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit a 28×28 {meta.architecture} model "
                              f"({str(exc).splitlines()[0][:200]})") from exc
    _check_weights(model, meta, path)
    return TrainedModel(model=model, meta=meta, name=path.stem, source=str(path.resolve()))


def shipped_models() -> list[Path]:
    """Pretrained checkpoints that ship inside the package, the MNIST CNN first."""
    paths = sorted(ASSETS_DIR.glob("*.pt"))
    return sorted(paths, key=lambda p: p != DEFAULT_MODEL)
