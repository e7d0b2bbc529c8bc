"""Watch it learn: one mini-batch step at a time, every step undoable, optimizers racing on the same batches.

A `StepSession` holds one model per lane (one lane: the Step mode; two to four: a race), every lane
starting from the same weights and stepping in lockstep on the same seeded batches: the batches
`digitpad train` takes with that seed. Each step is the trainer's own `train_step`; around it the
session measures what the course talks about: the batch's loss and each sample's p(true class)
before and after the step, the mean p − y per class (what the gradient on the logits is made of),
per-layer norms of W, g and ΔW, and the test loss and accuracy on a fixed subset of test images.

Every step can be undone bit-exactly: parameters, buffers (batch norm's running statistics) and the
optimizer's state. A full copy of that state is kept for every step when `keep` of them fit the
memory budget (softmax regression, the CNN with SGD); otherwise for every K-th step, K chosen to fit
the budget, and a step in between is reached by replaying the steps from the copy before it. A replayed step
is the step taken: one thread on the CPU and dropout seeded per step make it so, and a checksum of
the weights recorded at each step proves it at every replay (a mismatch is reported, never hidden).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.datasets import DataError, DatasetInfo, load_dataset
from digitpad.core.events import Failed, FailureKind, RunControl
from digitpad.core.models import model_spec, parameter_count
from digitpad.core.preprocess import normalize_, unit_float
from digitpad.core.scratch import SoftmaxRegressionScratch
from digitpad.core.trainer import TrainConfig, initial_model, make_optimizer, split_on_device, train_step

KEEP = 200  # steps that can be gone back to
MEMORY_BUDGET = 64 * 2**20  # bytes of kept states: past it, every K-th step's state is kept and the rest replayed
TEST_SUBSET = 1000  # test images measured after every step
MAX_LANES = 4
FIRST_LAYER_UNITS = 16  # an MLP's first layer has 512 units: its first 16 are shown
RULE_OF_THUMB = 1e-3  # the classic update-to-weight ratio per step
STEP_THREADS = 1  # one thread: the same sums in the same order, so a replayed step is bit-identical
VIEW_EVERY_S = 0.1  # a long series sends its full view (weights, gradients) at most this often
_STATE_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2}  # optimizer tensors per parameter


class StepError(RuntimeError):
    """A step that cannot be kept: its loss or weights became inf or NaN."""


class ReplayMismatch(StepError):
    """A replayed step came out different from the first time (it never should: a bug, or a changed machine)."""


@dataclass(frozen=True)
class LaneConfig:
    """One optimizer in the session: the Step mode has one lane, a race two to four."""

    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9

    @property
    def label(self) -> str:
        if self.optimizer == "momentum":
            return f"momentum {self.momentum:g} · lr {self.lr:g}"
        return f"{'Adam' if self.optimizer == 'adam' else 'SGD'} · lr {self.lr:g}"


# The race the issue describes: plain SGD, SGD with momentum, Adam, and SGD with too large a step.
RACE_LANES = (LaneConfig("sgd", 0.1), LaneConfig("momentum", 0.1, 0.9), LaneConfig("adam", 1e-3),
              LaneConfig("sgd", 1.0))


@dataclass(frozen=True)
class StepConfig:
    """What a session steps: the data and model every lane shares, and each lane's optimizer."""

    dataset: str = "mnist"
    model: str = "softmax"
    batch_size: int = 256
    seed: int = 0
    lanes: tuple[LaneConfig, ...] = (LaneConfig(),)
    test_subset: int = TEST_SUBSET
    train_limit: int | None = None
    keep: int = KEEP
    memory_budget: int = MEMORY_BUDGET
    data_dir: str | None = None
    idx_dir: str | None = None

    def train_config(self, lane: LaneConfig) -> TrainConfig:
        """The lane as the trainer would run it: validated, and handed to `make_optimizer`, by the trainer's rules."""
        return TrainConfig(dataset=self.dataset, model=self.model, batch_size=self.batch_size, lr=lane.lr,
                           optimizer=lane.optimizer, momentum=lane.momentum, seed=self.seed, device="cpu",
                           train_limit=self.train_limit, test_limit=self.test_subset, data_dir=self.data_dir,
                           idx_dir=self.idx_dir)

    def validate(self) -> None:
        """ValueError naming the first setting out of range, in the words `digitpad train` uses."""
        if not 1 <= len(self.lanes) <= MAX_LANES:
            raise ValueError(f"a session has 1 to {MAX_LANES} lanes, got {len(self.lanes)}")
        for lane in self.lanes:
            self.train_config(lane).validate()
        if self.keep < 1:
            raise ValueError(f"keep must be at least 1 step, got {self.keep}")


