"""The training engine: events, reproducibility, stop/pause within a batch, failures as events."""

import math
import threading
import time

import pytest
import torch

from digitpad.core import trainer as trainer_mod
from digitpad.core.datasets import DataError
from digitpad.core.events import EpochEnd, Failed, Finished, Progress, RunControl, Started
from digitpad.core.trainer import TrainConfig, Trainer


def small(model="softmax", **kw) -> TrainConfig:
    base = dict(train_limit=1024, test_limit=500, epochs=2, device="cpu", reports_per_epoch=1000)
    return TrainConfig.for_model(model, **{**base, **kw})


def events(cfg, control=None):
    return list(Trainer(cfg, control).run())


def test_event_stream_of_a_short_run(mnist):
    evs = events(small(batch_size=256))
    assert isinstance(evs[0], Started) and evs[0].n_train == 1024 and evs[0].batches_per_epoch == 4
    ends = [e for e in evs if isinstance(e, EpochEnd)]
    assert [e.epoch for e in ends] == [1, 2]
    assert all(0 <= e.test_accuracy <= 1 and e.train_loss > 0 for e in ends)
    assert sum(map(sum, ends[-1].report.confusion)) == 500
    assert ends[-1].weight_templates.shape == (10, 28, 28)
    progress = [e for e in evs if isinstance(e, Progress)]
    assert len(progress) == 8 and progress[-1].fraction == pytest.approx(2.0)
    assert isinstance(evs[-1], Finished) and not evs[-1].stopped
    assert evs[-1].model.meta.test_accuracy == ends[-1].test_accuracy


def test_epoch_snapshot_is_a_copy_not_the_live_model(mnist):
    evs = events(small(epochs=2))
    first, second = [e.snapshot for e in evs if isinstance(e, EpochEnd)]
    assert not torch.equal(first.model[1].weight, second.model[1].weight)
    assert first.model[1].weight.device.type == "cpu" and not first.model.training


def test_same_seed_same_numbers_on_cpu(mnist):
    def numbers(seed):
        return [(e.train_loss, e.test_accuracy) for e in events(small("mlp", seed=seed, augment=True))
                if isinstance(e, EpochEnd)]
    assert numbers(3) == numbers(3)
    assert numbers(3) != numbers(4)


def test_stop_takes_effect_within_one_batch(mnist):
    control = RunControl()
    run = Trainer(small(batch_size=32, epochs=5), control).run()
    batches_seen = 0
    for ev in run:
        if isinstance(ev, Progress):
            batches_seen = ev.batch
            if ev.batch == 3:
                control.stop()
        if isinstance(ev, Finished):
            break
    assert ev.stopped and batches_seen == 3 and ev.epochs_done == pytest.approx(3 / 32)


def test_pause_holds_training_until_resume(mnist):
    control = RunControl()
    seen: list[tuple[float, int]] = []

    def consume():
        for ev in Trainer(small(batch_size=32, epochs=3), control).run():
            if isinstance(ev, Progress):
                seen.append((time.perf_counter(), ev.batch))
                if ev.batch == 2 and ev.epoch == 1:
                    control.pause()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.6)
    count_while_paused = len(seen)
    time.sleep(0.4)
    assert len(seen) == count_while_paused == 2 and control.paused
    control.resume()
    thread.join(timeout=30)
    assert len(seen) == 3 * 32


def test_diverging_loss_fails_with_a_hint(mnist):
    evs = events(small("mlp", lr=1e3, optimizer="sgd", epochs=3))
    assert isinstance(evs[-1], Failed) and evs[-1].kind == "diverged"
    assert "lower learning rate" in evs[-1].message
    assert not any(isinstance(e, Finished) for e in evs)


def test_missing_data_is_a_failure_event(monkeypatch):
    def missing(*a, **k):
        raise DataError("MNIST was not found. Looked in: …")
    monkeypatch.setattr(trainer_mod, "load_dataset", missing)
    evs = events(small())
    assert evs == [Failed("MNIST was not found. Looked in: …", "data")]


