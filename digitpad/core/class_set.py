"""The class's own digits, pooled from many machines by files: no server, no network.

Each student exports their My digits set as one `.zip` (a manifest — writer name or pseudonym, date, app
version — and the samples in the personal set's `<digit>/<name>.json` layout). The teacher imports a
folder of exports into a *class set*: one sub-folder per writer, each itself a personal-set folder, with
a `.writer.json` saying whose it is. Every export is distrusted: a zip bomb, a path that climbs out of
the folder (`../`, absolute, a symbolic link), a manifest with wrong types or a huge name, a sample that
is not a digit drawing — each is named, the export or sample refused, the good ones kept. Duplicate
samples are skipped; two different people with the same name stay two writers.

The class report evaluates a model on the class set exactly as `digitpad eval` evaluates a test set
(`evaluation.predict_all` + `build_report` on the same uint8 28×28 fields), per writer and per digit.
Leave-one-writer-out fine-tunes (with `finetune.Finetuner`) on everyone but one writer and tests on that
writer: how well the model reads a hand it has never seen. Both long jobs are generators of events.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from digitpad import __version__
from digitpad.core.atomic import atomic_write_bytes, atomic_writer, check_writable
from digitpad.core.checkpoints import TrainedModel
from digitpad.core.evaluation import EvalReport, build_report, predict_all
from digitpad.core.events import Failed, FailureKind, Finished, Progress, RunControl
from digitpad.core.exercises import parse_json, read_limited
from digitpad.core.files import read_regular
from digitpad.core.inference import ImageError
from digitpad.core.personal_set import (DIGITS, IMAGE_SUFFIXES, PersonalSet, PersonalSetError, Sample,
                                        load_personal_set, read_sample)
from digitpad.core.strokes import MAX_STROKE_FILE_BYTES

EXPORT_FORMAT = "digitpad-class-export"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"
WRITER_FILE = ".writer.json"  # in each writer's folder of a class set (hidden: the personal-set reader skips it)
WRITER_ID_FILE = ".digitpad-writer-id"  # in a student's My digits folder: the same person on the next export
MAX_EXPORT_BYTES = 64 * 2**20  # a student's export of a few hundred drawings is about 1 MB
MAX_ENTRIES = 5000
MAX_SAMPLE_BYTES = MAX_STROKE_FILE_BYTES
MAX_UNPACKED_BYTES = 128 * 2**20  # all entries together, as the zip declares them
MAX_RATIO = 200  # a drawing's JSON packs ~5×; far more than this is a bomb
MAX_MANIFEST_BYTES = 64 * 1024
MAX_WRITER_CHARS = 64


class ClassSetError(ValueError):
    """The class set or a request on it cannot be used (no such writer, no samples, not writable)."""


class ExportError(ValueError):
    """An export refused as a whole; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- the manifest and writer names ------------------------------------------------------------

@dataclass(frozen=True)
class Manifest:
    writer: str
    date: str
    app_version: str
    samples: int
    writer_id: str | None = None

    def to_json(self) -> dict:
        data = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "writer": self.writer, "date": self.date,
                "app_version": self.app_version, "samples": self.samples}
        return data | ({"writer_id": self.writer_id} if self.writer_id else {})


def check_writer_name(name: Any) -> str:
    """A name or pseudonym: 1–64 printable characters (spaces trimmed); ValueError says what is wrong."""
    if not isinstance(name, str):
        raise ValueError(f"the writer must be a name or pseudonym (a text), got {type(name).__name__}")
    name = name.strip()
    if not name or len(name) > MAX_WRITER_CHARS:
        raise ValueError(f"the writer's name must have 1 to {MAX_WRITER_CHARS} characters, got {len(name):,}")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError("the writer's name has a control character in it")
    return name


