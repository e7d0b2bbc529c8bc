"""The Fool-it panel: attack the drawing with its own gradient (FGSM, PGD), compare how far each model can be
pushed, a challenge to fool it by hand, and robustness curves — beside Explain on the Canvas tab.

Every attack and search runs on a worker thread (`run_call`, the curves with `run_events`) on a private copy of
the model (`explain.private_copy`: the Explain panel's hooks come and go on the shared one); the newest
request wins and an older answer is dropped on arrival. `AttackView` only draws an `AttackResult`; `digitpad
fool --out` renders the same widget offscreen (`render_png`).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSlider, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.attacks import (ATTACKS, CURVE_EPS, MAX_EPS, PGD_STEPS, AttackResult, AttackSettings,
                                   CurveFinished, CurvePoint, CurveProgress, attack_pixels, robustness_curves,
                                   smallest_flipping_eps)
from digitpad.core.checkpoints import TrainedModel
from digitpad.core.devices import keep_this_thread_serial
from digitpad.core.events import RunControl
from digitpad.core.explain import private_copy, saliency_of
from digitpad.core.inference import Prediction
from digitpad.gui.app import offscreen_quiet, qt_app
from digitpad.gui.canvas.explain_panel import MapGrid, section, set_text
from digitpad.gui.common.colours import DIVERGING, GREY, Legend, fmt, symmetric
from digitpad.gui.common.charts import RUN_COLOURS, StaticPlot, style_axis
from digitpad.gui.common.worker import Worker, run_call, run_events

EPS_STEPS = 100  # the ε slider: 0 … MAX_EPS in steps of 0.005
BEFORE = "#8fb3d9"
AFTER = "#d9534f"
ANY = "any other digit"
INK = Legend(GREY, 0.0, 1.0, "ink (x and x + δ)")
MIN_POINTS = 10  # a fooled model is worth this much however much ink it took


@dataclass(frozen=True)
class FoolOutcome:
    """What the worker hands back: the attack and, beside it, the saliency of the model's own answer."""

    result: AttackResult
    saliency: np.ndarray


def attack_with_saliency(trained: TrainedModel, pixels: np.ndarray, settings: AttackSettings) -> FoolOutcome:
    """On the worker thread: the attack, and the integrated-gradients saliency of the same drawing. One drawing
    is too little work to share out: on one thread, no OpenMP team competes with training for the cores."""
    keep_this_thread_serial()
    result = attack_pixels(trained, pixels, settings)
    return FoolOutcome(result, saliency_of(trained.model, trained.meta, pixels).top)


def flipping_eps_of(models: list[TrainedModel], pixels: np.ndarray, kind: str, target: int | None,
                    steps: int) -> list[float | None]:
    keep_this_thread_serial()
    return [smallest_flipping_eps(m, pixels, kind, target, steps) for m in models]


def curves_on_one_thread(models: list[TrainedModel], limit: int, attacks: tuple[str, ...], control: RunControl):
    """The panel's robustness curves: on one thread, so the window keeps the other core (bench/attacks.py)."""
    keep_this_thread_serial()
    yield from robustness_curves(models, limit, CURVE_EPS, attacks, PGD_STEPS, control, share_cpu=False)


def private(trained: TrainedModel) -> TrainedModel:
    """A copy for the worker threads, taken on the GUI thread that owns the model."""
    return TrainedModel(private_copy(trained.model), trained.meta, trained.name, trained.source)


def reads_digits(trained: TrainedModel) -> bool:
    return trained.meta.dataset == "mnist"