# --- the state a step changes, copied and put back -------------------------------------------


@dataclass(frozen=True)
class State:
    """Parameters, buffers and per-parameter optimizer state, cloned: what going back restores."""

    params: tuple[torch.Tensor, ...]
    buffers: tuple[torch.Tensor, ...]
    optimizer: tuple[dict, ...]  # one dict per parameter; empty before the optimizer's first step

    @property
    def nbytes(self) -> int:
        tensors = [*self.params, *self.buffers,
                   *(v for st in self.optimizer for v in st.values() if isinstance(v, torch.Tensor))]
        return sum(t.numel() * t.element_size() for t in tensors)


def capture(model: nn.Module, optimizer: torch.optim.Optimizer | None) -> State:
    params = tuple(model.parameters())
    slots = optimizer.state if optimizer is not None else {}
    return State(tuple(p.detach().clone() for p in params), tuple(b.clone() for b in model.buffers()),
                 tuple(_clone_slots(slots.get(p, {})) for p in params))


def restore(model: nn.Module, optimizer: torch.optim.Optimizer | None, state: State) -> None:
    """Put the state back into the same parameter objects (the optimizer keeps pointing at them)."""
    with torch.no_grad():
        for p, saved in zip(model.parameters(), state.params):
            p.copy_(saved)
            p.grad = None
        for b, saved in zip(model.buffers(), state.buffers):
            b.copy_(saved)
    if optimizer is not None:
        optimizer.state.clear()
        for p, slots in zip(model.parameters(), state.optimizer):
            if slots:
                optimizer.state[p] = _clone_slots(slots)  # a copy: the next step updates it in place


def _clone_slots(slots: dict) -> dict:
    return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in slots.items()}


def weights_checksum(state: State) -> str:
    """Per tensor, the sum of its elements' bit patterns as integers: equal for bit-identical weights, and
    changed by any replay that differs (unless its differences cancel exactly). A hash of the bytes cost
    more than the MLP's step."""
    sums = [int(t.detach().reshape(-1).view(torch.int32).sum(dtype=torch.int64)) if t.dtype == torch.float32
            else int(t.detach().sum()) for t in (*state.params, *state.buffers)]
    return " ".join(map(str, sums))


# --- what a step measured ----------------------------------------------------------------------


@dataclass(frozen=True)
class LayerNorms:
    """One parameter tensor at one step: ‖W‖ before it, ‖g‖, ‖ΔW‖ = ‖W_after − W_before‖."""

    name: str
    shape: tuple[int, ...]
    weight: float
    grad: float
    update: float

    @property
    def ratio(self) -> float | None:
        """‖ΔW‖ / ‖W‖ (about 1e-3 is the classic healthy step); None while W is all zeros (a fresh bias)."""
        return self.update / self.weight if self.weight > 0 else None


@dataclass(frozen=True)
class StepRecord:
    """One lane's step, in numbers: small enough to keep for every step."""

    step: int
    lr: float
    indices: np.ndarray  # the batch: indices into the training images
    labels: np.ndarray
    loss_before: float  # mean cross-entropy on the batch, before and after the update (eval mode)
    loss_after: float
    p_before: np.ndarray  # each sample's probability of its true class
    p_after: np.ndarray
    predicted_before: np.ndarray
    predicted_after: np.ndarray
    mean_p_minus_y: np.ndarray  # per class, over the batch: the gradient on the logits, times the batch size
    layers: tuple[LayerNorms, ...]
    grad_norm: float  # over every parameter
    update_ratio: float  # ‖ΔW‖ / ‖W‖ over every parameter
    test_loss: float
    test_accuracy: float
    checksum: str  # of the weights after the step: a replay must reproduce it

    def as_json(self) -> dict:
        """The columns of `digitpad step --json`."""
        return {"step": self.step, "loss_before": self.loss_before, "loss_after": self.loss_after,
                "test_loss": self.test_loss, "test_accuracy": self.test_accuracy, "lr": self.lr,
                "grad_norm": self.grad_norm, "update_ratio": self.update_ratio}