def check_manifest(raw: Any) -> Manifest:
    """The manifest's fields, each checked; ExportError lists every problem. Keys a newer minor version
    may add are ignored; a newer format version is refused with "update DigitPad"."""
    if not isinstance(raw, dict):
        raise ExportError([f"{MANIFEST}: not a JSON object"])
    if raw.get("format") != EXPORT_FORMAT:
        raise ExportError([f"{MANIFEST}: not a DigitPad class export (format {raw.get('format')!r:.40})"])
    version = raw.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExportError([f"{MANIFEST}: format_version must be a whole number from 1, got {version!r:.40}"])
    if version > EXPORT_VERSION:
        raise ExportError([f"{MANIFEST}: made by a newer DigitPad (format version {version}, this one reads up to "
                           f"{EXPORT_VERSION}): update DigitPad to import it"])
    problems = []
    try:
        writer = check_writer_name(raw.get("writer"))
    except ValueError as exc:
        problems.append(f"{MANIFEST}: {exc}")
        writer = ""
    texts = {}
    for key, limit in (("date", 40), ("app_version", 40)):
        value = raw.get(key)
        if not isinstance(value, str) or not value or len(value) > limit:
            problems.append(f"{MANIFEST}: {key} must be a text of 1 to {limit} characters, got "
                            f"{type(value).__name__ if not isinstance(value, str) else f'{len(value):,} characters'}")
        texts[key] = value
    samples = raw.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= MAX_ENTRIES:
        problems.append(f"{MANIFEST}: samples must be a whole number from 0 to {MAX_ENTRIES}, got {samples!r:.40}")
    writer_id = raw.get("writer_id")
    if writer_id is not None and not (isinstance(writer_id, str) and re.fullmatch(r"[0-9a-f-]{8,64}", writer_id)):
        problems.append(f"{MANIFEST}: writer_id must be a short hexadecimal id, got {writer_id!r:.40}")
    if problems:
        raise ExportError(problems)
    return Manifest(writer, texts["date"], texts["app_version"], samples, writer_id)


def folder_name(writer: str) -> str:
    """A writer's folder: their name with anything a file system may refuse replaced (never `..` or hidden)."""
    name = re.sub(r"[^\w .-]", "_", writer).strip(" .")
    return name[:MAX_WRITER_CHARS] or "writer"


# --- export -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportSummary:
    path: Path
    writer: str
    samples: int
    skipped: list[str]  # files of the personal set that were not exported, and why

    def as_json(self) -> dict:
        return {"file": str(self.path), "writer": self.writer, "samples": self.samples, "skipped": self.skipped}


def writer_id(folder: Path) -> str | None:
    """This personal set's id, made on its first export: the next export from it is the same writer.
    None when the folder cannot keep it (read-only): the class set then tells writers apart by samples."""
    path = folder / WRITER_ID_FILE
    try:
        text = read_regular(path, 64, "a writer id").decode("ascii").strip()  # a FIFO there must not block
        if re.fullmatch(r"[0-9a-f]{32}", text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    new = uuid.uuid4().hex
    try:
        atomic_write_bytes(path, new.encode("ascii"))
    except OSError:
        return None
    return new


def export_personal_set(folder: str | os.PathLike, writer: str, out: str | os.PathLike) -> ExportSummary:
    """Write the personal set as one `.zip` for the class (atomic: a failed export leaves no half file).

    Raises ValueError (a bad name), PersonalSetError (nothing to export) or OSError (cannot write `out`)."""
    folder, out = Path(folder), Path(out)
    writer = check_writer_name(writer)
    personal = load_personal_set(folder)
    if not personal.samples:
        raise PersonalSetError(f"{folder}: no samples to export (keep drawings with a digit key on the Canvas)")
    check_writable(out)
    manifest = Manifest(writer, datetime.now(timezone.utc).isoformat(timespec="seconds"), __version__,
                        len(personal.samples), writer_id(folder))
    with atomic_writer(out) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest.to_json(), indent=1, ensure_ascii=False))
        for sample in personal.samples:
            zf.write(sample.path, f"{sample.label}/{sample.path.name}")
    return ExportSummary(out, writer, len(personal.samples), personal.skipped)


# --- reading an export --------------------------------------------------------------------------

def unsafe_reason(name: str) -> str | None:
    """Why an entry's name must not be unpacked (None: it is safe): it would land outside the folder."""
    if "\\" in name:
        return "a Windows path (backslash)"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a path that climbs out of the folder (..)"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "a control character in the name"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


@dataclass
class OpenedExport:
    zf: zipfile.ZipFile
    manifest: Manifest
    samples: list[tuple[zipfile.ZipInfo, int]]  # each sample's entry and label
    strays: list[str]  # entries outside the <digit>/<name> layout, named in the report


