"""The Training tab: choose data, model and hyperparameters, then Start / Pause / Stop and watch it learn."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from digitpad.core.checkpoints import TrainedModel, save_checkpoint
from digitpad.core.datasets import DATASETS
from digitpad.core.devices import available_devices
from digitpad.core.export import export_model, format_for_path
from digitpad.core.models import MODELS, parameter_count_of
from digitpad.core import names
from digitpad.core.runs import RunRecord, note_checkpoint
from digitpad.core.trainer import PRESETS, EpochEnd, FailureKind, Finished, Progress, Started, TrainConfig
from digitpad.gui.background import BackgroundCall
from digitpad.gui.charts import LiveCharts
from digitpad.gui.dialogs import show_warning
from digitpad.gui.results import ResultsPanel
from digitpad.gui.runs_panel import RunsPanel
from digitpad.gui.training_run import TrainingRun

OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}
SCHEDULE_TITLES = {"constant": "constant", "onecycle": "one-cycle (warm up, then anneal)"}
FAILURE_TITLES = {FailureKind.DIVERGED: "Training diverged", FailureKind.DATA: "Data set missing",
                  FailureKind.OOM: "Out of memory", FailureKind.DEVICE: "Device not available",
                  FailureKind.CONFIG: "Training failed", FailureKind.ERROR: "Training failed"}
SUBSETS = [(None, "all"), (10_000, "10,000"), (2_000, "2,000"), (500, "500")]


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


def compact_count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else f"{n / 1e3:.1f}k"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainingTab(QWidget):
    model_trained = Signal(object)  # TrainedModel, when a run ends with a model
    snapshot_ready = Signal(object)  # TrainedModel, at every epoch end
    model_loaded_request = Signal(str)  # a checkpoint path the user chose to open
    save_finished = Signal()  # a checkpoint was written, or the failure was shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: TrainingRun | None = None
        self.last_model: TrainedModel | None = None
        self.last_record: RunRecord | None = None  # the run that made last_model: a saved checkpoint is noted in it
        self.test_limit: int | None = None  # tests shrink the test set; the GUI always uses all of it
        self.started_at = 0.0
        self._param_counts = {name: parameter_count_of(name) for name in names.MODELS}
        self._build()
        self._restore_settings()
        self._set_running(False)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.dataset = QComboBox()
        for name in names.DATASETS:
            self.dataset.addItem(DATASETS[name].title, name)
        self.model = QComboBox()
        for spec in (MODELS[name] for name in names.MODELS):
            count = self._param_counts[spec.name]
            self.model.addItem(f"{spec.title} · {compact_count(count)} params", spec.name)
            self.model.setItemData(self.model.count() - 1, f"{spec.note}; {count:,} parameters",
                                   Qt.ItemDataRole.ToolTipRole)
        self.model.currentIndexChanged.connect(self._apply_model_defaults)
        self.subset = QComboBox()
        for value, title in SUBSETS:
            self.subset.addItem(title, value)
        self.subset.setToolTip("Train on fewer images for a quicker demo; the test set is always complete")
        self.epochs = QSpinBox(minimum=1, maximum=200)
        self.batch_size = QSpinBox(minimum=1, maximum=65536)
        self.lr = QDoubleSpinBox(decimals=4, minimum=0.0001, maximum=1000.0, singleStep=0.001)
        self.optimizer = QComboBox()
        for key in names.OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_TITLES.get(key, key), key)
        self.optimizer.currentIndexChanged.connect(self._update_momentum_enabled)
        self.momentum = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.99, singleStep=0.05)
        self.schedule = QComboBox()
        for key in names.SCHEDULES:
            self.schedule.addItem(SCHEDULE_TITLES.get(key, key), key)
        self.label_smoothing = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.label_smoothing.setToolTip("Cross-entropy against softened targets: 0 is the course's plain loss")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.device = QComboBox()
        available = available_devices()
        for name in names.DEVICE_KINDS:
            self.device.addItem(name, name)
            if name not in ("auto", *available):
                self.device.model().item(self.device.count() - 1).setEnabled(False)

        # The controls that hold a TrainConfig field, by field name: presets, model defaults and saved
        # settings are all shown through `_show_values`.
        self.fields: dict[str, QComboBox | QSpinBox | QDoubleSpinBox] = {
            "dataset": self.dataset, "model": self.model, "epochs": self.epochs, "batch_size": self.batch_size,
            "lr": self.lr, "optimizer": self.optimizer, "momentum": self.momentum, "schedule": self.schedule,
            "label_smoothing": self.label_smoothing, "seed": self.seed, "device": self.device}
        form = QFormLayout()
        for label, widget in [("Data set", self.dataset), ("Training images", self.subset), ("Model", self.model),
                              ("Epochs", self.epochs), ("Batch size", self.batch_size), ("Learning rate", self.lr),
                              ("Optimizer", self.optimizer), ("Momentum", self.momentum),
                              ("LR schedule", self.schedule), ("Label smoothing", self.label_smoothing),
                              ("Seed", self.seed), ("Device", self.device)]:
            form.addRow(label, widget)
        setup = QGroupBox("Setup")
        setup.setLayout(form)

        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(lambda: self.start_training())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)

        self.fast_button = QPushButton("Fast preset: CNN to 99 % in one epoch")
        self.fast_button.clicked.connect(self.apply_fast_preset)

        self.save_button = QPushButton("Save model…")
        self.load_button = QPushButton("Open model…")
        self.save_button.clicked.connect(self.save_model)
        self.load_button.clicked.connect(self.open_model)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("ready")
        self.speed = QLabel("")
        # Fixed size: its text changes several times a second, and a label that may resize makes
        # Qt lay out the whole panel again each time (~7 ms).
        self.speed.setFixedSize(320, self.speed.fontMetrics().height() + 4)
        self.status = QLabel("Choose a model and press Start.")
        self.status.setWordWrap(True)
        self.device_label = QLabel("")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("One line per epoch appears here.")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        left = QVBoxLayout()
        # Scrolls rather than squeezing its controls on a short screen (1024×600).
        setup_area = QScrollArea()
        setup_area.setWidget(setup)
        setup_area.setWidgetResizable(True)
        setup_area.setFrameShape(QScrollArea.Shape.NoFrame)
        setup_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        setup_area.setMinimumHeight(120)
        left.addWidget(setup_area, stretch=2)
        left.addWidget(self.fast_button)
        left.addLayout(buttons)
        left.addLayout(files)
        left.addWidget(self.progress)
        left.addWidget(self.speed)
        left.addWidget(self.status)
        left.addWidget(self.device_label)
        left.addWidget(self.log, stretch=1)
        left_panel = QWidget()
        left_panel.setLayout(left)
        left_panel.setMinimumWidth(300)
        left_panel.setMaximumWidth(380)

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
        """Changing the model loads the course's hyperparameters for it."""
        defaults = asdict(MODELS[self.model.currentData()].defaults)
        self._show_values({**defaults, "schedule": "constant", "label_smoothing": 0.0})

    def apply_fast_preset(self) -> None:
        self._show_values(PRESETS["fast"])
        self.subset.setCurrentIndex(0)

    def _show_values(self, values: Mapping[str, object]) -> None:
        """Set the controls of these TrainConfig fields; the model first, as choosing it loads its defaults."""
        for key in sorted(values, key=lambda k: k != "model"):
            widget = self.fields[key]
            if isinstance(widget, QComboBox):
                self._select(widget, values[key])
            else:
                widget.setValue(values[key])

    def show_config(self, cfg: TrainConfig) -> None:
        """Show a run's setup in the form: a recorded run loaded back, or the sweep's run now starting."""
        self._show_values({key: getattr(cfg, key) for key in self.fields})
        self._select(self.subset, cfg.train_limit)

    def _update_momentum_enabled(self) -> None:
        self.momentum.setEnabled(self.optimizer.currentData() == "momentum" and not self.is_running())

    def config(self) -> TrainConfig:
        return TrainConfig(dataset=self.dataset.currentData(), model=self.model.currentData(),
                           epochs=self.epochs.value(), batch_size=self.batch_size.value(), lr=self.lr.value(),
                           optimizer=self.optimizer.currentData(), momentum=self.momentum.value(),
                           schedule=self.schedule.currentData(), label_smoothing=self.label_smoothing.value(),
                           seed=self.seed.value(), device=self.device.currentData(),
                           train_limit=self.subset.currentData(), test_limit=self.test_limit)

    def _restore_settings(self) -> None:
        s, defaults = QSettings(), TrainConfig()
        self._select(self.model, s.value("training/model", defaults.model))
        self._apply_model_defaults()
        self._show_values({key: type(getattr(defaults, key))(s.value(f"training/{key}"))
                           for key in self.fields if key != "model" and s.contains(f"training/{key}")})
        self._update_momentum_enabled()

    def save_settings(self) -> None:
        s, cfg = QSettings(), self.config()
        for key in self.fields:
            s.setValue(f"training/{key}", getattr(cfg, key))

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        index = combo.findData(value)
        if index >= 0 and combo.model().item(index).isEnabled():
            combo.setCurrentIndex(index)

    # --- running -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.run is not None

    def _set_running(self, running: bool) -> None:
        for w in (self.dataset, self.subset, self.model, self.epochs, self.batch_size, self.lr, self.optimizer,
                  self.schedule, self.label_smoothing, self.seed, self.device, self.start_button, self.load_button,
                  self.fast_button):
            w.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(not running and self.last_model is not None)
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
        self.charts.clear_curves(cfg.epochs)
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self.status.setText(f"Loading {DATASETS[cfg.dataset].title}…")
        self.log.appendPlainText(f"— {DATASETS[cfg.dataset].title} · {cfg.model} · {cfg.epochs} epochs\n"
                                 f"  batch {cfg.batch_size} · lr {cfg.lr:g} · {OPTIMIZER_TITLES[cfg.optimizer]} · "
                                 f"seed {cfg.seed}\nepoch  loss    train   test    time")
        self.started_at = time.perf_counter()
        self.run = TrainingRun(cfg, self, recorder=self.runs.recorder_for(cfg))
        w = self.run.worker
        w.started.connect(self._on_started)
        w.progress.connect(self._on_progress)
        w.epoch_ended.connect(self._on_epoch_end)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        self.run.ended.connect(self._on_run_ended)
        self._set_running(True)
        self.run.start()

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
            self.status.setText("Paused — press Resume to go on, or Stop.")

    def stop_training(self) -> None:
        if self.run is not None:
            self.run.control.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status.setText("Stopping…")

    def shutdown(self) -> bool:
        """Stop any run and wait for its thread (window closing); True when nothing is left running."""
        if self.run is None:
            return True
        return self.run.shutdown()

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
        self.speed.setText(f"{ev.samples_per_s:,.0f} images/s · ETA {format_duration(ev.eta_s)}")

    def _on_epoch_end(self, ev: EpochEnd) -> None:
        self.charts.add_epoch(ev.epoch, ev.train_accuracy, ev.test_accuracy)
        self.log.appendPlainText(f"{ev.epoch:>5}  {ev.train_loss:.4f}  {ev.train_accuracy:6.2%}  "
                                 f"{ev.test_accuracy:6.2%}  {ev.seconds:4.1f}s")
        self.results.show_report(ev.report, ev.snapshot.meta.class_names, ev.weight_templates)
        self.snapshot_ready.emit(ev.snapshot)

    def _on_finished(self, ev: Finished) -> None:
        self.last_model = ev.model
        self.last_record = self.run.recorder.record if self.run and self.run.recorder else None
        acc = ev.model.meta.test_accuracy
        acc_text = f"test accuracy {acc:.2%}" if acc is not None else "no test evaluation yet"
        elapsed = format_duration(time.perf_counter() - self.started_at)
        if ev.stopped:
            self.status.setText(f"Stopped after {ev.epochs_done:.2f} epochs ({acc_text}). "
                                "The model so far is on the Canvas tab.")
            self.progress.setFormat(f"stopped · {elapsed}")
        else:
            self.progress.setValue(1000)
            self.progress.setFormat(f"done · {elapsed}")
            self.status.setText(f"Finished: {acc_text}. Draw a digit on the Canvas tab to try it.")
        self.log.appendPlainText(f"— {'stopped' if ev.stopped else 'finished'}: {acc_text}, {elapsed}")
        self.model_trained.emit(ev.model)

    def _on_failed(self, message: str, kind: FailureKind) -> None:
        self.progress.setFormat("failed")
        self.status.setText(message)
        self.log.appendPlainText(f"— failed: {message}")
        self.failure_box = show_warning(self, FAILURE_TITLES[kind], message)

    def _on_run_ended(self) -> None:
        """The thread has finished and been joined: release the run's Qt objects; the run joins the Runs list."""
        recorder = self.run.recorder
        self.run.deleteLater()
        self.run = None
        self._set_running(False)
        self.runs.run_ended(recorder)

    # --- files -------------------------------------------------------------------------------

    def _last_folder(self) -> str:
        return str(QSettings().value("files/last_folder", str(Path.home())))

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
        call = BackgroundCall(write_model_file, self.last_model, path, self.last_record, name="digitpad-save",
                              parent=self)
        call.done.connect(lambda _, error: self._on_saved(path, error))
        call.start()

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

