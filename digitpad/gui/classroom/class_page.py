"""The class's digits: import the students' exports, see who is in the class set, remove a writer, the
class report for any model (per writer, per digit, the class's confusion matrix, the hardest samples) and
leave-one-writer-out with progress and Stop. Every file and model job runs on a worker thread."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from digitpad.core.class_set import (ClassReport, ClassSet, ExportImported, LowoConfig, LowoFinished, LowoProgress,
                                     WriterDone, WriterResult, class_report, import_exports, load_class_set,
                                     remove_writer)
from digitpad.core.events import FailureKind, RunControl
from digitpad.core.paths import user_data_dir
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.settings import stored
from digitpad.gui.common.worker import Worker, run_call, run_events
from digitpad.gui.lessons.page import fill_table, make_table
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.training.results import ConfusionMatrixView, ImageGrid, PerClassAccuracyView


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def report_rows(report: ClassReport, lowo: dict[str, WriterResult]) -> list[list[str]]:
    """One row per writer, hardest first: what the table shows."""
    order = sorted(report.writers, key=lambda w: (w.accuracy if w.accuracy is not None else 2, w.name))
    return [[w.name, str(w.samples), percent(w.accuracy),
             percent(lowo[w.name].after) if w.name in lowo else ""] for w in order]


def wrappable_path(path: Path) -> str:
    """The path with a zero-width space after each separator: a word-wrapped label may break it there."""
    return str(path).replace(os.sep, os.sep + "\u200b")


class ClassPage(QWidget):
    """Import, report, leave-one-writer-out; the class model it trains joins the canvas list."""

    loaded = Signal()  # the class set on screen was read again
    imported = Signal()  # an import ended
    reported = Signal()  # a class report is shown (or why not)
    lowo_ended = Signal()

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.folder = Path(stored("classroom/class_folder", str, str(user_data_dir() / "class")))
        self.class_set = ClassSet(self.folder)
        self.report: ClassReport | None = None
        self.lowo: dict[str, WriterResult] = {}
        self.importing: Worker | None = None
        self.lowo_run: Worker | None = None
        self.lowo_config = LowoConfig()
        self._build()
        library.models_changed.connect(self._fill_models)
        self._fill_models()
        self.reload()

    def _build(self) -> None:
        self.folder_label = QLabel()
        # A long path must not widen the window past a small screen, nor be cut: it wraps after its separators.
        self.folder_label.setWordWrap(True)
        self.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.choose_button = QPushButton("Class folder…")
        self.choose_button.clicked.connect(self.choose_folder)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.clicked.connect(self.open_folder)
        self.import_files_button = QPushButton("Import exports…")
        self.import_files_button.setToolTip("The .zip files students made with My digits ▸ Export for the class")
        self.import_files_button.clicked.connect(self.choose_exports)
        self.import_folder_button = QPushButton("Import a folder…")
        self.import_folder_button.setToolTip("Every export in a folder (a USB stick, a shared drive)")
        self.import_folder_button.clicked.connect(self.choose_export_folder)
        top = QHBoxLayout()
        top.addWidget(QLabel("Class set:"))
        top.addWidget(self.folder_label, stretch=1)
        for w in (self.choose_button, self.open_folder_button, self.import_files_button, self.import_folder_button):
            top.addWidget(w)

        self.writers = QListWidget()
        self.writers.itemSelectionChanged.connect(self._update_buttons)
        self.remove_button = QPushButton("Remove writer")
        self.remove_button.setToolTip("Take this writer and all their samples out of the class set")
        self.remove_button.clicked.connect(self.remove_selected)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("What each import brought in, skipped or refused appears here.")
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        left_column.addWidget(self.summary)
        left_column.addWidget(self.writers, stretch=1)
        left_column.addWidget(self.remove_button)

        self.model_picker = QComboBox()
        self.model_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_picker.setMinimumContentsLength(14)
        self.report_button = QPushButton("Class report")
        self.report_button.clicked.connect(self.make_report)
        self.lowo_button = QPushButton("Leave one writer out")
        self.lowo_button.setToolTip("For each writer: fine-tune on everyone else, test on that writer — how well "
                                    "the model reads a hand it has never seen. Then fine-tune on everyone.")
        self.lowo_button.clicked.connect(self.start_lowo)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_lowo)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Import the class's exports, then make the class report.")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Model"))
        controls.addWidget(self.model_picker, stretch=1)
        for w in (self.report_button, self.lowo_button, self.stop_button):
            controls.addWidget(w)

        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.table = make_table(["writer", "samples", "before", "left out: after"])
        self.table.setToolTip("Hardest writers first, before and after side by side: \"before\", the model as it "
                              "is on this writer; \"left out: after\", fine-tuned on everyone else (leave one "
                              "writer out), tested on this writer")
        self.confusion = ConfusionMatrixView()
        self.confusion.setToolTip("The class's confusion matrix: each cell counts samples; colour is the log "
                                  "of the count")
        self.per_digit = PerClassAccuracyView()
        self.per_digit.setLabel("left", "accuracy on the class (%)")
        self.hardest_header = QLabel("The samples the model gets wrong, most confident first.")
        self.hardest_header.setWordWrap(True)
        self.hardest = ImageGrid(self.hardest_header)
        self.views = QTabWidget()
        self.views.addTab(self.table, "Writers")
        self.views.addTab(self.confusion, "Confusion matrix")
        self.views.addTab(self.per_digit, "Per digit")
        self.views.addTab(self.hardest, "Hardest samples")
        self.views.addTab(self.log, "Import report")
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addLayout(controls)
        right_column.addWidget(self.progress)
        right_column.addWidget(self.status)
        right_column.addWidget(self.headline)
        right_column.addWidget(self.views, stretch=1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([self.fontMetrics().horizontalAdvance("M" * 14), 10_000])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, stretch=1)
        self._update_buttons()

    def _fill_models(self) -> None:
        chosen = self.model_picker.currentText()
        self.model_picker.clear()
        for model in self.library.models:
            self.model_picker.addItem(model.title)
        index = self.model_picker.findText(chosen)
        self.model_picker.setCurrentIndex(index if index >= 0 else max(0, self.library.active_index))
        self._update_buttons()

    def chosen_model(self):
        index = self.model_picker.currentIndex()
        models = self.library.models
        return models[index] if 0 <= index < len(models) else None

    def busy(self) -> bool:
        return self.importing is not None or self.lowo_run is not None

    def _update_buttons(self) -> None:
        busy, has = self.busy(), self.class_set.n_samples > 0
        for w in (self.choose_button, self.import_files_button, self.import_folder_button):
            w.setEnabled(not busy)
        self.remove_button.setEnabled(not busy and bool(self.writers.selectedItems()))
        self.report_button.setEnabled(not busy and has and self.chosen_model() is not None)
        self.lowo_button.setEnabled(not busy and len(self.class_set.writers) >= 2 and self.chosen_model() is not None)
        self.stop_button.setEnabled(self.lowo_run is not None)

    # --- the class folder ----------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "The class set's folder", str(self.folder))
        if folder:
            self.set_folder(Path(folder))

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        QSettings().setValue("classroom/class_folder", str(folder))
        self.reload()

    def open_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def reload(self) -> None:
        self.folder_label.setText(wrappable_path(self.folder))
        self.folder_label.setToolTip(str(self.folder))
        run_call(self._read, name="digitpad-class-read", parent=self, then=self._on_loaded)

    def _read(self) -> ClassSet:
        return load_class_set(self.folder) if self.folder.is_dir() else ClassSet(self.folder)

    def _on_loaded(self, class_set: ClassSet | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(f"Cannot read {self.folder}: {error}")
            class_set = ClassSet(self.folder)
        self.class_set = class_set
        self.writers.clear()
        for w in class_set.writers:
            counts = [0] * 10
            for s in w.samples:
                counts[s.label] += 1
            item = QListWidgetItem(f"{w.name} · {len(w.samples)}")
            item.setData(Qt.ItemDataRole.UserRole, w.name)
            item.setToolTip(f"{w.folder}\nper digit: " + ", ".join(f"{d}: {n}" for d, n in enumerate(counts))
                            + (f"\nfrom {', '.join(w.sources)}" if w.sources else ""))
            self.writers.addItem(item)
        self.summary.setText(f"<b>{len(class_set.writers)}</b> writers<br><b>{class_set.n_samples}</b> samples"
                             + (f" · {len(class_set.skipped)} file(s) skipped" if class_set.skipped else ""))
        self._update_buttons()
        self.loaded.emit()

    # --- import ---------------------------------------------------------------------------------------

    def choose_exports(self) -> None:
        folder = stored("classroom/export_folder", str, str(Path.home()))
        paths, _ = QFileDialog.getOpenFileNames(self, "Import exports", folder, "Class exports (*.zip);;All files (*)")
        if paths:
            QSettings().setValue("classroom/export_folder", str(Path(paths[0]).parent))
            self.import_paths([Path(p) for p in paths])

    def choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import every export in a folder",
                                                  stored("classroom/export_folder", str, str(Path.home())))
        if folder:
            QSettings().setValue("classroom/export_folder", folder)
            self.import_paths([Path(folder)])

    def import_paths(self, paths: list[Path]) -> None:
        """Each export in turn on a worker; its line joins the import report as it is done."""
        if self.busy():
            return
        self.log.appendPlainText(f"— importing into {self.folder}")
        self.views.setCurrentWidget(self.log)
        self.counts = {"imported": 0, "skipped": 0, "refused": 0}
        self.progress.setValue(0)
        self.importing = run_events(import_exports, paths, self.folder, name="digitpad-class-import", parent=self,
                                    handlers={ExportImported: self._on_imported},
                                    failed=lambda message, _kind: self.log.appendPlainText(f"failed: {message}"),
                                    ended=self._on_import_ended)
        self._update_buttons()

    def _on_imported(self, ev: ExportImported) -> None:
        r = ev.report
        self.progress.setValue(round(1000 * ev.done / max(ev.total, 1)))
        name = Path(r.file).name
        if r.accepted:
            self.counts["imported"] += r.imported
            self.counts["skipped"] += r.skipped
            self.log.appendPlainText(f"{name}: {r.writer} — {r.imported} imported, {r.skipped} already there")
        else:
            self.counts["refused"] += 1
            self.log.appendPlainText(f"{name}: refused")
        for line in r.errors:
            self.log.appendPlainText(f"    ✗ {line}")
        for line in r.notes:
            self.log.appendPlainText(f"    • {line}")

    def _on_import_ended(self) -> None:
        self.importing = None
        c = self.counts
        self.status.setText(f"Import done: {c['imported']} samples imported, {c['skipped']} already there, "
                            f"{c['refused']} file(s) refused (named in the import report).")
        self.reload()
        self.imported.emit()

    def remove_selected(self) -> None:
        items = self.writers.selectedItems()
        if not items or self.busy():
            return
        name = items[0].data(Qt.ItemDataRole.UserRole)
        run_call(remove_writer, self.folder, name, name="digitpad-class-remove", parent=self,
                 then=lambda _r, error: self._on_removed(name, error))

    def _on_removed(self, name: str, error: Exception | None) -> None:
        self.status.setText(f"Removed {name} and all their samples." if error is None else str(error))
        self.lowo.pop(name, None)
        self.reload()

    # --- the report ----------------------------------------------------------------------------------

    def make_report(self) -> None:
        model = self.chosen_model()
        if model is None or self.busy():
            return
        self.status.setText(f"Evaluating {model.name} on {self.class_set.n_samples} samples…")
        run_call(class_report, model, self.class_set, name="digitpad-class-report", parent=self,
                 then=self._on_report)

    def _on_report(self, report: ClassReport | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(f"No report: {error}")
            self.reported.emit()
            return
        if self.report is None or self.report.model != report.model:
            self.lowo = {}
        self.report = report
        self.show_report()
        if self.views.currentWidget() is self.log:
            self.views.setCurrentWidget(self.table)
        self.status.setText("")
        self.reported.emit()

    def show_report(self) -> None:
        report = self.report
        r = report.report
        hardest = ", ".join(f"{w.name} ({percent(w.accuracy)})" for w in report.hardest_writers(3))
        digits = ", ".join(f"{d} ({percent(report.per_digit[d])})" for d in report.hardest_digits(3))
        lowo = ""
        if self.lowo:
            results = list(self.lowo.values())
            before = sum(x.before for x in results) / len(results)
            after = sum(x.after for x in results) / len(results)
            lowo = (f"<br>Leave one writer out (mean over {len(results)} writers, each tested on a model fine-tuned "
                    f"on everyone else): <b>{before:.1%} → {after:.1%}</b>")
        self.headline.setText(f"<b>{report.model}</b> reads <b>{r.accuracy:.1%}</b> of the class's {r.n} samples "
                              f"({len(report.writers)} writers). Hardest writers: {hardest}. "
                              f"Hardest digits: {digits}.{lowo}")
        fill_table(self.table, report_rows(report, self.lowo))
        names = tuple(str(d) for d in range(10))
        self.confusion.show_matrix(r.confusion, names)
        self.per_digit.show_accuracy(r.per_class_accuracy, names)
        wrong = r.n - sum(r.confusion[k][k] for k in range(10))
        self.hardest_header.setText(f"{wrong} of {r.n} samples read wrong; the {len(r.mistakes)} most confident "
                                    "mistakes, each as writer: true → said (confidence).")
        self.hardest.set_items([(gray_image(m.image, invert=True),
                                 f"{writer}: {m.true} → {m.predicted} ({m.confidence:.0%})")
                                for m, writer in zip(r.mistakes, report.mistake_writers)])

    # --- leave one writer out ------------------------------------------------------------------------

    def start_lowo(self) -> None:
        from digitpad.core.class_set import leave_one_writer_out

        model = self.chosen_model()
        if model is None or self.busy():
            return
        if model.meta.dataset != "mnist":
            self.status.setText("Pick an MNIST model: leave-one-writer-out fine-tunes it with MNIST replayed.")
            return
        self.lowo = {}
        self.progress.setValue(0)
        self.status.setText(f"Leave one writer out with {model.name}: {len(self.class_set.writers)} writers…")
        control = RunControl()
        self.lowo_run = run_events(leave_one_writer_out, model, self.class_set, self.lowo_config, control,
                                   name="digitpad-lowo", control=control, parent=self,
                                   handlers={LowoProgress: self._on_lowo_progress, WriterDone: self._on_writer_done,
                                             LowoFinished: self._on_lowo_finished},
                                   failed=self._on_lowo_failed, ended=self._on_lowo_ended)
        self._update_buttons()

    def stop_lowo(self) -> None:
        if self.lowo_run is not None:
            self.lowo_run.control.stop()
            self.status.setText("Stopping…")

    def shutdown(self) -> bool:
        return all([w.join() for w in (self.importing, self.lowo_run) if w is not None])

    def _on_lowo_progress(self, ev: LowoProgress) -> None:
        self.progress.setValue(round(1000 * ev.done / ev.total))
        who = f"leaving out {ev.writer}" if ev.writer else "fine-tuning on everyone"
        eta = f" · about {ev.eta_s:.0f} s left" if ev.eta_s < 1e6 else ""
        self.status.setText(f"Writer {min(int(ev.done) + 1, ev.total)} of {ev.total}: {who}{eta}")

    def _on_writer_done(self, ev: WriterDone) -> None:
        self.lowo[ev.result.writer] = ev.result
        if self.report is not None:
            fill_table(self.table, report_rows(self.report, self.lowo))

    def _on_lowo_finished(self, ev: LowoFinished) -> None:
        done = f"{len(ev.results)} writer(s) left out"
        if ev.results:
            done += f": {ev.mean_before:.1%} → {ev.mean_after:.1%} on average on the writer left out"
        if ev.class_model is not None:
            self.library.put(ev.class_model, activate=False)
            done += f". \"{ev.class_model.name}\", fine-tuned on the whole class, is in the canvas's model list"
        self.status.setText(("Stopped after " if ev.stopped else "Done: ") + done + ".")
        if self.report is not None:
            self.show_report()

    def _on_lowo_failed(self, message: str, _kind: FailureKind) -> None:
        self.status.setText(f"Leave-one-writer-out failed: {message}")

    def _on_lowo_ended(self) -> None:
        self.lowo_run = None
        self._update_buttons()
        self.lowo_ended.emit()