def open_export(path: Path) -> OpenedExport:
    """Open and check an export before anything is unpacked; ExportError names every reason to refuse it."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ExportError([f"cannot read it ({exc.strerror or exc})"]) from None
    if stat.S_ISDIR(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise ExportError(["not a regular file (a folder, FIFO or device)"])
    if st.st_size > MAX_EXPORT_BYTES:
        raise ExportError([f"{st.st_size / 2**20:.0f} MB, too large for an export (at most "
                           f"{MAX_EXPORT_BYTES // 2**20} MB)"])
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ExportError([f"not a zip file, so not a class export ({str(exc)[:100] or type(exc).__name__})"]) from None
    try:
        return _check_entries(zf, infos)
    except ExportError:
        zf.close()
        raise


def _check_entries(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> OpenedExport:
    if len(infos) > MAX_ENTRIES + 1:
        raise ExportError([f"{len(infos):,} entries, more than an export holds ({MAX_ENTRIES:,}): refused"])
    problems = []
    for info in infos:
        reason = unsafe_reason(info.filename)
        if reason:
            problems.append(f"unsafe entry {info.filename[:80]!r}: {reason} — nothing was unpacked")
        elif _is_link(info):
            problems.append(f"unsafe entry {info.filename[:80]!r}: a symbolic link — nothing was unpacked")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        problems.append(f"it would unpack to {unpacked / 2**20:,.0f} MB from {sum(i.compress_size for i in infos) / 2**20:,.1f}"
                        f" MB (a zip bomb?): refused, at most {MAX_UNPACKED_BYTES // 2**20} MB")
    elif any(i.file_size > 2**16 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
        problems.append(f"an entry unpacks to more than {MAX_RATIO}× its packed size (a zip bomb?): refused")
    if problems:
        raise ExportError(problems)
    names = [i.filename for i in infos]
    if MANIFEST not in names:
        raise ExportError([f"no {MANIFEST}: not a DigitPad class export (export it with My digits ▸ Export…)"])
    manifest_info = infos[names.index(MANIFEST)]
    try:
        raw = parse_json(_read_entry(zf, manifest_info, MAX_MANIFEST_BYTES), max_depth=4)
    except ValueError as exc:
        raise ExportError([f"{MANIFEST}: {exc}"]) from None
    manifest = check_manifest(raw)
    samples, strays, seen = [], [], set()
    for info in infos:
        parts = info.filename.split("/")
        if info.filename == MANIFEST or info.is_dir():
            continue
        if info.filename in seen:
            strays.append(f"{info.filename[:80]}: in the zip twice — the second one skipped")
        elif (len(parts) == 2 and parts[0] in DIGITS and not parts[1].startswith(".")
              and Path(parts[1]).suffix.lower() in (".json", *IMAGE_SUFFIXES)):
            samples.append((info, int(parts[0])))
        else:
            strays.append(f"{info.filename[:80]}: not a sample (<digit>/<name>.json or an image) — skipped")
        seen.add(info.filename)
    return OpenedExport(zf, manifest, samples, strays)


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's bytes, never more than `limit` read, and exactly the size its header declares."""
    if info.file_size > limit:
        raise ValueError(f"{info.file_size / 2**20:.1f} MB, too large (at most {limit / 2**20:g} MB)")
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"damaged in the zip ({str(exc)[:100] or type(exc).__name__})") from None
    if len(data) != info.file_size:
        raise ValueError("its size does not match the zip's header (a damaged or tampered file)")
    return data


# --- the class set on disk ------------------------------------------------------------------------

@dataclass
class Writer:
    name: str
    folder: Path
    samples: list[Sample] = field(default_factory=list)
    writer_id: str | None = None
    sources: list[str] = field(default_factory=list)  # the export files it came from


@dataclass
class ClassSet:
    root: Path
    writers: list[Writer] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return sum(len(w.samples) for w in self.writers)

    def writer(self, name: str) -> Writer:
        for w in self.writers:
            if w.name == name:
                return w
        raise ClassSetError(f"no writer {name!r} in {self.root}")

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """uint8 N×28×28 images, int64 labels and each sample's writer (index into `writers`)."""
        samples = [s for w in self.writers for s in w.samples]
        images, labels = PersonalSet(self.root, samples).tensors()
        owners = torch.tensor([k for k, w in enumerate(self.writers) for _ in w.samples], dtype=torch.long)
        return images, labels, owners


