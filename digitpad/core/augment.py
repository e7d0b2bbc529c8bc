"""Batch augmentation on the training device: what makes a model hold up on digits people draw.

People draw tilted, small or large, off-centre, with thick or thin pens. A random small affine
transform and a random stroke-thickness change per image teach the model that, at the cost of a
few vectorized ops per batch (no per-sample Python, no PIL).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, gen: torch.Generator, max_degrees: float = 12.0,
                  scale: tuple[float, float] = (0.85, 1.15), max_shear: float = 0.15,
                  max_shift_px: float = 2.0) -> torch.Tensor:
    """Rotate, scale, shear and shift each image of x (N×1×28×28, background 0) independently."""
    n = x.shape[0]
    r = torch.rand(n, 5, generator=gen).to(x.device)
    angle = (r[:, 0] * 2 - 1) * math.radians(max_degrees)
    s = scale[0] + r[:, 1] * (scale[1] - scale[0])
    shear = (r[:, 2] * 2 - 1) * max_shear
    shift = (r[:, 3:5] * 2 - 1) * (2 * max_shift_px / x.shape[-1])
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, shift[:, 0]], dim=1),
        torch.stack([sin, cos + shear * sin, shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_thickness(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A third of the images get thicker strokes, a third thinner, a third stay as they are."""
    choice = torch.randint(0, 3, (x.shape[0], 1, 1, 1), generator=gen).to(x.device)
    thick = F.max_pool2d(x, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-x, 3, stride=1, padding=1)
    thick = 0.5 * (x + thick)
    thin = 0.5 * (x + thin)
    return torch.where(choice == 1, thick, torch.where(choice == 2, thin, x))


def augment_batch(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return random_thickness(random_affine(x, gen), gen)


def random_blur(x: torch.Tensor, gen: torch.Generator, share: float = 1 / 3) -> torch.Tensor:
    """`share` of the images softened by a 3×3 binomial kernel: a blurry scan, an upsampled 8×8 digit."""
    kernel = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], device=x.device).view(1, 1, 3, 3) / 16
    pick = (torch.rand(x.shape[0], 1, 1, 1, generator=gen) < share).to(x.device)
    return torch.where(pick, F.conv2d(x, kernel, padding=1), x)
