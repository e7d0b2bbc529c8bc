"""The Explain panel on the Canvas tab, driven with real clicks and mouse strokes."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitpad.core.explain import ConvBlock, DenseActivations, EvidenceMaps, private_copy, saliency_of
from digitpad.core.sample_digits import scribble
from digitpad.gui.canvas.explain_panel import SLIDER_STEPS
from digitpad.gui.common.colours import ACTIVATION, GREY, lut_image
from helpers import drag, draw


def draw_fresh(qtbot, tab, digit, **placement):
    """A fresh drawing: clear, then draw the digit with the mouse."""
    tab.clear()
    prediction = draw(qtbot, tab, digit, **placement)
    saliency_added(qtbot, tab)
    return prediction


def saliency_added(qtbot, tab):
    """The saliency comes from a child process once the rest is painted (the first after the child's start,
    a few seconds): wait for it (panel shown)."""
    if tab.explanation is not None:
        qtbot.waitUntil(lambda: tab.explanation.saliency is not None, timeout=60_000)


def open_panel(qtbot, tab):
    qtbot.mouseClick(tab.explain_button, Qt.MouseButton.LeftButton)
    assert tab.explain_area.isVisible() and not tab.chart.isVisible()
    saliency_added(qtbot, tab)
    return tab.explain_panel


def image_array(image) -> np.ndarray:
    return np.array([[image.pixelColor(x, y).red() for x in range(image.width())] for y in range(image.height())])


def test_hidden_panel_computes_nothing_and_opening_it_explains_the_current_drawing(qtbot, canvas_tab):
    draw_fresh(qtbot, canvas_tab, 3)
    assert canvas_tab.explanation is None and not canvas_tab.explain_area.isVisible()
    panel = open_panel(qtbot, canvas_tab)
    e = panel.explanation
    assert e is not None and e is canvas_tab.explanation and e.label == canvas_tab.prediction.label == 3
    assert len(panel.strip.images) == 5 and len(panel.saliency.images) == 2  # drawn one by one, with captions
    assert panel.table.steps.probabilities.argmax() == 3

    draw_fresh(qtbot, canvas_tab, 7)  # the panel follows the drawing
    e = panel.explanation
    assert e.label == 7 and np.array_equal(e.steps.centred, canvas_tab.prediction.pixels)
    shown = image_array(panel.strip.images[3])
    assert np.array_equal(shown, image_array(lut_image(canvas_tab.prediction.pixels, GREY, 0, 1)))
    assert "7" in panel.saliency.captions[0]
    np.testing.assert_allclose(panel.table.steps.probabilities, canvas_tab.prediction.probabilities, atol=1e-6)

    qtbot.mouseClick(canvas_tab.explain_button, Qt.MouseButton.LeftButton)
    assert not canvas_tab.explain_area.isVisible() and canvas_tab.chart.isVisible()
    assert canvas_tab.explanation is None and canvas_tab.chart.heights.argmax() == 7  # the chart caught up
    draw_fresh(qtbot, canvas_tab, 1)
    assert canvas_tab.explanation is None and canvas_tab.prediction.label == 1


def test_temperature_slider_flattens_the_bars_but_keeps_the_answer(qtbot, canvas_tab):
    panel = open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 2)
    before = panel.table.steps.probabilities.copy()
    panel.temperature.setValue(SLIDER_STEPS)  # T = 10
    after = panel.table.steps
    assert after.temperature == pytest.approx(10.0) and panel.temperature_label.text() == "T = 10.00"
    assert after.probabilities.argmax() == before.argmax() == 2
    assert after.probabilities.max() < before.max() and np.abs(after.probabilities - 0.1).max() < 0.1
    panel.temperature.setValue(0)  # T = 0.1
    assert panel.table.steps.probabilities.max() > before.max()


def test_picking_a_label_shows_its_loss_and_gradient(qtbot, canvas_tab):
    panel = open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 4)
    p = panel.table.steps.probabilities
    panel.label_picker.setCurrentIndex(9 + 1)  # "suppose it is a 9"
    loss = panel.table.loss
    assert loss.label == 9 and loss.loss == pytest.approx(-np.log(p[9]))
    assert f"{loss.loss:.4f}" in panel.loss_label.text()
    assert loss.gradient[9] == pytest.approx(p[9] - 1) and loss.gradient[4] == pytest.approx(p[4])
    panel.label_picker.setCurrentIndex(4 + 1)
    assert panel.table.loss.loss < loss.loss  # its own answer costs less


def test_clicking_a_cnn_map_shows_its_filter_and_arithmetic(qtbot, canvas_tab):
    panel = open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 8)
    kinds = [type(layer) for layer in panel.explanation.layers]
    assert kinds == [ConvBlock, ConvBlock, DenseActivations] and len(panel.network_grids) == 3
    assert [len(g.sizes) for g in panel.network_grids] == [16, 32, 1]
    assert not panel.detail_box.isVisible()
    block1 = panel.network_grids[0]
    maps = panel.explanation.layers[0].maps  # drawn as one atlas image: each map where a click finds it
    r, c = np.unravel_index(maps[5].argmax(), maps[5].shape)
    box = block1._target(5)
    cell = box.width() // maps.shape[2]
    expected = ACTIVATION[int(np.clip(maps[5, r, c] * 255 / maps.max(), 0, 255))]
    shown = block1.atlas.pixelColor(box.left() + c * cell + cell // 2, box.top() + r * cell + cell // 2)
    assert (shown.red(), shown.green(), shown.blue()) == tuple(expected)  # map 5's strongest unit, in place
    qtbot.mouseClick(block1, Qt.MouseButton.LeftButton, pos=block1.tile_rect(5).center())
    assert panel.selected_map == (0, 5) and panel.detail_box.isVisible() and block1.selected == 5
    assert len(panel.filter_view.images) == 2 and panel.filter_view.images[0].width() == 5
    assert "Map 5 of block 1" in panel.arithmetic.text() and "ReLU" in panel.arithmetic.text()
    block2 = panel.network_grids[1]
    qtbot.mouseClick(block2, Qt.MouseButton.LeftButton, pos=block2.tile_rect(20).center())
    assert panel.selected_map == (1, 20) and "Map 20 of block 2" in panel.arithmetic.text()


def test_each_model_gets_its_own_network_section(qtbot, window, canvas_tab):
    panel = open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 6)
    names = [m.name for m in window.library.models]
    window.library.set_active(names.index("mnist-softmax"))
    assert isinstance(panel.explanation.layers[0], EvidenceMaps) and len(panel.network_grids) == 1
    captions = panel.network_grids[0].captions
    assert len(captions) == 10 and captions[0].startswith(f"{panel.explanation.label}:")  # top class first
    window.library.set_active(names.index("mnist-mlp"))
    assert len(panel.network_grids) == 4 and "512 units" in panel.network_grids[0].captions[0]
    assert all(g.legends for g in panel.network_grids + [panel.strip, panel.saliency])  # every map has a legend


def test_a_scribble_reads_not_sure_with_the_runner_up(qtbot, canvas_tab, monkeypatch):
    """The threshold alone (the not-a-digit detector, which would say "not a digit?", is left out here)."""
    monkeypatch.setattr("digitpad.core.inference.detector_for", lambda _trained: None)
    strokes = scribble(3)  # the shipped CNN answers it with p ≈ 0.27
    for stroke in strokes.strokes:
        drag(qtbot, canvas_tab.canvas, [(x, y) for x, y, _ in stroke.points])
    pred = canvas_tab.prediction
    assert pred.unsure()
    assert canvas_tab.answer.text() == f"not sure — {pred.label} or {pred.runner_up}?"
    assert "sums to 1" in canvas_tab.detail.text()
    panel = open_panel(qtbot, canvas_tab)
    panel.unsure_spin.setValue(0.1)  # a lower threshold: now it answers
    assert canvas_tab.answer.text().startswith(f"{pred.label}  ·")


def test_an_opened_photo_is_explained_from_its_own_pixels(qtbot, canvas_tab, tmp_path):
    from digitpad.core.sample_digits import photo_like

    path = tmp_path / "photo-7.png"
    photo_like(7).save(path)  # 640×480, grey paper, the digit off-centre
    panel = open_panel(qtbot, canvas_tab)
    with qtbot.waitSignal(canvas_tab.image_handled, timeout=10_000):
        canvas_tab.open_image_file(str(path))
    e = panel.explanation
    assert e.label == 7 and e.steps.drawn_size == (480, 640) and max(e.steps.cropped_size) < 400
    assert panel.strip.captions[0] == "as drawn\n640×480"


def test_without_child_processes_the_saliency_is_computed_in_the_window(qtbot, canvas_tab, monkeypatch):
    """A sandbox that refuses new processes still gets every section, the saliency from the GUI thread."""
    import digitpad.gui.canvas.saliency_service as service

    def refused():
        raise OSError("no new processes here")

    monkeypatch.setattr(service, "SaliencyProcess", refused)
    canvas_tab.saliency = service.SaliencyService(canvas_tab)
    canvas_tab.saliency.ready.connect(canvas_tab._add_saliency)
    open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 7)
    assert canvas_tab.explanation.saliency is not None and canvas_tab.explanation.saliency.label == 7


def test_while_the_saliency_process_starts_the_panel_says_it_is_working(qtbot, canvas_tab, monkeypatch):
    import time

    import digitpad.gui.canvas.saliency_service as service
    from digitpad.gui.canvas.explain_panel import SALIENCY_NOTE, SALIENCY_PENDING

    class Starting:
        """A child still importing torch: it never says ready during this test."""

        def answer(self, timeout):
            time.sleep(timeout)
            return None

        def close(self):
            pass

    monkeypatch.setattr(service, "SaliencyProcess", Starting)
    canvas_tab.saliency = service.SaliencyService(canvas_tab)
    canvas_tab.saliency.ready.connect(canvas_tab._add_saliency)
    qtbot.mouseClick(canvas_tab.explain_button, Qt.MouseButton.LeftButton)
    draw(qtbot, canvas_tab, 7)
    panel = canvas_tab.explain_panel
    assert panel.saliency_note.text() == SALIENCY_PENDING and not panel.saliency.images
    assert canvas_tab.explanation.label == 7  # every other section is there meanwhile
    canvas_tab.saliency.ready.emit(saliency_of(private_copy(canvas_tab.library.active.model),
                                               canvas_tab.library.active.meta, canvas_tab.prediction.pixels))
    assert panel.saliency_note.text() == SALIENCY_NOTE and len(panel.saliency.images) == 2


def test_a_panel_left_closed_lets_its_process_go_and_reopening_starts_another(qtbot, canvas_tab):
    open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 3)
    child = canvas_tab.saliency._child
    assert child is not None and child.process.is_alive()
    qtbot.mouseClick(canvas_tab.explain_button, Qt.MouseButton.LeftButton)  # closed …
    assert canvas_tab._saliency_idle.isActive()
    canvas_tab._saliency_idle.timeout.emit()  # … for a minute
    qtbot.waitUntil(lambda: not child.process.is_alive(), timeout=10_000)
    open_panel(qtbot, canvas_tab)
    draw_fresh(qtbot, canvas_tab, 7)
    assert canvas_tab.explanation.saliency.label == 7 and canvas_tab.saliency._child is not child