def read_writer_file(folder: Path) -> dict:
    """A writer folder's `.writer.json`, or {} when absent or unreadable (the folder's name is used)."""
    try:
        raw = parse_json(read_limited(folder / WRITER_FILE, MAX_MANIFEST_BYTES, "a writer file"), max_depth=3)
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


def load_class_set(root: str | os.PathLike) -> ClassSet:
    """Every writer folder under root: those the import made, and personal-set folders copied in by hand
    (named by their folder). A folder that is not a writer's is listed in `skipped`."""
    root = Path(root)
    if not root.is_dir():
        raise ClassSetError(f"{root}: no such folder (import the class's exports into it first)")
    result = ClassSet(root)
    for folder in sorted(root.iterdir()):
        if folder.name.startswith("."):
            continue
        if folder.is_symlink() or not folder.is_dir():
            result.skipped.append(f"{folder}: not a writer's folder, ignored")
            continue
        meta = read_writer_file(folder)
        try:
            name = check_writer_name(meta.get("writer", folder.name))
        except ValueError:
            name = folder.name
        try:
            personal = load_personal_set(folder)
        except PersonalSetError as exc:
            result.skipped.append(f"{exc} — not a writer's folder, ignored")
            continue
        sources = meta.get("sources") if isinstance(meta.get("sources"), list) else []
        wid = meta.get("writer_id") if isinstance(meta.get("writer_id"), str) else None
        result.writers.append(Writer(name, folder, personal.samples, wid, [str(s) for s in sources]))
        result.skipped += personal.skipped
    return result


def remove_writer(root: str | os.PathLike, name: str) -> Path:
    """Take a writer and all their samples out of the class set (privacy: a student may ask).

    The folder is first renamed to a hidden name, then deleted: a crash midway never leaves half a writer."""
    folder = load_class_set(root).writer(name).folder
    doomed = folder.parent / f".removed-{uuid.uuid4().hex}"
    try:
        os.replace(folder, doomed)
        shutil.rmtree(doomed)
    except OSError as exc:
        raise ClassSetError(f"cannot remove {folder}: {exc.strerror or exc}") from None
    return folder


# --- import ----------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What became of one export file: the JSON line `digitpad class import --json` prints."""

    file: str
    writer: str | None = None  # None: the export was refused as a whole
    imported: int = 0
    skipped: int = 0  # samples already in the class set
    errors: list[str] = field(default_factory=list)  # the export's or a sample's problems
    notes: list[str] = field(default_factory=list)  # what the teacher should know (a renamed writer, …)

    @property
    def accepted(self) -> bool:
        return self.writer is not None

    def as_json(self) -> dict:
        return {"file": self.file, "writer": self.writer, "imported": self.imported, "skipped": self.skipped,
                "errors": self.errors, "notes": self.notes}


@dataclass(frozen=True)
class ExportImported:
    """The event an import yields after each export file."""

    report: ImportReport
    done: int
    total: int


def export_files(inputs: list[str | os.PathLike]) -> tuple[list[Path], list[ImportReport]]:
    """The files to import: each file given, and every (not hidden) file in each folder given; a path that
    does not exist is reported at once."""
    files, missing = [], []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if not p.name.startswith(".") and not p.is_dir())
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            missing.append(ImportReport(str(path), errors=["no such file or folder"]))
    return files, missing


def sample_key(path: Path) -> bytes:
    """A sample's identity: its file's bytes — the same drawing exported again, or copied into someone else's
    export. Not the 28×28 field: preprocessing removes size, place and pen, so two different drawings of one
    shape at nearly one slant can make the very same field (67 of the 2,000 drawings of bench/class_set.py's
    40 scripted writers), and both are real samples."""
    return hashlib.sha1(path.read_bytes()).digest()


