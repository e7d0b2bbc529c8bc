"""The 2-D playground's engine: its data, what its models can and cannot learn, and that it trains
through the engine's own optimizers and step."""

import threading
import time
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
import torch

from digitpad.core import playground as pg
from digitpad.core import trainer
from digitpad.core.events import Failed, RunControl
from digitpad.core.playground import (PRESETS, DataSpec, NetSpec, Playground, PlaygroundConfig, PointSet, make_points)


def last_frame(cfg: PlaygroundConfig, steps: int, points: PointSet | None = None) -> pg.Frame:
    frames = list(pg.train(cfg, steps, points, frame_s=60))  # one frame, at the end
    assert frames and isinstance(frames[-1], pg.Frame) and frames[-1].step == steps
    return frames[-1]


@pytest.mark.parametrize("kind", pg.DATA_KINDS)
def test_each_data_set_is_the_same_for_a_seed_and_split_as_asked(kind):
    spec = DataSpec(kind, classes=3 if kind in pg.MANY_CLASSES else 2, points=120, test_share=0.25, seed=4)
    a, b, other = make_points(spec), make_points(spec), make_points(replace(spec, seed=5))
    assert np.array_equal(a.xy, b.xy) and np.array_equal(a.labels, b.labels) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.xy, other.xy)
    assert len(a) == 120 and a.test.sum() == 30 and a.xy.dtype == np.float32
    assert np.bincount(a.labels).tolist() == ([40] * 3 if spec.classes == 3 else [60, 60])
    assert np.abs(a.xy).max() < pg.EXTENT  # everything lies inside the plane that is drawn


def test_xor_and_circles_are_labelled_as_their_names_say():
    xor = make_points(DataSpec("xor", points=200, noise=0.0))
    assert np.array_equal(xor.labels, (xor.xy[:, 0] * xor.xy[:, 1] > 0).astype(np.int64))
    circles = make_points(DataSpec("circles", points=200, noise=0.0))
    radius = np.hypot(*circles.xy.T)
    assert radius[circles.labels == 1].max() < 0.46 < 0.69 < radius[circles.labels == 0].min()


def test_points_are_added_to_the_training_set_and_removed_nearest_first():
    points = make_points(DataSpec("blobs", classes=3, points=30))
    more = points.with_point(0.2, -0.3, 2)
    assert len(more) == 31 and more.labels[-1] == 2 and not more.test[-1] and len(points) == 30
    assert np.allclose(more.xy[-1], [0.2, -0.3])
    fewer = more.without_nearest(0.21, -0.29, radius=0.05)
    assert len(fewer) == 30 and not np.any(np.all(np.isclose(fewer.xy, [0.2, -0.3]), axis=1))
    assert fewer.without_nearest(5.0, 5.0, radius=0.05) is fewer  # nothing that close: nothing removed
    with pytest.raises(ValueError, match="class 3"):
        points.with_point(0, 0, 3)


@pytest.mark.parametrize("spec, message", [
    (DataSpec("moons", classes=3), "moons has 2 classes"),
    (DataSpec("spiral", classes=7), "classes must be in \\[2, 6\\]"),
    (DataSpec("swirl"), "unknown data 'swirl'"),
    (DataSpec(points=5), "points must be in \\[10, 2000\\]"),
    (DataSpec(noise=float("nan")), "noise must be a finite number"),
])
def test_bad_data_specs_are_refused_in_words(spec, message):
    with pytest.raises(ValueError, match=message):
        make_points(spec)


@pytest.mark.parametrize("net, message", [
    (NetSpec("mlp", (8, 8, 8, 8)), "hidden layers must be in \\[1, 3\\]"),
    (NetSpec("mlp", (17,)), "units per hidden layer must be in \\[1, 16\\]"),
    (NetSpec("mlp", (0,)), "units per hidden layer must be in \\[1, 16\\]"),
    (NetSpec("mlp", activation="gelu"), "unknown activation 'gelu'"),
    (NetSpec("softmax", features=("x1", "x3")), "features must be distinct names"),
    (NetSpec("softmax", features=()), "features must be distinct names"),
])
def test_bad_models_are_refused_in_words(net, message):
    with pytest.raises(ValueError, match=message):
        PlaygroundConfig(net=net).validate()


