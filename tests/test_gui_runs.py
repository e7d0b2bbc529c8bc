"""The Runs list in the Training tab, driven through its real widgets: records, overlays, sweeps, exports."""

import csv
import io

import pytest
from PySide6.QtCore import Qt

from digitpad.core.runs import RunRecorder, load_record, load_runs
from digitpad.core.trainer import TrainConfig
from digitpad.gui.common.charts import LiveCharts
from digitpad.gui.training.runs_panel import RunsPanel
from helpers import click, legend_texts, row_of, setup_run


def run_once(qtbot, tab, **values):
    setup_run(tab, epochs=2, **values)
    with qtbot.waitSignal(tab.model_trained, timeout=60_000):
        click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)


def test_two_runs_with_different_lr_are_recorded_and_overlaid(qtbot, window, mnist, tmp_path):
    tab, panel = window.training, window.training.runs
    assert panel.message.text() == "" and not panel.folder.exists()  # first start: no folder is no error
    run_once(qtbot, tab, lr=0.05)
    run_once(qtbot, tab, lr=0.1)
    first, second = panel.records
    assert (first.config["lr"], second.config["lr"]) == (0.05, 0.1)
    assert [r.status for r in load_runs([panel.folder])[0]] == ["finished", "finished"]
    assert panel.table.rowCount() == 2 and panel.table.item(0, 3).text() == "lr 0.1"  # newest first
    assert second.final_accuracy == tab.last_model.meta.test_accuracy

    panel.table.item(row_of(panel, first.id), 0).setCheckState(Qt.CheckState.Checked)  # tick the earlier run
    assert [c.label for c in tab.charts.overlays] == ["lr 0.05"]
    assert legend_texts(tab.charts.loss_plot) == ["mean since previous point", "lr 0.1 (this run)"]
    # the recorded runs are named beside the charts, with the key to solid and dashed lines
    assert [label.text for _, label in tab.charts.runs_legend.items] == ["lr 0.05", "test accuracy", "train accuracy"]
    overlay_loss = tab.charts._overlay_items[0]
    assert overlay_loss.zValue() < tab.charts.smooth_loss.zValue()  # the current run stays on top
    assert list(overlay_loss.getData()[0]) == first.loss_x

    tab.charts.resize(800, 500)
    for suffix in ("png", "svg", "csv"):
        panel.export_charts_to(str(tmp_path / f"charts.{suffix}"))
        assert (tmp_path / f"charts.{suffix}").stat().st_size > 300
    header = next(csv.reader(io.StringIO((tmp_path / "charts.csv").read_text())))
    assert header[0] == "lr 0.1: epoch (report)" and header[5] == "lr 0.05: epoch (report)"
    assert (tmp_path / "charts.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "charts.svg").read_bytes()[:500]

    with qtbot.waitSignal(tab.save_finished, timeout=10_000):
        tab.save_model_to(str(tmp_path / "second.pt"))
    assert load_record(second.json_path).checkpoint == str(tmp_path / "second.pt")

    next_session = RunsPanel(LiveCharts(), tab.config, panel.folder)  # the app opened again
    qtbot.addWidget(next_session)
    qtbot.waitUntil(lambda: next_session.table.rowCount() == 2, timeout=5_000)
    assert [r.name for r in next_session.records] == [first.name, second.name]


def test_rename_load_into_the_form_and_delete(qtbot, window, mnist, monkeypatch):
    tab, panel = window.training, window.training.runs
    run_once(qtbot, tab, lr=0.05, batch_size=100)
    run_once(qtbot, tab, lr=0.1, batch_size=256)
    first = panel.records[0]
    panel.table.item(row_of(panel, first.id), 0).setText("slow and small")  # what typing a new name does
    qtbot.waitUntil(lambda: load_record(first.json_path).name == "slow and small", timeout=5_000)

    panel.table.selectRow(row_of(panel, first.id))
    click(qtbot, panel.load_button)
    assert (tab.lr.value(), tab.batch_size.value()) == (0.05, 100)
    assert "cannot show" not in panel.message.text()

    monkeypatch.setattr(panel, "confirm_delete", lambda record: True)
    panel.table.selectRow(row_of(panel, first.id))
    click(qtbot, panel.delete_button)
    assert [r.id for r in panel.records] == [panel.records[0].id] and panel.table.rowCount() == 1
    assert not first.json_path.exists() and not first.csv_path.exists()

    from_cli = RunRecorder(TrainConfig(lr=0.3, train_limit=3000, augment=True), panel.folder)  # `digitpad train`
    panel.run_ended(from_cli)
    panel.table.selectRow(row_of(panel, from_cli.record.id))
    click(qtbot, panel.load_button)
    assert tab.lr.value() == 0.3 and "cannot show augment on · images 3000" in panel.message.text()


def test_a_sweep_of_three_values_gives_three_records_each_overlaid(qtbot, window, mnist):
    tab, panel = window.training, window.training.runs
    setup_run(tab, epochs=1)
    panel.sweep_key.setCurrentIndex(panel.sweep_key.findData("lr"))
    panel.sweep_values.setText("0.02, 0.1 0.5")
    click(qtbot, panel.sweep_button)
    assert tab.is_running() and not panel.sweep_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.records) == 3 and not tab.is_running(), timeout=120_000)
    assert [r.config["lr"] for r in panel.records] == [0.02, 0.1, 0.5]
    assert [r.name for r in panel.records] == ["sweep lr 0.02", "sweep lr 0.1", "sweep lr 0.5"]
    assert [r.status for r in panel.records] == ["finished"] * 3 and "Sweep done" in panel.message.text()
    assert [c.label for c in tab.charts.overlays] == ["lr 0.02", "lr 0.1"]
    assert "lr 0.5 (this run)" in legend_texts(tab.charts.loss_plot)
    assert tab.lr.value() == 0.5  # the form shows the run on the live curves


def test_stopping_a_sweep_records_the_run_as_stopped_and_ends_the_sweep(qtbot, window, mnist):
    tab, panel = window.training, window.training.runs
    setup_run(tab, model="cnn", epochs=3, subset="all", test_limit=None)
    panel.sweep_key.setCurrentIndex(panel.sweep_key.findData("batch_size"))
    panel.sweep_values.setText("64, 128")
    click(qtbot, panel.sweep_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=30_000)
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: not tab.is_running() and len(panel.records) == 1, timeout=10_000)
    qtbot.wait(200)  # a next run would start on the next turn of the event loop
    assert not tab.is_running() and len(panel.records) == 1
    assert load_record(panel.records[0].json_path).status == "stopped"
    assert "was stopped" in panel.message.text()


def test_a_bad_sweep_says_why_and_starts_nothing(qtbot, window):
    tab, panel = window.training, window.training.runs
    panel.sweep_key.setCurrentIndex(panel.sweep_key.findData("lr"))
    for text, fragment in [("0.1", "2 to 10 values"), ("0.1, fast", "is not a number"), ("0.1, -1", "positive")]:
        panel.sweep_values.setText(text)
        click(qtbot, panel.sweep_button)
        assert fragment in panel.message.text() and not tab.is_running()


def test_saving_as_onnx_from_the_app(qtbot, window, mnist, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed: pip install 'digitpad[export]'")
    tab = window.training
    run_once(qtbot, tab, lr=0.1)
    with qtbot.waitSignal(tab.save_finished, timeout=60_000):
        tab.save_model_to(str(tmp_path / "model.onnx"))
    assert tab.status.text() == f"Saved {tmp_path / 'model.onnx'}"
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["pixels"]
