"""Preprocessing makes MNIST-style 28×28 fields from any picture of a digit."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitpad.core.preprocess import mnist_pixels, stroke_pixels, to_tensor
from digitpad.core.strokes import StrokeError, StrokeSet, rasterize_strokes


def draw_digit_box(size: int, box: tuple[int, int, int, int], width: int, dark_on_light: bool = True) -> Image.Image:
    """A '0'-like ring inside `box` on a square image."""
    bg, ink = (255, 0) if dark_on_light else (0, 255)
    im = Image.new("L", (size, size), bg)
    ImageDraw.Draw(im).ellipse(box, outline=ink, width=width)
    return im


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(x.shape)
    return float((ys * x).sum() / x.sum()), float((xs * x).sum() / x.sum())


def test_output_is_28x28_in_unit_range_with_20px_box():
    px = mnist_pixels(draw_digit_box(280, (50, 30, 200, 250), 20))
    assert px.shape == (28, 28) and px.dtype == np.float32
    assert 0.0 <= px.min() and px.max() == pytest.approx(1.0)
    rows, cols = np.flatnonzero(px.any(1)), np.flatnonzero(px.any(0))
    assert rows[-1] - rows[0] + 1 in (20, 21)  # the longer side fits 20 px (+1 for the sub-pixel shift)
    assert cols[-1] - cols[0] + 1 < 18  # aspect kept: the ring is taller than wide


def test_small_off_centre_and_large_centred_digit_give_the_same_field():
    small = mnist_pixels(draw_digit_box(280, (10, 10, 70, 90), 6))
    large = mnist_pixels(draw_digit_box(280, (60, 20, 210, 220), 15))
    cy, cx = centre_of_mass(small)
    assert abs(cy - 13.5) < 0.6 and abs(cx - 13.5) < 0.6
    assert np.abs(small - large).mean() < 0.08


def test_light_on_dark_equals_dark_on_light():
    a = mnist_pixels(draw_digit_box(200, (40, 30, 150, 180), 12, dark_on_light=True))
    b = mnist_pixels(draw_digit_box(200, (40, 30, 150, 180), 12, dark_on_light=False))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_blank_images_have_no_ink():
    assert mnist_pixels(Image.new("L", (280, 280), 255)) is None
    assert mnist_pixels(np.zeros((28, 28), np.uint8)) is None
    assert mnist_pixels(np.full((50, 50), 0.5)) is None


def test_photo_like_grey_paper_with_noise_is_cleaned():
    rng = np.random.default_rng(0)
    clean = np.asarray(draw_digit_box(200, (50, 30, 150, 180), 14), dtype=np.float64)
    photo = 0.75 * clean + 40 + rng.normal(0, 6, clean.shape)  # grey paper, grey ink, sensor noise
    px = mnist_pixels(np.clip(photo, 0, 255).astype(np.uint8))
    ref = mnist_pixels(clean.astype(np.uint8))
    assert np.abs(px - ref).mean() < 0.05


def test_rgba_with_transparent_background_keeps_the_ink():
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[20:80, 45:55] = (0, 0, 0, 255)  # black bar on fully transparent
    px = mnist_pixels(Image.fromarray(rgba, "RGBA"))
    assert px is not None and px[:, 13:15].sum() > px.sum() * 0.5


def test_normalization_uses_the_model_statistics():
    px = np.zeros((28, 28), np.float32)
    t = to_tensor(px, 0.1307, 0.3081)
    assert t.shape == (1, 28, 28)
    assert float(t[0, 0, 0]) == pytest.approx(-0.1307 / 0.3081)


def stroke_set(strokes, size=280, pen=18):
    return StrokeSet.from_json({"width": size, "height": size, "pen_width": pen, "strokes": strokes})


def test_rasterized_strokes_are_white_ink_with_round_caps():
    img = rasterize_strokes(stroke_set([[[140, 40], [140, 240]]]))
    assert img.shape == (280, 280) and img.dtype == np.uint8
    assert img[140, 140] == 255 and img[140, 100] == 0
    assert img[34, 140] == 255  # the round cap reaches past the end point


def test_eraser_strokes_remove_ink():
    drawn = stroke_set([[[140, 40], [140, 240]]])
    erased = stroke_set([[[140, 40], [140, 240]], {"points": [[100, 140], [180, 140]], "erase": True}], pen=18)
    assert rasterize_strokes(erased)[140, 140] == 0
    assert rasterize_strokes(drawn).sum() > rasterize_strokes(erased).sum()


def test_empty_and_bad_strokes():
    assert stroke_pixels(stroke_set([])) is None
    assert stroke_pixels(stroke_set([[]])) is None
    nan_only = stroke_set([[[float("nan"), 3], [float("inf"), 4]]])
    assert stroke_pixels(nan_only) is None
    with pytest.raises(StrokeError):
        StrokeSet.from_json({"width": 0, "height": 280, "pen_width": 5, "strokes": []})
    with pytest.raises(StrokeError):
        StrokeSet.from_json({"width": 280, "height": 280, "pen_width": -1, "strokes": []})
    with pytest.raises(StrokeError):
        StrokeSet.from_json({"width": 280, "height": 280, "pen_width": 5, "strokes": [["a", "b"]]})


def test_huge_and_negative_coordinates_are_clamped_not_crashing():
    s = stroke_set([[[-1e30, -5], [1e30, 1e300], [140, 140]]])
    px = stroke_pixels(s)
    assert px is not None and px.shape == (28, 28)


def test_a_thin_line_digit_and_a_small_digit_in_large_pictures_are_found():
    """The ink's strength is what pixels share with a neighbour, not a percentile a small digit is below."""
    thin = draw_digit_box(1000, (300, 200, 700, 800), 1)  # a 1-px ring in a 1000×1000 picture
    small = draw_digit_box(1000, (800, 60, 840, 120), 4)  # a 40×60 px ring, 0.06 % of the picture
    for im in (thin, small):
        px = mnist_pixels(im)
        assert px is not None and px.max() > 0.9