def test_the_optimizer_settings_use_the_engines_ranges():
    with pytest.raises(ValueError, match="lr must be positive"):
        PlaygroundConfig(lr=0).validate()
    with pytest.raises(ValueError, match="weight decay must be in \\[0, 1\\]"):
        PlaygroundConfig(weight_decay=-0.1).validate()


def test_softmax_regression_cannot_solve_xor_but_eight_hidden_units_can():
    data = DataSpec("xor", points=300, seed=0)
    linear = last_frame(PlaygroundConfig(data=data, net=NetSpec("softmax")), 600)
    bent = last_frame(PlaygroundConfig(data=data, net=NetSpec("mlp", (8,))), 600)
    assert linear.test_accuracy <= 0.75 and linear.train_accuracy <= 0.75
    assert bent.test_accuracy >= 0.95


def test_softmax_on_the_squares_solves_circles_and_not_without_them():
    data = DataSpec("circles", points=300, seed=0)
    squares = last_frame(PlaygroundConfig(data=data, net=NetSpec("softmax", features=("x1", "x2", "x1^2", "x2^2"))), 600)
    plain = last_frame(PlaygroundConfig(data=data, net=NetSpec("softmax")), 600)
    assert squares.test_accuracy >= 0.95 and plain.test_accuracy <= 0.75


def test_the_playground_trains_with_the_engines_optimizer_and_step():
    """No second training loop: the playground's step is the trainer's `train_step`, its optimizer
    comes from `make_optimizer` with the engine's settings, and the trainer steps through the same function."""
    assert pg.train_step is trainer.train_step and pg.make_optimizer is trainer.make_optimizer
    cfg = PlaygroundConfig(optimizer="momentum", lr=0.05, momentum=0.8, weight_decay=0.01, batch_size=8)
    playground = Playground(cfg, make_points(cfg.data))
    group = playground.optimizer.param_groups[0]
    assert type(playground.optimizer) is torch.optim.SGD
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.05, 0.8, 0.01)
    with mock.patch.object(pg, "train_step", wraps=trainer.train_step) as step:
        playground.train_steps(5)
    assert step.call_count == 5 and all(len(call.args[3]) == 8 for call in step.call_args_list)
    assert playground.step == 5


def test_the_engines_trainer_steps_through_the_shared_function(mnist):
    cfg = trainer.TrainConfig.for_model("softmax", train_limit=512, test_limit=100, epochs=1, batch_size=128,
                                        device="cpu")
    with mock.patch.object(trainer, "train_step", wraps=trainer.train_step) as step:
        list(trainer.Trainer(cfg).run())
    assert step.call_count == 4


@pytest.mark.parametrize("optimizer", trainer.OPTIMIZER_BUILDERS)
def test_weight_decay_reaches_every_optimizer(optimizer):
    cfg = trainer.TrainConfig(optimizer=optimizer, weight_decay=0.003)
    made = trainer.make_optimizer(cfg, torch.nn.Linear(2, 2).parameters())
    assert made.param_groups[0]["weight_decay"] == 0.003
    cfg.validate()
    with pytest.raises(ValueError, match="weight decay must be in"):
        trainer.TrainConfig(weight_decay=2.0).validate()
    with pytest.raises(ValueError, match="no weight decay"):
        trainer.TrainConfig(model="softmax-scratch", weight_decay=0.003).validate()


def test_same_seed_same_run_and_another_seed_another():
    cfg = PlaygroundConfig(data=DataSpec("moons", points=100))

    def numbers(seed):
        f = last_frame(replace(cfg, seed=seed), 50)
        return f.train_loss, f.test_loss, f.probabilities[::17, ::17].tolist()
    assert numbers(1) == numbers(1)
    assert numbers(1) != numbers(2)


