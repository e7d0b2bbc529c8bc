"""The Canvas tab driven with real mouse events: draw, undo, clear, drop an image."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from digitpad.core.sample_digits import digit_strokes, transform
from helpers import drag, draw, send_mouse


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_drawn_digits_are_recognised(qtbot, canvas_tab, digit):
    pred = draw(qtbot, canvas_tab, digit)
    assert pred is not None and pred.label == digit
    assert canvas_tab.answer.text().startswith(str(digit))
    assert canvas_tab.chart.bars.isVisible() and canvas_tab.chart.heights.argmax() == digit
    assert canvas_tab.preview.image is not None and canvas_tab.preview.image.size().width() == 28


def test_small_off_centre_digit_is_recognised(qtbot, canvas_tab):
    assert draw(qtbot, canvas_tab, 4, scale=0.35, dx=-80, dy=70).label == 4


def test_a_small_thick_brush_digit_is_read_as_predict_strokes_reads_it(qtbot, canvas_tab, tmp_path):
    """The canvas keeps the user's brush; the network sees an MNIST-like pen, the same in `predict --strokes`."""
    from digitpad.core.preprocess import mnist_pixels, stroke_pixels
    from digitpad.core.strokes import rasterize_strokes

    canvas_tab.brush.setValue(24)
    pred = draw(qtbot, canvas_tab, 3, scale=0.3, dx=-80, dy=80)
    assert pred.label == 3
    drawing = canvas_tab.canvas.stroke_set()
    widths = {round(f * drawing.pen_width, 6) for s in drawing.strokes for *_, f in s.points}
    assert widths == {24}  # the canvas keeps the brush the user chose
    np.testing.assert_array_equal(pred.pixels, stroke_pixels(drawing))  # the preview's picture
    assert pred.pixels.sum() < 0.8 * mnist_pixels(rasterize_strokes(drawing)).sum()  # thinner than the brush
    path = tmp_path / "drawn.json"
    path.write_text(json.dumps(drawing.to_json()))
    out = subprocess.run([sys.executable, "-m", "digitpad", "predict", "--strokes", str(path)],
                         capture_output=True, text=True, timeout=120, check=True)
    np.testing.assert_allclose(json.loads(out.stdout)["probabilities"], pred.probabilities, atol=1e-5)