def test_isolated_specks_are_not_ink():
    rng = np.random.default_rng(0)
    dusty = np.full((1000, 1000), 255, np.uint8)
    dusty[rng.integers(1, 999, 200), rng.integers(1, 999, 200)] = 0  # 200 lone black specks
    assert mnist_pixels(dusty) is None


def small_thick(digit_strokes_, pen, scale=0.3, dx=-80, dy=80):
    from digitpad.core.strokes import Stroke, as_points
    from digitpad.core.sample_digits import transform

    moved = transform(digit_strokes_, scale=scale, dx=dx, dy=dy)
    return StrokeSet(280, 280, pen, [Stroke(as_points(s)) for s in moved])


def test_the_network_sees_the_same_pen_whatever_the_brush_size_and_place():
    from digitpad.core.sample_digits import digit_strokes

    large = stroke_pixels(small_thick(digit_strokes(5), pen=18, scale=1.0, dx=0, dy=0))
    for pen in (8, 14, 24):
        small = stroke_pixels(small_thick(digit_strokes(5), pen=pen))
        assert np.abs(small - large).mean() < 0.03
    before = mnist_pixels(rasterize_strokes(small_thick(digit_strokes(5), pen=24)))
    assert np.abs(before - large).mean() > 0.1  # the user's brush as drawn: a blob


def test_pressure_varies_the_network_pen_and_erased_ink_stays_erased():
    from digitpad.core.preprocess import network_strokes
    from digitpad.core.strokes import Stroke

    bar = [(140.0, 100.0, 1.0), (140.0, 180.0, 1.0)]
    pressed = [(140.0, 100.0, 1.0), (140.0, 140.0, 1.0), (140.0, 180.0, 2.0)]
    even = network_strokes(StrokeSet(280, 280, 30, [Stroke(bar)]))
    varied = network_strokes(StrokeSet(280, 280, 30, [Stroke(pressed)]))
    assert even.strokes[0].points[0][2] == varied.strokes[0].points[0][2] == 1.0
    assert varied.strokes[0].points[-1][2] > 1.0  # harder pressure stays wider, relative to the new pen
    erased = StrokeSet(280, 280, 30, [Stroke(bar), Stroke([(120, 140, 1.0), (160, 140, 1.0)], erase=True)])
    image = rasterize_strokes(network_strokes(erased))
    assert image[:, image.shape[1] // 2].min() == 0  # the eraser still cuts the bar in two


def test_thick_ink_in_an_image_is_thinned_and_mnist_like_ink_is_kept():
    from digitpad.core.preprocess import stroke_width, thin_thick_ink

    thin = np.asarray(draw_digit_box(280, (60, 20, 210, 250), 18, dark_on_light=False), np.float32) / 255
    assert thin_thick_ink(thin) is thin
    thick = np.asarray(draw_digit_box(140, (20, 20, 99, 119), 30, dark_on_light=False), np.float32) / 255
    thinned = thin_thick_ink(thick)  # the ring measured and thinned at a 100-px side, as drawn here
    assert 0.3 * stroke_width(thick > 0.5) < stroke_width(thinned > 0.5) < 0.8 * stroke_width(thick > 0.5)
    assert mnist_pixels(Image.fromarray((thick * 255).astype(np.uint8))) is not None
