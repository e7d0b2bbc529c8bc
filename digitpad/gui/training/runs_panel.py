"""The Runs list: every recorded run, ticked ones overlaid on the live charts, sweeps, and chart export.

Records are read and written off the GUI thread (`run_call`); the recorder itself runs in the
training worker's thread, inside the event stream. `render_comparison` draws the same charts
offscreen for `digitpad compare`, so the figure on a slide is the one the app shows.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from pyqtgraph.exporters import ImageExporter, SVGExporter
from PySide6.QtCore import QBuffer, QEvent, QIODevice, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.runs import (WHAT, RunRecord, RunRecorder, default_runs_dir, delete_run, describe, differing_keys,
                                format_value, labels_for, load_runs, metrics_csv, rename_run, telling_keys)
from digitpad.core.trainer import TrainConfig
from digitpad.gui.common.worker import run_call
from digitpad.core.settings import sweepable
from digitpad.core.sweeps import Sweep
from digitpad.gui.common.charts import FIGURE_POINTS, FIGURE_SIZE, LiveCharts
from digitpad.gui.common.dialogs import show_warning

COLUMNS = ("Run", "Data set", "Model", "Differs", "Accuracy", "Time", "Status")
CHART_FILTERS = "PNG image (*.png);;SVG drawing (*.svg);;Metrics as CSV (*.csv)"


def _close_paths_for_pyqtgraph() -> None:
    """Let pyqtgraph 0.14's SVG exporter read what Qt 6 writes (pyqtgraph issue #3485).

    Qt now ends closed shapes with a bare "Z", which the exporter's coordinate parser cannot split
    into x,y and fails on every chart. Before it parses a group, each "Z" becomes a line back to
    the path's start: the same drawing. Installed once; a no-op for paths without "Z".
    """
    module = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = module.correctCoordinates
    if getattr(original, "closes_paths", False):
        return

    def correct(node, *args, **kwargs):
        for path in node.getElementsByTagName("path"):
            words, start, out = path.getAttribute("d").split(), "0,0", []
            for word in words:
                if word[0] == "M":
                    start = word[1:]
                out.append(f"L{start}" if word == "Z" else word)
            path.setAttribute("d", " ".join(out))
        return original(node, *args, **kwargs)

    correct.closes_paths = True
    module.correctCoordinates = correct


def format_seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def figure_points(size: tuple[int, int]) -> float:
    """The figure's type size: FIGURE_POINTS at FIGURE_SIZE, in proportion below it (never under 9 pt)."""
    return max(9.0, FIGURE_POINTS * min(size[0] / FIGURE_SIZE[0], size[1] / FIGURE_SIZE[1]))


def write_figure(figure: LiveCharts, target: Path, size: tuple[int, int]) -> Path:
    """A chart laid out as a figure, to PNG or SVG (pyqtgraph's exporters), written atomically."""
    figure.as_figure(size, figure_points(size))
    if target.suffix.lower() == ".svg":
        _close_paths_for_pyqtgraph()
        data = SVGExporter(figure.ci).export(toBytes=True)
    else:
        exporter = ImageExporter(figure.ci)
        exporter.parameters()["width"] = size[0]  # drawn at this size: no scaling, no thinned lines
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        exporter.export(toBytes=True).save(buffer, "PNG")
        data = bytes(buffer.data())
    if not data:  # the renderer could not allocate the picture: never leave an empty file as the figure
        raise OSError(errno.ENOMEM, "the figure came out empty (too large to draw in the memory left)")
    atomic_write_bytes(target, data)
    return target


