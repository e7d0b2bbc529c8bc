"""The one training engine: a generator of events that the CLI and the GUI both iterate.

The data set lives on the training device as one uint8 tensor; each epoch shuffles indices
and slices batches out of it, turning each batch into floats as it goes. Between batches the run checks its `RunControl`, so Stop and
Pause act within one batch; progress is reported at a fixed number of points per epoch, whatever the speed.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Generator, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.augment import augment_batch
from digitpad.core.checkpoints import ModelMeta, TrainedModel
from digitpad.core.datasets import DataError, Split, drawn_split, load_dataset, uci_split
from digitpad.core.devices import (CpuShare, DeviceError, autocast_dtype, describe, describe_precision,
                                   resolve_device)
from digitpad.core.evaluation import build_report, predict_all
from digitpad.core.events import EpochEnd, Event, Failed, FailureKind, Finished, Progress, RunControl, Started
from digitpad.core.models import build_model, linear_weight_templates, model_spec, parameter_count
from digitpad.core.settings import PRESETS, SETTING
from digitpad.core.preprocess import normalize_, unit_float
from digitpad.core.scratch import accuracy, scratch_step

_SEED_LOCK = threading.Lock()  # held while a run seeds torch's global generator and initialises its model


@dataclass
class TrainConfig:
    """Everything that defines a run. `for_model` fills in the course defaults of a model."""

    # The defaults are the settings table's (`settings.SETTINGS`), said once there.
    dataset: str = SETTING["dataset"].default
    model: str = SETTING["model"].default
    epochs: int = SETTING["epochs"].default
    batch_size: int = SETTING["batch_size"].default
    lr: float = SETTING["lr"].default
    optimizer: str = SETTING["optimizer"].default
    momentum: float = SETTING["momentum"].default
    schedule: str = SETTING["schedule"].default
    augment: bool = SETTING["augment"].default
    with_uci: bool = SETTING["with_uci"].default  # add the UCI training digits (optdigits.tra) to MNIST's
    with_drawn: bool = SETTING["with_drawn"].default  # add drawings of shapes MNIST's writers rarely made
    label_smoothing: float = SETTING["label_smoothing"].default
    weight_decay: float = SETTING["weight_decay"].default  # L2 penalty, added to the gradient by the optimizer
    adversarial: str = SETTING["adversarial"].default  # "fgsm"/"pgd": each batch also trained on its adversarial copy
    adv_eps: float = SETTING["adv_eps"].default  # their L∞ budget in pixel units [0, 1]
    precision: str = SETTING["precision"].default  # "bfloat16": the training forward pass autocast, where native
    seed: int = SETTING["seed"].default
    device: str = SETTING["device"].default
    train_limit: int | None = SETTING["train_limit"].default  # use only the first N training images (quick demos)
    test_limit: int | None = SETTING["test_limit"].default
    data_dir: str | None = None
    idx_dir: str | None = None
    reports_per_epoch: int = 20  # loss points per epoch (fewer when an epoch has fewer batches)

    @classmethod
    def for_model(cls, model: str, **overrides) -> "TrainConfig":
        dataset = overrides.get("dataset", cls.dataset)
        return cls(**{"model": model, **model_spec(model).defaults.for_dataset(dataset), **overrides})

    @classmethod
    def with_preset(cls, preset: str, **given) -> "TrainConfig":
        """The preset's model with its course defaults, then the preset, then what the user gave (which wins)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values = PRESETS[preset].values
        if given.get("model") not in (None, values["model"]):
            raise ValueError(f"--preset {preset} trains the {values['model']}; leave out --model")
        chosen = {k: v for k, v in {**values, **given}.items() if k != "model"}
        return cls.for_model(values["model"], **chosen)

    def validate(self) -> None:
        """Raise ValueError naming the first setting outside what `settings.SETTINGS` accepts."""
        for setting in SETTING.values():
            setting.check(getattr(self, setting.name))
        model_spec(self.model)
        if model_spec(self.model).from_scratch and (self.optimizer, self.schedule, self.label_smoothing,
                                                    self.weight_decay) != ("sgd", "constant", 0.0, 0.0):
            raise ValueError(f"{self.model} trains with the course's own sgd: choose the SGD optimizer, "
                             "a constant learning rate, no label smoothing and no weight decay")
        if model_spec(self.model).from_scratch and self.adversarial != "none":
            raise ValueError(f"{self.model} trains with the course's own sgd, which has no adversarial training: "
                             "choose softmax for the nn.Linear version")
        if self.with_uci and self.dataset != "mnist":
            raise ValueError("the UCI training digits can only be added to MNIST")
        if self.with_drawn and self.dataset != "mnist":
            raise ValueError("the drawn digit shapes can only be added to MNIST")


