"""Slots whose size never depends on what they show.

Text and pictures that change while the user draws must not change any size hint: a label that
grows with its text makes Qt lay the window out again, which can grow the window on a small
screen or shrink the canvas under the pen. These widgets size themselves from their font alone.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QLayout, QLayoutItem, QPushButton, QScrollArea,
                               QSizePolicy, QStyle, QStyleOptionButton, QToolButton, QVBoxLayout, QWidget)


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


def text_button_width(button: QPushButton, text: str | None = None) -> int:
    """The width a push button needs for its text (or `text`): the text, the style's margin and frame, without
    the Fusion style's 80-pixel least width, which would push a row of short buttons ("×10") off a small screen."""
    style = button.style()
    text = button.text() if text is None else text
    frame = 2 * style.pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, button)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, button)
    return button.fontMetrics().size(Qt.TextFlag.TextShowMnemonic, text).width() + margin + frame


class CompactButton(QPushButton):
    """A push button as wide as its text at the current text size (`text_button_width`)."""

    def sizeHint(self) -> QSize:
        return QSize(text_button_width(self) + 8, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


class FormScroll(QScrollArea):
    """A form, whole when there is room, scrolling (never squeezed, never cut at the side) when there is not.

    Its hints are the form's at the current text size, never more (what is below takes any spare height), and its
    least width leaves room for the scroll bar it may need: a zoomed form never hides its fields' right edge.
    """

    def __init__(self, form: QWidget, row: QWidget) -> None:
        super().__init__()
        self.row = row  # one control of the form: at least four rows stay in view
        self.setWidget(form)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def sizeHint(self) -> QSize:
        return self.widget().sizeHint() + QSize(self.verticalScrollBar().sizeHint().width(), 0)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width(),
                     4 * self.row.sizeHint().height())


def same_width(*buttons: SteadyButton) -> tuple[SteadyButton, ...]:
    """Each button as wide as the widest text any of them will show."""
    texts = tuple(dict.fromkeys(t for b in buttons for t in b.texts))
    for button in buttons:
        button.texts = texts
    return buttons


class SteadyRow(QWidget):
    """Buttons side by side in columns of one width that fill the row, none resized by a change of text.

    Placed by hand, not by a box layout: a layout shares a width that three does not divide unevenly (114, 115,
    114 px), and a teacher's button would then differ by a pixel from its neighbour's and move when they swap."""

    def __init__(self, *buttons: SteadyButton, spacing: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons, self.spacing = same_width(*buttons), spacing
        for button in self.buttons:
            button.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        widest = max(b.sizeHint().width() for b in self.buttons)
        tallest = max(b.sizeHint().height() for b in self.buttons)
        return QSize(len(self.buttons) * widest + (len(self.buttons) - 1) * self.spacing, tallest)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        n = len(self.buttons)
        width = (self.width() - (n - 1) * self.spacing) // n
        for k, button in enumerate(self.buttons):
            button.setGeometry(k * (width + self.spacing), 0, width, self.height())


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


class Foldable(QWidget):
    """A section that folds to one line: its title button, and a summary of what it holds while folded
    (the Setup form in presentation mode: the charts get the room, the setup stays in view)."""

    toggled = Signal(bool)  # open

    def __init__(self, title: str, body: QWidget, summary: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.body, self.summary = body, summary
        self.button = QToolButton(text=title, checkable=True, checked=True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setAutoRaise(True)
        self.button.toggled.connect(self.set_open)
        self.summary_label = FittedLabel(chars=24, lines=2, min_scale=0.75,
                                         align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.button)
        header.addWidget(self.summary_label, stretch=1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(body)
        self.set_open(True)

    def is_open(self) -> bool:
        return self.button.isChecked()

    def set_open(self, on: bool) -> None:
        if self.button.isChecked() != on:
            self.button.setChecked(on)  # comes back here through toggled
            return
        self.button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.button.setToolTip(f"Hide the {self.button.text().lower()}" if on
                               else f"Show the {self.button.text().lower()}")
        self.body.setVisible(on)
        self.summary_label.setVisible(not on)
        self.refresh()
        self.toggled.emit(on)

    def refresh(self) -> None:
        """Say again what the folded section holds (its contents changed)."""
        if not self.is_open():
            self.summary_label.setText(self.summary())


class FlowLayout(QLayout):
    """Items left to right, wrapping onto as many rows as the width needs (a lesson's row of controls at a
    projector's text size): nothing is squeezed below its size, nothing is cut at the right."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the items out in rows within `rect` (or only measure); returns the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and x > area.x():
                x, y, row_height = area.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


def labelled(title: str, widget: QWidget) -> QWidget:
    """A control with its name in front, kept together on one row of a FlowLayout."""
    pair = QWidget()
    row = QHBoxLayout(pair)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel(title))
    row.addWidget(widget)
    return pair