def export_charts(charts: LiveCharts, path: str | os.PathLike, current_label: str = "this run",
                  size: tuple[int, int] = FIGURE_SIZE) -> Path:
    """The charts as a slide's figure (PNG or SVG, `size` pixels, large type), or their numbers as CSV."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        atomic_write_bytes(target, metrics_csv(charts.shown_curves(current_label)).encode("utf-8"))
        return target
    if suffix not in (".png", ".svg"):
        raise ValueError(f"{target.name}: charts export as .png, .svg or .csv")
    figure = charts.copy()
    try:
        return write_figure(figure, target, size)
    finally:
        figure.close()
        figure.deleteLater()


def render_comparison(records: list[RunRecord], out: str | os.PathLike,
                      size: tuple[int, int] = FIGURE_SIZE) -> Path:
    """Draw recorded runs overlaid on the app's own charts, offscreen, into a PNG, SVG or CSV file."""
    from digitpad.gui.app import qt_app

    app = qt_app()
    charts = LiveCharts()
    charts.hide_live_legend()
    labels = labels_for([r.config for r in records], [r.name for r in records])
    charts.show_runs([r.curves(label) for r, label in zip(records, labels)])
    shared = [k for k in ("dataset", "model") if k not in differing_keys([r.config for r in records])]
    if shared:
        charts.loss_plot.setTitle(" · ".join(format_value(records[0].config[k]) for k in shared),
                                  size=f"{figure_points(size):.0f}pt")
    try:
        if Path(out).suffix.lower() == ".csv":
            return export_charts(charts, out)
        return write_figure(charts, Path(out), size)
    finally:
        charts.close()
        charts.deleteLater()
        app.processEvents()


