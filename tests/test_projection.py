"""The map of the digits: penultimate-layer features, PCA, the 5-NN score, the command line and the Canvas tab's map."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from digitpad.cli import main
from digitpad.core import projection
from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.events import EpochEnd
from digitpad.core.trainer import TrainConfig, Trainer
from digitpad.gui.canvas.tab import dataset_picture


@pytest.fixture(scope="module")
def shipped_softmax():
    return load_checkpoint(ASSETS_DIR / "mnist-softmax.pt")


@pytest.fixture(scope="module")
def cnn_map(shipped_cnn, mnist):
    return projection.build_map(shipped_cnn, mnist.test, points=400)


def test_features_are_the_last_layers_input_and_logits_for_softmax_regression(shipped_cnn, shipped_softmax, mnist):
    images = mnist.test.images[:8]
    cnn_features, cnn_predictions = projection.image_features(shipped_cnn, images)
    softmax_features, _ = projection.image_features(shipped_softmax, images)
    assert cnn_features.shape == (8, 128) and (cnn_features >= 0).all()  # after the ReLU
    assert softmax_features.shape == (8, 10)  # the logits: its only layer is the last
    last = shipped_cnn.model[-1]
    logits = cnn_features.float() @ last.weight.T + last.bias
    assert (logits.argmax(1) == cnn_predictions).all()


def test_a_test_image_lands_on_its_dot_whether_from_the_data_set_or_opened_on_the_canvas(shipped_cnn, cnn_map, mnist):
    scale = np.abs(cnn_map.positions).max()
    for i in (0, 17, 399):
        picture = dataset_picture(mnist.test.images[cnn_map.indices[i]].numpy(), "test image")
        placed = cnn_map.place(shipped_cnn, picture.pixels)
        assert np.allclose(placed, cnn_map.positions[i], atol=1e-5 * scale)


def test_pca_is_the_same_every_time_with_orthonormal_axes(shipped_cnn, cnn_map, mnist):
    again = projection.build_map(shipped_cnn, mnist.test, points=400)
    assert np.array_equal(again.positions, cnn_map.positions)
    axes = cnn_map.projection.components
    assert np.allclose((axes.T @ axes).numpy(), np.eye(2), atol=1e-9)
    assert cnn_map.positions[:, 0].var() >= cnn_map.positions[:, 1].var()  # the first axis spreads the most
    assert abs(cnn_map.positions.mean(axis=0)).max() < 1e-6 * abs(cnn_map.positions).max()


def test_the_cnns_classes_are_further_apart_on_its_map_than_softmax_regressions(cnn_map, shipped_softmax, mnist):
    softmax_map = projection.build_map(shipped_softmax, mnist.test, points=400)
    assert cnn_map.knn_accuracy > softmax_map.knn_accuracy + 0.2
    assert cnn_map.knn_accuracy > 0.8 and 0.1 < softmax_map.knn_accuracy < 0.8
    wrong = (cnn_map.predictions != cnn_map.labels).sum()
    assert wrong <= 8  # the shipped CNN errs on ~0.5 % of the test set


def test_knn_accuracy_scores_separated_and_mixed_classes():
    rng = np.random.default_rng(0)
    apart = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    labels = np.repeat([0, 1], 50)
    assert projection.knn_accuracy(apart, labels) == 1.0
    assert projection.knn_accuracy(apart, rng.permutation(labels)) < 0.7


def test_later_epochs_can_be_laid_out_on_the_first_ones_axes(mnist, shipped_cnn, cnn_map):
    other = projection.build_map(shipped_cnn, mnist.test, points=200, projection=cnn_map.projection)
    assert other.projection is cnn_map.projection
    assert np.allclose(other.positions, cnn_map.positions[:200])


def run(capsys, *args):
    try:
        status = main(["map", *map(str, args)])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def test_map_command_prints_its_json_line_and_draws_the_figure(capsys, tmp_path, mnist):
    out = tmp_path / "map.png"
    status, text, err = run(capsys, "--points", "300", "--json", "--out", out)
    assert status == 0 and f"wrote {out}" in err
    answer = json.loads(text)
    assert answer["method"] == "pca" and answer["points"] == 300 and 0.8 < answer["knn_accuracy"] <= 1
    assert run(capsys, "--points", "300", "--json")[1] == text  # the same map every time
    with Image.open(out) as figure:
        assert figure.width >= 800 and figure.height >= 800
        rgb = figure.convert("RGB")
        assert len({rgb.getpixel((x, y)) for x in range(100, 900, 20) for y in range(150, 900, 20)}) > 6


@pytest.mark.parametrize("args, message", [
    (("--points", "5"), "argument --points: must be in [100, 10000]"),
    (("--method", "umap"), "argument --method: invalid choice"),
    (("--model", "missing.pt"), "cannot load model"),
    (("--out", "map.svg"), "the figure is written as .png"),
])
def test_map_command_refuses_bad_values_in_one_line(capsys, args, message):
    status, _, err = run(capsys, *args)
    assert status == 2 and message in err and "Traceback" not in err


# --- the map on the Canvas tab ---------------------------------------------------------------------


def test_the_map_opens_a_clicked_dot_on_the_canvas_where_the_star_then_lies(qtbot, window):
    canvas = window.canvas
    names = [m.name for m in window.library.models]
    window.library.set_active(names.index("mnist-cnn"))
    window.tabs.setCurrentWidget(canvas)
    panel = canvas.map_panel
    with qtbot.waitSignal(panel.map_ready, timeout=60_000):
        qtbot.mouseClick(canvas.map_button, Qt.MouseButton.LeftButton)
    assert panel.isVisible() and not canvas.chart.isVisible() and not canvas.explain_area.isVisible()
    m = panel.digit_map
    assert len(m.labels) == 2000 and "5-NN accuracy in 2-D" in panel.status.text()
    assert "misclassified" in panel.view.legend.text() and "your&nbsp;drawing" in panel.view.legend.text()
    i = int(np.argmax(m.positions[:, 0]))  # the rightmost dot: nothing on top of it
    plot = panel.view.plot
    at = plot.mapFromScene(plot.getPlotItem().vb.mapViewToScene(QPointF(*m.positions[i])))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert canvas.picture is not None and f"test image {m.indices[i]}," in canvas.picture.name
    star = plot.drawing_position()
    assert star is not None and np.allclose(star, m.positions[i], atol=1e-4 * np.abs(m.positions).max())
    assert canvas.prediction.label == m.predictions[i]
    qtbot.mouseClick(canvas.explain_button, Qt.MouseButton.LeftButton)
    assert canvas.explain_area.isVisible() and not panel.isVisible() and not canvas.map_button.isChecked()


def test_following_training_keeps_the_first_epochs_axes(qtbot, mnist):
    from digitpad.gui.map.panel import MapPanel

    cfg = TrainConfig.for_model("softmax", train_limit=2000, test_limit=100, epochs=2, device="cpu")
    epochs = [replace(e.snapshot, source="run 1") for e in Trainer(cfg).run() if isinstance(e, EpochEnd)]
    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.set_active(True)
    panel.follow_run.setChecked(True)
    with qtbot.waitSignal(panel.map_ready, timeout=30_000):
        panel.training_snapshot(epochs[0])
    first = panel.digit_map
    with qtbot.waitSignal(panel.map_ready, timeout=30_000):
        panel.training_snapshot(epochs[1])
    second = panel.digit_map
    assert second.projection is first.projection and panel.model is epochs[1]
    assert not np.allclose(second.positions, first.positions)  # the features moved, the axes stayed
    with qtbot.waitSignal(panel.map_ready, timeout=30_000):
        panel.refit.click()
    assert panel.digit_map.projection is not first.projection


def test_my_digits_appear_on_the_map_where_their_images_put_them(qtbot, shipped_cnn, mnist):
    from digitpad.gui.map.panel import MapPanel

    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.set_active(True)
    with qtbot.waitSignal(panel.map_ready, timeout=60_000):
        panel.set_canvas_model(shipped_cnn)
    m = panel.digit_map
    # Three "kept drawings" that are test images on the map: each diamond lands on its own dot.
    samples = [(m.images[i].astype(np.float32) / 255, int(m.labels[i])) for i in (3, 40, 500)]
    panel.set_personal(samples)
    assert len(panel.view.plot.personal.data) == 0  # not ticked: not shown
    with qtbot.waitSignal(panel.personal_placed, timeout=30_000):
        panel.personal_box.setChecked(True)
    shown = panel.view.plot.personal.data
    placed = np.stack([shown["x"], shown["y"]], axis=1)
    assert np.allclose(placed, m.positions[[3, 40, 500]], atol=1e-4 * np.abs(m.positions).max())
    assert "My&nbsp;digits" in panel.view.legend.text()
    panel.personal_box.setChecked(False)
    assert len(panel.view.plot.personal.data) == 0
