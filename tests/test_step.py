"""Single mini-batch steps (core/step.py and `digitpad step`): undone bit-exactly, raced on the same batches."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import digitpad.core.step as step_mod
from digitpad.core.datasets import DataError
from digitpad.core.events import Failed, FailureKind
from digitpad.core.step import LaneConfig, Opened, StepConfig, Stepped, open_session
from digitpad.core.trainer import TrainConfig, Trainer

SMALL = dict(train_limit=600, test_subset=200)


def session(model="softmax", lanes=(LaneConfig("sgd", 0.05),), batch_size=32, **kw):
    events = list(open_session(StepConfig(model=model, lanes=tuple(lanes), batch_size=batch_size, **{**SMALL, **kw})))
    assert isinstance(events[-1], Opened), events
    return events[-1].session


def snapshot(lane):
    """Every parameter, buffer and optimizer tensor, as the optimizer's own state_dict names them."""
    optimizer = lane.optimizer.state_dict()["state"] if lane.optimizer is not None else {}
    return ([p.detach().clone() for p in lane.model.parameters()] + [b.clone() for b in lane.model.buffers()]
            + [v.clone() for slots in optimizer.values() for v in slots.values() if torch.is_tensor(v)])


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def steps(s, n):
    return [ev for ev in s.run(n) if isinstance(ev, Stepped)]


@pytest.mark.parametrize("model, lane, budget", [
    ("softmax", LaneConfig("adam", 0.01), step_mod.MEMORY_BUDGET),  # every step's state kept
    ("mlp", LaneConfig("momentum", 0.05, 0.9), 2**20),  # only every K-th: the steps between are replayed
    ("cnn", LaneConfig("adam", 1e-3), 2**20),  # batch norm buffers, dropout masks, replayed
    ("softmax-scratch", LaneConfig("sgd", 0.1), step_mod.MEMORY_BUDGET),
])
def test_k_steps_then_k_backs_restore_every_parameter_and_optimizer_buffer_bit_for_bit(mnist, model, lane, budget):
    s = session(model, (lane,), batch_size=16, memory_budget=budget, keep=50)
    assert (s.every > 1) == (budget < step_mod.MEMORY_BUDGET)
    seen = [snapshot(s.lanes[0])]
    for _ in range(8):
        steps(s, 1)
        seen.append(snapshot(s.lanes[0]))
    assert not same(seen[0], seen[-1])
    for k in range(7, -1, -1):  # Back, seven times, then Rewind's last step
        [ev] = s.go_to(k)
        assert isinstance(ev, Stepped) and ev.step == k and s.step == k
        assert same(snapshot(s.lanes[0]), seen[k]), f"state after going back to step {k} differs"
    [ev] = s.go_to(5)  # a jump along the timeline, then forward again: the very same steps
    assert same(snapshot(s.lanes[0]), seen[5])
    steps(s, 3)
    assert same(snapshot(s.lanes[0]), seen[8]) and s.last == 8


def test_the_displayed_update_is_exactly_w_after_minus_w_before(mnist):
    s = session("softmax", (LaneConfig("momentum", 0.1, 0.9),))
    steps(s, 2)
    before = s.lanes[0].model[1].weight.detach().clone()
    [ev] = steps(s, 1)
    after = s.lanes[0].model[1].weight.detach()
    first = ev.views[0].first
    assert torch.equal(torch.from_numpy(first.before), before.reshape(10, 28, 28))
    assert torch.equal(torch.from_numpy(first.update), (after - before).reshape(10, 28, 28))
    assert ev.views[0].is_templates and first.unit_title == "class"


def test_race_lanes_see_the_same_batches_the_trainer_would_and_momentum_zero_is_sgd_bit_for_bit(mnist):
    lanes = (LaneConfig("sgd", 0.1), LaneConfig("momentum", 0.1, 0.0), LaneConfig("adam", 1e-3))
    s = session("mlp", lanes, batch_size=32)
    events = steps(s, 4)
    for ev in events:
        [records] = ev.records
        assert all((r.indices == records[0].indices).all() for r in records)
    expected = torch.randperm(600, generator=torch.Generator().manual_seed(0))[:32].numpy()
    assert (events[0].records[0][0].indices == expected).all()  # the trainer's first batch with seed 0
    sgd, momentum, adam = s.lanes
    assert same(snapshot(sgd), [p.detach() for p in momentum.model.parameters()])
    assert [ev.records[0][0].loss_after for ev in events] == [ev.records[0][1].loss_after for ev in events]
    assert not same(snapshot(sgd)[:1], snapshot(adam)[:1])


