"""The loss surface where the course has two weights: linear regression's w₁, w₂, and the path of each step on it.

The warm-up's data (y = Xw + b + noise, w = [2, −3.4], b = 4.2), with the bias held at its true value
so that the loss depends on (w₁, w₂) alone and can be drawn as a contour map. `stretch` scales the
second feature: its curvature grows with stretch², the valley narrows, and too large a learning rate
zig-zags across it or leaves it altogether. The paths are taken by the Step tab's own optimizers
(`trainer.make_optimizer`) on the course's `linreg` and `squared_loss`; the Lessons tab shows this source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from digitpad.core.scratch import data_iter, linreg, squared_loss, synthetic_data
from digitpad.core.trainer import TrainConfig, make_optimizer

ESCAPED = 1e4  # a weight this far out has left the map for good: the path stops there


@dataclass(frozen=True)
class SurfaceConfig:
    lr: float = 0.05  # SGD crawls along the valley's floor; momentum 0.7 gets there in the same 30 steps
    momentum: float = 0.7
    steps: int = 30
    batch_size: int = 1000  # the whole data set: plain gradient descent; smaller: mini-batch noise
    stretch: float = 3.0  # the second feature's standard deviation: the valley's narrowness
    start: tuple[float, float] = (-3.0, 2.0)
    num_examples: int = 1000
    seed: int = 0
    true_w: tuple[float, float] = (2.0, -3.4)
    true_b: float = 4.2


def two_weight_data(cfg: SurfaceConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The warm-up's synthetic data with its second feature stretched (the same noise, the same plane)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    X, y = synthetic_data(torch.tensor(cfg.true_w), cfg.true_b, cfg.num_examples, generator)
    y += (cfg.stretch - 1) * cfg.true_w[1] * X[:, 1:2]
    X[:, 1] *= cfg.stretch
    return X, y


def loss_grid(X: torch.Tensor, y: torch.Tensor, b: float, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """The mean squared loss (with the ½) at every (w1[j], w2[i]), as a len(w2)×len(w1) array.

    A quadratic in w: ½ (wᵀAw − 2cᵀw + d) with A = XᵀX/N, c = Xᵀ(y − b)/N, d = |y − b|²/N, the same
    number `squared_loss(...).mean()` gives at each point, for the whole grid in one pass.
    """
    Xd, r = X.double().numpy(), (y.double() - b).numpy()[:, 0]
    A, c, d = Xd.T @ Xd / len(r), Xd.T @ r / len(r), float(r @ r) / len(r)
    W1, W2 = np.meshgrid(w1, w2)
    return 0.5 * (A[0, 0] * W1 ** 2 + 2 * A[0, 1] * W1 * W2 + A[1, 1] * W2 ** 2 - 2 * (c[0] * W1 + c[1] * W2) + d)


def curvatures(X: torch.Tensor) -> np.ndarray:
    """The loss's curvature along its two principal directions, smallest first: the eigenvalues of its
    Hessian XᵀX/N. Gradient descent is stable for lr < 2/λ_max; with momentum μ, for lr < 2(1 + μ)/λ_max."""
    Xd = X.double().numpy()
    return np.linalg.eigvalsh(Xd.T @ Xd / len(Xd))


@dataclass(frozen=True)
class Path:
    """Where each step took the weights, the loss on all the data there, and whether they ran off."""

    optimizer: str
    points: np.ndarray  # (steps + 1) × 2, the start first
    losses: np.ndarray
    escaped: bool


def _batches(cfg: SurfaceConfig, X: torch.Tensor, y: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches epoch after epoch, in the course's seeded order."""
    generator = torch.Generator().manual_seed(cfg.seed)
    while True:
        yield from data_iter(cfg.batch_size, X, y, generator)


def descend(cfg: SurfaceConfig, optimizer: str, X: torch.Tensor, y: torch.Tensor) -> Path:
    """`cfg.steps` steps of "sgd" or "momentum" from `cfg.start`, b held at its true value."""
    w = torch.tensor(cfg.start, dtype=torch.float32).reshape(2, 1).requires_grad_(True)
    trainer = make_optimizer(TrainConfig(optimizer=optimizer, lr=cfg.lr, momentum=cfg.momentum), [w])
    points, escaped = [list(cfg.start)], False
    for _, (X_b, y_b) in zip(range(cfg.steps), _batches(cfg, X, y)):
        loss = squared_loss(linreg(X_b, w, cfg.true_b), y_b).mean()
        trainer.zero_grad()
        loss.backward()
        trainer.step()
        points.append(w.detach().flatten().tolist())
        if not bool(torch.isfinite(w).all()) or float(w.detach().abs().max()) > ESCAPED:
            escaped = True
            break
    path = np.array(points)
    with torch.no_grad():
        losses = [float(squared_loss(linreg(X, torch.tensor(p, dtype=torch.float32).reshape(2, 1), cfg.true_b),
                                     y).mean()) for p in path]
    return Path(optimizer, path, np.array(losses), escaped)
