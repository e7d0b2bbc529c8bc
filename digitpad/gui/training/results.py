"""What a run learned: confusion matrix, per-class accuracy, mistakes, and the linear model's weights.

Every class name is shown in full, and the grids of pictures grow with the space they are given:
on a projector the back row must read them.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.evaluation import EvalReport, Mistake
from digitpad.gui.common.charts import StaticPlot
from digitpad.gui.common.colours import DIVERGING, ColourScale, diverging_image
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.text_zoom import text_scale


class PlotTexts(pg.GraphicsObject):
    """Short texts at data points, drawn in one paint call at screen size (100 TextItems cost ~50 ms)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[float, float, str, str]] = []  # x, y (data), text, colour
        self.lift = 0.0  # how many text lines above its point each text sits (0: centred on it)

    def set_texts(self, texts: list[tuple[float, float, str, str]]) -> None:
        self.prepareGeometryChange()
        self.texts = texts
        self.update()

    def boundingRect(self) -> QRectF:
        if not self.texts:
            return QRectF()
        xs, ys = [t[0] for t in self.texts], [t[1] for t in self.texts]
        return QRectF(min(xs) - 1, min(ys) - 1, max(xs) - min(xs) + 2, max(ys) - min(ys) + 2)

    def paint(self, painter: QPainter, *_args) -> None:
        """Each text centred on its point, in a smaller type where a cell is narrower than the widest text (the
        confusion matrix's counts on a netbook in large type overlapped their neighbours)."""
        to_screen = painter.transform()
        painter.resetTransform()
        cell = abs(to_screen.map(QPointF(1, 0)).x() - to_screen.map(QPointF(0, 0)).x())
        widest = max((painter.fontMetrics().horizontalAdvance(t[2]) for t in self.texts), default=0)
        if widest > cell - 4 > 0:
            font = QFont(painter.font())
            font.setPointSizeF(max(5.0, font.pointSizeF() * (cell - 4) / widest))
            painter.setFont(font)
        height = painter.fontMetrics().height()
        for x, y, text, colour in self.texts:
            centre = to_screen.map(QPointF(x, y))
            painter.setPen(QColor(colour))
            box = QRectF(centre.x() - cell / 2, centre.y() - height / 2 - self.lift * height, cell, height)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


class ConfusionMatrixView(StaticPlot):
    """A 10×10 heat map of counts, true class down, predicted class across."""

    def __init__(self) -> None:
        super().__init__(class_axis=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L12"))
        self.addItem(self.image)
        self.getViewBox().invertY(True)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self.counts = PlotTexts()
        self.addItem(self.counts)
        self.matrix = np.zeros((10, 10), dtype=np.int64)
        self.show_matrix(self.matrix.tolist(), tuple(str(d) for d in range(10)))

    def show_matrix(self, confusion: list[list[int]], class_names: tuple[str, ...]) -> None:
        self.matrix = np.asarray(confusion, dtype=np.int64)
        # Log scale: the diagonal holds ~1000 per class, the interesting mistakes a handful.
        top = float(np.log1p(self.matrix.max() or 1))
        self.image.setImage(np.log1p(self.matrix).astype(np.float32), levels=(0, top))
        light = top * 0.6
        self.counts.set_texts([(j + 0.5, i + 0.5, str(v), "white" if np.log1p(v) > light else "black")
                               for (i, j), v in np.ndenumerate(self.matrix) if v])
        self.getAxis("bottom").set_names(class_names, at=0.5)
        self.getAxis("left").setTicks([[(k + 0.5, name) for k, name in enumerate(class_names)]])
        self.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)


class PerClassAccuracyView(StaticPlot):
    """Test accuracy of each class, from 0 %, each bar labelled with its value."""

    def __init__(self) -> None:
        super().__init__(class_axis=True)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush="#4a7ab5")
        self.addItem(self.bars)
        self.labels = PlotTexts()
        self.labels.lift = 0.6
        self.addItem(self.labels)
        self.setLabel("left", "accuracy (%)")  # of each class, on the test set (the tab's tooltip says so)
        self.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)]])
        # From 0, not from the worst class: bar lengths compare honestly; the labels give the detail.
        self.setYRange(0, 112, padding=0)
        self.setXRange(-0.5, 9.5, padding=0.02)
        self.values = np.zeros(10)
        self.getAxis("bottom").set_names([str(d) for d in range(10)])

    def show_accuracy(self, per_class: list[float], class_names: tuple[str, ...]) -> None:
        self.values = np.asarray(per_class)
        self.bars.setOpts(height=self.values * 100)
        self.labels.set_texts([(k, v * 100, f"{v:.1%}".replace("%", ""), "black")
                               for k, v in enumerate(self.values)])
        self.getAxis("bottom").set_names(class_names)


