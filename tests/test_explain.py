"""The explanation of one prediction (core, no Qt): what the Explain panel and `digitpad explain` draw."""

import numpy as np
import pytest

from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.explain import (IG_STEPS, ConvBlock, DenseActivations, EvidenceMaps, explain_pixels, explain_strokes,
                                   label_loss, private_copy, saliency_of, softmax_steps, thumbnail, unit_arithmetic)
from digitpad.core.inference import UNSURE_BELOW, classify_strokes
from digitpad.core.preprocess import STROKE_RATIO, WORK_EXTENT, stroke_pixels
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes, scribble, transform


@pytest.fixture(scope="module")
def models():
    return {name: load_checkpoint(ASSETS_DIR / f"mnist-{name}.pt") for name in ("softmax", "mlp", "cnn")}


def drawing(digit, **placement) -> StrokeSet:
    return StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in transform(digit_strokes(digit), **placement)])


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_the_explanation_predicts_what_the_canvas_predicts(models, name):
    strokes = drawing(4, scale=0.5, dx=-60, dy=50)
    explanation = explain_strokes(models[name], strokes)
    plain = classify_strokes(models[name], strokes)
    assert explanation.label == plain.label
    np.testing.assert_allclose(explanation.prediction.probabilities, plain.probabilities, atol=1e-6)
    np.testing.assert_array_equal(explanation.steps.centred, stroke_pixels(strokes))


def test_the_preprocessing_strip_shows_each_step(models):
    e = explain_strokes(models["cnn"], drawing(7, scale=0.4, dx=70, dy=-60))  # small, in a corner
    steps = e.steps
    assert steps.drawn_size == (280, 280) and max(steps.drawn.shape) <= 112
    # cropped: the digit as the network gets it, redrawn at WORK_EXTENT with its pen, whatever its size
    assert max(steps.cropped_size) == pytest.approx(WORK_EXTENT * (1 + STROKE_RATIO), abs=4)
    assert max(steps.fitted.shape) == 20 and steps.centred.shape == (28, 28)
    ys, xs = np.nonzero(steps.centred)
    w = steps.centred[ys, xs]
    assert abs(np.average(ys, weights=w) - 13.5) < 0.5 and abs(np.average(xs, weights=w) - 13.5) < 0.5
    np.testing.assert_allclose(steps.normalized, (steps.centred - steps.mean) / steps.std, atol=1e-6)
    block = np.kron(np.arange(12.0).reshape(3, 4), np.ones((100, 100)))  # a 300×400 picture of 12 flat blocks
    small = thumbnail(block, 112)
    assert small.shape == (75, 100) and np.allclose(small[::25, ::25], np.arange(12.0).reshape(3, 4))


def test_softmax_steps_recompute_the_probabilities(models):
    e = explain_strokes(models["mlp"], drawing(3))
    s = e.softmax(1.0)
    np.testing.assert_allclose(s.exps, np.exp(s.logits), rtol=1e-12)
    assert s.total == pytest.approx(s.exps.sum())
    np.testing.assert_allclose(s.exps / s.total, e.prediction.probabilities, atol=1e-6)
    assert s.probabilities.sum() == pytest.approx(1.0, abs=1e-12)


def test_temperature_keeps_the_argmax_and_flattens_towards_uniform():
    logits = np.array([2.0, -1.0, 7.5, 0.3, 0.0, -4.0, 1.0, 6.9, 2.2, -0.5])
    for t in (0.1, 0.5, 1.0, 3.0, 10.0):
        assert softmax_steps(logits, t).probabilities.argmax() == 2
    assert np.abs(softmax_steps(logits, 10.0).probabilities - 0.1).max() < np.abs(
        softmax_steps(logits, 1.0).probabilities - 0.1).max()
    assert np.abs(softmax_steps(logits, 1e6).probabilities - 0.1).max() < 1e-5
    assert softmax_steps(logits, 0.1).probabilities[2] > 0.99  # sharpened


