"""Teach it your handwriting: keep drawings with a label, see how the model does on them, fine-tune.

`KeepRow` sits on the Canvas tab ("This is a … 0–9", or a digit key); `MyDigitsTab` shows the
personal set per digit with right/wrong for the canvas model, deletes and relabels samples, and
Teach fine-tunes the active model on them on the one background worker, never blocking the window.
All file work (save, delete, relabel, reading the folder) runs on that worker too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QListView,
                               QListWidget, QListWidgetItem, QProgressBar, QPushButton, QScrollArea, QToolButton,
                               QVBoxLayout, QWidget)

from digitpad.core.checkpoints import TrainedModel, save_checkpoint
from digitpad.core.class_set import check_writer_name, export_personal_set
from digitpad.core.evaluation import predict_all
from digitpad.core.finetune import FinetuneConfig, Finetuner, finetune_result
from digitpad.core.personal_set import (PersonalSet, Sample, add_sample, delete_sample, load_personal_set,
                                        read_sample, relabel_sample)
from digitpad.core.strokes import StrokeSet
from digitpad.core.events import EpochEnd, Finished, Progress, RunControl
from digitpad.gui.common.images import gray_image
from digitpad.gui.common.settings import stored
from digitpad.gui.common.text_zoom import text_scale
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.common.worker import Worker, run_call, run_events

THUMB = 56
RIGHT, WRONG = QColor("#2e9d4a"), QColor("#d9534f")


class KeepRow(QWidget):
    """"This is a …" and ten digit buttons; the digit keys do the same while the canvas tab is shown.

    The keys are window shortcuts owned by the tab: Qt fires them only while their owner is visible,
    and text fields (which take digit keys first) never lose a keystroke to them."""

    chosen = Signal(int)

    def __init__(self, shortcut_owner: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("This is a …"))
        self.buttons = []
        for d in range(10):
            button = QToolButton(text=str(d))
            button.setToolTip(f"Keep this drawing in My digits as a {d} (key {d})")
            button.clicked.connect(lambda _=False, d=d: self.chosen.emit(d))
            row.addWidget(button)
            self.buttons.append(button)
            # the key presses the button (seen going down), which keeps the drawing: the class sees what happened
            QShortcut(QKeySequence(str(d)), shortcut_owner, activated=button.animateClick)
        row.addStretch(1)


def framed_icon(pixels: np.ndarray, colour: QColor | None, side: int = THUMB) -> QIcon:
    """The 28×28 the network saw, framed green (read right), red (read wrong) or grey (not known yet)."""
    pix = QPixmap(side + 6, side + 6)
    pix.fill(colour or QColor("#888888"))
    painter = QPainter(pix)
    painter.drawImage(3, 3, gray_image(pixels).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.FastTransformation))
    painter.end()
    return QIcon(pix)


def predict_samples(model: TrainedModel, samples: list[Sample]) -> list[int]:
    """The model's answer for each sample, in one batch (off the GUI thread)."""
    if not samples:
        return []
    images = torch.from_numpy(np.stack([np.round(s.pixels * 255) for s in samples]).astype(np.uint8)).unsqueeze(1)
    preds, _ = predict_all(model.model, images, model.meta.mean, model.meta.std)
    return preds.tolist()


def save_drawing(folder: Path, label: int, strokes: StrokeSet, pixels: np.ndarray) -> Sample:
    path = add_sample(folder, label, strokes, pixels)
    return Sample(path, label, pixels.astype(np.float32))


def move_sample(sample: Sample, folder: Path, label: int) -> Sample:
    return read_sample(relabel_sample(sample.path, folder, label), label)


def describe_result(model: TrainedModel) -> str:
    result = finetune_result(model)
    if result is None:
        return ""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    text = (f"Your held-out digits: {pct(result.before)} → {pct(result.after)} ({result.n_holdout} of "
            f"{result.n_samples} held out) · MNIST test: {pct(result.mnist_before)} → {pct(result.mnist_after)} "
            f"· {result.seconds:.0f} s")
    return text + (f"\n{result.note}" if result.note else "")


