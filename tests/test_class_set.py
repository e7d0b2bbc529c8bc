"""The class's digits: export from My digits, import many exports (bad ones named, good ones kept, nothing
unpacked outside the class folder), the class report against an independent evaluation and `digitpad eval`,
leave-one-writer-out, and the CLI."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest
import torch

from digitpad.cli import main
from digitpad.core import class_set as cs
from digitpad.core.class_set import (ClassSetError, LowoConfig, LowoFinished, LowoProgress, WriterDone,
                                     check_writer_name, class_report, export_personal_set, import_exports,
                                     leave_one_writer_out, load_class_set, remove_writer)
from digitpad.core.events import RunControl
from digitpad.core.inference import classify_pixels
from digitpad.core.personal_set import PersonalSetError, add_sample
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.strokes import Stroke, StrokeSet

from helpers import hand, personal_set


WRITERS = (("Ann", 1, False), ("Bob", 2, True), ("Cy", 3, False))


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Three writers × 10 samples, each exported as a student would."""
    root = tmp_path_factory.mktemp("exports")
    for name, seed, mirrored in WRITERS:
        folder = personal_set(root / "sets" / name, seed, mirrored=mirrored)
        export_personal_set(folder, name, root / "exports" / f"{name.lower()}.zip")
    return root


@pytest.fixture(scope="module")
def class_dir(exports, tmp_path_factory):
    target = tmp_path_factory.mktemp("class") / "class"
    reports = [ev.report for ev in import_exports([exports / "exports"], target)]
    assert [r.imported for r in reports] == [10, 10, 10]
    return target


def import_all(inputs, target):
    return [ev.report for ev in import_exports(inputs, target)]


def crafted_zip(path, entries: dict, manifest: dict | None = None, links=()) -> os.PathLike:
    """A zip as an attacker (or a broken tool) would make it."""
    manifest = {"format": "digitpad-class-export", "format_version": 1, "writer": "Eve", "date": "2026-12-01",
                "app_version": "0.1.0", "samples": len(entries)} if manifest is None else manifest
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def a_sample(digit=3, seed=9) -> bytes:
    _, strokes = next(d for d in hand(seed, 10) if d[0] == digit)
    data = strokes.to_json()
    data["pixels"] = np.round(stroke_pixels(strokes) * 255).astype(int).tolist()
    return json.dumps(data).encode()