def test_huge_logits_at_low_temperature_stay_finite():
    s = softmax_steps(np.array([120.0, 0.0, -50.0] + [1.0] * 7), 0.1)
    assert s.shift == pytest.approx(1200.0) and np.isfinite(s.exps).all()
    assert s.probabilities[0] == pytest.approx(1.0)
    loss = label_loss(s, 1)
    assert loss.loss == pytest.approx(1200.0, rel=1e-6)  # −log p[1] is finite even when p[1] rounds to 0


def test_label_loss_is_cross_entropy_and_its_gradient_is_p_minus_onehot():
    s = softmax_steps(np.array([1.0, 2.0, 0.5, -1.0, 0.0, 0.2, 3.0, -2.0, 1.5, 0.1]))
    loss = label_loss(s, 6)
    assert loss.loss == pytest.approx(-np.log(s.probabilities[6]))
    expected = s.probabilities.copy()
    expected[6] -= 1
    np.testing.assert_allclose(loss.gradient, expected)
    assert loss.gradient.sum() == pytest.approx(0.0, abs=1e-12)
    assert label_loss(s, 7).loss > loss.loss  # the least likely label costs more
    with pytest.raises(ValueError):
        label_loss(s, 10)
    with pytest.raises(ValueError):
        softmax_steps(s.logits, 0.0)


def test_evidence_maps_sum_to_the_logits(models):
    e = explain_strokes(models["softmax"], drawing(2))
    (evidence,) = e.layers
    assert isinstance(evidence, EvidenceMaps) and evidence.maps.shape == (10, 28, 28)
    np.testing.assert_allclose(evidence.sums, e.prediction.logits, atol=1e-4)


def test_mlp_hidden_layers_have_their_sizes(models):
    e = explain_strokes(models["mlp"], drawing(5))
    assert [type(layer) for layer in e.layers] == [DenseActivations] * 4
    assert [layer.values.shape for layer in e.layers] == [(512,), (256,), (128,), (64,)]
    assert all(0 < layer.active <= len(layer.values) and (layer.values >= 0).all() for layer in e.layers)


def test_cnn_feature_maps_have_the_layer_shapes_and_the_arithmetic_adds_up(models):
    e = explain_strokes(models["cnn"], drawing(8))
    blocks = [layer for layer in e.layers if isinstance(layer, ConvBlock)]
    assert [b.maps.shape for b in blocks] == [(16, 12, 12), (32, 4, 4)]
    assert [b.filters.shape for b in blocks] == [(16, 1, 5, 5), (32, 16, 5, 5)]
    assert isinstance(e.layers[-1], DenseActivations) and e.layers[-1].values.shape == (128,)
    for block in blocks:
        for channel in (0, block.maps.shape[0] - 1):
            u = unit_arithmetic(block, channel)
            # by hand: patch × filter + bias (batch norm folded in) → max-pool → ReLU = the map's value
            assert u.pre_activation == pytest.approx(block.pre_pool[channel, u.conv_row, u.conv_col], abs=1e-4)
            assert u.output == pytest.approx(block.maps[channel, u.row, u.col], abs=1e-5)
            assert u.output == pytest.approx(block.maps[channel].max(), abs=1e-5)


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_saliency_is_finite_and_highest_on_ink(models, name):
    e = explain_strokes(models[name], drawing(0))
    ink = e.steps.centred > 0.5
    for saliency in (e.saliency.top, e.saliency.runner_up):
        assert saliency.shape == (28, 28) and np.isfinite(saliency).all()
    top = np.abs(e.saliency.top)
    assert top[ink].mean() > 10 * top[e.steps.centred == 0].mean()
    assert np.abs(e.saliency.runner_up).max() > 0  # it also speaks about pixels with no ink


def test_saliency_of_softmax_regression_is_the_weight_times_the_pixel(models):
    trained = models["softmax"]
    e = explain_strokes(trained, drawing(6))
    w = trained.model[1].weight.detach().numpy().reshape(10, 28, 28) / trained.meta.std
    np.testing.assert_allclose(e.saliency.top, w[e.label] * e.steps.centred, atol=1e-5)
    np.testing.assert_allclose(e.saliency.runner_up, w[e.runner_up] - w[e.label], atol=1e-5)


