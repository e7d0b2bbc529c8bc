"""Run records: every training run kept as a small JSON (+ CSV) file, so runs can be compared later.

A `RunRecorder` sits between the Trainer and whoever iterates it (the CLI's loop, the app's worker
thread) and writes the record as the events pass: at the start, at each epoch end, every few
seconds of loss points, and at the end — so even a crashed process leaves its curves so far. Every
write is atomic. The same records feed the app's Runs list, its overlays, and `digitpad compare`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Iterator, Sequence

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.paths import user_data_dir
from digitpad.core.settings import SETTING
from digitpad.core.events import EpochEnd, Event, Failed, Finished, Progress, Started
from digitpad.core.trainer import TrainConfig

FORMAT = "digitpad-run"
FORMAT_VERSION = 1
STATUSES = ("running", "finished", "stopped", "failed")

# Config keys that never tell runs apart for a reader: where files came from, how often to report.
NOT_HYPERPARAMETERS = ("data_dir", "idx_dir", "reports_per_epoch", "report_interval_s", "device",
                      "test_limit")  # report_interval_s: records written before reports_per_epoch
# How a hyperparameter is named in a legend: "lr 0.1", "batch 64".


# Record files are written from the training thread, from background saves and renames, and deleted
# from the GUI: one lock keeps each write whole and stops a late write from bringing a deleted run back.
_WRITE_LOCK = threading.Lock()


class RunFileError(ValueError):
    """A file in the runs folder is not a readable run record; the message names it."""


def default_runs_dir() -> Path:
    return user_data_dir() / "runs"


@dataclass(frozen=True)
class RunCurves:
    """What a chart draws for one run: loss per report, accuracies per epoch, under a legend label."""

    label: str
    loss_x: list[float]
    loss_y: list[float]
    epoch_x: list[float]
    train_accuracy: list[float]
    test_accuracy: list[float]


@dataclass
class RunRecord:
    """One run, as stored: its setup, where it ran, its curves and how it ended."""

    id: str
    name: str
    config: dict
    status: str = "running"
    started: str = ""
    duration_s: float = 0.0
    device: str | None = None
    data_source: str | None = None
    parameters: int | None = None
    loss_x: list[float] = field(default_factory=list)  # epochs done (fractional) at each report
    loss_y: list[float] = field(default_factory=list)  # mean training loss since the previous report
    epochs: list[dict] = field(default_factory=list)  # epoch, train_loss, train_accuracy, test_accuracy, seconds
    final_accuracy: float | None = None
    epochs_done: float = 0.0
    checkpoint: str | None = None
    message: str | None = None  # why a run failed
    folder: Path | None = field(default=None, compare=False)  # where it is kept; not part of the file
    deleted: bool = field(default=False, compare=False)  # once deleted, never written again

    @property
    def json_path(self) -> Path:
        return Path(self.folder) / f"{self.id}.json"

    @property
    def csv_path(self) -> Path:
        return Path(self.folder) / f"{self.id}.csv"

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("folder", "deleted")}
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, data: object, path: Path) -> "RunRecord":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RunFileError(f"{path}: not a DigitPad run record (no '{FORMAT}' header)")
        known = {f.name for f in fields(cls)} - {"folder", "deleted"}
        try:
            record = cls(**{k: v for k, v in data.items() if k in known}, folder=path.parent)
        except TypeError as exc:
            raise RunFileError(f"{path}: run record is incomplete ({exc})") from exc
        if (not isinstance(record.config, dict) or record.status not in STATUSES
                or len(record.loss_x) != len(record.loss_y) or not all(isinstance(e, dict) for e in record.epochs)):
            raise RunFileError(f"{path}: run record is inconsistent (config, status or curves)")
        return record

    def train_config(self) -> TrainConfig:
        """The run's setup as a TrainConfig, to run it again; keys this version does not know are left out."""
        known = {f.name for f in fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in self.config.items() if k in known})

    def curves(self, label: str | None = None) -> RunCurves:
        return RunCurves(label or self.name, list(self.loss_x), list(self.loss_y),
                         [float(e["epoch"]) for e in self.epochs], [e["train_accuracy"] for e in self.epochs],
                         [e["test_accuracy"] for e in self.epochs])


# --- reading, renaming, deleting ---------------------------------------------------------------

