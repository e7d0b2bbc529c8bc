"""The course from scratch: its worked numbers, its softmax beside the concise one, its warm-up lesson."""

import json
import numpy as np
import pytest
import torch

from digitpad.cli import main
from digitpad.core import scratch
from digitpad.core.checkpoints import load_checkpoint, save_checkpoint
from digitpad.core.inference import classify_strokes
from digitpad.core.models import build_model, linear_weight_templates, parameter_count
from digitpad.core.strokes import StrokeSet
from digitpad.core.sample_digits import digit_strokes
from digitpad.core.events import EpochEnd, Failed, Finished, Progress
from digitpad.core.trainer import TrainConfig, Trainer


def run(model, **kw) -> list:
    base = dict(device="cpu")
    return list(Trainer(TrainConfig.for_model(model, **{**base, **kw})).run())


def epoch_ends(events) -> list[EpochEnd]:
    return [e for e in events if isinstance(e, EpochEnd)]


# --- the worked examples --------------------------------------------------------------------------

def test_the_lectures_worked_cross_entropy_examples():
    ex = scratch.cross_entropy_example([0.2, 0.1, -0.1], 0,
                                       [[[0.1, 0.2, 0.9], [1.1, 0.1, 0.2], [0.2, 2.1, 0.1]],
                                        [[0.8, 0.2, 0.3], [0.2, 0.3, 0.5], [0.2, 0.2, 0.5]]], [2, 0, 1])
    assert round(ex.sample_loss, 4) == 0.9729
    assert [round(v, 4) for v in ex.batch_losses] == [0.4966, 1.2389]
    assert ex.label_dtype == "torch.int64"
    assert all(abs(s - 1) < 1e-6 for s in ex.softmax_sums) and all(s > 1.5 for s in ex.sigmoid_sums)
    assert all(abs(a - b) > 0.05 for a, b in zip(ex.softmax_first_losses, ex.batch_losses))


def test_labels_outside_the_classes_are_refused_with_a_message():
    with pytest.raises(ValueError, match="class indices"):
        scratch.cross_entropy_example([0.2, 0.1], 0, [[[0.1, 0.2]]], [5])


# --- why softmax overflows ------------------------------------------------------------------------

def test_the_overflow_table_naive_breaks_past_88_stable_stays_finite():
    calm = scratch.overflow_table(1.0)
    assert calm.naive_finite and calm.naive_loss == pytest.approx(calm.stable_loss, rel=1e-5)
    assert calm.naive_softmax == pytest.approx(calm.stable_softmax, rel=1e-4)
    # ×9.8: the largest logit is 88.2, just inside float32; ×10 puts it at 90 and exp gives inf
    assert scratch.overflow_table(9.8).naive_finite
    broken = scratch.overflow_table(10.0)
    assert not broken.naive_finite and np.isinf(broken.naive_exp[7]) and np.isnan(broken.naive_softmax[7])
    for scale in (10.0, 100.0, 1000.0):
        t = scratch.overflow_table(scale)
        assert np.isfinite(t.stable_softmax).all() and sum(t.stable_softmax) == pytest.approx(1.0)
        assert np.isfinite(t.stable_loss) and t.stable_loss == pytest.approx((9.0 - 3.1) * scale, rel=1e-3)
    assert 0.0 in scratch.overflow_table(1000.0).naive_exp  # the small logits underflow


def test_stable_softmax_equals_naive_where_naive_works():
    X = torch.randn(64, 10)
    assert torch.allclose(scratch.stable_softmax(X), scratch.softmax(X), atol=1e-6)
    assert torch.allclose(scratch.log_softmax(X), torch.log_softmax(X, 1), atol=1e-5)


# --- softmax regression, scratch vs concise -------------------------------------------------------

def test_scratch_and_concise_start_identical_and_give_the_same_loss_after_an_epoch(mnist):
    torch.manual_seed(0)
    concise = build_model("softmax")
    torch.manual_seed(0)
    own = build_model("softmax-scratch")
    assert torch.equal(linear_weight_templates(concise), linear_weight_templates(own))
    kw = dict(epochs=1, train_limit=3000, test_limit=500, seed=4)
    a, b = epoch_ends(run("softmax", **kw))[0], epoch_ends(run("softmax-scratch", **kw))[0]
    assert a.train_loss == pytest.approx(b.train_loss, abs=1e-4)
    assert a.train_accuracy == b.train_accuracy


