"""'That is not a digit': a small second network that tells digits from everything else, beside the threshold.

Why a trained detector and not a score of the digit model itself (measured in docs/BENCHMARKS.md, "That is not
a digit"): on the shipped CNN, with each signal's threshold set so that 1 % of MNIST test digits are flagged,
the top probability flags 56 % of the held-out zig-zag scribbles and 54 % of letters in held-out fonts, the
energy score (log Σ exp z) 49 % / 57 %, and the Mahalanobis distance of the penultimate features to the
nearest class mean 50 % / 46 %; the detector flags 90 % / 97 % while flagging none of the MNIST test digits
or the drawn ones and 0.7 % of the UCI writers'. A network trained on digits has never been asked what is
*not* one: its features do not keep scribbles apart. The detector is taught exactly that, with generated
scribbles and rendered letters as "not a digit" and MNIST, the UCI training digits and font digits as
"digit"; it is measured on generators and font families it never saw (`HELD_OUT_GENERATORS`, the families
outside `TRAIN_FAMILIES`). It is three networks whose logits are averaged (`MEMBERS`). One detector serves
every digit model (softmax, MLP, CNN, and any the user trains): it reads the same 28×28 field they read;
models of other classes (Fashion-MNIST) are not asked.
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
FORMAT_VERSION = 2  # 2: an ensemble of MEMBERS (1 was one smaller network)
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
    """Two conv blocks and a hidden layer, one logit out (positive: not a digit); ~183k weights. Four times
    the first detector's 46k: it flagged held-out letters 92.5 → 96 % at the same share of digits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(32, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 1),
    )


# The members of the shipped detector: (seed, blurred). Their logits are averaged; one of them also learns
# from blurred drawings, so that no member can tell a digit by its blur alone (the UCI digits are upsampled
# from 8×8). Three members flag more scribbles than one at the same share of digits (docs/BENCHMARKS.md).
MEMBERS: tuple[tuple[int, bool], ...] = ((0, False), (1, False), (0, True))


class MeanLogit(nn.Module):
    """An ensemble: the mean of its members' logits (members shaped as `detector_net`).

    Without autograd the members run as one network: their convolutions side by side as groups and their
    dense layers as one batched product, 0.8 ms instead of 1.2 ms a drawing on one thread (the canvas asks
    on every stroke). The side-by-side weights are made once, on the first such call after loading."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self._side_by_side: list[torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or self.training:
            self._side_by_side = None  # the weights may change: make them again when next asked
            return torch.stack([m(x) for m in self.members]).mean(0)
        if self._side_by_side is None:
            self._side_by_side = self._stack_members()
        w1, b1, w2, b2, w3, b3, w4, b4 = self._side_by_side
        k = len(self.members)
        h = F.relu(F.max_pool2d(F.conv2d(x, w1, b1), 2))
        h = F.relu(F.max_pool2d(F.conv2d(h, w2, b2, groups=k), 2))
        h = h.reshape(x.shape[0], k, -1).transpose(0, 1)  # member × drawing × features
        h = F.relu(torch.baddbmm(b3, h, w3))
        return torch.baddbmm(b4, h, w4).mean(0)

    def _stack_members(self) -> list[torch.Tensor]:
        conv1, conv2, dense, out = ([m[i] for m in self.members] for i in (0, 3, 7, 9))
        return [torch.cat([c.weight for c in conv1]), torch.cat([c.bias for c in conv1]),
                torch.cat([c.weight for c in conv2]), torch.cat([c.bias for c in conv2]),
                torch.stack([d.weight.T for d in dense]), torch.stack([d.bias for d in dense]).unsqueeze(1),
                torch.stack([o.weight.T for o in out]), torch.stack([o.bias for o in out]).unsqueeze(1)]

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._side_by_side = None
        super()._load_from_state_dict(*args, **kwargs)


def ensemble_net() -> MeanLogit:
    return MeanLogit([detector_net() for _ in MEMBERS])


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
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "threshold": detector.threshold, "about": about,
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
        if payload.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {payload.get('format_version')!r}, this DigitPad reads {FORMAT_VERSION}: "
                             "run scripts/train_not_a_digit.py")
        threshold = float(payload["threshold"])
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold {threshold} is not a probability")
        model = ensemble_net()
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
    val_uci: torch.Tensor  # UCI training digits it does not train on: other writers, for the threshold


def training_data(scribbles_per_generator: int = 3000, validation: int = 5000, uci_validation: int = 800) -> DetectorData:
    """Digits (MNIST train less its last `validation`, the UCI training digits less `uci_validation` of them,
    font digits) against scribbles of TRAIN_GENERATORS and letters (no look-alikes) of TRAIN_FAMILIES."""
    from digitpad.core.datasets import load_dataset, uci_split
    from digitpad.core.not_digits import LETTERS
    from digitpad.core.preprocess import uint8_images

    mnist = load_dataset("mnist").train
    uci = uci_split("train").images
    uci = uci[torch.randperm(len(uci), generator=torch.Generator().manual_seed(0))]  # writers mixed in the file
    fonts = fonts_of(train=True)
    font_digits, _, _ = glyph_fields(fonts, "0123456789", weights=WEIGHTS)
    letters, _, _ = glyph_fields(fonts, LETTERS, weights=WEIGHTS)
    scribbles = scribble_fields(TRAIN_GENERATORS, scribbles_per_generator, first_seed=100_000)
    digits = torch.cat([mnist.images[:-validation]] + [uci[:-uci_validation]] * UCI_REPEAT + [uint8_images(font_digits)])
    return DetectorData(digits, torch.cat([uint8_images(scribbles), uint8_images(letters)]), mnist.images[-validation:],
                        uci[-uci_validation:])


def train_member(data: DetectorData, epochs: int = 5, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
                 blurred: bool = False) -> Iterator[tuple[int, int, float] | nn.Module]:
    """Yield (epoch, batch, loss) as one member trains, then the member. Every batch is half digits, half not
    (the not-digits repeat, each time moved and thickened differently by `augment_batch`, and blurred too
    when `blurred`)."""
    from digitpad.core.augment import augment_batch, random_blur

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
            x = random_blur(x, gen) if blurred else x
            y = torch.cat([torch.zeros(len(p)), torch.ones(half)])
            loss = F.binary_cross_entropy_with_logits(model(x)[:, 0], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if b % 50 == 0:
                yield epoch, b, loss.item()
    yield model.eval()


def assemble(members: list[nn.Module], data: DetectorData, mnist_share: float = 0.002,
             uci_share: float = 0.015) -> NotADigitDetector:
    """The members as one detector, its threshold the lowest that flags at most `mnist_share` of the
    validation MNIST digits and `uci_share` of the validation UCI digits, none of which it trained on.
    The UCI digits are the hard side: other writers, upsampled from 8×8 (a 1 becomes a block); at 0.5 % of
    them the threshold rose to 0.74 and let a sixth of the held-out scribbles through."""
    detector = NotADigitDetector(MeanLogit(members).eval(), 0.5)
    mnist = detector.scores(data.val_digits.float().numpy() / 255)
    uci = detector.scores(data.val_uci.float().numpy() / 255)
    detector.threshold = float(min(max(np.quantile(mnist, 1 - mnist_share), np.quantile(uci, 1 - uci_share), 0.01),
                                   0.999))
    return detector