def test_a_frame_holds_the_regions_each_hidden_units_map_and_the_weights():
    cfg = PlaygroundConfig(data=DataSpec("blobs", classes=3, points=60),
                           net=NetSpec("mlp", (5, 3), "tanh", ("x1", "x2", "x1x2")))
    frame = Playground(cfg, make_points(cfg.data)).frame()
    assert frame.step == 0 and frame.probabilities.shape == (pg.GRID, pg.GRID, 3)
    assert np.allclose(frame.probabilities.sum(axis=2), 1, atol=1e-5)
    side = pg.GRID // pg.UNIT_STRIDE
    assert [u.shape for u in frame.units] == [(5, side, side), (3, side, side)]
    assert np.abs(frame.units[0]).max() <= 1  # tanh
    assert [w.shape for w, _ in frame.weights] == [(5, 3), (3, 5), (3, 3)]


def test_the_grid_runs_from_the_bottom_left_corner():
    """Row 0 of the regions is the bottom of the plane: a model that votes by x₂ shows it there."""
    cfg = PlaygroundConfig(data=DataSpec("blobs", points=20), net=NetSpec("softmax"))
    playground = Playground(cfg, make_points(cfg.data))
    with torch.no_grad():
        playground.model[1].weight.copy_(torch.tensor([[0.0, -5.0], [0.0, 5.0]]))
    probs = playground.frame().probabilities
    assert probs[0, :, 0].min() > 0.99 and probs[-1, :, 1].min() > 0.99


def test_points_handed_over_while_running_are_used_and_no_points_is_a_failure_not_a_crash():
    cfg = PlaygroundConfig(data=DataSpec("blobs", points=40))
    playground = Playground(cfg, make_points(cfg.data))
    control = RunControl()
    seen = []

    def consume():
        for event in playground.run(None, control, frame_s=0.005):
            seen.append(event)
            if len(seen) == 3:
                empty = make_points(cfg.data)
                playground.set_points(PointSet(empty.xy[empty.test], empty.labels[empty.test],
                                               empty.test[empty.test], 2))
            if len(seen) > 50:
                control.stop()
    thread = threading.Thread(target=consume)
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    assert isinstance(seen[-1], Failed) and "no training points" in seen[-1].message
    assert len(seen) <= 5  # it ended at the first step after the hand-over, not when stopped


def test_stop_ends_a_run_without_a_step_limit():
    cfg = PlaygroundConfig(data=DataSpec("blobs", points=40))
    control = RunControl()
    frames = []
    for frame in Playground(cfg, make_points(cfg.data)).run(None, control, frame_s=0.002):
        frames.append(frame)
        if len(frames) == 4:
            control.stop()
    assert len(frames) == 4 and frames[-1].step > frames[0].step > 0


def test_every_preset_is_a_valid_setup_with_a_sentence():
    for preset in PRESETS.values():
        preset.config.validate()
        assert preset.sentence.endswith(".") and preset.steps > 0


def test_the_overfitting_presets_gap_closes_with_weight_decay_or_more_points():
    """Its sentence: too many units for too little data part train and test; weight decay 0.03 or more points close the gap."""
    preset = PRESETS["overfit"]

    def gap(cfg):
        frame = last_frame(cfg, 1000)
        return frame.train_accuracy - frame.test_accuracy, frame
    plain, frame = gap(preset.config)
    assert frame.train_accuracy == 1.0 and plain >= 0.2
    assert gap(replace(preset.config, weight_decay=0.03))[0] <= 0.1
    assert gap(replace(preset.config, data=replace(preset.config.data, points=400)))[0] <= 0.12


def test_a_run_waits_for_each_frame_to_be_drawn_and_stop_wakes_it():
    cfg = PlaygroundConfig(data=DataSpec("blobs", points=40))
    playground = Playground(cfg, make_points(cfg.data))
    control, drawn = RunControl(), pg.DrawnGate()
    run = playground.run(None, control, frame_s=0.001, drawn=drawn)
    first = next(run)
    threading.Timer(0.05, drawn.set).start()  # the window draws it 50 ms later
    asked = time.perf_counter()
    second = next(run)  # trained on only once it was drawn
    assert time.perf_counter() - asked >= 0.045 and second.step > first.step
    control.stop()  # never drawn: Stop ends the wait at once, not after DRAW_WAIT_S
    started = time.perf_counter()
    assert list(run) == [] and time.perf_counter() - started < pg.DRAW_WAIT_S
