"""The three models of the course, by name, each with the hyperparameters the course uses for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass(frozen=True)
class Defaults:
    """A model's course defaults; the GUI fills its controls from these when the model changes."""

    epochs: int
    batch_size: int
    lr: float
    optimizer: str  # "sgd", "momentum" or "adam"
    momentum: float = 0.9


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    build: Callable[[], nn.Module]
    defaults: Defaults
    note: str


def softmax_regression() -> nn.Module:
    """Flatten + Linear(784, 10): the course's softmax regression, weights ~ N(0, 0.01²), bias 0."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.normal_(model[1].weight, std=0.01)
    nn.init.zeros_(model[1].bias)
    return model


def mlp() -> nn.Module:
    """The PyTorch lectures' MLP, 784→512→256→128→64→10 with ReLU."""
    sizes = [784, 512, 256, 128, 64, 10]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn() -> nn.Module:
    """LeNet-style: two 5×5 conv blocks (with batch norm) and two linear layers.

    Sized for a 2-core CPU: one MNIST epoch takes seconds, yet it reaches >99.2 %.
    Unpadded convolutions as in LeNet-5 keep the feature maps small (24→12→8→4). Pooling before
    the ReLU gives the same function (both are monotonic), with the ReLU and its gradient on a
    quarter of the values; parameter names are unchanged, so checkpoints of either order load.
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


MODELS: dict[str, ModelSpec] = {
    "softmax": ModelSpec("softmax", "Softmax regression", softmax_regression,
                         Defaults(epochs=10, batch_size=256, lr=0.1, optimizer="sgd"),
                         "Flatten + Linear(784, 10)"),
    "mlp": ModelSpec("mlp", "MLP", mlp,
                     Defaults(epochs=10, batch_size=64, lr=0.01, optimizer="momentum", momentum=0.5),
                     "784→512→256→128→64→10, ReLU"),
    "cnn": ModelSpec("cnn", "CNN (LeNet-style)", cnn,
                     Defaults(epochs=5, batch_size=128, lr=1e-3, optimizer="adam"),
                     "2× (conv 5×5, batch norm, max-pool, ReLU) → 128 → 10"),
}


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def build_model(name: str) -> nn.Module:
    return model_spec(name).build()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_count_of(name: str) -> int:
    """Parameter count by model name, for the model picker (builds the model once, on the CPU)."""
    return parameter_count(build_model(name))


def linear_weight_templates(model: nn.Module) -> torch.Tensor | None:
    """The ten 28×28 weight images of softmax regression; None for models that have no such thing."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1 or tuple(linears[0].weight.shape) != (10, 784):
        return None
    return linears[0].weight.detach().cpu().reshape(10, 28, 28).clone()
