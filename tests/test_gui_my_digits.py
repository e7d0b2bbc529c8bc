"""My digits in the real window: keep drawings with digit keys, delete one, Teach, see the new model."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from digitpad.core.finetune import FinetuneConfig
from digitpad.core.sample_digits import mirrored_strokes, transform
from helpers import drag, refuse_writes


def keep(qtbot, window, digit, **kw):
    """Draw the mirrored digit on the canvas and press its key: "This is a <digit>"."""
    tab = window.my_digits
    before = len(tab.personal.samples)
    for stroke in transform(mirrored_strokes(digit), **kw):
        drag(qtbot, window.canvas.canvas, stroke)
    qtbot.keyClick(window.canvas, getattr(Qt.Key, f"Key_{digit}"))
    qtbot.waitUntil(lambda: len(tab.personal.samples) == before + 1, timeout=10_000)


def test_label_drawings_delete_one_and_teach(qtbot, window):
    tab = window.my_digits
    window.tabs.setCurrentWidget(window.canvas)
    for scale in (1.0, 0.8, 0.6):
        for digit in (2, 7):
            keep(qtbot, window, digit, scale=scale)
    assert window.canvas.canvas.is_empty(), "the canvas clears for the next drawing"
    assert tab.personal.counts()[2] == 3 and tab.personal.counts()[7] == 3
    assert "<b>7</b>: 3" in tab.counts.text()
    files = sorted(tab.folder.glob("*/*.json"))
    assert len(files) == 6 and tab.shown_count() == 6 and tab.rows[7].count() == 3
    qtbot.waitUntil(lambda: "reads" in tab.score.text(), timeout=10_000)  # right/wrong for the canvas model

    window.tabs.setCurrentWidget(tab)
    tab.rows[2].item(0).setSelected(True)
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.rows[2].count() == 2, timeout=10_000)
    assert len(sorted(tab.folder.glob("*/*.json"))) == 5 and tab.personal.counts()[2] == 2

    tab.config = FinetuneConfig(epochs=1, min_steps_per_epoch=3, mnist_test_limit=200)
    qtbot.mouseClick(tab.teach_button, Qt.MouseButton.LeftButton)
    assert tab.stop_button.isEnabled() and not tab.teach_button.isEnabled()
    with qtbot.waitSignal(tab.teach_ended, timeout=120_000):
        pass
    names = [m.name for m in window.library.models]
    assert "mnist-cnn + my digits" in names
    picker = window.canvas.model_picker
    assert any("mnist-cnn + my digits" in picker.itemText(i) for i in range(picker.count()))
    assert window.library.active.name == "mnist-cnn + my digits"
    assert "→" in tab.result.text() and "MNIST test" in tab.result.text()
    assert tab.save_button.isEnabled()


def test_a_read_only_folder_is_reported_not_fatal(qtbot, window, monkeypatch):

    tab = window.my_digits
    tab.folder.mkdir(parents=True)
    os.chmod(tab.folder, 0o555)
    refuse_writes(monkeypatch)
    window.tabs.setCurrentWidget(window.canvas)
    for stroke in transform(mirrored_strokes(3)):
        drag(qtbot, window.canvas.canvas, stroke)
    qtbot.keyClick(window.canvas, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: "Not kept" in tab.status.text(), timeout=10_000)
    assert "Permission denied" in tab.status.text() and tab.personal.samples == []
    os.chmod(tab.folder, 0o755)
