"""Fine-tuning a trained model on the user's own handwriting: the app's Teach button and `digitpad finetune`.

A generator of the trainer's events (Started, Progress, EpochEnd, Finished or Failed), so the
CLI and the GUI's worker drive it exactly as they drive training. Each batch mixes the user's
samples with replayed MNIST images, so the model learns the new style without forgetting MNIST,
and both are augmented as `train --augment` does. Part of the personal set is held out, so the
"before → after" on the user's digits is measured on drawings the model never trained on; MNIST
test accuracy before → after shows what the new style cost, if anything.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Iterator

import torch
from torch import nn

from digitpad.core.augment import augment_batch
from digitpad.core.checkpoints import TrainedModel
from digitpad.core.datasets import dataset_info, load_dataset
from digitpad.core.devices import describe, resolve_device, train_on_all_cores
from digitpad.core.evaluation import build_report, predict_all
from digitpad.core.models import parameter_count
from digitpad.core.personal_set import MIN_PER_DIGIT, PersonalSet, PersonalSetError, require_samples
from digitpad.core.preprocess import normalize_, unit_float
from digitpad.core.events import EpochEnd, Event, Failed, FailureKind, Finished, Progress, RunControl, Started
from digitpad.core.trainer import failures_as_events, split_on_device, train_step

SUFFIX = " + my digits"


@dataclass
class FinetuneConfig:
    # 4 epochs of batches that are 1/24 yours and 23/24 replayed MNIST: 200 mirror-writing samples are learnt
    # (held out 0 % → 100 %) for 0.04 MNIST points, where 3 epochs at 1/4 yours cost 0.33 points
    # (docs/BENCHMARKS.md, "Fine-tuning that forgets nothing").
    epochs: int = 4
    personal_batch: int = 32  # the user's samples in each batch (drawn with replacement)
    replay_batch: int = 736  # replayed MNIST training images in each batch, so that MNIST is kept
    min_steps_per_epoch: int = 25  # a handful of samples still gets enough steps
    max_steps_per_epoch: int | None = None  # a cap: leave-one-writer-out takes a few steps per writer
    lr: float = 1e-3
    # The shipped models were trained with label smoothing 0.1; fine-tuning with the same target keeps
    # their MNIST answers (plain cross-entropy sharpens every logit and costs MNIST accuracy).
    label_smoothing: float = 0.1
    augment: bool = True
    holdout_fraction: float = 0.25
    seed: int = 0
    device: str = "auto"
    mnist_test_limit: int | None = None  # MNIST test images for before → after (None: all 10,000)
    data_dir: str | None = None
    idx_dir: str | None = None
    report_interval_s: float = 0.25

    def validate(self) -> None:
        if self.epochs < 1 or self.personal_batch < 1 or self.replay_batch < 0 or not self.lr > 0:
            raise ValueError("epochs and batch sizes must be at least 1 and the learning rate positive")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError("the step cap must be at least 1")
        if not 0 <= self.holdout_fraction < 1:
            raise ValueError("the held-out fraction must be in [0, 1)")


@dataclass(frozen=True)
class FinetuneResult:
    """The honest before → after: None where there was nothing to measure on (`note` says why)."""

    before: float | None  # accuracy on the held-out personal samples, base model
    after: float | None  # … and fine-tuned model
    mnist_before: float | None
    mnist_after: float | None
    n_samples: int
    n_holdout: int
    seconds: float
    note: str = ""

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "note"}


def finetune_result(model: TrainedModel) -> FinetuneResult | None:
    """The before → after a fine-tuned model carries in its metadata (and so in its checkpoint)."""
    raw = model.meta.config.get("finetune")
    return FinetuneResult(**raw) if isinstance(raw, dict) else None


def check_base(base: TrainedModel) -> None:
    """ValueError unless `base` reads digits: the personal set's folders are digits 0–9, so fine-tuning a
    model of another data set (the Fashion-MNIST CNN's clothes) would train digit labels onto its classes
    and report its own test set as "MNIST"."""
    if base.meta.dataset != "mnist":
        info = dataset_info(base.meta.dataset)
        raise ValueError(f"{base.title} reads {info.subject} ({info.title}), not digits: fine-tuning on your "
                         "digits needs a model trained on MNIST (e.g. the shipped mnist-cnn)")


def holdout_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, held out), stratified per digit; digits with fewer than MIN_PER_DIGIT samples
    are all trained on, since one or two held-out drawings measure nothing."""
    gen = torch.Generator().manual_seed(seed)
    train, held = [], []
    for digit in range(10):
        idx = torch.nonzero(labels == digit).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = int(len(idx) * fraction) if len(idx) >= MIN_PER_DIGIT else 0
        held.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


def _accuracy(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, mean: float, std: float,
              control: RunControl) -> float | None:
    if len(labels) == 0:
        return None
    preds = predict_all(model, pixels, mean, std, should_stop=lambda: control.stopped)
    return None if preds is None else float((preds[0] == labels.cpu()).double().mean())


def _freeze_batchnorm(model: nn.Module) -> None:
    """Keep BatchNorm's running statistics as learned on MNIST: a few hundred drawings must not move them."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class Finetuner:
    """Iterate `run()`; every yielded event is a safe point to stop."""

    def __init__(self, base: TrainedModel, personal: PersonalSet, config: FinetuneConfig | None = None,
                 control: RunControl | None = None, held_out: PersonalSet | None = None) -> None:
        self.base = base
        self.personal = personal
        # Samples to measure before → after on, never trained on: leave-one-writer-out passes the writer it
        # leaves out. Without them a share of the personal set is held out (`holdout_fraction`).
        self.held_out = held_out
        self.config = config or FinetuneConfig()
        self.control = control or RunControl()

    def run(self) -> Iterator[Event]:
        cfg = self.config
        try:
            cfg.validate()
            check_base(self.base)
            require_samples(self.personal)
            # The trainer's own failure handling: no data, no device, out of memory.
            yield from failures_as_events(self._run(), cfg.personal_batch + cfg.replay_batch)
        except (ValueError, PersonalSetError) as exc:
            yield Failed(str(exc), FailureKind.CONFIG)

    def _run(self) -> Iterator[Event]:
        cfg, control, base = self.config, self.control, self.base
        start = time.perf_counter()
        train_on_all_cores()
        device = resolve_device(cfg.device)
        mnist = load_dataset(base.meta.dataset, data_dir=cfg.data_dir, idx_dir=cfg.idx_dir)
        mean, std = base.meta.mean, base.meta.std
        images, labels = self.personal.tensors()
        if self.held_out is None:
            train_idx, held_idx = holdout_split(labels, cfg.holdout_fraction, cfg.seed)
            held_images, held_labels = images[held_idx], labels[held_idx]
            images, labels = images[train_idx], labels[train_idx]
        else:
            held_images, held_labels = self.held_out.tensors()
        x_p, y_p = images.unsqueeze(1).to(device), labels.to(device)
        x_h, y_h = held_images.unsqueeze(1).to(device), held_labels.to(device)
        x_r, y_r = split_on_device(mnist.train, device)
        x_t, y_t = split_on_device(mnist.test.head(cfg.mnist_test_limit), device)
        steps = max(math.ceil(len(y_p) / cfg.personal_batch), cfg.min_steps_per_epoch)
        steps = min(steps, cfg.max_steps_per_epoch or steps)
        model = copy.deepcopy(base.model).to(device)
        yield Started(describe(device), mnist.source, len(y_p), len(y_h), steps, parameter_count(model))

        before = _accuracy(model, x_h, y_h, mean, std, control)
        mnist_before = _accuracy(model, x_t, y_t, mean, std, control)
        torch.manual_seed(cfg.seed)  # dropout draws from the global generator: same seed, same model
        gen = torch.Generator().manual_seed(cfg.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        held_acc = before
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            _freeze_batchnorm(model)
            loss_sum, correct, seen = 0.0, 0, 0
            next_report = epoch_start + cfg.report_interval_s
            for step in range(steps):
                if control.stopped:
                    done = epoch - 1 + step / steps
                    yield Finished(self._result_model(model, before, held_acc, mnist_before, None, len(y_h),
                                                      start, done), True, done)
                    return
                ip = torch.randint(len(y_p), (cfg.personal_batch,), generator=gen).to(device)
                ir = torch.randint(len(y_r), (cfg.replay_batch,), generator=gen).to(device)
                xb = unit_float(torch.cat([x_p.index_select(0, ip), x_r.index_select(0, ir)]))
                yb = torch.cat([y_p.index_select(0, ip), y_r.index_select(0, ir)])
                if cfg.augment:
                    xb = augment_batch(xb, gen)
                loss, logits = train_step(model, optimizer, normalize_(xb, mean, std), yb, cfg.label_smoothing)
                n_personal = cfg.personal_batch  # running accuracy on the user's samples only
                loss_sum += loss.item() * len(yb)
                correct += int((logits[:n_personal].argmax(1) == yb[:n_personal]).sum())
                seen += n_personal
                now = time.perf_counter()
                if now >= next_report or step == steps - 1:
                    rate = (step + 1) * len(yb) / max(now - epoch_start, 1e-9)
                    remaining = ((cfg.epochs - epoch) * steps + steps - step - 1) * len(yb)
                    yield Progress(epoch, cfg.epochs, step + 1, steps, loss.item(), correct / seen, rate,
                                   remaining / rate)
                    next_report = now + cfg.report_interval_s
            eval_x, eval_y = (x_h, y_h) if len(y_h) else (x_p, y_p)
            preds = predict_all(model, eval_x, mean, std)
            report = build_report(eval_y, *preds, images=eval_x[:, 0])
            held_acc = report.accuracy if len(y_h) else None
            snap = self._result_model(model, before, held_acc, mnist_before, None, len(y_h), start, epoch)
            yield EpochEnd(epoch, cfg.epochs, loss_sum / (steps * (cfg.personal_batch + cfg.replay_batch)),
                           correct / seen, report.accuracy, time.perf_counter() - epoch_start,
                           time.perf_counter() - epoch_start, report, snap)
        mnist_after = _accuracy(model, x_t, y_t, mean, std, control)  # None when Stop came during it
        yield Finished(self._result_model(model, before, held_acc, mnist_before, mnist_after, len(y_h), start,
                                          cfg.epochs), control.stopped, cfg.epochs)

    def _result_model(self, model: nn.Module, before: float | None, after: float | None, mnist_before: float | None,
                      mnist_after: float | None, n_holdout: int, start: float, epochs: float) -> TrainedModel:
        """A CPU copy named "<base> + my digits", its before → after kept in the metadata."""
        counts = self.personal.counts()
        short = [str(d) for d in range(10) if 0 < counts[d] < MIN_PER_DIGIT]
        note = ""
        if n_holdout == 0:
            note = (f"Too few samples to measure: hold-out needs at least {MIN_PER_DIGIT} drawings of a digit. "
                    "The model trained on all of them.")
        elif short:
            note = f"Digits {', '.join(short)} have fewer than {MIN_PER_DIGIT} samples: all trained on, none measured."
        result = FinetuneResult(before, after, mnist_before, mnist_after, len(self.personal.samples), n_holdout,
                                round(time.perf_counter() - start, 2), note)
        base = self.base
        meta = replace(base.meta, test_accuracy=mnist_after if mnist_after is not None else base.meta.test_accuracy,
                       created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       config={**base.meta.config, "finetune": asdict(result),
                               "finetune_config": {k: v for k, v in asdict(self.config).items()
                                                   if k not in ("data_dir", "idx_dir")}})
        cpu = copy.deepcopy(model).to("cpu").eval()
        return TrainedModel(cpu, meta, name=base.name.removesuffix(SUFFIX) + SUFFIX)