class RunsPanel(QWidget):
    """Recorded runs with tick boxes; what is ticked is drawn under the live run on `charts`."""

    run_requested = Signal(object)  # TrainConfig: the next run of a sweep
    config_chosen = Signal(object)  # TrainConfig: "Load into form"
    loaded = Signal()  # the records on disk have been read

    def __init__(self, charts: LiveCharts, current_config: Callable[[], TrainConfig],
                 folder: str | os.PathLike | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts = charts
        self.current_config = current_config
        self.folder = Path(folder) if folder is not None else default_runs_dir()
        self.records: list[RunRecord] = []
        self.checked: set[str] = set()
        self.current: dict | None = None  # the config of the run on the live curves
        self.current_id: str | None = None
        self.sweep: Sweep | None = None
        self._filling = False
        self._build()
        self.charts.export_requested.connect(self.choose_chart_export)
        # No folder yet is the first start, not an error: it is made with the first record.
        run_call(load_runs, [self.folder] if self.folder.is_dir() else [], name="digitpad-runs", parent=self,
                 then=self._on_loaded)

    def _build(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons; the arrows move between rows
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.setToolTip("Tick runs to draw them under the live curves; double-click a name to rename it")

        self.rename_button = QPushButton("Rename")
        self.load_button = QPushButton("Load into form")
        self.delete_button = QPushButton("Delete")
        self.export_button = QPushButton("Export charts…")
        self.rename_button.clicked.connect(lambda: self.table.editItem(self.table.item(self.table.currentRow(), 0)))
        self.load_button.clicked.connect(self.load_selected_config)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.choose_chart_export)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.sweep_key = QComboBox()
        for setting in sweepable():
            self.sweep_key.addItem(setting.title.lower(), setting.name)
        self.sweep_values = QLineEdit("0.01, 0.1, 1.0")
        self.sweep_values.setToolTip("Values to try, one run each, the rest of the setup as in the form")
        self.sweep_button = QPushButton("Run sweep")
        self.sweep_button.clicked.connect(self.start_sweep)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        actions = QHBoxLayout()
        for b in (self.rename_button, self.load_button, self.delete_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        sweep = QHBoxLayout()
        sweep.addWidget(QLabel("Sweep"))
        sweep.addWidget(self.sweep_key)
        sweep.addWidget(self.sweep_values, stretch=1)
        sweep.addWidget(self.sweep_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, stretch=1)
        layout.addLayout(actions)
        layout.addLayout(sweep)
        layout.addWidget(self.message)
        self._fit_table()
        self._update_buttons()

    def _fit_table(self) -> None:
        """The list may shrink to its header and two rows (it scrolls): on a short screen in large type the
        charts above keep their height."""
        self.table.setMinimumHeight(round(3.5 * self.fontMetrics().lineSpacing()))

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange and hasattr(self, "table"):
            self._fit_table()
        super().changeEvent(event)

    # --- the list ------------------------------------------------------------------------------

    def _on_loaded(self, result, error: Exception | None) -> None:
        if error is not None:
            self.message.setText(f"Could not read the runs in {self.folder}: {error}")
        else:
            records, errors = result
            known = {r.id for r in self.records}  # runs recorded while the folder was being read
            self.records = [r for r in records if r.id not in known] + self.records
            if errors:
                self.message.setText(f"Skipped {len(errors)} unreadable file(s): " + "; ".join(errors[:3]))
        self._fill()
        self.loaded.emit()

    def _fill(self) -> None:
        """Rebuild the table from `records`, newest first (a few dozen rows: cheap)."""
        self._filling = True
        telling = dict(zip((r.id for r in self.records), telling_keys([r.config for r in self.records])))
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(reversed(self.records)):
            acc = record.final_accuracy
            cells = [record.name, format_value(record.config.get("dataset")), format_value(record.config.get("model")),
                     describe(record.config, [k for k in telling[record.id] if k not in WHAT]),
                     "—" if acc is None else f"{acc:.2%}", format_seconds(record.duration_s), record.status]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
                if col == 0:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                    item.setData(Qt.ItemDataRole.UserRole, record.id)
                    item.setCheckState(Qt.CheckState.Checked if record.id in self.checked else Qt.CheckState.Unchecked)
                    item.setToolTip(record.message or f"{record.id}\ndevice: {record.device}\n"
                                                      f"checkpoint: {record.checkpoint or 'not saved'}")
                item.setFlags(flags)
                self.table.setItem(row, col, item)
        self._filling = False
        self._update_buttons()

    def record(self, run_id: str) -> RunRecord:
        return next(r for r in self.records if r.id == run_id)

    def selected(self) -> RunRecord | None:
        item = self.table.item(self.table.currentRow(), 0)
        return None if item is None else self.record(item.data(Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        for b in (self.rename_button, self.load_button, self.delete_button):
            b.setEnabled(chosen)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        """The name cell changed: a new name typed in, or its tick box clicked."""
        if self._filling or item.column() != 0:
            return
        record = self.record(item.data(Qt.ItemDataRole.UserRole))
        if item.text().strip() and item.text() != record.name:
            self.rename(record, item.text())
        self.set_checked(record.id, item.checkState() == Qt.CheckState.Checked)

    def set_checked(self, run_id: str, checked: bool) -> None:
        if checked == (run_id in self.checked):
            return
        (self.checked.add if checked else self.checked.discard)(run_id)
        self._filling = True
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item.data(Qt.ItemDataRole.UserRole) == run_id:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self._filling = False
        self.refresh_overlays()

    def rename(self, record: RunRecord, name: str) -> None:
        """Write the new name on a thread; the list and the legend show it at once."""
        run_call(rename_run, record, name, name="digitpad-rename", parent=self,
                 then=lambda _, error: error and self.message.setText(f"Not renamed: {error}"))
        record.name = name.strip()
        self.refresh_overlays()

    def confirm_delete(self, record: RunRecord) -> bool:
        answer = QMessageBox.question(self, "Delete run", f"Delete the record of “{record.name}”? "
                                      "(A saved checkpoint is kept.)")
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        record = self.selected()
        if record is None or not self.confirm_delete(record):
            return
        try:
            delete_run(record)
        except OSError as exc:
            self.message.setText(f"Not deleted: {exc}")
            return
        self.records.remove(record)
        self.checked.discard(record.id)
        self._fill()
        self.refresh_overlays()

    def load_selected_config(self) -> None:
        record = self.selected()
        if record is None:
            return
        try:
            cfg = record.train_config()
        except (TypeError, ValueError) as exc:
            self.message.setText(f"{record.name}: its setup cannot be loaded ({exc})")
            return
        self.config_chosen.emit(cfg)
        shown = asdict(self.current_config())
        missed = differing_keys([{k: v for k, v in asdict(cfg).items() if k in shown}, shown])
        self.message.setText(f"Loaded the setup of “{record.name}” into the form."
                             + (f" The form cannot show {describe(asdict(cfg), missed)}." if missed else ""))

    # --- overlays ------------------------------------------------------------------------------

    def _overlays(self) -> tuple[list[RunRecord], list[str], str | None]:
        """The ticked runs besides the live one, their labels, and the live run's label (None when none)."""
        shown = [r for r in self.records if r.id in self.checked and r.id != self.current_id]
        configs = [r.config for r in shown] + ([self.current] if self.current else [])
        labels = labels_for(configs, [r.name for r in shown] + ["this run"])
        return shown, labels[:len(shown)], labels[-1] if self.current else None

    def refresh_overlays(self) -> None:
        """Draw the ticked runs under the live one, each named by what differs among them and the live run."""
        shown, labels, current = self._overlays()
        self.charts.show_runs([r.curves(label) for r, label in zip(shown, labels)], current)

    def current_label(self) -> str:
        return self._overlays()[2] or "this run"

    # --- runs starting and ending --------------------------------------------------------------

    def recorder_for(self, cfg: TrainConfig) -> RunRecorder:
        """A recorder for the run about to start; its curves become the live ones the overlays sit under."""
        name = self.sweep.run_name(cfg) if self.sweep else None
        recorder = RunRecorder(cfg, self.folder, name=name)
        self.current, self.current_id = recorder.record.config, recorder.record.id
        self.refresh_overlays()
        return recorder

    def run_ended(self, recorder: RunRecorder) -> None:
        """Add the run to the list; in a sweep, tick it and start the next unless it did not finish."""
        record = recorder.record
        self.records = [r for r in self.records if r.id != record.id] + [record]
        if recorder.write_error:
            self.message.setText(recorder.write_error)
        if self.sweep:
            self.checked.add(record.id)
            cfg = self.sweep.next() if record.status == "finished" else None
            if cfg is not None:
                self.message.setText(f"Sweep: run {self.sweep.started} of {self.sweep.size}.")
                QTimer.singleShot(0, lambda: self.run_requested.emit(cfg))
            else:
                done = self.sweep.started
                self.message.setText(f"Sweep done: {done} run(s)." if record.status == "finished"
                                     else f"Sweep ended: run {done} of {self.sweep.size} was {record.status}.")
                self.sweep = None
        self._fill()
        self.refresh_overlays()

    def start_sweep(self) -> None:
        key = self.sweep_key.currentData()
        try:
            sweep = Sweep.of(self.current_config(), key, self.sweep_values.text())
        except ValueError as exc:
            self.message.setText(f"Sweep not started: {exc}")
            return
        self.sweep = sweep
        first = sweep.next()
        self.message.setText(f"Sweep: run 1 of {sweep.size}.")
        self.run_requested.emit(first)

    def set_running(self, running: bool) -> None:
        self.sweep_button.setEnabled(not running)

    # --- export ---------------------------------------------------------------------------------

    def choose_chart_export(self) -> None:
        folder = str(QSettings().value("files/last_folder", str(Path.home())))
        path, chosen = QFileDialog.getSaveFileName(self, "Export charts", str(Path(folder) / "training-charts.png"),
                                                   CHART_FILTERS)
        if path:
            if not Path(path).suffix:
                path += "." + chosen.split("*.")[-1].rstrip(")")
            self.export_charts_to(path)

    def export_charts_to(self, path: str) -> None:
        try:
            export_charts(self.charts, path, self.current_label())
        except (OSError, ValueError) as exc:
            self.failure_box = show_warning(self, "Could not export the charts", f"{path}: {exc}")
            return
        self.message.setText(f"Charts exported to {path}")