class BeforeAfterChart(StaticPlot):
    """The ten probabilities before (blue) and after (red) the attack, side by side, with a legend."""

    def __init__(self) -> None:
        super().__init__(class_axis=True)
        x = np.arange(10)
        self.before = pg.BarGraphItem(x=x - 0.19, height=np.zeros(10), width=0.36, brush=BEFORE, pen=BEFORE)
        self.after = pg.BarGraphItem(x=x + 0.19, height=np.zeros(10), width=0.36, brush=AFTER, pen=AFTER)
        legend = self.addLegend(offset=(-4, 4))
        for item, name in ((self.before, "before"), (self.after, "after the attack")):
            self.addItem(item)
            legend.addItem(item, name)
        self.setLabel("left", "probability")
        self.setXRange(-0.6, 9.6, padding=0)
        self.setYRange(0, 1.25, padding=0)  # room above the bars for the legend
        for side in ("left", "bottom"):
            style_axis(self.getAxis(side))
        self.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)]])
        self.getAxis("bottom").set_names([str(d) for d in range(10)])

    def show(self, before: Prediction | None, after: Prediction | None, names) -> None:  # noqa: A003
        self.getAxis("bottom").set_names(names)
        for item, pred in ((self.before, before), (self.after, after)):
            item.setOpts(height=np.zeros(10) if pred is None else np.asarray(pred.probabilities))


