"""Confident and wrong: FGSM and PGD on the 28×28 pixels a model sees, the smallest ε that flips an answer,
and robustness curves (accuracy against ε) as a generator of events.

Every attack works on pixels in [0, 1] *before* normalization — the field `preprocess.stroke_pixels` and
`mnist_pixels` make for the canvas and `digitpad predict` — so ε is in the units a student can picture
(ε = 0.1: no pixel moves by more than a tenth of full ink). The model's own mean/std are applied inside
(`PixelModel`). Two promises hold for every result, checked by `project`: ‖δ‖∞ ≤ ε and every pixel in
[0, 1], exactly (computed in float64 on the float32 values the model sees, not up to rounding).

Written in plain torch rather than with captum.robust: FGSM is one input gradient (the same gradient
`explain.saliency_of` takes, used to attack instead of to explain) and PGD is that in a loop with a
projection. What DigitPad needs around them — a per-image ε in one batch (the ε search runs every
candidate ε as one batch), "any other digit" or a chosen target, early stopping per image, stopping
between batches — would be wrapped around captum's classes anyway, for a new dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.devices import CpuShare
from digitpad.core.events import RunControl
from digitpad.core.inference import Prediction, prediction_from_logits
from digitpad.core.preprocess import unit_float

ATTACKS: tuple[str, ...] = ("fgsm", "pgd")
MAX_EPS = 0.5  # the slider's end: at 0.5 every pixel may become mid-grey, no digit is left to read
PGD_STEPS = 20
STEP_FACTOR = 2.5  # PGD's step size, ε · 2.5 / steps (Madry et al.): it can cross the ε-ball and come back
CURVE_EPS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3)
SEARCH_GRID = 26  # the ε search's first pass: 0, 0.02, …, 0.5 in one batch
SEARCH_REFINE = 10  # then ten ε between the last that held and the first that flipped: resolution 0.002


class PixelModel(nn.Module):
    """The model with its normalization in front: pixels in [0, 1] in, logits out, so ε is in pixel units."""

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.model, self.mean, self.std = model, mean, std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model((pixels - self.mean) / self.std)


def pixel_model(trained: TrainedModel) -> PixelModel:
    """The trained model as attacks see it (eval mode: no dropout, batch norm's running statistics)."""
    return PixelModel(trained.model.eval(), trained.meta.mean, trained.meta.std)


def check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or not 0 <= eps <= 1:
        raise ValueError(f"ε must be a number from 0 to 1 (pixel units), got {eps!r}")
    return float(eps)


def _as_eps(eps: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """ε per image, shaped to broadcast over N×1×28×28, in float64 (the bounds are checked in float64)."""
    e = torch.as_tensor(eps, dtype=torch.float64, device=x.device)
    return e.reshape(-1, *[1] * (x.dim() - 1)) if e.dim() else e


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """x_adv clipped to the ε-ball around x and to [0, 1], so that, in float64 arithmetic on these float32
    values, |x_adv − x| ≤ ε and 0 ≤ x_adv ≤ 1 hold exactly (a bound rounded outward is nudged one float in)."""
    e = _as_eps(eps, x)
    x64 = x.double()
    lo = (x64 - e).clamp(min=0.0).to(x.dtype)
    hi = (x64 + e).clamp(max=1.0).to(x.dtype)
    lo = torch.where(x64 - lo.double() > e, torch.nextafter(lo, x), lo)
    hi = torch.where(hi.double() - x64 > e, torch.nextafter(hi, x), hi)
    return torch.maximum(torch.minimum(x_adv, hi), lo)


def _loss(logits: torch.Tensor, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """What the attack climbs, summed over the batch (each image's gradient is its own): away from the
    label, or towards the target (minus the target's cross-entropy)."""
    if target is None:
        return F.cross_entropy(logits, labels, reduction="sum")
    return -F.cross_entropy(logits, target, reduction="sum")


def _fooled(logits: torch.Tensor, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    pred = logits.argmax(dim=1)
    return pred != labels if target is None else pred == target


def _targets(target: int | torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor | None:
    if target is None:
        return None
    return torch.as_tensor(target, device=labels.device).expand_as(labels).long()


def input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor,
                   target: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The attack loss's gradient on the pixels (no parameter gradients are computed) and the logits."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        grad, = torch.autograd.grad(_loss(logits, labels, target), x)
    return grad, logits.detach()


def fgsm(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float | torch.Tensor,
         target: int | torch.Tensor | None = None) -> torch.Tensor:
    """Fast gradient sign (Goodfellow et al. 2015): one step of ε along the sign of the gradient."""
    t = _targets(target, labels)
    grad, _ = input_gradient(model, x, labels, t)
    return project(x + _as_eps(eps, x).to(x.dtype) * grad.sign(), x, eps)


def pgd(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float | torch.Tensor,
        steps: int = PGD_STEPS, step_size: float | torch.Tensor | None = None,
        target: int | torch.Tensor | None = None, early_stop: bool = False,
        between_steps: Callable[[], object] | None = None) -> torch.Tensor:
    """Projected gradient descent (Madry et al. 2018), L∞: `steps` sign steps, each projected back into the
    ε-ball and [0, 1]. Starts at x itself (no random start: the same drawing gives the same attack).

    early_stop: an image stays at the first iterate that fools the model (the search for the smallest ε and
    the robustness curve count an image as fooled as soon as any step fooled it, and save the later steps).
    between_steps: called after each step (the robustness curve re-chooses its thread count there).
    """
    if steps < 1:
        raise ValueError(f"PGD needs at least one step, got {steps}")
    per_image = (x.shape[0], *[1] * (x.dim() - 1))
    e = _as_eps(eps, x).expand(per_image)
    alpha = (e * (STEP_FACTOR / steps) if step_size is None else _as_eps(step_size, x).expand(per_image)).to(x.dtype)
    t = _targets(target, labels)
    adv = x.clone()
    active = torch.arange(x.shape[0], device=x.device)  # the images still being attacked
    for _ in range(steps):
        if active.numel() == 0:
            break
        xa, la, ta = adv[active], labels[active], None if t is None else t[active]
        grad, logits = input_gradient(model, xa, la, ta)
        if early_stop:
            keep = ~_fooled(logits, la, ta)
            active, xa, grad = active[keep], xa[keep], grad[keep]
        adv[active] = project(xa + alpha[active] * grad.sign(), x[active], e[active])
        if between_steps is not None:
            between_steps()
    return adv


def attack(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, kind: str, eps: float | torch.Tensor,
           steps: int = PGD_STEPS, step_size: float | None = None, target: int | torch.Tensor | None = None,
           early_stop: bool = False, between_steps: Callable[[], object] | None = None) -> torch.Tensor:
    """The adversarial pixels by name ("fgsm" or "pgd")."""
    if kind == "fgsm":
        return fgsm(model, x, labels, eps, target)
    if kind == "pgd":
        return pgd(model, x, labels, eps, steps, step_size, target, early_stop, between_steps)
    raise ValueError(f"unknown attack {kind!r}; choose one of {', '.join(ATTACKS)}")


# --- one drawing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class AttackSettings:
    """What the Fool-it panel and `digitpad fool` ask for."""

    kind: str = "fgsm"
    eps: float = 0.1
    target: int | None = None  # None: "any other digit"
    steps: int = PGD_STEPS  # PGD only
    step_size: float | None = None  # PGD only; None: ε · 2.5 / steps

    def __post_init__(self) -> None:
        if self.kind not in ATTACKS:
            raise ValueError(f"unknown attack {self.kind!r}; choose one of {', '.join(ATTACKS)}")
        check_eps(self.eps)
        if self.target is not None and not (isinstance(self.target, int) and 0 <= self.target <= 9):
            raise ValueError(f"the target must be a class from 0 to 9, got {self.target!r}")
        if not (isinstance(self.steps, int) and 1 <= self.steps <= 1000):
            raise ValueError(f"steps must be a whole number from 1 to 1000, got {self.steps!r}")
        if self.step_size is not None and not (math.isfinite(self.step_size) and 0 < self.step_size <= 1):
            raise ValueError(f"the step size must be in (0, 1], got {self.step_size!r}")

    @property
    def shown_step_size(self) -> float:
        return self.step_size if self.step_size is not None else self.eps * STEP_FACTOR / self.steps


@dataclass(frozen=True)
class AttackResult:
    """One attacked drawing: before and after, the perturbation δ = after − before and its size."""

    settings: AttackSettings
    before: Prediction
    after: Prediction
    delta: np.ndarray  # 28×28, in pixel units
    gradient: np.ndarray  # the first step's input gradient of the attack loss (what FGSM takes the sign of)

    @property
    def adversarial(self) -> np.ndarray:
        return self.after.pixels

    @property
    def linf(self) -> float:
        return float(np.abs(self.delta.astype(np.float64)).max())

    @property
    def flipped(self) -> bool:
        """The answer changed (to the target, when one was chosen)."""
        t = self.settings.target
        return self.after.label != self.before.label if t is None else self.after.label == t


def _field(pixels: np.ndarray) -> torch.Tensor:
    field_ = np.asarray(pixels, dtype=np.float32)
    if field_.shape != (28, 28) or not np.isfinite(field_).all():
        raise ValueError(f"expected a finite 28×28 field of pixels, got shape {field_.shape}")
    return torch.from_numpy(np.clip(field_, 0.0, 1.0).copy())[None, None]


@torch.no_grad()
def attack_pixels(trained: TrainedModel, pixels: np.ndarray, settings: AttackSettings) -> AttackResult:
    """Attack one 28×28 field (a drawing as the network sees it) against the model's own answer."""
    x = _field(pixels)
    model = pixel_model(trained)
    logits = model(x)
    before = prediction_from_logits(logits[0], x[0, 0].numpy().copy())
    label = torch.tensor([before.label])
    target = settings.target
    grad, _ = input_gradient(model, x, label, _targets(target, label))
    adv = attack(model, x, label, settings.kind, settings.eps, settings.steps, settings.step_size, target)
    after = prediction_from_logits(model(adv)[0], adv[0, 0].numpy().copy())
    delta = (adv.double() - x.double())[0, 0].numpy()
    return AttackResult(settings, before, after, delta, grad[0, 0].numpy().copy())


def smallest_flipping_eps(trained: TrainedModel, pixels: np.ndarray, kind: str = "fgsm", target: int | None = None,
                          steps: int = PGD_STEPS, max_eps: float = MAX_EPS) -> float | None:
    """The smallest ε (to 0.002) at which the attack changes the answer (to the target, if given); None when
    even max_eps does not. Every candidate ε is one image of a batch: a grid over [0, max_eps], then ten
    values between the last ε that held and the first that flipped."""
    model = pixel_model(trained)
    x = _field(pixels)
    with torch.no_grad():
        label = model(x).argmax(dim=1)
    if target is not None and int(label) == target:
        return 0.0

    def flips(eps_values: np.ndarray) -> np.ndarray:
        n = len(eps_values)
        xs, labels = x.expand(n, -1, -1, -1).contiguous(), label.expand(n)
        eps = torch.tensor(eps_values, dtype=torch.float64)
        adv = attack(model, xs, labels, kind, eps, steps, None, target, early_stop=True)
        with torch.no_grad():
            return _fooled(model(adv), labels, _targets(target, labels)).numpy()

    grid = np.linspace(0.0, max_eps, SEARCH_GRID)
    hit = flips(grid)
    if not hit.any():
        return None
    first = int(hit.argmax())
    if first == 0:
        return 0.0
    fine = np.linspace(grid[first - 1], grid[first], SEARCH_REFINE + 2)[1:-1]
    fine_hit = flips(fine)
    return float(fine[int(fine_hit.argmax())]) if fine_hit.any() else float(grid[first])


# --- robustness curves -----------------------------------------------------------------------

@dataclass(frozen=True)
class CurveProgress:
    done: int  # images attacked so far, over all attacks and ε
    total: int
    attack: str
    eps: float
    model: int = 0  # which of `robustness_curves`' models


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy on the test images under one attack at one ε: one point of the chart."""

    attack: str
    eps: float
    accuracy: float
    model: int = 0


@dataclass(frozen=True)
class RobustnessCurve:
    model: str
    n: int  # test images
    eps: tuple[float, ...]
    accuracy: dict[str, list[float]] = field(default_factory=dict)  # attack → one accuracy per ε (so far)
    steps: int = PGD_STEPS

    def as_json(self) -> dict:
        return {"model": self.model, "n": self.n, "eps": list(self.eps), "pgd_steps": self.steps,
                "accuracy": {k: [round(a, 6) for a in v] for k, v in self.accuracy.items()}}


@dataclass(frozen=True)
class CurveFinished:
    curve: RobustnessCurve
    stopped: bool  # Stop ended it: the curve holds the points computed before
    model: int = 0


CurveEvent = CurveProgress | CurvePoint | CurveFinished


def robustness_curve(trained: TrainedModel, images: torch.Tensor, labels: torch.Tensor,
                     eps_values: Sequence[float] = CURVE_EPS, attacks: Sequence[str] = ATTACKS,
                     steps: int = PGD_STEPS, batch_size: int = 500, control: RunControl | None = None,
                     model_index: int = 0, share_cpu: bool = True) -> Iterator[CurveEvent]:
    """Accuracy under each attack at each ε, on test images (uint8 N×28×28 or N×1×28×28, ink bright).

    A generator: a CurveProgress after each batch (a safe point to stop), a CurvePoint per (attack, ε), and
    CurveFinished last. An image counts as fooled when the attack changes its answer from the true label
    (PGD: at any step). ε = 0 is the clean accuracy, computed once for every attack.

    share_cpu: use the cores other programs leave free, re-chosen between PGD steps (`devices.CpuShare`, as the
    trainer does): beside busy programs a two-thread team ran the CNN's PGD curve 3-4× slower than one thread.
    The app passes False and runs the curves on one thread, leaving the other core to the window.
    """
    control = control or RunControl()
    share = CpuShare() if share_cpu else None
    adjust = share.adjust if share is not None else None
    eps_values = tuple(check_eps(e) for e in eps_values)
    for kind in attacks:
        if kind not in ATTACKS:
            raise ValueError(f"unknown attack {kind!r}; choose one of {', '.join(ATTACKS)}")
    model = pixel_model(trained)
    x_all = images if images.dim() == 4 else images.unsqueeze(1)
    n = int(x_all.shape[0])
    curve = RobustnessCurve(trained.name or trained.meta.architecture, n, eps_values,
                            {k: [] for k in attacks}, steps)
    work = [(k, e) for k in attacks for e in eps_values]
    total, done = n * len(work), 0
    clean: float | None = None
    for kind, eps in work:
        if eps == 0.0 and clean is not None:
            correct = round(clean * n)
            done += n
            yield CurveProgress(done, total, kind, eps, model_index)
        else:
            correct = 0
            for start in range(0, n, batch_size):
                if control.stopped:
                    yield CurveFinished(curve, True, model_index)
                    return
                x = unit_float(x_all[start:start + batch_size])
                y = labels[start:start + batch_size].long()
                adv = x if eps == 0.0 else attack(model, x, y, kind, eps, steps, None, None, early_stop=True,
                                                  between_steps=adjust)
                if adjust is not None:
                    adjust()
                with torch.no_grad():
                    correct += int((model(adv).argmax(dim=1) == y).sum())
                done += len(y)
                yield CurveProgress(done, total, kind, eps, model_index)
            if eps == 0.0:
                clean = correct / max(n, 1)
        accuracy = correct / max(n, 1)
        curve.accuracy[kind].append(accuracy)
        yield CurvePoint(kind, eps, accuracy, model_index)
    yield CurveFinished(curve, False, model_index)


def robustness_curves(models: Sequence[TrainedModel], limit: int = 1000, eps_values: Sequence[float] = CURVE_EPS,
                      attacks: Sequence[str] = ATTACKS, steps: int = PGD_STEPS,
                      control: RunControl | None = None, share_cpu: bool = True) -> Iterator[CurveEvent]:
    """One curve per model, each on the first `limit` test images of its own data set (loaded here, off the
    GUI thread); events carry the model's index. Stop ends it between batches."""
    from digitpad.core.datasets import load_dataset

    control = control or RunControl()
    tests: dict[str, object] = {}
    for index, trained in enumerate(models):
        if control.stopped:
            return
        name = trained.meta.dataset
        if name not in tests:
            tests[name] = load_dataset(name).test.head(limit)
        test = tests[name]
        yield from robustness_curve(trained, test.images, test.labels, eps_values, attacks, steps,
                                    control=control, model_index=index, share_cpu=share_cpu)