# A loss this many times its starting value at DIVERGED_CHECKS checks in a row, not falling back, is a
# run that has exploded, even while it is still finite: such runs ended "successfully" with 11 %
# accuracy and a model certain of wrong answers. The starting value is the first loss checked, kept
# between chance level for ten classes (ln 10) and 4× that: on an accelerator the first check comes
# after many batches, when an exploding run may already be far gone.
CHANCE_LOSS = math.log(10)
DIVERGENCE_FACTOR = 10.0
DIVERGED_CHECKS = 3
EXPLODED_FACTOR = 1000.0  # this far above the start once is enough


@dataclass
class DivergenceWatch:
    """Tells a diverging run apart from a noisy one, from the losses and logits the trainer checks."""

    start: float | None = None
    high_run: list[float] = field(default_factory=list)  # consecutive losses above the limit

    def check(self, loss: float, logits_finite: bool) -> str | None:
        """None while training is sound; otherwise what went wrong, for the failure message."""
        if not logits_finite:
            return "The model's outputs (logits) overflowed to infinity or NaN"
        if not math.isfinite(loss):
            return f"The loss became {loss}"
        if self.start is None:
            self.start = min(max(loss, CHANCE_LOSS), 4 * CHANCE_LOSS)
            return None
        if loss > EXPLODED_FACTOR * self.start:
            return f"The loss exploded to {loss:.3g} (it started at {self.start:.3g})"
        if loss <= DIVERGENCE_FACTOR * self.start:
            self.high_run.clear()
            return None
        self.high_run.append(loss)
        if len(self.high_run) >= DIVERGED_CHECKS and self.high_run[-1] >= self.high_run[0]:
            return f"The loss rose to {loss:.3g}, over {DIVERGENCE_FACTOR:g}× its start ({self.start:.3g}), and kept rising"
        return None


def _oom_error_types() -> tuple[type[BaseException], ...]:
    return tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def _out_of_memory(exc: RuntimeError) -> bool:
    """A RuntimeError that is the allocator's "no more memory" (the CPU's says it in other words)."""
    text = str(exc).lower()  # CUDA: "out of memory"; the CPU allocator: "can't allocate memory" (Windows: "not enough")
    return any(words in text for words in ("out of memory", "can't allocate memory", "not enough memory"))


def failures_as_events(events: Iterator[Event], batch_size: int) -> Iterator[Event]:
    """A long job's events, with the failures a user can meet ended as one `Failed` event the CLI and app show.

    No data set, no such device, out of memory: the job stops there and says why. Any other exception is a
    bug and propagates (the app's worker reports it as an unexpected error).
    """
    try:
        yield from events
    except DataError as exc:
        yield Failed(str(exc), FailureKind.DATA)
    except DeviceError as exc:
        yield Failed(str(exc), FailureKind.DEVICE)
    except _oom_error_types():
        yield Failed(f"Out of memory on the device with batch size {batch_size}. "
                     "Try a smaller batch size (or the CPU).", FailureKind.OOM)
    except MemoryError:  # Python's or numpy's own allocation (a data set, a batch gathered on the CPU)
        yield Failed(f"Out of memory with batch size {batch_size}. Try a smaller batch size or fewer images.",
                     FailureKind.OOM)
    except RuntimeError as exc:
        if not _out_of_memory(exc):
            raise
        yield Failed(f"Out of memory with batch size {batch_size}: {exc}. Try a smaller batch size.", FailureKind.OOM)


def smoothed_loss_floor(smoothing: float, classes: int = 10) -> float:
    """The lowest cross-entropy a perfect model can reach with label smoothing: the entropy of the smoothed target
    (1 − ε + ε/K on the true class, ε/K on each other). 0.50 for ε = 0.1 over 10 classes: a run that ends at
    loss ~0.6 and 99 % accuracy is close to perfect, not half wrong."""
    if smoothing <= 0:
        return 0.0
    true, other = 1 - smoothing + smoothing / classes, smoothing / classes
    return float(-true * math.log(true) - (classes - 1) * other * math.log(other))


def preload_training_modules() -> None:
    """Import what the first optimizer step would import lazily (torch._dynamo, ~1 s of Python).

    The app calls this on a background thread once its window is up: otherwise that import runs
    inside the training worker at the first batch, holding the GIL in long stretches and making the
    window stutter just as the user clicks Start.
    """
    import torch._dynamo  # noqa: F401


