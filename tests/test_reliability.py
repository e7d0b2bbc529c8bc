"""Faults and bad input: each gets a clear message, nothing crashes, nothing is lost."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PySide6.QtCore import Qt

from digitpad.cli import predict_file
from digitpad.core.checkpoints import CheckpointError, load_checkpoint
from digitpad.core.datasets import DataError
from digitpad.core.preprocess import StrokeError, StrokeSet, mnist_pixels, stroke_pixels
from digitpad.core.sample_digits import photo_like


# --- images and strokes given to `digitpad predict` (and the canvas) ----------------------------

def bad_images(folder: Path) -> dict[str, str | int]:
    """file name → the digit expected, or a fragment of the expected error."""
    seven = np.asarray(photo_like(7).convert("L"))
    cases: dict[str, str | int] = {}
    Image.new("L", (50, 50), 255).save(folder / "empty.png"); cases["empty.png"] = "no ink"
    Image.new("L", (50, 50), 0).save(folder / "all-ink.png"); cases["all-ink.png"] = "no ink"
    Image.new("L", (1, 1), 0).save(folder / "one-pixel.png"); cases["one-pixel.png"] = "no ink"
    big = Image.new("L", (10000, 10000), 255)
    big.paste(Image.fromarray(seven).resize((6000, 4500)), (2000, 2500))
    big.save(folder / "huge.png"); cases["huge.png"] = 7
    rgba = np.zeros((*seven.shape, 4), np.uint8)
    rgba[..., 3] = np.where(seven < 128, 255, 0)  # black ink on a fully transparent background
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png"); cases["transparent.png"] = 7
    Image.fromarray(seven.astype(np.uint16) * 257).save(folder / "sixteen-bit.png")
    cases["sixteen-bit.png"] = 7
    Image.fromarray(seven).convert("P").save(folder / "palette.png"); cases["palette.png"] = 7
    (folder / "corrupt.png").write_bytes((folder / "palette.png").read_bytes()[:200]); cases["corrupt.png"] = "corrupt"
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not an image"); cases["notes.pdf"] = "not an image"
    return cases


def test_bad_images_get_a_prediction_or_a_clear_error(tmp_path, shipped_cnn):
    for name, expected in bad_images(tmp_path).items():
        answer = predict_file(shipped_cnn, tmp_path / name, strokes=False)
        if isinstance(expected, int):
            assert answer["prediction"] == expected and answer["error"] is None, (name, answer)
        else:
            assert answer["prediction"] is None and expected in answer["error"], (name, answer)
            assert name in answer["error"]


def stroke_file(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder / name


def test_bad_stroke_files(tmp_path, shipped_cnn):
    canvas = '"width": 280, "height": 280, "pen_width": 18'
    cases = {
        "nan.json": ('{%s, "strokes": [[[NaN, NaN], [Infinity, 3]]]}' % canvas, "no ink"),
        "huge.json": ('{%s, "strokes": [[[1e300, 1e300], [140, 140]]]}' % canvas, None),
        "negative.json": ('{%s, "strokes": [[[-50, -50], [140, 140], [150, 250]]]}' % canvas, None),
        "none.json": ('{%s, "strokes": []}' % canvas, "no ink"),
        "no-canvas.json": ('{"strokes": []}', "needs numeric width"),
        "giant-canvas.json": ('{"width": 1e12, "height": 5, "pen_width": 1, "strokes": []}', "outside"),
        "list.json": ("[1, 2, 3]", "JSON object"),
        "binary.json": ("\x00\x01garbage", "not a readable stroke JSON"),
    }
    for name, (text, fragment) in cases.items():
        answer = predict_file(shipped_cnn, stroke_file(tmp_path, name, text), strokes=True)
        if fragment is None:
            assert answer["error"] is None and len(answer["probabilities"]) == 10, (name, answer)
        else:
            assert answer["prediction"] is None and fragment in answer["error"], (name, answer)


def test_cli_batch_goes_on_after_bad_files(tmp_path):
    cases = bad_images(tmp_path)
    files = [tmp_path / n for n in cases]
    out = subprocess.run([sys.executable, "-m", "digitpad", "predict", *map(str, files)], capture_output=True,
                         text=True, timeout=300)
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1 and len(answers) == len(files) and "Traceback" not in out.stderr
    assert [a["prediction"] for a in answers if a["error"] is None] == [7, 7, 7, 7]


# --- property tests ---------------------------------------------------------------------------

arrays = st.one_of(
    st.tuples(st.integers(1, 60), st.integers(1, 60)).flatmap(
        lambda s: st.lists(st.integers(0, 255), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
            lambda v: np.array(v, np.uint8).reshape(s))),
    st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(
        lambda s: st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=s[0] * s[1],
                           max_size=s[0] * s[1]).map(lambda v: np.array(v, np.float32).reshape(s))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays)
def test_any_array_preprocesses_to_a_valid_field_or_no_ink(arr):
    px = mnist_pixels(arr)
    if px is not None:
        assert px.shape == (28, 28) and np.isfinite(px).all() and px.min() >= 0 and px.max() <= 1 + 1e-6


coords = st.floats(allow_nan=True, allow_infinity=True)
points = st.lists(st.one_of(st.tuples(coords, coords), st.tuples(coords, coords, coords)), max_size=20)
stroke_json = st.fixed_dictionaries({
    "width": st.one_of(st.integers(-5, 3000), st.floats(allow_nan=True)),
    "height": st.integers(-5, 3000),
    "pen_width": st.floats(allow_nan=True, allow_infinity=True),
    "strokes": st.lists(st.one_of(points.map(lambda p: [list(x) for x in p]),
                                  st.builds(lambda p, e: {"points": [list(x) for x in p], "erase": e}, points,
                                            st.booleans())), max_size=5),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stroke_json)
def test_any_stroke_json_gives_a_field_no_ink_or_a_stroke_error(data):
    try:
        strokes = StrokeSet.from_json(data)
    except StrokeError:
        return
    px = stroke_pixels(strokes)
    assert px is None or (px.shape == (28, 28) and np.isfinite(px).all())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=3000))
def test_random_bytes_never_load_as_a_checkpoint(tmp_path, blob):
    path = tmp_path / "fuzz.pt"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


# --- Ctrl+C in digitpad train -----------------------------------------------------------------

def test_ctrl_c_during_training_exits_cleanly_and_keeps_the_old_checkpoint(tmp_path, mnist):
    out = tmp_path / "model.pt"
    out.write_bytes(b"previous checkpoint")
    proc = subprocess.Popen([sys.executable, "-m", "digitpad", "train", "--model", "cnn", "--epochs", "3",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = threading.Event()

    def watch():
        for line in proc.stdout:
            if "parameters" in line:
                started.set()
    threading.Thread(target=watch, daemon=True).start()
    assert started.wait(120)
    proc.send_signal(signal.SIGINT)
    stderr = proc.stderr.read()
    assert proc.wait(60) == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert out.read_bytes() == b"previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


# --- the GUI under faults ---------------------------------------------------------------------

def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_fifty_start_stop_cycles_leak_no_threads_or_memory(qtbot, window, mnist):
    from digitpad.gui.training_run import running_threads

    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("mlp"))
    tab.subset.setCurrentIndex(tab.subset.findText("500"))
    tab.test_limit = 100

    def cycle():
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
        assert len(running_threads()) <= 1
        qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)

    for _ in range(3):
        cycle()
    threads, memory = thread_count(), rss_mb()
    for _ in range(50):
        cycle()
    qtbot.wait(100)
    assert running_threads() == []
    assert thread_count() <= threads
    assert rss_mb() - memory < 50


def test_bad_checkpoints_in_the_gui_keep_the_model_in_use(qtbot, window, tmp_path):
    from test_checkpoints import bad_files

    in_use = window.library.active
    for name in bad_files(tmp_path):
        with qtbot.waitSignal(window.checkpoint_handled, timeout=10_000):
            window.open_checkpoint(str(tmp_path / name))
        assert window.library.active is in_use
        assert name in window.error_box.text() and "unchanged" in window.error_box.text()
        window.error_box.close()


def test_missing_data_set_in_the_gui_shows_the_core_message(qtbot, window, monkeypatch):
    from digitpad.core import trainer

    def missing(*a, **k):
        raise DataError("Fashion-MNIST was not found. Looked in: … Fix: apt-get install dataset-fashion-mnist")
    monkeypatch.setattr(trainer, "load_dataset", missing)
    tab = window.training
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert "dataset-fashion-mnist" in tab.failure_box.text() and tab.failure_box.windowTitle() == "Data set missing"
    assert tab.start_button.isEnabled()


def test_bad_image_files_on_the_canvas_say_why(qtbot, window, tmp_path):
    cases = bad_images(tmp_path)
    canvas = window.canvas

    def open_file(name: str) -> None:
        with qtbot.waitSignal(canvas.image_handled, timeout=20_000):
            canvas.open_image_file(str(tmp_path / name))

    for name in ("corrupt.png", "notes.pdf"):
        open_file(name)
        assert name in canvas.detail.text() and cases[name] in canvas.detail.text()
    open_file("huge.png")
    assert canvas.prediction.label == 7
    shown = canvas.canvas.picture.display
    assert max(shown.width(), shown.height()) <= 1024  # shown from a small copy
    open_file("transparent.png")
    assert canvas.prediction.label == 7
    open_file("all-ink.png")
    assert canvas.prediction is None and "No digit found in all-ink.png" in canvas.detail.text()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: nothing to leak")
def test_an_hour_of_repaints_cannot_abort_python(qtbot, window):
    """PySide6 6.12.0 on Python ≤ 3.11 dropped a reference to None on every void Qt call: after a
    few hundred chart repaints None's count reached zero and Python aborted ("none_dealloc").
    Repainting the live charts and the canvas must leave None's reference count where it was."""
    charts, canvas = window.training.charts, window.canvas.canvas
    for i in range(30):
        charts.add_loss(i / 30, 2.0 * 0.9 ** i)
    charts.viewport().repaint()
    canvas.repaint()
    before = sys.getrefcount(None)
    for _ in range(50):
        charts.viewport().repaint()
        canvas.repaint()
    assert sys.getrefcount(None) - before > -50, "Qt calls are leaking references to None"


def test_a_failed_save_says_why_and_keeps_the_window_usable(qtbot, window, tmp_path):
    tab = window.training
    tab.last_model = window.library.models[0]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with qtbot.waitSignal(tab.save_finished, timeout=10_000):
        tab.save_model_to(str(blocker / "model.pt"))
    assert tab.failure_box.windowTitle() == "Could not save" and "not-a-folder" in tab.failure_box.text()
    assert tab.status.text().startswith("Not saved") and blocker.read_text().startswith("a file")
    tab.failure_box.close()
    with qtbot.waitSignal(tab.save_finished, timeout=10_000):
        tab.save_model_to(str(tmp_path / "model.pt"))
    assert tab.status.text().startswith("Saved") and (tmp_path / "model.pt").stat().st_size > 0
