"""Lesson 3: cross-entropy by hand, on the lectures' own examples, with its three pitfalls."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from digitpad.core import scratch
from digitpad.gui.common.charts import LOSS_COLOUR
from digitpad.gui.lessons.page import (LessonPage, SCRATCH_COLOUR, CodePane, lesson_layout, make_plot, scrolled,
                                       stacked)


def parse_numbers(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"not a list of numbers: {text!r}") from None


def parse_rows(text: str) -> list[list[float]]:
    """Rows separated by ';', numbers by ','."""
    return [parse_numbers(row) for row in text.split(";") if row.strip()]


class CrossEntropyLesson(LessonPage):
    """The lectures' worked examples, recomputed as the student edits them."""

    TITLE = "Cross-entropy"
    TIP = "Cross-entropy by hand: the lectures' worked examples, editable"

    def __init__(self) -> None:
        super().__init__()
        self.z = QLineEdit("0.2, 0.1, -0.1")
        self.label = QSpinBox(minimum=0, maximum=9, value=0)
        self.batch_a = QLineEdit("0.1, 0.2, 0.9; 1.1, 0.1, 0.2; 0.2, 2.1, 0.1")
        self.batch_b = QLineEdit("0.8, 0.2, 0.3; 0.2, 0.3, 0.5; 0.2, 0.2, 0.5")
        self.labels = QLineEdit("2, 0, 1")
        controls = QWidget()
        form = QFormLayout(controls)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow page puts each field under its name
        form.addRow("one sample: raw outputs z", self.z)
        form.addRow("its label (one-hot at)", self.label)
        form.addRow("batch: raw outputs, good (rows by ;)", self.batch_a)
        form.addRow("batch: raw outputs, bad", self.batch_b)
        form.addRow("batch labels (class indices)", self.labels)
        for edit in (self.z, self.batch_a, self.batch_b, self.labels):
            edit.textChanged.connect(self.recompute)
        self.label.valueChanged.connect(self.recompute)

        self.plot = make_plot("value", "class")
        self.softmax_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=LOSS_COLOUR, name="softmax ŷ")
        self.sigmoid_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SCRATCH_COLOUR, name="sigmoid")
        self.plot.addItem(self.softmax_bars)
        self.plot.addItem(self.sigmoid_bars)
        self.plot.setYRange(0, 1.05)
        self.plot.getAxis("bottom").setTickSpacing(major=1, minor=1)
        self.results = QLabel()
        self.results.setWordWrap(True)
        self.results.setTextFormat(Qt.TextFormat.RichText)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left = stacked(scrolled(self.results), self.plot, stretch=self.plot)
        code = CodePane(scratch.np_softmax, scratch.np_cross_entropy, scratch.batch_cross_entropy)
        lesson_layout(self, "<b>Cross-entropy by hand.</b> One sample: softmax, then −Σ y log ŷ in NumPy. "
                      "A batch: <tt>nn.CrossEntropyLoss</tt> on the raw outputs. Edit any number.",
                      controls, left, code)
        self.example: scratch.CrossEntropyExample | None = None
        self.recompute()

    def recompute(self) -> None:
        try:
            z = parse_numbers(self.z.text())
            batches = [parse_rows(self.batch_a.text()), parse_rows(self.batch_b.text())]
            labels = [int(v) for v in parse_numbers(self.labels.text())]
            if not z or not labels or not all(batches):
                raise ValueError("every field needs numbers")
            self.example = scratch.cross_entropy_example(z, self.label.value(), batches, labels)
        except ValueError as exc:
            self.example = None
            self.results.setText(f"<span style='color:#c00'>{exc}</span>")
            return
        self._show(self.example, z)

    def _show(self, ex: scratch.CrossEntropyExample, z: list[float]) -> None:
        probs = ", ".join(f"{p:.4f}" for p in ex.sample_probs)
        sig = ", ".join(f"{s:.3f}" for s in ex.sigmoid_sums)
        self.results.setText(
            f"One sample: ŷ = softmax(z) = [{probs}]; loss = −log ŷ<sub>{self.label.value()}</sub> = "
            f"<b>{ex.sample_loss:.4f}</b><br>"
            f"Batch: CrossEntropyLoss = <b>{ex.batch_losses[0]:.4f}</b> (good outputs), "
            f"<b>{ex.batch_losses[1]:.4f}</b> (bad outputs)<br><br>"
            f"① <b>The last layer has no activation</b>: the loss applies log-softmax itself. Softmax first "
            f"gives {ex.softmax_first_losses[0]:.4f} and {ex.softmax_first_losses[1]:.4f} — a second softmax, "
            f"the wrong numbers.<br>"
            f"② <b>Labels are class indices</b>, dtype <tt>{ex.label_dtype}</tt>, not one-hot vectors.<br>"
            f"③ <b>Ten sigmoids are not a distribution</b>: on the good batch their rows sum to [{sig}]; "
            f"softmax rows sum to 1.")
        x = np.arange(len(z), dtype=float)
        self.softmax_bars.setOpts(x=x - 0.2, height=ex.sample_probs)
        self.sigmoid_bars.setOpts(x=x + 0.2, height=1 / (1 + np.exp(-np.array(z))))
        self.plot.setXRange(-0.6, len(z) - 0.4)
