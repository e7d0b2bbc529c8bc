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
import math
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Sequence

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.files import file_problem, read_regular, reason
from digitpad.core.paths import user_data_dir
from digitpad.core.settings import SETTING
from digitpad.core.events import EpochEnd, Event, Failed, Finished, Progress, Started
from digitpad.core.trainer import TrainConfig

FORMAT = "digitpad-run"
FORMAT_VERSION = 1
STATUSES = ("running", "finished", "stopped", "failed")
# 10,000 epochs of a few dozen loss reports each is ~10 MB of JSON: a larger file is not a run record.
MAX_RECORD_BYTES = 64 * 2**20
MAX_NAME, MAX_MESSAGE = 200, 10_000  # what a record's name and failure message may hold (written and read)

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


# --- checking a record as it is read ----------------------------------------------------------

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def safe_id(run_id: object) -> str:
    """A run id usable as a file stem in the runs folder: no separators, no "..", no hidden name."""
    if not isinstance(run_id, str) or not SAFE_ID.fullmatch(run_id) or ".." in run_id:
        raise ValueError(f"{run_id!r:.60} is not a run id (letters, digits, '.', '_' and '-' only)")
    return run_id


def _text(max_len: int, optional: bool = False) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            raise ValueError(f"expected a text of at most {max_len} characters, got {value!r:.60}")
        return value
    return check


def _number(low: float = -math.inf, high: float = math.inf, finite: bool = True, integer: bool = False,
            optional: bool = False) -> Callable[[object], float | None]:
    def check(value: object) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise ValueError(f"expected a number, got {value!r:.60}")
        if math.isnan(value) and not finite:
            return value
        if (finite and not math.isfinite(value)) or not low <= value <= high:
            raise ValueError(f"expected a number in [{low:g}, {high:g}], got {value!r:.60}")
        return value
    return check


def _numbers(item: Callable[[object], object]) -> Callable[[object], list]:
    def check(value: object) -> list:
        if not isinstance(value, list):
            raise ValueError(f"expected a list of numbers, got {type(value).__name__}")
        return [item(v) for v in value]
    return check


def _config(value: object) -> dict:
    """The run's setup: a mapping whose training settings are each one the settings table accepts."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"config must be a mapping of setting names to values, got {value!r:.60}")
    for key, setting in SETTING.items():
        if key in value:
            setting.check(value[key])
    return value


def _status(value: object) -> str:
    if value not in STATUSES:
        raise ValueError(f"status {value!r:.40} is not one of {', '.join(STATUSES)}")
    return value


_accuracy = _number(0.0, 1.0)
EPOCH_FIELDS: dict[str, Callable[[object], object]] = {
    "epoch": _number(0, SETTING["epochs"].bounds.high), "train_loss": _number(finite=False),
    "train_accuracy": _accuracy, "test_accuracy": _accuracy, "seconds": _number(0),
}


def _checked(entry: dict, checks: dict[str, Callable[[object], object]], what: str, required: bool) -> dict:
    """The entries of `entry` that `checks` knows, each checked; ValueError naming the field that fails."""
    out = {}
    for key, check in checks.items():
        if key not in entry:
            if required:
                raise ValueError(f"{what} has no {key}")
            continue
        try:
            out[key] = check(entry[key])
        except ValueError as exc:
            raise ValueError(f"{what}'s {key}: {exc}") from None
    return out


def _epochs(value: object) -> list[dict]:
    """Each epoch's numbers, all present and in range: a chart or a table never meets a null or a text."""
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ValueError(f"expected a list of mappings, got {value!r:.60}")
    return [{**entry, **_checked(entry, EPOCH_FIELDS, "an epoch", required=True)} for entry in value]