class Thumb(QWidget):
    """One captioned picture of a grid, painted in one go; a click on it is reported."""

    clicked = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.caption = ""
        self.side = 64

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        picture = QRectF((self.width() - self.side) / 2, 0, self.side, self.side)
        if self.image is not None:
            painter.drawImage(picture, self.image)  # no smoothing: each pixel a sharp square
        painter.setPen(self.palette().windowText().color())
        painter.drawText(QRectF(0, self.side + 2, self.width(), self.height() - self.side - 2),
                         Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap, self.caption)
        painter.end()


class ImageGrid(QWidget):
    """Captioned pictures in as many columns as fit, scaled to the space; no sideways scrolling.

    `columns` fixes the column count (the ten weight templates: 5 × 2, filling the page); without it,
    pictures are about a tenth of the width (between min_side and max_side) and the grid scrolls
    down. A cell is never narrower than the longest word of any caption, so no caption is cut.
    """

    GAP = 6
    clicked = Signal(int)

    def __init__(self, header: QWidget, columns: int | None = None, min_side: int = 56, max_side: int = 128,
                 clickable: bool = False) -> None:
        super().__init__()
        self.columns, self.min_side, self.max_side, self.clickable = columns, min_side, max_side, clickable
        self.scroll = QScrollArea()
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self.scroll.setWidget(self._inner)
        self.scroll.viewport().installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(header)
        layout.addWidget(self.scroll, stretch=1)
        self.cells: list[Thumb] = []
        self.count = 0

    def sizeHint(self) -> QSize:
        return QSize(400, 240)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.reflow()
        return False

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self.reflow()
        super().changeEvent(event)

    def set_items(self, items: list[tuple[QImage, str]]) -> None:
        while len(self.cells) < len(items):
            cell = Thumb(self._inner)
            k = len(self.cells)
            cell.clicked.connect(lambda k=k: self.clicked.emit(k))
            if self.clickable:
                cell.setCursor(Qt.CursorShape.PointingHandCursor)
            self.cells.append(cell)
        for cell, (image, caption) in zip(self.cells, items):
            cell.image, cell.caption = image, caption
            cell.setToolTip(caption.replace("\n", " ") + ("\nClick to open it on the Canvas" if self.clickable
                                                          else ""))
        self.count = len(items)
        for k, cell in enumerate(self.cells):
            cell.setVisible(k < self.count)
        self.reflow()

    def reflow(self) -> None:
        """Place the cells for the viewport's width (and, with fixed columns, its height)."""
        view = self.scroll.viewport().size()
        shown = self.cells[:self.count]
        metrics = QFontMetricsF(self.font())
        words = [w for cell in shown for w in cell.caption.split()]
        widest_word = max((metrics.horizontalAdvance(w) for w in words), default=0.0) + 4
        gap = self.GAP
        grow = text_scale(self)  # the pictures grow with their captions (presentation mode, Larger text)
        min_side, max_side = self.min_side * grow, self.max_side * grow
        if self.columns:
            columns = self.columns
            cell_w = max((view.width() - gap * (columns + 1)) / columns, widest_word)
            side = cell_w
        else:
            side = min(max(view.width() / 10, min_side), max_side)
            cell_w = max(side, widest_word)
            columns = max(1, int((view.width() - gap) // (cell_w + gap)))
        caption_h = max((metrics.boundingRect(QRectF(0, 0, cell_w, 1e4), Qt.TextFlag.TextWordWrap,
                                              cell.caption).height() for cell in shown), default=0.0) + 4
        rows = math.ceil(len(shown) / columns) if shown else 0
        if self.columns and rows:
            side = min(side, (view.height() - gap * (rows + 1)) / rows - caption_h)
        side = int(max(min_side, min(side, max_side, cell_w)))
        cell_h = side + int(caption_h)
        for k, cell in enumerate(shown):
            row, col = divmod(k, columns)
            cell.side = side
            cell.setGeometry(int(gap + col * (cell_w + gap)), gap + row * (cell_h + gap), int(cell_w), cell_h)
            cell.update()
        self._inner.resize(view.width(), gap + rows * (cell_h + gap))


def mistakes_summary(report: EvalReport) -> str:
    wrong = report.n - sum(report.confusion[k][k] for k in range(len(report.confusion)))
    shown = len(report.mistakes)
    return (f"{wrong:,} of {report.n:,} test images wrong ({wrong / max(report.n, 1):.1%}). "
            f"The {shown} most confident mistakes, each as true → predicted (confidence); "
            "click one to open it on the Canvas.")


class ResultsPanel(QTabWidget):
    """The latest run's evaluation, refreshed at each epoch end."""

    mistake_chosen = Signal(object, str, object)  # the Mistake clicked, its true class's name, the model that made it

    def __init__(self) -> None:
        super().__init__()
        self.confusion = ConfusionMatrixView()
        self.per_class = PerClassAccuracyView()
        self.mistakes_header = QLabel("The test images the model gets wrong appear here after each epoch.")
        self.mistakes_header.setWordWrap(True)
        self.mistakes = ImageGrid(self.mistakes_header, clickable=True)
        self.weights = ImageGrid(ColourScale(DIVERGING, ("blue: votes against the class", "white: 0", "red: votes for it"),
                                             "Each template is scaled to its own largest weight"),
                                 columns=5, max_side=420)
        # Short titles: five of them fit beside the Setup column at a projector's text size.
        self.addTab(self.confusion, "Confusion")
        self.addTab(self.per_class, "Per class")
        self.addTab(self.mistakes, "Mistakes")
        self.weights_index = self.addTab(self.weights, "Weights")
        self.setTabToolTip(0, "The confusion matrix: true class down, predicted class across")
        self.setTabToolTip(1, "Test accuracy of each class")
        self._latest: tuple[EvalReport, tuple[str, ...], np.ndarray | None] | None = None
        self.model: TrainedModel | None = None  # the model the report is of: its mistakes open with it
        self._stale: set[int] = set()
        self.currentChanged.connect(self._refresh)
        self.mistakes.clicked.connect(self._on_mistake_clicked)
        # Drawn a few frames after the epoch's curves, not in the same one: each paint then fits well
        # within a frame instead of stalling the window ~25 ms at every epoch end.
        self._draw_later = QTimer(self, singleShot=True, interval=50)
        self._draw_later.timeout.connect(lambda: self._refresh(self.currentIndex()))
        self.setTabToolTip(self.weights_index, "Softmax regression's ten weight vectors as 28×28 images: "
                                               "red pixels vote for the class, blue against it")

    def show_report(self, report: EvalReport, class_names: tuple[str, ...], weights: np.ndarray | None,
                    model: TrainedModel | None = None) -> None:
        """Keep the report (and the model it is of); draw only the page in view, shortly (the others when opened)."""
        self._latest = (report, class_names, weights)
        self.model = model
        self._stale = set(range(self.count()))
        self.setTabEnabled(self.weights_index, weights is not None)
        self._draw_later.start()

    def clear(self) -> None:
        """Nothing shown until the new run's first epoch: the last run's results belong to another model."""
        self._latest = None
        self.model = None
        self._draw_later.stop()
        self.setTabEnabled(self.weights_index, False)
        self.confusion.show_matrix(np.zeros((10, 10), dtype=np.int64).tolist(), tuple(str(d) for d in range(10)))
        self.per_class.show_accuracy([0.0] * 10, tuple(str(d) for d in range(10)))
        self.mistakes.set_items([])
        self.weights.set_items([])

    def _on_mistake_clicked(self, index: int) -> None:
        if self._latest is not None and index < len(self._latest[0].mistakes):
            mistake: Mistake = self._latest[0].mistakes[index]
            self.mistake_chosen.emit(mistake, self._latest[1][mistake.true], self.model)

    def _refresh(self, index: int) -> None:
        if self._latest is None or index not in self._stale:
            return
        self._stale.discard(index)
        report, names, weights = self._latest
        page = self.widget(index)
        if page is self.confusion:
            self.confusion.show_matrix(report.confusion, names)
        elif page is self.per_class:
            self.per_class.show_accuracy(report.per_class_accuracy, names)
        elif page is self.mistakes:
            self.mistakes_header.setText(mistakes_summary(report))
            self.mistakes.set_items([(gray_image(m.image, invert=True),
                                      f"{names[m.true]} → {names[m.predicted]} ({m.confidence:.0%})")
                                     for m in report.mistakes])
        elif page is self.weights and weights is not None:
            self.weights.set_items([(diverging_image(w), names[k]) for k, w in enumerate(weights)])