# Weight decay is the classic L2 penalty (λ·w added to each gradient), the same for all three.
OPTIMIZER_BUILDERS: dict[str, Callable[[TrainConfig, object], torch.optim.Optimizer]] = {
    "sgd": lambda cfg, params: torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
    "momentum": lambda cfg, params: torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                                                    weight_decay=cfg.weight_decay),
    "adam": lambda cfg, params: adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
}


def adam(params, **options) -> torch.optim.Adam:
    """Adam with its fused kernel where this torch has one for the parameters' device (the CPU's since torch 2.4):
    one pass over the weights instead of a dozen, ~0.3 ms saved per step of the CNN, a few % of a fast epoch."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **options)
    except (RuntimeError, TypeError):  # an older torch, or a device without the fused kernel
        return torch.optim.Adam(params, **options)

# Each schedule: (config, optimizer, total steps) → a scheduler stepped per batch, or None.
SCHEDULE_BUILDERS: dict[str, Callable[[TrainConfig, torch.optim.Optimizer, int], object]] = {
    "constant": lambda cfg, opt, steps: None,
    "onecycle": lambda cfg, opt, steps: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps),
}


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    return OPTIMIZER_BUILDERS[cfg.optimizer](cfg, params)


def seeded_model(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """`build()` with torch's global generator seeded: the same seed, the same initial weights.

    Held under a lock: two runs at once (the Lessons tab's, the playground's) must not draw from
    each other's seed.
    """
    with _SEED_LOCK:
        torch.manual_seed(seed)
        return build()


def initial_model(name: str, seed: int, device: torch.device) -> nn.Module:
    """The model a run with this seed starts from: the same weights for `digitpad train`, the app and the stepper."""
    model = seeded_model(seed, lambda: build_model(name))
    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)
    return model.to(device)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer | None, xb: torch.Tensor, yb: torch.Tensor,
               label_smoothing: float = 0.0, scheduler=None, *, lr: float = 0.0,
               autocast: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One mini-batch step on a normalized batch: forward, cross-entropy on the logits, backward, update (and the
    schedule's step). Returns the batch's mean loss and its logits (float32).

    `autocast`: the forward pass in that dtype where it helps (bfloat16: convolutions and matrix products), the
    loss on float32 logits, the weights and their update float32 (`devices.autocast_dtype` chooses it).

    Without an optimizer the model is the from-scratch one, stepped at `lr` by the course's own softmax,
    cross_entropy and sgd (`scratch_step`). The trainer, fine-tuning, the Step tab and the 2-D playground all
    train through this one function.
    """
    if optimizer is None:
        return scratch_step(model, xb, yb, lr)
    if autocast is None:
        logits = model(xb)
    else:
        with torch.autocast(xb.device.type, dtype=autocast):
            logits = model(xb)
        logits = logits.float()
    loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss, logits


