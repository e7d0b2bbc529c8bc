"""The personal set: a user's own labelled drawings, kept in the ImageFolder layout PyTorch users know.

`DIR/<digit>/<name>.json` holds a drawing as strokes, in the format `digitpad predict --strokes`
reads, plus (key "pixels") the 28×28 the network saw; `DIR/<digit>/<name>.png` (any image) is
read through the same preprocessing as `predict`. A teacher can copy the folder between machines
or merge a class's folders. Every write is atomic, so a crash loses at most the sample being saved;
a damaged or foreign file is skipped with a message, never fatal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.inference import ImageError, open_image
from digitpad.core.paths import user_data_dir
from digitpad.core.preprocess import FIELD, mnist_pixels, stroke_pixels
from digitpad.core.strokes import StrokeError, StrokeSet, read_stroke_json

DIGITS = tuple(str(d) for d in range(10))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_PER_DIGIT = 5  # below this a digit's held-out share is too small to measure anything


class PersonalSetError(ValueError):
    """The folder as a whole cannot be used (missing, no digit folders, nothing in it, not writable)."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int
    pixels: np.ndarray  # 28×28 float32 in [0, 1], ink bright: what the network sees


@dataclass
class PersonalSet:
    root: Path
    samples: list[Sample] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per file that could not be used

    def counts(self) -> list[int]:
        """Samples per digit, 0–9."""
        return np.bincount([s.label for s in self.samples], minlength=10).tolist()

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 N×28×28 images and int64 labels: the same form as an MNIST split."""
        if not self.samples:
            return torch.zeros(0, FIELD, FIELD, dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
        images = np.stack([np.round(s.pixels * 255) for s in self.samples]).astype(np.uint8)
        return torch.from_numpy(images), torch.tensor([s.label for s in self.samples], dtype=torch.long)


def default_folder() -> Path:
    """The app's My digits folder, in the user's data folder (`paths.user_data_dir`, $DIGITPAD_HOME)."""
    return user_data_dir() / "my-digits"


# --- reading ----------------------------------------------------------------------------------

def read_sample(path: Path, label: int) -> Sample:
    """One file → a Sample; raises ValueError (with the file named) for anything unusable."""
    if path.suffix.lower() == ".json":
        data = read_stroke_json(path)  # the stroke reader's guards: a regular file, 4 MB, no deep nesting
        pixels = _stored_pixels(data)
        if pixels is None:
            try:
                pixels = stroke_pixels(StrokeSet.from_json(data))
            except StrokeError as exc:
                raise StrokeError(f"{path}: {exc}") from None
            except RecursionError:
                raise StrokeError(f"{path}: not a stroke file (a point is nested too deeply)") from None
    else:
        pixels = mnist_pixels(open_image(path))
    if pixels is None:
        raise ValueError(f"{path}: no ink found — the drawing is blank")
    return Sample(path, label, pixels.astype(np.float32))


def _stored_pixels(data: object) -> np.ndarray | None:
    """The 28×28 saved with the strokes, when present and well formed (saves rasterizing again)."""
    raw = data.get("pixels") if isinstance(data, dict) else None
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (FIELD, FIELD) or not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        return None
    return (arr / 255).astype(np.float32)


def load_personal_set(root: str | os.PathLike) -> PersonalSet:
    """Every usable sample under root/<digit>/; bad files and foreign entries are listed in `skipped`.

    A missing folder or one without any digit folder is an error; an existing digit folder with
    nothing in it is not (the app creates folders as the user labels drawings).
    """
    root = Path(root)
    if not root.is_dir():
        raise PersonalSetError(f"{root}: no such folder (expected {root}/<digit>/<name>.json or .png)")
    result = PersonalSet(root)
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise PersonalSetError(f"{root}: cannot list the folder ({exc.strerror or exc})") from exc
    digit_dirs = [e for e in entries if e.name in DIGITS and e.is_dir() and not e.is_symlink()]
    if not digit_dirs and not any(e.name in DIGITS and e.is_symlink() for e in entries):
        raise PersonalSetError(f"{root}: no digit folders — put each sample in {root}/<digit>/, "
                               "e.g. 7/my-seven.json (ImageFolder layout, folders 0 to 9)")
    for entry in entries:
        if entry.name.startswith(".") or entry in digit_dirs:
            continue  # hidden files, and the temp file of a save that never finished
        result.skipped.append(f"{entry}: {LINK if entry.is_symlink() else 'not a digit folder (0–9)'}, ignored")
    for folder in digit_dirs:
        _read_digit_folder(folder, result)
    return result


LINK = "a link, not followed (a personal set holds its own files: copy them in)"


def _read_digit_folder(folder: Path, result: PersonalSet) -> None:
    """Every usable sample of one digit folder into `result`; what cannot be used, with why, into `skipped`."""
    try:
        paths = sorted(folder.iterdir())
    except OSError as exc:
        result.skipped.append(f"{folder}: cannot list the folder ({exc.strerror or exc}), skipped")
        return
    for path in paths:
        if path.name.startswith("."):
            continue
        if path.is_symlink():
            result.skipped.append(f"{path}: {LINK}, ignored")
            continue
        if path.is_dir() or path.suffix.lower() not in (".json", *IMAGE_SUFFIXES):
            result.skipped.append(f"{path}: not a stroke .json or an image file, ignored")
            continue
        try:
            result.samples.append(read_sample(path, int(folder.name)))
        except (ImageError, ValueError) as exc:
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            result.skipped.append(message + " — skipped")


def require_samples(personal: PersonalSet) -> None:
    """Fine-tuning needs at least one usable sample."""
    if not personal.samples:
        detail = f" ({len(personal.skipped)} file(s) skipped)" if personal.skipped else ""
        raise PersonalSetError(f"{personal.root}: no usable samples in the digit folders{detail}")


# --- writing ----------------------------------------------------------------------------------

def _check_label(label: int) -> None:
    if label not in range(10):
        raise PersonalSetError(f"label {label!r} is not a digit 0–9")


def _new_name(folder: Path, suffix: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    path, k = folder / f"{stamp}{suffix}", 1
    while path.exists():
        path, k = folder / f"{stamp}-{k}{suffix}", k + 1
    return path


def add_sample(root: str | os.PathLike, label: int, strokes: StrokeSet, pixels: np.ndarray) -> Path:
    """Save a drawing under root/<label>/ as strokes plus the 28×28 the network saw; atomic."""
    _check_label(label)
    folder = Path(root) / str(label)
    data = strokes.to_json()
    data["pixels"] = np.round(np.clip(pixels, 0, 1) * 255).astype(int).tolist()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = _new_name(folder, ".json")
        atomic_write_bytes(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
    except OSError as exc:
        raise PersonalSetError(f"cannot save the drawing in {folder}: {exc.strerror or exc}") from exc
    return path


def delete_sample(path: str | os.PathLike) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as exc:
        raise PersonalSetError(f"cannot delete {path}: {exc.strerror or exc}") from exc


def relabel_sample(path: str | os.PathLike, root: str | os.PathLike, label: int) -> Path:
    """Move a sample to root/<label>/ (a rename: atomic on one file system); returns the new path.

    The folder is the label, so nothing inside the file changes."""
    _check_label(label)
    path = Path(path)
    folder = Path(root) / str(label)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = _new_name(folder, path.suffix)
        os.replace(path, target)
    except OSError as exc:
        raise PersonalSetError(f"cannot move {path} to {folder}: {getattr(exc, 'strerror', None) or exc}") from exc
    return target
