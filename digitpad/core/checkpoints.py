"""Checkpoints: weights plus what is needed to use them, written atomically and read without pickle code."""

from __future__ import annotations

import importlib.resources
import io
import os
import pickle
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from digitpad import __version__
from digitpad.core.atomic import atomic_writer
from digitpad.core.models import MODELS, build_model, parameter_count

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


@dataclass(frozen=True)
class ModelMeta:
    architecture: str
    dataset: str
    class_names: tuple[str, ...]
    mean: float
    std: float
    test_accuracy: float | None = None
    epochs: float = 0
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    digitpad_version: str = __version__
    config: dict = field(default_factory=dict)

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
        meta = ModelMeta(**{**raw, "class_names": tuple(raw["class_names"])})
    except (TypeError, KeyError) as exc:
        raise CheckpointError(f"{path}: checkpoint metadata is incomplete ({exc})") from exc
    if meta.architecture not in MODELS:
        raise CheckpointError(f"{path}: unknown architecture {meta.architecture!r}; "
                              f"this DigitPad knows {', '.join(MODELS)}")
    if len(meta.class_names) != 10 or not meta.std > 0:
        raise CheckpointError(f"{path}: checkpoint metadata is inconsistent (class names or normalization)")
    return meta


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
    if not all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point()):
        raise CheckpointError(f"{path}: weights contain NaN or infinity")
    model.eval()
    return TrainedModel(model=model, meta=meta, name=path.stem)


def shipped_models() -> list[Path]:
    """Pretrained checkpoints that ship inside the package, the MNIST CNN first."""
    paths = sorted(ASSETS_DIR.glob("*.pt"))
    return sorted(paths, key=lambda p: p != DEFAULT_MODEL)
