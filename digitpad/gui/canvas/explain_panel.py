"""The Explain panel: draws a core `Explanation` — the Canvas tab shows it live, `digitpad explain` grabs it to PNG.

Maps are painted from numpy through a 256-colour lookup table into one QImage each, scaled without
smoothing at paint time (each model pixel stays a visible square). Every map grid carries its colour
legend with the value range it was scaled to.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QEvent, QIODevice, QPoint, QRect, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import (QApplication, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                               QSlider, QVBoxLayout, QWidget)

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.explain import (ConvBlock, EvidenceMaps, Explanation, LabelLoss, SoftmaxSteps, UnitArithmetic,
                                   captions, label_loss, strongest_on_ink, unit_arithmetic)
from digitpad.core.inference import UNSURE_BELOW
from digitpad.gui.app import qt_app
from digitpad.gui.common.settings import number_in, stored
from digitpad.gui.common.colours import (ACTIVATION, BAR_COLOUR, DIVERGING, GREY, TOP_COLOUR, Legend, draw_legend,
                                        fmt, legend_width, lut_image, rgb_image, stacked_colours, symmetric)
from digitpad.gui.app import offscreen_quiet

TOP = QColor(TOP_COLOUR)
BAR = QColor(BAR_COLOUR)
SELECTED = QColor("#ff9900")
SALIENCY_PENDING = "Working out which pixels mattered (the first time takes a few seconds)…"
SALIENCY_NOTE = ("Left: which ink raised the top class's score above a blank canvas (red) or lowered it "
                 "(blue): ink × the gradient averaged from blank to this drawing; the map sums to about that rise. "
                 "Right: where adding ink (red) or removing it (blue) would move the answer towards the runner-up.")
SLIDER_STEPS = 200  # the temperature slider: 10^(-1 … 1) in 200 log-spaced steps


class MapGrid(QWidget):
    """Images in a grid, each with a caption, and one colour legend under them; click a map to select it."""

    clicked = Signal(int)

    def __init__(self, columns: int, tile: int, caption_lines: int = 1, gap: int = 8,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns, self.tile, self.caption_lines, self.gap = columns, tile, caption_lines, gap
        self.base_tile, self.base_gap = tile, gap  # at the panel's own text size; `set_scale` grows them
        self.sizes: list[tuple[int, int]] = []  # each map's (width, height) in model pixels
        self.images: list[QImage] = []  # one per map, unless they are drawn from the atlas
        self.atlas: QImage | None = None  # grids without captions: every map in one image, one drawImage
        self._cell_size: tuple[tuple, QSize] | None = None
        self.tile_height = tile  # square for square maps; a strip of 32×4 cells needs only a strip's height
        self.captions: list[str] = []
        self.legends: list[Legend] = []
        self.selected: int | None = None
        self.setSizePolicy(self.sizePolicy().horizontalPolicy(), self.sizePolicy().Policy.Fixed)

    def set_maps(self, maps: list[np.ndarray], captions: list[str], legend: Legend | list[Legend],
                 selected: int | None = None) -> None:
        """Colour each map with its legend (one for all, or one per map); each distinct legend is drawn once."""
        legends = legend if isinstance(legend, list) else [legend] * len(maps)
        before = (len(self.sizes), self.tile_height, len(self.legends))
        self.sizes = [(m.shape[1], m.shape[0]) for m in maps]
        self.tile_height = max((max(1, round(self.tile * min(1.0, m.shape[0] / m.shape[1]))) for m in maps),
                               default=self.tile)
        stacked = stacked_colours(maps, legends)
        whole = stacked is not None and self._scale(stacked.shape[2], stacked.shape[1]).is_integer()
        self.atlas = self._atlas(stacked) if whole and not self.caption_lines else None
        if self.atlas is not None:
            self.images = []
        elif stacked is not None:
            self.images = [rgb_image(np.ascontiguousarray(one)) for one in stacked]
        else:
            self.images = [lut_image(m, lg.lut, lg.lo, lg.hi) for m, lg in zip(maps, legends)]
        self.captions = captions
        self.legends = list({id(lg): lg for lg in legends}.values())
        self.selected = selected
        if (len(self.sizes), self.tile_height, len(self.legends)) != before:
            self.updateGeometry()  # a relayout of the whole panel only when this grid's size changes
        self.update()

    def set_scale(self, scale: float) -> None:
        """Maps `scale` times their base size (the text grew); shown again by the next `set_maps`."""
        self.tile, self.gap = max(1, round(self.base_tile * scale)), max(1, round(self.base_gap * scale))
        self._cell_size = None
        self.updateGeometry()

    def _line(self) -> int:
        return self.fontMetrics().height()

    def _caption_font(self) -> QFont:
        """A point smaller than the panel's own font, whatever size that is (the figure's is larger)."""
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        return small

    def _scale(self, image_w: int, image_h: int) -> float:
        """Whole pixels when enlarging at least twice, so every model pixel is the same size on screen."""
        scale = min(self.tile / image_w, self.tile_height / image_h)
        return float(math.floor(scale)) if scale >= 2 else scale

    def _target(self, index: int) -> QRect:
        """Where a map is drawn inside its tile, centred, aspect kept."""
        box, (width, height) = self.tile_rect(index), self.sizes[index]
        scale = self._scale(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        return QRect(box.left() + (box.width() - w) // 2, box.top() + (box.height() - h) // 2, w, h)

    def _atlas(self, rgb: np.ndarray) -> QImage:
        """Every map enlarged by whole pixels and framed, into one transparent image laid out exactly as
        `_target` places them: 32 maps cost one drawImage instead of 64 painter calls a frame."""
        n, h, w, _ = rgb.shape
        f = int(self._scale(w, h))
        th, tw = h * f, w * f
        rows, cols, cell = self._rows(), self.columns, self._cell()
        tiles = np.zeros((rows * cols, th, tw, 4), dtype=np.uint8)  # missing maps stay transparent
        tiles[:n] = (153, 153, 153, 255)  # the frame
        tiles[:n, 1:-1, 1:-1, :3] = rgb.repeat(f, axis=1).repeat(f, axis=2)[:, 1:-1, 1:-1]
        grid = np.zeros((rows, cell.height(), cols, cell.width(), 4), dtype=np.uint8)
        y0, x0 = 2 + (self.tile_height - th) // 2, self.gap // 2 + (self.tile - tw) // 2
        grid[:, y0:y0 + th, :, x0:x0 + tw] = tiles.reshape(rows, cols, th, tw, 4).transpose(0, 2, 1, 3, 4)
        out = np.ascontiguousarray(grid.reshape(rows * cell.height(), cols * cell.width(), 4))
        return QImage(out.data, out.shape[1], out.shape[0], 4 * out.shape[1], QImage.Format.Format_RGBA8888).copy()

    def _rows(self) -> int:
        return max(1, math.ceil(len(self.sizes) / self.columns))

    def _cell(self) -> QSize:
        """One map's box with its caption; kept until the font or the maps' shape changes (painting and
        hit-testing ask for it per map, and measuring a font costs more than the map)."""
        key = (self.font().key(), self.tile_height)
        if self._cell_size is None or self._cell_size[0] != key:
            captions = self.caption_lines * QFontMetrics(self._caption_font()).height()
            self._cell_size = (key, QSize(self.tile + self.gap, self.tile_height + 4 + captions + 4))
        return self._cell_size[1]

    def tile_rect(self, index: int) -> QRect:
        cell = self._cell()
        r, c = divmod(index, self.columns)
        return QRect(c * cell.width() + self.gap // 2, r * cell.height() + 2, self.tile, self.tile_height)

    def sizeHint(self) -> QSize:
        cell = self._cell()
        cols = min(self.columns, max(1, len(self.sizes)))
        legends = max((legend_width(self.fontMetrics(), lg) for lg in self.legends), default=0)
        return QSize(max(cols * cell.width(), legends) + 8,
                     self._rows() * cell.height() + (self._line() + 10) * len(self.legends))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def mousePressEvent(self, event) -> None:
        for i in range(len(self.sizes)):
            if self.tile_rect(i).contains(event.position().toPoint()):
                self.clicked.emit(i)
                return

    def paintEvent(self, _event) -> None:
        """Maps, frames, the selection, captions, legends; the captions in one font switch, the maps of an
        atlas in one drawImage (per-map geometry is only worked out where something is drawn per map)."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        line = self._line()
        if self.atlas is not None:
            p.drawImage(0, 0, self.atlas)
        else:
            p.setPen(QPen(QColor("#999999"), 1))
            for i, image in enumerate(self.images):
                target = self._target(i)
                p.drawImage(target, image)
                p.drawRect(target.adjusted(0, 0, -1, -1))
        if self.selected is not None and self.selected < len(self.sizes):
            p.setPen(QPen(SELECTED, 3))
            p.drawRect(self._target(self.selected).adjusted(0, 0, -1, -1))
        p.setPen(QColor("black"))
        if self.caption_lines:
            font = self._caption_font()
            p.setFont(font)
            height = self.caption_lines * p.fontMetrics().height()
            width = self.tile + self.gap
            widest = max((p.fontMetrics().horizontalAdvance(line) for c in self.captions for line in c.split("\n")),
                         default=0)
            if widest > width:  # a caption wider than its map ("(x−0.13)/0.31" in large type): all a bit smaller
                font.setPointSizeF(max(6.0, font.pointSizeF() * width / widest))
                p.setFont(font)
            for i, caption in enumerate(self.captions):
                box = self.tile_rect(i)
                text = QRect(box.left() - self.gap // 2, box.bottom() + 3, width, height)
                p.drawText(text, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)
            p.setFont(self.font())
        y = self._rows() * self._cell().height() + 4
        for legend in self.legends:
            draw_legend(p, QPoint(4, y), legend, line)
            y += line + 10
        p.end()


class SoftmaxTable(QWidget):
    """z → z/T → exp → ÷ Σ → p, one row per class, with p − onehot once a label is picked."""

    HEADERS = ("class", "z", "z / T", "exp(z/T)", "p", "", "p − y")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: tuple[str, ...] = tuple(str(d) for d in range(10))
        self.steps: SoftmaxSteps | None = None
        self.loss: LabelLoss | None = None
        self._widths: tuple[tuple, list[int]] = ((), [])

    def set_steps(self, steps: SoftmaxSteps | None, loss: LabelLoss | None, names: tuple[str, ...]) -> None:
        if names != self.names:
            self.updateGeometry()  # the class column's width follows the longest name
        self.steps, self.loss, self.names = steps, loss, names
        self.update()

    # The widest text each column may hold, whatever the numbers ("−0.00303" was cut to ")0.00303"); the bars
    # (column 5) take what is left. Measured from the font, never from the numbers shown: a new drawing never
    # changes the table's size.
    TEMPLATES = ("", "-8.88e-88", "-8.88e-88", "-8.88e-88", "0.0000", "", "+0.0000")
    BAR_MIN_CHARS = 6

    def column_widths(self) -> list[int]:
        key = (self.font().key(), self.names)
        if self._widths[0] != key:
            bold = QFont(self.font())
            bold.setBold(True)
            heads, cells = QFontMetrics(bold), self.fontMetrics()
            names = [n[:12] for n in self.names]
            texts = [[*names, "class"], *[[t] for t in self.TEMPLATES[1:]]]
            headers = [*self.HEADERS[:3], "exp(z/T−88.8)", "p", "", "(p − y)/T"]
            widths = [max(max(cells.horizontalAdvance(t) for t in column), heads.horizontalAdvance(h)) + 10
                      for column, h in zip(texts, headers)]
            widths[5] = cells.averageCharWidth() * self.BAR_MIN_CHARS
            self._widths = (key, widths)
        return self._widths[1]

    def sizeHint(self) -> QSize:
        return QSize(sum(self.column_widths()) + 4 * self.fontMetrics().averageCharWidth(), self._row() * 12 + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(sum(self.column_widths()), self._row() * 12 + 4)

    def paintEvent(self, _event) -> None:
        """One multi-line drawText per column (ten rows each): 70 separate calls cost several ms a frame."""
        p = QPainter(self)
        row = self._row()
        widths = list(self.column_widths())
        widths[5] += max(0, self.width() - sum(widths))  # the bars take the spare width
        xs = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        s = self.steps
        heads = list(self.HEADERS)
        if s is not None and s.shift != 0:
            heads[3] = f"exp(z/T−{fmt(s.shift)})"
        if s is not None and s.temperature != 1.0:
            heads[6] = "(p − y)/T"  # the gradient on the logits z themselves
        for c, head in enumerate(heads):
            p.drawText(QRect(xs[c], 0, xs[c + 1] - xs[c] - 4, row), right if c else left, head)
        p.setFont(self.font())
        if s is None:
            p.end()
            return
        n = len(s.logits)
        top = int(s.probabilities.argmax())
        columns = [[(self.names[k] if k < len(self.names) else str(k))[:12] for k in range(n)],
                   [fmt(v) for v in s.logits], [fmt(v) for v in s.scaled], [fmt(v) for v in s.exps],
                   [f"{v:.4f}" for v in s.probabilities]]
        if self.loss is not None:
            columns.append([f"{g:+.4f}" for g in self.loss.gradient / s.temperature])
        at = [0, 1, 2, 3, 4, 6]  # the bars take column 5
        for c, cells in enumerate(columns):
            box = QRect(xs[at[c]], row, xs[at[c] + 1] - xs[at[c]] - 4, n * row)
            p.drawText(box, right if c else left, "\n".join(cell if k != top else "" for k, cell in enumerate(cells)))
        p.setPen(TOP)  # the top class's row, in red
        for c, cells in enumerate(columns):
            p.drawText(QRect(xs[at[c]], (top + 1) * row, xs[at[c] + 1] - xs[at[c]] - 4, row), right if c else left,
                       cells[top])
        for k in range(n):
            bar_w = int((xs[6] - xs[5] - 8) * s.probabilities[k])
            p.fillRect(QRect(xs[5] + 4, (k + 1) * row + 3, max(bar_w, 1), row - 6), TOP if k == top else BAR)
        p.setPen(QColor("black"))
        y = (n + 1) * row + 2
        p.drawLine(0, y, self.width(), y)
        p.setFont(bold)
        footer = [(0, "Σ", left), (3, fmt(s.total), right), (4, f"{s.probabilities.sum():.4f}", right)]
        if self.loss is not None:
            footer.append((6, f"{round(self.loss.gradient.sum() / s.temperature, 4) + 0.0:+.4f}", right))  # no "−0.0000"
        for c, text, align in footer:
            p.drawText(QRect(xs[c], y, (xs[c + 1] if c else xs[3]) - xs[c] - 4, row), align, text)
        p.end()

    def _row(self) -> int:
        return self.fontMetrics().lineSpacing()


def section(title: str) -> tuple[QWidget, QVBoxLayout]:
    """A bold title over its contents. Not a QGroupBox: its styled frame took 0.4-0.7 ms to paint, per
    section, per stroke. Only the weight is set, so the title follows View ▸ Larger text like the rest."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 8, 4, 4)
    heading = QLabel(f"<b>{title}</b>")
    layout.addWidget(heading)
    return box, layout


def set_text(label: QLabel, text: str) -> None:
    """Only a changed text: QLabel.setText asks the whole panel for a new layout every time."""
    if label.text() != text:
        label.setText(text)


def temperature_of(slider_value: int) -> float:
    return 10 ** (2 * slider_value / SLIDER_STEPS - 1)


class ExplainPanel(QWidget):
    """Sections 1-5 of the issue for one explanation; nothing is computed here but the drawing."""

    unsure_below_changed = Signal(float)
    temperature_changed = Signal(float)  # the table's probabilities are at this T: the canvas's answer follows

    def __init__(self, with_verdict: bool = False, zoom: float = 1.0, point_size: int | None = None,
                 parent: QWidget | None = None) -> None:
        """with_verdict: a line saying what the network answers, for the figure (the canvas has its own);
        zoom, point_size: maps this many times larger, and this type size (the figure is read on a projector)."""
        super().__init__(parent)
        if point_size is not None:
            font = QFont(self.font())
            font.setPointSize(point_size)
            self.setFont(font)
        self.with_verdict = with_verdict
        self.zoom = zoom
        self._built_points = self.font().pointSizeF()
        self.explanation: Explanation | None = None
        self.selected_map: tuple[int, int] | None = None  # (conv block, channel) whose arithmetic is shown
        self._network_kind: tuple | None = None  # the layer layout the network section was built for
        self._build()

    # --- building ----------------------------------------------------------------------------

    def _grid(self, columns: int, tile: int, caption_lines: int = 1, gap: int = 8) -> MapGrid:
        grid = MapGrid(columns, round(tile * self.zoom), caption_lines, round(gap * self.zoom))
        grid.set_scale(self._text_growth())
        return grid

    def _text_growth(self) -> float:
        """How much larger the panel's text is than when it was built: its maps grow by as much."""
        return self.font().pointSizeF() / self._built_points

    def changeEvent(self, event) -> None:
        """Larger text (presentation mode, View ▸ Larger text): the maps grow with their captions."""
        if event.type() == QEvent.Type.FontChange and hasattr(self, "strip"):
            growth = self._text_growth()
            for grid in self.findChildren(MapGrid):
                grid.set_scale(growth)
            if self.explanation is not None:
                self.show_explanation(self.explanation)
        super().changeEvent(event)

    def _build(self) -> None:
        self.verdict = QLabel()
        verdict_font = QFont(self.font())
        verdict_font.setPointSize(verdict_font.pointSize() + 3)
        verdict_font.setBold(True)
        self.verdict.setFont(verdict_font)
        self.verdict.setWordWrap(True)
        self.verdict.setVisible(self.with_verdict)

        strip_box, strip_layout = section("1 · From drawing to input")
        self.strip = self._grid(columns=5, tile=62, caption_lines=2, gap=14)
        strip_layout.addWidget(self.strip)

        softmax_box, softmax_layout = section("2 · Softmax, step by step")
        self.temperature = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_STEPS)
        self.temperature.setValue(SLIDER_STEPS // 2)
        self.temperature.setToolTip("Divide the logits by T before softmax: the bars flatten (T > 1) or sharpen "
                                    "(T < 1), the top class never changes")
        self.temperature.valueChanged.connect(self._redraw_softmax)
        self.temperature_label = QLabel()
        self.label_picker = QComboBox()
        self.label_picker.currentIndexChanged.connect(self._redraw_softmax)
        self.loss_label = QLabel()
        self.loss_label.setWordWrap(True)
        self.unsure_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.unsure_spin.setValue(stored("explain/unsure_below", number_in(float, 0.0, 1.0), UNSURE_BELOW))
        self.unsure_spin.setToolTip("Below this top probability the answer reads \"not sure\"")
        self.unsure_spin.valueChanged.connect(self._on_unsure_below)
        controls = QGridLayout()
        controls.addWidget(QLabel("temperature"), 0, 0)
        controls.addWidget(self.temperature, 0, 1)
        controls.addWidget(self.temperature_label, 0, 2)
        controls.addWidget(QLabel("suppose it is a"), 1, 0)
        unsure_row = QHBoxLayout()
        unsure_row.addWidget(self.label_picker, stretch=1)
        unsure_row.addWidget(QLabel("  not sure below p ="))
        unsure_row.addWidget(self.unsure_spin)
        controls.addLayout(unsure_row, 1, 1, 1, 2)
        self.table = SoftmaxTable()
        softmax_layout.addLayout(controls)
        formula = QLabel("p = exp(z/T) / Σ exp(z/T) — the bars; y = onehot(label)")
        formula.setWordWrap(True)
        softmax_layout.addWidget(formula)
        softmax_layout.addWidget(self.table)
        softmax_layout.addWidget(self.loss_label)

        saliency_box, saliency_layout = section("4 · Which pixels mattered (integrated gradients)")
        self.saliency = self._grid(columns=2, tile=140, caption_lines=2)
        self.saliency_note = QLabel(SALIENCY_NOTE)
        self.saliency_note.setWordWrap(True)
        saliency_layout.addWidget(self.saliency)
        saliency_layout.addWidget(self.saliency_note)

        network_box, self.network_layout = section("3 · Inside the network")
        self.network_title = QLabel()
        self.network_title.setWordWrap(True)
        self.network_layout.addWidget(self.network_title)
        self.network_grids: list[MapGrid] = []
        self.arithmetic = QLabel()
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setTextFormat(Qt.TextFormat.RichText)
        self.filter_view = self._grid(columns=2, tile=96, caption_lines=2)
        detail = QVBoxLayout()
        detail.setContentsMargins(0, 0, 0, 0)
        detail.addWidget(self.filter_view)
        detail.addWidget(self.arithmetic)
        self.detail_box = QWidget()
        self.detail_box.setLayout(detail)
        self.network_layout.addWidget(self.detail_box)
        self.network_layout.addStretch(1)

        left = QVBoxLayout()
        for box in (strip_box, softmax_box, saliency_box):
            left.addWidget(box)
        left.addStretch(1)
        grid = QGridLayout(self)
        grid.addWidget(self.verdict, 0, 0, 1, 2)
        grid.addLayout(left, 1, 0)
        grid.addWidget(network_box, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.clear()

    def _rebuild_network(self, explanation: Explanation) -> None:
        """One map grid per layer; rebuilt only when the model's layer layout changes."""
        kind = tuple((type(layer).__name__, getattr(layer, "name", "")) for layer in explanation.layers)
        if kind == self._network_kind:
            return
        for g in self.network_grids:
            self.network_layout.removeWidget(g)
            g.setParent(None)  # off the screen now, not at the next event loop turn
            g.deleteLater()
        self.network_grids = []
        for i, layer in enumerate(explanation.layers):
            if isinstance(layer, EvidenceMaps):
                grid = self._grid(columns=5, tile=72, caption_lines=3, gap=14)  # ten maps, each readable
            elif isinstance(layer, ConvBlock):
                n = layer.maps.shape[0]
                grid = self._grid(columns=8, tile=36 if n <= 16 else 28, caption_lines=0)
                grid.clicked.connect(lambda ch, b=i: self.select_map(b, ch))
                grid.setToolTip("Click a map to see its filter and the arithmetic of its strongest unit")
            else:
                grid = self._grid(columns=1, tile=300)
            self.network_layout.insertWidget(self.network_layout.count() - 1, grid)
            self.network_grids.append(grid)
        # a clicked map's filter and arithmetic go right under the conv blocks, where the click was
        convs = [i for i, layer in enumerate(explanation.layers) if isinstance(layer, ConvBlock)]
        self.network_layout.removeWidget(self.detail_box)
        after = self.network_layout.indexOf(self.network_grids[convs[-1]]) + 1 if convs else \
            self.network_layout.count() - 1
        self.network_layout.insertWidget(after, self.detail_box)
        self._network_kind = kind
        self.selected_map = None

    # --- showing -----------------------------------------------------------------------------

    def temperature_value(self) -> float:
        return temperature_of(self.temperature.value())

    @property
    def unsure_below(self) -> float:
        return self.unsure_spin.value()

    def clear(self) -> None:
        self.explanation = None
        set_text(self.verdict, "Draw a digit: its explanation appears here.")
        self.strip.set_maps([], [], [])
        self.saliency.set_maps([], [], [])
        self.table.set_steps(None, None, self.table.names)
        set_text(self.loss_label, "")
        set_text(self.temperature_label, f"T = {temperature_of(self.temperature.value()):.2f}")
        for g in self.network_grids:
            g.set_maps([], [], [])
        self.detail_box.setVisible(False)

    def show_explanation(self, explanation: Explanation | None) -> None:
        if explanation is None:
            self.clear()
            return
        self.explanation = explanation
        self._show_verdict(explanation)
        self._show_strip(explanation)
        self._fill_label_picker(explanation.class_names)
        self._redraw_softmax()
        if explanation.saliency is None and not self.saliency.sizes:  # the first one: its process is starting
            set_text(self.saliency_note, SALIENCY_PENDING)
        self.show_saliency(explanation)
        self._rebuild_network(explanation)
        self._show_network(explanation)

    def _name(self, k: int) -> str:
        return self.explanation.class_names[k] if self.explanation else str(k)

    def _show_verdict(self, e: Explanation) -> None:
        p = e.prediction.probabilities
        if e.prediction.not_a_digit:
            text = (f"Not a digit? The not-a-digit detector gives {e.prediction.not_digit_score:.2f}; the model would "
                    f"say {self._name(e.label)} (p = {p[e.label]:.2f}) · softmax always sums to 1, even for a scribble")
        elif e.prediction.unsure(self.unsure_below):
            text = (f"Not sure — {self._name(e.label)} or {self._name(e.runner_up)}? (p = {p[e.label]:.2f} and "
                    f"{p[e.runner_up]:.2f}, below {self.unsure_below:.2f}) · softmax always sums to 1, even for "
                    "a scribble")
        else:
            text = (f"It says {self._name(e.label)} (p = {p[e.label]:.2f}); runner-up {self._name(e.runner_up)} "
                    f"(p = {p[e.runner_up]:.2f}) · {e.architecture}")
        set_text(self.verdict, text)

    def _show_strip(self, e: Explanation) -> None:
        s = e.steps
        maps = [s.drawn, s.cropped, s.fitted, s.centred, s.normalized]
        captions = [f"as drawn\n{s.drawn_size[1]}×{s.drawn_size[0]}", f"cropped\n{s.cropped_size[1]}×"
                    f"{s.cropped_size[0]}", f"fit in 20×20\n{s.fitted.shape[1]}×{s.fitted.shape[0]}",
                    "centred\nby mass", f"normalized\n(x−{s.mean:.2f})/{s.std:.2f}"]
        ink = Legend(GREY, 0.0, 1.0, "ink (steps 1-4)")
        lo, hi = (0 - s.mean) / s.std, (1 - s.mean) / s.std
        normalized = Legend(GREY, lo, hi, "normalized input (step 5)")
        self.strip.set_maps(maps, captions, [ink, ink, ink, ink, normalized])

    def _fill_label_picker(self, names: tuple[str, ...]) -> None:
        wanted = ["—"] + [f"{k}: {n}" if n != str(k) else n for k, n in enumerate(names)]
        if [self.label_picker.itemText(i) for i in range(self.label_picker.count())] != wanted:
            self.label_picker.blockSignals(True)
            index = self.label_picker.currentIndex()
            self.label_picker.clear()
            self.label_picker.addItems(wanted)
            self.label_picker.setCurrentIndex(max(index, 0))
            self.label_picker.blockSignals(False)

    def _redraw_softmax(self) -> None:
        t = temperature_of(self.temperature.value())
        set_text(self.temperature_label, f"T = {t:.2f}")
        e = self.explanation
        if e is None:
            return
        steps = e.softmax(t)
        label = self.label_picker.currentIndex() - 1
        loss = label_loss(steps, label) if label >= 0 else None
        self.table.set_steps(steps, loss, e.class_names)
        self.temperature_changed.emit(t)
        if loss is None:
            set_text(self.loss_label, "Pick a label above to see the cross-entropy loss and its gradient.")
        elif t == 1.0:
            set_text(self.loss_label,
                     f"cross-entropy if it is a {self._name(label)}: −log p[{label}] = −log "
                     f"{steps.probabilities[label]:.4f} = {loss.loss:.4f}. The gradient on the logits is "
                     f"p − onehot({label}): training would lower the logits with + and raise the one with −.")
        else:  # the loss of the tempered softmax: its gradient on z/T is p − y, on the logits z that over T
            set_text(self.loss_label,
                     f"cross-entropy if it is a {self._name(label)}, at T = {t:.2f}: −log p[{label}] = −log "
                     f"{steps.probabilities[label]:.4f} = {loss.loss:.4f}. Its gradient on z/T is p − onehot({label}); "
                     f"on the logits z it is (p − onehot({label}))/T, the last column: training would lower the logits "
                     "with + and raise the one with −.")

    def show_saliency(self, e: Explanation) -> None:
        """Without a saliency yet (a child process computes it), the previous maps stay until it comes."""
        if e.saliency is None:
            return
        self.explanation = e
        top, second = self._name(e.saliency.label), self._name(e.saliency.second)
        a, b = symmetric(e.saliency.top), symmetric(e.saliency.runner_up)
        self.saliency.set_maps(
            [e.saliency.top, e.saliency.runner_up],
            [f"{top}: ink × mean ∂z[{top}]/∂pixel\nsums to {fmt(float(e.saliency.top.sum()))}",
             f"{second} instead of {top}:\n∂(z[{second}] − z[{top}])/∂pixel"],
            [Legend(DIVERGING, -a, a, f"for {top} (red) / against"), Legend(DIVERGING, -b, b,
                                                                          f"more ink → {second} (red) / → {top}")])
        set_text(self.saliency_note, SALIENCY_NOTE)  # the same words for every drawing: no relayout per stroke

    def _show_network(self, e: Explanation) -> None:
        for grid, layer in zip(self.network_grids, e.layers):
            if isinstance(layer, EvidenceMaps):
                order = np.argsort(layer.sums)[::-1]
                scale = symmetric(layer.maps)
                grid.set_maps([layer.maps[c] for c in order],
                              [f"{self._name(c)}: Σ {fmt(layer.maps[c].sum())}\n+ b {fmt(layer.bias[c])}\n"
                               f"= z {fmt(layer.sums[c])}" for c in order],
                              Legend(DIVERGING, -scale, scale, "w_c ⊙ x: red for, blue against"))
            elif isinstance(layer, ConvBlock):
                n = layer.maps.shape[0]
                top = float(layer.maps.max()) or 1.0
                selected = self.selected_map[1] if self.selected_map and self.selected_map[0] == e.layers.index(layer) \
                    else None
                grid.set_maps(list(layer.maps), [str(c) for c in range(n)],
                              Legend(ACTIVATION, 0.0, top, f"block {e.layers.index(layer) + 1}: {n} maps, "
                                                           f"{layer.maps.shape[1]}×{layer.maps.shape[2]}"), selected)
            else:
                values = layer.values
                cols = 32
                rows = math.ceil(len(values) / cols)
                cells = np.zeros(rows * cols)
                cells[:len(values)] = values
                top = float(values.max()) or 1.0
                grid.set_maps([cells.reshape(rows, cols)],
                              [f"{layer.name} · {layer.active} active (> 0), in order"],
                              Legend(ACTIVATION, 0.0, top, "activation after ReLU"))
        set_text(self.network_title, " ".join(captions(e.layers)))
        self._show_arithmetic()

    def select_map(self, block: int, channel: int) -> None:
        """Show one map's filter and the arithmetic of its strongest unit."""
        self.selected_map = (block, channel)
        if self.explanation is not None:
            self._show_network(self.explanation)

    def _show_arithmetic(self) -> None:
        e = self.explanation
        if e is None or self.selected_map is None or self.selected_map[0] >= len(e.layers) \
                or not isinstance(e.layers[self.selected_map[0]], ConvBlock):
            self.detail_box.setVisible(False)
            return
        b, ch = self.selected_map
        block = e.layers[b]
        strongest = unit_arithmetic(block, ch)
        on_ink = strongest_on_ink(block, ch)
        u = strongest if on_ink is None else unit_arithmetic(block, ch, *on_ink)
        self._draw_filter(b, u, None if (u.row, u.col) == (strongest.row, strongest.col) else strongest)
        self.detail_box.setVisible(True)

    def _draw_filter(self, b: int, u: UnitArithmetic, off_ink: UnitArithmetic | None = None) -> None:
        """`off_ink`: the map's strongest unit when that one sees no ink (u is then its strongest on the ink)."""
        """The filter slice on the input map that contributes most, its input patch, and the arithmetic."""
        shares = (u.patch.astype(np.float64) * u.filter).sum(axis=(1, 2))
        k = int(np.abs(shares).argmax())  # the input map that contributes most
        f = symmetric(u.filter[k])
        patch_lo, patch_hi = float(u.patch[k].min()), float(u.patch[k].max())
        where = "the pixels" if u.patch.shape[0] == 1 else f"map {k} of {u.patch.shape[0]}"
        self.filter_view.set_maps(
            [u.filter[k], u.patch[k]], [f"filter of map {u.channel}\non {where}", f"input patch\nat ({u.conv_row}, "
                                                                                   f"{u.conv_col})"],
            [Legend(DIVERGING, -f, f, "filter weight"), Legend(GREY, patch_lo, max(patch_hi, patch_lo + 1e-6),
                                                              "input patch")])
        window = ", ".join(fmt(v) for v in u.pool_window.ravel())
        n = u.patch.size
        extra = "" if u.patch.shape[0] == 1 else (f" (input map {k} alone: {fmt(shares[k])}; the filter spans all "
                                                  f"{u.patch.shape[0]} input maps)")
        which = "its strongest unit" if off_ink is None else "its strongest unit on the ink"
        note = "" if off_ink is None else (
            f"<br><small>This map is strongest at ({off_ink.row}, {off_ink.col}) = {fmt(off_ink.output)}, on the blank "
            "paper: its filter answers to the empty background (its weights sum to a sign that the background's "
            "uniform value turns into a high score), not to a stroke. Shown instead: where it answers most to the "
            "drawing.</small>")
        set_text(self.arithmetic,
                 f"<b>Map {u.channel} of block {b + 1}, {which} ({u.row}, {u.col}):</b><br>"
                 f"Σ patch × filter ({n} products) = {fmt(u.dot)}{extra}<br>"
                 f"+ bias {fmt(u.bias)} = <b>{fmt(u.pre_activation)}</b><br>"
                 f"→ max-pool of the 2×2 window [{window}] = {fmt(float(u.pool_window.max()))}<br>"
                 f"→ ReLU = <b>{fmt(u.output)}</b><br>"
                 "<small>(batch norm folded into the filter and bias)</small>" + note)

    def _on_unsure_below(self, value: float) -> None:
        QSettings().setValue("explain/unsure_below", value)
        if self.explanation is not None:
            self._show_verdict(self.explanation)
        self.unsure_below_changed.emit(value)


FIGURE_WIDTH = 1400
FIGURE_MIN_HEIGHT = 800
FIGURE_POINT_SIZE = 11  # reads on a projector
FIGURE_ZOOM = 1.5


def render_png(explanation: Explanation, target: Path) -> Path:
    """The same panel the canvas shows, drawn offscreen at projector size and written atomically.

    The figure picks the predicted label (so it shows a loss and its gradient) and, for a CNN, the
    strongest map of the first block (so it shows one filter's arithmetic).
    """
    app = qt_app()  # noqa: F841 (kept alive while drawing)
    with offscreen_quiet():
        image = _draw_figure(explanation)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode the figure for {target}")
    atomic_write_bytes(target, bytes(buffer.data()))
    return target


def _draw_figure(explanation: Explanation) -> QImage:
    panel = ExplainPanel(with_verdict=True, zoom=FIGURE_ZOOM, point_size=FIGURE_POINT_SIZE)
    panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    panel.unsure_spin.blockSignals(True)  # the figure's threshold is the command's, not the app's setting
    panel.unsure_spin.setValue(explanation.unsure_below)
    panel.unsure_spin.blockSignals(False)
    panel.show_explanation(explanation)
    panel.label_picker.setCurrentIndex(explanation.label + 1)
    blocks = [i for i, layer in enumerate(explanation.layers) if isinstance(layer, ConvBlock)]
    if blocks:
        maps = explanation.layers[blocks[0]].maps
        panel.select_map(blocks[0], int(maps.reshape(len(maps), -1).max(axis=1).argmax()))
    panel.show()
    panel.resize(FIGURE_WIDTH, max(FIGURE_MIN_HEIGHT, panel.heightForWidth(FIGURE_WIDTH), panel.sizeHint().height()))
    QApplication.processEvents()
    image = panel.grab().toImage()
    panel.close()
    panel.deleteLater()
    return image