@dataclass(frozen=True)
class FirstLayer:
    """The first layer's weights as pictures (units × H × W): softmax's ten templates, an MLP's first
    units, a CNN's first filters; before and after the step, the gradient, and the optimizer's tensors."""

    unit_title: str  # "class", "unit", "filter"
    before: np.ndarray
    after: np.ndarray
    grad: np.ndarray | None  # None at step 0
    slots_before: dict[str, np.ndarray]  # momentum_buffer, exp_avg, exp_avg_sq; empty before the first step
    slots_after: dict[str, np.ndarray]

    @property
    def update(self) -> np.ndarray:
        """ΔW as shown: exactly W_after − W_before."""
        return self.after - self.before


@dataclass(frozen=True)
class UpdateRule:
    """The update of one weight written out with this step's numbers."""

    where: str
    lines: tuple[str, ...]
    computed: float  # the new weight by the rule, in float64
    actual: float  # the new weight in the model


@dataclass(frozen=True)
class LaneView:
    """Everything the Step tab draws for one lane at the current step (numpy only: no torch on the GUI thread)."""

    lane: int
    label: str
    step: int
    optimizer: str  # "sgd", "momentum", "adam", or "scratch" (the course's own sgd)
    lr: float
    momentum: float
    betas: tuple[float, float]
    eps: float
    adam_step: int  # Adam's t after this step
    record: StepRecord | None  # None at step 0
    first: FirstLayer
    is_templates: bool  # the first layer is softmax regression's ten class templates

    def rule(self, unit: int, row: int, col: int, unit_name: str | None = None) -> UpdateRule | None:
        """The update of first-layer weight (unit, row, col) at this step; None at step 0."""
        f = self.first
        if self.record is None or f.grad is None:
            return None
        w, g, actual = float(f.before[unit, row, col]), float(f.grad[unit, row, col]), float(f.after[unit, row, col])
        slot = lambda slots, name: float(slots[name][unit, row, col]) if name in slots else None  # noqa: E731
        where = f"{f.unit_title} {unit_name if unit_name is not None else unit}, pixel (row {row}, col {col})"
        lr = self.lr
        if self.optimizer in ("sgd", "scratch"):
            new = w - lr * g
            what = "∂(Σ loss)/∂w ÷ batch size, the course's sgd" if self.optimizer == "scratch" else "∂loss/∂w"
            lines = (f"g = {what} = {_n(g)}",
                     f"w ← w − lr·g = {_w(w)} − {_n(lr)} × {_n(g)} = {_w(new)}")
        elif self.optimizer == "momentum":
            v0 = slot(f.slots_before, "momentum_buffer")
            v = g if v0 is None else self.momentum * v0 + g
            new = w - lr * v
            first = " (first step: v starts as g)" if v0 is None else ""
            lines = (f"g = ∂loss/∂w = {_n(g)}",
                     f"v ← μ·v + g = {_n(self.momentum)} × {_n(v0 or 0.0)} + {_n(g)} = {_n(v)}{first}",
                     f"w ← w − lr·v = {_w(w)} − {_n(lr)} × {_n(v)} = {_w(new)}")
        else:
            (b1, b2), t = self.betas, self.adam_step
            m0, s0 = slot(f.slots_before, "exp_avg") or 0.0, slot(f.slots_before, "exp_avg_sq") or 0.0
            m = b1 * m0 + (1 - b1) * g
            s = b2 * s0 + (1 - b2) * g * g
            m_hat, s_hat = m / (1 - b1 ** t), s / (1 - b2 ** t)
            new = w - lr * m_hat / (math.sqrt(s_hat) + self.eps)
            lines = (f"g = ∂loss/∂w = {_n(g)}",
                     f"m ← β₁·m + (1−β₁)·g = {_n(b1)} × {_n(m0)} + {_n(1 - b1)} × {_n(g)} = {_n(m)}",
                     f"v ← β₂·v + (1−β₂)·g² = {_n(b2)} × {_n(s0)} + {_n(1 - b2)} × {_n(g * g)} = {_n(s)}",
                     f"m̂ = m / (1−β₁^t) = {_n(m)} / {_n(1 - b1 ** t)} = {_n(m_hat)}   (t = {t})",
                     f"v̂ = v / (1−β₂^t) = {_n(s)} / {_n(1 - b2 ** t)} = {_n(s_hat)}",
                     f"w ← w − lr·m̂ / (√v̂ + ε) = {_w(w)} − {_n(lr)} × {_n(m_hat)} / ({_n(math.sqrt(s_hat))} + "
                     f"{_n(self.eps)}) = {_w(new)}")
        return UpdateRule(where, lines + (f"the model's w after the step: {_w(actual)} (Δw = {_n(actual - w)})",),
                          new, actual)