def test_steps_are_the_trainers_steps_from_the_trainers_initial_weights(mnist):
    """k steps here and one epoch of k batches in `digitpad train`, same seed: the same weights."""
    s = session("softmax", (LaneConfig("sgd", 0.05),), batch_size=100)
    steps(s, 6)
    [*_, finished] = Trainer(TrainConfig(model="softmax", epochs=1, batch_size=100, lr=0.05, train_limit=600,
                                         test_limit=100, device="cpu")).run()
    trained = finished.model.model[1].weight
    assert torch.allclose(s.lanes[0].model[1].weight, trained, atol=1e-6, rtol=0)


@pytest.mark.parametrize("lane", [LaneConfig("sgd", 0.5), LaneConfig("momentum", 0.5, 0.9), LaneConfig("adam", 0.01)])
def test_the_update_rule_written_out_gives_the_models_new_weight(mnist, lane):
    s = session("softmax", (lane,))
    steps(s, 2)  # momentum and Adam have state from step 1
    [ev] = steps(s, 1)
    view = ev.views[0]
    unit, row, col = 3, 14, 12  # a pixel in the middle, where digits have ink
    rule = view.rule(unit, row, col)
    assert rule.actual == pytest.approx(rule.computed, rel=1e-5, abs=1e-9)
    assert rule.actual != pytest.approx(float(view.first.before[unit, row, col]), rel=1e-9, abs=0)
    words = {"sgd": "w ← w − lr·g", "momentum": "v ← μ·v + g", "adam": "m̂ = m / (1−β₁^t)"}[lane.optimizer]
    assert any(words in line for line in rule.lines)


def test_a_step_that_makes_the_weights_nan_is_undone_with_a_message_and_the_history_kept(mnist):
    s = session("mlp", (LaneConfig("sgd", 1e6),))
    events = list(s.run(5))
    assert isinstance(events[-1], Failed) and events[-1].kind is FailureKind.DIVERGED
    assert "step 2" in events[-1].message and "too large" in events[-1].message
    assert s.step == s.last == 1 and len([e for e in events if isinstance(e, Stepped)]) == 1
    kept = snapshot(s.lanes[0])
    assert all(torch.isfinite(t).all() for t in kept)
    [ev] = s.go_to(0)
    assert isinstance(ev, Stepped) and ev.step == 0


def test_a_missing_data_set_is_a_clear_failure(monkeypatch):
    def missing(*_args, **_kwargs):
        raise DataError("Fashion-MNIST was not found. Looked in: …")
    monkeypatch.setattr(step_mod, "load_dataset", missing)
    assert list(open_session(StepConfig(dataset="fashion-mnist"))) == [
        Failed("Fashion-MNIST was not found. Looked in: …", FailureKind.DATA)]


def test_bad_settings_are_refused_before_loading_anything():
    [ev] = open_session(StepConfig(lanes=(LaneConfig("sgd", 0.0),)))
    assert ev.kind is FailureKind.CONFIG and "lr" in ev.message
    [ev] = open_session(StepConfig(lanes=(LaneConfig(),) * 5))
    assert ev.kind is FailureKind.CONFIG and "1 to 4 lanes" in ev.message


def test_the_history_keeps_the_last_steps_and_step_zero_within_its_memory(mnist):
    s = session("softmax", (LaneConfig("sgd", 0.05),), keep=5, memory_budget=2 * 32_000)
    steps(s, 9)
    assert s.kept == (5, 9) and s.every == 3
    assert sorted(s.lanes[0].states) == [0, 3, 6, 9]  # step 4's state replays step 5
    [refused] = s.go_to(3)
    assert isinstance(refused, Failed) and "no longer kept" in refused.message
    [ev] = s.go_to(5)
    assert ev.step == 5 and ev.views[0].record.step == 5
    assert s.memory == 4 * s.lanes[0].states[3].nbytes


# --- the command line ----------------------------------------------------------------------------

ARGS = ["step", "--model", "softmax", "--steps", "3", "--batch-size", "64", "--train-limit", "1000",
        "--test-subset", "200", "--json"]


def run_in_process(capsys, *args):
    from digitpad.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_step_json_lines_have_the_columns_and_are_byte_identical_run_to_run(capsys, mnist):
    first = subprocess.run([sys.executable, "-m", "digitpad", *ARGS], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    code, again, _ = run_in_process(capsys, *ARGS)
    assert code == 0 and again == first.stdout
    rows = [json.loads(line) for line in again.splitlines()]
    assert [list(r) for r in rows] == [["step", "loss_before", "loss_after", "test_loss", "test_accuracy", "lr",
                                        "grad_norm", "update_ratio"]] * 3
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["loss_after"] < r["loss_before"] for r in rows)