def split_on_device(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as uint8 N×1×28×28 and labels on the device, once per run; batches become float as sliced."""
    return split.images.to(device).unsqueeze(1), split.labels.to(device)


class Trainer:
    """Iterate `run()` to train; every yielded event is a safe point to stop iterating."""

    def __init__(self, config: TrainConfig, control: RunControl | None = None) -> None:
        self.config = config
        self.control = control or RunControl()

    def run(self) -> Iterator[Event]:
        # Only the set-up's ValueErrors are the user's; one raised while training is a bug and propagates.
        try:
            self.config.validate()
            device = resolve_device(self.config.device)
        except DeviceError as exc:
            yield Failed(str(exc), FailureKind.DEVICE)
            return
        except ValueError as exc:
            yield Failed(str(exc), FailureKind.CONFIG)
            return
        yield from failures_as_events(self._run(device), self.config.batch_size)

    def _run(self, device: torch.device) -> Iterator[Event]:
        cfg, control = self.config, self.control
        self.test_seconds: float | None = None  # one test pass, once measured: part of the ETA
        data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, idx_dir=cfg.idx_dir)
        if control.stopped:
            return
        self.info = data.info
        self.train, self.test = data.train.head(cfg.train_limit), data.test.head(cfg.test_limit)
        self.train = with_extra_digits(self.train, cfg)
        self.x_train, self.y_train = split_on_device(self.train, device)
        self.x_test, self.y_test = split_on_device(self.test, device)
        self.model = initial_model(cfg.model, cfg.seed, device)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.device = device
        # Training threads on the cores other programs leave free, re-chosen between batches.
        self.cpu_share = CpuShare() if device.type == "cpu" else None
        self.from_scratch = model_spec(cfg.model).from_scratch
        self.optimizer = None if self.from_scratch else make_optimizer(cfg, self.model.parameters())
        self.batches = math.ceil(len(self.train) / cfg.batch_size)
        self.scheduler = SCHEDULE_BUILDERS[cfg.schedule](cfg, self.optimizer, cfg.epochs * self.batches)
        self.divergence = DivergenceWatch()
        self.autocast = autocast_dtype(cfg.precision, device)
        yield Started(describe(device) + describe_precision(cfg.precision, self.autocast), data.source, len(self.train), len(self.test), self.batches,
                      parameter_count(self.model))

        test_acc: float | None = None
        for epoch in range(1, cfg.epochs + 1):
            start = time.perf_counter()
            result = yield from self._train_epoch(epoch, test_acc)
            if result is None:
                return
            train_loss, train_acc, train_seconds, paused = result
            test_start = time.perf_counter()
            preds = predict_all(self.model, self.x_test, self.info.mean, self.info.std,
                                should_stop=lambda: control.stopped)
            if preds is None:
                yield Finished(self._snapshot(test_acc, epoch), True, epoch)
                return
            report = build_report(self.y_test, *preds, images=self.test.images)
            self.test_seconds = time.perf_counter() - test_start
            test_acc = report.accuracy
            snap = self._snapshot(test_acc, epoch)
            yield EpochEnd(epoch, cfg.epochs, train_loss, train_acc, test_acc,
                           time.perf_counter() - start - paused, train_seconds,
                           report, snap, _templates(snap.model))
        yield Finished(self._snapshot(test_acc, cfg.epochs), False, cfg.epochs)

    def _train_epoch(self, epoch: int, test_acc: float | None) -> Generator[Event, None, tuple | None]:
        """One pass over the shuffled training set.

        Returns (loss, accuracy, training seconds, paused seconds), or None when Stop or a
        diverging loss ended the run (the epoch has yielded the event that says so).
        """
        cfg, control, n = self.config, self.control, len(self.train)
        self.model.train()
        epoch_start = time.perf_counter()
        paused = 0.0
        perm = torch.randperm(n, generator=self.gen).to(self.device)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        points = min(cfg.reports_per_epoch, self.batches)
        window_loss, window_seen, seen = torch.zeros((), device=self.device), 0, 0
        window_batches: list[torch.Tensor] = []  # each batch's mean loss since the last report
        for b in range(self.batches):
            if control.paused:
                paused += control.wait_while_paused()
            if control.stopped:
                done = epoch - 1 + b / self.batches
                yield Finished(self._snapshot(test_acc, done), True, done)
                return None
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            # index_select, not x[idx]: advanced indexing gathered a uint8 batch 5× slower on the CPU
            loss, logits, yb = self._step(unit_float(self.x_train.index_select(0, idx)),
                                          self.y_train.index_select(0, idx))
            batch_loss = loss.detach() * yb.shape[0]
            loss_sum += batch_loss
            window_loss += batch_loss
            window_batches.append(loss.detach())
            window_seen += yb.shape[0]
            correct += accuracy(logits, yb)
            seen += yb.shape[0]
            if self.cpu_share is not None:
                self.cpu_share.adjust()
            # A fixed number of evenly spaced reports per epoch: the loss chart looks the same at any speed.
            report = (b + 1) * points // self.batches > b * points // self.batches
            # On the CPU .item() costs nothing, so divergence is caught at the very batch; on an
            # accelerator the check waits for the next report to avoid a sync per batch.
            if self.device.type == "cpu" or report:
                problem = self.divergence.check(loss.item(), bool(torch.isfinite(logits.detach()).all()))
                if problem is not None:
                    # The batches since the last report, one point each: the chart shows the blow-up.
                    rate = seen / max(time.perf_counter() - epoch_start - paused, 1e-9)
                    first = b + 1 - len(window_batches)
                    for k, batch_mean in enumerate(window_batches):
                        yield Progress(epoch, cfg.epochs, first + k + 1, self.batches, batch_mean.item(),
                                       correct.item() / seen, rate, math.inf)
                    yield Failed(f"{problem} at epoch {epoch}, batch {b + 1}: training diverged. "
                                 f"Try a lower learning rate than {cfg.lr:g}.", FailureKind.DIVERGED)
                    return None
            if report:
                rate = seen / max(time.perf_counter() - epoch_start - paused, 1e-9)
                yield Progress(epoch, cfg.epochs, b + 1, self.batches, window_loss.item() / window_seen,
                               correct.item() / seen, rate, self._eta(epoch, seen, rate))
                window_loss.zero_()
                window_seen = 0
                window_batches.clear()
        return loss_sum.item() / n, correct.item() / n, time.perf_counter() - epoch_start - paused, paused

    def _eta(self, epoch: int, seen: int, rate: float) -> float:
        """Seconds left: the training still to do at the current speed, and a test pass per epoch left.

        Until the first test pass is timed, it is guessed at a third of a training pass per image
        (forward only, no backward or update).
        """
        n, epochs_left = len(self.train), self.config.epochs - epoch
        test_pass = self.test_seconds if self.test_seconds is not None else len(self.test) / (3 * rate)
        return (epochs_left * n + n - seen) / rate + (epochs_left + 1) * test_pass

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One mini-batch step: (augment), (adversarial copy), normalize, then the one `train_step`."""
        cfg = self.config
        if cfg.augment:
            xb = augment_batch(xb, self.gen)
        adversarial = self._adversarial(xb, yb) if cfg.adversarial != "none" else None
        xb, targets = normalize_(xb, self.info.mean, self.info.std), yb
        if adversarial is not None:  # Goodfellow et al.'s half-clean, half-adversarial loss
            xb = torch.cat([xb, normalize_(adversarial, self.info.mean, self.info.std)])
            targets = torch.cat([yb, yb])
        loss, logits = train_step(self.model, self.optimizer, xb, targets, cfg.label_smoothing, self.scheduler,
                                  lr=cfg.lr, autocast=self.autocast)
        return loss, logits[:len(yb)], yb  # the clean half: train accuracy means what it means without the option

    def _adversarial(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The batch's adversarial copy (pixels in [0, 1]) against the model as it is now (Goodfellow et al.'s
        half-clean, half-adversarial loss; PGD with ADV_PGD_STEPS steps as Madry et al.), made in eval mode:
        dropout off, and batch norm's running statistics left to the real batches."""
        from digitpad.core.attacks import PixelModel, attack

        self.model.eval()
        try:
            adv = attack(PixelModel(self.model, self.info.mean, self.info.std), xb, yb, self.config.adversarial,
                         self.config.adv_eps, steps=ADV_PGD_STEPS)
        finally:
            self.model.train()
        return adv.detach()

    def _snapshot(self, test_acc: float | None, epochs_done: float) -> TrainedModel:
        """A CPU copy of the model with its metadata: what the canvas and checkpoints get."""
        cfg, info = self.config, self.info
        cpu_model = copy.deepcopy(self.model).to("cpu", memory_format=torch.contiguous_format).eval()
        meta = ModelMeta(architecture=cfg.model, dataset=info.name, class_names=info.class_names,
                         mean=info.mean, std=info.std, test_accuracy=test_acc, epochs=epochs_done,
                         config={k: v for k, v in asdict(cfg).items() if k not in ("data_dir", "idx_dir")})
        return TrainedModel(cpu_model, meta, name=f"{info.name}-{cfg.model} (trained)")


ADV_PGD_STEPS = 7  # adversarial training's PGD: 7 steps of 2.5·ε/7 (Madry et al. used 40 on MNIST; 7 costs 4× less)

# The digits a run adds to MNIST's are repeated 3×: UCI alone is then ~16 % of the batches, with the drawn shapes
# ~20 %: enough to learn them, and MNIST still leads.
EXTRA_REPEAT = 3


def with_extra_digits(train: Split, cfg: TrainConfig) -> Split:
    """MNIST's training split with the digits the run adds, repeated EXTRA_REPEAT times so they are not drowned
    out: the UCI writers' (`with_uci`), then the drawn shapes (`with_drawn`)."""
    extra = [load() for wanted, load in ((cfg.with_uci, lambda: uci_split("train")), (cfg.with_drawn, drawn_split))
             if wanted]
    if not extra:
        return train
    return Split(torch.cat([train.images] + [part.images for part in extra] * EXTRA_REPEAT),
                 torch.cat([train.labels] + [part.labels for part in extra] * EXTRA_REPEAT))


def _templates(model: nn.Module) -> np.ndarray | None:
    weights = linear_weight_templates(model)
    return None if weights is None else weights.numpy()