# How each stored field is checked (losses may be NaN or infinite: a diverged run's last points are).
RECORD_FIELDS: dict[str, Callable[[object], object]] = {
    "name": _text(MAX_NAME), "config": _config, "status": _status, "started": _text(40),
    "duration_s": _number(0), "device": _text(300, optional=True), "data_source": _text(5000, optional=True),
    "parameters": _number(0, integer=True, optional=True), "loss_x": _numbers(_number(0)),
    "loss_y": _numbers(_number(finite=False)), "epochs": _epochs, "final_accuracy": _number(0, 1, optional=True),
    "epochs_done": _number(0), "checkpoint": _text(5000, optional=True), "message": _text(MAX_MESSAGE, optional=True),
}


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
        return Path(self.folder) / f"{safe_id(self.id)}.json"

    @property
    def csv_path(self) -> Path:
        return Path(self.folder) / f"{safe_id(self.id)}.csv"

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("folder", "deleted")}
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, data: object, path: Path) -> "RunRecord":
        """A record from a file's JSON, every field checked once, here: whatever reads a record later (the
        Runs list, its sort, the charts, "Load into form", `compare`) can trust it. Its id is the file's
        own name, never the file's content, so no path is ever built from what a file says."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RunFileError(f"{path}: not a DigitPad run record (no '{FORMAT}' header)")
        missing = [k for k in ("name", "config") if k not in data]
        if missing:
            raise RunFileError(f"{path}: run record is incomplete (no {', '.join(missing)})")
        try:
            checked = _checked(data, RECORD_FIELDS, "the record", required=False)
        except ValueError as exc:
            raise RunFileError(f"{path}: run record is inconsistent ({exc})") from None
        record = cls(id=path.stem, **checked, folder=path.parent)
        if len(record.loss_x) != len(record.loss_y):
            raise RunFileError(f"{path}: run record is inconsistent (loss_x and loss_y differ in length)")
        return record

    def train_config(self) -> TrainConfig:
        """The run's setup as a TrainConfig, to run it again; keys this version does not know are left out.
        ValueError when a value is not one the form takes (the record was checked on load; this again)."""
        known = {f.name for f in fields(TrainConfig)}
        cfg = TrainConfig(**{k: v for k, v in self.config.items() if k in known})
        cfg.validate()
        return cfg

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
        data = json.loads(read_regular(path, MAX_RECORD_BYTES, "a run record").decode("utf-8"))
    except OSError as exc:  # a FIFO, a device, a folder named *.json, a file beyond any run's size
        raise RunFileError(f"{path}: not a readable run record ({file_problem(exc)})") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise RunFileError(f"{path}: not a readable run record ({reason(exc)})") from None
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
    if len(name) > MAX_NAME:
        raise ValueError(f"a run's name is at most {MAX_NAME} characters")
    record.name = name
    save_record(record)


def delete_run(record: RunRecord) -> None:
    with _WRITE_LOCK:
        for path in (record.json_path, record.csv_path):
            path.unlink(missing_ok=True)
        record.deleted = True


def note_checkpoint(record: RunRecord, path: str | os.PathLike) -> str | None:
    """The run's model was saved: keep where, so the record leads back to the weights. The model is safe
    whatever happens here: a record that cannot be written (a full disk, a read-only or missing runs
    folder) is a warning, returned, never an exception after the work is done."""
    record.checkpoint = str(Path(path).resolve())
    try:
        save_record(record)
    except OSError as exc:
        return f"the model is saved, but the run's record in {record.folder} could not note it: {exc.strerror or exc}"
    return None


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
    """A sortable, readable file stem that no other run has: 20261130-142501-mnist-cnn.

    The name is claimed by creating its JSON file exclusively (O_EXCL), so eight `digitpad train`s started
    in the same second each get their own record instead of overwriting one another's. Where the folder
    cannot be written the first free name is returned unclaimed (the recorder then reports the failure).
    """
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{config.dataset}-{config.model}"
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    for n in range(1, 10_000):
        candidate = stem if n == 1 else f"{stem}-{n}"
        try:
            os.close(os.open(folder / f"{candidate}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            return candidate
        except FileExistsError:
            continue
        except OSError:
            if not (folder / f"{candidate}.json").exists():
                return candidate
    return f"{stem}-{os.getpid()}-{time.monotonic_ns()}"


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
        self.record.status, self.record.message = status, message and message[:MAX_MESSAGE]
        self._save()

    def _save(self, with_csv: bool = True) -> None:
        self.record.duration_s = round(time.perf_counter() - self._start, 3)
        self._last_save = time.perf_counter()
        try:
            save_record(self.record, with_csv)
        except OSError as exc:
            self.write_error = f"the run could not be recorded in {self.record.folder}: {exc}"
