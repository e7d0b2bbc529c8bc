"""The Training tab: choose data, model and hyperparameters, then Start / Pause / Stop and watch it learn."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from digitpad.core.checkpoints import TrainedModel, save_checkpoint
from digitpad.core.datasets import DATASETS
from digitpad.core.export import export_model, format_for_path
from digitpad.core.models import MODELS
from digitpad.core.runs import RunRecord, RunRecorder, note_checkpoint
from digitpad.core.events import EpochEnd, FailureKind, Finished, Progress, RunControl, Started
from digitpad.core.settings import SETTING
from digitpad.core.trainer import TrainConfig, Trainer, smoothed_loss_floor
from digitpad.gui.common.charts import LiveCharts
from digitpad.gui.common.dialogs import show_warning
from digitpad.gui.training.form import CourseLr, Form
from digitpad.gui.training.results import ResultsPanel
from digitpad.gui.training.runs_panel import RunsPanel
from digitpad.gui.common.settings import as_bool, stored
from digitpad.gui.common.text_zoom import monospace
from digitpad.gui.common.widgets import FittedLabel, Foldable, FormScroll, SteadyButton, SteadyRow, TextColumn
from digitpad.gui.common.worker import Worker, run_call, run_events

FAILURE_TITLES = {FailureKind.DIVERGED: "Training diverged", FailureKind.DATA: "Data set missing",
                  FailureKind.OOM: "Out of memory", FailureKind.DEVICE: "Device not available",
                  FailureKind.CONFIG: "Training failed", FailureKind.ERROR: "Training failed"}


OVERFIT_NOTE = ("Overfitting: the MLP learns 1,000 images by heart — train accuracy reaches 100 % while test "
                "accuracy stays near 88 %. Run it again with 10,000 images (or sweep training images 1000, 10000 "
                "in Runs) and tick both runs: the gap shrinks from ~12 to ~3 points. Weight decay 0.01 costs a "
                "little train accuracy and barely moves the test accuracy here.")


SAVE_FILTERS = ("DigitPad checkpoint (*.pt);;ONNX model, to run outside DigitPad (*.onnx);;"
                "PyTorch exported program (*.pt2)")


def write_model_file(trained: TrainedModel, path: str, record: RunRecord | None) -> None:
    """A checkpoint (noted in the run's record), or the export a .onnx / .pt2 name asks for."""
    fmt = format_for_path(path)
    if fmt is not None:
        export_model(trained, fmt, path)
        return
    save_checkpoint(trained, path)
    if record is not None:
        note_checkpoint(record, path)


def with_chosen_suffix(path: str, chosen_filter: str) -> str:
    """The type picked in the dialog replaces the suggested .pt or a missing suffix; a typed .onnx / .pt2 stays."""
    wanted = chosen_filter.split("*")[-1].rstrip(")")
    suffix = Path(path).suffix.lower()
    if suffix in (wanted, ".onnx", ".pt2"):
        return path
    return str(Path(path).with_suffix(wanted)) if suffix == ".pt" else path + wanted


def try_it(model: TrainedModel) -> str:
    """How to try a run's model: it never replaces the canvas's model by itself, and a model of another data set
    is not a digit reader."""
    info = DATASETS.get(model.meta.dataset)
    if info is not None and info.name != "mnist":
        return f"It reads {info.subject} ({info.title}), not digits: Use on canvas to see it answer with those."
    return "Use on canvas to draw digits for it."


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainingTab(QWidget):
    model_trained = Signal(object, bool)  # TrainedModel and whether Stop ended the run, when a run ends with a model
    snapshot_ready = Signal(object)  # TrainedModel, at every epoch end
    run_ended = Signal()  # the run's thread is over, whatever happened
    model_loaded_request = Signal(str)  # a checkpoint path the user chose to open
    use_on_canvas = Signal(object)  # TrainedModel: "Use on canvas" was pressed
    run_started = Signal()
    save_finished = Signal()  # a checkpoint was written, or the failure was shown
    exercise_requested = Signal()  # "Save as exercise…": the Classroom tab reads the setup

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: Worker | None = None  # the run's worker, while it runs
        self.recorder: RunRecorder | None = None  # the run's record, kept as its events pass
        self.last_model: TrainedModel | None = None
        self.last_record: RunRecord | None = None  # the run that made last_model: a saved checkpoint is noted in it
        self.test_limit: int | None = None  # tests shrink the test set; the GUI always uses all of it
        self.started_at = 0.0
        self.run_number = 0  # this session's runs: each one's models keep their own canvas entry
        self.epochs_tested = 0  # in the current run: the test-accuracy points drawn
        self._build()
        self._restore_settings()
        self._set_running(False)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = Form()
        for f in self.form.fields:
            setattr(self, f.attr, self.form.widgets[f.name])
        self.model.currentIndexChanged.connect(self._apply_model_defaults)
        self.course_lr = CourseLr(self.lr, self.dataset, lambda: MODELS[self.model.currentData()].defaults)
        self.optimizer.currentIndexChanged.connect(self._update_momentum_enabled)
        self.keep_setup = QCheckBox("Keep this setup next time")
        self.keep_setup.setToolTip("Unticked, DigitPad opens with the course defaults")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in self.form.fields:
            form.addRow(f.label, self.form.widgets[f.name])
        form.addRow(self.keep_setup)
        setup = QGroupBox()
        setup.setLayout(form)
        # On a short screen the form scrolls instead of squeezing its controls below their height; it folds to
        # a one-line summary (presentation mode folds it: the charts get the room).
        self.setup_scroll = FormScroll(setup, self.epochs)
        self.setup_fold = Foldable("Setup", self.setup_scroll, self.setup_summary)
        for widget in self.form.widgets.values():  # the folded summary follows every edit of the form
            changed = next(getattr(widget, name) for name in ("currentIndexChanged", "valueChanged", "toggled")
                           if hasattr(widget, name))
            changed.connect(lambda *_: self.setup_fold.refresh())

        # Start, Pause/Resume and Stop keep one place and one size in every state (SteadyRow), and nothing
        # above them changes height with the run's state: the teacher's second click lands where the first did.
        self.start_button = SteadyButton("Start")
        self.pause_button = SteadyButton("Pause", "Resume")
        self.stop_button = SteadyButton("Stop")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(lambda: self.start_training())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        buttons = SteadyRow(self.start_button, self.pause_button, self.stop_button)

        self.fast_button = QPushButton("Fast preset: CNN to 99 % in one epoch")
        self.fast_button.clicked.connect(self.apply_fast_preset)
        self.overfit_button = QPushButton("Overfitting preset: MLP on 1,000 images")
        self.overfit_button.setToolTip(OVERFIT_NOTE)
        self.overfit_button.clicked.connect(self.apply_overfit_preset)

        self.save_button = QPushButton("Save model…")
        self.load_button = QPushButton("Open model…")
        self.save_button.clicked.connect(self.save_model)
        self.load_button.clicked.connect(self.open_model)
        self.exercise_button = QPushButton("Save as exercise…")
        self.exercise_button.setToolTip("A predict-then-reveal exercise from this setup, for the Classroom tab")
        self.exercise_button.clicked.connect(self.exercise_requested)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        files.addWidget(self.exercise_button)
        # The canvas changes model only when the teacher says so: a finished run offers itself, naming what it reads.
        self.use_button = QPushButton("Use on canvas")
        self.use_button.setToolTip("Draw with the model of the last run on the Canvas tab")
        self.use_button.clicked.connect(lambda: self.last_model and self.use_on_canvas.emit(self.last_model))

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("ready")
        # Slots sized by the font, never by their text: the speed changes several times a second (a label
        # that may resize makes Qt lay out the whole panel again, ~7 ms), and a status that grew a line would
        # push the buttons above it up.
        left_top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        self.speed = FittedLabel("", chars=30, align=left_top)
        self.status = FittedLabel("Choose a model and press Start.", chars=30, lines=3, min_scale=0.75,
                                  align=left_top)
        self.device_label = FittedLabel("", chars=30, align=left_top)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setTabChangesFocus(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("One line per epoch appears here.")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(self.log)  # follows View ▸ Larger text like every other text
        self.log.setMinimumHeight(4 * self.log.fontMetrics().lineSpacing())
        # The newest line stays in view: the document lays out lazily, so follow every growth of the range.
        follow = self.log.verticalScrollBar()
        follow.rangeChanged.connect(lambda _low, high: follow.setValue(high))

        left = QVBoxLayout()
        left.addWidget(self.setup_fold)  # its whole height when there is room; the log takes the rest
        left.addWidget(self.fast_button)
        left.addWidget(self.overfit_button)
        left.addWidget(buttons)
        left.addLayout(files)
        left.addWidget(self.use_button)
        left.addWidget(self.progress)
        left.addWidget(self.speed)
        left.addWidget(self.status)
        left.addWidget(self.device_label)
        left.addWidget(self.log, stretch=1)
        left_panel = TextColumn(48, 64)
        left_panel.setLayout(left)

        self.charts = LiveCharts()
        self.results = ResultsPanel()
        self.runs = RunsPanel(self.charts, self.config)
        self.runs.run_requested.connect(self.start_training)
        self.runs.config_chosen.connect(self.show_config)
        self.results.addTab(self.runs, "Runs")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.charts)
        right.addWidget(self.results)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        layout = QHBoxLayout(self)
        layout.addWidget(left_panel)
        layout.addWidget(right, stretch=1)

    # --- configuration -----------------------------------------------------------------------

    def _apply_model_defaults(self) -> None:
        """Changing the model loads the course's hyperparameters for it, on the data set shown."""
        defaults = MODELS[self.model.currentData()].defaults.for_dataset(self.dataset.currentData())
        self.form.show({**defaults, "schedule": "constant", "label_smoothing": 0.0, "weight_decay": 0.0,
                        "precision": "float32"})

    def apply_fast_preset(self) -> None:
        """The Fast preset on the data set, seed and device shown, on all the training images."""
        form = self.config()
        self.show_config(TrainConfig.with_preset("fast", dataset=form.dataset, seed=form.seed, device=form.device))

    def apply_overfit_preset(self) -> None:
        """The Overfit preset on the data set, seed and device shown (1,000 training images)."""
        form = self.config()
        self.show_config(TrainConfig.with_preset("overfit", dataset=form.dataset, seed=form.seed, device=form.device))
        self.status.setText("Overfitting: the MLP learns 1,000 images by heart. Then try 10,000 images and "
                            "tick both runs in Runs (the button's tip says more).")

    def show_config(self, cfg: TrainConfig) -> None:
        """Show a run's setup in the form: a recorded run loaded back, or the sweep's run now starting."""
        self.form.show({f.name: getattr(cfg, f.name) for f in self.form.fields})
        self.setup_fold.refresh()

    def setup_summary(self) -> str:
        """The setup in one line, for the folded Setup form: "MNIST · CNN · 1 epoch · batch 64 · lr 0.008 · Adam"."""
        cfg = self.config()
        epochs = f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}"
        return " · ".join((DATASETS[cfg.dataset].title, MODELS[cfg.model].title, epochs, f"batch {cfg.batch_size}",
                           f"lr {cfg.lr:g}", SETTING["optimizer"].title_of(cfg.optimizer)))

    def set_presenting(self, on: bool) -> None:
        """Presentation mode folds the Setup form into its summary (the Setup button opens it again)."""
        self.setup_fold.set_open(not on)

    def _update_momentum_enabled(self) -> None:
        self.momentum.setEnabled(self.optimizer.currentData() == "momentum" and not self.is_running())

    def config(self) -> TrainConfig:
        return self.form.config(test_limit=self.test_limit)

    def _restore_settings(self) -> None:
        """The course defaults, or the last setup when the user asked to keep it; invalid values fall back."""
        self.keep_setup.setChecked(stored("training/keep_setup", as_bool, False))
        values = self.form.stored_values() if self.keep_setup.isChecked() else {}
        self.form.show({"model": values.pop("model", self.form.widgets["model"].currentData())})
        self._apply_model_defaults()  # also when the stored model is the one already shown
        self.form.show(values)
        self._update_momentum_enabled()

    def save_settings(self) -> None:
        self.form.save()
        QSettings().setValue("training/keep_setup", self.keep_setup.isChecked())

    # --- running -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.run is not None

    def is_training(self) -> bool:
        """A run is going on: closing the window asks first (`MainWindow.closeEvent`)."""
        return self.is_running()

    def _set_running(self, running: bool) -> None:
        for w in (*self.form.widgets.values(), self.start_button, self.load_button, self.fast_button,
                  self.overfit_button):
            w.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(not running and self.last_model is not None)
        self.use_button.setEnabled(not running and self.last_model is not None)
        if self.last_model is not None:
            self.use_button.setText(f"Use on canvas ({DATASETS[self.last_model.meta.dataset].title})")
        self.pause_button.setText("Pause")
        self.runs.set_running(running)
        self._update_momentum_enabled()

    def start_training(self, cfg: TrainConfig | None = None) -> None:
        """Start a run of the form's setup, or of `cfg` (a sweep's next run), which the form then shows."""
        if self.run is not None:
            return
        if cfg is not None:
            self.show_config(cfg)
        cfg = cfg or self.config()
        self.save_settings()
        self.run_number += 1
        self.epochs_tested = 0
        self.charts.clear_curves(cfg.epochs)
        floor = smoothed_loss_floor(cfg.label_smoothing)
        self.charts.set_loss_floor(floor or None, cfg.label_smoothing)
        self.results.clear()  # the previous run's results belong to another model, maybe another data set
        self.speed.setText("")
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self.status.setText(f"Loading {DATASETS[cfg.dataset].title}…")
        smoothing = f"  label smoothing {cfg.label_smoothing:g}: the loss cannot go below {floor:.2f}\n" if floor else ""
        self._log(f"— run {self.run_number}: {DATASETS[cfg.dataset].title} · {cfg.model} · {cfg.epochs} epochs\n"
                  f"  batch {cfg.batch_size} · lr {cfg.lr:g} · {SETTING['optimizer'].title_of(cfg.optimizer)} · "
                  f"seed {cfg.seed}\n{smoothing}epoch  loss    train   test    time")
        self.started_at = time.perf_counter()
        self.recorder = self.runs.recorder_for(cfg)
        self._set_running(True)
        self.run_started.emit()
        control = RunControl()
        # The record is kept on the worker's thread as the events pass, never on the GUI thread.
        self.run = run_events(self.recorder.track, Trainer(cfg, control).run(), name="digitpad-training",
                              control=control, parent=self,
                              handlers={Started: self._on_started, Progress: self._on_progress,
                                        EpochEnd: self._on_epoch_end, Finished: self._on_finished},
                              failed=self._on_failed, ended=self._on_run_ended)

    def toggle_pause(self) -> None:
        if self.run is None:
            return
        if self.run.control.paused:
            self.run.control.resume()
            self.pause_button.setText("Pause")
            self.status.setText("Resumed.")
        else:
            self.run.control.pause()
            self.pause_button.setText("Resume")
            self.speed.setText("paused")
            self.status.setText("Paused — press Resume to go on, or Stop.")

    def stop_training(self) -> None:
        if self.run is not None:
            self.run.control.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status.setText("Stopping…")
            self.speed.setText("")

    def shutdown(self) -> bool:
        """Stop any run and wait for its thread (window closing); True when nothing is left running."""
        if self.run is None:
            return True
        return self.run.join()

    # --- engine events -----------------------------------------------------------------------

    def _on_started(self, ev: Started) -> None:
        self.device_label.setText(f"Device: {ev.device}")
        self.status.setText(f"Training on {ev.n_train:,} images ({ev.parameters:,} parameters); "
                            f"testing on {ev.n_test:,}. Data: {ev.dataset_source}")
        self.progress.setFormat("epoch 1, starting…")

    def _on_progress(self, ev: Progress) -> None:
        self.charts.add_loss(ev.fraction, ev.loss)
        self.progress.setValue(round(1000 * ev.fraction / ev.epochs))
        self.progress.setFormat(f"epoch {ev.epoch}/{ev.epochs} · batch {ev.batch}/{ev.batches}")
        if self.run is not None and not (self.run.control.paused or self.run.control.stopped):
            self.speed.setText(f"{ev.samples_per_s:,.0f} images/s · ETA {format_duration(ev.eta_s)}")

    def _on_epoch_end(self, ev: EpochEnd) -> None:
        self.epochs_tested = ev.epoch
        self.charts.add_epoch(ev.epoch, ev.train_accuracy, ev.test_accuracy)
        self._log(f"{ev.epoch:>5}  {ev.train_loss:.4f}  {ev.train_accuracy:6.2%}  "
                  f"{ev.test_accuracy:6.2%}  {ev.seconds:4.1f}s")
        snapshot = self._run_model(ev.snapshot, f", epoch {ev.epoch}")
        self.results.show_report(ev.report, ev.snapshot.meta.class_names, ev.weight_templates, snapshot)
        self.snapshot_ready.emit(snapshot)

    def _run_model(self, model: TrainedModel, suffix: str = "") -> TrainedModel:
        """This run's model, named after the run and identified by it: a later run gets its own entry."""
        meta = model.meta
        return replace(model, name=f"{meta.dataset}-{meta.architecture} run {self.run_number}{suffix}",
                       source=f"run {self.run_number}")

    def _on_finished(self, ev: Finished) -> None:
        if ev.epochs_done == 0:  # stopped before its first batch: nothing was learned, nothing to keep
            self.status.setText("Stopped before the first batch: nothing was trained.")
            self.progress.setFormat("stopped")
            self.speed.setText("")
            self._log("— stopped before the first batch")
            return
        self.last_model = self._run_model(ev.model, ", stopped" if ev.stopped else "")
        self.last_record = self.recorder.record if self.recorder else None
        acc = ev.model.meta.test_accuracy
        acc_text = (f"test accuracy {acc:.2%} after epoch {self.epochs_tested}" if self.epochs_tested
                    else "no test pass yet")
        elapsed = format_duration(time.perf_counter() - self.started_at)
        self.speed.setText("")
        if ev.stopped:
            trained = f"{ev.epochs_done:.2f}".rstrip("0").rstrip(".")
            self.status.setText(f"Stopped after {trained} epochs of training ({acc_text}). "
                                f"{try_it(self.last_model)}")
            self.progress.setFormat(f"stopped · {elapsed}")
        else:
            self.progress.setValue(1000)
            self.progress.setFormat(f"done · {elapsed}")
            self.status.setText(f"Finished: {acc_text}. {try_it(self.last_model)}")
        tested = f"test {acc:.2%}" if self.epochs_tested else "not tested"
        self._log(f"— {'stopped' if ev.stopped else 'finished'} · {elapsed} · {tested}")
        self.model_trained.emit(self.last_model, ev.stopped)

    def _on_failed(self, message: str, kind: FailureKind) -> None:
        self.progress.setFormat("failed")
        self.speed.setText("")
        if kind == FailureKind.DIVERGED:
            self.charts.mark_diverged()
        self.status.setText(message)
        title = FAILURE_TITLES[kind]
        self._log(f"— failed: {title.lower()} (the message is above)")
        self.failure_box = show_warning(self, title, message)

    def _on_run_ended(self) -> None:
        """The thread has finished and been joined: release the run's Qt objects; the run joins the Runs list."""
        recorder, self.run, self.recorder = self.recorder, None, None
        self._set_running(False)
        self.runs.run_ended(recorder)
        self.run_ended.emit()

    def _log(self, text: str) -> None:
        """Append to the epoch log, scrolled to its newest line (the finished line included)."""
        self.log.appendPlainText(text)
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    # --- files -------------------------------------------------------------------------------

    def _last_folder(self) -> str:
        return stored("files/last_folder", str, str(Path.home()))

    def _remember_folder(self, path: str) -> None:
        QSettings().setValue("files/last_folder", str(Path(path).parent))

    def save_model(self) -> None:
        if self.last_model is None:
            return
        meta = self.last_model.meta
        suggested = str(Path(self._last_folder()) / f"{meta.dataset}-{meta.architecture}.pt")
        path, chosen = QFileDialog.getSaveFileName(self, "Save model", suggested, SAVE_FILTERS)
        if path:
            self.save_model_to(with_chosen_suffix(path, chosen))

    def save_model_to(self, path: str) -> None:
        """Write the checkpoint, or the export its suffix asks for, on a thread; the window stays live."""
        self.status.setText(f"Saving {path}…")
        run_call(write_model_file, self.last_model, path, self.last_record, name="digitpad-save", parent=self,
                 then=lambda _, error: self._on_saved(path, error))

    def _on_saved(self, path: str, error: Exception | None) -> None:
        if error is None:
            self._remember_folder(path)
            self.status.setText(f"Saved {path}")
        else:
            self.status.setText(f"Not saved: {path}")
            self.failure_box = show_warning(self, "Could not save", f"{path}: {error}")
        self.save_finished.emit()

    def open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_folder(), "DigitPad checkpoints (*.pt)")
        if path:
            self._remember_folder(path)
            self.model_loaded_request.emit(path)

