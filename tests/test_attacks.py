"""Attacks (core/attacks.py): the budget always holds, FGSM and PGD fool the shipped models as they should, the ε
search and the robustness curve behave, and adversarial training buys robustness."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from digitpad.core.attacks import (ATTACKS, AttackSettings, CurveFinished, CurvePoint, CurveProgress, PixelModel,
                                   attack, attack_pixels, pixel_model, project, robustness_curve,
                                   smallest_flipping_eps)
from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.events import Finished, RunControl
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes
from digitpad.core.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def softmax():
    return load_checkpoint(ASSETS_DIR / "mnist-softmax.pt")


@pytest.fixture(autouse=True)
def one_thread():
    """Single drawings and small batches: one thread is faster than two on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def drawing(digit: int) -> np.ndarray:
    return stroke_pixels(StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in digit_strokes(digit)]))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), eps=st.one_of(st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0]),
                                                       st.floats(0.0, 1.0, allow_nan=False)),
       kind=st.sampled_from(ATTACKS), target=st.one_of(st.none(), st.integers(0, 9)), steps=st.integers(1, 4),
       per_image=st.booleans())
def test_every_attack_keeps_delta_within_eps_and_pixels_in_0_1(softmax, seed, eps, kind, target, steps, per_image):
    """In float64 on the very float32 values the model sees, for any ε (one for all, or one per image), with
    pixels at 0, at 1 and in between (where x ± ε rounds outward in float32)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 1, 28, 28, generator=gen)
    x[0], x[1, 0, :14] = 0.0, 1.0
    labels = torch.randint(0, 10, (6,), generator=gen)
    budget = torch.rand(6, generator=gen).double() * eps if per_image else eps
    adv = attack(pixel_model(softmax), x, labels, kind, budget, steps=steps, target=target)
    limit = torch.as_tensor(budget, dtype=torch.float64).reshape(-1, 1, 1, 1) if per_image else eps
    assert adv.dtype == x.dtype and adv.shape == x.shape
    assert ((adv.double() - x.double()).abs() <= limit).all()
    assert adv.min() >= 0.0 and adv.max() <= 1.0


def test_projection_is_exact_where_float32_rounds_outward():
    x = torch.full((1, 1, 2, 2), 0.3)
    adv = project(torch.full_like(x, 0.9), x, 0.1)
    assert (adv.double() - x.double()).max() <= 0.1 and adv.max() > 0.3999


def test_fgsm_at_a_quarter_flips_most_correct_test_digits_of_the_shipped_softmax(softmax, mnist):
    model = pixel_model(softmax)
    x = mnist.test.images[:500].unsqueeze(1).float() / 255
    y = mnist.test.labels[:500]
    with torch.no_grad():
        right = model(x).argmax(1) == y
        fooled = model(attack(model, x[right], y[right], "fgsm", 0.25)).argmax(1) != y[right]
    assert right.float().mean() > 0.85
    assert fooled.float().mean() >= 0.5


def test_targeted_pgd_reaches_its_target_for_most_drawings(shipped_cnn):
    results = [attack_pixels(shipped_cnn, drawing(d), AttackSettings("pgd", 0.2, target=(d + 5) % 10, steps=20))
               for d in range(10)]
    assert all(r.before.label == d for d, r in enumerate(results))  # the drawings read right before
    reached = [r.after.label == (d + 5) % 10 for d, r in enumerate(results)]
    assert sum(reached) >= 8, reached
    assert all(r.linf <= 0.2 and r.flipped == ok for r, ok in zip(results, reached))


def test_an_attack_on_a_drawing_says_what_changed(softmax):
    r = attack_pixels(softmax, drawing(3), AttackSettings("fgsm", 0.0))
    assert r.after.label == r.before.label == 3 and r.linf == 0.0 and not r.flipped
    r = attack_pixels(softmax, drawing(3), AttackSettings("fgsm", 0.3))
    assert r.flipped and r.after.label != 3 and r.linf == pytest.approx(0.3, abs=1e-6)
    assert np.allclose(r.adversarial, np.clip(r.before.pixels + r.delta, 0, 1), atol=1e-6)
    # FGSM's δ is ε times the sign of the gradient wherever [0, 1] leaves room
    inside = (r.before.pixels > 0.31) & (r.before.pixels < 0.69)
    assert np.allclose(r.delta[inside], 0.3 * np.sign(r.gradient[inside]), atol=1e-6)


def test_the_smallest_flipping_eps_flips_and_a_little_less_does_not(softmax):
    pixels = drawing(7)
    eps = smallest_flipping_eps(softmax, pixels, "fgsm")
    assert eps is not None and 0 < eps < 0.5
    assert attack_pixels(softmax, pixels, AttackSettings("fgsm", eps)).flipped
    assert not attack_pixels(softmax, pixels, AttackSettings("fgsm", max(eps - 0.02, 0.0))).flipped
    assert smallest_flipping_eps(softmax, pixels, "fgsm", target=7) == 0.0  # it already says 7


def test_bad_settings_are_refused_in_words():
    for bad, words in ((dict(kind="cw"), "unknown attack"), (dict(eps=-0.1), "ε must be"),
                       (dict(eps=float("nan")), "ε must be"), (dict(target=10), "target"), (dict(steps=0), "steps")):
        with pytest.raises(ValueError, match=words):
            AttackSettings(**bad)
    with pytest.raises(ValueError, match="28×28"):
        attack_pixels(None, np.zeros((8, 8)), AttackSettings())


def test_the_robustness_curve_reports_progress_points_and_stops(softmax, mnist):
    events = list(robustness_curve(softmax, mnist.test.images[:300], mnist.test.labels[:300], (0.0, 0.1, 0.2),
                                   ("fgsm", "pgd"), steps=5, batch_size=100))
    points = [e for e in events if isinstance(e, CurvePoint)]
    done = [e.done for e in events if isinstance(e, CurveProgress)]
    assert done == sorted(done) and done[-1] == 300 * 6
    assert [(p.attack, p.eps) for p in points] == [(k, e) for k in ("fgsm", "pgd") for e in (0.0, 0.1, 0.2)]
    curve = events[-1].curve
    assert isinstance(events[-1], CurveFinished) and not events[-1].stopped
    for kind in ("fgsm", "pgd"):
        acc = curve.accuracy[kind]
        assert acc[0] > 0.85 and acc[0] > acc[1] > acc[2] - 1e-9  # clean first, then down
    assert curve.accuracy["pgd"][1] <= curve.accuracy["fgsm"][1]  # PGD is the stronger attack

    control = RunControl()
    seen = []
    for ev in robustness_curve(softmax, mnist.test.images[:300], mnist.test.labels[:300], (0.0, 0.1), ("pgd",),
                               batch_size=100, control=control):
        seen.append(ev)
        if isinstance(ev, CurveProgress) and ev.done == 200:
            control.stop()
    assert isinstance(seen[-1], CurveFinished) and seen[-1].stopped
    assert [e.done for e in seen if isinstance(e, CurveProgress)] == [100, 200]


def train(**kw):
    cfg = TrainConfig.for_model("softmax", epochs=2, train_limit=5000, test_limit=500, device="cpu", seed=0, **kw)
    return next(e.model for e in Trainer(cfg).run() if isinstance(e, Finished))


def test_adversarial_training_keeps_more_accuracy_at_eps_0_1_than_plain_training(mnist):
    """The same data and seed; FGSM ε 0.1 examples mixed into each batch (measured: 32 % → 54 %)."""
    test = mnist.test.head(1000)

    def under_attack(model):
        return [e for e in robustness_curve(model, test.images, test.labels, (0.0, 0.1), ("fgsm",))][-1].curve

    plain, robust = under_attack(train()), under_attack(train(adversarial="fgsm", adv_eps=0.1))
    assert robust.accuracy["fgsm"][1] >= plain.accuracy["fgsm"][1] + 0.1
    assert robust.accuracy["fgsm"][0] > 0.8  # still reads clean digits


def test_the_plain_path_is_unchanged_and_bad_adversarial_settings_are_refused():
    assert TrainConfig().adversarial == "none"
    with pytest.raises(ValueError, match="adversarial"):
        TrainConfig(adversarial="cw").validate()
    with pytest.raises(ValueError, match="adv eps"):
        TrainConfig(adversarial="fgsm", adv_eps=0.0).validate()
    with pytest.raises(ValueError, match="no adversarial training"):
        TrainConfig.for_model("softmax-scratch", adversarial="pgd").validate()
    pixels_model = PixelModel(torch.nn.Flatten(), 0.5, 0.25)
    assert torch.equal(pixels_model(torch.ones(1, 1, 2, 2)), torch.full((1, 4), 2.0))


def test_a_broken_detector_file_is_refused_in_words_and_answers_fall_back(tmp_path, monkeypatch, capsys):
    from digitpad.core import inference, ood

    bad = tmp_path / "not-a-digit.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot use the not-a-digit detector"):
        ood.read_detector(bad)
    monkeypatch.setattr(ood, "DETECTOR_PATH", bad)
    ood._shipped.cache_clear()
    try:
        softmax = load_checkpoint(ASSETS_DIR / "mnist-softmax.pt")
        pred = inference.classify_pixels(softmax, drawing(7))
        assert pred.not_digit_score is None and not pred.not_a_digit
        assert "rests on the probability threshold alone" in capsys.readouterr().err
    finally:
        ood._shipped.cache_clear()