def save_record(record: RunRecord, with_csv: bool = True) -> None:
    """Write the JSON and the CSV of a run, each atomically (a crash mid-write keeps the previous one)."""
    data = json.dumps(record.to_json()).encode("utf-8")  # with indent: 10× slower
    table = metrics_csv([record.curves()]).encode("utf-8") if with_csv else None
    with _WRITE_LOCK:
        if record.deleted:
            return
        atomic_write_bytes(record.json_path, data)
        if table is not None:
            atomic_write_bytes(record.csv_path, table)


def load_record(path: str | os.PathLike) -> RunRecord:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFileError(f"{path}: not a readable run record ({exc})") from exc
    return RunRecord.from_json(data, path)


def load_runs(paths: Sequence[str | os.PathLike]) -> tuple[list[RunRecord], list[str]]:
    """Records from files and folders (each folder's *.json), oldest first; a bad file is a message, not a failure."""
    records, errors = [], []
    for given in map(Path, paths):
        if given.is_dir():
            files = sorted(given.glob("*.json"))
        elif given.is_file():
            files = [given]
        else:
            errors.append(f"{given}: no such file or folder")
            continue
        for path in files:
            try:
                records.append(load_record(path))
            except RunFileError as exc:
                errors.append(str(exc))
    return sorted(records, key=lambda r: (r.started, r.id)), errors


def rename_run(record: RunRecord, name: str) -> None:
    name = name.strip()
    if not name:
        raise ValueError("a run needs a name")
    record.name = name
    save_record(record)


def delete_run(record: RunRecord) -> None:
    with _WRITE_LOCK:
        for path in (record.json_path, record.csv_path):
            path.unlink(missing_ok=True)
        record.deleted = True


def note_checkpoint(record: RunRecord, path: str | os.PathLike) -> None:
    """The run's model was saved: keep where, so the record leads back to the weights."""
    record.checkpoint = str(Path(path).resolve())
    save_record(record)


# --- telling runs apart ------------------------------------------------------------------------

def differing_keys(configs: Sequence[dict]) -> list[str]:
    """The hyperparameters whose values are not the same in all these configs, in the config's order."""
    keys = [k for c in configs for k in c if k not in NOT_HYPERPARAMETERS]
    ordered = list(dict.fromkeys(keys))
    return [k for k in ordered if len({json.dumps(setting(c, k)) for c in configs}) > 1]


def setting(config: dict, key: str) -> object:
    """A recorded run's setting, or its default when the record is older than the setting."""
    return config.get(key, SETTING[key].default if key in SETTING else None)


WHAT = ("dataset", "model")  # what a run trains; the rest are how


def telling_keys(configs: Sequence[dict]) -> list[list[str]]:
    """For each config, the settings that tell it apart from the others, as a reader compares runs: the data set
    and the model where those differ at all, then the hyperparameters that differ among the runs of the same data
    set and model. Models have their own course defaults (the CNN's Adam, the MLP's momentum): listing those
    against another model's runs says nothing, and 18 runs of three models would each list every setting."""
    top = [k for k in differing_keys(configs) if k in WHAT]
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(json.dumps([config.get(k) for k in WHAT]), []).append(i)
    keys: dict[int, list[str]] = {}
    for members in groups.values():
        within = [k for k in differing_keys([configs[i] for i in members]) if k not in WHAT]
        keys.update({i: top + within for i in members})
    return [keys[i] for i in range(len(configs))]


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "all"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def legend_name(key: str) -> str:
    """A setting's short name in a legend ("batch" for batch_size); a recorded key no setting has, as it is."""
    return SETTING[key].legend_name if key in SETTING else key


def describe(config: dict, keys: Sequence[str]) -> str:
    """"cnn · lr 0.1 · batch 64": the named settings of one run (the data set and model by their value alone)."""
    return " · ".join(format_value(setting(config, k)) if k in WHAT else f"{legend_name(k)} {format_value(setting(config, k))}"
                      for k in keys)


def labels_for(configs: Sequence[dict], names: Sequence[str]) -> list[str]:
    """Legend labels naming what tells each run apart (`telling_keys`: "lr 0.01", "cnn · lr 0.1"); the run's name
    where nothing does."""
    labels = [describe(c, keys) if keys else n for c, keys, n in zip(configs, telling_keys(configs), names)]
    repeated = {label for label in labels if labels.count(label) > 1}
    return [f"{label} ({n})" if label in repeated else label for label, n in zip(labels, names)]