def _n(x: float) -> str:
    """A number in an update rule: 4 significant digits, e-notation when tiny or huge."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.4g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.3e}"


def _w(x: float) -> str:
    """A weight: 7 significant digits, so that a change of one part in a million still shows."""
    return f"{x:.7g}"


# --- the events a session's jobs yield ---------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A session is ready at step 0: the GUI keeps it and hands it to every later job."""

    session: "StepSession"
    views: tuple[LaneView, ...]
    kept: tuple[int, int]
    memory: int


@dataclass(frozen=True)
class Stepped:
    """Where the session is now. `records` has one tuple per step newly taken (one record per lane);
    `views` (the full picture) comes with the last step of a job and at most every VIEW_EVERY_S."""

    step: int
    records: tuple[tuple[StepRecord, ...], ...]
    views: tuple[LaneView, ...] | None
    kept: tuple[int, int]  # the steps that can be gone back to (step 0 always can)
    memory: int  # bytes of kept states


StepEvent = Union[Opened, Stepped, Failed]


# --- data, batches, the session ----------------------------------------------------------------


@dataclass(frozen=True)
class StepData:
    info: DatasetInfo
    source: str
    x_train: torch.Tensor  # uint8 N×1×28×28: batches become float as they are taken
    y_train: torch.Tensor
    x_test: torch.Tensor  # the fixed test subset, normalized once
    y_test: torch.Tensor


def load_step_data(cfg: StepConfig, mean: float | None = None, std: float | None = None) -> StepData:
    """The training images and the test subset (DataError when the data set is missing)."""
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, idx_dir=cfg.idx_dir)
    cpu = torch.device("cpu")
    x_train, y_train = split_on_device(data.train.head(cfg.train_limit), cpu)
    x_test, y_test = split_on_device(data.test.head(cfg.test_subset), cpu)
    info = replace(data.info, mean=mean if mean is not None else data.info.mean,
                   std=std if std is not None else data.info.std)
    return StepData(info, data.source, x_train, y_train, normalize_(unit_float(x_test), info.mean, info.std), y_test)


class BatchOrder:
    """Step k's batch: the trainer's order (a fresh permutation each epoch from one generator seeded with the
    seed), so step k here is batch k of `digitpad train` with the same seed. Only each epoch's generator
    state is kept, so any step's batch can be drawn again."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.per_epoch = math.ceil(n / batch_size)
        self._gen = torch.Generator().manual_seed(seed)
        self._epoch_states = [self._gen.get_state()]
        self._cached: tuple[int, torch.Tensor] | None = None

    def indices(self, step: int) -> torch.Tensor:
        epoch, b = divmod(step - 1, self.per_epoch)
        if self._cached is None or self._cached[0] != epoch:
            while len(self._epoch_states) <= epoch:
                self._gen.set_state(self._epoch_states[-1])
                torch.randperm(self.n, generator=self._gen)
                self._epoch_states.append(self._gen.get_state())
            self._gen.set_state(self._epoch_states[epoch])
            self._cached = (epoch, torch.randperm(self.n, generator=self._gen))
        return self._cached[1][b * self.batch_size:(b + 1) * self.batch_size]


def _mode_dependent(model: nn.Module) -> bool:
    """Batch norm or dropout: the model answers differently in training and in eval mode."""
    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd))
               for m in model.modules())


def _first_layer(model: nn.Module) -> tuple[int, Callable[[torch.Tensor], torch.Tensor], str]:
    """Which parameter is the first layer's weight, how to see it as pictures, and what one picture is."""
    if isinstance(model, SoftmaxRegressionScratch):
        return 0, lambda t: t.T.reshape(-1, 28, 28), "class"
    for index, (name, p) in enumerate(model.named_parameters()):
        if p.dim() == 4:
            return index, lambda t: t[:FIRST_LAYER_UNITS, 0], "filter"
        if p.dim() == 2 and p.shape[1] == 28 * 28:
            return index, lambda t: t[:FIRST_LAYER_UNITS].reshape(-1, 28, 28), "class" if p.shape[0] == 10 else "unit"
    raise ValueError("the model has no first layer on 28×28 images to show")


