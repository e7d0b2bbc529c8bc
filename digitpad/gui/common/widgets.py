"""Slots whose size never depends on what they show.

Text and pictures that change while the user draws must not change any size hint: a label that
grows with its text makes Qt lay the window out again, which can grow the window on a small
screen or shrink the canvas under the pen. These widgets size themselves from their font alone.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget


class FittedLabel(QWidget):
    """Text in a slot of `lines` lines and about `chars` characters, sized by the font, never by the text.

    Text that does not fit is drawn smaller (down to `min_scale` of the label's size), then elided;
    the full text is then in the tooltip. `scale` enlarges the label's font (the canvas's answer).
    """

    def __init__(self, text: str = "", *, chars: int = 12, lines: int = 1, scale: float = 1.0,
                 min_scale: float = 0.6, bold: bool = False, align=Qt.AlignmentFlag.AlignCenter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self.chars, self.lines, self.scale, self.min_scale = chars, lines, scale, min_scale
        self.bold = bold
        self.align = align
        self._fitted: tuple[tuple, float] = ((), 1.0)  # (text, size, font) → the scale found for them
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def _font(self, scale: float) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(self.font().pointSizeF() * scale)
        font.setBold(self.bold)
        return font

    def sizeHint(self) -> QSize:
        metrics = QFontMetricsF(self._font(self.scale))
        return QSize(round(metrics.averageCharWidth() * self.chars),
                     round(metrics.lineSpacing() * self.lines + 4))

    def minimumSizeHint(self) -> QSize:
        hint = self.sizeHint()
        return QSize(min(hint.width(), round(QFontMetricsF(self.font()).averageCharWidth() * 4)), hint.height())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()  # text zoom: the slot follows the font, and only then
        super().changeEvent(event)

    def _flags(self) -> int:
        wrap = Qt.TextFlag.TextWordWrap if self.lines > 1 else Qt.TextFlag.TextSingleLine
        return int(self.align) | int(wrap)

    def fits(self, scale: float) -> bool:
        """Whether the whole text fits the slot at this scale of the label's font."""
        area = QRectF(self.contentsRect())
        bounds = QFontMetricsF(self._font(scale)).boundingRect(area, self._flags(), self._text)
        return bounds.width() <= area.width() + 0.5 and bounds.height() <= area.height() + 0.5

    def shown_scale(self) -> float:
        """The largest scale, from `scale` down to `min_scale`, at which the text fits (kept per text)."""
        key = (self._text, self.size().toTuple(), self.font().key())
        if self._fitted[0] != key:
            steps = max(1, round((self.scale - self.min_scale) / 0.05))
            scales = [self.scale - k * (self.scale - self.min_scale) / steps for k in range(steps + 1)]
            low, high = 0, steps  # bisect for the first step that fits: smaller text never fits worse
            while low < high:
                middle = (low + high) // 2
                low, high = (low, middle) if self.fits(scales[middle]) else (middle + 1, high)
            self._fitted = (key, scales[low])
        return self._fitted[1]

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        scale = self.shown_scale()
        font = self._font(scale)
        painter.setFont(font)
        painter.setPen(self.palette().windowText().color())
        area = QRectF(self.contentsRect())
        text = self._text
        if scale == self.min_scale and not self.fits(scale):
            width = area.width() * self.lines - QFontMetricsF(font).averageCharWidth() * 2 * (self.lines - 1)
            text = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
        self.setToolTip(self._text if text != self._text else "")
        painter.drawText(area, self._flags(), text)
        painter.end()


class PixelView(QWidget):
    """An image as large as the space allows, in a centred square, each pixel a sharp block.

    The 28×28 preview grows with the window (a projector's back row sees it) without asking for
    space: its size hint is fixed, so a new picture never moves anything.
    """

    def __init__(self, minimum: int = 112, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(168, 168)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def square(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        square = self.square()
        painter.fillRect(square, QColor("black"))
        if self.image is not None:
            painter.drawImage(square.adjusted(1, 1, -1, -1), self.image)  # no smoothing: sharp pixels
        painter.setPen(QColor("#888888"))
        painter.drawRect(square.adjusted(0, 0, -1, -1))
        painter.end()


class SteadyButton(QPushButton):
    """A push button as wide as the widest of the texts it will ever show ("Pause" and "Resume"): changing
    its text never changes its size, so neither it nor its neighbours move under the teacher's pointer."""

    def __init__(self, text: str, *others: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.texts = (text, *others)

    def _hint_for(self, text: str) -> QSize:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = text
        size = self.fontMetrics().size(Qt.TextFlag.TextShowMnemonic, text)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, size, self)

    def sizeHint(self) -> QSize:
        hints = [self._hint_for(t) for t in self.texts]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints)).expandedTo(super().sizeHint())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


def same_width(*buttons: SteadyButton) -> tuple[SteadyButton, ...]:
    """Each button as wide as the widest text any of them will show."""
    texts = tuple(dict.fromkeys(t for b in buttons for t in b.texts))
    for button in buttons:
        button.texts = texts
    return buttons


def steady_row(*buttons: SteadyButton) -> QHBoxLayout:
    """Buttons side by side in equal columns that fill the row, none resized by a change of text."""
    row = QHBoxLayout()
    for button in same_width(*buttons):
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row.addWidget(button, stretch=1)
    return row


class TextColumn(QWidget):
    """A column whose width range is counted in characters of its font: it widens with View ▸ Larger text
    and presentation mode, so the controls in it ("MNIST", a preset's name) are never cut."""

    def __init__(self, min_chars: int, max_chars: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.min_chars, self.max_chars = min_chars, max_chars
        self._fit()

    def _fit(self) -> None:
        char = QFontMetricsF(self.font()).averageCharWidth()
        self.setMinimumWidth(round(char * self.min_chars))
        self.setMaximumWidth(round(char * self.max_chars))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit()
        super().changeEvent(event)
