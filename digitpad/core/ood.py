"""'That is not a digit': a small second network that tells digits from everything else, beside the threshold.

Why a trained detector and not a score of the digit model itself (measured in docs/BENCHMARKS.md, "That is not
a digit"): on the shipped CNN, with each signal's threshold set so that 1 % of MNIST test digits are flagged,
the top probability flags 56 % of the held-out zig-zag scribbles and 54 % of letters in held-out fonts, the
energy score (log Σ exp z) 49 % / 57 %, and the Mahalanobis distance of the penultimate features to the
nearest class mean 50 % / 46 %; the detector flags 85 % / 93 % while flagging 0.2 % of MNIST test digits,
none of the drawn ones and 0.3 % of the UCI writers'. A network trained on digits has never been asked what
is *not* one: its features do not keep scribbles apart. The detector is taught exactly that, with generated scribbles and
rendered letters as "not a digit" and MNIST, the UCI training digits and font digits as "digit"; it is
measured on generators and font families it never saw (`HELD_OUT_GENERATORS`, the families outside
`TRAIN_FAMILIES`). One detector serves every digit model (softmax, MLP, CNN, and any the user trains): it
reads the same 28×28 field they read; models of other classes (Fashion-MNIST) are not asked.
"""

from __future__ import annotations

import math
import pickle
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.atomic import atomic_writer
from digitpad.core.checkpoints import ASSETS_DIR, TrainedModel
from digitpad.core.datasets import DATASETS

DETECTOR_PATH = ASSETS_DIR.parent / "detectors" / "not-a-digit.pt"
FORMAT = "digitpad-not-a-digit"
TRAIN_GENERATORS = ("curve", "coil", "hatching", "dots", "polygon")
HELD_OUT_GENERATORS = ("zigzag", "shapes")  # zigzag: the 'not sure' benchmark's scribbles
# Font families the detector learns letters and font digits from; every other family is held out.
TRAIN_FAMILIES = ("DejaVu Sans", "DejaVu Sans Mono", "Nimbus Sans", "Nimbus Roman", "Nimbus Mono PS",
                  "Nimbus Sans Narrow", "C059")
SYMBOL_FAMILIES = ("D050000L", "Standard Symbols PS")  # dingbats and Greek: no Latin letters to render
ANGLES = (-12.0, 0.0, 12.0)
WEIGHTS = (0, 6)  # the font's own stroke, and a felt pen's
UCI_REPEAT = 3  # the UCI training digits (30 writers, blurry 8×8) repeated: the hardest digits to keep


def detector_net() -> nn.Module:
    """Two conv blocks and a hidden layer, one logit out (positive: not a digit); ~46k weights, ~0.35 ms a drawing."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(16, 32, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 1),
    )


@dataclass
class NotADigitDetector:
    model: nn.Module
    threshold: float  # flag at or above this probability of "not a digit"

    @torch.no_grad()
    def scores(self, pixels: np.ndarray | torch.Tensor) -> np.ndarray:
        """The probability of "not a digit" for 28×28 fields in [0, 1] (one, or N of them)."""
        x = torch.as_tensor(np.asarray(pixels, dtype=np.float32)).reshape(-1, 1, 28, 28)
        return torch.sigmoid(self.model(x)[:, 0]).numpy()

    def flags(self, pixels: np.ndarray | torch.Tensor) -> np.ndarray:
        return self.scores(pixels) >= self.threshold


def save_detector(detector: NotADigitDetector, path: Path, about: dict) -> Path:
    payload = {"format": FORMAT, "format_version": 1, "threshold": detector.threshold, "about": about,
               "state_dict": {k: v.detach().cpu().contiguous() for k, v in detector.model.state_dict().items()}}
    import io

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_writer(path) as fh:
        fh.write(buffer.getvalue())
    return path


def read_detector(path: Path = DETECTOR_PATH) -> NotADigitDetector:
    """Load safely (weights_only); ValueError naming the file when it is not a usable detector."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("not a not-a-digit detector file")
        threshold = float(payload["threshold"])
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold {threshold} is not a probability")
        model = detector_net()
        model.load_state_dict(payload["state_dict"], strict=True)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{path}: cannot use the not-a-digit detector ({str(exc).splitlines()[0][:200]})") from None
    return NotADigitDetector(model.eval(), threshold)


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _shipped() -> NotADigitDetector | None:
    try:
        return read_detector(DETECTOR_PATH)
    except ValueError as exc:  # missing or broken: said once, and the answers rest on the threshold alone
        print(f"digitpad: {exc}; 'not a digit' rests on the probability threshold alone", file=sys.stderr)
        return None


