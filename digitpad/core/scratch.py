"""The course from scratch: its own softmax, cross-entropy, SGD and linear regression, as it writes them.

These functions are short on purpose: the Lessons tab shows their source (inspect.getsource) next to
the curve they produce, so what the student reads is exactly what ran. The engine trains the
`softmax-scratch` model with them (`scratch_step`), and `digitpad linreg` runs the warm-up lesson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Union

import numpy as np
import torch
from torch import nn

from digitpad.core.names import LINREG_BOUNDS

# --- lesson 1: linear regression --------------------------------------------------------------


def synthetic_data(w: torch.Tensor, b: float, num_examples: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """y = Xw + b + noise, noise ~ N(0, 0.01²)."""
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator)
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape, generator=generator)
    return X, y.reshape((-1, 1))


def data_iter(batch_size: int, features: torch.Tensor, labels: torch.Tensor,
              generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches in a random order, a new one each epoch."""
    indices = torch.randperm(len(features), generator=generator)
    for i in range(0, len(features), batch_size):
        batch_indices = indices[i:i + batch_size]
        yield features[batch_indices], labels[batch_indices]


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear regression model."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared loss, per example (the ½ makes its gradient ŷ − y)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr: float, batch_size: int) -> None:
    """Minibatch stochastic gradient descent: the gradients are of the batch's summed loss."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


@dataclass(frozen=True)
class LinRegConfig:
    """Lesson 1 as the course sets it up; every number is editable in the app and the CLI."""

    epochs: int = 3
    lr: float = 0.03
    batch_size: int = 10
    num_examples: int = 1000
    seed: int = 0
    true_w: tuple[float, ...] = (2.0, -3.4)
    true_b: float = 4.2

    def validate(self) -> None:
        """ValueError naming the first setting outside its range (`names.LINREG_BOUNDS`)."""
        for key, bounds in LINREG_BOUNDS.items():
            try:
                bounds.check(getattr(self, key))
            except ValueError as exc:
                raise ValueError(f"{key.replace('_', ' ')} {exc}") from None


@dataclass(frozen=True)
class LinRegStep:
    """After one minibatch: where the parameters are now."""

    epoch: int  # 1-based
    batch: int  # batches done in this epoch
    batches: int
    batch_loss: float  # mean squared loss (with the ½) of this minibatch
    w: list[float]
    b: float

    @property
    def fraction(self) -> float:
        return (self.epoch - 1) + self.batch / self.batches


@dataclass(frozen=True)
class LinRegEpoch:
    """After one epoch: the loss on all the data, as the course prints it."""

    epoch: int
    loss: float
    w: list[float]
    b: float


LinRegEvent = Union[LinRegStep, LinRegEpoch]


def linreg_divergence(event: LinRegEvent, lr: float) -> str | None:
    """None while the numbers are finite; otherwise what went wrong: the loss or the parameters overflowed."""
    loss = event.loss if isinstance(event, LinRegEpoch) else event.batch_loss
    if all(math.isfinite(v) for v in (loss, *event.w, event.b)):
        return None
    where = f"epoch {event.epoch}" + (f", batch {event.batch}" if isinstance(event, LinRegStep) else "")
    return f"The loss became {loss:g} at {where}: training diverged. Try a lower learning rate than {lr:g}."


def linreg_data(cfg: LinRegConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """The lesson's data set and the generator that then draws the initial weights and the batches.

    Both implementations call this with the same seed, so they see the same data, start from the
    same weights and take the same minibatches: every number they print can be compared.
    """
    cfg.validate()
    generator = torch.Generator().manual_seed(cfg.seed)
    features, labels = synthetic_data(torch.tensor(cfg.true_w), cfg.true_b, cfg.num_examples, generator)
    return features, labels, generator


def train_linreg_scratch(cfg: LinRegConfig) -> Iterator[LinRegEvent]:
    """The course's loop, with its own linreg, squared_loss and sgd."""
    features, labels, generator = linreg_data(cfg)
    w = torch.normal(0, 0.01, size=(len(cfg.true_w), 1), generator=generator, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    net, loss = linreg, squared_loss
    batches = -(-cfg.num_examples // cfg.batch_size)
    for epoch in range(1, cfg.epochs + 1):
        for i, (X, y) in enumerate(data_iter(cfg.batch_size, features, labels, generator), start=1):
            l = loss(net(X, w, b), y)
            l.sum().backward()
            sgd([w, b], cfg.lr, cfg.batch_size)
            yield LinRegStep(epoch, i, batches, float(l.detach().mean()), w.detach().flatten().tolist(),
                             float(b.detach()))
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
        yield LinRegEpoch(epoch, float(train_l.mean()), w.detach().flatten().tolist(), float(b.detach()))


def train_linreg_concise(cfg: LinRegConfig) -> Iterator[LinRegEvent]:
    """The same loop with nn.Linear, nn.MSELoss and optim.SGD.

    MSELoss has no ½: halving it gives the gradient — and so every number — of squared_loss.
    """
    features, labels, generator = linreg_data(cfg)
    net = nn.Sequential(nn.Linear(len(cfg.true_w), 1))
    net[0].weight.data.normal_(0, 0.01, generator=generator)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=cfg.lr)
    batches = -(-cfg.num_examples // cfg.batch_size)
    for epoch in range(1, cfg.epochs + 1):
        for i, (X, y) in enumerate(data_iter(cfg.batch_size, features, labels, generator), start=1):
            l = loss(net(X), y) / 2
            trainer.zero_grad()
            l.backward()
            trainer.step()
            yield LinRegStep(epoch, i, batches, float(l.detach()), net[0].weight.detach().flatten().tolist(),
                             float(net[0].bias.detach()))
        with torch.no_grad():
            train_l = loss(net(features), labels) / 2
        yield LinRegEpoch(epoch, float(train_l), net[0].weight.detach().flatten().tolist(),
                         float(net[0].bias.detach()))


# --- lesson 2: softmax regression from scratch ------------------------------------------------


def softmax(X: torch.Tensor) -> torch.Tensor:
    """exp of each logit over the row's sum: a distribution per row (naive: overflows, see lesson 4)."""
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """−log of the probability each row gives its true label."""
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The number of correct predictions (a tensor: counting never waits for the device)."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    cmp = y_hat.type(y.dtype) == y
    return cmp.type(y.dtype).sum()


class SoftmaxRegressionScratch(nn.Module):
    """The course's W (784×10) ~ N(0, 0.01²) and b = 0, as plain parameters; no nn.Linear.

    forward returns the logits XW + b; softmax is applied by the loss (`scratch_step`) and, for
    predictions, by whoever reads them — so the engine and the canvas treat it like any model.
    """

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.normal(0, 0.01, size=(num_inputs, num_outputs)))
        self.b = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.matmul(X.reshape((-1, self.W.shape[0])), self.W) + self.b


def scratch_step(net: SoftmaxRegressionScratch, X: torch.Tensor, y: torch.Tensor,
                 lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One minibatch of the course's train_epoch: its softmax, cross_entropy and sgd.

    Returns the mean loss and the logits. Same maths as F.cross_entropy + optim.SGD, but a logit
    above ~88 makes exp overflow to inf, and the loss becomes nan (the engine stops and says so).
    """
    y_hat = net(X)
    l = cross_entropy(softmax(y_hat), y)
    l.sum().backward()
    sgd(net.parameters(), lr, X.shape[0])
    return l.detach().mean(), y_hat.detach()


# --- lesson 3: cross-entropy by hand ----------------------------------------------------------


def np_softmax(z: np.ndarray) -> np.ndarray:
    """The lectures' NumPy softmax of one sample's logits."""
    return np.exp(z) / np.exp(z).sum()


def np_cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    """−Σ y log ŷ for one sample: y one-hot, ŷ the softmax of the raw outputs z."""
    y_pred = np_softmax(z)
    return float(-np.sum(y * np.log(y_pred)))


def batch_cross_entropy(raw_outputs: list[list[float]], labels: list[int]) -> float:
    """PyTorch's CrossEntropyLoss on raw outputs (no softmax first) and int64 class indices."""
    criterion = nn.CrossEntropyLoss()
    Y = torch.tensor(labels, dtype=torch.long)
    Y_pred = torch.tensor(raw_outputs, dtype=torch.float32)
    return float(criterion(Y_pred, Y))


@dataclass(frozen=True)
class CrossEntropyExample:
    """Lesson 3's numbers: one sample by hand, a batch with CrossEntropyLoss, and the three pitfalls."""

    sample_probs: list[float]
    sample_loss: float
    batch_losses: list[float]  # one per set of raw outputs
    softmax_first_losses: list[float]  # the mistake: softmax before CrossEntropyLoss (a second softmax)
    label_dtype: str
    sigmoid_sums: list[float]  # per row of the first batch: need not be 1
    softmax_sums: list[float]  # always 1


def cross_entropy_example(z: list[float], label: int, batches: list[list[list[float]]],
                          labels: list[int]) -> CrossEntropyExample:
    """Everything lesson 3 shows, from the numbers the student typed (ValueError when they do not fit)."""
    if not 0 <= label < len(z):
        raise ValueError(f"the label must be a class index from 0 to {len(z) - 1}")
    for raw in batches:
        if len(raw) != len(labels) or any(len(row) != len(raw[0]) for row in raw):
            raise ValueError("each batch needs one row of raw outputs per label, all rows the same length")
        if any(not 0 <= y < len(raw[0]) for y in labels):
            raise ValueError(f"labels must be class indices from 0 to {len(raw[0]) - 1}")
    onehot = np.eye(len(z))[label]
    first = torch.tensor(batches[0], dtype=torch.float32)
    return CrossEntropyExample(
        sample_probs=np_softmax(np.array(z, dtype=np.float64)).tolist(),
        sample_loss=np_cross_entropy(np.array(z, dtype=np.float64), onehot),
        batch_losses=[batch_cross_entropy(raw, labels) for raw in batches],
        softmax_first_losses=[batch_cross_entropy(torch.softmax(torch.tensor(raw), 1).tolist(), labels)
                              for raw in batches],
        label_dtype=str(torch.tensor(labels).dtype),
        sigmoid_sums=torch.sigmoid(first).sum(1).tolist(),
        softmax_sums=torch.softmax(first, 1).sum(1).tolist(),
    )


# --- lesson 4: why softmax overflows ----------------------------------------------------------


def stable_softmax(X: torch.Tensor) -> torch.Tensor:
    """The same distribution, computed safely: subtracting the row's max changes nothing but the range."""
    X = X - X.max(1, keepdim=True).values  # the one-line fix: now every exp is at most 1
    X_exp = torch.exp(X)
    return X_exp / X_exp.sum(1, keepdim=True)


def log_softmax(X: torch.Tensor) -> torch.Tensor:
    """log ŷ by log-sum-exp, never log(0): what CrossEntropyLoss computes inside."""
    X = X - X.max(1, keepdim=True).values
    return X - torch.log(torch.exp(X).sum(1, keepdim=True))


# Logits a trained MNIST model might give a 2 it takes for a 7: the loss should be large, and grow
# with the scale. The stable form says how large; the naive one says nan once exp(9·scale) overflows.
OVERFLOW_LOGITS = (-1.2, 0.4, 3.1, 0.9, -2.5, 1.7, -0.3, 9.0, -1.8, 2.2)
OVERFLOW_LABEL = 2


@dataclass(frozen=True)
class OverflowTable:
    """Lesson 4's table in float32: per class, the naive and the stable computation side by side."""

    scale: float
    logits: list[float]
    naive_exp: list[float]
    naive_softmax: list[float]
    stable_softmax: list[float]
    naive_loss: float  # −log of the naive probability of the label: inf or nan once it breaks
    stable_loss: float  # −log_softmax: always finite
    label: int = OVERFLOW_LABEL

    @property
    def naive_finite(self) -> bool:
        return bool(np.isfinite(self.naive_softmax).all() and np.isfinite(self.naive_loss))


def overflow_table(scale: float, logits: tuple[float, ...] = OVERFLOW_LOGITS,
                   label: int = OVERFLOW_LABEL) -> OverflowTable:
    """The logits times `scale`, through naive softmax and the stable forms, in float32 as training runs."""
    X = torch.tensor([logits], dtype=torch.float32) * scale
    naive = softmax(X)
    stable = stable_softmax(X)
    naive_loss = float(cross_entropy(naive, torch.tensor([label])))
    stable_loss = float(-log_softmax(X)[0, label]) + 0.0  # + 0.0: never print −0
    return OverflowTable(scale, X[0].tolist(), torch.exp(X)[0].tolist(), naive[0].tolist(), stable[0].tolist(),
                         naive_loss, stable_loss, label)
