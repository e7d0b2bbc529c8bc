"""What a run learned: confusion matrix, per-class accuracy, mistakes, and the linear model's weights."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from digitpad.core.evaluation import EvalReport
from digitpad.gui.charts import StaticPlot
from digitpad.gui.images import diverging_image, gray_image, scaled_pixmap


def short_names(class_names: tuple[str, ...] | list[str]) -> list[str]:
    return [n if len(n) <= 8 else n[:7] + "…" for n in class_names]


class CellCounts(pg.GraphicsObject):
    """The count in each cell, drawn in one paint call at screen size (100 TextItems cost ~50 ms)."""

    def __init__(self) -> None:
        super().__init__()
        self.matrix = np.zeros((10, 10), dtype=np.int64)

    def set_matrix(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, 10, 10)

    def paint(self, painter: QPainter, *_args) -> None:
        to_screen = painter.transform()
        painter.resetTransform()
        light = float(np.log1p(self.matrix.max() or 1)) * 0.6
        for (i, j), v in np.ndenumerate(self.matrix):
            if v == 0:
                continue
            centre = to_screen.map(QPointF(j + 0.5, i + 0.5))
            painter.setPen(QColor("white" if np.log1p(v) > light else "black"))
            painter.drawText(QRectF(centre.x() - 40, centre.y() - 12, 80, 24), Qt.AlignmentFlag.AlignCenter, str(v))


class ConfusionMatrixView(StaticPlot):
    """A 10×10 heat map of counts, true class down, predicted class across."""

    def __init__(self) -> None:
        super().__init__()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L12"))
        self.addItem(self.image)
        self.getViewBox().invertY(True)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self.counts = CellCounts()
        self.addItem(self.counts)
        self.matrix = np.zeros((10, 10), dtype=np.int64)
        self.show_matrix(self.matrix.tolist(), tuple(str(d) for d in range(10)))

    def show_matrix(self, confusion: list[list[int]], class_names: tuple[str, ...]) -> None:
        self.matrix = np.asarray(confusion, dtype=np.int64)
        # Log scale: the diagonal holds ~1000 per class, the interesting mistakes a handful.
        top = float(np.log1p(self.matrix.max() or 1))
        self.image.setImage(np.log1p(self.matrix).astype(np.float32), levels=(0, top))
        self.counts.set_matrix(self.matrix)
        ticks = [(k + 0.5, name) for k, name in enumerate(short_names(class_names))]
        self.getAxis("bottom").setTicks([ticks])
        self.getAxis("left").setTicks([ticks])
        self.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)


class PerClassAccuracyView(StaticPlot):
    def __init__(self) -> None:
        super().__init__()
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush="#4a7ab5")
        self.addItem(self.bars)
        self.setLabel("left", "test accuracy")
        self.setYRange(0, 1, padding=0.02)
        self.setXRange(-0.5, 9.5, padding=0.02)
        self.values = np.zeros(10)

    def show_accuracy(self, per_class: list[float], class_names: tuple[str, ...]) -> None:
        self.values = np.asarray(per_class)
        self.bars.setOpts(height=self.values)
        self.getAxis("bottom").setTicks([list(enumerate(short_names(class_names)))])
        low = max(0.0, float(self.values.min()) - 0.05)
        self.setYRange(low, 1.0, padding=0.02)


class ImageGrid(QScrollArea):
    """A grid of captioned images (mistakes, weight templates); cells are made once and reused."""

    def __init__(self, columns: int) -> None:
        super().__init__()
        self.columns = columns
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._inner)
        self._cells: list[tuple[QWidget, QLabel, QLabel]] = []
        self.count = 0

    def _cell(self, k: int) -> tuple[QWidget, QLabel, QLabel]:
        while len(self._cells) <= k:
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(2, 2, 2, 2)
            picture, text = QLabel(), QLabel()
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(picture, alignment=Qt.AlignmentFlag.AlignCenter)
            box.addWidget(text)
            n = len(self._cells)
            self._grid.addWidget(cell, n // self.columns, n % self.columns)
            self._cells.append((cell, picture, text))
        return self._cells[k]

    def set_items(self, items: list[tuple[object, str]], size: int = 72) -> None:
        for k, (image, caption) in enumerate(items):
            cell, picture, text = self._cell(k)
            picture.setPixmap(scaled_pixmap(image, size))
            text.setText(caption)
            cell.show()
        for cell, _, _ in self._cells[len(items):]:
            cell.hide()
        self.count = len(items)


class ResultsPanel(QTabWidget):
    """The latest run's evaluation, refreshed at each epoch end."""

    def __init__(self) -> None:
        super().__init__()
        self.confusion = ConfusionMatrixView()
        self.per_class = PerClassAccuracyView()
        self.mistakes = ImageGrid(columns=8)
        self.weights = ImageGrid(columns=5)
        self.addTab(self.confusion, "Confusion matrix")
        self.addTab(self.per_class, "Per-class accuracy")
        self.addTab(self.mistakes, "Mistakes")
        self.weights_index = self.addTab(self.weights, "Weights (softmax)")
        self._latest: tuple[EvalReport, tuple[str, ...], np.ndarray | None] | None = None
        self._stale: set[int] = set()
        self.currentChanged.connect(self._refresh)
        # Drawn a few frames after the epoch's curves, not in the same one: each paint then fits well
        # within a frame instead of stalling the window ~25 ms at every epoch end.
        self._draw_later = QTimer(self, singleShot=True, interval=50)
        self._draw_later.timeout.connect(lambda: self._refresh(self.currentIndex()))
        self.setTabToolTip(self.weights_index, "Softmax regression's ten weight vectors as 28×28 images: "
                                               "red pixels vote for the class, blue against it")

    def show_report(self, report: EvalReport, class_names: tuple[str, ...], weights: np.ndarray | None) -> None:
        """Keep the report; draw only the page in view, shortly (the others when they are opened)."""
        self._latest = (report, class_names, weights)
        self._stale = set(range(self.count()))
        self.setTabEnabled(self.weights_index, weights is not None)
        self._draw_later.start()

    def clear(self) -> None:
        """Nothing shown until the new run's first epoch: the last run's results belong to another model."""
        self._latest = None
        self._draw_later.stop()
        self.setTabEnabled(self.weights_index, False)
        self.confusion.show_matrix(np.zeros((10, 10), dtype=np.int64).tolist(), tuple(str(d) for d in range(10)))
        self.per_class.show_accuracy([0.0] * 10, tuple(str(d) for d in range(10)))
        self.mistakes.set_items([])
        self.weights.set_items([])

    def _refresh(self, index: int) -> None:
        if self._latest is None or index not in self._stale:
            return
        self._stale.discard(index)
        report, class_names, weights = self._latest
        names = short_names(class_names)
        page = self.widget(index)
        if page is self.confusion:
            self.confusion.show_matrix(report.confusion, class_names)
        elif page is self.per_class:
            self.per_class.show_accuracy(report.per_class_accuracy, class_names)
        elif page is self.mistakes:
            self.mistakes.set_items([(gray_image(m.image, invert=True),
                                      f"{names[m.true]} → {names[m.predicted]}\n{m.confidence:.0%}")
                                     for m in report.mistakes], size=64)
        elif page is self.weights and weights is not None:
            self.weights.set_items([(diverging_image(w), names[k]) for k, w in enumerate(weights)], size=112)