class AttackView(QWidget):
    """One attack on one drawing: the input, the saliency, the gradient, δ and x + δ, the probabilities before
    and after, and ‖δ‖∞ against ε."""

    def __init__(self, zoom: float = 1.0, point_size: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if point_size is not None:
            font = QFont(self.font())
            font.setPointSize(point_size)
            self.setFont(font)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.maps = MapGrid(columns=5, tile=round(80 * zoom), caption_lines=2, gap=round(10 * zoom))
        self.maps.setToolTip("The same input gradient the saliency is made of, used to attack instead of to explain: "
                             "FGSM moves every pixel by ε along the sign of the gradient")
        self.chart = BeforeAfterChart()
        self.chart.setMinimumHeight(round(150 * zoom))
        self.chart.setMaximumHeight(round(260 * zoom))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.maps)
        layout.addWidget(self.chart)
        layout.addStretch(1)
        self._min_tile = self.maps.tile
        self._shown: tuple = (None, tuple(str(d) for d in range(10)), "Draw a digit: the attack appears here.")
        self.show_result(None)

    def resizeEvent(self, event) -> None:
        """The five maps grow with the panel (a projector's back row), from their smallest size up to 3×."""
        super().resizeEvent(event)
        tile = max(self._min_tile, min(3 * self._min_tile, (self.width() - 40) // 5 - self.maps.gap))
        if tile != self.maps.tile:
            self.maps.tile = tile
            self.maps._cell_size = None  # its cell cache is keyed by font and tile height, not tile width
            self.show_result(*self._shown)

    def show_result(self, outcome: FoolOutcome | None, names=tuple(str(d) for d in range(10)),
                    waiting: str = "Draw a digit: the attack appears here.") -> None:
        self._shown = (outcome, names, waiting)
        if outcome is None:
            set_text(self.summary, waiting)
            self.maps.set_maps([], [], [])
            self.chart.show(None, None, names)
            return
        r, s = outcome.result, outcome.result.settings
        eps = s.eps
        grad_scale, sal_scale = symmetric(r.gradient), symmetric(outcome.saliency)
        self.maps.set_maps(
            [r.before.pixels, outcome.saliency, r.gradient, r.delta, r.adversarial],
            [f"what it sees\nx: {names[r.before.label]}", f"saliency of {names[r.before.label]}\n(Explain's map)",
             "gradient of the\nattack's loss", f"δ, ‖δ‖∞ = {r.linf:.3f}\n(ε = {eps:.3f})",
             f"x + δ\nnow: {names[r.after.label]}"],
            [INK, Legend(DIVERGING, -sal_scale, sal_scale, "saliency: for (red) / against"),
             Legend(DIVERGING, -grad_scale, grad_scale, "gradient"),
             Legend(DIVERGING, -max(eps, 1e-6), max(eps, 1e-6), "δ: red = ink added, blue = ink taken away"),
             INK])
        self.chart.show(r.before, r.after, names)
        set_text(self.summary, summary_text(r, names))


def summary_text(r: AttackResult, names) -> str:
    s = r.settings
    how = "FGSM (one step)" if s.kind == "fgsm" else f"PGD, {s.steps} steps of {fmt(s.shown_step_size)}"
    aim = ANY if s.target is None else f"target {names[s.target]}"
    before = f"{names[r.before.label]} (p = {r.before.confidence:.2f})"
    after = f"{names[r.after.label]} (p = {r.after.confidence:.2f})"
    verdict = ("<b style='color:#c81e28'>fooled</b>" if r.flipped else "<b>held</b>")
    return (f"<b>{before} → {after}</b> · {verdict} · {how}, {aim} · ‖δ‖∞ = {r.linf:.3f} ≤ ε = {s.eps:.3f}, "
            f"pixels kept in [0, 1]")


def png_of_pixels(pixels: np.ndarray) -> bytes:
    """A 28×28 field in [0, 1] as an 8-bit greyscale PNG (rounded to 1/255: ‖δ‖∞ may move by up to 0.002)."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), "L").save(buffer, "PNG")
    return buffer.getvalue()


def render_png(result: AttackResult, names, target: Path, saliency: np.ndarray | None = None) -> Path:
    """The attack as the panel draws it, offscreen at projector size, written atomically (`digitpad fool --out`)."""
    app = qt_app()  # noqa: F841
    with offscreen_quiet():
        image = _draw_figure(result, names, saliency)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode the figure for {target}")
    return atomic_write_bytes(target, bytes(buffer.data()))


def _draw_figure(result: AttackResult, names, saliency: np.ndarray | None):
    view = AttackView(zoom=1.6, point_size=11)
    view.layout().setContentsMargins(12, 12, 12, 12)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    sal = saliency if saliency is not None else np.zeros_like(result.gradient)
    view.show_result(FoolOutcome(result, sal), tuple(names))
    view.show()
    view.resize(1000, max(560, view.sizeHint().height()))
    QApplication.processEvents()
    image = view.grab().toImage()
    view.close()
    view.deleteLater()
    return image


class FoolPanel(QWidget):
    """Controls, the attack's view, the smallest ε per model, the challenge and the robustness curves."""

    attack_shown = Signal(object)  # FoolOutcome | None: a result reached the screen (tests wait on it)
    search_shown = Signal()
    curves_done = Signal()

    def __init__(self, library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.trained: TrainedModel | None = None
        self.pixels: np.ndarray | None = None
        self.prediction: Prediction | None = None
        self.outcome: FoolOutcome | None = None
        self._copies: dict[int, TrainedModel] = {}  # id(model) → its private copy
        self._attack: Worker | None = None
        self._attack_pending = False
        self._search: Worker | None = None
        self._curves: Worker | None = None
        self._curve_models: list[TrainedModel] = []
        self._curve_points: dict[tuple[int, str], list[tuple[float, float]]] = {}
        self._curve_items: dict[tuple[int, str], pg.PlotDataItem] = {}
        self.challenge: dict | None = None
        self.score = {"points": 0, "won": 0, "tried": 0}
        self._build()

    # --- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.kind = QComboBox()
        self.kind.addItem("FGSM (one step)", "fgsm")
        self.kind.addItem("PGD (iterated)", "pgd")
        self.target = QComboBox()
        self.eps = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=EPS_STEPS)
        self.eps.setValue(20)
        self.eps.setToolTip("L∞ budget ε in pixel units: no pixel of the 28×28 input moves by more than ε "
                            "(ink is 1, paper 0)")
        self.eps_label = QLabel()
        self.steps = QSpinBox(minimum=1, maximum=200, value=PGD_STEPS)
        self.step_size = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.005, decimals=3)
        self.step_size.setSpecialValueText("auto (2.5·ε/steps)")
        self.step_size.setValue(0.0)
        for w in (self.kind, self.target):
            w.currentIndexChanged.connect(self._settings_changed)
        for w in (self.eps, self.steps):
            w.valueChanged.connect(self._settings_changed)
        self.step_size.valueChanged.connect(self._settings_changed)
        controls = QGridLayout()
        controls.addWidget(QLabel("attack"), 0, 0)
        controls.addWidget(self.kind, 0, 1)
        controls.addWidget(QLabel("make it say"), 0, 2)
        controls.addWidget(self.target, 0, 3)
        controls.addWidget(QLabel("ε"), 1, 0)
        controls.addWidget(self.eps, 1, 1, 1, 2)
        controls.addWidget(self.eps_label, 1, 3)
        self.pgd_row = QWidget()
        pgd = QHBoxLayout(self.pgd_row)
        pgd.setContentsMargins(0, 0, 0, 0)
        pgd.addWidget(QLabel("PGD steps"))
        pgd.addWidget(self.steps)
        pgd.addWidget(QLabel("step size"))
        pgd.addWidget(self.step_size, stretch=1)
        controls.addWidget(self.pgd_row, 2, 0, 1, 4)
        controls.setColumnStretch(1, 1)
        controls.setColumnStretch(3, 1)

        attack_box, attack_layout = section("Fool it: the network's own gradient turned against it")
        attack_layout.addLayout(controls)
        self.view = AttackView()
        attack_layout.addWidget(self.view)
        attack_layout.addStretch(1)

        search_box, search_layout = section("Smallest ε that flips it, per model (the drawing and attack of the "
                                            "Attack page)")
        self.search_button = QPushButton("Find the smallest ε for each digit model")
        self.search_button.clicked.connect(self.find_smallest_eps)
        self.search_result = QLabel("Each model is attacked at every ε from 0 to 0.5 (to 0.002): how little it takes.")
        self.search_result.setWordWrap(True)
        self.search_result.setTextFormat(Qt.TextFormat.RichText)
        search_layout.addWidget(self.search_button)
        search_layout.addWidget(self.search_result)

        challenge_box, challenge_layout = section("Challenge: fool it by hand")
        self.challenge_target = QComboBox()
        self.challenge_target.addItem("a random digit", None)
        for d in range(10):
            self.challenge_target.addItem(str(d), d)
        self.challenge_button = QPushButton("Start with this drawing")
        self.challenge_button.clicked.connect(self.start_challenge)
        self.challenge_text = QLabel("Draw a digit, start, then add or erase a few strokes until the network says "
                                     "the target while a person would still read your digit.")
        self.challenge_text.setWordWrap(True)
        self.still_reads = QPushButton("A person still reads it: score it")
        self.not_anymore = QPushButton("No, it is another digit now")
        self.still_reads.clicked.connect(lambda: self.judge(True))
        self.not_anymore.clicked.connect(lambda: self.judge(False))
        self.score_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(QLabel("target"))
        row.addWidget(self.challenge_target)
        row.addWidget(self.challenge_button, stretch=1)
        judge_row = QHBoxLayout()
        judge_row.addWidget(self.still_reads)
        judge_row.addWidget(self.not_anymore)
        challenge_layout.addLayout(row)
        challenge_layout.addWidget(self.challenge_text)
        challenge_layout.addLayout(judge_row)
        challenge_layout.addWidget(self.score_label)

        curve_box, curve_layout = section("How robust is each model: test accuracy against ε")
        self.curve_limit = QSpinBox(minimum=100, maximum=10_000, singleStep=100, value=1000)
        self.curve_limit.setSuffix(" test images")
        self.curve_fgsm = QCheckBox("FGSM", checked=True)
        self.curve_pgd = QCheckBox("PGD", checked=True)
        self.curve_button = QPushButton("Compute")
        self.curve_button.clicked.connect(self.compute_curves)
        self.curve_stop = QPushButton("Stop", enabled=False)
        self.curve_stop.clicked.connect(self.stop_curves)
        self.curve_progress = QProgressBar()
        self.curve_progress.setFormat("%p %")
        self.curve_note = QLabel("Every model in the library on its own test set; ε = "
                                 f"{', '.join(f'{e:g}' for e in CURVE_EPS)}. Solid: FGSM, dashed: PGD ({PGD_STEPS} steps).")
        self.curve_note.setWordWrap(True)
        self.curve_chart = StaticPlot()
        self.curve_chart.setMinimumHeight(220)
        self.curve_chart.setLabel("bottom", "ε (L∞, pixel units)")
        self.curve_chart.setLabel("left", "test accuracy")
        for side in ("left", "bottom"):
            style_axis(self.curve_chart.getAxis(side))
        self.curve_chart.showGrid(x=True, y=True)
        self.curve_chart.setYRange(0, 1, padding=0.02)
        self.curve_chart.setXRange(0, max(CURVE_EPS), padding=0.02)
        self.curve_chart.disableAutoRange()  # fixed axes: a new point never rescales the chart
        self.curve_legend = self.curve_chart.addLegend(offset=(-4, 4), colCount=2, brush=pg.mkBrush(255, 255, 255, 220))
        curve_row = QHBoxLayout()
        for w in (self.curve_limit, self.curve_fgsm, self.curve_pgd, self.curve_button, self.curve_stop):
            curve_row.addWidget(w)
        curve_layout.addLayout(curve_row)
        curve_layout.addWidget(self.curve_progress)
        curve_layout.addWidget(self.curve_note)
        curve_layout.addWidget(self.curve_chart)

        search_layout.addStretch(1)
        challenge_layout.addStretch(1)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        for page, title in ((attack_box, "Attack"), (search_box, "Per model"), (challenge_box, "Challenge"),
                            (curve_box, "Robustness")):
            self.pages.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._fill_targets(tuple(str(d) for d in range(10)))
        self._show_eps()
        self._show_score()
        self._set_judging(False)
        self.pgd_row.setEnabled(False)

    def _fill_targets(self, names) -> None:
        wanted = [ANY] + list(names)
        if [self.target.itemText(i) for i in range(self.target.count())] != wanted:
            self.target.blockSignals(True)
            index = self.target.currentIndex()
            self.target.clear()
            self.target.addItems(wanted)
            self.target.setCurrentIndex(max(index, 0))
            self.target.blockSignals(False)

    # --- settings and the drawing --------------------------------------------------------------

    def settings(self) -> AttackSettings:
        step = self.step_size.value()
        return AttackSettings(self.kind.currentData(), self.eps.value() * MAX_EPS / EPS_STEPS,
                              self.target.currentIndex() - 1 if self.target.currentIndex() > 0 else None,
                              self.steps.value(), step if step > 0 else None)

    def _show_eps(self) -> None:
        set_text(self.eps_label, f"ε = {self.settings().eps:.3f}")

    def _settings_changed(self) -> None:
        self._show_eps()
        self.pgd_row.setEnabled(self.kind.currentData() == "pgd")
        self.request_attack()

    def set_drawing(self, trained: TrainedModel | None, pixels: np.ndarray | None, prediction: Prediction | None) -> None:
        """The canvas's current input and answer (None: nothing drawn)."""
        if trained is not None:
            self._fill_targets(tuple(trained.meta.class_names))
        self.trained, self.pixels, self.prediction = trained, pixels, prediction
        self._follow_challenge()
        self.request_attack()

    def copy_of(self, trained: TrainedModel) -> TrainedModel:
        key = id(trained.model)
        if key not in self._copies:
            self._copies = {k: v for k, v in self._copies.items() if k in {id(m.model) for m in self.library.models}}
            self._copies[key] = private(trained)
        return self._copies[key]

    # --- one attack ----------------------------------------------------------------------------

    def request_attack(self) -> None:
        """Attack the current drawing on a worker; while one runs, the newest request waits for it."""
        if not self.isVisible() and not self.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen):
            return
        if self.trained is None or self.pixels is None:
            self._attack_pending = False
            self.outcome = None
            self.view.show_result(None)
            self.attack_shown.emit(None)
            return
        if self._attack is not None:
            self._attack_pending = True
            return
        self._attack_pending = False
        trained, settings = self.trained, self.settings()
        call = run_call(attack_with_saliency, self.copy_of(trained), self.pixels.copy(), settings,
                        name="digitpad-fool", parent=self,
                        then=lambda outcome, error: self._on_attack(call, trained, outcome, error))
        self._attack = call

    def _on_attack(self, call: Worker, trained: TrainedModel, outcome: FoolOutcome | None,
                   error: Exception | None) -> None:
        if call is not self._attack:
            return
        self._attack = None
        if self._attack_pending:  # the drawing or the settings changed meanwhile: this answer is stale
            self.request_attack()
            return
        if error is not None:
            self.view.show_result(None, waiting=f"The attack failed: {error}")
            return
        self.outcome = outcome
        self.view.show_result(outcome, tuple(trained.meta.class_names))
        self.attack_shown.emit(outcome)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.request_attack()

    # --- smallest ε per model ------------------------------------------------------------------

    def find_smallest_eps(self) -> None:
        if self.pixels is None or self._search is not None:
            if self.pixels is None:
                self.search_result.setText("Draw a digit first.")
            return
        models = [m for m in self.library.models if reads_digits(m)]
        settings = self.settings()
        self.search_button.setEnabled(False)
        self.search_result.setText(f"Attacking {len(models)} models with {settings.kind.upper()}…")
        copies = [self.copy_of(m) for m in models]
        call = run_call(flipping_eps_of, copies, self.pixels.copy(), settings.kind, settings.target, settings.steps,
                        name="digitpad-fool-search", parent=self,
                        then=lambda eps, error: self._on_search(models, settings, eps, error))
        self._search = call

    def _on_search(self, models, settings: AttackSettings, found, error) -> None:
        self._search = None
        self.search_button.setEnabled(True)
        if error is not None:
            self.search_result.setText(f"The search failed: {error}")
            return
        aim = ANY if settings.target is None else f"a {settings.target}"
        rows = "".join(f"<tr><td>{m.title}</td><td align='right'>&nbsp;&nbsp;"
                       f"{'more than 0.5' if e is None else f'{e:.3f}'}</td></tr>" for m, e in zip(models, found))
        self.search_result.setText(f"{settings.kind.upper()} to make it say {aim}: smallest ε<table>{rows}</table>"
                                   "<small>A larger ε means a sturdier model on this drawing.</small>")
        self.search_shown.emit()

    # --- the challenge -------------------------------------------------------------------------

    def start_challenge(self) -> None:
        if self.pixels is None or self.prediction is None:
            self.challenge_text.setText("Draw a digit first: the challenge starts from your drawing.")
            return
        original = self.prediction.label
        target = self.challenge_target.currentData()
        if target is None or target == original:
            target = random.choice([d for d in range(10) if d != original])
        self.challenge = {"original": original, "target": target, "start": self.pixels.copy()}
        self.score["tried"] += 1
        self._follow_challenge()
        self._show_score()

    def ink_change(self) -> float:
        """How much of the starting drawing's ink changed (added or taken away) in the 28×28 input the network
        sees, as a share of the ink it started with: the fewer changes, the more points."""
        start = self.challenge["start"]
        return float(np.abs(self.pixels - start).sum() / max(start.sum(), 1e-6))

    def _follow_challenge(self) -> None:
        c = self.challenge
        if c is None:
            return
        if self.pixels is None or self.prediction is None:
            self.challenge_text.setText(f"Make it say {c['target']} while it still reads {c['original']} to a person "
                                        "(the canvas is empty: Undo brings the drawing back).")
            self._set_judging(False)
            return
        change = self.ink_change()
        says = self.prediction.label
        if says == c["target"]:
            self.challenge_text.setText(f"It says {says}! Ink changed: {change:.0%}. Would a person still read "
                                        f"{c['original']}?")
            self._set_judging(True)
        else:
            self.challenge_text.setText(f"Your {c['original']} must make it say {c['target']}. It says {says} now "
                                        f"(p = {self.prediction.confidence:.2f}); ink changed: {change:.0%}.")
            self._set_judging(False)

    def judge(self, still_reads: bool) -> None:
        """The class's verdict on a drawing that fooled the model: points for a small change that fooled it."""
        c = self.challenge
        if c is None:
            return
        if still_reads:
            points = max(MIN_POINTS, round(100 * (1 - self.ink_change())))
            self.score["points"] += points
            self.score["won"] += 1
            self.challenge_text.setText(f"Fooled it: {points} points (fewer changes, more points). Draw another!")
        else:
            self.challenge_text.setText("Then it is not fooled, it is right. Undo a few strokes and try again.")
            return
        self.challenge = None
        self._set_judging(False)
        self._show_score()

    def _set_judging(self, on: bool) -> None:
        self.still_reads.setEnabled(on)
        self.not_anymore.setEnabled(on)

    def _show_score(self) -> None:
        s = self.score
        self.score_label.setText(f"<b>Score: {s['points']}</b> · fooled {s['won']} of {s['tried']} tried")

    # --- robustness curves ---------------------------------------------------------------------

    def compute_curves(self) -> None:
        attacks = tuple(k for k, box in zip(ATTACKS, (self.curve_fgsm, self.curve_pgd)) if box.isChecked())
        if not attacks or self._curves is not None:
            return
        models = list(self.library.models)
        if not models:
            self.curve_note.setText("No model to measure: train one or open a checkpoint.")
            return
        self._curve_models = models
        self._curve_points = {}
        self._curve_items = {}
        self.curve_chart.clear()
        self.curve_legend.clear()
        self.curve_progress.setValue(0)
        self.curve_button.setEnabled(False)
        self.curve_stop.setEnabled(True)
        self.curve_note.setText(f"Attacking {self.curve_limit.value():,} test images per ε, for {len(models)} models…")
        copies = [self.copy_of(m) for m in models]
        self._curves_stopped = False
        control = RunControl()  # the generator checks it; the worker's Stop sets it
        self._curves = run_events(
            curves_on_one_thread, copies, self.curve_limit.value(), attacks, control, control=control,
            handlers={CurveProgress: self._on_curve_progress, CurvePoint: self._on_curve_point,
                      CurveFinished: self._on_curve_finished},
            failed=self._on_curve_failed, ended=self._on_curves_ended, name="digitpad-robustness", parent=self)

    def _on_curve_progress(self, ev: CurveProgress) -> None:
        share = (ev.model + ev.done / max(ev.total, 1)) / max(len(self._curve_models), 1)
        self.curve_progress.setValue(round(100 * share))

    def _on_curve_point(self, ev: CurvePoint) -> None:
        """One new point: its curve is created once (with its legend entry), then only given its data. Clearing
        and redrawing the chart and its legend per point held the window for 150-400 ms each time."""
        points = self._curve_points.setdefault((ev.model, ev.attack), [])
        points.append((ev.eps, ev.accuracy))
        key = (ev.model, ev.attack)
        if key not in self._curve_items:
            colour = RUN_COLOURS[ev.model % len(RUN_COLOURS)]
            pgd_style = ev.attack == "pgd"
            self._curve_items[key] = self.curve_chart.plot(
                [], [], pen=pg.mkPen(colour, width=2.5, style=Qt.PenStyle.DashLine if pgd_style else Qt.PenStyle.SolidLine),
                symbol="t" if pgd_style else "o", symbolSize=7, symbolBrush=colour, symbolPen=colour,
                name=f"{self._curve_models[ev.model].name} {ev.attack.upper()}")
        xs, ys = zip(*points)
        self._curve_items[key].setData(xs, ys)

    def _on_curve_finished(self, ev: CurveFinished) -> None:
        self._curves_stopped = self._curves_stopped or ev.stopped

    def _on_curve_failed(self, message: str, _kind) -> None:
        self.curve_note.setText(f"The curves could not be computed: {message}")

    def _on_curves_ended(self) -> None:
        self._curves = None
        self.curve_button.setEnabled(True)
        self.curve_stop.setEnabled(False)
        if not self.curve_note.text().startswith("The curves could not"):
            done = "Stopped: the points so far are drawn." if self._curves_stopped else "Done."
            self.curve_note.setText(f"{done} Solid: FGSM, dashed: PGD ({PGD_STEPS} steps); each model on the first "
                                    f"{self.curve_limit.value():,} images of its own test set.")
            if not self._curves_stopped:
                self.curve_progress.setValue(100)
        self.curves_done.emit()

    def stop_curves(self) -> None:
        if self._curves is not None:
            self._curves_stopped = True
            self._curves.stop()