def test_step_with_momentum_zero_prints_sgds_losses_exactly(capsys, mnist):
    _, sgd, _ = run_in_process(capsys, *ARGS, "--optimizer", "sgd", "--lr", "0.1")
    _, momentum, _ = run_in_process(capsys, *ARGS, "--optimizer", "momentum", "--momentum", "0", "--lr", "0.1")
    assert sgd == momentum


@pytest.mark.parametrize("args, flag", [(["--steps", "0"], "--steps"), (["--lr", "0"], "--lr"),
                                        (["--momentum", "1"], "--momentum"), (["--batch-size", "0"], "--batch-size"),
                                        (["--test-subset", "0"], "--test-subset"), (["--seed", "-1"], "--seed")])
def test_step_refuses_bad_values_naming_the_flag_like_train(capsys, args, flag):
    from digitpad.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["step", *args])
    assert exit_info.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


def test_step_reports_a_diverging_step_and_a_missing_data_set_in_one_line(capsys, monkeypatch, mnist):
    code, out, err = run_in_process(capsys, "step", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e6",
                                    "--batch-size", "32", "--train-limit", "500", "--test-subset", "100", "--json")
    assert code == 1 and len(out.splitlines()) == 1 and "step 2" in err and "Traceback" not in err

    def missing(*_args, **_kwargs):
        raise DataError("MNIST was not found.")
    monkeypatch.setattr(step_mod, "load_dataset", missing)
    code, out, err = run_in_process(capsys, "step", "--json")
    assert code == 1 and out == "" and err == "digitpad step: MNIST was not found.\n"


# --- the two-weight loss surface (Lessons tab) -----------------------------------------------------


def test_the_two_weight_surface_diverges_past_two_over_the_curvature_and_momentum_zero_follows_sgd():
    from dataclasses import replace

    from digitpad.core import surface
    from digitpad.core.scratch import linreg, squared_loss

    cfg = surface.SurfaceConfig()
    X, y = surface.two_weight_data(cfg)
    flat, steep = surface.curvatures(X)
    assert steep / flat == pytest.approx(cfg.stretch ** 2, rel=0.15)  # the stretch narrows the valley
    grid = surface.loss_grid(X, y, cfg.true_b, np.array([cfg.start[0]]), np.array([cfg.start[1]]))
    start_loss = float(squared_loss(linreg(X, torch.tensor(cfg.start).reshape(2, 1), cfg.true_b), y).mean())
    assert grid[0, 0] == pytest.approx(start_loss, rel=1e-5)
    below, above = replace(cfg, lr=0.95 * 2 / steep), replace(cfg, lr=1.1 * 2 / steep, steps=200)
    assert not surface.descend(below, "sgd", X, y).escaped
    assert surface.descend(above, "sgd", X, y).escaped
    assert not surface.descend(replace(above, momentum=0.5), "momentum", X, y).escaped  # stable to 2(1+μ)/λ
    sgd = surface.descend(cfg, "sgd", X, y)
    assert np.array_equal(surface.descend(replace(cfg, momentum=0.0), "momentum", X, y).points, sgd.points)
    assert surface.descend(cfg, "momentum", X, y).losses[-1] < sgd.losses[-1] / 10  # the default setting's lesson


def test_a_session_can_step_on_from_a_model_in_the_library(mnist, shipped_cnn):
    """Its architecture and data set replace the config's; its weights are copied, never changed."""
    before = [p.detach().clone() for p in shipped_cnn.model.parameters()]
    events = list(open_session(StepConfig(model="softmax", dataset="fashion-mnist", batch_size=32,
                                          lanes=(LaneConfig("adam", 1e-4),), **SMALL), shipped_cnn))
    s = events[-1].session
    assert s.cfg.model == "cnn" and s.cfg.dataset == "mnist" and "mnist-cnn" in s.start_title
    assert same([p.detach() for p in s.lanes[0].model.parameters()], before)
    [ev] = steps(s, 1)
    assert ev.records[0][0].test_accuracy > 0.95  # a trained model stays trained after one small step
    assert same([p.detach() for p in shipped_cnn.model.parameters()], before)


def test_a_replay_that_comes_out_different_is_reported_not_shown(mnist):
    from dataclasses import replace

    s = session("mlp", (LaneConfig("momentum", 0.05, 0.9),), batch_size=16, memory_budget=2**20, keep=20)
    steps(s, 4)
    assert s.every > 4 and sorted(s.lanes[0].states) == [0]  # steps 1-3 are reached by replaying
    s.records[2] = (replace(s.records[2][0], checksum="weights that were never there"),)
    [ev] = s.go_to(3)
    assert isinstance(ev, Failed) and ev.kind is FailureKind.ERROR and "replaying step 2" in ev.message
