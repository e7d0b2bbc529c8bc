"""Run records: what a run leaves on disk, how runs are told apart, and bad files in the runs folder."""

import csv
import io
import json

import pytest

from digitpad.core.runs import (RunRecorder, differing_keys, labels_for, load_record, load_runs, metrics_csv,
                                rename_run)
from digitpad.core.events import Progress, RunControl
from digitpad.core.trainer import TrainConfig, Trainer


def small(**kw) -> TrainConfig:
    base = dict(train_limit=1024, test_limit=300, epochs=2, device="cpu", reports_per_epoch=1000)
    return TrainConfig.for_model("softmax", **{**base, **kw})


def record_run(cfg, folder, control=None):
    recorder = RunRecorder(cfg, folder)
    for _ in recorder.track(Trainer(cfg, control).run()):
        pass
    return recorder.record


def test_a_finished_run_is_recorded_with_its_curves_and_csv(tmp_path, mnist):
    record = record_run(small(lr=0.05, batch_size=128), tmp_path)
    saved = load_record(tmp_path / f"{record.id}.json")
    assert saved.status == "finished" and saved.device.startswith("cpu") and saved.parameters == 7850
    assert saved.config["lr"] == 0.05 and saved.config["batch_size"] == 128 and "data_dir" not in saved.config
    assert len(saved.loss_x) == 16 and saved.loss_x[-1] == pytest.approx(2.0)
    assert [e["epoch"] for e in saved.epochs] == [1, 2]
    assert saved.final_accuracy == saved.epochs[-1]["test_accuracy"] > 0.5 and saved.duration_s > 0
    rows = list(csv.reader(io.StringIO((tmp_path / f"{record.id}.csv").read_text())))
    assert len(rows) == 1 + 16 and rows[0][1].endswith("train loss") and rows[2][3] and not rows[3][3]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_a_stopped_run_is_recorded_as_stopped(tmp_path, mnist):
    control = RunControl()
    cfg = small(batch_size=32, epochs=3)
    recorder = RunRecorder(cfg, tmp_path)
    for ev in recorder.track(Trainer(cfg, control).run()):
        if isinstance(ev, Progress) and ev.batch == 3:
            control.stop()
    saved = load_record(recorder.record.json_path)
    assert saved.status == "stopped" and saved.epochs == [] and 0 < saved.epochs_done < 1


def test_a_consumer_giving_up_and_a_failing_run_are_recorded_as_such(tmp_path, mnist):
    cfg = small(batch_size=32)
    recorder = RunRecorder(cfg, tmp_path)
    events = recorder.track(Trainer(cfg).run())
    next(e for e in events if isinstance(e, Progress))
    events.close()  # what Ctrl+C in `digitpad train` does
    assert load_record(recorder.record.json_path).status == "stopped"
    failed = record_run(TrainConfig.for_model("mlp", lr=1000.0, optimizer="sgd", train_limit=2000, test_limit=100,
                                              device="cpu"), tmp_path)
    saved = load_record(failed.json_path)
    assert saved.status == "failed" and "diverged" in saved.message


def test_a_full_disk_costs_the_record_not_the_run(tmp_path, mnist):
    blocked = tmp_path / "runs"
    blocked.write_text("a file where the folder should be")
    recorder = RunRecorder(small(epochs=1), blocked)
    assert list(recorder.track(Trainer(small(epochs=1)).run()))[-1].model is not None
    assert "could not be recorded" in recorder.write_error


def test_legends_name_what_differs():
    a, b = TrainConfig(lr=0.01).__dict__, TrainConfig(lr=0.1).__dict__
    assert differing_keys([a, b]) == ["lr"]
    assert labels_for([a, b], ["one", "two"]) == ["lr 0.01", "lr 0.1"]
    c = TrainConfig(lr=0.1, batch_size=64, device="cuda").__dict__
    assert labels_for([a, c], ["x", "y"]) == ["batch 256 · lr 0.01", "batch 64 · lr 0.1"]
    assert labels_for([a, dict(a)], ["first", "again"]) == ["first", "again"]  # nothing differs: the names
    assert labels_for([a, a, b], ["p", "q", "r"]) == ["lr 0.01 (p)", "lr 0.01 (q)", "lr 0.1"]


def test_bad_files_in_the_runs_folder_are_skipped_with_a_message(tmp_path, mnist):
    good = record_run(small(epochs=1), tmp_path)
    (tmp_path / "broken.json").write_text('{"format": "digitpad-run", "id": ')
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    (tmp_path / "odd.json").write_text(json.dumps({"format": "digitpad-run", "id": "x", "name": "x", "config": {},
                                                   "status": "exploded"}))
    records, errors = load_runs([tmp_path, tmp_path / "missing"])
    assert [r.id for r in records] == [good.id]
    assert len(errors) == 4 and any("broken.json" in e for e in errors) and any("missing" in e for e in errors)
    rename_run(records[0], "  baseline ")
    assert load_record(good.json_path).name == "baseline"
    with pytest.raises(ValueError):
        rename_run(records[0], "   ")


def test_metrics_csv_has_one_column_set_per_run(tmp_path, mnist):
    first, second = record_run(small(epochs=1), tmp_path), record_run(small(epochs=2, lr=0.2), tmp_path)
    text = metrics_csv([first.curves("lr 0.1"), second.curves("lr 0.2")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "lr 0.1: epoch (report)" and rows[0][5] == "lr 0.2: epoch (report)" and len(rows[0]) == 10
    assert len(rows) == 1 + len(second.loss_x) and rows[-1][0] == "" and float(rows[-1][5]) == pytest.approx(2.0)