def test_scribbles_and_a_speck_are_unsure_a_clear_digit_is_not(models):
    cnn = models["cnn"]
    scribbles = [explain_strokes(cnn, scribble(seed)) for seed in range(10)]
    assert sum(e.unsure for e in scribbles) >= 7
    dot = StrokeSet(280, 280, 18, [Stroke([(140.0, 140.0, 1.0)])])  # one tap on the canvas
    assert explain_strokes(cnn, dot).prediction.not_a_digit
    clear = explain_strokes(cnn, drawing(7))
    assert not clear.unsure and clear.prediction.confidence >= UNSURE_BELOW
    assert explain_strokes(cnn, drawing(7), unsure_below=0.99).unsure  # the threshold is settable
    assert scribbles[0].prediction.runner_up != scribbles[0].label


def test_nothing_drawn_explains_nothing(models):
    assert explain_strokes(models["cnn"], StrokeSet(280, 280, 18, [])) is None


def test_the_folded_filters_follow_the_weights_when_they_change(models):
    import copy

    import torch

    trained = copy.deepcopy(models["cnn"])
    strokes = drawing(8)
    first = [layer for layer in explain_strokes(trained, strokes).layers if isinstance(layer, ConvBlock)][0]
    with torch.no_grad():
        trained.model[0].weight.mul_(2)  # in place, as an optimizer step would
    second = [layer for layer in explain_strokes(trained, strokes).layers if isinstance(layer, ConvBlock)][0]
    np.testing.assert_allclose(second.filters, 2 * first.filters, rtol=1e-5)
    u = unit_arithmetic(second, 3)
    assert u.pre_activation == pytest.approx(second.pre_pool[3, u.conv_row, u.conv_col], abs=1e-4)


def test_the_top_saliency_adds_up_to_the_rise_over_a_blank_field(models):
    import torch

    for name in ("mlp", "cnn"):
        trained = models[name]
        e = explain_strokes(trained, drawing(4))
        with torch.no_grad():
            blank = trained.model(torch.full((1, 1, 28, 28), -trained.meta.mean / trained.meta.std))[0, e.label]
        rise = e.prediction.logits[e.label] - float(blank)
        assert e.saliency.top.sum() == pytest.approx(rise, rel=0.3)  # completeness, roughly, at 10 steps
        assert e.saliency.top[e.saliency.top > 0].sum() > -e.saliency.top[e.saliency.top < 0].sum()  # mostly red


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_the_workers_private_copy_gives_the_plain_integrated_gradients(models, name):
    """The worker's copy (batch norm folded, first layer run once) computes what the textbook batch does:
    the drawing and IG_STEPS fainter copies through the model, ∂z_top averaged, times the pixels."""
    import torch

    trained = models[name]
    pixels = stroke_pixels(drawing(7, scale=0.5, dx=40, dy=-30))
    fast = saliency_of(private_copy(trained.model), trained.meta, pixels)
    e = explain_pixels(trained, pixels, saliency=False)
    assert (fast.label, fast.second) == (e.label, e.runner_up)
    alphas = torch.cat([torch.ones(1), (torch.arange(IG_STEPS) + 0.5) / IG_STEPS])
    batch = (alphas[:, None, None, None] * torch.from_numpy(pixels)).requires_grad_(True)
    logits = trained.model((batch - trained.meta.mean) / trained.meta.std)
    (top,) = torch.autograd.grad(logits[1:, e.label].sum(), batch, retain_graph=True)
    (second,) = torch.autograd.grad(logits[0, e.runner_up] - logits[0, e.label], batch)
    textbook = top[1:, 0].mean(0).numpy() * pixels
    np.testing.assert_allclose(fast.top, textbook, atol=1e-4 * np.abs(textbook).max())
    np.testing.assert_allclose(fast.runner_up, second[0, 0].numpy(), atol=1e-4 * np.abs(fast.runner_up).max())
