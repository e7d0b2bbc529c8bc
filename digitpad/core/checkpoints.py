"""Checkpoints: weights plus what is needed to use them, written atomically and read without pickle code."""

from __future__ import annotations

import importlib.resources
import io
import math
import os
import pickle
import warnings
import zipfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from digitpad import __version__
from digitpad.core.atomic import atomic_writer
from digitpad.core.files import describe_size, file_problem, open_regular, reason
from digitpad.core import names
from digitpad.core.settings import SETTING
from digitpad.core.models import build_model, parameter_count

FORMAT = "digitpad-checkpoint"
FORMAT_VERSION = 1
# The largest model DigitPad has is ~2.7 MB; a file that is (or unpacks to) more than this is not ours, and
# loading it could take gigabytes (a few MB of deflated zeros unpack to 4 GB).
MAX_CHECKPOINT_BYTES = 256 * 2**20


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


def _unpacked_size(fh: BinaryIO) -> int | None:
    """What a zip-format checkpoint declares its members unpack to (None for torch's older plain format,
    whose size is its file's): read from the zip's directory, before anything is unpacked."""
    try:
        if not zipfile.is_zipfile(fh):
            return None
        with zipfile.ZipFile(fh) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # torch.load says it is corrupt
    finally:
        fh.seek(0)


def _read_payload(path: Path) -> dict:
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it as a checkpoint ({file_problem(exc)})") from None
    with fh:
        raw = io.BytesIO(fh.read(MAX_CHECKPOINT_BYTES + 1))
    size = raw.getbuffer().nbytes
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    unpacked = _unpacked_size(raw) or 0
    if max(size, unpacked) > MAX_CHECKPOINT_BYTES:
        amount = f"unpacks to {describe_size(unpacked)}" if unpacked > size else "is larger than that"
        raise CheckpointError(f"{path}: {amount}, more than any DigitPad model takes (at most "
                              f"{describe_size(MAX_CHECKPOINT_BYTES)}); not loaded")
    payload = _torch_load(raw, path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a PyTorch file, but not a DigitPad checkpoint (no '{FORMAT}' header)")
    version = payload.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r:.40} is not one this DigitPad reads "
                              f"(1 to {FORMAT_VERSION}); a newer DigitPad may have written it — update DigitPad")
    return payload


def _torch_load(fh: BinaryIO, path: Path) -> object:
    """torch.load with weights_only=True, its many failures turned into one CheckpointError in our words
    (torch's own text suggests weights_only=False, which is exactly what must never be done here)."""
    try:
        with warnings.catch_warnings():  # foreign pickles make torch warn; our message says it better
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(fh, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():
            raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt)") from exc
        raise CheckpointError(f"{path}: refused to load — it holds Python objects other than weights "
                              "(a pickle that could run code), so it is not a DigitPad checkpoint") from exc
    except MemoryError as exc:
        raise CheckpointError(f"{path}: too large to load in the memory left") from exc
    except Exception as exc:  # torch.load on arbitrary bytes fails in many ways (IndexError, KeyError, …)
        detail = reason(exc)
        detail = "" if "weights_only" in detail else f": {detail}"
        raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt){detail}") from exc


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


def _listed(keys: list[str], limit: int = 3) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(map(str, keys[:limit])) + more


def state_mismatch(model: nn.Module, state: dict) -> str | None:
    """What keeps `state` from loading into `model`, in words (missing, unexpected, misshapen, sparse or
    non-tensor weights); None when it fits. torch's own message names only the model's class."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    not_tensors = [k for k in expected if k in state and not isinstance(state[k], torch.Tensor)]
    sparse = [k for k in expected if k in state and k not in not_tensors and state[k].layout != torch.strided]
    misshapen = [f"{k} is {'×'.join(map(str, state[k].shape)) or 'a number'} where the model needs "
                 f"{'×'.join(map(str, expected[k].shape))}" for k in expected
                 if k in state and k not in not_tensors + sparse and state[k].shape != expected[k].shape]
    parts = [f"missing {_listed(missing)}" if missing else "",
             f"unexpected {_listed(unexpected)}" if unexpected else "",
             f"not tensors: {_listed(not_tensors)}" if not_tensors else "",
             f"sparse, where DigitPad reads dense weights: {_listed(sparse)}" if sparse else "",
             _listed(misshapen, 2)]
    return "; ".join(p for p in parts if p) or None


def load_checkpoint(path: str | os.PathLike) -> TrainedModel:
    """Load safely (weights_only=True) and check the weights fit the named architecture exactly."""
    path = Path(path)
    payload = _read_payload(path)
    meta = _meta_from(payload, path)
    model = build_model(meta.architecture)
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint has no weights")
    problem = state_mismatch(model, state)
    if problem is None:
        try:
            model.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            problem = reason(exc)
    if problem is not None:
        raise CheckpointError(f"{path}: weights do not fit a 28×28 {meta.architecture} model ({problem})")
    _check_weights(model, meta, path)
    return TrainedModel(model=model, meta=meta, name=path.stem, source=str(path.resolve()))


def shipped_models() -> list[Path]:
    """Pretrained checkpoints that ship inside the package, the MNIST CNN first."""
    paths = sorted(ASSETS_DIR.glob("*.pt"))
    return sorted(paths, key=lambda p: p != DEFAULT_MODEL)
