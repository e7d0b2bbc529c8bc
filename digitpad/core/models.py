"""The three models of the course, by name, each with the hyperparameters the course uses for it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch import nn

from digitpad.core.scratch import SoftmaxRegressionScratch


@dataclass(frozen=True)
class Defaults:
    """A model's course defaults; the GUI fills its controls from these when the model changes."""

    epochs: int
    batch_size: int
    lr: float
    optimizer: str  # "sgd", "momentum" or "adam"
    momentum: float = 0.9
    lr_by_dataset: tuple[tuple[str, float], ...] = ()  # data sets whose course lr is not `lr`

    def lr_for(self, dataset: str) -> float:
        return dict(self.lr_by_dataset).get(dataset, self.lr)

    def for_dataset(self, dataset: str) -> dict[str, object]:
        """The hyperparameters to train this model on `dataset`, as TrainConfig and the Setup form name them."""
        return dict(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr_for(dataset),
                    optimizer=self.optimizer, momentum=self.momentum)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    build: Callable[[], nn.Module]
    defaults: Defaults
    note: str
    from_scratch: bool = False  # trained with the course's own softmax, cross_entropy and sgd


def softmax_regression(num_inputs: int = 784, num_outputs: int = 10) -> nn.Module:
    """Flatten + Linear(784, 10): the course's softmax regression, weights ~ N(0, 0.01²), bias 0.

    The weights are drawn as the from-scratch model draws its W (784×10, then transposed), with no
    default initialisation before: from the same seed both start from the very same function.
    Other sizes: the same model on the 2-D playground's inputs.
    """
    model = nn.Sequential(nn.Flatten(), torch.nn.utils.skip_init(nn.Linear, num_inputs, num_outputs))
    with torch.no_grad():
        model[1].weight.copy_(torch.normal(0, 0.01, size=(num_inputs, num_outputs)).T)
        model[1].bias.zero_()
    return model


def mlp(sizes: tuple[int, ...] = (784, 512, 256, 128, 64, 10),
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Module:
    """The PyTorch lectures' MLP, 784→512→256→128→64→10 with ReLU (other sizes: the notes' deeper one,
    the 2-D playground's small ones, which may also use tanh or sigmoid)."""
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
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


# The course runs lr 0.1 on pixels in [0, 1]; DigitPad standardizes pixels (mean 0, std 1), which
# multiplies the step's effect on the logits by 1/std² ≈ 8-12: the course's figures are reached at a
# smaller lr, chosen per data set (docs/BENCHMARKS.md, "Course defaults", has the seeds and figures).
SOFTMAX_DEFAULTS = Defaults(epochs=10, batch_size=256, lr=0.03, optimizer="sgd", lr_by_dataset=(("mnist", 0.05),))

MODELS: dict[str, ModelSpec] = {
    "softmax": ModelSpec("softmax", "Softmax regression", softmax_regression,
                         SOFTMAX_DEFAULTS,
                         "Flatten + Linear(784, 10)"),
    "softmax-scratch": ModelSpec("softmax-scratch", "Softmax regression (from scratch)", SoftmaxRegressionScratch,
                                 SOFTMAX_DEFAULTS,
                                 "X @ W + b with the course's own softmax, cross_entropy and sgd",
                                 from_scratch=True),
    "mlp": ModelSpec("mlp", "MLP", mlp,
                     Defaults(epochs=10, batch_size=64, lr=0.01, optimizer="momentum", momentum=0.5),
                     "784→512→256→128→64→10, ReLU"),
    "mlp-deep": ModelSpec("mlp-deep", "Deeper MLP", partial(mlp, (784, 520, 320, 240, 120, 10)),
                          Defaults(epochs=10, batch_size=64, lr=0.01, optimizer="momentum", momentum=0.5),
                          "784→520→320→240→120→10, ReLU (the course notes)"),
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


def affine_map(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A layer's z = W x + b as (W: outputs × inputs, b), whichever way it is written; None for any other layer.

    `nn.Linear` holds W as it is; the course's from-scratch model holds its transpose (X @ W + b).
    """
    if isinstance(module, nn.Linear):
        bias = module.bias if module.bias is not None else torch.zeros(module.out_features)
        return module.weight, bias
    if isinstance(module, SoftmaxRegressionScratch):
        return module.W.T, module.b
    return None


def only_affine_map(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The model's one affine map when it is nothing else (softmax regression, either way); None otherwise."""
    maps = [m for m in map(affine_map, model.modules()) if m is not None]
    convolutions = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return maps[0] if len(maps) == 1 and not convolutions else None


def linear_weight_templates(model: nn.Module) -> torch.Tensor | None:
    """The ten 28×28 weight images of softmax regression; None for models that have no such thing."""
    affine = only_affine_map(model)
    if affine is None or tuple(affine[0].shape) != (10, 784):
        return None
    return affine[0].detach().cpu().reshape(10, 28, 28).clone()