def test_live_prediction_while_the_pen_moves(qtbot, canvas_tab):
    canvas = canvas_tab.canvas
    stroke = transform(digit_strokes(7))[0]
    sq = canvas.square()
    scale = sq.width() / 280
    pts = [QPointF(sq.left() + x * scale, sq.top() + y * scale) for x, y in stroke]
    send_mouse(canvas, QMouseEvent.Type.MouseButtonPress, pts[0], Qt.MouseButton.LeftButton)
    for p in pts[1:]:
        send_mouse(canvas, QMouseEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(canvas_tab.prediction_changed, timeout=1000):
        pass  # the throttled live update arrives without releasing the button
    assert canvas_tab.prediction is not None
    send_mouse(canvas, QMouseEvent.Type.MouseButtonRelease, pts[-1], Qt.MouseButton.NoButton)


def test_undo_restores_the_previous_prediction_and_clear_empties_the_chart(qtbot, canvas_tab):
    assert not canvas_tab.undo_button.isEnabled() and not canvas_tab.redo_button.isEnabled()  # nothing yet
    first = draw(qtbot, canvas_tab, 1)
    assert canvas_tab.undo_button.isEnabled() and not canvas_tab.redo_button.isEnabled()
    drag(qtbot, canvas_tab.canvas, [(60, 60), (100, 60), (140, 60)])  # a bar over the 1
    assert canvas_tab.prediction.probabilities != first.probabilities
    qtbot.keyClick(canvas_tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(canvas_tab.prediction.probabilities, first.probabilities, atol=1e-9)
    qtbot.mouseClick(canvas_tab.clear_button, Qt.MouseButton.LeftButton)
    assert canvas_tab.prediction is None and not canvas_tab.chart.bars.isVisible()
    assert canvas_tab.answer.text() == "Draw a digit" and canvas_tab.canvas.is_empty()


def test_empty_canvas_predicts_nothing(qtbot, canvas_tab):
    canvas_tab.classify()
    assert canvas_tab.prediction is None and canvas_tab.answer.text() == "Draw a digit"


def test_eraser_removes_ink(qtbot, canvas_tab):
    draw(qtbot, canvas_tab, 1)
    canvas_tab.eraser.setChecked(True)
    canvas_tab.brush.setValue(48)
    drag(qtbot, canvas_tab.canvas, [(150, 20), (150, 140), (150, 260)])
    assert canvas_tab.prediction is None  # everything erased: no ink left


def test_logits_toggle_shows_raw_scores(qtbot, canvas_tab):
    pred = draw(qtbot, canvas_tab, 7)
    canvas_tab.logits_box.setChecked(True)
    np.testing.assert_allclose(canvas_tab.chart.heights, pred.logits)
    canvas_tab.logits_box.setChecked(False)
    np.testing.assert_allclose(canvas_tab.chart.heights, pred.probabilities)


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_a_dropped_png_is_classified(qtbot, canvas_tab, tmp_path):
    from digitpad.core.strokes import Stroke, StrokeSet, as_points, rasterize_strokes

    strokes = StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in digit_strokes(3)])
    path = tmp_path / "three.png"
    Image.fromarray(255 - rasterize_strokes(strokes)).save(path)  # dark ink on white paper
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = canvas_tab.canvas.rect().center()
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(canvas_tab.canvas, enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(canvas_tab.image_handled, timeout=10_000):
        QApplication.sendEvent(canvas_tab.canvas, QDropEvent(QPointF(centre), *args))
    assert canvas_tab.prediction is not None and canvas_tab.prediction.label == 3
    assert canvas_tab.canvas.picture is not None


def test_drawing_while_a_large_image_is_read_keeps_the_drawing(qtbot, canvas_tab, tmp_path):
    """A big scan is decoded on a thread: the canvas takes strokes meanwhile, and they win."""
    from digitpad.gui.common.worker import Worker

    path = tmp_path / "scan.png"
    Image.new("L", (6000, 6000), 255).save(path)
    canvas_tab.open_image_file(str(path))
    assert "Opening scan.png" in canvas_tab.detail.text()
    pred = draw(qtbot, canvas_tab, 4)
    assert pred is not None and pred.label == 4
    qtbot.waitUntil(lambda: not Worker.running(), timeout=20_000)
    assert canvas_tab.picture is None and canvas_tab.canvas.picture is None
    assert canvas_tab.prediction is pred


def test_canvas_and_cli_give_the_same_probabilities(qtbot, canvas_tab, tmp_path):
    pred = draw(qtbot, canvas_tab, 2, scale=0.8, dx=15)
    path = tmp_path / "two.json"
    path.write_text(json.dumps(canvas_tab.canvas.stroke_set().to_json()))
    out = subprocess.run([sys.executable, "-m", "digitpad", "predict", "--strokes", str(path)],
                         capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout)
    assert answer["prediction"] == pred.label == 2
    np.testing.assert_allclose(answer["probabilities"], pred.probabilities, atol=1e-5)


def test_a_model_trained_elsewhere_shows_its_own_class_names(qtbot, window):
    fashion = [m.meta.dataset for m in window.library.models].index("fashion-mnist")
    window.library.set_active(fashion)
    ticks = window.canvas.chart.getAxis("bottom")._tickLevels[0]
    assert [t[1].strip() for t in ticks][:2] == ["T-shirt/top", "Trouser"]  # in full, never cut
    assert window.canvas.model_picker.currentIndex() == fashion


def test_a_tablet_pen_draws_with_pressure(qtbot, canvas_tab):
    from PySide6.QtGui import QPointingDevice, QTabletEvent

    canvas = canvas_tab.canvas
    sq = canvas.square()
    scale = sq.width() / 280
    stroke = [(150, 45 + 10 * k) for k in range(20)]
    device = QPointingDevice.primaryPointingDevice()

    def tablet(kind, x, y, pressure, buttons):
        pos = QPointF(sq.left() + x * scale, sq.top() + y * scale)
        event = QTabletEvent(kind, device, pos, canvas.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons)
        QApplication.sendEvent(canvas, event)

    left = Qt.MouseButton.LeftButton
    tablet(QTabletEvent.Type.TabletPress, *stroke[0], 0.2, left)
    for k, (x, y) in enumerate(stroke[1:], start=1):
        tablet(QTabletEvent.Type.TabletMove, x, y, 0.2 + 0.04 * k, left)
    tablet(QTabletEvent.Type.TabletRelease, *stroke[-1], 0.9, Qt.MouseButton.NoButton)
    widths = {round(f, 3) for _, _, f in canvas.strokes[-1].points}
    assert len(canvas.strokes) == 1 and len(widths) > 5  # pressure varies the width along the stroke
    assert canvas_tab.prediction is not None and canvas_tab.prediction.label == 1


def test_clear_is_undoable_and_redo_takes_it_back_again(qtbot, canvas_tab):
    first = draw(qtbot, canvas_tab, 1)
    qtbot.mouseClick(canvas_tab.clear_button, Qt.MouseButton.LeftButton)
    assert canvas_tab.prediction is None and canvas_tab.canvas.is_empty()
    qtbot.keyClick(canvas_tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas_tab.prediction is not None and canvas_tab.prediction.label == first.label == 1
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas_tab, Qt.Key.Key_Z, shift_ctrl)  # redo: the Clear again
    assert canvas_tab.canvas.is_empty() and canvas_tab.prediction is None
    qtbot.mouseClick(canvas_tab.undo_button, Qt.MouseButton.LeftButton)
    assert canvas_tab.prediction.label == 1 and canvas_tab.redo_button.isEnabled()
    qtbot.keyClick(canvas_tab, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # the other redo key
    assert canvas_tab.canvas.is_empty() and not canvas_tab.redo_button.isEnabled()


def test_drawing_over_an_opened_picture_can_be_undone(qtbot, canvas_tab, mnist):
    from digitpad.gui.canvas.tab import dataset_picture

    seven = mnist.test.images[0].numpy()  # the first test image is a 7
    canvas_tab.show_picture(dataset_picture(seven, "test image 0"))
    assert canvas_tab.prediction.label == 7 and "test image 0" in canvas_tab.detail.text()
    drag(qtbot, canvas_tab.canvas, [(60, 140), (140, 140), (220, 140)])
    assert canvas_tab.picture is None and len(canvas_tab.canvas.strokes) == 1
    qtbot.keyClick(canvas_tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas_tab.picture is not None and canvas_tab.canvas.strokes == ()
    assert canvas_tab.prediction.label == 7  # the photo is back, and classified again


def test_the_brush_slider_shows_its_size(qtbot, canvas_tab):
    canvas_tab.brush.setValue(30)
    assert canvas_tab.brush_size.text() == "30 px" and canvas_tab.brush_swatch.width_now == 30
    assert canvas_tab.canvas.brush == 30


def test_a_clothes_model_says_on_the_canvas_that_it_knows_no_digits(qtbot, window):
    names = [m.meta.dataset for m in window.library.models]
    window.library.set_active(names.index("fashion-mnist"))
    assert "clothes" in window.canvas.canvas.notice and "not digits" in window.canvas.canvas.notice
    window.library.set_active(names.index("mnist"))
    assert window.canvas.canvas.notice == ""