def test_out_of_memory_suggests_a_smaller_batch(mnist, monkeypatch):
    real_build = trainer_mod.build_model

    def oom_model(name):
        model = real_build(name)
        model.register_forward_hook(lambda *a: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory")))
        return model
    monkeypatch.setattr(trainer_mod, "build_model", oom_model)
    evs = events(small(batch_size=4096))
    assert isinstance(evs[-1], Failed) and evs[-1].kind == "oom"
    assert "smaller batch size" in evs[-1].message and "4096" in evs[-1].message


def test_bad_config_and_device_are_failure_events():
    assert events(small(optimizer="rmsprop"))[-1].kind == "config"
    if not torch.cuda.is_available():
        evs = events(small(device="cuda"))
        assert evs[-1].kind == "device" and "not available" in evs[-1].message


def test_presets_fill_a_config():
    cfg = TrainConfig.with_preset("fast", seed=5)
    assert (cfg.model, cfg.epochs, cfg.schedule, cfg.seed) == ("cnn", 1, "onecycle", 5)


def test_bfloat16_trains_the_cnn_with_float32_weights_and_says_which_arithmetic_it_used(mnist):
    from digitpad.core.devices import autocast_dtype

    cfg = small(model="cnn", precision="bfloat16", epochs=2, lr=1e-2, optimizer="adam")
    evs = events(cfg)
    started, ends = evs[0], [e for e in evs if isinstance(e, EpochEnd)]
    native = autocast_dtype("bfloat16", torch.device("cpu")) is not None
    assert started.device.endswith(", bfloat16 mixed precision" if native else
                                   ", float32 (no native bfloat16 on this device)")
    assert len(ends) == 2 and math.isfinite(ends[-1].train_loss) and ends[-1].train_loss < ends[0].train_loss * 1.5
    model = ends[-1].snapshot.model
    assert all(p.dtype == torch.float32 for p in model.parameters())  # only the forward pass was bfloat16
    assert autocast_dtype("float32", torch.device("cpu")) is None and "bfloat16" not in events(small())[0].device


@pytest.mark.slow
def test_softmax_regression_one_epoch_on_real_mnist_reaches_85_percent(mnist):
    evs = events(TrainConfig.for_model("softmax", epochs=1, train_limit=20000, device="cpu"))
    end = next(e for e in evs if isinstance(e, EpochEnd))
    assert end.report.n == 10000 and end.test_accuracy >= 0.85


def test_a_loss_that_explodes_without_reaching_nan_is_divergence(mnist):
    """Adam at lr 1e6 once ended with loss ~4e20, 11 % accuracy and a saved model, exit 0."""
    evs = events(small("cnn", optimizer="adam", lr=1e6, epochs=1))
    assert isinstance(evs[-1], Failed) and evs[-1].kind == trainer_mod.FailureKind.DIVERGED
    assert "diverged" in evs[-1].message and not any(isinstance(e, (EpochEnd, Finished)) for e in evs)


def test_the_divergence_watch_tells_noise_from_explosion():
    watch = trainer_mod.DivergenceWatch()
    noisy = [2.3, 1.2, 30.0, 0.9, 25.0, 40.0, 0.5, 0.4]  # spikes that recover are not divergence
    assert [watch.check(v, True) for v in noisy] == [None] * len(noisy)
    rising = trainer_mod.DivergenceWatch()
    assert [rising.check(v, True) is not None for v in [2.3, 30.0, 60.0, 90.0]] == [False, False, False, True]
    assert "overflowed" in trainer_mod.DivergenceWatch().check(2.3, False)
    exploding = trainer_mod.DivergenceWatch()
    assert exploding.check(2.3, True) is None and "exploded" in exploding.check(1e5, True)
    late = trainer_mod.DivergenceWatch()  # first checked when already far gone (an accelerator checks rarely)
    assert late.check(4e20, True) is None and late.check(5e20, True) is not None


def test_failure_kinds_are_a_closed_set():
    assert Failed("x", "diverged").kind is trainer_mod.FailureKind.DIVERGED
    with pytest.raises(ValueError):
        Failed("x", "something else")


def test_a_value_error_while_training_is_a_bug_not_a_config_failure(mnist, monkeypatch):
    """Only set-up (validation, the device) may turn a ValueError into a "config" failure."""
    def broken_step(self, xb, yb):
        raise ValueError("a bug in the training step")
    monkeypatch.setattr(Trainer, "_step", broken_step)
    with pytest.raises(ValueError, match="a bug in the training step"):
        events(small())


@pytest.mark.parametrize("field, value", [("train_limit", 0), ("test_limit", -5), ("lr", 1e39), ("lr", float("nan")),
                                          ("label_smoothing", 2.0), ("momentum", 1.0), ("device", "cpu:-1"),
                                          ("epochs", 0), ("dataset", "cifar"), ("seed", -1)])
def test_every_setting_is_validated_before_the_run(field, value):
    evs = events(small(**{field: value}))
    assert len(evs) == 1 and evs[0].kind == trainer_mod.FailureKind.CONFIG
    assert field.replace("_", " ") in evs[0].message  # the message names the setting


def test_the_loss_is_reported_at_a_fixed_number_of_points_per_epoch_whatever_the_speed(mnist):
    evs = events(small(batch_size=16, epochs=2, reports_per_epoch=20))  # 64 batches an epoch
    progress = [e for e in evs if isinstance(e, Progress)]
    assert len(progress) == 40 and progress[-1].fraction == pytest.approx(2.0)
    steps = [b.fraction - a.fraction for a, b in zip(progress, progress[1:])]
    assert max(steps) - min(steps) <= 1 / 64 + 1e-9  # evenly spaced, to within a batch
    fewer = [e for e in events(small(batch_size=256, reports_per_epoch=20)) if isinstance(e, Progress)]
    assert len(fewer) == 8  # an epoch of 4 batches reports each batch


def test_a_diverging_run_reports_the_blow_up_before_failing(mnist):
    evs = events(small("mlp", lr=1e3, optimizer="sgd", epochs=3, reports_per_epoch=1))
    losses = [e.loss for e in evs if isinstance(e, Progress)]
    assert isinstance(evs[-1], Failed) and evs[-1].kind == "diverged"
    # The divergence watch stops it as soon as the loss explodes: that point is the last one drawn.
    assert len(losses) >= 2 and losses[-1] > trainer_mod.EXPLODED_FACTOR * losses[0]
    assert all(isinstance(e, Progress) for e in evs[-1 - len(losses):-1])  # the points come right before


def test_the_eta_counts_the_test_passes_still_to_come(mnist, monkeypatch):
    real = trainer_mod.predict_all

    def slow_test_pass(*args, **kwargs):
        time.sleep(0.4)
        return real(*args, **kwargs)
    monkeypatch.setattr(trainer_mod, "predict_all", slow_test_pass)
    progress = [e for e in events(small(batch_size=256, epochs=3)) if isinstance(e, Progress)]
    first_of_second_epoch, last = progress[4], progress[-1]
    assert first_of_second_epoch.eta_s >= 0.8  # the test passes of epochs 2 and 3 still ahead
    assert last.eta_s >= 0.4  # all training done, the final test pass still ahead


def test_the_uci_writers_join_mnist_training_only(mnist):
    """--with-uci adds optdigits.tra (3,823 digits, repeated EXTRA_REPEAT times) to MNIST's training images."""
    from digitpad.core.datasets import uci_split

    uci = uci_split("train")
    assert len(uci) == 3823 and uci.images.shape[1:] == (28, 28) and set(uci.labels.tolist()) == set(range(10))
    cfg = TrainConfig.for_model("softmax", epochs=1, train_limit=1000, test_limit=500, device="cpu", with_uci=True)
    started = next(ev for ev in Trainer(cfg).run() if isinstance(ev, Started))
    assert started.n_train == 1000 + trainer_mod.EXTRA_REPEAT * 3823 and started.n_test == 500
    failed = list(Trainer(TrainConfig(dataset="fashion-mnist", with_uci=True)).run())
    assert isinstance(failed[0], Failed) and "only be added to MNIST" in failed[0].message


def test_the_drawn_shapes_join_mnist_training_only(mnist):
    """--with-drawn adds 1,320 drawings of small-loop 6s, 8s, 9s, flagged 1s and ticked 7s, none of the
    benchmark's sizes, made into 28×28 fields as the canvas makes them."""
    from digitpad.core.datasets import drawn_split
    from digitpad.core.sample_digits import LOOP_SIZES, TRAINING_LOOP_SIZES

    drawn = drawn_split()
    assert len(drawn) == 1320 and drawn.images.dtype == torch.uint8 and set(drawn.labels.tolist()) == {1, 6, 7, 8, 9}
    assert drawn.images.flatten(1).amax(1).min() > 200  # every field holds ink
    assert not set(LOOP_SIZES) & set(TRAINING_LOOP_SIZES)
    cfg = TrainConfig.for_model("softmax", epochs=1, train_limit=1000, test_limit=500, device="cpu", with_drawn=True)
    started = next(ev for ev in Trainer(cfg).run() if isinstance(ev, Started))
    assert started.n_train == 1000 + trainer_mod.EXTRA_REPEAT * 1320
    failed = list(Trainer(TrainConfig(dataset="fashion-mnist", with_drawn=True)).run())
    assert isinstance(failed[0], Failed) and "drawn digit shapes can only be added to MNIST" in failed[0].message