def files_under(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- export ------------------------------------------------------------------------------------------

def test_an_export_holds_a_manifest_and_the_samples_in_the_digit_layout(exports):
    with zipfile.ZipFile(exports / "exports" / "ann.zip") as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["writer"] == "Ann" and manifest["samples"] == 10 and manifest["app_version"] == "0.1.0"
    assert manifest["format"] == "digitpad-class-export" and manifest["format_version"] == 1 and manifest["date"]
    samples = [n for n in names if n != "manifest.json"]
    assert len(samples) == 10 and all(n.split("/")[0] in "0123456789" and n.endswith(".json") for n in samples)
    # the same folder exported again is the same writer: its id is kept beside the samples
    again = export_personal_set(exports / "sets" / "Ann", "Ann", exports / "again.zip")
    with zipfile.ZipFile(again.path) as zf:
        assert json.loads(zf.read("manifest.json"))["writer_id"] == manifest["writer_id"]


@pytest.mark.parametrize("name, message", [("", "1 to 64 characters"), ("x" * 65, "got 65"),
                                           ("Ann\x07", "control character"), (7, "a text")])
def test_bad_writer_names_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        check_writer_name(name)


def test_an_empty_set_is_not_exported(tmp_path):
    (tmp_path / "mine" / "3").mkdir(parents=True)
    with pytest.raises(PersonalSetError, match="no samples to export"):
        export_personal_set(tmp_path / "mine", "Ann", tmp_path / "ann.zip")
    assert not (tmp_path / "ann.zip").exists()


# --- import -------------------------------------------------------------------------------------------

def test_a_folder_with_a_corrupt_export_among_good_ones(exports, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("ann", "bob", "cy"):
        (inbox / f"{name}.zip").write_bytes((exports / "exports" / f"{name}.zip").read_bytes())
    (inbox / "dan.zip").write_bytes((exports / "exports" / "ann.zip").read_bytes()[:700])  # cut off in transfer
    (inbox / "notes.txt").write_text("homework")
    reports = {os.path.basename(r.file): r for r in import_all([inbox], tmp_path / "class")}
    assert {n: r.imported for n, r in reports.items()} == {"ann.zip": 10, "bob.zip": 10, "cy.zip": 10,
                                                            "dan.zip": 0, "notes.txt": 0}
    assert "not a zip file" in reports["dan.zip"].errors[0] and reports["dan.zip"].writer is None
    assert "not a zip file" in reports["notes.txt"].errors[0]
    loaded = load_class_set(tmp_path / "class")
    assert [w.name for w in loaded.writers] == ["Ann", "Bob", "Cy"] and loaded.n_samples == 30
    again = import_all([inbox / "ann.zip"], tmp_path / "class")[0]
    assert (again.writer, again.imported, again.skipped) == ("Ann", 0, 10), "a second import adds no duplicates"


@pytest.mark.parametrize("entries, links, reason", [
    ({"../evil.json": b"{}"}, (), "climbs out of the folder"),
    ({"3/../../evil.json": b"{}"}, (), "climbs out of the folder"),
    ({"/tmp/evil.json": b"{}"}, (), "an absolute path"),
    ({"C:/evil.json": b"{}"}, (), "an absolute path"),
    ({"3\\..\\evil.json": b"{}"}, (), "backslash"),
    ({}, ("3/passwd.json",), "a symbolic link"),
])
def test_path_traversal_is_refused_and_nothing_is_unpacked(tmp_path, entries, links, reason):
    bad = crafted_zip(tmp_path / "evil.zip", {"3/ok.json": a_sample(), **entries}, links=links)
    before = files_under(tmp_path)
    [report] = import_all([bad], tmp_path / "class")
    assert report.writer is None and report.imported == 0
    assert any(reason in e and "nothing was unpacked" in e for e in report.errors), report.errors
    assert files_under(tmp_path) - before <= {"class"}, "nothing lands anywhere, in the class folder or outside"


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    bomb = crafted_zip(tmp_path / "bomb.zip", {"3/big.json": b"\0" * (2 * 2**20)})
    [report] = import_all([bomb], tmp_path / "class")
    assert report.writer is None and "zip bomb" in report.errors[0] and "200×" in report.errors[0]
    monkeypatch.setattr(cs, "MAX_UNPACKED_BYTES", 100_000)
    many = crafted_zip(tmp_path / "many.zip", {f"3/{k}.json": a_sample(3, k) for k in range(40)})
    [report] = import_all([many], tmp_path / "class2")
    assert report.writer is None and "would unpack to" in report.errors[0]


def test_a_header_that_lies_about_the_size_is_caught(tmp_path):
    path = crafted_zip(tmp_path / "liar.zip", {"3/a.json": a_sample(), "4/b.json": a_sample(4)})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        central = zf.start_dir
    while data[central + 46:central + 46 + len(b"3/a.json")] != b"3/a.json":  # its central directory record
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # "uncompressed size": 10 bytes
    path.write_bytes(bytes(data))
    [report] = import_all([path], tmp_path / "class")
    assert report.writer == "Eve" and report.imported == 1
    assert any(e.startswith("3/a.json: not a digit drawing") for e in report.errors), report.errors


@pytest.mark.parametrize("manifest, message", [
    ({"format": "digitpad-class-export", "format_version": 1, "writer": 5, "date": "d", "app_version": "v",
      "samples": 1}, "must be a name or pseudonym"),
    ({"format": "digitpad-class-export", "format_version": 1, "writer": "A" * 10_000, "date": "d",
      "app_version": "v", "samples": 1}, "got 10,000"),
    ({"format": "digitpad-class-export", "format_version": 1, "writer": "Eve", "date": ["today"],
      "app_version": "v", "samples": "one"}, "date must be a text"),
    ({"format": "digitpad-class-export", "format_version": 2, "writer": "Eve", "date": "d", "app_version": "v",
      "samples": 1}, "update DigitPad"),
    ({"format": "something-else"}, "not a DigitPad class export"),
])
def test_bad_manifests_are_named(tmp_path, manifest, message):
    [report] = import_all([crafted_zip(tmp_path / "m.zip", {"3/a.json": a_sample()}, manifest)], tmp_path / "c")
    assert report.writer is None and any(message in e for e in report.errors), report.errors
    assert all(len(e) < 400 for e in report.errors), "a huge name is never echoed back whole"


def test_a_zip_without_a_manifest_and_samples_that_are_not_drawings(tmp_path):
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as zf:
        zf.writestr("3/a.json", a_sample())
    blank = json.dumps({"width": 280, "height": 280, "pen_width": 18, "strokes": []})
    mixed = crafted_zip(tmp_path / "mixed.zip", {"3/good.json": a_sample(), "4/blank.json": blank,
                                                 "5/photo.png": b"not a png", "7/deep.json": "[" * 5000,
                                                 "readme.txt": b"hi", "12/x.json": a_sample(4)})
    plain, report = import_all([tmp_path / "plain.zip", mixed], tmp_path / "class")
    assert plain.writer is None and "no manifest.json" in plain.errors[0]
    assert report.writer == "Eve" and report.imported == 1
    text = "\n".join(report.errors)
    for name in ("4/blank.json", "5/photo.png", "7/deep.json", "readme.txt", "12/x.json"):
        assert name in text, f"{name} is named"
    assert "the drawing is blank" in text and "not an image file" in text


def test_two_writers_with_one_name_stay_two_and_a_re_export_merges(exports, tmp_path):
    first = export_personal_set(personal_set(tmp_path / "annA", 11), "Ann", tmp_path / "annA.zip").path
    other = export_personal_set(personal_set(tmp_path / "annB", 12), "Ann", tmp_path / "annB.zip").path
    a, b = import_all([first, other], tmp_path / "class")
    assert (a.writer, b.writer) == ("Ann", "Ann (2)")
    assert "another writer named 'Ann'" in b.notes[0]
    for digit, strokes in hand(13, 3):  # Ann draws three more, exports again from the same folder
        add_sample(tmp_path / "annA", digit, strokes, stroke_pixels(strokes))
    export_personal_set(tmp_path / "annA", "Ann", first)
    [again] = import_all([first], tmp_path / "class")
    assert (again.writer, again.imported, again.skipped, again.notes) == ("Ann", 3, 10, [])
    counts = {w.name: len(w.samples) for w in load_class_set(tmp_path / "class").writers}
    assert counts == {"Ann": 13, "Ann (2)": 10}


def test_a_sample_already_in_the_class_under_another_writer_is_skipped(tmp_path):
    folder = personal_set(tmp_path / "ann", 21)
    one = export_personal_set(folder, "Ann", tmp_path / "ann.zip").path
    (folder / ".digitpad-writer-id").unlink()
    copy = export_personal_set(folder, "Zed", tmp_path / "zed.zip").path  # Zed exports Ann's drawings
    a, z = import_all([one, copy], tmp_path / "class")
    assert (z.writer, z.imported, z.skipped) == ("Zed", 0, 10)
    assert "10 sample(s) are already in the class set under 'Ann'" in z.notes[0]
    assert [w.name for w in load_class_set(tmp_path / "class").writers] == ["Ann"], "no empty writer is left"


def test_two_drawings_that_make_the_same_field_are_both_kept(tmp_path):
    """Preprocessing removes place and size: a drawing moved across the canvas makes the same 28×28 field,
    yet it is another child's sample, not a duplicate."""
    _, strokes = next(hand(9, 1))
    moved = StrokeSet(280, 280, strokes.pen_width, [Stroke([(x + 20, y + 10, w) for x, y, w in s.points])
                                                    for s in strokes.strokes])
    assert (stroke_pixels(moved) == stroke_pixels(strokes)).all()
    files = []
    for name, drawing in (("Eve", strokes), ("Zoe", moved)):
        data = drawing.to_json() | {"pixels": np.round(stroke_pixels(drawing) * 255).astype(int).tolist()}
        manifest = {"format": "digitpad-class-export", "format_version": 1, "writer": name, "date": "d",
                    "app_version": "v", "samples": 1}
        files.append(crafted_zip(tmp_path / f"{name}.zip", {"0/a.json": json.dumps(data)}, manifest))
    assert [(r.writer, r.imported, r.skipped) for r in import_all(files, tmp_path / "class")] == [
        ("Eve", 1, 0), ("Zoe", 1, 0)]


def test_an_unusable_class_folder_is_one_clear_error(tmp_path, exports):
    (tmp_path / "class").write_text("a file, not a folder")
    with pytest.raises(ClassSetError, match="cannot import into it"):
        list(import_exports([exports / "exports"], tmp_path / "class"))


def test_remove_a_writer(class_dir, tmp_path):
    import shutil

    copy = tmp_path / "class"
    shutil.copytree(class_dir, copy)
    remove_writer(copy, "Bob")
    assert [w.name for w in load_class_set(copy).writers] == ["Ann", "Cy"]
    assert not any(p.name.startswith(".removed") for p in copy.iterdir())
    with pytest.raises(ClassSetError, match="no writer 'Bob'"):
        remove_writer(copy, "Bob")


# --- the class report -----------------------------------------------------------------------------------

def test_the_class_report_equals_an_independent_evaluation(class_dir, shipped_cnn):
    loaded = load_class_set(class_dir)
    report = class_report(shipped_cnn, loaded)
    confusion = np.zeros((10, 10), dtype=int)
    for writer, score in zip(loaded.writers, report.writers):
        said = [classify_pixels(shipped_cnn, s.pixels).label for s in writer.samples]  # the canvas's path
        right = [p == s.label for p, s in zip(said, writer.samples)]
        assert (score.name, score.samples, score.accuracy) == (writer.name, 10, sum(right) / 10)
        for p, s in zip(said, writer.samples):
            confusion[s.label, p] += 1
    assert report.report.confusion == confusion.tolist()
    assert report.report.accuracy == np.trace(confusion) / 30
    assert report.hardest_writers(1)[0].name == "Bob", "the mirror writer is the hardest to read"
    assert report.writers[1].accuracy < 0.7 < report.writers[0].accuracy
    assert all(w == "Bob" for w in report.mistake_writers[:3])
    digits = report.hardest_digits(3)
    assert all(report.per_digit[d] <= min(a for k, a in enumerate(report.per_digit) if k not in digits)
               for d in digits)


def test_the_class_report_equals_digitpad_eval_on_each_writer(class_dir, capsys):
    assert main(["class", "report", str(class_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"writers", "accuracy", "confusion"}
    total = np.zeros((10, 10), dtype=int)
    for name in ("Ann", "Bob", "Cy"):
        assert main(["eval", "--samples", str(class_dir / name), "--json"]) == 0
        ev = json.loads(capsys.readouterr().out)
        assert data["writers"][name] == {"accuracy": ev["accuracy"], "samples": ev["n"]}
        total += np.asarray(ev["confusion"])
    assert data["confusion"] == total.tolist()
    assert data["accuracy"] == pytest.approx(np.trace(total) / total.sum())


def test_a_class_report_needs_samples(tmp_path, shipped_cnn):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClassSetError, match="no samples"):
        class_report(shipped_cnn, load_class_set(tmp_path / "empty"))


# --- leave one writer out ------------------------------------------------------------------------------

QUICK = LowoConfig(steps=3, mnist_test_limit=100)


def test_leave_one_writer_out_tests_each_writer_on_a_model_that_never_saw_them(class_dir, shipped_cnn):
    loaded = load_class_set(class_dir)
    weights = shipped_cnn.model.state_dict()["0.weight"].clone()
    events = list(leave_one_writer_out(shipped_cnn, loaded, QUICK))
    done = [e for e in events if isinstance(e, WriterDone)]
    assert [d.result.writer for d in done] == ["Ann", "Bob", "Cy"] and [d.total for d in done] == [4, 4, 4]
    progress = [e.done for e in events if isinstance(e, LowoProgress)]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(4)
    finished = events[-1]
    assert isinstance(finished, LowoFinished) and not finished.stopped
    before = {w.name: w.accuracy for w in class_report(shipped_cnn, loaded).writers}
    assert {r.writer: r.before for r in finished.results} == before
    assert finished.class_model.name == "mnist-cnn + class"
    assert torch.equal(shipped_cnn.model.state_dict()["0.weight"], weights), "the base model is left as it was"
    assert not torch.equal(finished.class_model.model.state_dict()["0.weight"], weights)
    assert set(finished.as_json()["writers"]) == {"Ann", "Bob", "Cy"}


def test_stop_ends_leave_one_writer_out_with_the_writers_done(class_dir, shipped_cnn):
    control = RunControl()
    events = []
    for ev in leave_one_writer_out(shipped_cnn, load_class_set(class_dir), QUICK, control):
        events.append(ev)
        if isinstance(ev, WriterDone):
            control.stop()
    assert isinstance(events[-1], LowoFinished) and events[-1].stopped
    assert len(events[-1].results) == 1 and events[-1].class_model is None


# --- the command line ----------------------------------------------------------------------------------

def test_class_import_cli_json_lines_and_exit_codes(exports, tmp_path, capsys):
    (tmp_path / "junk.zip").write_text("not a zip")
    assert main(["class", "import", str(exports / "exports" / "ann.zip"), str(tmp_path / "junk.zip"),
                 str(tmp_path / "missing.zip"), "--into", str(tmp_path / "class"), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(os.path.basename(l["file"]), l["writer"], l["imported"]) for l in lines] == [
        ("missing.zip", None, 0), ("ann.zip", "Ann", 10), ("junk.zip", None, 0)]
    assert all(set(l) == {"file", "writer", "imported", "skipped", "errors", "notes"} for l in lines)
    assert main(["class", "import", str(tmp_path / "junk.zip"), "--into", str(tmp_path / "class")]) == 1
    assert "refused" in capsys.readouterr().out


def test_my_digits_export_and_class_remove_cli(exports, tmp_path, capsys):
    out = tmp_path / "bob.zip"
    assert main(["my-digits", "export", str(exports / "sets" / "Bob"), "--writer", "Bob", "--out", str(out),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(out), "writer": "Bob", "samples": 10, "skipped": []}
    assert main(["my-digits", "export", str(exports / "sets" / "Bob"), "--writer", " ", "--out", str(out)]) == 2
    assert main(["my-digits", "export", str(tmp_path / "nowhere"), "--writer", "Bob", "--out", str(out)]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert main(["class", "import", str(out), "--into", str(tmp_path / "class")]) == 0
    assert main(["class", "remove", str(tmp_path / "class"), "Bob"]) == 0
    assert main(["class", "remove", str(tmp_path / "class"), "Bob"]) == 1
    assert main(["class", "report", str(tmp_path / "class")]) == 1
    assert "no samples" in capsys.readouterr().err
