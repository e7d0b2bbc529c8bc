"""The drawing surface: strokes kept as vectors in a fixed 280×280 space, painted at any size.

Keeping vectors makes undo exact and lets the core rasterize exactly what `digitpad predict
--strokes` would: the widget only paints them for the eye, the model input comes from the core.
Every change (a stroke, Clear, an opened picture) is one step of an undo/redo history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QTabletEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.core.strokes import Stroke, StrokeSet

SPACE = 280  # stroke coordinates live in a 280×280 square, whatever the widget's size on screen
BASE_PEN = 18.0  # the stroke set's pen width; each point's factor scales it to the brush used
HISTORY = 100  # undo steps kept (an opened picture is a ≤1024² image: ~4 MB a step at most)


class Picture(Protocol):
    """An opened image as the canvas shows it; whoever opened it may keep more (its model input)."""

    display: QImage


@dataclass(frozen=True)
class Sketch:
    """What the canvas holds: finished strokes, or an opened picture (a stroke replaces it)."""

    strokes: tuple[Stroke, ...] = ()
    picture: Picture | None = None


class DrawingCanvas(QWidget):
    stroke_moved = Signal()  # ink changed while the pen is down
    stroke_finished = Signal()  # what the canvas holds changed: a stroke ended, undo, redo, clear, a picture
    image_dropped = Signal(str)  # a file dropped onto the canvas

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sketch = Sketch()
        self._undo: list[Sketch] = []
        self._redo: list[Sketch] = []
        self._before_stroke = self.sketch  # the state a stroke in progress started from
        self.brush = BASE_PEN
        self.eraser = False
        self.notice = ""  # a line painted over the top of the drawing square (e.g. "this model knows clothes")
        self._current: Stroke | None = None
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the tab's first stop: its digit keys, Esc and Ctrl+Z
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        # A fixed hint and no height-for-width: the widget takes what the layout gives and paints a
        # centred square in it, so nothing it shows can change the window's layout.
        return QSize(420, 420)

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

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return self.sketch.strokes

    @property
    def picture(self) -> Picture | None:
        return self.sketch.picture

    def is_empty(self) -> bool:
        return not self.strokes and self._current is None and self.picture is None

    # --- editing -----------------------------------------------------------------------------

    def set_brush(self, width: float) -> None:
        """Brush size in canvas units; strokes already drawn keep theirs."""
        self.brush = float(width)

    def set_notice(self, text: str) -> None:
        self.notice = text
        self.update()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        self._step(self._undo, self._redo)

    def redo(self) -> None:
        self._step(self._redo, self._undo)

    def clear(self) -> None:
        """Empty the canvas: one undoable step, like a stroke."""
        self._current = None
        if self.strokes or self.picture is not None:
            self._commit(Sketch(), self.sketch)
        self.stroke_finished.emit()

    def show_picture(self, picture: Picture) -> None:
        self._current = None
        self._commit(Sketch(picture=picture), self.sketch)

    def _commit(self, new: Sketch, before: Sketch) -> None:
        self._undo = (self._undo + [before])[-HISTORY:]
        self._redo.clear()
        self.sketch = new
        self.update()

    def _step(self, source: list[Sketch], target: list[Sketch]) -> None:
        if self._current is not None or not source:
            return
        target.append(self.sketch)
        self.sketch = source.pop()
        self.update()
        self.stroke_finished.emit()

    def _begin(self, pos: QPointF, pressure: float = 1.0) -> None:
        self._before_stroke = self.sketch
        if self.picture is not None:  # a stroke starts a drawing over the picture; undo brings it back
            self.sketch = Sketch()
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
        stroke, self._current = self._current, None
        self._commit(Sketch(self.strokes + (stroke,)), self._before_stroke)
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
            painter.drawImage(sq, self.picture.display)
        elif self.is_empty():
            painter.setPen(QColor("#a0a0a0"))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.5)
            painter.setFont(font)
            painter.drawText(sq, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        if self.notice:
            self._paint_notice(painter, sq)
        painter.translate(sq.topLeft())
        painter.scale(sq.width() / SPACE, sq.width() / SPACE)
        for stroke in self.strokes + ((self._current,) if self._current else ()):
            self._paint_stroke(painter, stroke)
        painter.end()

    def _paint_notice(self, painter: QPainter, sq: QRectF) -> None:
        """A pale band across the top of the square: seen while drawing, never covering the middle."""
        painter.save()
        margin = painter.fontMetrics().height() / 2
        text_rect = sq.adjusted(margin, margin / 2, -margin, 0)
        bounds = painter.boundingRect(text_rect, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignHCenter,
                                      self.notice)
        painter.fillRect(QRectF(sq.left() + 1, sq.top() + 1, sq.width() - 2, bounds.height() + margin),
                         QColor("#fff3cd"))
        painter.setPen(QColor("#7a5200"))
        painter.drawText(text_rect, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignHCenter, self.notice)
        painter.restore()

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


class BrushSwatch(QWidget):
    """The brush's width as a dot, relative to the widest brush (which fills the swatch)."""

    def __init__(self, widest: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widest = widest
        self.width_now = BASE_PEN
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        side = round(self.fontMetrics().height() * 2)
        return QSize(side, side)

    def set_width(self, width: float) -> None:
        self.width_now = width
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        painter.setPen(QPen(QColor("#b0b0b0"), 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0, 0, -1, -1))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("black"))
        r = (min(self.width(), self.height()) - 4) / 2 * self.width_now / self.widest
        painter.drawEllipse(QRectF(self.rect()).center(), r, r)
        painter.end()
