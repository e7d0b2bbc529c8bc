"""Lesson 4: why naive softmax overflows in float32, and the one-line fix."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSplitter, QWidget

from digitpad.core import scratch
from digitpad.gui.common.charts import TEST_COLOUR, TRAIN_COLOUR
from digitpad.gui.lessons.page import LessonPage, CodePane, fill_table, lesson_layout, make_plot, make_table, number, stacked


class OverflowLesson(LessonPage):
    """Logits scaled ×1…×1000: the naive softmax breaks in float32, the stable one does not."""

    TITLE = "Overflow"
    TIP = "Why softmax overflows in float32, and the stable softmax"

    SLIDER_STEPS = 300  # the slider is logarithmic: value v means ×10^(v/100)
    PLAY_MS = 30

    def __init__(self) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.SLIDER_STEPS)
        self.slider.valueChanged.connect(self.update_table)
        self.scale_label = QLabel()
        self.scale_label.setMinimumWidth(90)
        self.play_button = QPushButton("Play ×1 → ×1000")
        self.play_button.clicked.connect(self.play)
        controls = QWidget()
        row = QHBoxLayout(controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("logits ×"))
        row.addWidget(self.slider, stretch=1)
        row.addWidget(self.scale_label)
        row.addWidget(self.play_button)

        self.table = make_table(["class", "logit", "exp(logit)", "naive softmax", "stable softmax"])
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.plot = make_plot(f"−log ŷ[{scratch.OVERFLOW_LABEL}]", "logits ×")
        self.plot.setToolTip(f"The cross-entropy loss of the label, class {scratch.OVERFLOW_LABEL}: −log of its "
                             "softmax probability")
        self.plot.setLogMode(x=True, y=True)
        self.plot.getAxis("bottom").setTicks([[(k, f"{10 ** k:g}") for k in range(4)], []])
        scales = np.logspace(0, 3, 200)
        tables = [scratch.overflow_table(s) for s in scales]
        self.plot.plot(scales, [t.stable_loss for t in tables], pen=pg.mkPen(TEST_COLOUR, width=3),
                       name="stable (log-sum-exp)")
        naive = np.array([t.naive_loss for t in tables])
        self.plot.plot(scales, np.where(np.isfinite(naive), naive, np.nan), connect="finite",
                       pen=pg.mkPen(TRAIN_COLOUR, width=2, style=Qt.PenStyle.DashLine), name="naive (nan/inf: gone)")
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#555", width=1.5))
        self.plot.addItem(self.marker)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot)
        splitter.setSizes([330, 260])
        left = stacked(self.verdict, splitter, stretch=splitter)
        self.code = CodePane(scratch.softmax, scratch.stable_softmax, scratch.log_softmax, scratch.cross_entropy)
        self.code.highlight("X = X - X.max(1, keepdim=True).values  # the one-line fix")
        lesson_layout(self, "<b>Why softmax overflows.</b> In float32, exp(x) is inf once x passes ~88.7, and "
                      "inf / inf is nan; the small logits' exp underflows to 0, so log gives −inf. Subtracting "
                      "the largest logit first (highlighted) changes nothing in the result but keeps every exp "
                      "at most 1; the loss uses log-sum-exp, as <tt>CrossEntropyLoss</tt> does.",
                      controls, left, self.code)
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(self.PLAY_MS)
        self.play_timer.timeout.connect(self._advance)
        self.table_now: scratch.OverflowTable | None = None
        self.update_table()

    def scale(self) -> float:
        return 10 ** (self.slider.value() / 100)

    def is_running(self) -> bool:
        return self.play_timer.isActive()

    def shutdown(self) -> bool:
        self.play_timer.stop()
        return True

    def play(self) -> None:
        self.slider.setValue(0)
        self.play_timer.start()

    def _advance(self) -> None:
        if self.slider.value() >= self.SLIDER_STEPS:
            self.play_timer.stop()
            return
        self.slider.setValue(self.slider.value() + 2)

    def update_table(self) -> None:
        t = scratch.overflow_table(self.scale())
        self.table_now = t
        self.scale_label.setText(f"×{t.scale:,.1f}")
        self.marker.setValue(math.log10(t.scale))
        rows = [[str(i), number(x), number(e), number(p), number(q)]
                for i, (x, e, p, q) in enumerate(zip(t.logits, t.naive_exp, t.naive_softmax, t.stable_softmax))]
        rows.append(["loss", "", "", number(t.naive_loss), number(t.stable_loss)])
        bad = [(c, r, v) for c, column in ((2, t.naive_exp), (3, t.naive_softmax)) for r, v in enumerate(column)]
        broken = {(r, c) for c, r, v in bad if not math.isfinite(v) or v == 0.0}  # inf, nan, or gone to 0
        if not math.isfinite(t.naive_loss):
            broken.add((len(rows) - 1, 3))
        fill_table(self.table, rows, broken)
        if t.naive_finite:
            self.verdict.setText(f"×{t.scale:.1f}: largest logit {max(t.logits):.1f} — both forms agree "
                                 f"(loss {t.naive_loss:.4f} naive, {t.stable_loss:.4f} stable).")
        else:
            self.verdict.setText(f"×{t.scale:.1f}: largest logit {max(t.logits):.1f} — the naive softmax gives "
                                 f"<span style='color:#c00'><b>{number(t.naive_loss)}</b></span> for the loss; "
                                 f"the stable form gives <b>{number(t.stable_loss)}</b>.")