class MyDigitsTab(QWidget):
    """The personal set, what the canvas model makes of it, and the Teach button."""

    changed = Signal()  # the set on screen changed (loaded, sample added, deleted or relabelled)
    taught = Signal(object)  # a fine-tuned TrainedModel, already in the library
    kept = Signal(str)  # what became of a drawing kept from the canvas (said where the teacher is: the status bar)
    teach_ended = Signal()
    exported = Signal()  # an export was written, or the reason it was not is shown

    def __init__(self, library: ModelLibrary, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.folder = Path(folder)
        self.personal = PersonalSet(self.folder)
        self.predictions: dict[Path, int] = {}
        self.config = FinetuneConfig()
        self.teaching: Worker | None = None
        self.last_taught: TrainedModel | None = None
        self._build()
        library.active_changed.connect(lambda _m: self._check_with_model())
        self.reload()

    def _build(self) -> None:
        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Show the personal set in the file manager: copy it between machines, "
                                           "or collect a class's folders (DIR/<digit>/<name>.json or .png)")
        self.open_folder_button.clicked.connect(self.open_folder)
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.export_button = QPushButton("Export for the class…")
        self.export_button.setToolTip("One .zip of your drawings, under your name or a pseudonym, for the teacher's "
                                      "class set (Classroom ▸ Class digits)")
        self.export_button.clicked.connect(self.choose_export)
        top = QHBoxLayout()
        top.addWidget(QLabel("Folder:"))
        top.addWidget(self.folder_label, stretch=1)
        top.addWidget(self.reload_button)
        top.addWidget(self.open_folder_button)
        top.addWidget(self.export_button)

        self.counts = QLabel()
        self.score = QLabel()
        # One row per digit: its label and count, then its samples (scrolling sideways when many).
        self.rows: list[QListWidget] = []
        self.row_labels: list[QLabel] = []
        grid = QGridLayout()
        for d in range(10):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row = QListWidget()
            row.setViewMode(QListView.ViewMode.IconMode)
            row.setFlow(QListView.Flow.LeftToRight)
            row.setWrapping(False)
            row.setMovement(QListView.Movement.Static)
            row.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
            row.itemSelectionChanged.connect(self._update_buttons)
            grid.addWidget(label, d, 0)
            grid.addWidget(row, d, 1)
            self.rows.append(row)
            self.row_labels.append(label)
        grid.setRowStretch(10, 1)
        self._size_rows()
        rows_widget = QWidget()
        rows_widget.setLayout(grid)
        self.grid = QScrollArea()
        self.grid.setWidgetResizable(True)
        self.grid.setWidget(rows_widget)

        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_box = QComboBox()
        self.relabel_box.addItems([f"Relabel as {d}" for d in range(10)])
        self.relabel_box.activated.connect(self.relabel_selected)
        self.teach_button = QPushButton("Teach")
        self.teach_button.setToolTip("Fine-tune the canvas model on these drawings (mixed with MNIST, so it does "
                                     "not forget it); a quarter is held out to measure before → after")
        self.teach_button.clicked.connect(self.teach)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_teaching)
        self.save_button = QPushButton("Save model…")
        self.save_button.clicked.connect(self.save_model)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("Draw on the Canvas tab, then press a digit key to keep the drawing here.")
        self.status.setWordWrap(True)
        self.result = QLabel()
        self.result.setWordWrap(True)
        font = self.result.font()
        font.setBold(True)
        self.result.setFont(font)
        actions = QHBoxLayout()
        for w in (self.delete_button, self.relabel_box):
            actions.addWidget(w)
        actions.addStretch(1)
        for w in (self.teach_button, self.stop_button, self.save_button):
            actions.addWidget(w)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addWidget(self.score)
        layout.addWidget(self.grid, stretch=1)
        layout.addLayout(actions)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.result)
        self._update_buttons()

    def _thumb(self) -> int:
        """The pictures' side: THUMB at normal text size, larger with it (presentation mode)."""
        return round(THUMB * text_scale(self))

    def _size_rows(self) -> None:
        side, line = self._thumb(), self.fontMetrics().lineSpacing()
        for row in self.rows:
            row.setIconSize(QSize(side + 6, side + 6))
            row.setGridSize(QSize(side + 22, side + 12 + line))
            row.setFixedHeight(side + 26 + line)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange and hasattr(self, "rows"):
            self._size_rows()
            self._fill_grid()
        super().changeEvent(event)

    # --- the set on disk ----------------------------------------------------------------------

    def _io(self, fn, *args, then, name: str) -> Worker:
        """File work on the background worker; `then(result, error)` runs on the GUI thread."""
        return run_call(fn, *args, then=then, name=name, parent=self)

    def reload(self) -> None:
        self.folder_label.setText(str(self.folder))
        self.status.setText(f"Reading {self.folder}…")
        self._io(self._read_folder, then=self._on_loaded, name="digitpad-my-digits")

    def _read_folder(self) -> PersonalSet:
        """An absent folder is just an empty set: it appears with the first kept drawing."""
        if not self.folder.is_dir() or not any(self.folder.iterdir()):
            return PersonalSet(self.folder)
        return load_personal_set(self.folder)

    def _on_loaded(self, personal: PersonalSet | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(f"Cannot read {self.folder}: {error}")
            return
        self.personal = personal
        skipped = personal.skipped
        self.status.setText(f"{len(skipped)} file(s) skipped: " + "; ".join(skipped[:3]) if skipped
                            else "Draw on the Canvas tab, then press a digit key to keep the drawing here.")
        self._changed()

    def keep(self, label: int, strokes: StrokeSet, pixels: np.ndarray | None) -> None:
        """Save a drawing with its label (the strokes and the 28×28 the network saw)."""
        if pixels is None or not any(s.points for s in strokes.strokes):
            self.status.setText("Draw a digit first: only drawings on the canvas can be kept.")
            self.kept.emit(self.status.text())
            return
        self._io(save_drawing, self.folder, label, strokes, pixels, then=self._on_kept, name="digitpad-keep")

    def _on_kept(self, sample: Sample | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(f"Not kept: {error}")
            self.kept.emit(self.status.text())
            return
        self.personal.samples.append(sample)
        self.status.setText(f"Kept as a {sample.label}: {self.personal.counts()[sample.label]} of them now.")
        self.kept.emit(f"Kept in My digits as a {sample.label} ({self.personal.counts()[sample.label]} of them now); "
                       "the canvas is clear for the next one.")
        self._changed()

    def selected_samples(self) -> list[Sample]:
        paths = {Path(item.data(Qt.ItemDataRole.UserRole)) for item in self.selected_items()}
        return [s for s in self.personal.samples if s.path in paths]

    def delete_selected(self) -> None:
        chosen = self.selected_samples()

        def remove_all() -> list[Sample]:
            for s in chosen:
                delete_sample(s.path)
            return chosen
        self._io(remove_all, then=self._on_removed, name="digitpad-delete")

    def _on_removed(self, removed: list[Sample] | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(str(error))
            self.reload()
            return
        gone = {s.path for s in removed}
        self.personal.samples = [s for s in self.personal.samples if s.path not in gone]
        self.status.setText(f"Deleted {len(gone)} sample(s).")
        self._changed()

    def relabel_selected(self, label: int) -> None:
        chosen = self.selected_samples()

        def move_all() -> list[tuple[Sample, Sample]]:
            return [(s, move_sample(s, self.folder, label)) for s in chosen]
        self._io(move_all, then=self._on_moved, name="digitpad-relabel")

    def _on_moved(self, moves: list[tuple[Sample, Sample]] | None, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(str(error))
            self.reload()
            return
        new = {old.path: moved for old, moved in moves}
        self.personal.samples = [new.get(s.path, s) for s in self.personal.samples]
        self.status.setText(f"Relabelled {len(new)} sample(s).")
        self._changed()

    def choose_export(self) -> None:
        name, ok = QInputDialog.getText(self, "Export for the class", "Your name or a pseudonym:",
                                        text=stored("classroom/student", str, ""))
        if not ok:
            return
        try:
            name = check_writer_name(name)
        except ValueError as exc:
            self.status.setText(f"Not exported: {exc}.")
            return
        QSettings().setValue("classroom/student", name)
        suggested = Path(stored("classroom/export_folder", str, str(Path.home()))) / f"{name}-digits.zip"
        path, _ = QFileDialog.getSaveFileName(self, "Export for the class", str(suggested), "Class exports (*.zip)")
        if path:
            QSettings().setValue("classroom/export_folder", str(Path(path).parent))
            self.export_to(name, path)

    def export_to(self, writer: str, path: str) -> None:
        """Write the export on the worker; the status line says where, or why not."""
        self.status.setText(f"Exporting to {path}…")
        self._io(export_personal_set, self.folder, writer, path, name="digitpad-export",
                 then=lambda summary, error: self._on_exported(path, summary, error))

    def _on_exported(self, path: str, summary, error: Exception | None) -> None:
        if error is not None:
            self.status.setText(f"Not exported: {error}")
        else:
            skipped = f" ({len(summary.skipped)} unreadable file(s) left out)" if summary.skipped else ""
            self.status.setText(f"Exported {summary.samples} drawings by {summary.writer} to {path}{skipped}: "
                                "give this file to your teacher.")
        self.exported.emit()

    def open_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    # --- the view -----------------------------------------------------------------------------

    def _changed(self) -> None:
        counts = self.personal.counts()
        self.counts.setText("Per digit:  " + "   ".join(f"<b>{d}</b>: {n}" for d, n in enumerate(counts)))
        self._fill_grid()
        self._update_buttons()
        self._check_with_model()
        self.changed.emit()

    def selected_items(self) -> list[QListWidgetItem]:
        return [item for row in self.rows for item in row.selectedItems()]

    def shown_count(self) -> int:
        """Samples on screen, all digits together."""
        return sum(row.count() for row in self.rows)

    def _fill_grid(self) -> None:
        counts = self.personal.counts()
        for d, (row, label) in enumerate(zip(self.rows, self.row_labels)):
            row.clear()
            label.setText(f"<b style='font-size: 16pt'>{d}</b><br>{counts[d]}")
            row.setVisible(counts[d] > 0)
            label.setVisible(counts[d] > 0)
        for s in sorted(self.personal.samples, key=lambda s: (s.label, s.path.name)):
            pred = self.predictions.get(s.path)
            colour = None if pred is None else RIGHT if pred == s.label else WRONG
            text = f"{s.label}" if pred is None else f"{s.label} ✓" if pred == s.label else f"{s.label} → {pred}"
            item = QListWidgetItem(framed_icon(s.pixels, colour, self._thumb()), text)
            item.setData(Qt.ItemDataRole.UserRole, str(s.path))
            item.setToolTip(f"{s.path}\nlabel {s.label}" + ("" if pred is None else f", the model says {pred}"))
            self.rows[s.label].addItem(item)

    def _check_with_model(self) -> None:
        """How the canvas model reads each sample, computed off the GUI thread."""
        model, samples = self.library.active, list(self.personal.samples)
        if model is None:
            return
        self._io(predict_samples, model, samples, name="digitpad-check",
                 then=lambda preds, error: self._on_checked(model, samples, preds, error))

    def _on_checked(self, model: TrainedModel, samples: list[Sample], preds: list[int] | None,
                    error: Exception | None) -> None:
        if error is not None or model is not self.library.active:
            return
        self.predictions = {s.path: p for s, p in zip(samples, preds)}
        right = sum(p == s.label for s, p in zip(samples, preds))
        self.score.setText(f"{model.name} reads {right} of {len(samples)} right." if samples else "")
        self._fill_grid()

    def _update_buttons(self) -> None:
        teaching = self.teaching is not None
        selected = bool(self.selected_items())
        self.delete_button.setEnabled(selected and not teaching)
        self.relabel_box.setEnabled(selected and not teaching)
        self.teach_button.setEnabled(bool(self.personal.samples) and not teaching)
        self.export_button.setEnabled(bool(self.personal.samples))
        self.stop_button.setEnabled(teaching)
        self.save_button.setEnabled(self.last_taught is not None)

    # --- teaching -----------------------------------------------------------------------------

    def teach(self) -> None:
        base = self.library.active
        if base is None or base.meta.dataset != "mnist":
            self.status.setText("Pick an MNIST model on the Canvas tab first: it is the one that learns your digits.")
            return
        personal = PersonalSet(self.folder, list(self.personal.samples))
        control = RunControl()
        self.progress.setValue(0)
        self.result.clear()
        self.status.setText(f"Teaching {base.name} your {len(personal.samples)} drawings (with MNIST replay)…")
        self.teaching = run_events(Finetuner(base, personal, self.config, control).run, name="digitpad-teach",
                                   control=control, parent=self,
                                   handlers={Progress: self._on_progress, EpochEnd: self._on_epoch,
                                             Finished: self._on_finished},
                                   failed=lambda message, _kind: self.status.setText(f"Teaching failed: {message}"),
                                   ended=self._on_teach_ended)
        self._update_buttons()

    def stop_teaching(self) -> None:
        if self.teaching is not None:
            self.teaching.stop()

    def _on_progress(self, ev: Progress) -> None:
        self.progress.setValue(round(100 * ev.fraction / ev.epochs))

    def _on_epoch(self, ev: EpochEnd) -> None:
        self.status.setText(f"Epoch {ev.epoch}/{ev.epochs}: your digits {ev.test_accuracy:.1%}")

    def _on_finished(self, ev: Finished) -> None:
        if ev.stopped:
            self.status.setText("Stopped: no new model.")
            return
        self.progress.setValue(100)
        self.last_taught = ev.model
        self.library.put(ev.model, activate=True)
        self.result.setText(describe_result(ev.model))
        self.status.setText(f"The canvas now uses {ev.model.name}.")
        self.taught.emit(ev.model)

    def _on_teach_ended(self) -> None:
        self.teaching = None
        self._update_buttons()
        self.teach_ended.emit()

    def save_model(self) -> None:
        if self.last_taught is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save model", str(Path.home() / "mnist-cnn-my-digits.pt"),
                                              "DigitPad checkpoints (*.pt)")
        if path:
            self._io(save_checkpoint, self.last_taught, path, name="digitpad-save",
                     then=lambda _r, error: self.status.setText(f"Saved {path}" if error is None
                                                                else f"Not saved: {error}"))