class _Index:
    """The class set as the import needs it: writers by name, and every sample's identity → writer."""

    def __init__(self, root: Path) -> None:
        current = load_class_set(root)
        self.root = root
        self.writers = {w.name: w for w in current.writers}
        self.owner = {sample_key(s.path): w.name for w in current.writers for s in w.samples}

    def same_person(self, name: str, manifest: Manifest, keys: set[bytes]) -> bool:
        known = self.writers[name]
        if known.writer_id and manifest.writer_id:
            return known.writer_id == manifest.writer_id
        return any(self.owner.get(k) == name for k in keys)  # no ids: a re-export shares samples

    def writer_for(self, manifest: Manifest, keys: set[bytes], report: ImportReport) -> Writer:
        """The writer this export belongs to: the same person as before, or a new one (renamed "Name (2)"
        when someone else of that name is already in the class)."""
        name, k = manifest.writer, 1
        while name in self.writers and not self.same_person(name, manifest, keys):
            k += 1
            name = f"{manifest.writer[:MAX_WRITER_CHARS - 5]} ({k})"
        if name != manifest.writer:
            report.notes.append(f"another writer named {manifest.writer!r} is already in the class set: this one "
                                f"was imported as {name!r} (if it is the same person, remove one of them)")
        if name not in self.writers:
            claimed = {w.folder for w in self.writers.values()}
            folder, n = self.root / folder_name(name), 1
            while folder.exists() or folder in claimed:
                n += 1
                folder = self.root / f"{folder_name(name)}-{n}"
            self.writers[name] = Writer(name, folder, [], manifest.writer_id)
        return self.writers[name]


def safe_file_name(entry: str) -> str:
    """An entry's file name with only letters, digits, `.`, `-` and `_`: safe on every file system."""
    return re.sub(r"[^\w.-]", "_", Path(entry).name)[-80:]


def _staged_samples(export: OpenedExport, staging: Path, report: ImportReport) -> list[tuple[Path, Sample]]:
    """Unpack each sample into the staging folder and read it as the personal set does; bad ones named."""
    staged = []
    for number, (info, label) in enumerate(export.samples):
        path = staging / str(label) / f"{number:05d}-{safe_file_name(info.filename)}"
        try:
            data = _read_entry(export.zf, info, MAX_SAMPLE_BYTES)
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            staged.append((path, read_sample(path, label)))
        except (ValueError, ImageError, RecursionError) as exc:
            reason = str(exc).replace(str(path), "").lstrip(": ") or type(exc).__name__
            report.errors.append(f"{info.filename[:80]}: not a digit drawing ({reason[:160]}) — skipped")
    return staged