def metrics_csv(curves: Sequence[RunCurves]) -> str:
    """The curves as CSV: one column set per run, one row per loss report (and per epoch, from the top)."""
    header = [f"{c.label}: {col}" for c in curves
              for col in ("epoch (report)", "train loss", "epoch", "train accuracy", "test accuracy")]
    columns = [col for c in curves
               for col in (c.loss_x, c.loss_y, c.epoch_x, c.train_accuracy, c.test_accuracy)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i in range(max((len(col) for col in columns), default=0)):
        writer.writerow([f"{col[i]:.6g}" if i < len(col) else "" for col in columns])
    return out.getvalue()


# --- recording a run as it happens -------------------------------------------------------------

def new_run_id(folder: Path, config: TrainConfig) -> str:
    """A sortable, readable file stem that is not taken yet: 20261130-142501-mnist-cnn."""
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{config.dataset}-{config.model}"
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)
    candidate, n = stem, 1
    while (folder / f"{candidate}.json").exists():
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


class RunRecorder:
    """Wraps the Trainer's event stream: `for ev in recorder.track(trainer.run())` records as it goes.

    The record is written at the start, at each epoch end, every `flush_interval_s` of loss
    reports (the JSON only: the CSV is derived, and each write holds the GIL ~5-20 ms), and at the end: finished, stopped (Stop, Ctrl+C, closing the window, or the consumer
    giving up on the generator) or failed (a Failed event or an exception, with its message).
    """

    def __init__(self, config: TrainConfig, folder: str | os.PathLike | None = None, name: str | None = None,
                 flush_interval_s: float = 10.0) -> None:
        folder = Path(folder) if folder is not None else default_runs_dir()
        saved = {k: v for k, v in asdict(config).items() if k not in ("data_dir", "idx_dir")}
        run_id = new_run_id(folder, config)
        self.record = RunRecord(id=run_id, name=name or f"{config.model} {datetime.now():%m-%d %H:%M:%S}",
                                config=saved, started=datetime.now().isoformat(timespec="seconds"), folder=folder)
        self.flush_interval_s = flush_interval_s
        self.write_error: str | None = None  # a full or read-only disk costs the record, never the run
        self._start = time.perf_counter()
        self._last_save = 0.0
        self._save()

    def track(self, events: Iterator[Event]) -> Iterator[Event]:
        try:
            for event in events:
                self.observe(event)
                yield event
        except (GeneratorExit, KeyboardInterrupt):
            self._end("stopped")
            raise
        except BaseException as exc:
            self._end("failed", f"{type(exc).__name__}: {exc}")
            raise
        if self.record.status == "running":  # the trainer returned early: stopped while loading data
            self._end("stopped")

    def observe(self, event: Event) -> None:
        r = self.record
        if isinstance(event, Started):
            r.device, r.data_source, r.parameters = event.device, event.dataset_source, event.parameters
            self._save()
        elif isinstance(event, Progress):
            r.loss_x.append(round(event.fraction, 6))
            r.loss_y.append(event.loss)
            r.epochs_done = event.fraction
            if time.perf_counter() - self._last_save >= self.flush_interval_s:
                self._save(with_csv=False)
        elif isinstance(event, EpochEnd):
            r.epochs.append(dict(epoch=event.epoch, train_loss=event.train_loss, train_accuracy=event.train_accuracy,
                                 test_accuracy=event.test_accuracy, seconds=round(event.seconds, 3)))
            r.final_accuracy, r.epochs_done = event.test_accuracy, float(event.epoch)
            self._save()
        elif isinstance(event, Finished):
            r.final_accuracy, r.epochs_done = event.model.meta.test_accuracy, float(event.epochs_done)
            self._end("stopped" if event.stopped else "finished")
        elif isinstance(event, Failed):
            self._end("failed", event.message)

    def _end(self, status: str, message: str | None = None) -> None:
        if self.record.status != "running":
            return
        self.record.status, self.record.message = status, message
        self._save()

    def _save(self, with_csv: bool = True) -> None:
        self.record.duration_s = round(time.perf_counter() - self._start, 3)
        self._last_save = time.perf_counter()
        try:
            save_record(self.record, with_csv)
        except OSError as exc:
            self.write_error = f"the run could not be recorded in {self.record.folder}: {exc}"