def _layer_names(model: nn.Module) -> list[str]:
    """'Linear 1 · weight'-style names: the module's type and index, then which of its tensors."""
    names = []
    modules = dict(model.named_modules())
    for name, _ in model.named_parameters():
        owner, _, kind = name.rpartition(".")
        module = modules.get(owner, model)
        names.append(f"{type(module).__name__} {owner} · {kind}" if owner else kind)
    return names


class Lane:
    """One model and its optimizer; the session keeps every lane on the same step."""

    def __init__(self, index: int, config: LaneConfig, train_config: TrainConfig, model: nn.Module) -> None:
        self.index, self.config, self.train_config, self.model = index, config, train_config, model
        self.from_scratch = model_spec(train_config.model).from_scratch
        self.optimizer = None if self.from_scratch else make_optimizer(train_config, model.parameters())
        self.mode_dependent = _mode_dependent(model)
        self.first_index, self.to_maps, self.unit_title = _first_layer(model)
        self.layer_names = _layer_names(model)
        self.states: dict[int, State] = {}
        self.current = capture(model, self.optimizer)
        self._sum_grads: dict[int, torch.Tensor] = {}
        if self.from_scratch:  # the course's sgd zeroes the gradients it used: keep a copy as they arrive
            for i, p in enumerate(model.parameters()):
                p.register_hook(lambda g, i=i: self._sum_grads.__setitem__(i, g.detach().clone()))

    def state_bytes(self) -> int:
        """A kept state's size once the optimizer has its tensors (estimated before its first step)."""
        params = sum(p.numel() * p.element_size() for p in self.model.parameters())
        buffers = sum(b.numel() * b.element_size() for b in self.model.buffers())
        return params * (1 + _STATE_SLOTS[self.config.optimizer]) + buffers

    @torch.no_grad()
    def eval_logits(self, x: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        try:
            return self.model(x)
        finally:
            self.model.train()

    def take(self, step_seed: int, x: torch.Tensor, y: torch.Tensor) -> "Taken":
        """The trainer's step on this batch, and what the record and the view need of it.

        Dropout draws from torch's global generator, seeded per step here so that a replay draws the same masks.
        """
        before = self.current
        answer = self.eval_logits(x) if self.mode_dependent else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed)
            loss, logits = train_step(self.model, self.optimizer, x, y, lr=self.config.lr)
        if self.from_scratch:
            grads = tuple(self._sum_grads[i] / x.shape[0] for i in range(len(self._sum_grads)))
        else:
            grads = tuple(p.grad for p in self.model.parameters())
        logits = logits.detach()
        after = capture(self.model, self.optimizer)
        # A weight that is inf or NaN makes its tensor's sum so (as does a sum past float32's range: broken too).
        finite = math.isfinite(float(loss.detach()) + sum(float(p.sum()) for p in after.params))
        return Taken(self, before, logits if answer is None else answer, logits, grads, after, finite)

    def diverged(self, step: int) -> StepError:
        return StepError(f"{self.config.label}: step {step} made the loss or the weights infinite or NaN "
                         f"(the learning rate {self.config.lr:g} is too large). The step was undone; the steps "
                         "before it are kept.")

    def measure(self, step: int, x: torch.Tensor, y: torch.Tensor, indices: torch.Tensor, taken: "Taken",
                test: tuple[torch.Tensor, torch.Tensor]) -> StepRecord:
        """The record of the step just taken, from the state before it and after it."""
        before_logits, train_logits, grads, after = taken.answer_before, taken.train_logits, taken.grads, taken.after
        after_logits = self.eval_logits(x)
        rows = torch.arange(y.shape[0])
        p_before = torch.softmax(before_logits, 1)
        p_after = torch.softmax(after_logits, 1)
        p_train = torch.softmax(train_logits, 1)
        onehot = F.one_hot(y, p_train.shape[1]).to(p_train.dtype)
        layers = tuple(LayerNorms(name, tuple(w.shape), float(w.norm()), float(g.norm()), float((a - w).norm()))
                       for name, w, a, g in zip(self.layer_names, taken.before.params, after.params, grads))
        test_logits = self.eval_logits(test[0])
        return StepRecord(
            step=step, lr=self.config.lr, indices=indices.numpy().copy(), labels=y.numpy().copy(),
            loss_before=float(F.cross_entropy(before_logits, y)), loss_after=float(F.cross_entropy(after_logits, y)),
            p_before=p_before[rows, y].numpy(), p_after=p_after[rows, y].numpy(),
            predicted_before=before_logits.argmax(1).numpy(), predicted_after=after_logits.argmax(1).numpy(),
            mean_p_minus_y=(p_train - onehot).mean(0).numpy(), layers=layers,
            grad_norm=math.sqrt(sum(lay.grad ** 2 for lay in layers)),
            update_ratio=math.sqrt(sum(lay.update ** 2 for lay in layers)) / math.sqrt(sum(lay.weight ** 2
                                                                                           for lay in layers)),
            test_loss=float(F.cross_entropy(test_logits, test[1])),
            test_accuracy=int((test_logits.argmax(1) == test[1]).sum()) / len(test[1]),
            checksum=weights_checksum(after))

    def view(self, step: int, record: StepRecord | None, before: State, after: State,
             grads: tuple[torch.Tensor, ...] | None) -> LaneView:
        i, maps = self.first_index, self.to_maps
        as_np = lambda t: maps(t.detach()).numpy().copy()  # noqa: E731
        slots = lambda state: {k: as_np(v) for k, v in state.optimizer[i].items()  # noqa: E731
                               if isinstance(v, torch.Tensor) and v.shape == state.params[i].shape}
        first = FirstLayer(self.unit_title, as_np(before.params[i]), as_np(after.params[i]),
                           None if grads is None else as_np(grads[i]), slots(before), slots(after))
        group = self.optimizer.param_groups[0] if self.optimizer is not None else {}
        adam_t = after.optimizer[i].get("step") if self.config.optimizer == "adam" else None
        return LaneView(self.index, self.config.label, step, "scratch" if self.from_scratch else self.config.optimizer,
                        self.config.lr, self.config.momentum, tuple(group.get("betas", (0.9, 0.999))),
                        float(group.get("eps", 1e-8)), int(adam_t) if adam_t is not None else 0, record, first,
                        self.unit_title == "class")


