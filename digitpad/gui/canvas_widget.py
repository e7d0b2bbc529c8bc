"""The drawing surface: strokes kept as vectors in a fixed 280×280 space, painted at any size.

Keeping vectors makes undo exact and lets the core rasterize exactly what `digitpad predict
--strokes` would: the widget only paints them for the eye, the model input comes from the core.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QTabletEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.core.preprocess import Stroke, StrokeSet

SPACE = 280  # stroke coordinates live in a 280×280 square, whatever the widget's size on screen
BASE_PEN = 18.0  # the stroke set's pen width; each point's factor scales it to the brush used


class DrawingCanvas(QWidget):
    stroke_moved = Signal()  # ink changed while the pen is down
    stroke_finished = Signal()  # a stroke ended, was undone, or the canvas was cleared
    image_dropped = Signal(str)  # a file dropped onto the canvas

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strokes: list[Stroke] = []
        self.brush = BASE_PEN
        self.eraser = False
        self.picture: QImage | None = None  # an opened image, shown until the next stroke
        self._current: Stroke | None = None
        self.setMinimumSize(280, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    # --- geometry ----------------------------------------------------------------------------

    def square(self) -> QRectF:
        """The drawing square inside the widget, centred."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_space(self, pos: QPointF) -> tuple[float, float]:
        sq = self.square()
        scale = SPACE / sq.width()
        return (pos.x() - sq.left()) * scale, (pos.y() - sq.top()) * scale

    def stroke_set(self) -> StrokeSet:
        strokes = list(self.strokes) + ([self._current] if self._current is not None else [])
        return StrokeSet(SPACE, SPACE, BASE_PEN, [Stroke(list(s.points), s.erase) for s in strokes])

    def is_empty(self) -> bool:
        return not self.strokes and self._current is None

    # --- editing -----------------------------------------------------------------------------

    def set_brush(self, width: float) -> None:
        """Brush size in canvas units; strokes already drawn keep theirs."""
        self.brush = float(width)

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.update()
            self.stroke_finished.emit()

    def clear(self) -> None:
        self.strokes.clear()
        self._current = None
        self.picture = None
        self.update()
        self.stroke_finished.emit()

    def show_picture(self, image: QImage) -> None:
        self.strokes.clear()
        self.picture = image
        self.update()

    def _begin(self, pos: QPointF, pressure: float = 1.0) -> None:
        self.picture = None
        x, y = self.to_space(pos)
        self._current = Stroke([(x, y, self._factor(pressure))], erase=self.eraser)
        self.update()
        self.stroke_moved.emit()

    def _extend(self, pos: QPointF, pressure: float = 1.0) -> None:
        if self._current is None:
            return
        x, y = self.to_space(pos)
        self._current.points.append((x, y, self._factor(pressure)))
        self.update()
        self.stroke_moved.emit()

    def _end(self) -> None:
        if self._current is None:
            return
        self.strokes.append(self._current)
        self._current = None
        self.update()
        self.stroke_finished.emit()

    def _factor(self, pressure: float) -> float:
        """Width factor relative to BASE_PEN, stored per point: the brush size, varied by pen pressure."""
        pressure_factor = max(0.2, min(pressure * 1.4, 1.6)) if pressure != 1.0 else 1.0
        return self.brush / BASE_PEN * pressure_factor

    # --- input -------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._extend(event.position())
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        pressure = max(event.pressure(), 0.05)
        if kind == QTabletEvent.Type.TabletPress:
            self._begin(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletMove and self._current is not None:
            self._extend(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self._end()
        event.accept()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.image_dropped.emit(urls[0].toLocalFile())
            event.acceptProposedAction()

    # --- painting ----------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().window())
        sq = self.square()
        painter.fillRect(sq, QColor("white"))
        painter.setPen(QPen(QColor("#b0b0b0"), 1))
        painter.drawRect(sq.adjusted(0, 0, -1, -1))
        if self.picture is not None:
            painter.drawImage(sq, self.picture)
        elif self.is_empty():
            painter.setPen(QColor("#a0a0a0"))
            font = painter.font()
            font.setPointSize(14)
            painter.setFont(font)
            painter.drawText(sq, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.translate(sq.topLeft())
        painter.scale(sq.width() / SPACE, sq.width() / SPACE)
        for stroke in self.strokes + ([self._current] if self._current else []):
            self._paint_stroke(painter, stroke)
        painter.end()

    def _paint_stroke(self, painter: QPainter, stroke: Stroke) -> None:
        colour = QColor("white") if stroke.erase else QColor("black")
        pts = stroke.points
        if len(pts) == 1 or len({(x, y) for x, y, _ in pts}) == 1:
            x, y, f = pts[0]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            r = f * BASE_PEN / 2
            painter.drawEllipse(QPointF(x, y), r, r)
            return
        widths = {f for _, _, f in pts}
        if len(widths) == 1:  # one width: one smooth path with round joins
            path = QPainterPath(QPointF(pts[0][0], pts[0][1]))
            for x, y, _ in pts[1:]:
                path.lineTo(x, y)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(self._pen(colour, pts[0][2]))
            painter.drawPath(path)
            return
        for (x0, y0, f0), (x1, y1, f1) in zip(pts, pts[1:]):  # pressure: segment by segment
            painter.setPen(self._pen(colour, (f0 + f1) / 2))
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))

    def _pen(self, colour: QColor, factor: float) -> QPen:
        return QPen(colour, factor * BASE_PEN, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin)