def test_softmax_scratch_matches_softmax_after_ten_epochs_and_opens_on_the_canvas(mnist, tmp_path):
    kw = dict(epochs=10, train_limit=5000, test_limit=2000, seed=1)
    concise = epoch_ends(run("softmax", **kw))[-1]
    events = run("softmax-scratch", **kw)
    own = epoch_ends(events)[-1]
    assert abs(own.test_accuracy - concise.test_accuracy) <= 0.005 and own.test_accuracy > 0.85
    assert own.weight_templates.shape == (10, 28, 28)
    model = events[-1].model
    assert isinstance(events[-1], Finished) and model.meta.architecture == "softmax-scratch"
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "scratch.pt"))
    drawing = StrokeSet.from_json({"width": 280, "height": 280, "pen_width": 18, "strokes": digit_strokes(7)})
    assert classify_strokes(loaded, drawing).label == 7


def test_softmax_scratch_refuses_the_optimizers_it_does_not_use():
    (failed,) = run("softmax-scratch", optimizer="adam")
    assert isinstance(failed, Failed) and failed.kind == "config" and "own sgd" in failed.message


def test_naive_softmax_overflows_to_nan_where_the_concise_one_stays_finite(mnist):
    """At lr 50 both runs diverge, but only the naive softmax turns the loss into NaN: the stable
    log-sum-exp form keeps it a (huge) number, which the divergence watch then stops."""
    kw = dict(epochs=1, train_limit=2000, test_limit=200, lr=50.0)
    scratch, concise = run("softmax-scratch", **kw)[-1], run("softmax", **kw)[-1]
    assert isinstance(scratch, Failed) and "loss became nan" in scratch.message
    assert isinstance(concise, Failed) and "nan" not in concise.message and "rose to" in concise.message


@pytest.mark.slow
@pytest.mark.parametrize("dataset, floor", [("fashion-mnist", 0.83), ("mnist", 0.92)])
def test_the_course_defaults_reproduce_the_course(dataset, floor):
    """`digitpad train --dataset D --model softmax` as is: batch 256, 10 epochs, lr 0.03 on Fashion-MNIST
    and 0.05 on MNIST (standardized pixels). The course gets ≈0.83-0.85 and ≈0.92."""
    ends = epoch_ends(run("softmax", dataset=dataset))
    assert len(ends) == 10 and ends[-1].test_accuracy >= floor


def test_the_notes_deeper_mlp_is_a_model():
    sizes = [784, 520, 320, 240, 120, 10]
    assert parameter_count(build_model("mlp-deep")) == sum(a * b + b for a, b in zip(sizes, sizes[1:]))


# --- linear regression ----------------------------------------------------------------------------

def test_linear_regression_recovers_w_and_b_and_both_implementations_agree():
    cfg = scratch.LinRegConfig()
    own = list(scratch.train_linreg_scratch(cfg))
    concise = list(scratch.train_linreg_concise(cfg))
    last = own[-1]
    assert isinstance(last, scratch.LinRegEpoch) and last.epoch == 3
    assert np.allclose(last.w, cfg.true_w, atol=0.02) and abs(last.b - cfg.true_b) < 0.02
    assert len(own) == len(concise) == 3 * 101
    assert np.allclose(last.w, concise[-1].w, atol=1e-5) and last.loss == pytest.approx(concise[-1].loss, rel=1e-4)


def test_digitpad_linreg_prints_json_with_the_learned_and_true_parameters(capsys):
    assert main(["linreg", "--epochs", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["true_w"] == [2, -3.4] and out["true_b"] == 4.2 and len(out["loss"]) == 2
    assert np.allclose(out["w"], [2, -3.4], atol=0.02) and out["loss"][1] < out["loss"][0]
    with pytest.raises(SystemExit) as refused:  # refused while parsing, naming the flag
        main(["linreg", "--lr", "0"])
    assert refused.value.code == 2 and "argument --lr: must be positive" in capsys.readouterr().err


def test_the_reported_loss_is_a_mean_even_over_the_short_last_batch(mnist):
    """1030 images in batches of 256 end with one of 6: its loss is not to be divided by 256 (a dip to ~0)."""
    events = run("softmax", epochs=1, train_limit=1030, test_limit=100, batch_size=256)
    losses = [e.loss for e in events if isinstance(e, Progress)]
    assert len(losses) == 5 and losses[-1] > 0.5 * losses[-2]