@dataclass(frozen=True)
class Taken:
    """One lane's step just taken, before it is kept or undone."""

    lane: Lane
    before: State
    answer_before: torch.Tensor  # the batch's logits before the step, as the model answers (eval mode)
    train_logits: torch.Tensor  # the logits the loss was taken of (training mode: dropout, batch statistics)
    grads: tuple[torch.Tensor, ...]  # the mean loss's gradient, per parameter
    after: State
    finite: bool

    def view(self, step: int, record: StepRecord) -> LaneView:
        return self.lane.view(step, record, self.before, self.after, self.grads)


def _step_seed(seed: int, step: int) -> int:
    """Dropout's seed for one step: a fixed function of the session's seed and the step number."""
    return (seed * 6364136223846793005 + step * 1442695040888963407) % 2**63


class StepSession:
    """Lanes stepped in lockstep, with the history to go back. Only one job may use it at a time."""

    def __init__(self, cfg: StepConfig, data: StepData, start: TrainedModel | None = None) -> None:
        self.cfg, self.data = cfg, data
        if start is None:
            model = initial_model(cfg.model, cfg.seed, torch.device("cpu"))
        else:
            model = copy.deepcopy(start.model).to("cpu")
            if any(isinstance(m, nn.Conv2d) for m in model.modules()):
                model = model.to(memory_format=torch.channels_last)
        model.train()
        self.parameters = parameter_count(model)
        self.start_title = start.title if start is not None else f"fresh weights (seed {cfg.seed})"
        self.lanes = [Lane(k, lane, cfg.train_config(lane), model if k == 0 else copy.deepcopy(model))
                      for k, lane in enumerate(cfg.lanes)]
        self.order = BatchOrder(len(data.y_train), cfg.batch_size, cfg.seed)
        state_bytes = sum(lane.state_bytes() for lane in self.lanes)
        # Every state when `keep` of them fit the budget; else every K-th, K chosen to fit it.
        self.every = min(cfg.keep, max(1, math.ceil(cfg.keep * state_bytes / cfg.memory_budget)))
        self.step = 0  # where the models are
        self.last = 0  # the latest step taken
        self.records: dict[int, tuple[StepRecord, ...]] = {}
        for lane in self.lanes:
            lane.states[0] = lane.current

    # -- where the session can go, and what it holds --

    @property
    def oldest(self) -> int:
        """The earliest step after 0 that can still be gone back to."""
        return max(1, self.last - self.cfg.keep + 1) if self.last else 0

    @property
    def kept(self) -> tuple[int, int]:
        return self.oldest, self.last

    @property
    def memory(self) -> int:
        """Bytes held by the kept states (the records of each step are a few kB more)."""
        seen: set[int] = set()
        total = 0
        for lane in self.lanes:
            for state in lane.states.values():
                if id(state) not in seen:
                    seen.add(id(state))
                    total += state.nbytes
        return total

    def can_go_to(self, step: int) -> bool:
        return step == 0 or self.oldest <= step <= self.last

    # -- jobs (generators for the app's worker and the CLI) --

    def run(self, steps: int | None, control: RunControl | None = None, rate: Callable[[], float] | None = None,
            views: bool = True) -> Iterator[StepEvent]:
        """Take `steps` steps (None: until stopped), at most `rate()` per second when given (slow motion).

        Yields a `Stepped` per step; the last one (and one every VIEW_EVERY_S) carries the views. A step
        whose weights become inf or NaN is undone and ends the job with a Failed event.
        """
        control = control or RunControl()
        torch.set_num_threads(STEP_THREADS)
        last_view, taken = 0.0, 0
        while (steps is None or taken < steps) and not control.stopped:
            tick = time.perf_counter()
            try:
                records, lane_views = self._advance(measure=True)
            except StepError as exc:
                kind = FailureKind.ERROR if isinstance(exc, ReplayMismatch) else FailureKind.DIVERGED
                yield Failed(str(exc), kind)
                return
            taken += 1
            now = time.perf_counter()
            final = steps is not None and taken == steps
            send_view = views and (final or rate is not None or now - last_view >= VIEW_EVERY_S)
            if send_view:
                last_view = now
            yield Stepped(self.step, (records,), lane_views() if send_view else None, self.kept, self.memory)
            if rate is not None:
                _sleep_until(tick + 1.0 / max(rate(), 1e-3), control)

    def go_to(self, target: int) -> Iterator[StepEvent]:
        """Back, Rewind or a jump along the timeline: restore, replay, and show that step."""
        if not self.can_go_to(target):
            yield Failed(f"step {target} is no longer kept (steps {self.oldest}–{self.last} and 0 are)",
                         FailureKind.CONFIG)
            return
        torch.set_num_threads(STEP_THREADS)
        try:
            if target == 0:
                for lane in self.lanes:
                    lane.current = lane.states[0]
                    restore(lane.model, lane.optimizer, lane.current)
                self.step = 0
                self._prune()
                yield Stepped(0, (), self.views_at_start(), self.kept, self.memory)
                return
            self._reach(target - 1)
            _, lane_views = self._advance(measure=True)
        except StepError as exc:
            yield Failed(str(exc), FailureKind.ERROR)
            return
        yield Stepped(self.step, (), lane_views(), self.kept, self.memory)

    def test_loss_now(self) -> float:
        """The first lane's loss on the test subset with its weights as they are (at step 0: before any step)."""
        torch.set_num_threads(STEP_THREADS)
        return float(F.cross_entropy(self.lanes[0].eval_logits(self.data.x_test), self.data.y_test))

    def views_at_start(self) -> tuple[LaneView, ...]:
        return tuple(lane.view(0, None, lane.current, lane.current, None) for lane in self.lanes)

    # -- inside --

    def _reach(self, step: int) -> None:
        """Put every lane at `step` (≤ last): from the nearest kept state at or before it, or from where the
        models are when that is nearer, then replay."""
        stored = max(s for s in self.lanes[0].states if s <= step)
        if not stored <= self.step <= step:
            for lane in self.lanes:
                lane.current = lane.states[stored]
                restore(lane.model, lane.optimizer, lane.current)
            self.step = stored
        while self.step < step:
            self._advance(measure=False)

    def _advance(self, measure: bool) -> tuple[tuple[StepRecord, ...], Callable[[], tuple[LaneView, ...]]]:
        """Take the next step on every lane. A step taken before is checked against its record's checksum.

        Returns the lanes' records and a function that builds their views (only when they are to be shown).
        """
        k = self.step + 1
        indices = self.order.indices(k)
        x = normalize_(unit_float(self.data.x_train.index_select(0, indices)), self.data.info.mean,
                       self.data.info.std)
        y = self.data.y_train.index_select(0, indices)
        taken = [lane.take(_step_seed(self.cfg.seed, k), x, y) for lane in self.lanes]
        records = None
        if measure and all(t.finite for t in taken):
            records = tuple(t.lane.measure(k, x, y, indices, t, (self.data.x_test, self.data.y_test)) for t in taken)
        failed = [t.lane for t in taken if not t.finite] + [
            t.lane for t, r in zip(taken, records or ())
            if not (math.isfinite(r.loss_after) and math.isfinite(r.test_loss))]
        if failed:
            for t in taken:  # lockstep: every lane goes back with the one that failed
                t.lane.current = t.before
                restore(t.lane.model, t.lane.optimizer, t.before)
            raise failed[0].diverged(k)
        known = self.records.get(k)
        if known is None and records is None:
            raise AssertionError("only steps taken before are replayed without measuring")
        for n, t in enumerate(taken):
            checksum = records[n].checksum if records else weights_checksum(t.after)
            if known is not None and known[n].checksum != checksum:
                raise ReplayMismatch(f"replaying step {k} of {t.lane.config.label} gave different weights than the "
                                "first time; the history from here on cannot be trusted. Start a new session.")
        for t in taken:
            t.lane.current = t.after
            t.lane.states[k] = t.after
        self.step = k
        if known is None:
            self.records[k] = records
            self.last = k
        self._prune()
        kept = self.records[k]
        return kept, lambda: tuple(t.view(k, r) for t, r in zip(taken, kept))

    def _prune(self) -> None:
        """Keep step 0 and every K-th state from the one the oldest kept step is replayed from."""
        oldest, every = self.oldest, self.every
        first_key = (max(oldest - 1, 0) // every) * every
        for lane in self.lanes:
            for s in [s for s in lane.states if s != 0 and (s % every or s < first_key)]:
                del lane.states[s]
        for s in [s for s in self.records if s <= first_key]:  # the rest check the replays to the oldest kept step
            del self.records[s]


def _sleep_until(deadline: float, control: RunControl) -> None:
    """Wait for the next slow-motion tick in short naps, so that Stop is felt at once."""
    while not control.stopped:
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        time.sleep(min(left, 0.02))


def open_session(cfg: StepConfig, start: TrainedModel | None = None) -> Iterator[StepEvent]:
    """Validate, load the data, build the lanes from the same weights: yields `Opened`, or `Failed` saying why not.

    `start`: a model from the library to step on from (its architecture and data set replace the config's).
    """
    if start is not None:
        cfg = replace(cfg, model=start.meta.architecture, dataset=start.meta.dataset)
    try:
        cfg.validate()
    except ValueError as exc:
        yield Failed(str(exc), FailureKind.CONFIG)
        return
    try:
        data = load_step_data(cfg, *((start.meta.mean, start.meta.std) if start is not None else ()))
    except DataError as exc:
        yield Failed(str(exc), FailureKind.DATA)
        return
    session = StepSession(cfg, data, start)
    yield Opened(session, session.views_at_start(), session.kept, session.memory)