def detector_for(trained: TrainedModel | None) -> NotADigitDetector | None:
    """The shipped detector, for models that read digits; None for other classes or when it cannot load."""
    if trained is None or tuple(trained.meta.class_names) != DATASETS["mnist"].class_names:
        return None
    with _LOCK:  # the GUI thread and a loading thread may ask at once: read the file once
        return _shipped()


# --- training and measuring (scripts/train_not_a_digit.py, bench/not_a_digit.py) --------------

def scribble_fields(generators, count: int, first_seed: int = 0) -> np.ndarray:
    """count drawings from each named generator, through the canvas's preprocessing: K×28×28."""
    from digitpad.core.not_digits import SCRIBBLES
    from digitpad.core.preprocess import stroke_pixels

    fields = [stroke_pixels(SCRIBBLES[g](seed)) for g in generators for seed in range(first_seed, first_seed + count)]
    return np.stack([f for f in fields if f is not None])


def fonts_of(train: bool) -> list[Path]:
    """The installed fonts to learn from (train=True) or to measure on: whole families on one side."""
    from digitpad.core.not_digits import available_fonts, font_family

    chosen = []
    for font in available_fonts():
        family = font_family(font)
        if family in SYMBOL_FAMILIES:
            continue
        if (family in TRAIN_FAMILIES) == train:
            chosen.append(font)
    return chosen


def glyph_fields(fonts, chars: str, angles=ANGLES, weights=(0,)) -> tuple[np.ndarray, list[str], list[str]]:
    from digitpad.core.not_digits import glyph_pixels

    rows = list(glyph_pixels(fonts, chars, angles, weights))
    return (np.stack([p for *_, p in rows]) if rows else np.zeros((0, 28, 28), np.float32),
            [f for f, _, _ in rows], [c for _, c, _ in rows])


@dataclass(frozen=True)
class DetectorData:
    digits: torch.Tensor  # uint8 N×28×28
    not_digits: torch.Tensor
    val_digits: torch.Tensor  # MNIST training images the detector does not train on: for the threshold


def as_uint8(fields: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.round(np.clip(fields, 0, 1) * 255).astype(np.uint8))


def training_data(scribbles_per_generator: int = 3000, validation: int = 5000) -> DetectorData:
    """Digits (MNIST train less its last `validation`, the UCI training digits, font digits) against scribbles
    of TRAIN_GENERATORS and letters (no look-alikes) of TRAIN_FAMILIES."""
    from digitpad.core.datasets import load_dataset, uci_split
    from digitpad.core.not_digits import LETTERS

    mnist = load_dataset("mnist").train
    fonts = fonts_of(train=True)
    font_digits, _, _ = glyph_fields(fonts, "0123456789", weights=WEIGHTS)
    letters, _, _ = glyph_fields(fonts, LETTERS, weights=WEIGHTS)
    scribbles = scribble_fields(TRAIN_GENERATORS, scribbles_per_generator, first_seed=100_000)
    digits = torch.cat([mnist.images[:-validation]] + [uci_split("train").images] * UCI_REPEAT + [as_uint8(font_digits)])
    return DetectorData(digits, torch.cat([as_uint8(scribbles), as_uint8(letters)]), mnist.images[-validation:])


def train_detector(data: DetectorData, epochs: int = 3, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
                   flag_share: float = 0.002) -> Iterator[tuple[int, int, float] | NotADigitDetector]:
    """Yield (epoch, batch, loss) as it trains, then the detector. Every batch is half digits, half not
    (the not-digits repeat, each time moved and thickened differently by `augment_batch`). The threshold
    flags `flag_share` of the validation digits, which it never trained on."""
    from digitpad.core.augment import augment_batch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = detector_net()
    half = batch_size // 2
    batches = math.ceil(len(data.digits) / half)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * batches)
    for epoch in range(1, epochs + 1):
        pos = torch.randperm(len(data.digits), generator=gen)
        for b in range(batches):
            p = data.digits[pos[b * half:(b + 1) * half]]
            n = data.not_digits[torch.randint(0, len(data.not_digits), (half,), generator=gen)]
            x = augment_batch(torch.cat([p, n]).unsqueeze(1).float() / 255, gen)
            y = torch.cat([torch.zeros(len(p)), torch.ones(half)])
            loss = F.binary_cross_entropy_with_logits(model(x)[:, 0], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if b % 50 == 0:
                yield epoch, b, float(loss)
    model.eval()
    detector = NotADigitDetector(model, 0.5)
    val = detector.scores(data.val_digits.float().numpy() / 255)
    detector.threshold = float(min(max(np.quantile(val, 1 - flag_share), 0.5), 0.999))
    yield detector
