"""The Step tab: watch it learn one mini-batch step at a time — Step, ×10, ×100, slow motion, Back, Rewind,
a timeline — with the batch, the loss, the update and optimizers racing on the same batches.

Every step, replay and session set-up runs on a worker thread (`run_events`), one job at a time; the GUI
thread only draws the numpy views the session hands back.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSlider,
                               QSplitter, QToolButton, QVBoxLayout, QWidget)

from digitpad.core.devices import yield_to_the_window
from digitpad.core.events import FailureKind, RunControl
from digitpad.core.step import Opened, StepSession, Stepped, open_session
from digitpad.gui.common.dialogs import show_warning
from digitpad.gui.common.widgets import CompactButton, FittedLabel, TextColumn
from digitpad.gui.common.worker import Worker, run_events
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.step.panels import BatchPanel, CurvesPanel, PanelDeck, RacePanel, Shown, UpdatePanel
from digitpad.gui.step.setup import SetupPanel

JOB = "digitpad-step"
TIMELINE_DELAY_MS = 150  # clicks on the timeline's groove come in bursts: go once they settle
FAILURE_TITLES = {FailureKind.DIVERGED: "The step diverged", FailureKind.DATA: "Data set missing",
                  FailureKind.CONFIG: "Cannot step", FailureKind.ERROR: "Stepping failed"}


def _behind_the_window(fn, *args):
    """Call `fn` on the worker's thread at a lower priority than the window's: slow motion may slow down on a
    busy machine, the window may not stall."""
    yield_to_the_window()
    return fn(*args)


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


class StepTab(QWidget):
    """Setup on the left; the transport (Step … Rewind, speed, timeline) over the panels on the right."""

    exercise_requested = Signal()  # "Save as exercise…": the setup shown, stepped as far as the session is

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: StepSession | None = None
        self.job: Worker | None = None
        self.stale = True  # the setup no longer matches the session: the next Step starts a new one
        self.views = ()
        self.rate = 10.0  # slow-motion steps per second, read by the worker thread
        self.x_train: np.ndarray | None = None
        self.playing = False
        self._then = None  # what to do once the session being opened is ready (the Step that asked for it)
        self._build(library)
        self._set_busy(False)

    # --- layout ------------------------------------------------------------------------------

    def _build(self, library: ModelLibrary) -> None:
        self.setup = SetupPanel(library)
        self.setup.changed.connect(self._on_setup_changed)
        self.new_button = QPushButton("New session")
        self.new_button.setToolTip("Start over at step 0 with the setup above (the history is discarded)")
        self.new_button.clicked.connect(lambda: self.new_session())
        self.exercise_button = QPushButton("Save as exercise…")
        self.exercise_button.setToolTip("A predict-then-reveal exercise: this setup, as many steps as taken here")
        self.exercise_button.clicked.connect(self.exercise_requested)
        self.history_label = FittedLabel(chars=30, lines=3,
                                         align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        setup_scroll = QScrollArea()
        setup_scroll.setWidget(self.setup)
        setup_scroll.setWidgetResizable(True)
        setup_scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Narrower than its form, the form scrolls sideways: the panels keep their room. Counted in characters,
        # the column widens with the text.
        self.left = left = TextColumn(min_chars=28, max_chars=50)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(setup_scroll, stretch=1)
        column.addWidget(self.new_button)
        column.addWidget(self.exercise_button)
        column.addWidget(self.history_label)
        # The setup column folds away (presentation mode folds it: the panels get the room); the button says what
        # the setup is while it is folded.
        self.setup_button = QToolButton(text="Setup", checkable=True, checked=True)
        self.setup_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setup_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.setup_button.setToolTip("Hide the setup column")
        self.setup_button.toggled.connect(self._show_setup)

        def button(text: str, tip: str, slot) -> QPushButton:
            b = CompactButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # reached by Tab; a click leaves the focus where it was (Space steps)
            b.clicked.connect(slot)
            return b
        self.rewind_button = button("◀◀ Rewind", "Back to step 0: the initial weights", self.rewind)
        self.back_button = button("◀ Back", "Undo the last step (←): every weight and the optimizer's state "
                                            "come back bit for bit", self.back)
        self.step_button = button("Step ▶", "Take one mini-batch step (Space or →)", lambda: self.step_by(1))
        self.ten_button = button("×10", "Ten steps", lambda: self.step_by(10))
        self.hundred_button = button("×100", "A hundred steps", lambda: self.step_by(100))
        self.play_button = button("▶ Play", "Slow motion: steps at the speed set on the right", self.play)
        self.stop_button = button("■ Stop", "Stop after the step under way", self.stop)
        self.speed = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=30, value=10)
        self.speed.setToolTip("Slow-motion speed, steps per second")
        self.speed.setMinimumWidth(60)
        self.speed.setMaximumWidth(140)
        self.speed.valueChanged.connect(self._on_speed)
        self.speed_label = FittedLabel("10 steps/s", chars=10)
        transport = QHBoxLayout()
        transport.addWidget(self.setup_button)
        for b in (self.rewind_button, self.back_button, self.step_button, self.ten_button, self.hundred_button,
                  self.play_button, self.stop_button):
            transport.addWidget(b)
        transport.addStretch(1)

        self.timeline = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.timeline.setToolTip("Every kept step: drag or click to go to one")
        self.timeline.setPageStep(10)
        self.timeline.valueChanged.connect(self._on_timeline_moved)
        self.timeline.sliderReleased.connect(self._go_to_timeline)
        self._timeline_settle = QTimer(self, singleShot=True, interval=TIMELINE_DELAY_MS)
        self._timeline_settle.timeout.connect(self._go_to_timeline)
        self._moving_timeline = False  # the slider is being set from the session, not by the user
        self.step_label = FittedLabel("step 0", chars=17)  # its text changes every step: a fixed slot
        self.lane_choice = QComboBox()
        self.lane_choice.setToolTip("Whose batch and update the panels show")
        self.lane_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lane_choice.setMinimumContentsLength(14)
        self.lane_choice.currentIndexChanged.connect(self._redraw)
        self.lane_choice.setVisible(False)  # a race session's lanes
        timeline = QHBoxLayout()
        timeline.addWidget(self.speed)
        timeline.addWidget(self.speed_label)
        timeline.addWidget(QLabel("Timeline"))
        timeline.addWidget(self.timeline, stretch=1)
        timeline.addWidget(self.step_label)
        timeline.addWidget(self.lane_choice)

        self.status = QLabel("Set up on the left, then press Step (Space or →).")
        self.status.setWordWrap(True)
        self.batch_panel = BatchPanel()
        self.update_panel = UpdatePanel()
        self.curves_panel = CurvesPanel()
        self.race_panel = RacePanel()
        self.deck = PanelDeck([("Batch", self.batch_panel), ("Update", self.update_panel),
                               ("Loss and accuracy", self.curves_panel), ("Race", self.race_panel)])
        self.deck.set_enabled("Race", False)
        right = QWidget()
        main = QVBoxLayout(right)
        main.setContentsMargins(0, 0, 0, 0)
        main.addLayout(transport)
        main.addLayout(timeline)
        main.addWidget(self.status)
        main.addWidget(self.deck, stretch=1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        for keys, slot in (((Qt.Key.Key_Space,), self._space), ((Qt.Key.Key_Right,), lambda: self.step_by(1)),
                           ((Qt.Key.Key_Left,), self.back)):
            for key in keys:
                QShortcut(QKeySequence(key), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # --- state of the controls ---------------------------------------------------------------

    def is_busy(self) -> bool:
        return self.job is not None

    def _set_busy(self, busy: bool, playing: bool = False) -> None:
        self.playing = playing
        at = self.session.step if self.session is not None else 0
        usable = self.session is not None and not self.stale
        for b in (self.step_button, self.ten_button, self.hundred_button, self.play_button):
            b.setEnabled(not busy)
        for b in (self.back_button, self.rewind_button):
            b.setEnabled(not busy and usable and at > 0)
        self.timeline.setEnabled(not busy and usable)
        self.stop_button.setEnabled(busy)
        self.new_button.setEnabled(not busy)
        self.play_button.setText("▶ Playing…" if playing else "▶ Play")

    def _on_setup_changed(self) -> None:
        if self.session is not None and not self.stale:
            self.stale = True
            self.status.setText("The setup changed: the next Step (or New session) starts over from step 0 with it.")
            self._set_busy(self.is_busy())

    def steps_taken(self) -> int:
        """How far the session in view has stepped (0 when none, or the setup changed since)."""
        return self.session.step if self.session is not None and not self.stale else 0

    def _show_setup(self, on: bool) -> None:
        self.left.setVisible(on)
        self.setup_button.setArrowType(Qt.ArrowType.LeftArrow if on else Qt.ArrowType.RightArrow)
        cfg = self.setup.config()
        lanes = " vs ".join(lane.label for lane in cfg.lanes)
        self.setup_button.setToolTip("Hide the setup column" if on else
                                     f"Show the setup: {cfg.model} on {cfg.dataset}, batch {cfg.batch_size}, {lanes}")

        if self.session is None:
            self.status.setText(("Set up on the left" if on else "Setup shows the setup") +
                                ", then press Step (Space or →).")

    def set_presenting(self, on: bool) -> None:
        """Presentation mode folds the setup column away (the Setup button opens it again)."""
        self.setup_button.setChecked(not on)

    def _space(self) -> None:
        """Space steps, and stops slow motion while it plays."""
        if self.playing:
            self.stop()
        else:
            self.step_by(1)

    def _on_timeline_moved(self, value: int) -> None:
        if self._moving_timeline:
            return
        self.step_label.setText(f"go to step {value}")
        if not self.timeline.isSliderDown():
            self._timeline_settle.start()

    def _go_to_timeline(self) -> None:
        self._timeline_settle.stop()
        self.go_to(self.timeline.value())

    def _on_speed(self, value: int) -> None:
        self.rate = float(value)
        self.speed_label.setText(f"{value} steps/s")

    # --- jobs --------------------------------------------------------------------------------

    def _start(self, fn, *args, handlers: dict, playing: bool = False, control: RunControl | None = None) -> None:
        # Unparented, like the Lessons tab's surface job: the worker deletes itself once its thread has ended.
        self.job = run_events(_behind_the_window, fn, *args, handlers=handlers, failed=self._on_failed, name=JOB,
                              control=control, ended=self._on_job_ended)
        self._set_busy(True, playing)

    def new_session(self, then=None) -> None:
        """Open a session with the setup shown (on the worker: the data set may need loading); `then()` once open."""
        if self.is_busy():
            return
        cfg, start = self.setup.config(), self.setup.start_model()
        self.status.setText(f"Setting up {cfg.model} on {cfg.dataset}…")
        self._then = then
        self._start(open_session, cfg, start, handlers={Opened: self._on_opened})

    def step_by(self, steps: int) -> None:
        if self.is_busy():
            return
        if self.session is None or self.stale:
            self.new_session(then=lambda: self.step_by(steps))
            return
        control = RunControl()
        self._start(self.session.run, steps, control, handlers={Stepped: self._on_stepped}, control=control)

    def play(self) -> None:
        if self.is_busy():
            return
        if self.session is None or self.stale:
            self.new_session(then=self.play)
            return
        control = RunControl()
        self._start(self.session.run, None, control, lambda: self.rate, handlers={Stepped: self._on_stepped},
                    playing=True, control=control)
        self.status.setText("Playing in slow motion: Stop (or Space) to pause.")

    def stop(self) -> None:
        if self.job is not None:
            self.job.control.stop()

    def back(self) -> None:
        if self.session is not None and self.session.step > 0:
            self.go_to(self.session.step - 1)

    def rewind(self) -> None:
        self.go_to(0)

    def go_to(self, step: int) -> None:
        if self.is_busy() or self.session is None or self.stale:
            return
        if step != 0 and step < self.session.oldest:
            step = self.session.oldest
        if step == self.session.step:
            return
        self._start(self.session.go_to, step, handlers={Stepped: self._on_stepped})

    def shutdown(self) -> bool:
        return self.job is None or self.job.join()

    # --- what the jobs send back ------------------------------------------------------------

    def _on_opened(self, ev: Opened) -> None:
        self.session, self.stale = ev.session, False
        self.x_train = ev.session.data.x_train.numpy()
        labels = tuple(lane.config.label for lane in ev.session.lanes)
        self.lane_choice.blockSignals(True)
        self.lane_choice.clear()
        self.lane_choice.addItems(labels)
        self.lane_choice.blockSignals(False)
        self.lane_choice.setVisible(len(labels) > 1)
        self.deck.set_enabled("Race", len(labels) > 1)
        self.curves_panel.reset(labels, len(ev.session.data.y_test))
        s = ev.session
        self.status.setText(f"Session: {s.cfg.model} on {s.data.info.title} ({s.parameters:,} parameters) from "
                            f"{s.start_title}; batches of {s.cfg.batch_size} from {len(s.data.y_train):,} images, "
                            f"test loss and accuracy on {len(s.data.y_test):,} test images after each step.")
        self._show(ev.views, 0, ev.kept, ev.memory)

    def _on_stepped(self, ev: Stepped) -> None:
        self.curves_panel.add(ev.records)
        if ev.views is not None:
            self._show(ev.views, ev.step, ev.kept, ev.memory)

    def _show(self, views, step: int, kept: tuple[int, int], memory: int) -> None:
        self.views = views
        oldest, last = kept
        self._moving_timeline = True
        self.timeline.setMaximum(last)
        self.timeline.setValue(step)
        self._moving_timeline = False
        self.step_label.setText(f"step {step} / {last}")
        every = self.session.every
        self.history_label.setText(
            f"History: step 0 and steps {oldest}–{last} (up to {self.session.cfg.keep} kept), {_megabytes(memory)}"
            + ("" if every == 1 else f"; one state in {every} is stored, the steps between are replayed"))
        self._redraw()

    def _redraw(self) -> None:
        if not self.views:
            return
        lane = max(0, min(self.lane_choice.currentIndex(), len(self.views) - 1))
        record = self.views[lane].record
        pixels = self.x_train[record.indices, 0] if record is not None and self.x_train is not None else None
        shown = Shown(self.views, lane, self.session.data.info.class_names, pixels, len(self.session.data.y_test))
        for panel in (self.batch_panel, self.update_panel, self.curves_panel, self.race_panel):
            panel.show_step(shown)

    def _on_failed(self, message: str, kind: FailureKind) -> None:
        self.status.setText(f"<span style='color:#d62728'>{message}</span>")
        self._then = None
        self.failure_box = show_warning(self, FAILURE_TITLES.get(kind, "Stepping failed"), message)

    def _on_job_ended(self) -> None:
        self.job = None
        self._set_busy(False)
        then, self._then = self._then, None
        if then is not None and self.session is not None and not self.stale:
            then()