def _import_one(path: Path, index: _Index) -> ImportReport:
    report = ImportReport(str(path))
    try:
        export = open_export(path)
    except ExportError as exc:
        report.errors += exc.problems
        return report
    report.errors += export.strays
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=index.root))
    try:
        with export.zf:
            staged = _staged_samples(export, staging, report)
        keys = {sample_key(p) for p, _ in staged}
        writer = index.writer_for(export.manifest, keys, report)
        report.writer = writer.name
        elsewhere: dict[str, int] = {}
        for staged_path, sample in staged:
            key = sample_key(staged_path)
            if key in index.owner:
                report.skipped += 1
                if index.owner[key] != writer.name:
                    elsewhere[index.owner[key]] = elsewhere.get(index.owner[key], 0) + 1
                continue
            target = _free_name(writer.folder / str(sample.label), staged_path.name.split("-", 1)[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged_path, target)
            writer.samples.append(replace(sample, path=target))
            index.owner[key] = writer.name
            report.imported += 1
        for other, n in elsewhere.items():
            report.notes.append(f"{n} sample(s) are already in the class set under {other!r} — skipped")
        if writer.folder.is_dir():
            _write_writer_file(writer, export.manifest, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _free_name(folder: Path, name: str) -> Path:
    path, stem, suffix, k = folder / name, Path(name).stem, Path(name).suffix, 1
    while path.exists():
        k += 1
        path = folder / f"{stem}-{k}{suffix}"
    return path


def _write_writer_file(writer: Writer, manifest: Manifest, source: Path) -> None:
    if source.name not in writer.sources:
        writer.sources.append(source.name)
    data = {"writer": writer.name, "writer_id": writer.writer_id or manifest.writer_id, "sources": writer.sources,
            "exported": manifest.date, "app_version": manifest.app_version,
            "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write_bytes(writer.folder / WRITER_FILE, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))


def import_exports(inputs: list[str | os.PathLike], class_dir: str | os.PathLike,
                   control: RunControl | None = None) -> Iterator[ExportImported]:
    """Import each export into the class set, yielding one `ExportImported` per file; a bad export never
    stops the others. Raises ClassSetError up front when the class folder cannot be used."""
    class_dir = Path(class_dir)
    control = control or RunControl()
    try:
        class_dir.mkdir(parents=True, exist_ok=True)
        check_writable(class_dir / "probe")
    except OSError as exc:
        raise ClassSetError(f"{class_dir}: cannot import into it ({exc.strerror or exc})") from None
    files, missing = export_files(inputs)
    total = len(files) + len(missing)
    for done, report in enumerate(missing, start=1):
        yield ExportImported(report, done, total)
    index = _Index(class_dir)
    for done, path in enumerate(files, start=len(missing) + 1):
        if control.stopped:
            return
        yield ExportImported(_import_one(path, index), done, total)


# --- the class report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class WriterScore:
    name: str
    samples: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.samples if self.samples else None


@dataclass(frozen=True)
class ClassReport:
    """A model on the class set: overall (the same EvalReport `digitpad eval` makes), per writer, per digit."""

    model: str
    report: EvalReport
    writers: tuple[WriterScore, ...]
    digit_counts: tuple[int, ...]
    mistake_writers: tuple[str, ...]  # the writer of each of report.mistakes

    @property
    def per_digit(self) -> list[float | None]:
        """Accuracy per digit; None for a digit nobody drew."""
        return [acc if n else None for acc, n in zip(self.report.per_class_accuracy, self.digit_counts)]

    def hardest_writers(self, k: int = 5) -> list[WriterScore]:
        scored = [w for w in self.writers if w.samples]
        return sorted(scored, key=lambda w: (w.accuracy, w.name))[:k]

    def hardest_digits(self, k: int = 3) -> list[int]:
        drawn = [d for d in range(10) if self.digit_counts[d]]
        return sorted(drawn, key=lambda d: (self.report.per_class_accuracy[d], d))[:k]

    def as_json(self) -> dict:
        return {"model": self.model, "samples": self.report.n, "accuracy": self.report.accuracy,
                "writers": {w.name: {"accuracy": w.accuracy, "samples": w.samples} for w in self.writers},
                "per_digit_accuracy": self.per_digit, "confusion": self.report.confusion,
                "hardest_writers": [w.name for w in self.hardest_writers()],
                "hardest_digits": self.hardest_digits()}


def evaluate_samples(model: TrainedModel, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted class and confidence per uint8 28×28 image, as `digitpad eval` computes them."""
    preds, confs = predict_all(model.model, images.unsqueeze(1), model.meta.mean, model.meta.std)
    if not torch.isfinite(confs).all():
        raise ClassSetError(f"{model.name}: the model's output is not finite (NaN or infinity) on some samples, "
                            "so it has no accuracy to report; its weights are broken")
    return preds, confs


def class_report(model: TrainedModel, class_set: ClassSet, max_mistakes: int = 40) -> ClassReport:
    if class_set.n_samples == 0:
        raise ClassSetError(f"{class_set.root}: no samples in the class set (import the class's exports first)")
    images, labels, owners = class_set.tensors()
    preds, confs = evaluate_samples(model, images)
    report = build_report(labels, preds, confs, images=images, max_mistakes=max_mistakes)
    right = (preds == labels).long()
    correct = torch.bincount(owners, weights=right.double(), minlength=len(class_set.writers)).long().tolist()
    writers = tuple(WriterScore(w.name, len(w.samples), c) for w, c in zip(class_set.writers, correct))
    counts = tuple(torch.bincount(labels, minlength=10).tolist())
    mistake_writers = tuple(class_set.writers[int(owners[m.index])].name for m in report.mistakes)
    return ClassReport(model.name, report, writers, counts, mistake_writers)


# --- leave one writer out ------------------------------------------------------------------------------

LOWO_REPLAY = 96  # MNIST images per step beside 32 class samples: short steps, 40 writers in under a minute


@dataclass
class LowoConfig:
    """Short on purpose: a few steps per writer (40 writers in minutes on two cores), MNIST replayed as
    in My digits' Teach so the model keeps reading MNIST."""

    steps: int = 30  # fine-tuning steps per writer (each 32 class samples + 96 MNIST images)
    fit_all: bool = True  # then fine-tune on every writer: the class's model
    mnist_test_limit: int = 1000  # MNIST before → after, for the class's model only
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    idx_dir: str | None = None

    def finetune_config(self, mnist_test_limit: int):
        from digitpad.core.finetune import FinetuneConfig

        return FinetuneConfig(epochs=1, min_steps_per_epoch=self.steps, max_steps_per_epoch=self.steps,
                              replay_batch=LOWO_REPLAY, holdout_fraction=0.0, seed=self.seed, device=self.device,
                              mnist_test_limit=mnist_test_limit, data_dir=self.data_dir, idx_dir=self.idx_dir)


@dataclass(frozen=True)
class WriterResult:
    writer: str
    samples: int
    before: float  # the model as it was, on this writer
    after: float  # fine-tuned on everyone else, on this writer


@dataclass(frozen=True)
class LowoProgress:
    done: float  # writers done, the current one in part
    total: int  # writers, plus one for the class's model when fit_all
    writer: str  # "" while fine-tuning on everyone
    eta_s: float


@dataclass(frozen=True)
class WriterDone:
    result: WriterResult
    done: int
    total: int


@dataclass(frozen=True)
class LowoFinished:
    results: tuple[WriterResult, ...]
    stopped: bool
    class_model: TrainedModel | None = None  # fine-tuned on every writer (fit_all), named "<base> + class"

    @property
    def mean_before(self) -> float | None:
        return float(np.mean([r.before for r in self.results])) if self.results else None

    @property
    def mean_after(self) -> float | None:
        return float(np.mean([r.after for r in self.results])) if self.results else None

    def as_json(self) -> dict:
        return {"writers": {r.writer: {"samples": r.samples, "before": r.before, "after": r.after}
                            for r in self.results},
                "mean_before": self.mean_before, "mean_after": self.mean_after, "stopped": self.stopped}


CLASS_SUFFIX = " + class"


def leave_one_writer_out(base: TrainedModel, class_set: ClassSet, config: LowoConfig | None = None,
                         control: RunControl | None = None) -> Iterator[object]:
    """For each writer: fine-tune `base` on everyone else, test on that writer (never seen). Yields
    LowoProgress, WriterDone per writer, then LowoFinished (also after Stop, with the writers done so
    far); Failed for a set-up problem."""
    from digitpad.core.finetune import Finetuner, finetune_result

    config, control = config or LowoConfig(), control or RunControl()
    writers = [w for w in class_set.writers if w.samples]
    if len(writers) < 2:
        yield Failed("Leave-one-writer-out needs at least two writers with samples.", FailureKind.CONFIG)
        return
    total = len(writers) + int(config.fit_all)
    results: list[WriterResult] = []
    start = time.perf_counter()

    def eta(done: float) -> float:
        return (time.perf_counter() - start) / done * (total - done) if done > 0 else math.inf

    for k, writer in enumerate(writers):
        others = PersonalSet(class_set.root, [s for o in writers if o is not writer for s in o.samples])
        left_out = PersonalSet(writer.folder, writer.samples)  # measured before → after, never trained on
        model = None
        for ev in Finetuner(base, others, config.finetune_config(0), control, held_out=left_out).run():
            if isinstance(ev, Progress):
                done = k + ev.fraction / ev.epochs
                yield LowoProgress(done, total, writer.name, eta(done))
            elif isinstance(ev, Failed):
                yield ev
                return
            elif isinstance(ev, Finished):
                model = None if ev.stopped else ev.model
        if model is None:
            yield LowoFinished(tuple(results), True)
            return
        measured = finetune_result(model)
        results.append(WriterResult(writer.name, len(writer.samples), measured.before, measured.after))
        yield WriterDone(results[-1], k + 1, total)
    class_model = None
    if config.fit_all:
        everyone = PersonalSet(class_set.root, [s for w in writers for s in w.samples])
        for ev in Finetuner(base, everyone, config.finetune_config(config.mnist_test_limit), control).run():
            if isinstance(ev, Progress):
                done = len(writers) + ev.fraction / ev.epochs
                yield LowoProgress(done, total, "", eta(done))
            elif isinstance(ev, Failed):
                yield ev
                return
            elif isinstance(ev, Finished) and not ev.stopped:
                class_model = replace(ev.model, name=base.name.removesuffix(CLASS_SUFFIX) + CLASS_SUFFIX,
                                      source=f"class set {class_set.root}")
    yield LowoFinished(tuple(results), control.stopped, class_model)
